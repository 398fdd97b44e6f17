"""dagster-sixtyfour: run Sixtyfour Deep Search from Dagster into deduplicated DuckDB lead tables."""

from dagster_sixtyfour.version import __version__ as __version__
