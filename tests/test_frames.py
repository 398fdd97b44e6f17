"""Rows and CSV exports -> polars frames: explicit schema, nothing lost, keys identical across formats."""

from __future__ import annotations

import csv
import json
import unicodedata
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dagster_sixtyfour.errors import SixtyfourMalformedResponseError
from dagster_sixtyfour.frames import (
    COMPANY_SCHEMA,
    PEOPLE_SCHEMA,
    company_frame,
    iter_csv_frames,
    people_frame,
    rows_to_frame,
    unwrap,
)
from dagster_sixtyfour.identity import company_key, lead_key


def person(i: int, **extra: Any) -> dict[str, Any]:
    """A people row as /search/query serves it: camelCase, nested, ``element``-wrapped list items."""
    return {
        "publicId": f"person-{i}",
        "fullName": f"Person {i}",
        "firstName": "Person",
        "lastName": str(i),
        "headline": f"CFO at Acme {i}",
        "locationName": "Berlin, Germany",
        "seniority": "CXO",
        "jobFunction": "Finance",
        "currentCompanies": [
            {"element": {"company": {"companyId": 1000 + i, "name": f"Acme {i}",
                                     "url": f"https://www.linkedin.com/company/acme-{i}"},
                         "positions": [{"element": {"title": "Chief Financial Officer"}}]}}
        ],
        **extra,
    }  # fmt: skip


def extra_of(frame: pl.DataFrame, row: int = 0) -> dict[str, Any]:
    text = frame["extra"][row]
    return {} if text is None else json.loads(text)


def test_nested_camel_case_rows_with_wrappers_flatten() -> None:
    rows = [{"raw_source": person(1, summary="Line one\nline two", skills=[{"element": "SQL"}, "dbt"])}, person(2)]
    df = people_frame(rows)
    assert df.schema == pl.Schema(PEOPLE_SCHEMA)
    first = df.row(0, named=True)
    assert first == {
        "position": 0, "lead_key": "person-1", "public_id": "person-1",
        "linkedin_url": "https://www.linkedin.com/in/person-1", "full_name": "Person 1", "first_name": "Person",
        "last_name": "1", "headline": "CFO at Acme 1", "title": "Chief Financial Officer", "company_name": "Acme 1",
        "company_id": "1001", "company_domain": None, "company_linkedin_url": "https://www.linkedin.com/company/acme-1",
        "location": "Berlin, Germany", "seniority": "CXO", "job_function": "Finance",
        "extra": first["extra"], "raw": first["raw"], "reject_reason": None,
    }  # fmt: skip
    # the current company is fully shown by columns, so only unmapped keys stay, wrappers removed
    assert extra_of(df) == {"summary": "Line one\nline two", "skills": ["SQL", "dbt"]}
    assert json.loads(first["raw"]) == rows[0]  # raw is the row as received, wrappers included
    assert df["extra"][1] is None


def test_unwrap() -> None:
    row: dict[str, Any] = {
        "raw_source": {"a": [{"element": {"b": {"element": 1}}}, {"element": "x"}], "c": {"element": None}}
    }
    assert unwrap(row) == {"a": [{"b": 1}, "x"], "c": None}
    assert unwrap({"element": {"publicId": "x"}}) == {"publicId": "x"}
    assert unwrap({"raw_source": None, "publicId": "x"}) == {"raw_source": None, "publicId": "x"}
    assert unwrap({"element": 1, "other": 2}) == {"element": 1, "other": 2}  # not a single-key wrapper
    assert row["raw_source"]["a"][0] == {"element": {"b": {"element": 1}}}  # input untouched


def test_partly_shown_nested_keys_stay_whole_in_extra() -> None:
    two_jobs = person(1)
    two_jobs["currentCompanies"].append({"element": {"company": {"companyId": 5, "name": "Board Seat"}}})
    more_fields = person(2)
    more_fields["currentCompanies"][0]["element"]["company"]["employees"] = 40
    df = people_frame([two_jobs, more_fields])
    assert df["company_name"].to_list() == ["Acme 1", "Acme 2"]
    assert [c["company"]["name"] for c in extra_of(df, 0)["currentCompanies"]] == ["Acme 1", "Board Seat"]
    assert extra_of(df, 1)["currentCompanies"][0]["company"]["employees"] == 40


def test_conflicting_aliases_are_kept_in_extra() -> None:
    row = {
        "publicId": "jane",
        "linkedinUrl": "https://www.linkedin.com/in/someone-else",
        "profileUrl": "https://uk.linkedin.com/in/JANE/?trk=1",
        "fullName": "Jane Doe",
        "full_name": "Jane Doe",
        "name": "J. Doe",
    }
    df = people_frame([row])
    assert df["lead_key"][0] == "jane" and df["full_name"][0] == "Jane Doe"
    # equal after normalization -> represented; different -> kept
    assert extra_of(df) == {"linkedinUrl": "https://www.linkedin.com/in/someone-else", "name": "J. Doe"}


def test_late_keys_are_kept_in_extra_m5() -> None:
    page1 = [person(i) for i in range(150)] + [person(150, languages=["German", "English"])]
    page1 += [person(i) for i in range(151, 200)]
    page2 = [person(200, openToWork=True, brandNewKey={"nested": [1, 2]})] + [person(i) for i in range(201, 210)]
    df1 = people_frame(page1)
    df2 = people_frame(page2, start_position=df1.height)
    assert extra_of(df1, 150) == {"languages": ["German", "English"]}
    assert df1["extra"].null_count() == 199
    assert extra_of(df2, 0) == {"openToWork": True, "brandNewKey": {"nested": [1, 2]}}
    assert df2["position"].to_list() == list(range(200, 210))
    both = pl.concat([df1, df2])
    assert both.schema == pl.Schema(PEOPLE_SCHEMA) and both.height == 210
    # polars' own inference would have dropped it: this is the bug the explicit schema avoids
    assert "languages" not in pl.from_dicts(page1, infer_schema_length=100).columns


NAMES = [
    "李雷", "ليلى حداد", "Nguyễn Văn An", "Rene\u0301e Dubois", "Seán O’Brien", "Zoë 🚀 Ødegaard", "Ævar Þórsson",
    "a\x00b", "\ufeffbom-first", "\u200fRTL mark", "Łukasz Wójcik",
]  # fmt: skip


def test_unicode_round_trips_byte_exact_m6() -> None:
    rows = [{"publicId": f"p{i}", "fullName": name, "summary": name * 2} for i, name in enumerate(NAMES)]
    df = people_frame(rows)
    assert df["full_name"].to_list() == NAMES  # not normalized: names are data, only keys are normalized
    assert [n.encode() for n in df["full_name"]] == [n.encode() for n in NAMES]
    assert [json.loads(r) for r in df["raw"]] == rows
    assert [extra_of(df, i)["summary"] for i in range(len(NAMES))] == [n * 2 for n in NAMES]
    assert unicodedata.is_normalized("NFD", df["full_name"][3]) and not unicodedata.is_normalized("NFC", NAMES[3])


def test_lone_surrogates_do_not_break_the_frame() -> None:
    rows = [{"publicId": "p1", "fullName": "bad \ud800 name", "note": "x\udfffy"}, {"publicId": "p2", "fullName": "ok"}]
    df = people_frame(rows)
    assert df["full_name"].to_list() == ["bad \ufffd name", "ok"]
    assert json.loads(df["raw"][0]) == rows[0]  # escaped as \ud800 in JSON: lossless
    assert extra_of(df) == {"note": "x\udfffy"}


@pytest.mark.parametrize(
    "row",
    [{"publicId": None}, {"publicId": ""}, {"publicId": "   "}, {"fullName": "No Id"},
     {"publicId": "two words"}, {"linkedinUrl": "https://www.linkedin.com/company/acme"},
     {"raw_source": {"publicId": None, "profileUrl": "https://example.com/in/x"}}],
)  # fmt: skip
def test_rows_without_a_usable_id_are_rejected_not_dropped_m10(row: dict[str, Any]) -> None:
    df = people_frame([person(1), row, person(2)])
    assert df.height == 3
    assert df["lead_key"].to_list() == ["person-1", None, "person-2"]
    assert df["reject_reason"].to_list() == [None, "no usable LinkedIn id", None]
    assert df["public_id"][1] is None and df["linkedin_url"][1] is None
    assert json.loads(df["raw"][1]) == row


def test_non_object_rows_are_rejected() -> None:
    df = people_frame([None, "text", 5, [1]])
    assert df["reject_reason"].to_list() == ["row is not a JSON object"] * 4
    assert df["raw"].to_list() == ["null", '"text"', "5", "[1]"]
    assert company_frame([None])["reject_reason"][0] == "row is not a JSON object"


def test_frame_keys_match_identity_functions() -> None:
    rows = [
        person(1),
        {"publicId": "", "linkedin_url": "http://uk.linkedin.com/in/Person-1?trk=x"},
        {"raw_source": {"profileUrl": "linkedin.com/in/jos%C3%A9"}},
        {"url": "https://www.linkedin.com/in/x"},
    ]
    expected = ["person-1", "person-1", "josé", "x"]
    assert people_frame(rows)["lead_key"].to_list() == [lead_key(r) for r in rows] == expected


COMPANIES: list[dict[str, Any]] = [
    {"source_id": 1441, "company_id": 1441, "company_name": "Acme", "website": "https://www.acme.io",
     "website_domain": "acme.io", "linkedin_url": "https://www.linkedin.com/company/acme", "industry": "Banking",
     "employees_count": 120, "hq_city": "Berlin", "hq_country": "Germany", "description": "Multi\nline",
     "founded_year": 1999, "employees_count_by_country": [{"country": "DE", "employee_count": 120}]},
    {"source_id": None, "company_name": "Beta", "website": "https://www.Beta.de/about", "employees_count": "40"},
    {"source_id": None, "company_name": "Gamma", "linkedin_url": "http://linkedin.com/company/GAMMA?trk=x",
     "employees_count": "many"},
    {"source_id": None, "company_name": "Nobody", "employees_count": True},
]  # fmt: skip


def test_company_rows_id_domain_slug_none() -> None:
    df = company_frame(COMPANIES, start_position=7)
    assert df.schema == pl.Schema(COMPANY_SCHEMA)
    assert df["company_key"].to_list() == ["li:1441", "domain:beta.de", "slug:gamma", None]
    assert df["company_key"].to_list() == [company_key(r) for r in COMPANIES]
    assert df["position"].to_list() == [7, 8, 9, 10]
    assert df["company_id"].to_list() == ["1441", None, None, None]
    assert df["website_domain"].to_list() == ["acme.io", "beta.de", None, None]
    assert df["linkedin_url"].to_list() == ["https://www.linkedin.com/company/acme", None,
                                            "https://www.linkedin.com/company/gamma", None]  # fmt: skip
    assert df["employees_count"].to_list() == [120, 40, None, None]
    assert df["reject_reason"].to_list()[:3] == [None, None, None] and df["reject_reason"][3]
    assert extra_of(df, 0) == {"founded_year": 1999, "employees_count_by_country": [{"country": "DE",
                                                                                   "employee_count": 120}]}  # fmt: skip
    assert extra_of(df, 1) == {}  # website is shown by website_domain (normalized)
    assert extra_of(df, 2) == {"employees_count": "many"}  # not a count: kept, not lost
    assert extra_of(df, 3) == {"employees_count": True}


@pytest.mark.parametrize("mode", ["people", "company"])
def test_empty_input_gives_empty_frame_with_full_schema(mode: str) -> None:
    df = rows_to_frame([], mode)
    assert df.height == 0
    assert df.schema == pl.Schema(PEOPLE_SCHEMA if mode == "people" else COMPANY_SCHEMA)


def test_rows_to_frame_dispatch_and_bad_mode() -> None:
    assert rows_to_frame(iter([person(1)]), "people").equals(people_frame([person(1)]))
    assert rows_to_frame(COMPANIES, "company").equals(company_frame(COMPANIES))
    for bad in ("companies", "", None):
        with pytest.raises(ValueError, match="mode must be one of"):
            rows_to_frame([], bad)  # type: ignore[arg-type]


# --- CSV export ---------------------------------------------------------------------------------------------

PEOPLE_HEADER = ["full_name", "first_name", "last_name", "title", "headline", "company_name", "company_domain",
                 "linkedin_url", "public_id", "location", "seniority", "job_function", "summary"]  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list[Any]], *, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def csv_person(i: int) -> list[Any]:
    return [f"Person {i}", "Person", str(i), "CFO", f"CFO at Acme {i}", f"Acme {i}", f"acme{i}.io",
            f"https://www.linkedin.com/in/person-{i}/", "" if i % 2 else f"person-{i}", "Berlin", "CXO", "Finance",
            f"Summary {i}\r\nsecond line, with \"quotes\"\n\nand a blank line"]  # fmt: skip


def test_csv_bom_crlf_and_multiline_cells(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, [csv_person(i) for i in range(5)], bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbffull_name,")
    (df,) = list(iter_csv_frames(path, "people"))
    assert df.schema == pl.Schema(PEOPLE_SCHEMA)
    assert df["full_name"].to_list() == [f"Person {i}" for i in range(5)]  # BOM did not eat the first header
    assert df["lead_key"].to_list() == [f"person-{i}" for i in range(5)]
    assert df["company_domain"][0] == "acme0.io" and df["title"][0] == "CFO"
    assert extra_of(df, 1)["summary"] == csv_person(1)[-1]  # quoted CRLF and LF kept byte-exact
    raw = json.loads(df["raw"][1])
    assert raw["full_name"] == "Person 1" and raw["public_id"] is None  # empty cell -> None
    assert list(raw) == sorted(PEOPLE_HEADER)


def test_csv_and_json_rows_give_the_same_keys(tmp_path: Path) -> None:
    header = ["name", "linkedin", "company"]
    rows = [["Jane", "https://uk.linkedin.com/in/JOS%C3%89-Alvarez?trk=1", "Acme"],
            ["Ann", "linkedin.com/in/" + unicodedata.normalize("NFD", "josé-alvarez"), "Beta"]]  # fmt: skip
    (df,) = iter_csv_frames(write_csv(tmp_path / "p.csv", header, rows), "people")
    json_key = people_frame([{"publicId": "jos%C3%A9-alvarez"}])["lead_key"][0]
    assert df["lead_key"].to_list() == [json_key, json_key] == ["josé-alvarez", "josé-alvarez"]
    assert df["full_name"].to_list() == ["Jane", "Ann"] and df["company_name"].to_list() == ["Acme", "Beta"]


def test_csv_reordered_extra_missing_and_odd_columns_m11(tmp_path: Path) -> None:
    header = ["Seniority", "LinkedIn URL", "mystery", "Full Name", "mystery", "", "employees"]
    rows = [["VP", "https://www.linkedin.com/in/a", "x", "A A", "y", "z", "12"],
            ["", "https://www.linkedin.com/in/b", "", "B B"],  # short row: missing cells are null
            ["CXO", "https://www.linkedin.com/in/c", "1", "C C", "2", "3", "abc", "overflow!"],
            [], ["", "", "", "", "", "", ""]]  # fmt: skip
    (df,) = iter_csv_frames(write_csv(tmp_path / "odd.csv", header, rows), "people")
    assert df.height == 3  # blank lines are not rows
    assert df["lead_key"].to_list() == ["a", "b", "c"]
    assert df["full_name"].to_list() == ["A A", "B B", "C C"]
    assert df["seniority"].to_list() == ["VP", None, "CXO"]
    assert df["title"].null_count() == 3 and df["company_name"].null_count() == 3
    assert extra_of(df, 0) == {"mystery": "x", "mystery_2": "y", "column_6": "z", "employees": "12"}
    assert extra_of(df, 1) == {"mystery": None, "mystery_2": None, "column_6": None, "employees": None}
    assert extra_of(df, 2)["_overflow"] == ["overflow!"]
    assert set(json.loads(df["raw"][0])) == {"Seniority", "LinkedIn URL", "mystery", "Full Name", "mystery_2",
                                             "column_6", "employees"}  # fmt: skip


def test_csv_company_mixed_types_are_text(tmp_path: Path) -> None:
    header = ["company_name", "website_domain", "linkedin_url", "company_id", "employees_count", "founded_year"]
    rows = [["Acme", "https://www.acme.io/", "", "1441", "120", "1999"],
            ["Beta", "BETA.DE", "", "", "lots", "n/a"],
            ["Gamma", "", "https://www.linkedin.com/company/gamma", "", "", ""],
            ["None", "", "", "0", "", ""]]  # fmt: skip
    (df,) = iter_csv_frames(write_csv(tmp_path / "c.csv", header, rows), "company", start_position=3)
    assert df["company_key"].to_list() == ["li:1441", "domain:beta.de", "slug:gamma", None]
    assert df["employees_count"].to_list() == [120, None, None, None]
    assert extra_of(df, 1) == {"employees_count": "lots", "founded_year": "n/a"}
    assert df["position"].to_list() == [3, 4, 5, 6]


def test_csv_batches_share_schema_and_continue_positions(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "many.csv", PEOPLE_HEADER, [csv_person(i) for i in range(10)])
    frames = list(iter_csv_frames(path, "people", batch_size=3, start_position=100))
    assert [f.height for f in frames] == [3, 3, 3, 1]
    assert all(f.schema == pl.Schema(PEOPLE_SCHEMA) for f in frames)
    assert pl.concat(frames)["position"].to_list() == list(range(100, 110))
    exact = list(iter_csv_frames(path, "people", batch_size=5))
    assert [f.height for f in exact] == [5, 5]  # no trailing empty frame
    whole = next(iter(iter_csv_frames(path, "people")))
    assert pl.concat(frames).drop("position").equals(whole.drop("position"))


def test_csv_empty_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = write_csv(tmp_path / "header.csv", PEOPLE_HEADER, [], bom=True)
    for path, mode in ((empty, "people"), (header_only, "people"), (header_only, "company")):
        (df,) = iter_csv_frames(path, mode)
        assert df.height == 0 and df.schema == pl.Schema(PEOPLE_SCHEMA if mode == "people" else COMPANY_SCHEMA)


def test_csv_large_cell_and_limit_restored(tmp_path: Path) -> None:
    big = "x" * 300_000  # above the csv module's default 128 KiB field limit
    path = write_csv(tmp_path / "big.csv", ["public_id", "summary"], [["a", big]])
    before = csv.field_size_limit()
    (df,) = iter_csv_frames(path, "people")
    assert extra_of(df)["summary"] == big and csv.field_size_limit() == before
    with pytest.raises(SixtyfourMalformedResponseError, match="malformed"):
        list(iter_csv_frames(path, "people", max_field_size=1000))
    assert csv.field_size_limit() == before


def test_csv_errors(tmp_path: Path) -> None:
    bad_utf8 = tmp_path / "bad.csv"
    bad_utf8.write_bytes(b"public_id,full_name\r\na,ok\r\nb,\xff\xfe broken\r\n")
    with pytest.raises(SixtyfourMalformedResponseError, match="not valid UTF-8"):
        list(iter_csv_frames(bad_utf8, "people"))
    truncated = tmp_path / "cut.csv"
    truncated.write_text('public_id,summary\r\na,"never closed\r\n', encoding="utf-8")
    with pytest.raises(SixtyfourMalformedResponseError, match=r"cut\.csv is malformed"):
        list(iter_csv_frames(truncated, "people"))
    with pytest.raises(ValueError, match="mode"):
        iter_csv_frames(truncated, "leads")  # raised at call time, before iterating
    with pytest.raises(ValueError, match="batch_size"):
        iter_csv_frames(truncated, "people", batch_size=0)
