"""Catalogue section 4.6, client side (S1-S6): the key and signed-URL tokens never leak; downloads are safe."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import httpx
import pytest

from dagster_sixtyfour import SixtyfourResource
from dagster_sixtyfour._download import check_download_url
from dagster_sixtyfour._redact import install_redaction, redact_url
from dagster_sixtyfour.errors import SixtyfourAuthError, SixtyfourDownloadError, SixtyfourTransportError
from tests.conftest import API_KEY, FakeClock, Script, make_client, ok, status_body

TOKEN = "sig-5e3b1d77c0ffee"
SIGNED = f"https://storage.example.com/exports/rh_1.csv?X-Goog-Signature={TOKEN}&X-Goog-Expires=900"


def _link(url: str = SIGNED) -> httpx.Response:
    return ok({"url": url, "bucket": "exports", "path": "rh_1.csv"})


def test_S1_key_absent_from_debug_logs_and_errors_across_faults(
    clock: FakeClock, debug_logs: pytest.LogCaptureFixture
) -> None:
    texts: list[str] = []
    scripts = [
        Script(httpx.ConnectError(f"refused {API_KEY}")),  # T1, even if a library echoed the key
        Script(ok({"detail": "x"}, 429, **{"Retry-After": "1"}), ok(status_body("queued"))),  # A1
        Script(ok({"detail": "Invalid API key"}, 401)),  # A14
    ]
    for script in scripts:
        client = make_client(clock, handler=script)
        try:
            client.get_status("t-1")
        except Exception as exc:
            texts += [str(exc), repr(exc)]
        logging.getLogger("dagster_sixtyfour").debug("client is %r with key %s", client, API_KEY)
        logging.getLogger("httpx").debug("headers %s", {"x-api-key": API_KEY})
    assert debug_logs.records, "DEBUG logging was captured"
    captured = debug_logs.text + "".join(r.getMessage() for r in debug_logs.records)
    assert API_KEY not in captured
    assert "[REDACTED]" in captured
    assert all(API_KEY not in t for t in texts)


def test_S1_exception_tracebacks_in_log_records_are_scrubbed(debug_logs: pytest.LogCaptureFixture) -> None:
    install_redaction(API_KEY)
    try:
        raise RuntimeError(f"boom {API_KEY}")
    except RuntimeError:
        logging.getLogger("dagster_sixtyfour").exception("failed")
    assert API_KEY not in debug_logs.text


def test_S2_key_masked_in_reprs_of_resource_client_and_errors(clock: FakeClock) -> None:
    resource = SixtyfourResource(api_key=API_KEY, base_url="http://127.0.0.1:9")
    client = resource.get_client()
    err = SixtyfourAuthError(401, "Invalid API key", method="GET", route="/search/status/t")
    for text in (repr(resource), str(resource), repr(client), str(client), repr(err), str(err)):
        assert API_KEY not in text
    assert "REDACTED" in repr(resource) and "REDACTED" in repr(client)


def test_S2_envvar_key_is_resolved_at_runtime_and_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIXTYFOUR_API_KEY", API_KEY)
    resource = SixtyfourResource(api_key=dg.EnvVar("SIXTYFOUR_API_KEY"), base_url="http://127.0.0.1:9")
    seen: list[str] = []

    @dg.asset
    def probe(sixtyfour: SixtyfourResource) -> None:
        seen.append(repr(sixtyfour.get_client()))
        assert sixtyfour.api_key == API_KEY

    result = dg.materialize([probe], resources={"sixtyfour": resource})
    assert result.success
    assert API_KEY not in repr(resource) and API_KEY not in seen[0]


def test_S3_signed_url_token_never_logged(
    clock: FakeClock, debug_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    files = Script(httpx.Response(200, content=b"full_name\nAda\n"))
    client = make_client(clock, handler=Script(_link()), download_handler=files)
    client.download_csv("rh_1", tmp_path / "x.csv")
    logging.getLogger("httpx").info("HTTP Request: GET %s", SIGNED)  # what httpx itself logs at INFO
    assert TOKEN not in debug_logs.text
    assert "storage.example.com/exports/rh_1.csv" in debug_logs.text
    assert redact_url(SIGNED) == "https://storage.example.com/exports/rh_1.csv"


def test_S4_download_never_sends_the_api_key_and_api_client_never_follows_redirects(
    clock: FakeClock, tmp_path: Path
) -> None:
    files = Script(httpx.Response(200, content=b"a\n1\n"))
    api = Script(_link())
    client = make_client(clock, handler=api, download_handler=files)
    client.download_csv("rh_1", tmp_path / "x.csv")
    assert "x-api-key" not in files.requests[0].headers
    assert api.requests[0].headers["x-api-key"] == API_KEY

    redirect = Script(httpx.Response(302, headers={"location": "https://evil.example.net/steal"}))
    client = make_client(clock, handler=redirect)
    with pytest.raises(Exception, match="302"):
        client.get_status("t-1")
    assert len(redirect.requests) == 1 and redirect.requests[0].url.host == "api.sixtyfour.test"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "ftp://storage.example.com/x.csv",
        "https://10.0.0.5/x.csv",
        "https://192.168.1.1/x.csv",
        "https://[fd00::1]/x.csv",
        "http://storage.example.com/x.csv",
        "https://127.0.0.1/x.csv",
        "https://localhost/x.csv",
        "https://user:pw@storage.example.com/x.csv",
        "https://metadata.google.internal/x",
    ],
)
def test_S5_unsafe_download_urls_are_refused_before_any_request(clock: FakeClock, tmp_path: Path, url: str) -> None:
    files = Script(httpx.Response(200, content=b"a\n"))
    client = make_client(clock, handler=Script(_link(url)), download_handler=files)
    with pytest.raises(SixtyfourDownloadError, match="Refused download URL") as info:
        client.download_csv("rh_1", tmp_path / "x.csv")
    assert files.requests == []
    assert "pw" not in str(info.value)
    assert not (tmp_path / "x.csv").exists()


def test_S5_loopback_http_only_when_the_api_is_loopback() -> None:
    check_download_url("http://127.0.0.1:8064/files/x.csv?token=1", allow_loopback_http=True)
    check_download_url("https://storage.googleapis.com/b/x.csv?sig=1", allow_loopback_http=False)
    with pytest.raises(SixtyfourDownloadError):
        check_download_url("http://127.0.0.1:8064/files/x.csv", allow_loopback_http=False)
    with pytest.raises(SixtyfourDownloadError):
        check_download_url("http://10.1.1.1/files/x.csv", allow_loopback_http=True)


def test_S6_redirect_from_storage_is_not_followed(clock: FakeClock, tmp_path: Path) -> None:
    files = Script(httpx.Response(302, headers={"location": "http://169.254.169.254/latest?x=1"}))
    client = make_client(clock, handler=Script(_link()), download_handler=files)
    with pytest.raises(SixtyfourDownloadError, match="302") as info:
        client.download_csv("rh_1", tmp_path / "x.csv")
    assert len(files.requests) == 1  # not followed, not retried with a fresh URL
    assert "x=1" not in str(info.value) and TOKEN not in str(info.value)
    assert not (tmp_path / "x.csv").exists()


def test_S12_plain_http_api_base_url_only_on_loopback() -> None:
    with pytest.raises(Exception, match="https"):
        SixtyfourResource(api_key=API_KEY, base_url="http://api.sixtyfour.ai").get_client()
    assert SixtyfourResource(api_key=API_KEY, base_url="http://localhost:8064").get_client().base_url


def test_S1_transport_error_text_has_no_key(clock: FakeClock) -> None:
    client = make_client(clock, handler=Script(httpx.ReadTimeout("timed out")))
    with pytest.raises(SixtyfourTransportError) as info:
        client.get_status("t-1")
    assert API_KEY not in str(info.value)
