"""Local fixtures for the truckers cohort's unit tests: settings, rules, and builders of the facts
the core hands to the rules (applicants and claims). No database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from mutualaid import Applicant, ClaimFacts, MemberFacts, PriorBenefit, waiting_until
from mutualaid_truckers import TruckerAttributes, TruckerClaimDetails, TruckersRules, TruckersSettings

JOINED = date(2026, 11, 2)


@pytest.fixture
def settings() -> TruckersSettings:
    return TruckersSettings()


@pytest.fixture
def rules() -> TruckersRules:
    return TruckersRules()


def attributes(**overrides: Any) -> TruckerAttributes:
    values: dict[str, Any] = {
        "licence_class": "B2",
        "licence_number": "320102198001011234",
        "licence_expires": "2030-06-30",
        "driving_proof": "waybill SF1234567890",
    }
    values.update(overrides)
    return TruckerAttributes.model_validate(values)


@pytest.fixture
def make_applicant() -> Callable[..., Applicant]:
    def make(*, birth_date: date = date(1980, 1, 1), joined_on: date = JOINED, **attrs: Any) -> Applicant:
        return Applicant(
            id_number="320102198001011234",
            name="张三",
            birth_date=birth_date,
            joined_on=joined_on,
            attributes=attributes(**attrs),
        )

    return make


@pytest.fixture
def make_claim(settings: TruckersSettings) -> Callable[..., ClaimFacts]:
    def make(
        kind: str,
        event_date: date,
        *,
        grade: int | None = None,
        circumstances: list[str] | None = None,
        prior: tuple[Decimal, ...] = (),
        joined_on: date = JOINED,
        waiting_days: int | None = None,
        details: Any = None,
        member_attributes: Any = None,
    ) -> ClaimFacts:
        days = settings.illness_waiting_days if waiting_days is None else waiting_days
        if details is None:
            details = TruckerClaimDetails(disability_grade=grade, circumstances=circumstances or [])
        member = MemberFacts(
            member_id=7,
            id_number="320102198001011234",
            name="张三",
            birth_date=date(1980, 1, 1),
            joined_on=joined_on,
            waiting_until=waiting_until(joined_on, days),
            status="active",
            attributes=member_attributes if member_attributes is not None else attributes(),
        )
        return ClaimFacts(
            claim_id=42,
            event_kind=kind,
            event_date=event_date,
            filed_on=event_date,
            details=details,
            description="",
            member=member,
            prior_benefits=tuple(
                PriorBenefit(claim_id=i + 1, event_kind="accidental_disability", event_date=joined_on, amount=amount)
                for i, amount in enumerate(prior)
            ),
            currency="CNY",
        )

    return make
