"""Asset checks on the lead tables: unique, non-null keys (blocking) and a bound on rejected rows."""

from collections.abc import Mapping

import dagster as dg

from dagster_sixtyfour._sql import quote_identifier
from dagster_sixtyfour.store import LeadStore
from dagster_sixtyfour.translator import LEAD_TABLE_MODES

KEY_COLUMNS = {"people": "lead_key", "companies": "company_key"}


def build_lead_table_checks(
    tables: Mapping[dg.AssetKey, str], schema: str, duckdb_resource_key: str, max_rejected_ratio: float
) -> list[dg.AssetChecksDefinition]:
    """Builds, per lead table: a blocking check that its key is unique and never null, and a warning check that
    the share of rejected rows among the rows fetched for it stays at or below ``max_rejected_ratio``."""
    checks: list[dg.AssetChecksDefinition] = []
    quoted_schema = quote_identifier(schema)
    for key, table in tables.items():
        checks.append(_key_check(key, table, quoted_schema, duckdb_resource_key))
        checks.append(_rejected_check(key, table, quoted_schema, duckdb_resource_key, max_rejected_ratio))
    return checks


def _key_check(key: dg.AssetKey, table: str, schema: str, resource_key: str) -> dg.AssetChecksDefinition:
    column = KEY_COLUMNS[table]

    @dg.asset_check(
        asset=key,
        name=f"{column}_unique_and_not_null",
        blocking=True,
        required_resource_keys={resource_key},
        description=f"Every row of {table} has a {column}, and no {column} appears twice.",
    )
    def key_check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        store = LeadStore(getattr(context.resources, resource_key), schema=schema.strip('"'))
        stats = store.query(
            f"SELECT count(*) AS n_rows, count(*) - count({column}) AS null_keys, "
            f"count({column}) - count(DISTINCT {column}) AS duplicate_keys FROM {schema}.{quote_identifier(table)}"
        ).row(0, named=True)
        passed = stats["null_keys"] == 0 and stats["duplicate_keys"] == 0
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={k: int(v) for k, v in stats.items()},
            description=None if passed else f"{table} has null or duplicate {column} values",
        )

    return key_check


def _rejected_check(
    key: dg.AssetKey, table: str, schema: str, resource_key: str, bound: float
) -> dg.AssetChecksDefinition:
    mode = LEAD_TABLE_MODES[table]

    @dg.asset_check(
        asset=key,
        name="rejected_ratio",
        required_resource_keys={resource_key},
        description=f"At most {bound:.0%} of the rows fetched for {table} had no usable key.",
    )
    def rejected_check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        store = LeadStore(getattr(context.resources, resource_key), schema=schema.strip('"'))
        row = store.query(
            "SELECT coalesce(sum(rows_fetched), 0) AS fetched, coalesce(sum(rejected), 0) AS rejected "
            f"FROM {schema}.searches WHERE mode = ?",
            [mode],
        ).row(0, named=True)
        fetched, rejected = int(row["fetched"]), int(row["rejected"])
        ratio = rejected / fetched if fetched else 0.0
        return dg.AssetCheckResult(
            passed=ratio <= bound,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"fetched": fetched, "rejected": rejected, "ratio": round(ratio, 4), "bound": bound},
        )

    return rejected_check
