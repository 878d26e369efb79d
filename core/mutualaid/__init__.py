"""mutualaid: run cohort-specific mutual-aid pools (互助), exactly and in the open.

The public API for operators and cohort-plugin authors. Plugins import from here only.

Names are loaded when first used (PEP 562), so a plugin that needs only :class:`Cohort`,
:class:`CohortRules` and :data:`hookimpl` never loads the database layer (SQLAlchemy) or the
notice templates (Jinja2): ``import mutualaid`` costs the modules it uses, no more.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

__version__ = "0.1.0"

#: Where each public name lives.
_WHERE: dict[str, str] = {
    # the application and its plugins
    "MutualAid": "api",
    "Plugins": "plugins",
    "load_plugins": "plugins",
    "hookimpl": "hookspecs",
    # cohorts and their rules
    "Applicant": "cohort",
    "BenefitDecision": "cohort",
    "ClaimFacts": "cohort",
    "Cohort": "cohort",
    "CohortRules": "cohort",
    "EarlierMembership": "cohort",
    "EventKind": "cohort",
    "MemberFacts": "cohort",
    "NoFields": "cohort",
    "PriorBenefit": "cohort",
    "SharingWeights": "cohort",
    "age_on": "cohort",
    "covered_from": "cohort",
    "waiting_until": "cohort",
    # benefit models
    "AgeBand": "benefits",
    "AgeBandBenefit": "benefits",
    "Amount": "benefits",
    "BenefitInputs": "benefits",
    "BenefitModel": "benefits",
    "BenefitResult": "benefits",
    "FixedBenefit": "benefits",
    "FixedPlusReimbursementBenefit": "benefits",
    "PositiveAmount": "benefits",
    "Rate": "benefits",
    "ReimbursementBenefit": "benefits",
    "TenureRampBenefit": "benefits",
    "format_amount": "benefits",
    "parse_benefit": "benefits",
    # prior incidence, which a cohort supplies through the register_incidence hook
    "EventIncidence": "health.incidence",
    "IncidenceBand": "health.incidence",
    "IncidenceTable": "health.incidence",
    # configuration
    "CapsConfig": "config",
    "PaymentsConfig": "config",
    "PoolConfig": "config",
    "PoolDefinition": "config",
    "SharingConfig": "config",
    # money: every rounding rule
    "Money": "money",
    "apportion": "money",
    "currency_exponent": "money",
    "format_minor": "money",
    "from_minor": "money",
    "multiply_down": "money",
    "round_down": "money",
    "round_half_up": "money",
    "round_up": "money",
    "to_minor": "money",
    # the vocabulary
    "ClaimStatus": "vocabulary",
    "MemberChange": "vocabulary",
    "MemberState": "vocabulary",
    "MemberStatus": "vocabulary",
    "NoticeKind": "vocabulary",
    # periods, identity, privacy
    "Period": "periods",
    "make_resident_id": "identity",
    "mask_id_number": "privacy",
    "mask_name": "privacy",
    # results of sharing runs
    "Reconciliation": "sharing.result",
    "SharingResult": "sharing.result",
    # errors
    "AlreadySharedError": "errors",
    "ConfigError": "errors",
    "DatabaseError": "errors",
    "ImportRowsError": "errors",
    "IneligibleError": "errors",
    "MailServerError": "errors",
    "MutualAidError": "errors",
    "NotFoundError": "errors",
    "PluginError": "errors",
    "StateError": "errors",
    "ValidationError": "errors",
}

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
    "ClaimStatus",
    "Cohort",
    "CohortRules",
    "ConfigError",
    "DatabaseError",
    "EarlierMembership",
    "EventIncidence",
    "EventKind",
    "FixedBenefit",
    "FixedPlusReimbursementBenefit",
    "ImportRowsError",
    "IncidenceBand",
    "IncidenceTable",
    "IneligibleError",
    "MailServerError",
    "MemberChange",
    "MemberFacts",
    "MemberState",
    "MemberStatus",
    "Money",
    "MutualAid",
    "MutualAidError",
    "NoFields",
    "NotFoundError",
    "NoticeKind",
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
    "apportion",
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
    "multiply_down",
    "parse_benefit",
    "round_down",
    "round_half_up",
    "round_up",
    "to_minor",
    "waiting_until",
]


def __getattr__(name: str) -> _typing.Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mutualaid' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups are plain attribute access
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


if _typing.TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly
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
    from .health.incidence import EventIncidence, IncidenceBand, IncidenceTable
    from .hookspecs import hookimpl
    from .identity import make_resident_id
    from .money import (
        Money,
        apportion,
        currency_exponent,
        format_minor,
        from_minor,
        multiply_down,
        round_down,
        round_half_up,
        round_up,
        to_minor,
    )
    from .periods import Period
    from .plugins import Plugins, load_plugins
    from .privacy import mask_id_number, mask_name
    from .sharing.result import Reconciliation, SharingResult
    from .vocabulary import ClaimStatus, MemberChange, MemberState, MemberStatus, NoticeKind
