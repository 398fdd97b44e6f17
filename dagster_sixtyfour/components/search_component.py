"""``SixtyfourSearchComponent``: Sixtyfour searches and their lead tables, declared in a ``dg`` project's YAML."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import dagster as dg
from dagster.components.utils.translation import TranslationFn, TranslationFnResolver
from dagster_duckdb import DuckDBResource
from pydantic import Field

from dagster_sixtyfour.asset_decorator import (
    DEFAULT_RETRY_POLICY,
    DUCKDB_POOL,
    SEARCH_POOL,
    build_sixtyfour_assets,
)
from dagster_sixtyfour.components.scaffolder import SixtyfourSearchComponentScaffolder
from dagster_sixtyfour.models import SixtyfourSearch
from dagster_sixtyfour.resource import SixtyfourResource
from dagster_sixtyfour.sandbox.embedded import resource_from_env
from dagster_sixtyfour.schedules import build_sixtyfour_schedules
from dagster_sixtyfour.translator import (
    DagsterSixtyfourTranslator,
    SixtyfourProps,
    SixtyfourSearchProps,
)


def _template_vars(props: SixtyfourProps) -> Mapping[str, Any]:
    if isinstance(props, SixtyfourSearchProps):
        return {"props": props, "kind": "search", "name": props.search.name, "search": props.search, "table": None}
    return {"props": props, "kind": "table", "name": props.table, "search": None, "table": props.table}


class SixtyfourSettings(dg.Model):
    """The :class:`~dagster_sixtyfour.SixtyfourResource` settings; unset fields keep the resource's defaults.

    The key is named by its environment variable, so its value never lands in YAML or the Dagster UI.
    """

    api_key_env_var: str = Field(
        default="SIXTYFOUR_API_KEY", description="Environment variable holding the Sixtyfour API key."
    )
    base_url: str | None = Field(default=None, description="API root URL (default: SIXTYFOUR_BASE_URL or the API).")
    request_timeout: float | None = Field(default=None, description="Seconds to wait for one API response.")
    request_max_retries: int | None = Field(default=None, description="Retries of a failed API call.")
    request_retry_delay: float | None = Field(default=None, description="First retry backoff in seconds.")
    poll_interval: float | None = Field(default=None, description="Seconds between status polls.")
    poll_timeout: float | None = Field(default=None, description="Seconds to wait for a search to finish.")
    page_size: int | None = Field(default=None, description="Rows per /search/query page (1-100).")

    def resource_kwargs(self) -> dict[str, Any]:
        """The fields that were set, as :class:`SixtyfourResource` keyword arguments (without the key)."""
        return {k: v for k, v in self.model_dump().items() if k != "api_key_env_var" and v is not None}


class SearchModel(dg.Model):
    """One search, as :class:`~dagster_sixtyfour.SixtyfourSearch` takes it."""

    name: str = Field(description="Asset name, sixtyfour/search/<name>: lower-case letters, digits, underscores.")
    query: str = Field(description="Natural-language query; may contain {partition}.")
    mode: Literal["people", "company"] = "people"
    max_results: int = Field(default=1000, description="Cap on rows; never clamped, the API rejects too many.")
    output_mode: Literal["query_only", "csv"] | None = Field(default=None, description="Default: by size.")
    tags: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    cron: str | None = Field(default=None, description="Cron schedule of this search (UTC), or none.")


class RetryPolicyModel(dg.Model):
    """Step retries of the search assets (a retry re-attaches to the search already started)."""

    max_retries: int = DEFAULT_RETRY_POLICY.max_retries
    delay: float = DEFAULT_RETRY_POLICY.delay or 0.0
    backoff: Literal["linear", "exponential"] | None = "exponential"

    def build(self) -> dg.RetryPolicy:
        backoff = {"linear": dg.Backoff.LINEAR, "exponential": dg.Backoff.EXPONENTIAL}.get(self.backoff or "")
        return dg.RetryPolicy(
            max_retries=self.max_retries, delay=self.delay, backoff=backoff, jitter=dg.Jitter.PLUS_MINUS
        )


class BackfillPolicyModel(dg.Model):
    """How a backfill of partitioned searches is split into runs."""

    type: Literal["single_run", "multi_run"] = "multi_run"
    max_partitions_per_run: int = 1

    def build(self) -> dg.BackfillPolicy:
        if self.type == "single_run":
            return dg.BackfillPolicy.single_run()
        return dg.BackfillPolicy.multi_run(max_partitions_per_run=self.max_partitions_per_run)


class SixtyfourOpModel(dg.Model):
    """How the steps run: pools, tags, step retries, backfills."""

    pool: str | None = Field(default=SEARCH_POOL, description="Pool of the search steps (limit it to 5).")
    duckdb_pool: str | None = Field(default=DUCKDB_POOL, description="Pool of the lead-table step (limit it to 1).")
    tags: dict[str, str] | None = None
    retry_policy: RetryPolicyModel | None = Field(
        default_factory=RetryPolicyModel, description="Step retries of the search assets; null for none."
    )
    backfill_policy: BackfillPolicyModel | None = None


@dg.scaffold_with(SixtyfourSearchComponentScaffolder)
class SixtyfourSearchComponent(dg.Component, dg.Model, dg.Resolvable):
    """Sixtyfour Deep Searches and the deduplicated DuckDB lead tables they feed, declared in YAML.

    Builds the same assets, checks and schedules as :func:`~dagster_sixtyfour.build_sixtyfour_assets` and
    :func:`~dagster_sixtyfour.build_sixtyfour_schedules`, and the two resources they use.

    Example:
        .. code-block:: yaml

            # defs/leads/defs.yaml
            type: dagster_sixtyfour.SixtyfourSearchComponent
            attributes:
              database: leads.duckdb
              sixtyfour:
                api_key_env_var: SIXTYFOUR_API_KEY
              searches:
                - name: heads_of_data_berlin
                  query: Heads of Data at fintech startups in Berlin
                  max_results: 200
                  cron: "0 6 * * 1"
              translation:
                group_name: leads
              op:
                pool: sixtyfour
                retry_policy: {max_retries: 2, delay: 30}

        Override :meth:`get_asset_spec` in a subclass to change specs in Python.
    """

    database: str = Field(description="Path of the DuckDB file holding the lead tables.")
    searches: list[SearchModel] = Field(description="The searches: one asset each.")
    sixtyfour: SixtyfourSettings = Field(default_factory=SixtyfourSettings, description="API settings.")
    sandbox_when_no_key: bool = Field(
        default=False,
        description="Use an embedded sandbox with synthetic data when the key's variable is unset (demos, tests).",
    )
    lead_schema: str = Field(default="sixtyfour", description="DuckDB schema of the lead tables.")
    partition_keys: list[str] | None = Field(
        default=None, description="Static partitions of the search assets, filling {partition} in queries."
    )
    max_rejected_ratio: float = Field(default=0.2, description="Bound of the rejected-row ratio check.")
    sixtyfour_resource_key: str = "sixtyfour"
    duckdb_resource_key: str = "duckdb"
    translation: Annotated[
        TranslationFn[SixtyfourProps] | None,
        TranslationFnResolver[SixtyfourProps](_template_vars),
    ] = None
    op: SixtyfourOpModel = Field(default_factory=SixtyfourOpModel, description="Pools, tags, retries, backfills.")

    def get_asset_spec(self, props: SixtyfourProps) -> dg.AssetSpec:
        """The spec of one search or lead-table asset: the default translator's, then ``translation:``.

        Example:
            .. code-block:: python

                class MyComponent(SixtyfourSearchComponent):
                    def get_asset_spec(self, props):
                        return super().get_asset_spec(props).merge_attributes(tags={"team": "growth"})
        """
        spec = DagsterSixtyfourTranslator().get_asset_spec(props)
        return self.translation(spec, props) if self.translation else spec

    def build_searches(self) -> list[SixtyfourSearch]:
        """The declared searches as :class:`~dagster_sixtyfour.SixtyfourSearch` specs."""
        return [SixtyfourSearch(**s.model_dump()) for s in self.searches]

    def build_resource(self) -> SixtyfourResource:
        """The API resource: the key through ``dg.EnvVar``; the sandbox only if allowed and the key is unset."""
        settings = self.sixtyfour
        if self.sandbox_when_no_key:
            return resource_from_env(api_key_env_var=settings.api_key_env_var, **settings.resource_kwargs())
        return SixtyfourResource(api_key=dg.EnvVar(settings.api_key_env_var), **settings.resource_kwargs())

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        searches = self.build_searches()
        op = self.op
        translator = _ComponentTranslator(self)
        assets = build_sixtyfour_assets(
            searches=searches,
            dagster_sixtyfour_translator=translator,
            partitions_def=dg.StaticPartitionsDefinition(self.partition_keys) if self.partition_keys else None,
            pool=op.pool,
            retry_policy=op.retry_policy.build() if op.retry_policy else None,
            op_tags=op.tags,
            schema=self.lead_schema,
            duckdb_pool=op.duckdb_pool,
            sixtyfour_resource_key=self.sixtyfour_resource_key,
            duckdb_resource_key=self.duckdb_resource_key,
            max_rejected_ratio=self.max_rejected_ratio,
            backfill_policy=op.backfill_policy.build() if op.backfill_policy else None,
        )
        return dg.Definitions(
            assets=assets,
            schedules=build_sixtyfour_schedules(searches, dagster_sixtyfour_translator=translator),
            resources={
                self.sixtyfour_resource_key: self.build_resource(),
                self.duckdb_resource_key: DuckDBResource(database=self.database),
            },
        )


class _ComponentTranslator(DagsterSixtyfourTranslator):
    """Routes the translator's one override point to the component (and so to ``translation:``)."""

    def __init__(self, component: SixtyfourSearchComponent) -> None:
        self._component = component

    def get_asset_spec(self, props: SixtyfourProps) -> dg.AssetSpec:
        return self._component.get_asset_spec(props)
