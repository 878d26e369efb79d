"""Database tables (SQLAlchemy 2 typed models). The schema itself is made by Alembic migrations.

Money columns are integers of minor units (``*_minor``) beside the pool's currency. The charges
table is designed for the write: a natural (run, member) primary key, no per-row foreign keys
(every charge is built from the members table in the same statement) and no secondary index (every
read of charges is by run, or by run and member).
"""

from .base import NOT_ACTIVE, PAST_JOINING, Base
from .claims import (
    Claim,
    ClaimAmendment,
    ClaimCost,
    ClaimNote,
    ClaimObjection,
    ClaimStatusChange,
    Juror,
    Jury,
    JuryQualification,
)
from .ledger import LedgerEntry, LedgerLine, LedgerVerification
from .members import IdentityKey, Member, MemberIdentityCorrection, MemberStatusChange
from .notices import NoticeDelivery
from .payments import Balance, Payment, PaymentBatch, TopUp, TopUpReversal
from .pools import Pool
from .sharing import Charge, SharingRun, SharingRunVoid

__all__ = [
    "NOT_ACTIVE",
    "PAST_JOINING",
    "Balance",
    "Base",
    "Charge",
    "Claim",
    "ClaimAmendment",
    "ClaimCost",
    "ClaimNote",
    "ClaimObjection",
    "ClaimStatusChange",
    "Juror",
    "Jury",
    "JuryQualification",
    "LedgerEntry",
    "LedgerLine",
    "LedgerVerification",
    "IdentityKey",
    "Member",
    "MemberIdentityCorrection",
    "MemberStatusChange",
    "NoticeDelivery",
    "Payment",
    "PaymentBatch",
    "Pool",
    "SharingRun",
    "SharingRunVoid",
    "TopUp",
    "TopUpReversal",
]
