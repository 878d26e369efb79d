"""Claims decided in public (``[claims] governance = "public"``): a claim's public life.

Each step is taken by someone (``by``, recorded in the claim's history) and moves the claim
through :mod:`mutualaid.claims.machine`::

    investigate   filed -> under-review (who reviews it: ``reviewed_by``)     } in :mod:`.investigation`
    note, cost    the investigation file and what it cost (posted to the ledger, out of the fee)  }
    propose       under-review -> proposed (the cohort's decision to pay, or a rejection and why)
    withdraw      proposed -> under-review
    publish       proposed -> in-notice (for ``[claims] notice_window_days``)
    object        in-notice -> objected (a live member other than the claimant, in the window)
    dispute       rejected -> objected (the claimant, within the window after the rejection)
    reinvestigate objected -> under-review (``objections = "review"``; else ``jury draw``)
    decide        in-notice -> approved or rejected as proposed, once the window closed

This module is the only writer of ``claim_objections`` rows (a jury resolves them through
:func:`resolve_objections`); :mod:`.investigation` of a claim's investigation file and its costs. Services take a
session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from ..db.models import Claim, ClaimCost, ClaimNote, ClaimObjection
from ..errors import StateError, ValidationError
from ..fields import parse_date
from ..members.service import get_member
from ..money import format_minor, from_minor, to_minor
from ..plugins import Plugins
from ..pools import PoolRecord, pool_today
from ..vocabulary import (
    LIVE_STATUSES,
    ClaimStatus,
    Governance,
    ObjectionKind,
    ObjectionRoute,
    ObjectionStatus,
)
from . import machine
from .deciding import decide
from .records import (
    ClaimDetail,
    ClaimRecord,
    Objection,
    cost_of,
    note_of,
    objection_of,
    record_of,
    utc,
)
from .service import _load, approve_claim, reject_claim

__all__ = [
    "decide_claim",
    "dispute_claim",
    "object_to_claim",
    "propose_claim",
    "publish_claim",
    "reinvestigate_claim",
    "resolve_objections",
    "show_claim",
    "withdraw_proposal",
]

#: The statuses whose investigation file is still open (notes and costs can be added).
OPEN_FILE = tuple(s for s in ClaimStatus if s not in (ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.SHARED))
ACTOR_LENGTH = 100


# -- what every step checks -----------------------------------------------------------------------


def _actor(by: str | None) -> str:
    """Who takes a step: a name of 1 to 100 characters."""
    name = (by or "").strip()
    if not name:
        raise ValidationError(["--by: name who takes this step (it is recorded in the claim's history)"])
    if len(name) > ACTOR_LENGTH:
        raise ValidationError([f"--by: a name of at most {ACTOR_LENGTH} characters ({len(name)} given)"])
    return name


def _text(value: str | None, what: str, why: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError([f"{what}: {why}"])
    return text


def _public(session: Session, plugins: Plugins, claim_id: int) -> tuple[Claim, PoolRecord]:
    """The claim (locked) and its pool, which must decide its claims in public."""
    row, pool = _load(session, plugins, claim_id, lock=True)
    if pool.config.claims.governance != Governance.PUBLIC:
        raise StateError(
            f"pool {pool.key!r} decides its claims directly: the operator approves or rejects claim #{row.id} "
            "('mutualaid claim approve' or 'reject'); a pool with [claims] governance = \"public\" investigates, "
            "publishes and decides them in public"
        )
    return row, pool


def _day(on: str | date | None, today: date, what: str) -> date:
    """The day a step is taken (``--on``, default today in the pool): not in the future."""
    if on is None:
        return today
    try:
        day = parse_date(on, f"--on ({what})")
    except ValueError as exc:
        raise ValidationError([str(exc)]) from None
    if day > today:
        raise ValidationError(
            [f"--on: {day.isoformat()} is in the future (today is {today.isoformat()} in the pool's time zone)"]
        )
    return day


def _file_open(row: Claim, what: str) -> None:
    if ClaimStatus(row.status) not in OPEN_FILE:
        raise StateError(
            f"claim #{row.id} is already {row.status}; {what} can be added to a claim until it is decided "
            f"({', '.join(s.value for s in OPEN_FILE)})"
        )


def resolve_objections(session: Session, claim: Claim, resolution: str) -> int:
    """Mark the claim's open objections (and disputes) resolved with ``resolution``; returns how
    many it resolved."""
    # The values are given as a mapping: an objection's "status" is not a claim's (which only the
    # machine writes), though the two columns share a name.
    changed = {"status": ObjectionStatus.RESOLVED.value, "resolution": resolution}
    result = session.execute(
        update(ClaimObjection)
        .where(ClaimObjection.claim_id == claim.id, ClaimObjection.status == ObjectionStatus.OPEN.value)
        .values(changed)
        .execution_options(synchronize_session="fetch")
    )
    return int(cast("CursorResult[Any]", result).rowcount)


# -- the proposal and its public notice ----------------------------------------------------------------


def propose_claim(
    session: Session,
    plugins: Plugins,
    claim_id: int,
    *,
    approve: bool,
    reason: str | None = None,
    by: str,
) -> ClaimRecord:
    """Propose a decision for a claim under review (under-review -> proposed): to pay what the
    cohort decides (refused if it is not payable, listing its reasons), or to reject it with a
    reason the members read."""
    actor = _actor(by)
    text = (reason or "").strip()
    if not approve and not text:
        raise ValidationError(["--reason: a proposed rejection needs a reason the members can read"])
    row, pool = _public(session, plugins, claim_id)
    machine.require(row, ClaimStatus.PROPOSED, (ClaimStatus.UNDER_REVIEW,))
    proposal: dict[str, Any]
    if approve:
        decision = decide(session, row, pool)
        if not decision.payable:
            raise StateError(f"claim #{row.id} cannot be proposed for payment: {'; '.join(decision.reasons)}")
        benefit = to_minor(decision.amount, pool.currency)
        proposal = {
            "decision": "approve",
            "benefit_minor": benefit,
            "cap_minor": to_minor(decision.cap, pool.currency),
            "reasons": list(decision.reasons),
            "by": actor,
        }
        if text:
            proposal["reason"] = text
        cause = f"proposed to pay {format_minor(benefit, pool.currency)} {pool.currency}: " + "; ".join(
            decision.reasons
        )
    else:
        proposal = {"decision": "reject", "reason": text, "by": actor}
        cause = f"proposed to reject: {text}"
    machine.move(session, row, ClaimStatus.PROPOSED, cause=cause, actor=actor, sources=(ClaimStatus.UNDER_REVIEW,))
    row.proposal_json = json.dumps(proposal, ensure_ascii=False)
    session.flush()
    return record_of(row, pool)


def withdraw_proposal(session: Session, plugins: Plugins, claim_id: int, *, by: str) -> ClaimRecord:
    """Take a proposal back before it is published (proposed -> under-review)."""
    actor = _actor(by)
    row, pool = _public(session, plugins, claim_id)
    machine.move(
        session, row, ClaimStatus.UNDER_REVIEW, cause="proposal withdrawn", actor=actor, sources=(ClaimStatus.PROPOSED,)
    )
    row.proposal_json = None
    session.flush()
    return record_of(row, pool)


def publish_claim(session: Session, plugins: Plugins, claim_id: int, *, by: str) -> ClaimRecord:
    """Put a proposed decision in public notice (proposed -> in-notice) until the pool's today
    plus ``[claims] notice_window_days``."""
    actor = _actor(by)
    row, pool = _public(session, plugins, claim_id)
    closes = pool_today(pool.definition) + timedelta(days=pool.config.claims.notice_window_days)
    machine.move(
        session,
        row,
        ClaimStatus.IN_NOTICE,
        cause=f"published: objections until {closes.isoformat()}",
        actor=actor,
        sources=(ClaimStatus.PROPOSED,),
    )
    row.notice_closes_on = closes
    session.flush()
    return record_of(row, pool)


# -- objections and disputes ------------------------------------------------------------------------


def _record_objection(
    session: Session, row: Claim, member_id: int, kind: ObjectionKind, reason: str, day: date
) -> Objection:
    objection = ClaimObjection(
        claim_id=row.id,
        member_id=member_id,
        kind=kind.value,
        reason=reason,
        filed_on=day,
        status=ObjectionStatus.OPEN.value,
    )
    session.add(objection)
    session.flush()
    return objection_of(objection)


def object_to_claim(
    session: Session,
    plugins: Plugins,
    claim_id: int,
    *,
    member: int | str,
    reason: str,
    on: str | date | None = None,
) -> Objection:
    """A member objects to a claim's proposed decision in public notice (in-notice -> objected;
    a further objection to an objected claim is recorded too). The member must be live and not
    the claimant, and object on or before the day the notice window closes."""
    text = _text(reason, "--reason", "an objection needs a reason")
    row, pool = _public(session, plugins, claim_id)
    status = ClaimStatus(row.status)
    if status != ClaimStatus.OBJECTED or row.notice_closes_on is None:
        machine.require(row, ClaimStatus.OBJECTED, (ClaimStatus.IN_NOTICE,))
    day = _day(on, pool_today(pool.definition), "the day of the objection")
    closes = cast(date, row.notice_closes_on)
    if day > closes:
        raise StateError(
            f"claim #{row.id}'s notice window closed on {closes.isoformat()}; an objection had to be made by then"
        )
    objector = get_member(session, pool, member)
    if objector.id == row.member_id:
        raise StateError(
            f"member #{objector.id} is the claimant of claim #{row.id} and cannot object to it; a claimant "
            "disputes a rejection ('mutualaid claim dispute')"
        )
    if objector.status not in LIVE_STATUSES:
        raise StateError(
            f"member #{objector.id} is {objector.status}; only a live member of pool {pool.key!r} can object "
            f"to claim #{row.id}"
        )
    earlier = session.scalar(
        select(ClaimObjection).where(
            ClaimObjection.claim_id == row.id,
            ClaimObjection.member_id == objector.id,
            ClaimObjection.status == ObjectionStatus.OPEN.value,
        )
    )
    if earlier is not None:
        raise StateError(
            f"member #{objector.id} already objected to claim #{row.id} (objection #{earlier.id} of "
            f"{earlier.filed_on.isoformat()}, still open); a member objects once to each notice of a claim"
        )
    recorded = _record_objection(session, row, objector.id, ObjectionKind.OBJECTION, text, day)
    if status == ClaimStatus.IN_NOTICE:
        machine.move(
            session,
            row,
            ClaimStatus.OBJECTED,
            cause=f"objected to by member #{objector.id}: {text}",
            actor=f"member #{objector.id}",
            sources=(ClaimStatus.IN_NOTICE,),
        )
    return recorded


def dispute_claim(
    session: Session, plugins: Plugins, claim_id: int, *, reason: str, on: str | date | None = None
) -> Objection:
    """The claimant disputes a rejection (rejected -> objected), within ``[claims]
    notice_window_days`` of the day it was rejected."""
    text = _text(reason, "--reason", "a dispute needs a reason")
    row, pool = _public(session, plugins, claim_id)
    machine.require(row, ClaimStatus.OBJECTED, (ClaimStatus.REJECTED,))
    day = _day(on, pool_today(pool.definition), "the day of the dispute")
    decided = utc(row.decided_at)
    rejected_on = decided.astimezone(pool.definition.config.tz).date() if decided is not None else row.filed_on
    last = rejected_on + timedelta(days=pool.config.claims.notice_window_days)
    if day > last:
        raise StateError(
            f"claim #{row.id} was rejected on {rejected_on.isoformat()}; a dispute had to be made within "
            f"{pool.config.claims.notice_window_days} days, by {last.isoformat()}"
        )
    recorded = _record_objection(session, row, row.member_id, ObjectionKind.DISPUTE, text, day)
    machine.move(
        session,
        row,
        ClaimStatus.OBJECTED,
        cause=f"rejection disputed by the claimant: {text}",
        actor=f"member #{row.member_id}",
        sources=(ClaimStatus.REJECTED,),
    )
    return recorded


def reinvestigate_claim(session: Session, plugins: Plugins, claim_id: int, *, by: str) -> ClaimRecord:
    """Send an objected claim back to review (objected -> under-review), resolving its open
    objections: only in a pool whose ``[claims] objections = "review"`` (else a jury decides)."""
    actor = _actor(by)
    row, pool = _public(session, plugins, claim_id)
    machine.require(row, ClaimStatus.UNDER_REVIEW, (ClaimStatus.OBJECTED,))
    if pool.config.claims.objections == ObjectionRoute.JURY:
        raise StateError(
            f"pool {pool.key!r} sends objections to a member jury: claim #{row.id} is decided by one "
            f"('mutualaid jury draw {row.id}'), not reviewed again"
        )
    resolved = resolve_objections(session, row, f"sent back to review by {actor}")
    machine.move(
        session,
        row,
        ClaimStatus.UNDER_REVIEW,
        cause=f"sent back to review ({resolved} objection{'s' if resolved != 1 else ''} resolved)",
        actor=actor,
        sources=(ClaimStatus.OBJECTED,),
    )
    row.proposal_json = None
    row.notice_closes_on = None
    session.flush()
    return record_of(row, pool)


# -- the decision after the notice -----------------------------------------------------------------


def _decidable(session: Session, row: Claim, pool: PoolRecord, actor: str, day: date) -> dict[str, Any]:
    """The proposal of a claim that may be decided now, by ``actor``."""
    proposal: dict[str, Any] = json.loads(row.proposal_json or "{}")
    target = ClaimStatus.REJECTED if proposal.get("decision") == "reject" else ClaimStatus.APPROVED
    machine.require(row, target, (ClaimStatus.IN_NOTICE,))
    closes = cast(date, row.notice_closes_on)
    if day <= closes:
        raise StateError(
            f"claim #{row.id}'s notice window closes on {closes.isoformat()}; it can be decided from "
            f"{(closes + timedelta(days=1)).isoformat()}"
        )
    still_open = session.scalar(
        select(func.count()).where(ClaimObjection.claim_id == row.id, ClaimObjection.status == ObjectionStatus.OPEN)
    )
    if still_open:
        raise StateError(f"claim #{row.id} has {still_open} open objection(s); they are resolved before it is decided")
    if pool.config.claims.four_eyes and actor in (row.filed_by, row.reviewed_by):
        raise StateError(
            f"pool {pool.key!r} decides with four eyes: claim #{row.id} was filed by {row.filed_by or 'no one named'} "
            f"and reviewed by {row.reviewed_by or 'no one named'}; someone else decides it"
        )
    return proposal


def decide_claim(
    session: Session, plugins: Plugins, claim_id: int, *, by: str, on: str | date | None = None
) -> ClaimRecord:
    """Decide a claim as proposed once its notice window closed with no open objection
    (in-notice -> approved or rejected), through :func:`~mutualaid.claims.service.approve_claim` or
    :func:`~mutualaid.claims.service.reject_claim`."""
    actor = _actor(by)
    row, pool = _public(session, plugins, claim_id)
    day = _day(on, pool_today(pool.definition), "the day of the decision")
    proposal = _decidable(session, row, pool, actor, day)
    sources = (ClaimStatus.IN_NOTICE,)
    cause = "decided after public notice"
    if proposal.get("decision") == "reject":
        return reject_claim(
            session, plugins, row.id, str(proposal["reason"]), actor=actor, sources=sources, cause=cause
        ).claim
    record, _ = approve_claim(session, plugins, row.id, actor=actor, sources=sources, cause=cause)
    return record


# -- reading a claim back ----------------------------------------------------------------------------


def show_claim(session: Session, plugins: Plugins, claim_id: int) -> ClaimDetail:
    """A claim with who filed and reviewed it, its proposal, its notice window, its objections,
    its investigation file and what investigating it cost."""
    row, pool = _load(session, plugins, claim_id)
    notes = tuple(
        note_of(n)
        for n in session.scalars(select(ClaimNote).where(ClaimNote.claim_id == row.id).order_by(ClaimNote.id))
    )
    costs = tuple(
        cost_of(c, pool.currency)
        for c in session.scalars(select(ClaimCost).where(ClaimCost.claim_id == row.id).order_by(ClaimCost.id))
    )
    objections = tuple(
        objection_of(o)
        for o in session.scalars(
            select(ClaimObjection).where(ClaimObjection.claim_id == row.id).order_by(ClaimObjection.id)
        )
    )
    return ClaimDetail(
        claim=record_of(row, pool),
        filed_by=row.filed_by,
        reviewed_by=row.reviewed_by,
        proposal=json.loads(row.proposal_json) if row.proposal_json else None,
        notice_closes_on=row.notice_closes_on,
        open_objections=sum(1 for o in objections if o.status == ObjectionStatus.OPEN),
        investigation_costs=sum((c.amount for c in costs), from_minor(0, pool.currency)),
        notes=notes,
        costs=costs,
        objections=objections,
    )
