"""A claim's investigation (public governance): opening it, its file (documents attached by
reference, investigators' notes) and what it cost. A cost is posted to the ledger as an entry of
kind ``investigation``: the operator pays it out of its fee (fee income debited, cash credited),
so the books show what the fee is left with. The only writer of a claim's notes and costs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from ..db.models import ClaimCost, ClaimNote
from ..errors import ValidationError
from ..ledger.posting import Line, post_entry
from ..money import to_minor
from ..plugins import Plugins
from ..pools import pool_today
from ..vocabulary import Account, ClaimNoteKind, ClaimStatus, EntryKind
from . import machine
from .governance import _actor, _day, _file_open, _public, _text
from .records import ClaimRecord, InvestigationCost, InvestigationNote, cost_of, note_of, record_of

__all__ = ["add_cost", "add_note", "investigate_claim"]


def investigate_claim(session: Session, plugins: Plugins, claim_id: int, *, by: str) -> ClaimRecord:
    """Open a filed claim's investigation (filed -> under-review); ``by`` reviews it."""
    actor = _actor(by)
    row, pool = _public(session, plugins, claim_id)
    machine.move(
        session, row, ClaimStatus.UNDER_REVIEW, cause="investigation opened", actor=actor, sources=(ClaimStatus.FILED,)
    )
    row.reviewed_by = actor
    session.flush()
    return record_of(row, pool)


def add_note(
    session: Session,
    plugins: Plugins,
    claim_id: int,
    *,
    by: str,
    document: str | None = None,
    note: str | None = None,
) -> InvestigationNote:
    """Add a document (by reference: a file name, an archive number) or a note to a claim's
    investigation file, until the claim is decided."""
    actor = _actor(by)
    if (document is None) == (note is None):
        raise ValidationError(["give either --document REF or --note TEXT"])
    kind = ClaimNoteKind.DOCUMENT if document is not None else ClaimNoteKind.NOTE
    text = _text(document if document is not None else note, f"--{kind.value}", f"the {kind.value} is empty")
    row, _ = _public(session, plugins, claim_id)
    _file_open(row, "documents and notes")
    added = ClaimNote(claim_id=row.id, kind=kind.value, text=text, added_by=actor, added_at=datetime.now(UTC))
    session.add(added)
    session.flush()
    return note_of(added)


def add_cost(
    session: Session,
    plugins: Plugins,
    claim_id: int,
    amount: Decimal | str | int,
    *,
    description: str,
    on: str | date | None = None,
    by: str,
) -> InvestigationCost:
    """Record what investigating a claim cost (above 0, exact in the pool's currency, on a day
    between the filing and today), paid by the operator out of its fee: a ledger entry of kind
    ``investigation``, fee income debited and cash credited.

    :raises ValidationError: naming the problems with the amount, the day and the description.
    """
    actor = _actor(by)
    row, pool = _public(session, plugins, claim_id)
    _file_open(row, "investigation costs")
    summary = f"the investigation cost of claim #{row.id} was not recorded:"
    problems: list[str] = [] if (description or "").strip() else ["--description: say what the cost was for"]
    try:
        minor = to_minor(amount, pool.currency)
    except (TypeError, ValueError) as exc:
        raise ValidationError([f"amount: {exc}", *problems], summary=summary) from None
    if minor <= 0:
        problems.append(f"amount: must be above 0 ({amount} given)")
    day = _day(on, pool_today(pool.definition), "the day of the cost")
    if day < row.filed_on:
        problems.append(f"--on: {day.isoformat()} is before claim #{row.id} was filed on {row.filed_on.isoformat()}")
    if problems:
        raise ValidationError(problems, summary=summary)
    text = description.strip()
    entry = post_entry(
        session,
        pool.id,
        kind=EntryKind.INVESTIGATION,
        posted_on=day,
        memo=f"investigation of claim #{row.id}: {text}, paid from the operator's fee",
        lines=[Line(Account.FEE_INCOME, minor, claim_id=row.id), Line(Account.CASH, -minor, claim_id=row.id)],
        facts={"claim_id": row.id, "cost": minor, "incurred_on": day.isoformat(), "recorded_by": actor},
        claim_id=row.id,
    )
    cost = ClaimCost(
        claim_id=row.id, amount_minor=minor, description=text, incurred_on=day, recorded_by=actor, entry_id=entry.id
    )
    session.add(cost)
    session.flush()
    return cost_of(cost, pool.currency)
