"""mutualaid: run cohort-specific mutual-aid pools (互助), exactly and in the open.

The public API for operators and cohort-plugin authors. Plugins import from here only.
"""

from __future__ import annotations

from .api import MutualAid
from .benefits import (
    AgeBand,
    AgeBandBenefit,
    Amount,
    BenefitInputs,
    BenefitModel,
    BenefitResult,
    FixedBenefit,
    FixedPlusReimbursementBenefit,
    PositiveAmount,
    Rate,
    ReimbursementBenefit,
    TenureRampBenefit,
    format_amount,
    parse_benefit,
    round_down,
)
from .cohort import (
    Applicant,
    BenefitDecision,
    ClaimFacts,
    Cohort,
    CohortRules,
    EarlierMembership,
    EventKind,
    MemberFacts,
    NoFields,
    PriorBenefit,
    SharingWeights,
    age_on,
    covered_from,
    waiting_until,
)
from .config import CapsConfig, PaymentsConfig, PoolConfig, PoolDefinition, SharingConfig
from .errors import (
    AlreadySharedError,
    ConfigError,
    DatabaseError,
    ImportRowsError,
    IneligibleError,
    MutualAidError,
    NotFoundError,
    PluginError,
    StateError,
    ValidationError,
)
from .hookspecs import hookimpl
from .identity import make_resident_id
from .money import Money, currency_exponent, format_minor, from_minor, to_minor
from .periods import Period
from .plugins import Plugins, load_plugins
from .privacy import mask_id_number, mask_name
from .sharing import Reconciliation, SharingResult

__version__ = "0.1.0"

__all__ = [
    "AgeBand",
    "AgeBandBenefit",
    "AlreadySharedError",
    "Amount",
    "Applicant",
    "BenefitDecision",
    "BenefitInputs",
    "BenefitModel",
    "BenefitResult",
    "CapsConfig",
    "ClaimFacts",
    "Cohort",
    "CohortRules",
    "ConfigError",
    "DatabaseError",
    "EarlierMembership",
    "EventKind",
    "FixedBenefit",
    "FixedPlusReimbursementBenefit",
    "ImportRowsError",
    "IneligibleError",
    "MemberFacts",
    "Money",
    "MutualAid",
    "MutualAidError",
    "NoFields",
    "NotFoundError",
    "PaymentsConfig",
    "Period",
    "PluginError",
    "Plugins",
    "PoolConfig",
    "PoolDefinition",
    "PositiveAmount",
    "PriorBenefit",
    "Rate",
    "Reconciliation",
    "ReimbursementBenefit",
    "SharingConfig",
    "SharingResult",
    "SharingWeights",
    "StateError",
    "TenureRampBenefit",
    "ValidationError",
    "__version__",
    "age_on",
    "covered_from",
    "currency_exponent",
    "format_amount",
    "format_minor",
    "from_minor",
    "hookimpl",
    "load_plugins",
    "make_resident_id",
    "mask_id_number",
    "mask_name",
    "parse_benefit",
    "round_down",
    "to_minor",
    "waiting_until",
]
