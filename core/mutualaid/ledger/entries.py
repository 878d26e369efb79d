"""Reading a pool's books: its entries with their lines, in order, as the API returns them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import LedgerEntry, LedgerLine
from ..errors import ValidationError
from ..vocabulary import Account, EntryKind, values
from .posting import Line, entry_lines

__all__ = ["EntryRecord", "list_entries"]


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """A stored entry with its lines."""

    id: int
    seq: int
    kind: EntryKind
    posted_on: date
    memo: str
    run_id: int | None
    claim_id: int | None
    batch_id: int | None
    reverses_id: int | None
    facts: dict[str, Any]
    hash: str
    lines: tuple[Line, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "kind": self.kind.value,
            "posted_on": self.posted_on.isoformat(),
            "memo": self.memo,
            "run_id": self.run_id,
            "claim_id": self.claim_id,
            "batch_id": self.batch_id,
            "reverses_id": self.reverses_id,
            "facts": self.facts,
            "hash": self.hash,
            "lines": [
                {
                    "account": ln.account.value,
                    "amount_minor": ln.amount,
                    "member_id": ln.member_id,
                    "claim_id": ln.claim_id,
                }
                for ln in self.lines
            ],
        }


def _record(entry: LedgerEntry, lines: Sequence[LedgerLine]) -> EntryRecord:
    return EntryRecord(
        id=entry.id,
        seq=entry.seq,
        kind=EntryKind(entry.kind),
        posted_on=entry.posted_on,
        memo=entry.memo,
        run_id=entry.run_id,
        claim_id=entry.claim_id,
        batch_id=entry.batch_id,
        reverses_id=entry.reverses_id,
        facts=json.loads(entry.facts_json),
        hash=entry.hash,
        lines=tuple(Line(Account(ln.account), int(ln.amount_minor), ln.member_id, ln.claim_id) for ln in lines),
    )


def list_entries(
    session: Session, pool_id: int, *, kind: str | None = None, limit: int | None = None
) -> list[EntryRecord]:
    """A pool's entries in order (the last ``limit`` when given), of one kind when ``kind`` is given.

    :raises ValidationError: if ``kind`` is not one of :class:`~mutualaid.vocabulary.EntryKind`.
    """
    query = select(LedgerEntry).where(LedgerEntry.pool_id == pool_id)
    if kind is not None:
        if kind not in values(EntryKind):
            raise ValidationError(
                [f"kind: {kind!r} is not a kind of ledger entry; the kinds are {', '.join(values(EntryKind))}"]
            )
        query = query.where(LedgerEntry.kind == kind)
    if limit:
        entries = list(reversed(session.scalars(query.order_by(LedgerEntry.seq.desc()).limit(limit)).all()))
    else:
        entries = list(session.scalars(query.order_by(LedgerEntry.seq)))
    lines = entry_lines(session, [e.id for e in entries])
    return [_record(e, lines[e.id]) for e in entries]
