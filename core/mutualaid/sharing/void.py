"""Voiding a sharing run before its deduction day: the run never counted, and its period can be
shared again.

Nothing recorded is edited. The run's row and its charges stay as they were (``ledger verify``
still recounts them against the run's entry); a row of ``sharing_run_voids`` says who voided it,
when, why, and which entry reversed it. From then on the run counts nowhere (every query of runs
keeps to :func:`mutualaid.db.runs.live_run`): not in the payments due, the statements, a member's
year so far and the year's cap, the rotation of extra minor units, the surplus carried to the next
period, nor the books. In one transaction, a void:

1. refuses a run whose deduction day has come, a run with any payment recorded against it, and a
   run that is not the pool's last (a later period was shared on its figures: void that one first);
2. posts the exact reversal of the run's ledger entry (kind ``void``): the members' charges, the
   aid funded, the fee, the surplus and deficit carried in and out, what the sponsor bore;
3. gives the claims the run funded back to ``approved`` (:func:`mutualaid.claims.machine.unshare`),
   for the next run to fund;
4. in a prepaid pool, unfreezes the members the run froze and who are still frozen by it (from
   the notice day: no frozen span is left); the API then gives the charges back to the balances
   (:func:`mutualaid.payments.give_back`, the balances' owner), which the reversal's
   ``member_balances`` line accounts for;
5. records the void, and counts the members whose statement of the run went out by email (the send
   log), who should be told with the ``run-voided`` notice.

Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..claims import machine
from ..db.models import (
    LedgerEntry,
    LedgerLine,
    Member,
    MemberStatusChange,
    NoticeDelivery,
    Payment,
    SharingRun,
    SharingRunVoid,
)
from ..db.runs import live_run
from ..errors import NotFoundError, StateError, ValidationError
from ..ledger.posting import reverse
from ..members import lifecycle
from ..money import from_minor
from ..periods import Period
from ..plugins import Plugins
from ..pools import PoolRecord, lock_pool, pool_today
from ..vocabulary import DeliveryStatus, EntryKind, MemberChange, MemberStatus, NoticeKind, PaymentModel
from .charges import freeze_cause
from .lookup import run_reference

__all__ = ["RunVoid", "void_of", "voids_of", "void_run"]

ACTOR_LENGTH = 100
REASON_LENGTH = 500


@dataclass(frozen=True, slots=True)
class RunVoid:
    """A voided run: what it had charged, who voided it, when (``voided_at`` in UTC; ``voided_on``:
    the pool's day, its reversing entry's), why, and what the void did.

    :param entry_seq: the ledger entry that reversed the run's.
    :param claims: the claims the run had funded, approved again for the next run.
    :param unfrozen: prepaid: the members the run had frozen, unfrozen by the void.
    :param refunded_minor: prepaid: what was given back to the members' balances.
    :param statements_sent: the members whose statement of the run the send log has as sent (or in
        doubt): they should be told, with the ``run-voided`` notice.
    """

    run_id: int
    pool_key: str
    period: str
    notice_date: date
    deduction_date: date
    currency: str
    payment_model: PaymentModel
    charge_rows: int
    charged_minor: int
    voided_at: datetime
    voided_on: date
    voided_by: str | None
    reason: str
    entry_seq: int
    claims: tuple[int, ...] = field(default_factory=tuple)
    unfrozen: int = 0
    refunded_minor: int = 0
    statements_sent: int = 0

    @property
    def charged(self) -> Any:
        return from_minor(self.charged_minor, self.currency)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["charged"] = str(from_minor(data.pop("charged_minor"), self.currency))
        data["refunded"] = str(from_minor(data.pop("refunded_minor"), self.currency))
        data["claims"] = list(self.claims)
        for key in ("notice_date", "deduction_date", "voided_at", "voided_on"):
            data[key] = getattr(self, key).isoformat()
        data["payment_model"] = self.payment_model.value
        return data


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sent(session: Session, pool: PoolRecord, run: SharingRun) -> int:
    """How many members the send log has a statement of the run for (sent, or in doubt)."""
    return int(
        session.scalar(
            select(func.count()).where(
                NoticeDelivery.pool_id == pool.id,
                NoticeDelivery.kind == NoticeKind.STATEMENT.value,
                NoticeDelivery.reference == run_reference(run),
                NoticeDelivery.status.in_([DeliveryStatus.SENT.value, DeliveryStatus.SENDING.value]),
            )
        )
        or 0
    )


def _record(session: Session, pool: PoolRecord, run: SharingRun, void: SharingRunVoid) -> RunVoid:
    # The claims the run funded: named by the aid lines of the entry that reversed it.
    claims = tuple(
        int(c or 0)
        for c in session.scalars(
            select(LedgerLine.claim_id)
            .where(LedgerLine.entry_id == void.entry_id, LedgerLine.claim_id.is_not(None))
            .distinct()
            .order_by(LedgerLine.claim_id)
        )
    )
    seq, posted_on = session.execute(
        select(LedgerEntry.seq, LedgerEntry.posted_on).where(LedgerEntry.id == void.entry_id)
    ).one()
    return RunVoid(
        run_id=run.id,
        pool_key=pool.key,
        period=run.period,
        notice_date=run.notice_date,
        deduction_date=run.deduction_date,
        currency=pool.currency,
        payment_model=PaymentModel(run.payment_model),
        charge_rows=run.charge_rows,
        charged_minor=run.charged_minor,
        voided_at=_utc(void.voided_at),
        voided_on=posted_on,
        voided_by=void.voided_by,
        reason=void.reason,
        entry_seq=int(seq),
        claims=claims,
        unfrozen=int(void.unfrozen_count),
        refunded_minor=run.charged_minor if run.payment_model == PaymentModel.PREPAID else 0,
        statements_sent=_sent(session, pool, run),
    )


def voids_of(session: Session, pool: PoolRecord, period: Period) -> list[RunVoid]:
    """The voided runs of a period, oldest first."""
    rows = session.execute(
        select(SharingRun, SharingRunVoid)
        .join(SharingRunVoid, SharingRunVoid.run_id == SharingRun.id)
        .where(SharingRun.pool_id == pool.id, SharingRun.period == period.key)
        .order_by(SharingRun.attempt, SharingRun.id)
    ).all()
    return [_record(session, pool, run, void) for run, void in rows]


def void_of(session: Session, pool: PoolRecord, period: Period) -> RunVoid | None:
    """The period's latest voided run, if any."""
    found = voids_of(session, pool, period)
    return found[-1] if found else None


def _words(reason: str, by: str | None) -> tuple[str, str | None]:
    problems = []
    text = (reason or "").strip()
    if not text:
        problems.append("--reason: voiding a run needs a reason (the members it charged are told it)")
    if len(text) > REASON_LENGTH:
        problems.append(f"--reason: at most {REASON_LENGTH} characters ({len(text)} given)")
    actor = (by or "").strip() or None
    if actor is not None and len(actor) > ACTOR_LENGTH:
        problems.append(f"--by: a name of at most {ACTOR_LENGTH} characters ({len(actor)} given)")
    if problems:
        raise ValidationError(problems)
    return text, actor


def _voidable(session: Session, pool: PoolRecord, period: Period) -> SharingRun:
    """The period's run, if it can still be voided; else the one line that says why not."""
    run = session.scalar(
        select(SharingRun).where(
            SharingRun.pool_id == pool.id, SharingRun.period == period.key, live_run(SharingRun.id)
        )
    )
    if run is None:
        earlier = void_of(session, pool, period)
        if earlier is not None:
            raise StateError(
                f"run #{earlier.run_id} of period {period.key} was already voided on "
                f"{earlier.voided_on.isoformat()} and the period has not been shared again; nothing to void"
            )
        raise NotFoundError(f"period {period.key} of pool {pool.key!r} has not been shared; there is no run to void")
    today = pool_today(pool.definition)
    if today >= run.deduction_date:
        raise StateError(
            f"run #{run.id} of period {period.key} cannot be voided: its deduction day was "
            f"{run.deduction_date.isoformat()} (today is {today.isoformat()}); a run is voided only before its "
            "deduction day"
        )
    payments = int(session.scalar(select(func.count()).where(Payment.run_id == run.id)) or 0)
    if payments:
        raise StateError(
            f"run #{run.id} of period {period.key} cannot be voided: {payments:,} payment result"
            f"{'s' if payments != 1 else ''} against it {'were' if payments != 1 else 'was'} recorded; a run is "
            "voided only before any payment against it"
        )
    later = session.scalar(
        select(SharingRun.period)
        .where(
            SharingRun.pool_id == pool.id,
            SharingRun.notice_date > run.notice_date,
            live_run(SharingRun.id),
        )
        .order_by(SharingRun.notice_date.desc())
        .limit(1)
    )
    if later is not None:
        raise StateError(
            f"run #{run.id} of period {period.key} cannot be voided: period {later} was shared after it, on its "
            f"figures; void period {later} first"
        )
    return run


def _unfreeze(session: Session, plugins: Plugins, pool: PoolRecord, run: SharingRun, cause: str) -> int:
    """The members the run froze whose latest change is still that freeze: unfrozen from the notice
    day, so that no frozen span is left of it."""
    latest = (
        select(MemberStatusChange.member_id, func.max(MemberStatusChange.id).label("last_id"))
        .join(Member, Member.id == MemberStatusChange.member_id)
        .where(Member.pool_id == pool.id, Member.status == MemberStatus.FROZEN.value)
        .group_by(MemberStatusChange.member_id)
        .subquery()
    )
    frozen = session.scalars(
        select(MemberStatusChange.member_id)
        .join(latest, latest.c.last_id == MemberStatusChange.id)
        .where(
            MemberStatusChange.change == MemberChange.FROZEN.value,
            MemberStatusChange.cause == freeze_cause(run.period, run.id),
        )
        .order_by(MemberStatusChange.member_id)
    ).all()
    return lifecycle.unfreeze(session, plugins, pool, [(int(m), run.notice_date) for m in frozen], cause=cause)


def void_run(
    session: Session, plugins: Plugins, pool: PoolRecord, period: Period, *, reason: str, by: str | None = None
) -> RunVoid:
    """Void the period's run before its deduction day (see the module's documentation). A prepaid
    pool's balances are given back by the caller (:func:`mutualaid.payments.give_back`).

    :raises NotFoundError: if the period was not shared.
    :raises StateError: if its deduction day has come, a payment against it was recorded, a later
        period was shared after it, or it was already voided.
    """
    text, actor = _words(reason, by)
    lock_pool(session, pool)
    run = _voidable(session, pool, period)
    entry = session.scalar(
        select(LedgerEntry).where(LedgerEntry.run_id == run.id, LedgerEntry.kind == EntryKind.SHARING.value)
    )
    if entry is None:
        raise StateError(
            f"run #{run.id} of period {period.key} has no ledger entry to reverse; post it first "
            f"('mutualaid ledger backfill {pool.key}')"
        )
    cause = f"run #{run.id} of period {period.key} voided: {text}"
    reversal = reverse(
        session,
        entry,
        kind=EntryKind.VOID,
        memo=f"sharing period {period.key} voided (run #{run.id}): {text}",
        posted_on=pool_today(pool.definition),
        facts={"period": period.key, "reason": text, "by": actor, "charged": run.charged_minor},
    )
    claims = machine.unshare(session, run.id, cause=cause, actor=actor)
    unfrozen = _unfreeze(session, plugins, pool, run, cause[:200]) if run.payment_model == PaymentModel.PREPAID else 0
    void = SharingRunVoid(
        run_id=run.id,
        pool_id=pool.id,
        voided_at=datetime.now(UTC),
        voided_by=actor,
        reason=text,
        entry_id=reversal.id,
        claims_count=len(claims),
        unfrozen_count=unfrozen,
    )
    session.add(void)
    session.flush()
    return _record(session, pool, run, void)
