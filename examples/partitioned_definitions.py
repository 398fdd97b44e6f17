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

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_sixtyfour import SixtyfourSearch, build_sixtyfour_assets
from dagster_sixtyfour.sandbox.embedded import resource_from_env

CITIES = dg.StaticPartitionsDefinition(["berlin", "lisbon", "paris", "warsaw", "stockholm", "madrid"])

SEARCHES = [
    SixtyfourSearch(name="cfos_by_city", query="CFOs at Series A-C startups in {partition}", max_results=100),
]


defs = dg.Definitions(
    assets=build_sixtyfour_assets(searches=SEARCHES, partitions_def=CITIES),
    resources={
        "sixtyfour": resource_from_env(),
        "duckdb": DuckDBResource(database=os.environ.get("SIXTYFOUR_DUCKDB_PATH", "leads.duckdb")),
    },
)
