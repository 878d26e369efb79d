"""Claims: file, review (a dry run of the decision), approve, reject, list, and a claim's history.

The benefit is decided by the pool's cohort and is never above its cap; a claim the cohort does
not find payable cannot be approved. Approved claims wait for the next sharing run.

A death ends the membership on the day of the death: when its claim is approved, and also when it
is rejected because the cohort found it not payable but ending the membership (an excluded death,
``BenefitDecision.deny(..., ends_membership=True)``). When the cohort found a claim payable and
the operator rejects it anyway (disputing that the death happened, say), the membership is left
as it is; ``members.end_membership`` records a death the operator is sure of.
A denial that refunds contributions (``BenefitDecision.deny(..., refund_contributions=True)``,
e.g. an illness diagnosed in the waiting period) records, when the claim is rejected, the refund
of everything the member was charged in the pool, as a ledger entry owed to the member and paid
by the sponsor or by the pool's next period (``[payments] refunds``).

Status changes are made by :mod:`mutualaid.claims.machine`, membership endings by
:mod:`mutualaid.members.lifecycle`. Services take a session and never commit: the caller owns
the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..cohort import BenefitDecision
from ..db.engine import ROW_LOCK
from ..db.models import Claim, ClaimAmendment, ClaimStatusChange, Member, Pool
from ..errors import NotFoundError, StateError, ValidationError
from ..fields import is_record_number, parse_date, validate_fields
from ..ledger.posting import Line, post_entry
from ..members import lifecycle
from ..members.records import MemberRecord
from ..members.service import get_member
from ..money import from_minor, to_minor
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool, lock_pool, pool_today
from ..vocabulary import Account, Bearer, ClaimStatus, EntryKind, Governance, MemberStatus, values
from . import machine
from .deciding import contributions, decide
from .records import ClaimHistoryEntry, ClaimRecord, Rejection, amendment_of, record_of, utc

__all__ = [
    "approve_claim",
    "claim_history",
    "file_claim",
    "get_claim",
    "list_claims",
    "reject_claim",
    "review_claim",
]


def file_claim(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    member: int | str,
    *,
    event_kind: str,
    event_date: str | date,
    details: Mapping[str, Any] | None = None,
    description: str = "",
    filed_on: str | date | None = None,
    filed_by: str | None = None,
) -> ClaimRecord:
    """File a claim for a member. The details are validated by the cohort's claim model.

    :param filed_by: who files it (recorded in its history); required in a pool that decides in
        public with four eyes (whoever filed a claim does not decide it).
    :raises ValidationError: listing every problem with the claim's fields.
    """
    pool = get_pool(session, plugins, pool_key)
    cohort = pool.cohort
    record = get_member(session, pool, member)
    problems: list[str] = []
    filed_by = (filed_by or "").strip() or None
    if filed_by is not None and len(filed_by) > 100:
        problems.append(f"--by: a name of at most 100 characters ({len(filed_by)} given)")
    elif filed_by is None and pool.config.claims.four_eyes and pool.config.claims.governance == Governance.PUBLIC:
        problems.append(f"--by: pool {pool.key!r} decides claims with four eyes; name who files the claim")
    problems.extend(kind_problems(pool, event_kind))
    filed: date | None = pool_today(pool.definition)
    event: date | None = None
    if filed_on:
        try:
            filed = parse_date(filed_on, "filed_on")
        except ValueError:
            problems.append(f"filed_on: {filed_on!r} is not a date; write it as YYYY-MM-DD")
            filed = None
    try:
        event = parse_date(event_date, "event date")
    except ValueError as exc:
        problems.append(f"date: {exc}")
    problems.extend(event_problems(session, pool, record, event_kind, event, filed, checked=not problems))
    parsed, detail_problems = validate_fields(cohort.claim_model, details or {}, context={"event_kind": event_kind})
    problems.extend(f"detail {p}" for p in detail_problems)
    if problems or parsed is None or event is None or filed is None:
        raise ValidationError(problems, summary=f"the claim for member #{record.id} was not filed:")
    row = Claim(
        pool_id=pool.id,
        member_id=record.id,
        event_kind=event_kind,
        event_date=event,
        filed_on=filed,
        description=description.strip(),
        details_json=parsed.model_dump_json(),
        member_attributes_json=json.dumps(record.attributes, ensure_ascii=False, sort_keys=True),
        filed_by=filed_by,
    )
    machine.file(session, row, actor=filed_by)
    return record_of(row, pool)


def kind_problems(pool: PoolRecord, event_kind: str) -> list[str]:
    """A claim's event must be one of the cohort's kinds (at filing and at an amendment)."""
    cohort = pool.cohort
    if cohort.event_kind(event_kind) is not None:
        return []
    kinds = ", ".join(k.key for k in cohort.event_kinds)
    return [f"kind: {event_kind!r} is not an event of cohort {cohort.key!r}; use one of {kinds}"]


def event_problems(
    session: Session,
    pool: PoolRecord,
    record: MemberRecord,
    event_kind: str,
    event: date | None,
    filed: date | None,
    *,
    checked: bool = True,
    claim_id: int | None = None,
) -> list[str]:
    """The rules a claim's event keeps -- when it was filed, and again whenever it is amended
    (:mod:`mutualaid.claims.corrections` calls this with the amended values, so a rule added here
    holds for both): the event is not after the filing day, not before the member joined nor after
    their membership ended (death or exit), the filing day not in the future, and the same event is not claimed twice.

    :param checked: whether everything else about the claim is fine so far (the duplicate look-up
        is made only then).
    :param claim_id: the claim being amended (it is not its own duplicate).
    """
    problems: list[str] = []
    if event is not None and filed is not None and event > filed:
        problems.append(f"date: the event date {event.isoformat()} is after the filing date {filed.isoformat()}")
    if event is not None and event < record.joined_on:
        problems.append(
            f"date: the event date {event.isoformat()} is before member #{record.id} joined ({record.joined_on.isoformat()})"
        )
    if event is not None and record.ended_on is not None and event > record.ended_on:
        when = record.ended_on.isoformat()
        ended = f" died on {when}" if record.status == MemberStatus.DECEASED else f"'s membership ended on {when}"
        problems.append(f"date: member #{record.id}{ended}, before the event date {event.isoformat()}")
    today = pool_today(pool.definition)
    if filed is not None and filed > today:
        problems.append(f"filed_on: {filed.isoformat()} is after today ({today.isoformat()} in the pool's time zone)")
    if event is not None and checked and not problems:
        problems.extend(_duplicate(session, record.id, event_kind, event, claim_id))
    return problems


def _duplicate(
    session: Session, member_id: int, event_kind: str, event: date, claim_id: int | None = None
) -> list[str]:
    """The same claim twice -- the same member, event and day -- is refused, naming the earlier one,
    unless that one was rejected (a rejection can be disputed, not filed again) or withdrawn."""
    earlier = session.execute(
        select(Claim.id, Claim.status)
        .where(
            Claim.member_id == member_id,
            Claim.event_kind == event_kind,
            Claim.event_date == event,
            Claim.status.not_in([ClaimStatus.REJECTED.value, ClaimStatus.WITHDRAWN.value]),
            Claim.id != (claim_id if claim_id is not None else -1),
        )
        .order_by(Claim.id)
        .limit(1)
    ).first()
    if earlier is None:
        return []
    return [
        f"date: member #{member_id} already has claim #{earlier[0]} ({earlier[1]}) for {event_kind} on "
        f"{event.isoformat()}; the same event is claimed once (see 'mutualaid claim show {earlier[0]}')"
    ]


def _load(session: Session, plugins: Plugins, claim_id: int, *, lock: bool = False) -> tuple[Claim, PoolRecord]:
    # ``lock``: the claim's row is locked (FOR NO KEY UPDATE on PostgreSQL) until the transaction ends, so
    # that two operators deciding the same claim at once cannot both decide it.
    # A number no row can have (beyond 64 bits) is not looked up: the driver would overflow on it.
    row = (
        session.get(Claim, claim_id, with_for_update=ROW_LOCK if lock else None) if is_record_number(claim_id) else None
    )
    if row is None:
        raise NotFoundError(f"no claim #{claim_id}; 'mutualaid claim list POOL' shows the claims")
    key = session.scalar(select(Pool.key).where(Pool.id == row.pool_id))
    return row, get_pool(session, plugins, str(key))


def get_claim(session: Session, plugins: Plugins, claim_id: int) -> ClaimRecord:
    row, pool = _load(session, plugins, claim_id)
    return record_of(row, pool)


def claim_history(session: Session, plugins: Plugins, claim_id: int) -> tuple[ClaimRecord, list[ClaimHistoryEntry]]:
    """A claim and every status it entered (when, why and who), with its amendments (each shown in
    the status it left the claim in: ``amended: FIELD OLD -> NEW (why)``), oldest first."""
    row, pool = _load(session, plugins, claim_id)
    steps = [
        ClaimHistoryEntry(ClaimStatus(status), utc(at) or at, cause, actor)
        for status, at, cause, actor in session.execute(
            select(
                ClaimStatusChange.status,
                ClaimStatusChange.changed_at,
                ClaimStatusChange.cause,
                ClaimStatusChange.actor,
            )
            .where(ClaimStatusChange.claim_id == claim_id)
            .order_by(ClaimStatusChange.id)
        )
    ]
    amended = [
        amendment_of(a)
        for a in session.scalars(
            select(ClaimAmendment).where(ClaimAmendment.claim_id == claim_id).order_by(ClaimAmendment.id)
        )
    ]
    notes = [
        ClaimHistoryEntry(a.status_after, a.amended_at, f"amended: {a.describe()} ({a.reason})", a.actor)
        for a in amended
    ]
    # An amendment comes before the status change it caused (recorded at the same moment).
    ordered = sorted(
        [(s.changed_at, 1, n, s) for n, s in enumerate(steps)] + [(a.changed_at, 0, n, a) for n, a in enumerate(notes)],
        key=lambda t: t[:3],
    )
    return record_of(row, pool), [step for *_, step in ordered]


def review_claim(session: Session, plugins: Plugins, claim_id: int) -> tuple[ClaimRecord, BenefitDecision]:
    """What the cohort would decide for a claim now, without changing anything."""
    row, pool = _load(session, plugins, claim_id)
    return record_of(row, pool), decide(session, row, pool)


def _decided(
    session: Session,
    plugins: Plugins,
    claim_id: int,
    target: ClaimStatus,
    sources: tuple[ClaimStatus, ...] | None = None,
) -> tuple[Claim, PoolRecord, BenefitDecision]:
    """Load a claim for a decision: locked, in a status that leads to ``target``, with its member
    locked too (decisions of two claims of one member are taken one after the other, each seeing
    what the other paid, so that together they stay within a combined cap), and the cohort's
    decision.

    :param sources: the statuses the decision is taken from; ``None``: the operator's direct
        decision of a filed claim, which a pool deciding in public refuses.
    """
    row, pool = _load(session, plugins, claim_id, lock=True)
    if sources is None:
        if pool.config.claims.governance == Governance.PUBLIC:
            raise StateError(
                f"pool {pool.key!r} decides its claims in public: claim #{row.id} is investigated, its proposed "
                "decision published, and it is decided when its notice window closes ('mutualaid claim "
                "investigate', 'propose', 'publish', 'decide')"
            )
        sources = (ClaimStatus.FILED,)
    machine.require(row, target, sources)
    session.get(Member, row.member_id, with_for_update=ROW_LOCK)
    return row, pool, decide(session, row, pool)


def approve_claim(
    session: Session,
    plugins: Plugins,
    claim_id: int,
    *,
    actor: str | None = None,
    sources: tuple[ClaimStatus, ...] | None = None,
    cause: str = "approved",
) -> tuple[ClaimRecord, BenefitDecision]:
    """Approve a claim for the benefit the cohort decides: a filed claim (direct governance), or
    one of ``sources`` (public governance: a claim whose notice window closed, or a jury's).

    :param actor: who decided (recorded in the claim's history).
    :param cause: how it was decided, before the cohort's reasons in the history.
    :raises StateError: if the claim is not waiting for that decision, or the cohort finds it not
        payable (the message lists the reasons).
    """
    row, pool, decision = _decided(session, plugins, claim_id, ClaimStatus.APPROVED, sources)
    if not decision.payable:
        raise StateError(f"claim #{claim_id} cannot be approved: {'; '.join(decision.reasons)}")
    row.benefit_minor = to_minor(decision.amount, pool.currency)
    row.cap_minor = to_minor(decision.cap, pool.currency)
    row.reasons_json = json.dumps(list(decision.reasons), ensure_ascii=False)
    row.decided_at = datetime.now(UTC)
    machine.move(
        session,
        row,
        ClaimStatus.APPROVED,
        cause=f"{cause}: " + "; ".join(decision.reasons),
        at=row.decided_at,
        actor=actor,
        sources=sources or (ClaimStatus.FILED,),
    )
    if decision.ends_membership:
        _end_membership(session, plugins, pool, row, MemberStatus.DECEASED)
    plugins.hook.claim_decided(pool=pool.config, claim_id=row.id, decision=decision, approved=True)
    return record_of(row, pool), decision


def _end_membership(session: Session, plugins: Plugins, pool: PoolRecord, claim: Claim, status: MemberStatus) -> bool:
    """End the claim's member's membership on the event date, as ``status`` (deceased, or exited),
    unless it already ended. Returns whether it ended it."""
    member = session.get(Member, claim.member_id)
    if member is None or member.ended_on is not None:
        return False
    what = "died" if status == MemberStatus.DECEASED else "the event ends the membership under the pool's rules"
    lifecycle.end(session, plugins, pool, member, status, claim.event_date, f"{what} (claim #{claim.id})")
    return True


def _refund(session: Session, pool: PoolRecord, row: Claim) -> int:
    """Record the refund of a member's contributions (what they paid) after a denial that gives
    them back; a member who paid nothing is refunded 0, recorded on the claim, and nothing is posted."""
    amount = contributions(session, pool.id, row.member_id)
    row.refund_minor = amount
    if amount == 0:
        return 0
    payer = Account.SPONSOR_DUE if pool.config.payments.refunds == Bearer.SPONSOR else Account.DEFICIT
    post_entry(
        session,
        pool.id,
        kind=EntryKind.REFUND,
        posted_on=pool_today(pool.definition),
        memo=f"contributions of member #{row.member_id} refunded on the denial of claim #{row.id}",
        lines=[Line(payer, amount), Line(Account.REFUNDS_PAYABLE, -amount, member_id=row.member_id, claim_id=row.id)],
        facts={"member_id": row.member_id, "refund": amount, "funded_by": payer.value},
        claim_id=row.id,
    )
    return amount


def reject_claim(
    session: Session,
    plugins: Plugins,
    claim_id: int,
    reason: str,
    *,
    actor: str | None = None,
    sources: tuple[ClaimStatus, ...] | None = None,
    cause: str = "rejected",
) -> Rejection:
    """Reject a claim with the reason its members read (required): a filed claim (direct
    governance), or one of ``sources`` (public governance; see :func:`approve_claim`).

    When the cohort finds the claim not payable and the event ends the membership (a death the
    pool does not pay for, e.g. while drunk driving), the member is recorded as deceased on the
    event date, as an approval would. When the cohort finds it payable, the operator's rejection
    leaves the membership as it is.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError(["reason: a rejection needs a reason the member can read"])
    row, pool, decision = _decided(session, plugins, claim_id, ClaimStatus.REJECTED, sources)
    row.benefit_minor = 0
    row.reasons_json = json.dumps([reason], ensure_ascii=False)
    row.decided_at = datetime.now(UTC)
    machine.move(
        session,
        row,
        ClaimStatus.REJECTED,
        cause=f"{cause}: {reason}",
        at=row.decided_at,
        actor=actor,
        sources=sources or (ClaimStatus.FILED,),
    )
    denied = not decision.payable
    if denied and decision.refund_contributions:
        # The pool before the member: the refund is posted after the membership ends, and a sharing
        # run holds the pool while it waits for the members table (see lock_pool).
        lock_pool(session, pool)
    ended = (
        denied
        and decision.ends_membership
        and _end_membership(session, plugins, pool, row, MemberStatus(decision.ends_as))
    )
    refund = _refund(session, pool, row) if denied and decision.refund_contributions else 0
    session.flush()
    plugins.hook.claim_decided(pool=pool.config, claim_id=row.id, decision=decision, approved=False)
    return Rejection(
        record_of(row, pool),
        decision,
        get_member(session, pool, row.member_id),
        bool(ended),
        from_minor(refund, pool.currency),
    )


def list_claims(session: Session, plugins: Plugins, pool_key: str, *, status: str | None = None) -> list[ClaimRecord]:
    """A pool's claims in filing order; ``status`` keeps one status.

    :raises ValidationError: for a status that is not one of :class:`~mutualaid.vocabulary.ClaimStatus`.
    """
    pool = get_pool(session, plugins, pool_key)
    query = select(Claim).where(Claim.pool_id == pool.id).order_by(Claim.id)
    if status:
        if status not in values(ClaimStatus):
            raise ValidationError(
                [f"--status: {status!r} is not a claim status; use one of {', '.join(values(ClaimStatus))}"]
            )
        query = query.where(Claim.status == status)
    return [record_of(row, pool) for row in session.scalars(query)]
