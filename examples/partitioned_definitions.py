"""Partitioned searches: one search per city, backfillable, with the lead tables downstream.

    dagster dev -f examples/partitioned_definitions.py
    dagster asset materialize -f examples/partitioned_definitions.py \
        --select 'sixtyfour/search/cfos_by_city' --partition berlin

Each partition fills the ``{partition}`` placeholder of the query. A backfill of many partitions keeps at
most 5 searches in flight when the ``sixtyfour`` pool has a limit of 5 (the API runs at most 5 deep searches
per organization, and the client waits out its 429s anyway), and the lead tables are written by one step in the
``duckdb`` pool (limit 1: one writer per DuckDB file). Set the limits in ``dagster.yaml``:

    concurrency:
      pools:
        default_limit: 5

and ``dagster instance concurrency set duckdb 1``. Without ``SIXTYFOUR_API_KEY`` the embedded sandbox is used.
"""

import logging
import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_sixtyfour import SixtyfourResource, SixtyfourSearch, build_sixtyfour_assets

logger = logging.getLogger("dagster_sixtyfour.demo")

CITIES = dg.StaticPartitionsDefinition(["berlin", "lisbon", "paris", "warsaw", "stockholm", "madrid"])

SEARCHES = [
    SixtyfourSearch(name="cfos_by_city", query="CFOs at Series A-C startups in {partition}", max_results=100),
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
    logger.warning("SIXTYFOUR_API_KEY is not set: using the embedded Sixtyfour sandbox at %s", sandbox.base_url)
    return SixtyfourResource(api_key=sandbox.api_key, base_url=sandbox.base_url, poll_interval=0.2)


defs = dg.Definitions(
    assets=build_sixtyfour_assets(searches=SEARCHES, partitions_def=CITIES),
    resources={
        "sixtyfour": sixtyfour_resource(),
        "duckdb": DuckDBResource(database=os.environ.get("SIXTYFOUR_DUCKDB_PATH", "leads.duckdb")),
    },
)
