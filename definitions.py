"""Demo Dagster definitions for dagster-sixtyfour.

With ``SIXTYFOUR_API_KEY`` set, the searches call the real API at ``SIXTYFOUR_BASE_URL`` (default
``https://api.sixtyfour.ai``). Without it, an embedded sandbox (a real HTTP server on loopback that behaves like
the API, with synthetic data) is started and used, and the logs say so. The lead tables live in the DuckDB file
``SIXTYFOUR_DUCKDB_PATH`` (default ``leads.duckdb`` in the working directory).

    dagster asset materialize -f definitions.py --select '*'
    dagster dev -f definitions.py              # needs dagster-webserver installed
"""

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_sixtyfour import SixtyfourSearch, build_sixtyfour_assets, build_sixtyfour_schedules
from dagster_sixtyfour.sandbox.embedded import resource_from_env

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


defs = dg.Definitions(
    assets=build_sixtyfour_assets(searches=SEARCHES),
    schedules=build_sixtyfour_schedules(SEARCHES),
    resources={
        "sixtyfour": resource_from_env(),
        "duckdb": DuckDBResource(database=os.environ.get("SIXTYFOUR_DUCKDB_PATH", "leads.duckdb")),
    },
)
