"""Software-defined assets for Sixtyfour searches and the lead tables they feed.

``build_sixtyfour_assets`` gives one asset per search (``sixtyfour/search/<name>``), which runs the search and
stages its rows, and one multi-asset for the deduplicated lead tables (``sixtyfour/people``,
``sixtyfour/companies``), the only DuckDB writer, which merges everything staged; plus blocking checks.
``sixtyfour_assets`` is the decorator form for searches whose step body you write yourself.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg

from dagster_sixtyfour.checks import build_lead_table_checks
from dagster_sixtyfour.materialize import materialize_lead_tables, materialize_search
from dagster_sixtyfour.models import SixtyfourSearch
from dagster_sixtyfour.resource import SixtyfourResource
from dagster_sixtyfour.translator import (
    LEAD_TABLE_MODES,
    DagsterSixtyfourTranslator,
    SixtyfourSearchProps,
    SixtyfourTableProps,
)

#: Step retries for search assets: 2 retries, 30 s then 90 s (terminal API errors are never retried).
DEFAULT_RETRY_POLICY = dg.RetryPolicy(
    max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
#: Pool of the search assets: set its limit to 5, the API's cap of concurrent deep searches.
SEARCH_POOL = "sixtyfour"
#: Pool of the lead-table asset: set its limit to 1, DuckDB allows one writing process per file.
DUCKDB_POOL = "duckdb"
#: Spec metadata key holding the search (JSON) of a search asset.
SEARCH_METADATA_KEY = "sixtyfour/search"


def _search_specs(
    searches: Sequence[SixtyfourSearch], translator: DagsterSixtyfourTranslator, group_name: str | None
) -> dict[dg.AssetKey, tuple[SixtyfourSearch, dg.AssetSpec]]:
    names = [s.name for s in searches]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise dg.DagsterInvalidDefinitionError(f"Sixtyfour search names must be unique; repeated: {duplicated}")
    out = {}
    for search in searches:
        spec = translator.get_asset_spec(SixtyfourSearchProps(search))
        spec = spec.merge_attributes(metadata={SEARCH_METADATA_KEY: search.to_json()})
        if group_name:
            spec = spec.replace_attributes(group_name=group_name)
        out[spec.key] = (search, spec)
    return out


def sixtyfour_assets(
    *,
    searches: Sequence[SixtyfourSearch],
    name: str | None = None,
    group_name: str | None = None,
    dagster_sixtyfour_translator: DagsterSixtyfourTranslator | None = None,
    partitions_def: dg.PartitionsDefinition | None = None,
    pool: str | None = SEARCH_POOL,
    retry_policy: dg.RetryPolicy | None = DEFAULT_RETRY_POLICY,
    op_tags: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """Decorates a function as one multi-asset over ``searches`` (one asset key per search, subsettable).

    The function body runs the selected searches, usually with :func:`run_sixtyfour_searches`.

    Example:
        .. code-block:: python

            import dagster as dg
            from dagster_duckdb import DuckDBResource
            from dagster_sixtyfour import SixtyfourResource, SixtyfourSearch, run_sixtyfour_searches, sixtyfour_assets

            @sixtyfour_assets(searches=[SixtyfourSearch(name="cfos", query="CFOs in Berlin")])
            def my_searches(context: dg.AssetExecutionContext, sixtyfour: SixtyfourResource, duckdb: DuckDBResource):
                yield from run_sixtyfour_searches(context, sixtyfour=sixtyfour, database=duckdb.database)
    """
    by_key = _search_specs(searches, dagster_sixtyfour_translator or DagsterSixtyfourTranslator(), group_name)

    def decorator(fn: Callable[..., Any]) -> dg.AssetsDefinition:
        return dg.multi_asset(
            name=name or fn.__name__,
            specs=[spec for _, spec in by_key.values()],
            can_subset=True,
            partitions_def=partitions_def,
            pool=pool,
            retry_policy=retry_policy,
            op_tags=op_tags,
        )(fn)

    return decorator


def run_sixtyfour_searches(
    context: dg.AssetExecutionContext, *, sixtyfour: SixtyfourResource, database: str
) -> Iterator[dg.MaterializeResult[Any]]:
    """Runs every selected search of a :func:`sixtyfour_assets` multi-asset, one after the other, and yields
    one result per search. The search is read back from its asset spec's metadata.

    Args:
        context: The step's context.
        sixtyfour: The resource to call the API with.
        database: Path of the DuckDB file whose staging folder receives the rows.
    """
    specs = context.assets_def.specs_by_key
    for key in sorted(context.selected_asset_keys, key=lambda k: k.to_user_string()):
        value = specs[key].metadata.get(SEARCH_METADATA_KEY)
        if value is None:
            raise dg.DagsterInvariantViolationError(f"Asset {key.to_user_string()} carries no Sixtyfour search")
        text = value.value if isinstance(value, dg.MetadataValue) else value
        yield materialize_search(context, sixtyfour, database, SixtyfourSearch.from_json(str(text)), key)


def build_sixtyfour_assets(
    *,
    searches: Sequence[SixtyfourSearch],
    group_name: str | None = None,
    dagster_sixtyfour_translator: DagsterSixtyfourTranslator | None = None,
    partitions_def: dg.PartitionsDefinition | None = None,
    pool: str | None = SEARCH_POOL,
    retry_policy: dg.RetryPolicy | None = DEFAULT_RETRY_POLICY,
    op_tags: Mapping[str, Any] | None = None,
    schema: str = "sixtyfour",
    duckdb_pool: str | None = DUCKDB_POOL,
    sixtyfour_resource_key: str = "sixtyfour",
    duckdb_resource_key: str = "duckdb",
    max_rejected_ratio: float = 0.2,
    backfill_policy: dg.BackfillPolicy | None = None,
) -> list[dg.AssetsDefinition | dg.AssetChecksDefinition]:
    """Builds the search assets, the lead-table assets and their checks.

    Args:
        searches: The searches; one asset each, ``sixtyfour/search/<name>``.
        group_name: Overrides the translator's group for every asset.
        dagster_sixtyfour_translator: Maps searches and tables to asset specs.
        partitions_def: Partitions of the search assets; a ``{partition}`` placeholder in a query is filled
            from the partition key. The lead tables stay unpartitioned and merge whatever was staged.
        pool: Pool of the search steps (limit it to 5: the API runs at most 5 deep searches per org).
        retry_policy: Step retries of the search assets. A retry re-attaches to the search already started.
        op_tags: Tags of the search steps.
        schema: DuckDB schema of the lead tables.
        duckdb_pool: Pool of the lead-table step (limit it to 1 per DuckDB file).
        sixtyfour_resource_key: Key of the :class:`SixtyfourResource`.
        duckdb_resource_key: Key of the ``dagster_duckdb.DuckDBResource`` holding the lead tables.
        max_rejected_ratio: Bound of the rejected-row ratio check.
        backfill_policy: Backfill policy of the partitioned search assets (default: Dagster's, one run per
            partition).

    Returns:
        The asset and check definitions, for ``dg.Definitions(assets=..., asset_checks=...)`` or ``materialize``.

    Example:
        .. code-block:: python

            import dagster as dg
            from dagster_duckdb import DuckDBResource
            from dagster_sixtyfour import SixtyfourResource, SixtyfourSearch, build_sixtyfour_assets

            defs = dg.Definitions(
                assets=build_sixtyfour_assets(searches=[SixtyfourSearch(name="cfos", query="CFOs in Berlin")]),
                resources={
                    "sixtyfour": SixtyfourResource(api_key=dg.EnvVar("SIXTYFOUR_API_KEY")),
                    "duckdb": DuckDBResource(database="leads.duckdb"),
                },
            )
    """
    translator = dagster_sixtyfour_translator or DagsterSixtyfourTranslator()
    by_key = _search_specs(searches, translator, group_name)
    resources = {sixtyfour_resource_key, duckdb_resource_key}
    out: list[dg.AssetsDefinition | dg.AssetChecksDefinition] = []
    for key, (search, spec) in by_key.items():
        out.append(
            _search_asset(
                search, spec, key, partitions_def, pool, retry_policy, op_tags, resources,
                sixtyfour_resource_key, duckdb_resource_key, backfill_policy,
            )
        )  # fmt: skip

    table_specs: dict[dg.AssetKey, str] = {}
    specs = []
    for table, mode in LEAD_TABLE_MODES.items():
        feeding = tuple(s for s, _ in by_key.values() if s.mode == mode)
        if not feeding:
            continue
        spec = translator.get_asset_spec(SixtyfourTableProps(table, schema, feeding))
        spec = spec.merge_attributes(deps=[k for k, (s, _) in by_key.items() if s.mode == mode])
        if group_name:
            spec = spec.replace_attributes(group_name=group_name)
        table_specs[spec.key] = table
        specs.append(spec)
    if specs:

        @dg.multi_asset(
            # one lead-table step per DuckDB resource: two sets of lead tables in one project need their own names
            name="sixtyfour_lead_tables"
            if duckdb_resource_key == "duckdb"
            else f"sixtyfour_lead_tables_{duckdb_resource_key}",
            specs=specs,
            can_subset=True,
            pool=duckdb_pool,
            required_resource_keys={duckdb_resource_key},
        )
        def lead_tables(context: dg.AssetExecutionContext) -> Any:
            duckdb = getattr(context.resources, duckdb_resource_key)
            yield from materialize_lead_tables(context, duckdb, schema, table_specs)

        out.append(lead_tables)
        out.extend(build_lead_table_checks(table_specs, schema, duckdb_resource_key, max_rejected_ratio))
    return out


def _search_asset(
    search: SixtyfourSearch,
    spec: dg.AssetSpec,
    key: dg.AssetKey,
    partitions_def: dg.PartitionsDefinition | None,
    pool: str | None,
    retry_policy: dg.RetryPolicy | None,
    op_tags: Mapping[str, Any] | None,
    resources: set[str],
    sixtyfour_key: str,
    duckdb_key: str,
    backfill_policy: dg.BackfillPolicy | None,
) -> dg.AssetsDefinition:
    if search.partitioned and partitions_def is None:
        raise dg.DagsterInvalidDefinitionError(
            f"Search {search.name!r} has a {{partition}} placeholder: pass partitions_def to build_sixtyfour_assets"
        )

    @dg.multi_asset(
        name=f"sixtyfour_search_{search.name}",
        specs=[spec],
        partitions_def=partitions_def,
        pool=pool,
        retry_policy=retry_policy,
        op_tags=op_tags,
        required_resource_keys=resources,
        backfill_policy=backfill_policy if partitions_def is not None else None,
    )
    def search_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult[Any]:
        sixtyfour = getattr(context.resources, sixtyfour_key)
        database = str(getattr(context.resources, duckdb_key).database)
        return materialize_search(context, sixtyfour, database, search, key)

    return search_asset
