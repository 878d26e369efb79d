"""The notices sent, one row a delivery."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary import (
    DeliveryStatus,
    check_values,
)
from .base import Base, Id


class NoticeDelivery(Base):
    """The send log of notices by email: one row per notice (kind and reference, such as a period
    or a claim) and member. A row is written ``sending`` and committed before the message goes to
    the server, and marked ``sent`` once the server accepted it; ``failed`` keeps the error and is
    retried by the next send."""

    __tablename__ = "notice_deliveries"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(BigInteger)
    address: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message_id: Mapped[str] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(check_values("status", DeliveryStatus), name="status"),
        UniqueConstraint("pool_id", "kind", "reference", "member_id"),
    )
