"""``SixtyfourResource``: the Dagster resource that hands out a configured :class:`SixtyfourClient`."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from dagster_sixtyfour.client import DEFAULT_BASE_URL, SixtyfourClient


class SixtyfourResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Connects Dagster to the Sixtyfour Search API.

    Pass the key with ``dg.EnvVar`` so its value is resolved at launch and never shown in the Dagster UI;
    the key is also kept out of ``repr()``, logs and errors.

    Example:
        .. code-block:: python

            import dagster as dg
            from dagster_sixtyfour import SixtyfourResource

            sixtyfour = SixtyfourResource(api_key=dg.EnvVar("SIXTYFOUR_API_KEY"), poll_interval=15)

            @dg.asset
            def cfos_in_berlin(sixtyfour: SixtyfourResource) -> int:
                with sixtyfour.get_client() as client:
                    outcome = client.run_search("CFOs in Berlin", max_results=100)
                return len(outcome.rows or [])
    """

    api_key: str = Field(
        repr=False,
        description='Sixtyfour API key, sent as x-api-key. Use dg.EnvVar("SIXTYFOUR_API_KEY").',
    )
    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="API root URL. Plain http is accepted only for loopback hosts (the sandbox).",
    )
    request_timeout: float = Field(default=60.0, description="Seconds to wait for one API response.")
    request_max_retries: int = Field(
        default=4, description="Retries of a failed API call (timeouts, 408, 429, 5xx) after the first attempt."
    )
    request_retry_delay: float = Field(
        default=1.0, description="First retry backoff in seconds; doubles per retry up to 30 s, with full jitter."
    )
    poll_interval: float = Field(default=10.0, description="Seconds between status polls of a running search.")
    poll_timeout: float = Field(
        default=1800.0, description="Seconds to wait for a search to finish before failing (it keeps running)."
    )
    page_size: int = Field(default=100, description="Rows per /search/query page (1-100).")

    def get_client(self) -> SixtyfourClient:
        """Returns a new :class:`SixtyfourClient` with this resource's settings; close it when done (it is a
        context manager)."""
        return SixtyfourClient(
            api_key=self.api_key,
            base_url=self.base_url,
            request_timeout=self.request_timeout,
            request_max_retries=self.request_max_retries,
            request_retry_delay=self.request_retry_delay,
            poll_interval=self.poll_interval,
            poll_timeout=self.poll_timeout,
            page_size=self.page_size,
        )

    def __repr__(self) -> str:
        return f"SixtyfourResource(base_url={self.base_url!r}, api_key='[REDACTED]')"

    __str__ = __repr__
