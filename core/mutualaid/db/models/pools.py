"""A pool: its key, cohort, currency, configuration and the head of its ledger chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Id, Key


class Pool(Base):
    __tablename__ = "pools"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[Key] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    cohort: Mapped[Key]
    currency: Mapped[str] = mapped_column(String(3))
    config_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The head of the pool's ledger hash chain: deleting the last entry is detected against it.
    ledger_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    ledger_head: Mapped[str | None] = mapped_column(String(64))
