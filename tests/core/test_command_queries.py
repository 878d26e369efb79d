"""What ``ledger balance`` reads: a bounded number of rows once the ledger is verified.

The books are reconciled with the runs' charges and the payment batches' rows. The runs and
batches that the last successful verification reached are counted by the totals their entries
recorded (that verification proved them equal to the rows), so on a verified ledger no statement
reads ``charges`` or ``payments``; a run or batch posted since is summed from its own rows (on
SQLite, searched by its run or batch, never a scan), and a tampered row of it still shows as a
mismatch to the fen. A chain rewritten since the verification makes every row summed again; a
verified run's row edited afterwards is ``ledger verify --full``'s to find, as for the
incremental verification. The report is the same before and after the verification.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from support import drop_ledger_guards, statements_run

from mutualaid import MutualAid

POOL = "js-truckers"
#: 2026-11: drivers #2-#8 share 300,000.00 + 8% = 324,000.00, 46,285.72 each (rounded up).
NOV_SHARE = 4_628_572
#: 2026-12: #8 lapsed (its collection failed), #2 died: #3-#7 share 324,000.00 - 0.04 = 64,800.00 each.
DEC_SHARE = 6_480_000


def _death(app: MutualAid, member: int, day: str, filed: str) -> None:
    claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=day, filed_on=filed)
    app.approve_claim(claim.id)


def _payments(app: MutualAid, path: Path, period: str, paid: range, failed: tuple[int, ...] = ()) -> None:
    rows = [f"{m},{period},paid,{period}-14" for m in paid] + [f"{m},{period},failed,{period}-14" for m in failed]
    path.write_text("\n".join(["member_id,period,result,date", *rows]) + "\n", encoding="utf-8")
    app.import_payments(POOL, path)


def _sql(app: MutualAid, *statements: str) -> None:
    """Change the database behind the ledger's back (the append-only triggers dropped first)."""
    with app.engine.begin() as conn:
        drop_ledger_guards(conn)
        for statement in statements:
            conn.execute(text(statement))


def _reading(app: MutualAid, action: Callable[[], Any]) -> tuple[Any, list[tuple[str, Any]]]:
    """What ``action`` returns, and the statements it ran that read ``charges`` or ``payments``."""
    seen: list[tuple[str, Any]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        upper = " ".join(statement.upper().split())
        if any(f"{word} {table}" in upper for word in ("FROM", "JOIN") for table in ("CHARGES", "PAYMENTS")):
            seen.append((statement, parameters))

    event.listen(app.engine, "before_cursor_execute", keep)
    try:
        return action(), seen
    finally:
        event.remove(app.engine, "before_cursor_execute", keep)


def _mismatches(report: Any) -> dict[str, int]:
    """Each account whose books and records differ: ledger less records, in minor units."""
    return {c.account: c.ledger_minor - c.records_minor for c in report.checks if not c.ok}


@pytest.fixture
def november(app, truckers_pool, make_driver, tmp_path) -> MutualAid:
    """Drivers #1-#8 (postpaid); #1 dies in October; #2-#8 share 2026-11; #2-#7 pay, #8's fails."""
    app.create_pool(truckers_pool())
    for n in range(1, 9):
        app.join(POOL, **make_driver(n, joined_on=date(2026, 9, 1)))
    _death(app, 1, "2026-10-20", "2026-10-25")
    assert app.share(POOL, "2026-11").share_minor == NOV_SHARE
    _payments(app, tmp_path / "november.csv", "2026-11", range(2, 8), failed=(8,))
    return app


def _december(app: MutualAid, tmp_path: Path) -> int:
    """#2 dies in November; #3-#7 share 2026-12 and pay it; the December run's id."""
    _death(app, 2, "2026-11-20", "2026-11-25")
    december = app.share(POOL, "2026-12")
    assert (december.members, december.share_minor) == (5, DEC_SHARE)
    _payments(app, tmp_path / "december.csv", "2026-12", range(3, 8))
    return december.run_id


def test_a_verified_ledger_balances_without_reading_charges_or_payments(november, tmp_path):
    app = november
    _december(app, tmp_path)
    before, read_before = _reading(app, lambda: app.reconcile_books(POOL))
    assert before.ok and read_before  # never verified: every row is summed
    assert app.verify_ledger(POOL).ok
    after, read_after = _reading(app, lambda: app.reconcile_books(POOL))
    assert after == before
    assert read_after == []


def test_a_run_and_a_batch_posted_after_the_verification_are_summed_from_their_rows(november, tmp_path):
    app = november
    assert app.verify_ledger(POOL).ok
    december = _december(app, tmp_path)
    with app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat1")  # no statistics, as in a new database
    app.engine.dispose()  # connections that loaded the statistics are not reused
    report, read = _reading(app, lambda: app.reconcile_books(POOL))
    assert report.ok
    # Only December's charges and December's batch are read, each found by its own key.
    assert len(read) == 2
    if app.engine.dialect.name == "sqlite":
        with app.engine.connect() as conn:
            plans = [
                " | ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
                for statement, parameters in read
            ]
        assert "SCAN" not in " ".join(plans), plans
        assert any("SEARCH charges" in plan and "run_id=?" in plan for plan in plans), plans
        assert any("SEARCH payments USING INDEX ix_payments_batch_id (batch_id=?)" in plan for plan in plans), plans
    _sql(
        app,
        f"DELETE FROM charges WHERE run_id = {december} AND member_id = 3",
        f"UPDATE payments SET amount_minor = amount_minor + 1 WHERE run_id = {december} AND member_id = 4",
    )
    # The records lose the deleted charge from what members owe, and the fen the payment was raised
    # by is received (cash) and taken off what they owe (members_due).
    assert _mismatches(app.reconcile_books(POOL)) == {"members_due": DEC_SHARE + 1, "cash": -1}


def test_a_verified_runs_row_edited_afterwards_is_found_by_the_full_verification(november, tmp_path):
    app = november
    assert app.verify_ledger(POOL).ok
    with app.engine.connect() as conn:
        run = conn.execute(text("SELECT id FROM sharing_runs")).scalar_one()
    _sql(app, f"UPDATE charges SET amount_minor = amount_minor - 1 WHERE run_id = {run} AND member_id = 3")
    assert app.reconcile_books(POOL).ok  # the verified run counts by the total its entry recorded
    full = app.verify_ledger(POOL, full=True)
    assert not full.ok
    assert any(f"the charges of run #{run} (period 2026-11) were altered" in p.message for p in full.problems)


def test_a_chain_rewritten_since_the_verification_makes_every_row_summed(november, tmp_path):
    app = november
    report = app.verify_ledger(POOL)
    assert report.ok
    with app.engine.connect() as conn:
        run = conn.execute(text("SELECT id FROM sharing_runs")).scalar_one()
    _sql(
        app,
        f"UPDATE charges SET amount_minor = amount_minor - 1 WHERE run_id = {run} AND member_id = 3",
        f"UPDATE ledger_entries SET hash = '{'0' * 64}' WHERE seq = {report.head_seq}",
    )
    books, read = _reading(app, lambda: app.reconcile_books(POOL))
    assert _mismatches(books) == {"members_due": 1}
    assert read


def _top_up_statements(app: MutualAid, action: Callable[[], Any]) -> tuple[Any, list[tuple[str, str]]]:
    """What ``action`` returns, and the statements it ran that read ``top_ups``, each with its
    plan on SQLite (empty on PostgreSQL)."""
    result, seen = statements_run(
        app.engine, action, lambda s: "TOP_UPS" in s.upper().replace("TOP_UPS.", "").replace("TOP_UP_", "")
    )
    plans = []
    with app.engine.connect() as conn:
        for statement, parameters in seen:
            plan = ""
            if conn.dialect.name == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = " | ".join(row[3] for row in rows)
            plans.append((statement, plan))
    return result, plans


def test_a_verified_ledger_balances_from_the_top_ups_posted_since(app, truckers_pool, make_driver, tmp_path):
    # Top-ups grow with the pool like charges: the entries the last verification reached count by
    # what they recorded, and only the top-ups posted since are read, by their entry; the reversed
    # ones are found from their reversals. A row edited behind the ledger's back shows to the fen
    # while its entry is unverified, and is ledger verify --full's to find once it is.
    app.create_pool(truckers_pool(payments={"model": "prepaid"}))
    for n in range(1, 5):
        app.join(POOL, **make_driver(n))
    path = tmp_path / "top-ups.csv"
    path.write_text("member_id,amount,date,reference\n2,10,2026-11-02,R-1\n3,20,2026-11-02,R-2\n", encoding="utf-8")
    app.import_top_ups(POOL, path)
    mistaken = app.top_up(POOL, 4, "5", "2026-11-03", "R-3")
    app.reverse_top_up(POOL, mistaken.id, reason="entered twice")
    before, read_before = _top_up_statements(app, lambda: app.reconcile_books(POOL))
    assert before.ok and read_before
    assert app.verify_ledger(POOL).ok
    after, read_after = _top_up_statements(app, lambda: app.reconcile_books(POOL))
    assert after == before
    (only,) = read_after  # the reversed top-ups, from their reversals
    assert "top_up_reversals" in only[0]
    if app.engine.dialect.name == "sqlite":
        assert "SEARCH top_ups USING INTEGER PRIMARY KEY (rowid=?)" in only[1], only[1]
    later = app.top_up(POOL, 1, "7", "2026-11-04", "R-4")
    with app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":  # no statistics: tiny tables' would rightly choose a scan
            conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat1")
    app.engine.dispose()  # connections that loaded the statistics are not reused
    report, read = _top_up_statements(app, lambda: app.reconcile_books(POOL))
    assert report.ok
    # the top-ups posted since, by their entry, read once: as cash received, and as what went into
    # the balances since the verification proved what they held (ledger.held)
    by_entry = [plan for statement, plan in read if "entry_id IN" in statement]
    assert len(by_entry) == 1 and len(read) == 2
    if app.engine.dialect.name == "sqlite":
        assert "ix_top_ups_pool_id_entry_id (pool_id=? AND entry_id=?)" in by_entry[0], by_entry
        assert "SCAN" not in " ".join(plan for _, plan in read)
    _sql(app, f"UPDATE top_ups SET amount_minor = amount_minor + 1 WHERE id = {later.id}")
    # the cash received and what the balances were given both differ from the ledger
    assert _mismatches(app.reconcile_books(POOL)) == {"cash": -1, "member_balances": 1}
    _sql(app, f"UPDATE top_ups SET amount_minor = amount_minor - 1 WHERE id = {later.id}")
    assert app.verify_ledger(POOL).ok
    _sql(app, "UPDATE top_ups SET amount_minor = amount_minor + 100 WHERE reference = 'R-1'")
    assert app.reconcile_books(POOL).ok  # a verified entry counts by what it recorded
    full = app.verify_ledger(POOL, full=True)
    assert not full.ok
    assert any("the top-ups of this entry were altered" in p.message for p in full.problems)


def _member_statements(app: MutualAid, action: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The statements ``action`` ran that read ``members``."""
    seen: list[tuple[str, Any]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "FROM MEMBERS" in " ".join(statement.upper().split()):
            seen.append((statement, parameters))

    event.listen(app.engine, "before_cursor_execute", keep)
    try:
        action()
    finally:
        event.remove(app.engine, "before_cursor_execute", keep)
    return seen


def test_members_of_a_status_other_than_active_are_listed_from_their_partial_index(november, tmp_path):
    # #8's collection failed: December's run lapses it; #1 died. The other six stay active.
    app = november
    _december(app, tmp_path)
    listed: dict[str, list[int]] = {}

    def listing(status: str) -> Callable[[], None]:
        return lambda: listed.__setitem__(status, [m.id for m in app.members(POOL, status=status)])

    lapsed = _member_statements(app, listing("lapsed"))
    active = _member_statements(app, listing("active"))
    assert listed == {"lapsed": [8], "active": [3, 4, 5, 6, 7]}
    assert [m.id for m in app.iter_members(POOL, status="lapsed", after=8)] == []
    if app.engine.dialect.name != "sqlite":
        return
    with app.engine.connect() as conn:

        def plan(statements: list[tuple[str, Any]]) -> str:
            (statement, parameters) = [s for s in statements if "ORDER BY" in s[0].upper()][0]
            return " | ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))

        assert "USING INDEX ix_members_not_active (pool_id=? AND status=?" in plan(lapsed), plan(lapsed)
        # Active members are most of a pool: listed in member-number order from the table itself
        # (its rowid), never through an index of the pool.
        assert "INDEX" not in plan(active), plan(active)
