"""Reversing a top-up recorded by mistake (a wrong member, a wrong amount, a payment that bounced).

The top-up's row is never edited: the reversal is a record of its own (``top_up_reversals``: who,
when, why, the reversing entry), and a ledger entry of kind ``top-up-reversal`` takes the money back
out (Cr ``cash``, Dr ``member_balances``, both lines naming the member; ``reverses_id`` names the
top-up's entry). The member's balance falls by the top-up's amount -- refused if the member no
longer holds that much (the rest was spent on shares), or if the top-up was already reversed. A
reversed top-up counts nowhere (the books' cash, the member's balance) and its reference may be
recorded again, on the right top-up.

A member the top-up unfroze, whose balance is now below ``[payments] low_balance`` again, is frozen
again (:func:`mutualaid.members.lifecycle.freeze_where`): from the day the top-up unfroze them when
no run has charged them since (as if it had never happened), else from the day of the reversal.

Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..db.models import Balance, Charge, Member, MemberStatusChange, SharingRun, TopUp, TopUpReversal
from ..db.runs import live_run
from ..errors import NotFoundError, StateError, ValidationError
from ..ledger.posting import Line, post_entry
from ..members import lifecycle
from ..money import Money, format_minor, to_minor
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool, lock_pool, pool_today
from ..vocabulary import Account, EntryKind, MemberChange, MemberStatus, PaymentModel
from .common import require_model

__all__ = ["TopUpReversalRecord", "reverse_top_up"]

ACTOR_LENGTH = 100
REASON_LENGTH = 500
#: How a top-up's unfreezing is recorded (:mod:`.prepaid`).
_UNFROZEN_BY_TOP_UP = "topped up"


@dataclass(frozen=True, slots=True)
class TopUpReversalRecord:
    """A top-up reversed: the top-up, who reversed it, when, why, the reversing entry, and the
    member's balance after it (minor units)."""

    top_up_id: int
    pool_key: str
    member_id: int
    currency: str
    amount_minor: int
    received_on: date
    reference: str
    reversed_on: date
    reversed_by: str | None
    reason: str
    entry_seq: int
    balance_minor: int
    refrozen_on: date | None = None

    @property
    def amount(self) -> Money:
        return Money.from_minor(self.amount_minor, self.currency)

    @property
    def balance(self) -> Money:
        return Money.from_minor(self.balance_minor, self.currency)

    def as_dict(self) -> dict[str, Any]:
        return {
            "top_up_id": self.top_up_id,
            "pool": self.pool_key,
            "member_id": self.member_id,
            "currency": self.currency,
            "amount": str(self.amount.amount),
            "received_on": self.received_on.isoformat(),
            "reference": self.reference,
            "reversed_on": self.reversed_on.isoformat(),
            "reversed_by": self.reversed_by,
            "reason": self.reason,
            "entry_seq": self.entry_seq,
            "balance": str(self.balance.amount),
            "refrozen_on": self.refrozen_on.isoformat() if self.refrozen_on else None,
        }


def _words(reason: str, by: str | None) -> tuple[str, str | None]:
    problems = []
    text = (reason or "").strip()
    if not text:
        problems.append("--reason: reversing a top-up needs a reason (it is kept with the reversal)")
    if len(text) > REASON_LENGTH:
        problems.append(f"--reason: at most {REASON_LENGTH} characters ({len(text)} given)")
    actor = (by or "").strip() or None
    if actor is not None and len(actor) > ACTOR_LENGTH:
        problems.append(f"--by: a name of at most {ACTOR_LENGTH} characters ({len(actor)} given)")
    if problems:
        raise ValidationError(problems)
    return text, actor


def _top_up(session: Session, pool: PoolRecord, top_up_id: int) -> TopUp:
    """The pool's top-up, if it can be reversed; else the one line that says why not."""
    row = session.get(TopUp, top_up_id) if 0 < top_up_id <= 2**63 - 1 else None
    if row is None or row.pool_id != pool.id:
        raise NotFoundError(
            f"pool {pool.key!r} has no top-up #{top_up_id}; 'mutualaid balance show {pool.key} MEMBER' lists a "
            "member's top-ups"
        )
    earlier = session.get(TopUpReversal, row.id)
    if earlier is not None:
        raise StateError(
            f"top-up #{row.id} was already reversed on {earlier.reversed_on.isoformat()} ({earlier.reason}); a "
            "top-up is reversed once"
        )
    return row


def _refreeze(
    session: Session, plugins: Plugins, pool: PoolRecord, member_id: int, held: int, top_up: TopUp, cause: str
) -> date | None:
    """Freeze again a member this top-up (or a later one) unfroze, now below ``low_balance``."""
    if held >= to_minor(pool.config.payments.low_balance, pool.currency):
        return None
    member = session.get(Member, member_id)
    if member is None or member.status != MemberStatus.ACTIVE.value:
        return None
    last = session.execute(
        select(MemberStatusChange.change, MemberStatusChange.since, MemberStatusChange.cause)
        .where(MemberStatusChange.member_id == member_id)
        .order_by(MemberStatusChange.since.desc(), MemberStatusChange.id.desc())
        .limit(1)
    ).first()
    if last is None or last.change != MemberChange.UNFROZEN.value or last.cause != _UNFROZEN_BY_TOP_UP:
        return None
    if last.since < top_up.received_on:
        return None  # unfrozen before this top-up: it did not unfreeze them
    charged_since = session.scalar(
        select(func.count())
        .select_from(Charge)
        .join(SharingRun, SharingRun.id == Charge.run_id)
        .where(Charge.member_id == member_id, SharingRun.notice_date >= last.since, live_run(SharingRun.id))
    )
    on = last.since if not charged_since else pool_today(pool.definition)
    lifecycle.freeze_where(session, plugins, pool, Member.id == member_id, on, cause)
    return on


def reverse_top_up(
    session: Session, plugins: Plugins, pool_key: str, top_up_id: int, *, reason: str, by: str | None = None
) -> TopUpReversalRecord:
    """Reverse a top-up (see the module's documentation).

    :raises NotFoundError: if the pool has no such top-up.
    :raises StateError: if the pool is postpaid, the top-up was already reversed, or the member
        holds less than its amount now.
    """
    text, actor = _words(reason, by)
    pool = get_pool(session, plugins, pool_key)
    require_model(pool, PaymentModel.PREPAID, "reversing a top-up")
    lock_pool(session, pool)
    top_up = _top_up(session, pool, top_up_id)
    cur = pool.currency
    amount, member_id = int(top_up.amount_minor), int(top_up.member_id)
    held = int(session.scalar(select(Balance.balance_minor).where(Balance.member_id == member_id)) or 0)
    if held < amount:
        raise StateError(
            f"top-up #{top_up.id} of member #{member_id} ({format_minor(amount, cur)} {cur}) cannot be reversed: the "
            f"member holds {format_minor(held, cur)} {cur} now, the rest was spent on shares"
        )
    today = pool_today(pool.definition)
    entry = post_entry(
        session,
        pool.id,
        kind=EntryKind.TOP_UP_REVERSAL,
        posted_on=today,
        memo=f"top-up #{top_up.id} of member #{member_id} reversed: {format_minor(amount, cur)} {cur} ({text})",
        lines=[
            Line(Account.MEMBER_BALANCES, amount, member_id=member_id),
            Line(Account.CASH, -amount, member_id=member_id),
        ],
        facts={
            "top_up_id": top_up.id,
            "member_id": member_id,
            "amount": amount,
            "reference": top_up.reference,
            "reason": text,
            "by": actor,
        },
        reverses_id=top_up.entry_id,
    )
    session.execute(
        update(Balance)
        .where(Balance.member_id == member_id)
        .values(balance_minor=Balance.balance_minor - amount)
        .execution_options(synchronize_session=False)
    )
    session.add(
        TopUpReversal(
            top_up_id=top_up.id,
            pool_id=pool.id,
            member_id=member_id,
            amount_minor=amount,
            reversed_on=today,
            reversed_at=datetime.now(UTC),
            reversed_by=actor,
            reason=text,
            entry_id=entry.id,
        )
    )
    session.flush()
    refrozen = _refreeze(
        session, plugins, pool, member_id, held - amount, top_up, f"top-up #{top_up.id} reversed: {text}"[:200]
    )
    return TopUpReversalRecord(
        top_up_id=top_up.id,
        pool_key=pool.key,
        member_id=member_id,
        currency=cur,
        amount_minor=amount,
        received_on=top_up.received_on,
        reference=top_up.reference,
        reversed_on=today,
        reversed_by=actor,
        reason=text,
        entry_seq=entry.seq,
        balance_minor=held - amount,
        refrozen_on=refrozen,
    )
