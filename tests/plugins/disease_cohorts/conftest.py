"""Local fixtures for the disease cohorts: builders of the applicants and claims the core hands to
the rules (no database), and of pool files and members for the end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mutualaid import Applicant, ClaimFacts, EarlierMembership, MemberFacts, PriorBenefit, waiting_until
from mutualaid.testing import resident_id
from mutualaid_disease_cohorts import (
    CANCER_PATIENTS,
    CRITICAL_ILLNESS,
    DISEASE_SOCIETY,
    CriticalIllnessClaim,
    HealthyMemberAttributes,
    PatientClaim,
    PatientMemberAttributes,
)

PLUGIN_DIR = Path(__file__).resolve().parents[3] / "plugins" / "disease_cohorts"
EXAMPLES = PLUGIN_DIR / "examples"

#: The joining day of the members the unit tests build.
JOINED = date(2026, 1, 10)
#: Born 1990-06-01: 35 on the joining day.
BORN = date(1990, 6, 1)


@pytest.fixture
def examples() -> Path:
    """The plugin's example pool files."""
    return EXAMPLES


@pytest.fixture
def critical():
    return CRITICAL_ILLNESS


@pytest.fixture
def cancer():
    return CANCER_PATIENTS


@pytest.fixture
def society():
    return DISEASE_SOCIETY


def healthy(**values: Any) -> HealthyMemberAttributes:
    data: dict[str, Any] = {"declared_yes": [], "declaration_confirmed": True}
    data.update(values)
    return HealthyMemberAttributes.model_validate(data)


def patient(**values: Any) -> PatientMemberAttributes:
    data: dict[str, Any] = {
        "diagnosis_code": "C50.9",
        "diagnosed_on": "2024-05-01",
        "declared_yes": [],
        "declaration_confirmed": True,
    }
    data.update(values)
    return PatientMemberAttributes.model_validate(data)


@pytest.fixture
def make_healthy() -> Callable[..., HealthyMemberAttributes]:
    return healthy


@pytest.fixture
def make_patient() -> Callable[..., PatientMemberAttributes]:
    return patient


@pytest.fixture
def make_applicant() -> Callable[..., Applicant]:
    def make(attributes: BaseModel, *, birth_date: date = BORN, joined_on: date = JOINED) -> Applicant:
        return Applicant(
            id_number=resident_id(birth_date, 7),
            name="李明",
            birth_date=birth_date,
            joined_on=joined_on,
            attributes=attributes,
        )

    return make


@pytest.fixture
def make_claim() -> Callable[..., ClaimFacts]:
    """A claim of a member who joined on JOINED; ``details`` a claim model or a mapping for ``kind``."""

    def make(
        kind: str,
        event_date: date,
        details: BaseModel | dict[str, Any],
        *,
        attributes: BaseModel | None = None,
        waiting_days: int = 90,
        joined_on: date = JOINED,
        birth_date: date = BORN,
        filed_on: date | None = None,
        prior: tuple[Decimal, ...] = (),
        frozen: tuple[tuple[date, date | None], ...] = (),
        earlier: tuple[EarlierMembership, ...] = (),
    ) -> ClaimFacts:
        if isinstance(details, dict):
            model = CriticalIllnessClaim if kind == "critical_illness" else PatientClaim
            details = model.model_validate(details)
        if attributes is None:
            attributes = healthy() if kind == "critical_illness" else patient()
        member = MemberFacts(
            member_id=7,
            id_number=resident_id(birth_date, 7),
            name="李明",
            birth_date=birth_date,
            joined_on=joined_on,
            waiting_until=waiting_until(joined_on, waiting_days),
            status="active",
            attributes=attributes,
            frozen_spans=frozen,
            earlier_memberships=earlier,
        )
        return ClaimFacts(
            claim_id=42,
            event_kind=kind,
            event_date=event_date,
            filed_on=filed_on or event_date + timedelta(days=10),
            details=details,
            description="",
            member=member,
            prior_benefits=tuple(
                PriorBenefit(claim_id=i + 1, event_kind=kind, event_date=joined_on + timedelta(days=200), amount=a)
                for i, a in enumerate(prior)
            ),
            currency="CNY",
        )

    return make


@pytest.fixture
def pool_file(tmp_path: Path) -> Callable[..., Path]:
    """Write an example pool file with some lines replaced: ``pool_file("liver-patients", {old: new})``."""

    def write(example: str, replace: dict[str, str] | None = None, name: str | None = None) -> Path:
        text = (EXAMPLES / f"{example}.toml").read_text(encoding="utf-8")
        for old, new in (replace or {}).items():
            if old not in text:
                raise AssertionError(f"{old!r} is not in {example}.toml")
            text = text.replace(old, new)
        path = tmp_path / (name or f"{example}.toml")
        path.write_text(text, encoding="utf-8")
        return path

    return write
