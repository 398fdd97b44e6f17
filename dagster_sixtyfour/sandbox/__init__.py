"""A local emulator of the Sixtyfour Search API ("Deep Search") for offline runs and tests.

Example:
    .. code-block:: python

        from dagster_sixtyfour.sandbox import SandboxFaults, SandboxServer

        with SandboxServer(seed=0, faults=SandboxFaults(p429=0.1)) as sandbox:
            print(sandbox.base_url, sandbox.api_key)
"""

from dagster_sixtyfour.sandbox.faults import SandboxFaults
from dagster_sixtyfour.sandbox.server import SandboxServer
from dagster_sixtyfour.sandbox.state import SandboxStats

__all__ = ["SandboxFaults", "SandboxServer", "SandboxStats"]
