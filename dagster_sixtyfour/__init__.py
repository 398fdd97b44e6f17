"""dagster-sixtyfour: run Sixtyfour Deep Search from Dagster into deduplicated DuckDB lead tables.

Names are imported on first use, so ``import dagster_sixtyfour.client`` (and the command line) does not pay for
importing Dagster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dagster_sixtyfour.version import __version__ as __version__

_EXPORTS = {
    "build_sixtyfour_assets": "asset_decorator",
    "run_sixtyfour_searches": "asset_decorator",
    "sixtyfour_assets": "asset_decorator",
    "SixtyfourClient": "client",
    "SixtyfourSearchComponent": "components",
    "SixtyfourAPIError": "errors",
    "SixtyfourError": "errors",
    "Page": "models",
    "SearchOutcome": "models",
    "SearchStarted": "models",
    "SearchStatus": "models",
    "SixtyfourSearch": "models",
    "SixtyfourResource": "resource",
    "build_sixtyfour_schedules": "schedules",
    "LeadStore": "store",
    "MergeCounts": "store",
    "SearchRecord": "store",
    "DagsterSixtyfourTranslator": "translator",
    "SixtyfourSearchProps": "translator",
    "SixtyfourTableProps": "translator",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dagster_sixtyfour' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dagster_sixtyfour.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from dagster_sixtyfour.asset_decorator import build_sixtyfour_assets as build_sixtyfour_assets
    from dagster_sixtyfour.asset_decorator import run_sixtyfour_searches as run_sixtyfour_searches
    from dagster_sixtyfour.asset_decorator import sixtyfour_assets as sixtyfour_assets
    from dagster_sixtyfour.client import SixtyfourClient as SixtyfourClient
    from dagster_sixtyfour.components import SixtyfourSearchComponent as SixtyfourSearchComponent
    from dagster_sixtyfour.errors import SixtyfourAPIError as SixtyfourAPIError
    from dagster_sixtyfour.errors import SixtyfourError as SixtyfourError
    from dagster_sixtyfour.models import Page as Page
    from dagster_sixtyfour.models import SearchOutcome as SearchOutcome
    from dagster_sixtyfour.models import SearchStarted as SearchStarted
    from dagster_sixtyfour.models import SearchStatus as SearchStatus
    from dagster_sixtyfour.models import SixtyfourSearch as SixtyfourSearch
    from dagster_sixtyfour.resource import SixtyfourResource as SixtyfourResource
    from dagster_sixtyfour.schedules import build_sixtyfour_schedules as build_sixtyfour_schedules
    from dagster_sixtyfour.store import LeadStore as LeadStore
    from dagster_sixtyfour.store import MergeCounts as MergeCounts
    from dagster_sixtyfour.store import SearchRecord as SearchRecord
    from dagster_sixtyfour.translator import DagsterSixtyfourTranslator as DagsterSixtyfourTranslator
    from dagster_sixtyfour.translator import SixtyfourSearchProps as SixtyfourSearchProps
    from dagster_sixtyfour.translator import SixtyfourTableProps as SixtyfourTableProps
