"""Demo Dagster definitions for dagster-sixtyfour.

With ``SIXTYFOUR_API_KEY`` set, the searches call the real API at ``SIXTYFOUR_BASE_URL`` (default
``https://api.sixtyfour.ai``). Without it, an embedded sandbox (a real HTTP server on loopback that behaves like
the API, with synthetic data) is started and used, and the logs say so. The lead tables live in the DuckDB file
``SIXTYFOUR_DUCKDB_PATH`` (default ``leads.duckdb`` in the working directory).

    dagster asset materialize -f definitions.py --select '*'
    dagster dev -f definitions.py
"""

import logging
import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_sixtyfour import SixtyfourResource, SixtyfourSearch, build_sixtyfour_assets, build_sixtyfour_schedules

logger = logging.getLogger("dagster_sixtyfour.demo")

SEARCHES = [
    SixtyfourSearch(
        name="heads_of_data_berlin",
        query="Heads of Data at fintech startups in Berlin",
        mode="people",
        max_results=200,
        cron="0 6 * * 1",  # every Monday at 06:00 UTC
    ),
    SixtyfourSearch(
        name="vp_engineering_lisbon",
        query="VPs of Engineering at B2B SaaS companies in Lisbon",
        mode="people",
        max_results=150,
    ),
    SixtyfourSearch(
        name="climate_startups_nordics",
        query="Climate tech startups in the Nordics with 20-200 employees",
        mode="company",
        max_results=100,
    ),
]


def sixtyfour_resource() -> SixtyfourResource:
    """The real API when ``SIXTYFOUR_API_KEY`` is set, else the embedded sandbox."""
    if os.environ.get("SIXTYFOUR_API_KEY"):
        return SixtyfourResource(
            api_key=dg.EnvVar("SIXTYFOUR_API_KEY"),
            base_url=os.environ.get("SIXTYFOUR_BASE_URL", "https://api.sixtyfour.ai"),
        )
    from dagster_sixtyfour.sandbox import SandboxServer

    sandbox = SandboxServer(seed=64).start()
    logger.warning(
        "SIXTYFOUR_API_KEY is not set: using the embedded Sixtyfour sandbox at %s (synthetic data)", sandbox.base_url
    )
    return SixtyfourResource(api_key=sandbox.api_key, base_url=sandbox.base_url, poll_interval=0.2)


defs = dg.Definitions(
    assets=build_sixtyfour_assets(searches=SEARCHES),
    schedules=build_sixtyfour_schedules(SEARCHES),
    resources={
        "sixtyfour": sixtyfour_resource(),
        "duckdb": DuckDBResource(database=os.environ.get("SIXTYFOUR_DUCKDB_PATH", "leads.duckdb")),
    },
)
