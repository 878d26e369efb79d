"""What the payments domain gives back: imports, settlements, shares, top-ups and balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ..money import Money, from_minor

__all__ = [
    "BalanceRecord",
    "Deduction",
    "LowBalance",
    "PaymentImport",
    "PaymentStatus",
    "Settlement",
    "TopUpImport",
    "TopUpLine",
    "TopUpRecord",
]


class _Amounts:
    """Amounts stored as minor units (``*_minor``), read as :class:`~mutualaid.Money`."""

    __slots__ = ()
    currency: str

    def money(self, minor: int) -> Money:
        return Money.from_minor(minor, self.currency)


@dataclass(frozen=True, slots=True)
class PaymentImport(_Amounts):
    """What :func:`import_payments` recorded: one batch and its ledger entry (amounts in minor units)."""

    batch_id: int
    pool_key: str
    source: str
    digest: str
    currency: str
    rows: int
    paid_count: int
    paid_minor: int
    failed_count: int
    entry_id: int

    @property
    def paid(self) -> Money:
        """What the paid results of the file came to."""
        return self.money(self.paid_minor)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "pool": self.pool_key,
            "source": self.source,
            "digest": self.digest,
            "currency": self.currency,
            "rows": self.rows,
            "paid_count": self.paid_count,
            "paid": str(from_minor(self.paid_minor, self.currency)),
            "failed_count": self.failed_count,
            "entry_id": self.entry_id,
        }


@dataclass(frozen=True, slots=True)
class Settlement(_Amounts):
    """One postpaid run whose retry window closed: its failed shares written off, their members lapsed.

    ``unpaid_count``/``unpaid_minor`` are the shares whose collection was reported ``failed`` and never
    ``paid`` (written off); ``due_count`` the shares with no result reported at all, which stay due.
    ``lapsed`` counts the members whose membership this ended; a failed share of a member who had
    already left (or lapsed over an earlier period) is written off without changing the member.
    """

    run_id: int
    pool_key: str
    period: str
    currency: str
    window_closed: date
    charged_count: int
    unpaid_count: int
    unpaid_minor: int
    lapsed: int
    policy: str
    entry_id: int
    due_count: int = 0

    @property
    def paid_count(self) -> int:
        return self.charged_count - self.unpaid_count - self.due_count

    @property
    def unpaid(self) -> Money:
        """The shares written off."""
        return self.money(self.unpaid_minor)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "pool": self.pool_key,
            "period": self.period,
            "currency": self.currency,
            "window_closed": self.window_closed.isoformat(),
            "charged_count": self.charged_count,
            "paid_count": self.paid_count,
            "unpaid_count": self.unpaid_count,
            "unpaid": str(from_minor(self.unpaid_minor, self.currency)),
            "due_count": self.due_count,
            "lapsed": self.lapsed,
            "policy": self.policy,
            "entry_id": self.entry_id,
        }


@dataclass(frozen=True, slots=True)
class PaymentStatus(_Amounts):
    """A member's share of one postpaid run and what became of it.

    ``state`` is ``paid``, ``unpaid`` (not paid and still due: the retry window is open, the run is
    not yet settled, or no result was ever reported) or ``written-off`` (collecting it failed, no
    retry was paid, and the run was settled).
    """

    member_id: int
    name: str
    member_status: str
    charge_minor: int
    currency: str
    state: str
    paid_on: date | None
    failed_attempts: int
    last_attempt: date | None

    @property
    def charge(self) -> Money:
        """The share charged."""
        return self.money(self.charge_minor)

    def as_dict(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "name": self.name,
            "member_status": self.member_status,
            "charge": str(from_minor(self.charge_minor, self.currency)),
            "state": self.state,
            "paid_on": self.paid_on.isoformat() if self.paid_on else None,
            "failed_attempts": self.failed_attempts,
            "last_attempt": self.last_attempt.isoformat() if self.last_attempt else None,
        }


@dataclass(frozen=True, slots=True)
class TopUpRecord(_Amounts):
    """One top-up as recorded, with the member's balance after it."""

    id: int
    pool_key: str
    member_id: int
    currency: str
    amount_minor: int
    received_on: date
    reference: str
    balance_minor: int
    unfrozen: bool
    entry_id: int

    @property
    def amount(self) -> Money:
        """The top-up."""
        return self.money(self.amount_minor)

    @property
    def balance(self) -> Money:
        """The member's balance after it."""
        return self.money(self.balance_minor)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pool": self.pool_key,
            "member_id": self.member_id,
            "currency": self.currency,
            "amount": str(from_minor(self.amount_minor, self.currency)),
            "received_on": self.received_on.isoformat(),
            "reference": self.reference,
            "balance": str(from_minor(self.balance_minor, self.currency)),
            "unfrozen": self.unfrozen,
            "entry_id": self.entry_id,
        }


@dataclass(frozen=True, slots=True)
class TopUpImport(_Amounts):
    """What :func:`import_top_ups` recorded."""

    pool_key: str
    source: str
    currency: str
    rows: int
    members: int
    total_minor: int
    unfrozen: int
    entry_id: int

    @property
    def total(self) -> Money:
        """What the file's top-ups came to."""
        return self.money(self.total_minor)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool_key,
            "source": self.source,
            "currency": self.currency,
            "rows": self.rows,
            "members": self.members,
            "total": str(from_minor(self.total_minor, self.currency)),
            "unfrozen": self.unfrozen,
            "entry_id": self.entry_id,
        }


@dataclass(frozen=True, slots=True)
class TopUpLine:
    """A top-up in a member's history."""

    id: int
    received_on: date
    amount_minor: int
    reference: str
    #: When it was reversed (``balance reverse``), and why; ``None`` if it stands.
    reversed_on: date | None = None
    reversal_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Deduction:
    """A share deducted from a member's balance by a prepaid run."""

    run_id: int
    period: str
    deducted_on: date
    amount_minor: int
    #: The run was voided: the share was given back to the balance.
    voided: bool = False


@dataclass(frozen=True, slots=True)
class BalanceRecord(_Amounts):
    """A prepaid member's balance, state and history (amounts in minor units)."""

    member_id: int
    pool_key: str
    name: str
    status: str
    currency: str
    balance_minor: int
    low_balance_minor: int
    top_ups: tuple[TopUpLine, ...]
    deductions: tuple[Deduction, ...]
    frozen_spans: tuple[tuple[date, date | None], ...]

    @property
    def frozen(self) -> bool:
        return self.status == "frozen"

    @property
    def low(self) -> bool:
        return self.balance_minor < self.low_balance_minor

    def amount(self, minor: int) -> Decimal:
        return from_minor(minor, self.currency)

    @property
    def balance(self) -> Money:
        """The member's balance."""
        return self.money(self.balance_minor)

    @property
    def low_balance(self) -> Money:
        """The pool's reminder level."""
        return self.money(self.low_balance_minor)

    def as_dict(self) -> dict[str, Any]:
        cur = self.currency
        return {
            "member_id": self.member_id,
            "pool": self.pool_key,
            "name": self.name,
            "status": self.status,
            "frozen": self.frozen,
            "currency": cur,
            "balance": str(from_minor(self.balance_minor, cur)),
            "low_balance": str(from_minor(self.low_balance_minor, cur)),
            "low": self.low,
            "top_ups": [
                {
                    "id": t.id,
                    "received_on": t.received_on.isoformat(),
                    "amount": str(from_minor(t.amount_minor, cur)),
                    "reference": t.reference,
                    **(
                        {"reversed_on": t.reversed_on.isoformat(), "reversal_reason": t.reversal_reason}
                        if t.reversed_on
                        else {}
                    ),
                }
                for t in self.top_ups
            ],
            "deductions": [
                {
                    "run_id": d.run_id,
                    "period": d.period,
                    "deducted_on": d.deducted_on.isoformat(),
                    "amount": str(from_minor(d.amount_minor, cur)),
                    **({"voided": True} if d.voided else {}),
                }
                for d in self.deductions
            ],
            "frozen_spans": [[start.isoformat(), end.isoformat() if end else None] for start, end in self.frozen_spans],
        }


@dataclass(frozen=True, slots=True)
class LowBalance(_Amounts):
    """A live member of a prepaid pool whose balance is below the threshold."""

    member_id: int
    name: str
    status: str
    balance_minor: int
    currency: str

    @property
    def balance(self) -> Money:
        """The member's balance."""
        return self.money(self.balance_minor)
