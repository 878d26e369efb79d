"""Deciding a claim: the facts the core knows, handed to the pool's own cohort, and its answer
checked (a :class:`~mutualaid.BenefitDecision`, exact in the pool's currency)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

from sqlalchemy import CompoundSelect, func, select, union_all
from sqlalchemy.orm import Session

from ..cohort import BenefitDecision, ClaimFacts, EarlierMembership, MemberFacts, PriorBenefit
from ..db.models import Charge, Claim, Member, Payment, SharingRun
from ..db.runs import live_run
from ..errors import NotFoundError, PluginError
from ..fields import validate_fields
from ..members.history import frozen_spans
from ..members.lifecycle import has_ended, is_live
from ..money import format_minor, from_minor, to_minor
from ..pools import PoolRecord
from ..vocabulary import ClaimStatus, PaymentModel, PaymentResult

__all__ = ["PAID_STATUSES", "contributions", "decide", "earlier_memberships"]

#: Claim statuses whose benefit was granted (approved, or approved and already shared).
PAID_STATUSES = (ClaimStatus.APPROVED, ClaimStatus.SHARED)


def _core_denials(member: Member, claim: Claim) -> list[str]:
    reasons = []
    if member.ended_on is not None and claim.event_date > member.ended_on:
        reasons.append(
            f"the event on {claim.event_date.isoformat()} is after the membership ended on {member.ended_on.isoformat()}"
        )
    return reasons


def earlier_memberships(member: Member) -> CompoundSelect[int, date, date | None, str]:
    """The person's other memberships of the pool (found by their ID number's hash).

    Two probes of a person's few rows, one in each partial index of the hashes: the live
    memberships (``uq_members_live_person``) and the ended ones (``ix_members_ended_person``), each
    condition repeated word for word so the planner can use its index. Only equalities, no order: a
    range on ``joined_on`` or an ``ORDER BY joined_on`` would let SQLite walk the sharing index
    (``pool_id, joined_on, ...``) over every member of the pool instead, so the caller keeps the
    earlier ones and orders them."""
    person = (Member.pool_id == member.pool_id, Member.id_hash == member.id_hash, Member.id != member.id)
    columns = (Member.id, Member.joined_on, Member.ended_on, Member.status)
    return union_all(select(*columns).where(*person, is_live()), select(*columns).where(*person, has_ended()))


def _member_facts(session: Session, member: Member, row: Claim, pool: PoolRecord) -> MemberFacts:
    """The member as the rules see them: on the attributes recorded when the claim was filed (a
    later update cannot change the outcome of an earlier event), frozen spans, earlier memberships."""
    cohort = pool.cohort
    recorded = json.loads(row.member_attributes_json)
    attributes, _ = validate_fields(cohort.member_model, recorded)
    if attributes is None:
        attributes = cohort.member_model.model_construct(**recorded)
    earlier = tuple(
        EarlierMembership(m.id, m.joined_on, m.ended_on, m.status)
        for m in sorted(
            (m for m in session.execute(earlier_memberships(member)) if m.joined_on <= member.joined_on),
            key=lambda m: (m.joined_on, m.id),
        )
    )
    return MemberFacts(
        member_id=member.id,
        id_number=member.id_masked,
        name=member.name,
        birth_date=member.birth_date,
        joined_on=member.joined_on,
        waiting_until=member.waiting_until,
        status=member.status,
        attributes=attributes,
        frozen_spans=frozen_spans(session, member.id),
        earlier_memberships=earlier,
    )


def decide(session: Session, row: Claim, pool: PoolRecord) -> BenefitDecision:
    """What the pool's cohort decides for the claim now (nothing is changed).

    :raises PluginError: when the cohort answers with something that is not a decision, or with
        an amount that is not exact in the pool's currency.
    """
    cohort = pool.cohort
    member = session.get(Member, row.member_id)
    if member is None:  # pragma: no cover - prevented by the foreign key
        raise NotFoundError(f"claim #{row.id} names member #{row.member_id}, who does not exist")
    denials = _core_denials(member, row)
    if denials:
        return BenefitDecision.deny(denials)
    prior = tuple(
        PriorBenefit(p.id, p.event_kind, p.event_date, from_minor(p.benefit_minor or 0, pool.currency))
        for p in session.scalars(
            select(Claim)
            .where(Claim.member_id == row.member_id, Claim.status.in_(PAID_STATUSES), Claim.id != row.id)
            .order_by(Claim.event_date, Claim.id)
        )
    )
    details, problems = validate_fields(cohort.claim_model, json.loads(row.details_json))
    if details is None:
        return BenefitDecision.deny([f"the claim's stored details are no longer valid: {'; '.join(problems)}"])
    facts = ClaimFacts(
        claim_id=row.id,
        event_kind=row.event_kind,
        event_date=row.event_date,
        filed_on=row.filed_on,
        details=details,
        description=row.description,
        member=_member_facts(session, member, row, pool),
        prior_benefits=prior,
        currency=pool.currency,
    )
    decision = cohort.rules.decide_benefit(facts, pool.settings)
    if not isinstance(decision, BenefitDecision):
        raise PluginError(
            f"cohort {cohort.key!r} returned {decision!r} instead of a BenefitDecision for claim #{row.id}"
        )
    try:
        to_minor(decision.amount, pool.currency)
        to_minor(decision.cap, pool.currency)
    except ValueError as exc:
        raise PluginError(f"cohort {cohort.key!r} decided claim #{row.id} with an inexact amount: {exc}") from None
    return _within_request(decision, row, pool)


def _within_request(decision: BenefitDecision, row: Claim, pool: PoolRecord) -> BenefitDecision:
    """A claim amended to ask for less (``claim amend --benefit``) is paid at most what it asks."""
    requested = row.requested_minor
    if requested is None or not decision.payable or to_minor(decision.amount, pool.currency) <= requested:
        return decision
    asked = from_minor(requested, pool.currency)
    reason = f"the claim asks for {format_minor(requested, pool.currency)} {pool.currency} (amended)"
    return replace(decision, amount=asked, reasons=(*decision.reasons, reason))


def contributions(session: Session, pool_id: int, member_id: int) -> int:
    """What a member actually paid into a pool, in minor units: the contributions a denial that
    refunds them gives back (one query).

    A charge counts once it was received: in a prepaid run every charge (it was deducted from the
    member's balance at the run); in a postpaid run a share reported ``paid`` (a ``payments`` row
    with result ``paid`` for the run and the member -- a share paid after failed attempts counts
    once). A share never reported paid, or written off when its retry window was settled (a lapse),
    was not received and is not refunded; nor is the charge of a voided run (given back, or never due).
    """
    paid = (
        select(Payment.id)
        .where(
            Payment.run_id == Charge.run_id,
            Payment.member_id == Charge.member_id,
            Payment.result == PaymentResult.PAID.value,
        )
        .exists()
    )
    total = session.scalar(
        select(func.coalesce(func.sum(Charge.amount_minor), 0))
        .select_from(Charge)
        .join(SharingRun, SharingRun.id == Charge.run_id)
        .where(
            SharingRun.pool_id == pool_id,
            Charge.member_id == member_id,
            live_run(SharingRun.id),
            (SharingRun.payment_model == PaymentModel.PREPAID.value) | paid,
        )
    )
    return int(total or 0)
