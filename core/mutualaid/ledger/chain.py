"""The hash chain of a pool's entries: each entry's hash covers the entry before it.

An entry's hash is SHA-256 over the previous entry's hash and the entry's canonical JSON text (its
fields, facts and lines). It is computed from the values about to be written, before the entry is
inserted, so a posted entry is complete when written and is never written again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = ["GENESIS", "EntryFields", "LineFields", "entry_hash"]

#: The "previous hash" of a pool's first entry.
GENESIS = "0" * 64


class EntryFields(Protocol):
    """What the hash of an entry covers (a stored ``LedgerEntry`` has these attributes)."""

    pool_id: int
    seq: int
    kind: str
    posted_on: Any
    memo: str
    run_id: int | None
    claim_id: int | None
    batch_id: int | None
    reverses_id: int | None
    facts_json: str
    created_at: datetime


class LineFields(Protocol):
    """What the hash covers of each line (a stored ``LedgerLine`` has these attributes)."""

    line_no: int
    account: str
    member_id: int | None
    claim_id: int | None
    amount_minor: int


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; they were written in UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(entry: EntryFields, lines: Sequence[LineFields], prev_hash: str) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON text (fields, facts, lines)."""
    body = [
        entry.pool_id,
        entry.seq,
        str(entry.kind),
        entry.posted_on.isoformat(),
        entry.memo,
        entry.run_id,
        entry.claim_id,
        entry.batch_id,
        entry.reverses_id,
        entry.facts_json,
        _utc_text(entry.created_at),
        [[ln.line_no, str(ln.account), ln.member_id, ln.claim_id, int(ln.amount_minor)] for ln in lines],
    ]
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + "\n" + text).encode("utf-8")).hexdigest()
