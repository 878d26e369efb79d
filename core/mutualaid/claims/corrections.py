"""Correcting a claim before it is shared: amend it (its event, kind, details, description, or the
most it asks for) or withdraw it. Nothing recorded is rewritten: each amendment is a row of
``claim_amendments`` (who, when, why, every field's old and new value), each status it causes a row
of the claim's history.

* **Amend.** The amended claim is checked by every rule a filing checks
  (:func:`~.service.kind_problems`, :func:`~.service.event_problems`, the cohort's claim model) and,
  with ``benefit``, against the cohort's cap for it (it is paid at most what it asks:
  :mod:`.deciding`). A claim already decided or in the public process goes back to be decided
  again: in a direct pool an approved claim is ``filed`` again; in a public pool a proposed,
  published, objected or approved claim is ``under-review`` again (its proposal and notice window
  dropped, open objections resolved), so it is proposed and goes through its notice window again.
* **Withdraw.** The claim becomes ``withdrawn``, for good. Investigation costs already posted stay
  (they were spent); open objections are resolved.

Neither touches a shared claim (its run is voided first: :mod:`mutualaid.sharing.void`), a rejected
one (a rejection stands: it is disputed, or a new claim filed) or one before a jury. Status changes
go through :mod:`.machine`. Services take a session and never commit: the caller owns the
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Claim, ClaimAmendment, SharingRun
from ..errors import NotFoundError, StateError, ValidationError
from ..fields import is_record_number, parse_date, validate_fields
from ..members.service import get_member
from ..money import format_minor, to_minor
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool
from ..vocabulary import ClaimStatus, Governance
from . import machine
from .deciding import decide
from .governance import resolve_objections
from .records import Amendment, ClaimRecord, amendment_of, record_of
from .service import _load, event_problems, kind_problems

__all__ = ["amend_claim", "amendments", "withdraw_claim"]

ACTOR_LENGTH = 100
REASON_LENGTH = 500
#: What an amendment changes, in the order it is shown.
FIELDS = ("event_kind", "event_date", "details", "description", "benefit")


def amendments(session: Session, claim_id: int) -> list[Amendment]:
    """A claim's amendments, oldest first."""
    return [
        amendment_of(row)
        for row in session.scalars(
            select(ClaimAmendment).where(ClaimAmendment.claim_id == claim_id).order_by(ClaimAmendment.id)
        )
    ]


def _words(reason: str | None, by: str | None, what: str) -> tuple[str, str | None]:
    """The reason (required) and who (optional, at most 100 characters)."""
    problems = []
    text = (reason or "").strip()
    if not text:
        problems.append(f"--reason: {what} needs a reason (it is kept in the claim's history)")
    if len(text) > REASON_LENGTH:
        problems.append(f"--reason: at most {REASON_LENGTH} characters ({len(text)} given)")
    actor = (by or "").strip() or None
    if actor is not None and len(actor) > ACTOR_LENGTH:
        problems.append(f"--by: a name of at most {ACTOR_LENGTH} characters ({len(actor)} given)")
    if problems:
        raise ValidationError(problems)
    return text, actor


def _claim(session: Session, plugins: Plugins, claim_id: int, pool_key: str | None) -> tuple[Claim, PoolRecord]:
    """The claim, locked; when ``pool_key`` is given, it must be that pool's."""
    if pool_key is not None:
        get_pool(session, plugins, pool_key)
    if not is_record_number(claim_id):
        raise NotFoundError(f"no claim #{claim_id}; 'mutualaid claim list POOL' shows the claims")
    row, pool = _load(session, plugins, claim_id, lock=True)
    if pool_key is not None and pool.key != pool_key:
        raise NotFoundError(f"pool {pool_key!r} has no claim #{claim_id} (it is a claim of pool {pool.key!r})")
    return row, pool


def _correctable(session: Session, row: Claim, pool: PoolRecord, verb: str) -> ClaimStatus:
    """The claim's status, if a claim in it can be corrected; else the one line that says why not
    and what to do instead."""
    status = ClaimStatus(row.status)
    if status == ClaimStatus.SHARED:
        period = session.scalar(select(SharingRun.period).where(SharingRun.id == row.sharing_run_id))
        raise StateError(
            f"claim #{row.id} was shared in period {period} (run #{row.sharing_run_id}) and cannot be {verb}; to "
            f"correct a shared claim, void its run first ('mutualaid share void {pool.key} --period {period} "
            "--reason TEXT', before the run's deduction day), then correct the claim"
        )
    if status == ClaimStatus.WITHDRAWN:
        raise StateError(
            f"claim #{row.id} was withdrawn and cannot be {verb}; file a new claim ('mutualaid claim file')"
        )
    if status == ClaimStatus.REJECTED:
        raise StateError(
            f"claim #{row.id} was rejected and cannot be {verb}: a rejection stands; file a new claim with the "
            "corrected facts, or (in a pool deciding in public) the claimant disputes it ('mutualaid claim dispute')"
        )
    if status == ClaimStatus.AT_JURY:
        raise StateError(
            f"claim #{row.id} is before a member jury and cannot be {verb} until the jury closes "
            f"('mutualaid jury close {row.id}')"
        )
    return status


def _back_to(pool: PoolRecord, status: ClaimStatus) -> ClaimStatus:
    """Where an amendment sends a claim: back to be decided again if it was decided or proposed."""
    if pool.config.claims.governance == Governance.PUBLIC:
        if status in (ClaimStatus.PROPOSED, ClaimStatus.IN_NOTICE, ClaimStatus.OBJECTED, ClaimStatus.APPROVED):
            return ClaimStatus.UNDER_REVIEW
        return status
    return ClaimStatus.FILED if status == ClaimStatus.APPROVED else status


def _undecided(session: Session, row: Claim, resolution: str) -> None:
    """Drop what deciding the claim had recorded: the benefit, the proposal, the notice window;
    resolve its open objections."""
    row.benefit_minor = None
    row.cap_minor = None
    row.reasons_json = None
    row.decided_at = None
    row.proposal_json = None
    row.notice_closes_on = None
    resolve_objections(session, row, resolution)


def amend_claim(
    session: Session,
    plugins: Plugins,
    claim_id: int,
    *,
    reason: str,
    by: str | None = None,
    event_date: str | None = None,
    event_kind: str | None = None,
    benefit: Any = None,
    details: Mapping[str, Any] | None = None,
    description: str | None = None,
    pool_key: str | None = None,
) -> tuple[ClaimRecord, Amendment]:
    """Amend a claim that was not shared (see the module's documentation for what is checked and
    where the claim goes). ``details`` are merged into the claim's (a name given replaces its value);
    ``benefit`` is the most the claim asks for; ``pool_key``, when given, must be the claim's pool.

    :raises ValidationError: listing every problem with the amended claim, or when nothing changes.
    :raises StateError: for a claim shared, withdrawn, rejected or before a jury.
    """
    text, actor = _words(reason, by, "an amendment")
    row, pool = _claim(session, plugins, claim_id, pool_key)
    status = _correctable(session, row, pool, "amended")
    if event_date is None and event_kind is None and benefit is None and not details and description is None:
        raise ValidationError(
            [f"claim #{row.id}: nothing to amend; give --event-date, --kind, --benefit, --detail or --description"]
        )
    record = get_member(session, pool, row.member_id)
    problems: list[str] = []
    kind = row.event_kind if event_kind is None else event_kind.strip()
    if event_kind is not None:
        problems.extend(kind_problems(pool, kind))
    event = row.event_date
    if event_date is not None:
        try:
            event = parse_date(event_date, "event date")
        except ValueError as exc:
            problems.append(f"date: {exc}")
    requested = row.requested_minor
    if benefit is not None:
        try:
            requested = to_minor(benefit, pool.currency)
        except (ValueError, TypeError, ArithmeticError) as exc:
            problems.append(f"--benefit: {exc}")
        else:
            if requested <= 0:
                problems.append(f"--benefit: must be above 0 ({benefit} given)")
    old_details = json.loads(row.details_json)
    parsed, detail_problems = validate_fields(
        pool.cohort.claim_model, {**old_details, **dict(details or {})}, context={"event_kind": kind}
    )
    problems.extend(f"detail {p}" for p in detail_problems)
    problems.extend(
        event_problems(session, pool, record, kind, event, row.filed_on, checked=not problems, claim_id=row.id)
    )
    if problems or parsed is None:
        raise ValidationError(problems)
    new_details = json.loads(parsed.model_dump_json())
    new_description = row.description if description is None else description.strip()

    def money(minor: int | None) -> str | None:
        return None if minor is None else format_minor(minor, pool.currency)

    candidates = {
        "event_kind": (row.event_kind, kind),
        "event_date": (row.event_date.isoformat(), event.isoformat()),
        "details": (old_details, new_details),
        "description": (row.description, new_description),
        "benefit": (money(row.requested_minor), money(requested)),
    }
    changes = {field: [old, new] for field, (old, new) in candidates.items() if old != new}
    if not changes:
        raise ValidationError([f"claim #{row.id}: nothing changes; the values given are the claim's own"])
    row.event_kind, row.event_date, row.description = kind, event, new_description
    row.details_json = parsed.model_dump_json()
    row.requested_minor = requested
    session.flush()
    if "benefit" in changes and requested is not None:
        decision = decide(session, row, pool)
        cap = to_minor(decision.cap, pool.currency)
        if decision.payable and requested > cap:
            raise ValidationError(
                [
                    f"--benefit: {money(requested)} {pool.currency} is above the cohort's cap for claim #{row.id} "
                    f"({money(cap)} {pool.currency})"
                ]
            )
    target = _back_to(pool, status)
    at = datetime.now(UTC)
    if target != status:
        _undecided(session, row, f"claim amended ({text}): sent back to review")
        machine.move(
            session,
            row,
            target,
            cause=f"amended ({text}): to be decided again",
            at=at,
            actor=actor,
            sources=(status,),
        )
    amendment = ClaimAmendment(
        claim_id=row.id,
        amended_at=at,
        actor=actor,
        reason=text,
        changes_json=json.dumps(changes, ensure_ascii=False),
        status_before=status.value,
        status_after=target.value,
    )
    session.add(amendment)
    session.flush()
    return record_of(row, pool), amendment_of(amendment)


def withdraw_claim(
    session: Session,
    plugins: Plugins,
    claim_id: int,
    *,
    reason: str,
    by: str | None = None,
    pool_key: str | None = None,
) -> ClaimRecord:
    """Withdraw a claim that was not shared: ``withdrawn``, for good, with who and why in its
    history. Its investigation costs stay posted (they were spent); its open objections are
    resolved.

    :raises StateError: for a claim shared, already withdrawn, rejected or before a jury.
    """
    text, actor = _words(reason, by, "a withdrawal")
    row, pool = _claim(session, plugins, claim_id, pool_key)
    status = _correctable(session, row, pool, "withdrawn")
    resolve_objections(session, row, f"claim withdrawn ({text})")
    machine.move(session, row, ClaimStatus.WITHDRAWN, cause=f"withdrawn: {text}", actor=actor, sources=(status,))
    return record_of(row, pool)
