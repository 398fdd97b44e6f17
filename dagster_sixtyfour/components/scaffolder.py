"""``dg scaffold defs dagster_sixtyfour.SixtyfourSearchComponent <path>``: writes a working ``defs.yaml``."""

from __future__ import annotations

from typing import Literal

import dagster as dg
from pydantic import BaseModel, Field


class SixtyfourScaffoldParams(BaseModel):
    """What ``dg scaffold defs ... --json-params`` (or the flags) may set."""

    database: str = Field(default="leads.duckdb", description="DuckDB file of the lead tables.")
    search_name: str = Field(default="my_first_search", description="Name of the first search.")
    query: str = Field(default="Heads of Data at fintech startups in Berlin", description="Its query.")
    mode: Literal["people", "company"] = "people"
    max_results: int = 100
    sandbox_when_no_key: bool = Field(default=True, description="Use the sandbox while no key is set.")


class SixtyfourSearchComponentScaffolder(dg.Scaffolder[SixtyfourScaffoldParams]):
    """Scaffolds a ``defs.yaml`` with one search that runs as it is (on the sandbox until a key is set)."""

    @classmethod
    def get_scaffold_params(cls) -> type[SixtyfourScaffoldParams]:
        return SixtyfourScaffoldParams

    def scaffold(self, request: dg.ScaffoldRequest[SixtyfourScaffoldParams]) -> None:
        params = request.params or SixtyfourScaffoldParams()
        dg.scaffold_component(
            request,
            {
                "database": params.database,
                "sixtyfour": {"api_key_env_var": "SIXTYFOUR_API_KEY"},
                "sandbox_when_no_key": params.sandbox_when_no_key,
                "searches": [
                    {
                        "name": params.search_name,
                        "query": params.query,
                        "mode": params.mode,
                        "max_results": params.max_results,
                    }
                ],
                "op": {"pool": "sixtyfour", "duckdb_pool": "duckdb"},
            },
        )
