"""Demo Dagster definitions for dagster-sixtyfour.

With ``SIXTYFOUR_API_KEY`` set, the assets call the real API at ``SIXTYFOUR_BASE_URL`` (default
``https://api.sixtyfour.ai``). Without it, an embedded sandbox (a real HTTP server on loopback that behaves like
the API) is started and used, and the logs say so.

    dagster asset materialize -f definitions.py --select '*'
    dagster dev -f definitions.py
"""

import logging
import os

import dagster as dg

from dagster_sixtyfour import SixtyfourResource
from dagster_sixtyfour.client import describe_status

logger = logging.getLogger("dagster_sixtyfour.demo")


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


@dg.asset(kinds={"sixtyfour"}, group_name="sixtyfour")
def heads_of_data_berlin(context: dg.AssetExecutionContext, sixtyfour: SixtyfourResource) -> dg.MaterializeResult:
    """People search: Heads of Data at fintech startups in Berlin."""
    with sixtyfour.get_client() as client:
        outcome = client.run_search(
            "Heads of Data at fintech startups in Berlin",
            mode="people",
            max_results=200,
            on_progress=lambda status: context.log.info(describe_status(status)),
        )
        retries = client.retries
    rows = outcome.rows or []
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "task_id": outcome.task_id,
            "search_id": outcome.search_id or "",
            "pages": outcome.pages,
            "retries": retries,
        }
    )


defs = dg.Definitions(assets=[heads_of_data_berlin], resources={"sixtyfour": sixtyfour_resource()})
