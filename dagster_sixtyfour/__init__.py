"""dagster-sixtyfour: run Sixtyfour Deep Search from Dagster into deduplicated DuckDB lead tables."""

from dagster_sixtyfour.asset_decorator import build_sixtyfour_assets as build_sixtyfour_assets
from dagster_sixtyfour.asset_decorator import run_sixtyfour_searches as run_sixtyfour_searches
from dagster_sixtyfour.asset_decorator import sixtyfour_assets as sixtyfour_assets
from dagster_sixtyfour.client import SixtyfourClient as SixtyfourClient
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
from dagster_sixtyfour.version import __version__ as __version__
