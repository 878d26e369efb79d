"""Prepaid balances and top-ups, and postpaid payment batches and results."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary import (
    PaymentResult,
    check_values,
)
from .base import Base, Id, Minor

#: How full PostgreSQL fills the pages of ``balances`` (percent): see :class:`Balance`.
BALANCES_FILLFACTOR = 50


class Balance(Base):
    """A prepaid member's balance in minor units (a liability of the pool to the member).

    Every prepaid run updates every member's balance. On PostgreSQL the table's pages are filled
    to half (revision 0014), so that each row's new version fits on its own page: the update is
    then "heap-only", writing neither index again (5.3 s for a million balances at the default
    fill, 2.0 s at half)."""

    __tablename__ = "balances"
    __table_args__ = {"postgresql_with": {"fillfactor": BALANCES_FILLFACTOR}}

    member_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger, index=True)
    balance_minor: Mapped[Minor]


class TopUp(Base):
    """Money a prepaid member put into their balance."""

    __tablename__ = "top_ups"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount_minor: Mapped[Minor]
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[int | None] = mapped_column(BigInteger)


#: A pool's top-ups by reference (each new top-up's is looked up: a reference is recorded once) and
#: by the entry that posted them (ledger verify's digest of an entry's top-ups, and its count of the
#: pool's top-ups that no entry posted, from the index alone). Revision 0013.
Index("ix_top_ups_pool_id_reference", TopUp.pool_id, TopUp.reference)
Index("ix_top_ups_pool_id_entry_id", TopUp.pool_id, TopUp.entry_id)


class TopUpReversal(Base):
    """A top-up recorded by mistake and reversed (the top-up's row is kept as it was): who, when,
    why and the reversing entry. Written only by mutualaid.payments.reversal."""

    __tablename__ = "top_up_reversals"

    top_up_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger, index=True)
    member_id: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[Minor]
    reversed_on: Mapped[date] = mapped_column(Date)
    reversed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reversed_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[int] = mapped_column(BigInteger)


class PaymentBatch(Base):
    """One imported file of payment results (postpaid pools)."""

    __tablename__ = "payment_batches"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger, index=True)
    source: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paid_count: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[Minor]
    failed_count: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("pool_id", "digest"),)


class Payment(Base):
    """One attempt to collect a charge (postpaid): paid or failed, on a day."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(BigInteger, index=True)
    run_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    result: Mapped[str] = mapped_column(String(16))
    attempted_on: Mapped[date] = mapped_column(Date)
    amount_minor: Mapped[Minor]

    __table_args__ = (CheckConstraint(check_values("result", PaymentResult), name="result"),)


Index("ix_payments_run_id_member_id", Payment.run_id, Payment.member_id)
