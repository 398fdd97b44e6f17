"""The resource a demo or a first try uses: the real API when a key is set, else an embedded sandbox."""

from __future__ import annotations

import logging
import os
from typing import Any

import dagster as dg

from dagster_sixtyfour.client import DEFAULT_BASE_URL
from dagster_sixtyfour.resource import SixtyfourResource

logger = logging.getLogger("dagster_sixtyfour.sandbox")


def resource_from_env(
    seed: int = 64, *, api_key_env_var: str = "SIXTYFOUR_API_KEY", **settings: Any
) -> SixtyfourResource:
    """A :class:`SixtyfourResource` for the real API when the key's environment variable is set (the key read
    through ``dg.EnvVar``; base URL from ``settings`` or ``SIXTYFOUR_BASE_URL``), else for a sandbox started here
    on loopback, which is said in the logs.

    Args:
        seed: Seed of the sandbox's synthetic data.
        api_key_env_var: Name of the environment variable holding the API key.
        **settings: Other :class:`SixtyfourResource` fields (``base_url``, ``poll_interval``, ...). With the
            sandbox, ``base_url`` is the sandbox's and ``poll_interval`` defaults to 0.2 s.

    Example:
        .. code-block:: python

            from dagster_sixtyfour.sandbox.embedded import resource_from_env

            sixtyfour = resource_from_env()
    """
    if os.environ.get(api_key_env_var):
        settings.setdefault("base_url", os.environ.get("SIXTYFOUR_BASE_URL", DEFAULT_BASE_URL))
        return SixtyfourResource(api_key=dg.EnvVar(api_key_env_var), **settings)
    from dagster_sixtyfour.sandbox.server import SandboxServer

    sandbox = SandboxServer(seed=seed).start()
    logger.warning(
        "%s is not set: using the embedded Sixtyfour sandbox at %s (synthetic data)", api_key_env_var, sandbox.base_url
    )
    settings.setdefault("poll_interval", 0.2)
    settings["base_url"] = sandbox.base_url
    return SixtyfourResource(api_key=sandbox.api_key, **settings)
