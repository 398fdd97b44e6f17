"""dagster-sixtyfour: run Sixtyfour Deep Search from Dagster into deduplicated DuckDB lead tables."""

from dagster_sixtyfour.client import SixtyfourClient as SixtyfourClient
from dagster_sixtyfour.errors import SixtyfourAPIError as SixtyfourAPIError
from dagster_sixtyfour.errors import SixtyfourError as SixtyfourError
from dagster_sixtyfour.models import Page as Page
from dagster_sixtyfour.models import SearchOutcome as SearchOutcome
from dagster_sixtyfour.models import SearchStarted as SearchStarted
from dagster_sixtyfour.models import SearchStatus as SearchStatus
from dagster_sixtyfour.resource import SixtyfourResource as SixtyfourResource
from dagster_sixtyfour.version import __version__ as __version__
