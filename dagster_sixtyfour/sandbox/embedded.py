"""The resource a demo or a first try uses: the real API when a key is set, else an embedded sandbox."""

from __future__ import annotations

import logging
import os

import dagster as dg

from dagster_sixtyfour.client import DEFAULT_BASE_URL
from dagster_sixtyfour.resource import SixtyfourResource

logger = logging.getLogger("dagster_sixtyfour.sandbox")


def resource_from_env(seed: int = 64) -> SixtyfourResource:
    """A :class:`SixtyfourResource` for the real API when ``SIXTYFOUR_API_KEY`` is set (the key read through
    ``dg.EnvVar``; base URL from ``SIXTYFOUR_BASE_URL``), else for a sandbox started here on loopback, which is
    said in the logs.

    Example:
        .. code-block:: python

            from dagster_sixtyfour.sandbox.embedded import resource_from_env

            sixtyfour = resource_from_env()
    """
    if os.environ.get("SIXTYFOUR_API_KEY"):
        return SixtyfourResource(
            api_key=dg.EnvVar("SIXTYFOUR_API_KEY"),
            base_url=os.environ.get("SIXTYFOUR_BASE_URL", DEFAULT_BASE_URL),
        )
    from dagster_sixtyfour.sandbox.server import SandboxServer

    sandbox = SandboxServer(seed=seed).start()
    logger.warning(
        "SIXTYFOUR_API_KEY is not set: using the embedded Sixtyfour sandbox at %s (synthetic data)", sandbox.base_url
    )
    return SixtyfourResource(api_key=sandbox.api_key, base_url=sandbox.base_url, poll_interval=0.2)
