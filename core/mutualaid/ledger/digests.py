"""Digests of the records an entry rests on: SHA-256 over their rows in a canonical order and form,
the same on SQLite and PostgreSQL for the same data.

An entry cannot hold a million charges, so it holds their digest, and ``ledger verify``
recomputes it: any change to a charge's amount, member or run, a charge added or removed, changes
the digest (a collision-resistant hash, not a checksum a careful edit can keep). The same holds for
the claims a run funded and for the rows of a payment batch or a top-up.

Kind ``sha256-v1`` (:data:`DIGEST_KIND`, recorded in each entry's facts), byte for byte:

* a run's charges: ``b"mutualaid:charges:v1\\n"``, the run's number, then for each charge in
  member-number order its member number and amount in minor units -- every integer an 8-byte
  big-endian signed one. The run column is the header's: a charge moved to another run leaves
  this run's rows (and enters the other's). Read from the database a slice at a time, never all
  rows in memory.
* a run's claims: ``b"mutualaid:claims:v1\\n"``, then one line of compact JSON per claim, in claim
  order: number, pool, member, event kind, event date, status, benefit, cap, funded amount, refund,
  the funding run, the claim's details and the member's attributes it was decided on.
* a payment batch's rows: ``b"mutualaid:payments:v1\\n"`` and the batch number, then per payment
  (ordered by run, member, day, result, amount) one JSON line ``[run, member, result, day, amount]``.
* a top-up entry's rows: ``b"mutualaid:top-ups:v1\\n"``, then per top-up (ordered by member, day,
  amount, reference) one JSON line ``[member, amount, day, reference]``.

Entries posted before digests existed recorded a checksum, sum(amount x (member mod 997)), which
:func:`legacy_checksum` still computes so that they verify by the kind they recorded.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Charge, Claim

# numpy is imported by the functions that hash a run's charges, not here: most commands import
# this module and never hash charges, and numpy costs a process about 70 ms to import.

__all__ = [
    "CHECKSUM_MOD",
    "DIGEST_KIND",
    "ChargeFigures",
    "charge_figures",
    "claim_rows",
    "claims_digest",
    "legacy_checksum",
    "payment_rows_digest",
    "payments_digest",
    "top_up_rows_digest",
    "staged_top_ups_digest",
    "top_ups_digest",
]

#: The kind of digest an entry records (``digest_kind`` in its facts).
DIGEST_KIND = "sha256-v1"

#: The checksum of entries posted before digests: sum(amount x (member mod CHECKSUM_MOD)). It misses
#: a minor unit moved between two members whose numbers are equal modulo the prime; kept only to
#: verify those entries by the kind they recorded.
CHECKSUM_MOD = 997

#: Rows fetched from the database at a time while hashing.
BATCH = 65_536


@dataclass(frozen=True, slots=True)
class ChargeFigures:
    """A run's charges as the database holds them: rows, their total and their digest."""

    rows: int
    total: int
    digest: str


def _raw_rows(session: Session, sql: str, params: Sequence[Any]) -> Iterator[list[Any]]:
    """Batches of rows of ``sql`` (``?`` placeholders) through the driver's own cursor, inside the
    session's transaction: SQLite's cursor steps through the result; on PostgreSQL a server-side
    cursor streams it, so neither holds every row."""
    connection = session.connection()
    raw: Any = connection.connection.dbapi_connection
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        sql = sql.replace("?", "%s")
        cursor = raw.cursor(name="mutualaid_digest")
        cursor.itersize = BATCH
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql, tuple(params))
        while True:
            rows = cursor.fetchmany(BATCH)
            if not rows:
                return
            yield rows
    finally:
        cursor.close()


def charge_figures(session: Session, run_id: int) -> ChargeFigures:
    """Rows, total and SHA-256 digest of a run's charges, in one pass over them.

    On SQLite no charge becomes a Python object (reading a million rows one tuple at a time cost
    as much as writing them): SQLite lists a slice of :data:`CHARGE_SLICE` member numbers and
    amounts as text, which numpy parses. PostgreSQL streams them through a server-side cursor in
    batches of :data:`BATCH` (its aggregates, ``string_agg`` of ``int8send`` or ``array_agg``, and a
    binary ``COPY``, were all slower here). Either way the bytes hashed are exactly those of the
    format above, and memory holds one slice at most."""
    digest = hashlib.sha256(b"mutualaid:charges:v1\n" + int(run_id).to_bytes(8, "big", signed=True))
    if session.connection().dialect.name == "postgresql":
        rows, total = _stream_charges(session, digest, int(run_id))
    else:
        rows, total = _slice_charges(session, digest, int(run_id))
    return ChargeFigures(rows, total, digest.hexdigest())


#: Charges read per query or parsed at a time by :func:`charge_figures` (16 bytes each hashed).
CHARGE_SLICE = 1 << 20
#: count, last member, member numbers and amounts as comma-separated text, and how many values are
#: not integers, of the next slice of a run's charges after a member number (in member order: the
#: sub-query's, which SQLite aggregates as it reads; checked all the same).
_SQLITE_SLICE = (
    "SELECT count(*), max(member_id), group_concat(member_id), group_concat(amount_minor), "
    "sum(typeof(member_id) != 'integer' OR typeof(amount_minor) != 'integer') FROM ("
    "SELECT member_id, amount_minor FROM charges WHERE run_id = ? AND member_id > ? ORDER BY member_id LIMIT ?)"
)


def _slice_charges(session: Session, digest: Any, run_id: int) -> tuple[int, int]:
    import numpy as np

    connection = session.connection()
    rows = total = 0
    last: int | None = None
    while True:
        found = connection.exec_driver_sql(_SQLITE_SLICE, (run_id, _floor(last), CHARGE_SLICE)).first()
        if found is None or not found[0]:
            return rows, total
        count, end = int(found[0]), int(found[1])
        members = np.fromstring(found[2], dtype=np.int64, sep=",") if not found[4] else None
        amounts = np.fromstring(found[3], dtype=np.int64, sep=",") if not found[4] else None
        if members is None or amounts is None or len(members) != count or len(amounts) != count or not _rising(members):
            # A value that is not an integer (only an edit by hand makes one): row by row.
            total += _hash_rows(session, digest, run_id, last, end)
        else:
            total += _hash_packed(digest, members, amounts)
        rows += count
        last = end


def _stream_charges(session: Session, digest: Any, run_id: int) -> tuple[int, int]:
    import numpy as np

    rows = total = 0
    for batch in _raw_rows(
        session, "SELECT member_id, amount_minor FROM charges WHERE run_id = ? ORDER BY member_id", (run_id,)
    ):
        pairs = np.frombuffer(array("q", chain.from_iterable(batch)), dtype=np.int64)
        total += _hash_packed(digest, pairs[0::2], pairs[1::2])
        rows += len(batch)
    return rows, total


def _rising(members: Any) -> bool:
    import numpy as np

    return len(members) < 2 or bool(np.all(members[1:] > members[:-1]))


def _hash_packed(digest: Any, members: Any, amounts: Any) -> int:
    """Hash charges given as two integer arrays, and return their total, exact (numpy's int64 sum
    only where it cannot overflow: always, unless amounts were edited to absurd values)."""
    import numpy as np

    packed = np.empty(2 * len(members), dtype=">i8")
    packed[0::2] = members
    packed[1::2] = amounts
    digest.update(packed.tobytes())
    if not len(amounts):
        return 0
    largest = max(abs(int(amounts.min())), abs(int(amounts.max())))
    if largest * len(amounts) < 1 << 63:
        return int(amounts.sum(dtype=np.int64))
    return sum(int(amount) for amount in amounts.tolist())


def _floor(last: int | None) -> int:
    """The member number a slice starts after (any number, negative ones too, the first time)."""
    return -(1 << 63) if last is None else last


def _hash_rows(session: Session, digest: Any, run_id: int, after: int | None, end: int) -> int:
    """Hash the charges of the run after member ``after`` up to member ``end`` row by row, and
    return their total. A value that is not an integer (only an edit by hand makes one) is hashed
    as its text after a zero byte, which no charge's bytes can equal: the digest then differs."""
    total = 0
    for batch in _raw_rows(
        session,
        "SELECT member_id, amount_minor FROM charges WHERE run_id = ? AND member_id > ? AND member_id <= ? "
        "ORDER BY member_id",
        (int(run_id), _floor(after), end),
    ):
        for member_id, amount in batch:
            if type(member_id) is int and type(amount) is int:
                digest.update(member_id.to_bytes(8, "big", signed=True) + amount.to_bytes(8, "big", signed=True))
                total += amount
            else:
                digest.update(b"\0" + repr((member_id, amount)).encode())
    return total


def legacy_checksum(session: Session, run_id: int) -> int:
    """The checksum entries recorded before digests: sum(amount x (member number mod 997))."""
    value = session.scalar(
        select(func.coalesce(func.sum(Charge.amount_minor * (Charge.member_id % CHECKSUM_MOD)), 0)).where(
            Charge.run_id == run_id
        )
    )
    return int(value or 0)


def _line(values: Sequence[Any]) -> bytes:
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _day(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def claim_rows(session: Session, run_id: int) -> list[tuple[Any, ...]]:
    """The claims a run funded, each as the values its digest covers, in claim order."""
    rows = session.execute(
        select(
            Claim.id,
            Claim.pool_id,
            Claim.member_id,
            Claim.event_kind,
            Claim.event_date,
            Claim.status,
            Claim.benefit_minor,
            Claim.cap_minor,
            Claim.funded_minor,
            Claim.refund_minor,
            Claim.sharing_run_id,
            Claim.details_json,
            Claim.member_attributes_json,
        )
        .where(Claim.sharing_run_id == run_id)
        .order_by(Claim.id)
    ).all()
    return [(*row[:4], _day(row[4]), *row[5:]) for row in rows]


def claims_digest(rows: Iterable[Sequence[Any]]) -> str:
    """SHA-256 over the claims of :func:`claim_rows`."""
    digest = hashlib.sha256(b"mutualaid:claims:v1\n")
    for row in rows:
        digest.update(_line(row))
    return digest.hexdigest()


def _payment_key(row: Sequence[Any]) -> tuple[Any, ...]:
    run_id, member_id, result, day, amount = row
    return (int(run_id), int(member_id), _day(day), 0 if result == "failed" else 1, int(amount))


def payment_rows_digest(batch_id: int, rows: Iterable[Sequence[Any]]) -> str:
    """SHA-256 over a batch's payments given as ``(run, member, result, day, amount)``, in any order
    (what an import computes before it writes them)."""
    digest = hashlib.sha256(b"mutualaid:payments:v1\n" + int(batch_id).to_bytes(8, "big", signed=True))
    for run_id, member_id, day, code, amount in sorted(_payment_key(r) for r in rows):
        result = "failed" if code == 0 else "paid"
        digest.update(_line((run_id, member_id, result, day, amount)))
    return digest.hexdigest()


def payments_digest(session: Session, batch_id: int) -> tuple[int, int, int, int, str]:
    """(rows, paid count, paid total, failed count, digest) of a batch's payments as stored.

    Streamed through the driver's cursor (:func:`_raw_rows`); each row's JSON line is written by
    hand when its values are what an import stores (integers, ``paid`` or ``failed``, a day as plain
    text), which is the very text :func:`json.dumps` gives them, and by :func:`json.dumps` otherwise
    (a value edited by hand)."""
    digest = hashlib.sha256(b"mutualaid:payments:v1\n" + int(batch_id).to_bytes(8, "big", signed=True))
    rows = paid_count = paid = failed = 0
    days: dict[Any, str | None] = {}
    for batch in _raw_rows(
        session,
        "SELECT run_id, member_id, result, attempted_on, amount_minor FROM payments WHERE batch_id = ? "
        "ORDER BY run_id, member_id, attempted_on, CASE WHEN result = 'failed' THEN 0 ELSE 1 END, amount_minor",
        (int(batch_id),),
    ):
        lines = []
        for run_id, member_id, result, day, amount in batch:
            rows += 1
            if result == "paid":
                paid_count += 1
                paid += int(amount)
            else:
                failed += 1
            text = _plain_day(days, day)
            if (
                text is not None
                and type(run_id) is int
                and type(member_id) is int
                and type(amount) is int
                and (result in ("paid", "failed"))
            ):
                lines.append(f'[{run_id},{member_id},"{result}","{text}",{amount}]\n')
            else:
                lines.append(_line((int(run_id), int(member_id), str(result), _day(day), int(amount))).decode("utf-8"))
        digest.update("".join(lines).encode("utf-8"))
    return rows, paid_count, paid, failed, digest.hexdigest()


def _plain_day(days: dict[Any, str | None], day: Any) -> str | None:
    """A stored day's ISO text when JSON writes it as it is (see :func:`_plain`), else ``None``;
    each distinct value worked out once, in ``days``."""
    if day is None:
        return None
    text = days.get(day, "")
    if text == "":
        text = days[day] = _plain(_day(day))
    return text


def _plain(text: str | None) -> str | None:
    """``text`` when JSON writes it between quotes as it is (printable ASCII, no quote or backslash)."""
    if text is None or not (text.isascii() and text.isprintable()) or '"' in text or "\\" in text:
        return None
    return text


def _top_up_key(row: Sequence[Any]) -> tuple[Any, ...]:
    member_id, amount, day, reference = row
    return (int(member_id), _day(day), int(amount), str(reference).encode("utf-8"))


def top_up_rows_digest(rows: Iterable[Sequence[Any]]) -> str:
    """SHA-256 over top-ups given as ``(member, amount, day, reference)``, in any order."""
    digest = hashlib.sha256(b"mutualaid:top-ups:v1\n")
    for member_id, day, amount, reference in sorted(_top_up_key(r) for r in rows):
        digest.update(_line((member_id, amount, day, reference.decode("utf-8"))))
    return digest.hexdigest()


def top_ups_digest(session: Session, pool_id: int, entry_id: int) -> tuple[int, int, str]:
    """(rows, total, digest) of the top-ups an entry of pool ``pool_id`` posted, as stored (a top-up
    moved to another pool leaves them)."""
    return _top_ups_of(session, STORED_TOP_UPS, (int(pool_id), int(entry_id)))


#: The top-ups of a pool (first parameter) that an entry (second) posted, in their digest's order
#: but for ties (searched by ``ix_top_ups_pool_id_entry_id``, revision 0013).
STORED_TOP_UPS = (
    "SELECT member_id, amount_minor, received_on, reference FROM top_ups WHERE pool_id = ? AND entry_id = ? "
    "ORDER BY member_id, received_on, amount_minor"
)


def staged_top_ups_digest(session: Session, table: str) -> str:
    """The digest :func:`top_up_rows_digest` gives the top-ups staged in the table named ``table``
    (columns ``member_id``, ``amount``, ``day``, ``reference``), read as :func:`top_ups_digest`
    reads those stored: what an import records, computed without holding its rows."""
    quoted = session.connection().dialect.identifier_preparer.quote(table)
    sql = f"SELECT member_id, amount, day, reference FROM {quoted} ORDER BY member_id, day, amount"
    return _top_ups_of(session, sql, ())[2]


def _top_ups_of(session: Session, sql: str, params: Sequence[Any]) -> tuple[int, int, str]:
    """(rows, total, digest) of the top-ups ``sql`` gives as (member, amount, day, reference) in
    member, day and amount order, streamed through the driver's cursor: the rows equal on those
    three are ordered by their references' bytes here, as :func:`top_up_rows_digest` orders them.
    Each row's JSON line is written by hand when its values are what an import stores (integers, a
    day and a reference as plain text), which is the very text :func:`json.dumps` gives them."""
    digest = hashlib.sha256(b"mutualaid:top-ups:v1\n")
    rows = total = 0
    days: dict[Any, str | None] = {}
    last: tuple[Any, Any, Any] | None = None
    tied: list[tuple[bytes, str]] = []  # the references and lines of the rows equal on ``last``
    for batch in _raw_rows(session, sql, params):
        lines: list[str] = []
        for member_id, amount, day, reference in batch:
            rows += 1
            total += int(amount)
            if (member_id, day, amount) != last:
                _untie(tied, lines)
                last = (member_id, day, amount)
            text = _plain_day(days, day)
            if (
                text is not None
                and type(member_id) is int
                and type(amount) is int
                and type(reference) is str
                and _plain(reference) is not None
            ):
                line = f'[{member_id},{amount},"{text}","{reference}"]\n'
            else:
                line = _line((int(member_id), int(amount), _day(day), str(reference))).decode("utf-8")
            tied.append((str(reference).encode("utf-8"), line))
        digest.update("".join(lines).encode("utf-8"))
    lines = []
    _untie(tied, lines)
    digest.update("".join(lines).encode("utf-8"))
    return rows, total, digest.hexdigest()


def _untie(tied: list[tuple[bytes, str]], lines: list[str]) -> None:
    """Move the lines of rows equal on member, day and amount to ``lines``, by their references' bytes."""
    if len(tied) > 1:
        tied.sort(key=lambda item: item[0])
    lines.extend(line for _, line in tied)
    tied.clear()
