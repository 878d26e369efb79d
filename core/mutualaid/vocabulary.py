"""The words the core is written in: every status, policy, account and kind, as ``StrEnum``.

Each enum is used by the code, by the validation of pool files (pydantic takes the values as
written in TOML) and by a CHECK constraint in the database (:func:`check_values`), so a typo is an
error wherever it is made. A member of a ``StrEnum`` *is* its string: ``MemberStatus.ACTIVE ==
"active"``, and JSON, SQL and templates see the plain value.

Pure: no database, no I/O.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ADJUSTABLE_ACCOUNTS",
    "ENDED_STATUSES",
    "LIVE_STATUSES",
    "Account",
    "Bearer",
    "Calendar",
    "ClaimNoteKind",
    "ClaimStatus",
    "DeliveryStatus",
    "EntryKind",
    "FeePolicy",
    "Governance",
    "JuryStatus",
    "JuryThreshold",
    "Layout",
    "Locale",
    "MemberChange",
    "MemberState",
    "MemberStatus",
    "NoticeFormat",
    "NoticeKind",
    "ObjectionKind",
    "ObjectionRoute",
    "ObjectionStatus",
    "PaymentModel",
    "PaymentResult",
    "PaymentState",
    "Rounding",
    "ShortfallPolicy",
    "SmtpSecurity",
    "Vote",
    "Weighting",
    "check_values",
    "values",
]


class MemberStatus(StrEnum):
    """A membership's stored status; only ``mutualaid.members.lifecycle`` writes it."""

    ACTIVE = "active"  # a live membership (inside its waiting period or covered)
    FROZEN = "frozen"  # live, rights suspended: a prepaid balance could not cover a share
    LAPSED = "lapsed"  # ended: a postpaid share whose collection failed was not paid in its window
    EXITED = "exited"  # ended: the member left, or the pool's rules ended the membership
    DECEASED = "deceased"  # ended: the member died

    @property
    def live(self) -> bool:
        return self in LIVE_STATUSES


#: The statuses of a live membership (at most one per person and pool).
LIVE_STATUSES: tuple[MemberStatus, ...] = (MemberStatus.ACTIVE, MemberStatus.FROZEN)
#: The statuses of a membership that has ended, each with the day it ended (``ended_on``).
ENDED_STATUSES: tuple[MemberStatus, ...] = (MemberStatus.LAPSED, MemberStatus.EXITED, MemberStatus.DECEASED)


class MemberState(StrEnum):
    """What a person sees of a membership on a day: its status, or ``waiting`` while an active
    member is inside the waiting period (a state of cover, decided by the date, never stored)."""

    WAITING = "waiting"
    ACTIVE = "active"
    FROZEN = "frozen"
    LAPSED = "lapsed"
    EXITED = "exited"
    DECEASED = "deceased"


class MemberChange(StrEnum):
    """A change recorded in a member's history (``member_status_changes.change``)."""

    JOINED = "joined"  # the membership begins (status active), on the joining day
    COVERED = "covered"  # the waiting period ends: illness is covered from this day (status stays active)
    FROZEN = "frozen"  # a prepaid balance could not cover a share
    UNFROZEN = "unfrozen"  # a top-up brought the balance back to the pool's low_balance
    LAPSED = "lapsed"  # a failed share was not paid when its retry window closed
    EXITED = "exited"  # the member left, or an event ended the membership under the pool's rules
    DIED = "died"  # the member died (recorded by the operator, or by the member's claim)


class ClaimStatus(StrEnum):
    """A claim's stored status; only ``mutualaid.claims.machine`` writes it (its ``TRANSITIONS``
    say which status leads to which)."""

    FILED = "filed"
    UNDER_REVIEW = "under-review"  # investigated: documents and notes gathered, costs recorded
    PROPOSED = "proposed"  # a decision proposed (pay so much, or reject and why), not yet public
    IN_NOTICE = "in-notice"  # the proposed decision in public notice (公示) for the pool's window
    OBJECTED = "objected"  # a member objected during the window (or the claimant disputed a rejection)
    AT_JURY = "at-jury"  # a member jury (评议团) decides it
    APPROVED = "approved"
    REJECTED = "rejected"
    SHARED = "shared"
    WITHDRAWN = "withdrawn"  # taken back before it was shared (``claim withdraw``): final


class Governance(StrEnum):
    """How a pool decides its claims: the operator alone (``direct``), or the full public process
    (``public``: review, proposal, public notice, objections and a member jury)."""

    DIRECT = "direct"
    PUBLIC = "public"


class ObjectionRoute(StrEnum):
    """Where an objection sends a claim: back to review, or to a member jury."""

    REVIEW = "review"
    JURY = "jury"


class ObjectionKind(StrEnum):
    OBJECTION = "objection"  # a member objects to a proposed decision in public notice
    DISPUTE = "dispute"  # the claimant disputes a rejection


class ObjectionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # the claim was reviewed again or the jury decided


class JuryThreshold(StrEnum):
    """The share of the votes cast a jury's decision to pay needs."""

    MAJORITY = "majority"  # more than half
    TWO_THIRDS = "two-thirds"
    THREE_QUARTERS = "three-quarters"

    def reached(self, pay: int, cast: int) -> bool:
        """Whether ``pay`` votes of ``cast`` reach this share: more than half for a majority, at
        least two thirds or three quarters; integers only, no rounding; no votes reach nothing."""
        numerator, denominator, inclusive = _THRESHOLD_SHARES[self]
        if cast <= 0:
            return False
        return pay * denominator >= numerator * cast if inclusive else pay * denominator > numerator * cast


#: Each threshold as (numerator, denominator, whether reaching the share exactly is enough).
_THRESHOLD_SHARES = {
    JuryThreshold.MAJORITY: (1, 2, False),
    JuryThreshold.TWO_THIRDS: (2, 3, True),
    JuryThreshold.THREE_QUARTERS: (3, 4, True),
}


class JuryStatus(StrEnum):
    OPEN = "open"  # drawn, voting
    DECIDED = "decided"  # closed with a quorum: the tally decided the claim
    NO_QUORUM = "no-quorum"  # closed without a quorum: the claim goes back to review


class ClaimNoteKind(StrEnum):
    DOCUMENT = "document"  # a document attached by reference (a file name, an archive number)
    NOTE = "note"  # an investigator's note


class Vote(StrEnum):
    PAY = "pay"  # the claim should be paid as proposed
    REJECT = "reject"


class Calendar(StrEnum):
    MONTHLY = "monthly"
    SEMI_MONTHLY = "semi-monthly"


class Rounding(StrEnum):
    """How a period's need is split: rounded up (surplus carried on) or exactly (extra fen rotate)."""

    ROUND_UP = "round-up"
    EXACT = "exact"


class FeePolicy(StrEnum):
    RATE = "rate"
    FLAT = "flat"
    NONE = "none"


class Weighting(StrEnum):
    EQUAL = "equal"
    COHORT = "cohort"


class PaymentModel(StrEnum):
    POSTPAID = "postpaid"
    PREPAID = "prepaid"


class ShortfallPolicy(StrEnum):
    """Who bears what caps kept members from paying: ``none`` is stored on a run of a pool without caps."""

    SPONSOR = "sponsor"
    PRORATE = "prorate"
    CARRY = "carry"
    NONE = "none"


class Bearer(StrEnum):
    """Who bears an amount the members did not pay (an unpaid share, a refund on a denial): the
    sponsor, or the pool's next period (carried as a deficit)."""

    SPONSOR = "sponsor"
    CARRY = "carry"


class PaymentResult(StrEnum):
    PAID = "paid"
    FAILED = "failed"


class PaymentState(StrEnum):
    """What became of one postpaid share."""

    PAID = "paid"
    UNPAID = "unpaid"
    WRITTEN_OFF = "written-off"


class Account(StrEnum):
    """The ledger's accounts (debit-positive); :attr:`description` says what each holds."""

    MEMBERS_DUE = "members_due"
    MEMBER_BALANCES = "member_balances"
    CASH = "cash"
    AID_PAYABLE = "aid_payable"
    FEE_INCOME = "fee_income"
    SURPLUS = "surplus"
    DEFICIT = "deficit"
    SPONSOR_DUE = "sponsor_due"
    REFUNDS_PAYABLE = "refunds_payable"

    @property
    def description(self) -> str:
        return _ACCOUNT_DESCRIPTIONS[self]


_ACCOUNT_DESCRIPTIONS = {
    Account.MEMBERS_DUE: "postpaid shares charged and not yet paid",
    Account.MEMBER_BALANCES: "prepaid balances held for members",
    Account.CASH: "money received",
    Account.AID_PAYABLE: "benefits funded and owed to claimants",
    Account.FEE_INCOME: "the operator's management fee",
    Account.SURPLUS: "collected beyond the need, carried to the next period",
    Account.DEFICIT: "shortfall carried to the next period",
    Account.SPONSOR_DUE: "what the operator or sponsor pays",
    Account.REFUNDS_PAYABLE: "contributions to be given back to members",
}

#: Accounts an operator may move by hand: money actually paid out or received outside the pool's
#: own records (benefits paid to claimants, refunds paid, the sponsor paying what it owes, the fee
#: taken). Accounts kept by the pool's records (members' dues and balances, surplus, deficit) move
#: only with the records that explain them.
ADJUSTABLE_ACCOUNTS: tuple[Account, ...] = (
    Account.CASH,
    Account.AID_PAYABLE,
    Account.REFUNDS_PAYABLE,
    Account.SPONSOR_DUE,
    Account.FEE_INCOME,
)


class EntryKind(StrEnum):
    """What posted a ledger entry."""

    SHARING = "sharing"  # a sharing run
    PAYMENTS = "payments"  # a file of postpaid payment results
    UNPAID = "unpaid"  # a postpaid retry window settled (its failed shares written off)
    TOP_UP = "top-up"  # prepaid top-ups
    REFUND = "refund"  # contributions refunded on a denied claim
    INVESTIGATION = "investigation"  # a claim's investigation cost, paid from the operator's fee
    ADJUSTMENT = "adjustment"  # an operator's entry, or the reversal of one
    VOID = "void"  # a sharing run voided before its deduction day: the exact reversal of its entry
    TOP_UP_REVERSAL = "top-up-reversal"  # a top-up recorded by mistake, reversed


class NoticeKind(StrEnum):
    """The core's kinds of member notice; each is a spec of the one notice pipeline and templates
    of the same name (``<locale>/<kind>.txt.j2`` and ``<locale>/<kind>.html.j2``). A cohort can add
    kinds of its own (the ``register_notice_kinds`` hook)."""

    WELCOME = "welcome"
    STATEMENT = "statement"
    PUBLIC_NOTICE = "public-notice"  # the cases to be shared, for everyone (公示)
    DECISION = "decision"  # a decision letter to a claimant
    PAYMENT_FAILED = "payment-failed"  # postpaid: a share could not be collected; the retry window
    LAPSE = "lapse"
    FROZEN = "frozen"
    UNFROZEN = "unfrozen"
    LOW_BALANCE = "low-balance"
    EXIT = "exit"  # confirmation of leaving the pool
    OBJECTION_RECEIVED = "objection-received"  # to a claimant: a member objected to the proposed decision
    JURY_INVITATION = "jury-invitation"  # to each juror of an open jury: the case, how to vote, by when
    JURY_RESULT = "jury-result"  # a jury's tally and outcome, for everyone
    RUN_VOIDED = "run-voided"  # to each member a voided run charged: the charge was withdrawn, and why


class NoticeFormat(StrEnum):
    """What a notice is rendered as: plain text, or HTML (readable on a phone, printable)."""

    TEXT = "text"
    HTML = "html"


class SmtpSecurity(StrEnum):
    """How the connection to the mail server is secured."""

    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


class DeliveryStatus(StrEnum):
    """Where a notice sent by email stands in the send log."""

    SENDING = "sending"  # handed to the server; recorded first, so a crash leaves it in doubt, not lost
    SENT = "sent"  # the server accepted it
    FAILED = "failed"  # the server refused it or could not be reached; retried by the next send


class Locale(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


class Layout(StrEnum):
    """How rendered notices are written: one file per member, or one stream file (for scale)."""

    FILES = "files"
    STREAM = "stream"


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    """The values of ``enum``, in definition order: ``values(Rounding) == ("round-up", "exact")``."""
    return tuple(member.value for member in enum)


def check_values(column: str, enum: type[StrEnum] | tuple[str, ...]) -> str:
    """The SQL of a CHECK constraint keeping ``column`` to the values of ``enum``, written as
    equalities (``status = 'active' OR status = 'frozen' OR ...``): SQLite checks an ``IN`` list of
    three values or more in a CHECK constraint by building a table of them for every row written,
    which cost a bulk write about 2.5 µs a row (revision 0015)."""
    allowed = values(enum) if isinstance(enum, type) else enum
    return " OR ".join(f"{column} = {_sql_text(value)}" for value in allowed)


def _sql_text(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
