"""mutualaid-truckers: the ``truckers`` cohort, mutual aid for truck drivers (卡友互助).

Modelled on Kayou Didai (卡友地带): drivers contribute a small share per period and a member's
accidental death pays 300,000 CNY. Kayou Didai's own joining rules, disability schedule, caps and
exclusions were not found in public sources, so every rule here is a configurable default (see
:class:`~mutualaid_truckers.settings.TruckersSettings` and the README); the disability table follows
the 10 grades of the industry standard JR/T 0083-2013.

The plugin registers one cohort through the ``register_cohorts`` hook; it is found by the core
through the ``mutualaid`` entry-point group (``truckers = "mutualaid_truckers"``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mutualaid import Cohort, hookimpl

from .catalog import (
    ACCIDENTAL_DEATH,
    ACCIDENTAL_DISABILITY,
    CIRCUMSTANCES,
    EVENT_KINDS,
    ILLNESS_DEATH,
    LICENCE_CLASSES,
)
from .demo import register_commands
from .incidence import incidence_table
from .models import TruckerAttributes, TruckerClaimDetails
from .rules import TruckersRules
from .settings import TruckersSettings

__version__ = "0.1.0"

__all__ = [
    "ACCIDENTAL_DEATH",
    "ACCIDENTAL_DISABILITY",
    "CIRCUMSTANCES",
    "COHORT",
    "EVENT_KINDS",
    "ILLNESS_DEATH",
    "LICENCE_CLASSES",
    "TEMPLATES",
    "TruckerAttributes",
    "TruckerClaimDetails",
    "TruckersRules",
    "TruckersSettings",
    "__version__",
    "incidence_table",
    "register_cohorts",
    "register_commands",
    "register_incidence",
]

#: Notice templates overriding the core's (``<locale>/<kind>.txt.j2``).
TEMPLATES = Path(__file__).parent / "templates"

#: The cohort this plugin registers.
COHORT = Cohort(
    key="truckers",
    title="Truck drivers",
    local_titles={"zh-CN": "卡友互助"},
    description=(
        "Mutual aid for truck drivers, modelled on Kayou Didai (卡友地带): accidental death, accidental "
        "disability by the 10 grades of JR/T 0083-2013 and death from illness after a waiting period, "
        "with a combined cap per member. Defaults are configurable; Kayou Didai's own rules were not public."
    ),
    settings_model=TruckersSettings,
    rules=TruckersRules(),
    event_kinds=EVENT_KINDS,
    member_model=TruckerAttributes,
    claim_model=TruckerClaimDetails,
    templates=TEMPLATES,
)


@hookimpl
def register_cohorts(register: Callable[[Cohort], None]) -> None:
    """Register the ``truckers`` cohort."""
    register(COHORT)


@hookimpl
def register_incidence(register: Callable[[str, Callable[[TruckersSettings], object]], None]) -> None:
    """The ``truckers`` cohort's prior incidence (see :mod:`mutualaid_truckers.incidence`)."""
    register(COHORT.key, incidence_table)
