"""``DagsterSixtyfourTranslator``: how searches and lead tables become Dagster asset specs.

Subclass it and override :meth:`DagsterSixtyfourTranslator.get_asset_spec` to change keys, groups, tags,
descriptions or automation conditions; it is the one override point.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from dagster_sixtyfour.models import SixtyfourSearch

#: The lead tables and the search mode that feeds each.
LEAD_TABLE_MODES = {"people": "people", "companies": "company"}


@dataclass(frozen=True)
class SixtyfourSearchProps:
    """What the translator knows about a search asset."""

    search: SixtyfourSearch


@dataclass(frozen=True)
class SixtyfourTableProps:
    """What the translator knows about a lead-table asset (``people`` or ``companies``).

    Attributes:
        table: ``"people"`` or ``"companies"``.
        schema: The DuckDB schema holding it.
        searches: The searches that feed it.
    """

    table: str
    schema: str
    searches: tuple[SixtyfourSearch, ...]


SixtyfourProps = SixtyfourSearchProps | SixtyfourTableProps


class DagsterSixtyfourTranslator:
    """Maps searches and lead tables to :class:`dagster.AssetSpec`.

    Example:
        .. code-block:: python

            import dagster as dg
            from dagster_sixtyfour import DagsterSixtyfourTranslator, SixtyfourSearchProps

            class MyTranslator(DagsterSixtyfourTranslator):
                def get_asset_spec(self, props):
                    spec = super().get_asset_spec(props)
                    if isinstance(props, SixtyfourSearchProps):
                        return spec.replace_attributes(key=dg.AssetKey(["leads", props.search.name]))
                    return spec
    """

    def get_asset_spec(self, props: SixtyfourProps) -> dg.AssetSpec:
        """Returns the spec for one search asset or one lead-table asset."""
        if isinstance(props, SixtyfourSearchProps):
            search = props.search
            return dg.AssetSpec(
                key=dg.AssetKey(["sixtyfour", "search", search.name]),
                description=search.description or f"Sixtyfour {search.mode} search: {search.query}",
                group_name="sixtyfour",
                kinds={"sixtyfour", "polars"},
                tags={"sixtyfour/mode": search.mode, **search.tags},
                metadata={"sixtyfour/query": search.query, "sixtyfour/max_results": search.max_results},
            )
        return dg.AssetSpec(
            key=dg.AssetKey(["sixtyfour", props.table]),
            description=(
                f"Deduplicated {props.table} from Sixtyfour searches, in DuckDB table "
                f"{props.schema}.{props.table} (one row per "
                f"{'person, lead_key' if props.table == 'people' else 'company, company_key'})."
            ),
            group_name="sixtyfour",
            kinds={"sixtyfour", "duckdb"},
            metadata={"dagster/table_name": f"{props.schema}.{props.table}"},
        )
