"""Schedules for searches that declare a ``cron``."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from dagster_sixtyfour.models import SixtyfourSearch
from dagster_sixtyfour.translator import DagsterSixtyfourTranslator, SixtyfourSearchProps


def build_sixtyfour_schedules(
    searches: Sequence[SixtyfourSearch],
    *,
    dagster_sixtyfour_translator: DagsterSixtyfourTranslator | None = None,
    include_lead_tables: bool = True,
    execution_timezone: str = "UTC",
) -> list[dg.ScheduleDefinition]:
    """One schedule per search with a ``cron``: it materializes the search asset and, by default, the lead
    tables downstream of it. Each tick starts a new search (a new run, so a new idempotency key).

    Example:
        .. code-block:: python

            searches = [SixtyfourSearch(name="cfos", query="CFOs in Berlin", cron="0 6 * * 1")]
            defs = dg.Definitions(assets=build_sixtyfour_assets(searches=searches),
                                  schedules=build_sixtyfour_schedules(searches))
    """
    translator = dagster_sixtyfour_translator or DagsterSixtyfourTranslator()
    schedules = []
    for search in searches:
        if not search.cron:
            continue
        key = translator.get_asset_spec(SixtyfourSearchProps(search)).key
        selection: dg.AssetSelection = dg.AssetSelection.assets(key)
        if include_lead_tables:
            selection = selection | selection.downstream(depth=1)
        schedules.append(
            dg.ScheduleDefinition(
                name=f"sixtyfour_{search.name}_schedule",
                cron_schedule=search.cron,
                target=selection,
                execution_timezone=execution_timezone,
                description=f"Runs the Sixtyfour search {search.name!r} on {search.cron}.",
            )
        )
    return schedules
