"""A top-up entry's digest is the one its definition gives, however the rows are read.

:func:`~mutualaid.ledger.digests.top_up_rows_digest` is the definition: SHA-256 over one JSON line
per top-up, sorted in Python by member, day, amount and the reference's bytes. An import computes
the digest of its staged rows (``staged_top_ups_digest``) and ``ledger verify`` that of the stored
rows (``top_ups_digest``), both streamed through the driver's cursor with the lines written by hand
where the values are plain, the database ordering by member, day and amount and Python ordering the
ties by their references' bytes. Here the batches are patched down to a row or a few so that ties
fall across them, and the references hold what JSON escapes (a quote, a backslash, a control
character, non-ASCII text) and what sorts differently by bytes and by a language's collation.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Column, Date, Integer, MetaData, String, Table, text
from sqlalchemy.orm import Session

from mutualaid import MutualAid
from mutualaid.db.bulk import bulk_insert
from mutualaid.db.models import TopUp
from mutualaid.ledger import digests
from mutualaid.ledger.digests import staged_top_ups_digest, top_up_rows_digest, top_ups_digest

#: (member, amount, day, reference): ties on member, day and amount whose references sort one way
#: by their bytes and another by a language's collation (PostgreSQL's default puts "WX-1" last), in
#: an order neither the database nor the definition would give them.
ROWS: list[tuple[int, int, date, str]] = [
    (7, 500, date(2026, 11, 2), "z-9"),
    (3, 100, date(2026, 11, 1), "\u00e9t\u00e9"),
    (3, 100, date(2026, 11, 1), 'say "hi"'),
    (3, 100, date(2026, 11, 1), "back\\slash"),
    (3, 100, date(2026, 11, 1), "\uff21-full-width"),
    (3, 100, date(2026, 11, 1), "tab\there"),
    (3, 100, date(2026, 11, 1), "WX-1"),
    (3, 100, date(2026, 10, 31), "WX-2"),
    (3, 99, date(2026, 11, 1), "WX-3"),
    (12, 1, date(2026, 11, 1), "\u5fae\u4fe1-\u8f6c\u8d26"),
    (7, 500, date(2026, 11, 2), "a-1"),
]


def _staged(session: Session, rows: list[tuple[int, int, date, str]]) -> str:
    """The digest of ``rows`` staged in a temporary table, as an import stages them."""
    table = Table(
        "digest_rows",
        MetaData(),
        Column("line", Integer, primary_key=True),
        Column("member_id", BigInteger, nullable=False),
        Column("amount", BigInteger, nullable=False),
        Column("day", Date, nullable=False),
        Column("reference", String(200), nullable=False),
        prefixes=["TEMPORARY"],
    )
    connection = session.connection()
    table.create(connection)
    staged = [(line, *row) for line, row in enumerate(rows, start=2)]
    bulk_insert(connection, table, [c.name for c in table.columns], staged)
    try:
        return staged_top_ups_digest(session, table.name)
    finally:
        table.drop(connection)


def _stored(session: Session, rows: list[tuple[int, int, date, str]], entry_id: int) -> tuple[int, int, str]:
    """(rows, total, digest) of ``rows`` stored as entry ``entry_id``'s top-ups of pool 1, among
    top-ups of another entry and of another pool under the same entry number."""
    others = [(1, 9, 100, date(2026, 11, 1), "OTHER", entry_id + 1), (2, 3, 100, date(2026, 11, 1), "WX-1", entry_id)]
    values = [(1, member, amount, day, reference, entry_id) for member, amount, day, reference in rows] + others
    bulk_insert(
        session.connection(),
        TopUp.__table__,  # type: ignore[arg-type]
        ("pool_id", "member_id", "amount_minor", "received_on", "reference", "entry_id"),
        values,
    )
    return top_ups_digest(session, 1, entry_id)


def _both_give_the_definitions_digest(app: MutualAid, rows: list[tuple[int, int, date, str]]) -> None:
    expected = top_up_rows_digest(rows)
    with Session(app.engine) as session:
        assert _staged(session, rows) == expected
        assert _stored(session, rows, 5) == (len(rows), sum(r[1] for r in rows), expected)
        session.rollback()


@pytest.mark.parametrize("batch", [1, 2, 3, 65_536])
def test_staged_and_stored_top_ups_give_the_definitions_digest(
    app: MutualAid, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(digests, "BATCH", batch)
    _both_give_the_definitions_digest(app, ROWS)


def test_a_reference_edited_among_ties_changes_the_stored_digest(app: MutualAid) -> None:
    # The same rows, the same total: only the digest sees a reference changed.
    with Session(app.engine) as session:
        before = _stored(session, ROWS, 5)
        session.execute(text("UPDATE top_ups SET reference = 'WX-0' WHERE reference = 'WX-1' AND pool_id = 1"))
        after = top_ups_digest(session, 1, 5)
        session.rollback()
    assert after[:2] == before[:2] and after[2] != before[2]


_REFERENCE = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1, max_size=6)
_ROW = st.tuples(
    st.integers(1, 4),
    st.integers(1, 3),
    st.sampled_from([date(2026, 11, 1), date(2026, 11, 2)]),
    _REFERENCE,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_ROW, min_size=0, max_size=12, unique_by=lambda row: row[3]), batch=st.integers(1, 4))
def test_any_top_ups_give_the_definitions_digest(app: MutualAid, rows, batch) -> None:
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(digests, "BATCH", batch)
        _both_give_the_definitions_digest(app, rows)
