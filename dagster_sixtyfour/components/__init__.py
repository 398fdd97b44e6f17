"""Dagster Components of dagster-sixtyfour (registered for ``dg list components``)."""

from dagster_sixtyfour.components.scaffolder import SixtyfourScaffoldParams as SixtyfourScaffoldParams
from dagster_sixtyfour.components.scaffolder import (
    SixtyfourSearchComponentScaffolder as SixtyfourSearchComponentScaffolder,
)
from dagster_sixtyfour.components.search_component import SixtyfourSearchComponent as SixtyfourSearchComponent
