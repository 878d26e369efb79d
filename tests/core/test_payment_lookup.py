"""How a payment import finds the members, charges and earlier payments its rows name: by their
keys (the member's number, the charge's (run, member)), whatever the pool's size, and the table
statistics SQLite gathers after the commands that grow a table."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import event, select

from mutualaid import ImportRowsError, MutualAid
from mutualaid.db.models import Charge, Member, Payment
from mutualaid.payments.common import pool_members
from mutualaid.pools import get_pool

POOL = "js-truckers"
OTHER = "other-truckers"


def _csv(tmp_path: Path, *rows: str, name: str = "payments.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(["member_id,period,result,date", *rows]) + "\n", encoding="utf-8")
    return path


def _two_runs(app: MutualAid, truckers_pool, make_driver) -> tuple[int, int, list[int], list[int]]:
    """Pool POOL of drivers #1-#6 (#7-#9 in OTHER, joined in between): #1 dies (period 2026-11,
    5 shares), then #2 (period 2026-12, 4 shares). Returns the runs and each pool's members."""
    app.create_pool(truckers_pool(payments={"model": "postpaid"}))
    app.create_pool(truckers_pool(key=OTHER, payments={"model": "postpaid"}))
    ours = [app.join(POOL, **make_driver(n, joined_on="2026-10-01")).id for n in range(3)]
    theirs = [app.join(OTHER, **make_driver(n + 10, joined_on="2026-10-01")).id for n in range(3)]
    ours += [app.join(POOL, **make_driver(n, joined_on="2026-10-01")).id for n in range(3, 6)]
    for member, day, filed in ((ours[0], "2026-10-20", "2026-10-25"), (ours[1], "2026-11-20", "2026-11-25")):
        claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=day, filed_on=filed)
        app.approve_claim(claim.id)
    november = app.share(POOL, "2026-11")
    december = app.share(POOL, "2026-12")
    assert (november.members, december.members) == (5, 4)
    return november.run_id, december.run_id, ours, theirs


def test_each_row_is_matched_to_its_own_runs_charge(app, truckers_pool, make_driver, tmp_path):
    november, december, ours, _ = _two_runs(app, truckers_pool, make_driver)
    with app.transaction() as s:
        charged = dict(
            ((run, member), amount)
            for run, member, amount in s.execute(select(Charge.run_id, Charge.member_id, Charge.amount_minor))
        )
    # 300,000.00 + 8% over 5 shares, then over 4: each run charges its own amount.
    assert charged[(november, ours[2])] == 6_480_000 and charged[(december, ours[2])] == 8_100_000
    rows = [
        f"{ours[2]},2026-11,paid,2026-11-14",
        f"{ours[2]},2026-12,paid,2026-12-14",
        f"{ours[3]},2026-12,failed,2026-12-14",
        f"{ours[3]},2026-12,paid,2026-12-15",
        f"{ours[4]},2026-11,paid,2026-11-15",
        f"{ours[5]},2026-12,failed,2026-12-14",
    ]
    result = app.import_payments(POOL, _csv(tmp_path, *rows))
    assert (result.rows, result.paid_count, result.failed_count) == (6, 4, 2)
    assert result.paid_minor == 6_480_000 + 8_100_000 + 8_100_000 + 6_480_000
    with app.transaction() as s:
        written = s.execute(
            select(Payment.run_id, Payment.member_id, Payment.result, Payment.attempted_on, Payment.amount_minor)
            .where(Payment.batch_id == result.batch_id)
            .order_by(Payment.id)
        ).all()
    assert written == [
        (november, ours[2], "paid", date(2026, 11, 14), 6_480_000),
        (december, ours[2], "paid", date(2026, 12, 14), 8_100_000),
        (december, ours[3], "failed", date(2026, 12, 14), 8_100_000),
        (december, ours[3], "paid", date(2026, 12, 15), 8_100_000),
        (november, ours[4], "paid", date(2026, 11, 15), 6_480_000),
        (december, ours[5], "failed", date(2026, 12, 14), 8_100_000),
    ]
    # A later file finds the shares paid by this one, in either run, and only those.
    again = _csv(tmp_path, f"{ours[4]},2026-12,paid,2026-12-16", f"{ours[4]},2026-11,paid,2026-11-16", name="b.csv")
    try:
        app.import_payments(POOL, again)
    except ImportRowsError as exc:
        assert exc.problems == [
            f"{again}:3: result: member #{ours[4]} already paid the share of period 2026-11 on 2026-11-15 "
            f"(payment batch #{result.batch_id})"
        ]
    else:
        raise AssertionError("a share paid twice was accepted")


def test_a_member_of_another_pool_or_not_charged_is_not_matched(app, truckers_pool, make_driver, tmp_path):
    november, december, ours, theirs = _two_runs(app, truckers_pool, make_driver)
    path = _csv(
        tmp_path,
        f"{theirs[0]},2026-11,paid,2026-11-14",  # a member, but of the other pool
        f"{ours[1]},2026-12,paid,2026-12-14",  # died in November: not charged in December
        f"{ours[2]},2026-11,paid,2026-11-14",
        "999,2026-11,paid,2026-11-14",
    )
    try:
        app.import_payments(POOL, path)
    except ImportRowsError as exc:
        assert exc.problems == [
            f"{path}:2: member_id: pool {POOL!r} has no member #{theirs[0]}",
            f"{path}:3: period: member #{ours[1]} was not charged in period 2026-12",
            f"{path}:5: member_id: pool {POOL!r} has no member #999",
        ]
    else:
        raise AssertionError("rows naming no share of the pool were accepted")
    with app.transaction() as s:
        assert s.scalars(select(Payment.id)).all() == []


def test_pool_members_returns_only_the_pools_members_with_their_columns(app, truckers_pool, make_driver):
    _, _, ours, theirs = _two_runs(app, truckers_pool, make_driver)
    with app.transaction() as s:
        pool = get_pool(s, app.plugins, POOL)
        found = pool_members(s, pool.id, [*theirs, *ours, *ours, 999], Member.status, Member.joined_on)
    assert found == {
        ours[0]: ("deceased", date(2026, 10, 1)),
        ours[1]: ("deceased", date(2026, 10, 1)),
        **{member: ("active", date(2026, 10, 1)) for member in ours[2:]},
    }


def _lookups(app: MutualAid, path: Path) -> list[tuple[str, str]]:
    """Each query of members, charges or payments an import of ``path`` runs, with its plan on
    SQLite (read as it runs: some join the import's staged rows, a table gone once it is done)."""
    with app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat1")  # no statistics, as in a new database
    found: list[tuple[str, str]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        upper = statement.lstrip().upper()
        if not (upper.startswith("SELECT") and any(f"FROM {t}" in upper or f"JOIN {t}" in upper for t in TABLES)):
            return
        plan = ""
        if conn.dialect.name == "sqlite":
            rows = cursor.connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plan = " | ".join(row[3] for row in rows)
        found.append((statement, plan))

    event.listen(app.engine, "before_cursor_execute", keep)
    try:
        app.import_payments(POOL, path)
    finally:
        event.remove(app.engine, "before_cursor_execute", keep)
    return found


TABLES = ("MEMBERS", "CHARGES", "PAYMENTS")


def _by_keys(plan: str) -> None:
    """No walk of the pool's sharing index, no scan of members, charges or payments."""
    assert "ix_members_sharing" not in plan, plan
    for table in ("members", "charges", "payments"):
        assert f"SCAN {table}" not in plan, plan


def test_a_plainly_right_row_is_checked_by_one_query_by_keys(app, truckers_pool, make_driver, tmp_path):
    """On SQLite without statistics, ``pool_id = ? AND id IN (...)`` walks the pool's sharing index;
    the query finding the rows to check one by one must search members, charges and payments by
    their keys, and a row plainly right needs no other look-up."""
    _, _, ours, _ = _two_runs(app, truckers_pool, make_driver)
    lookups = _lookups(app, _csv(tmp_path, f"{ours[2]},2026-11,paid,2026-11-14"))
    keyed = [(statement, plan) for statement, plan in lookups if " IN (" in statement]
    # the rows not plainly right (none here), then the figures; no look-up of a member's rows
    assert len(keyed) == 2, [statement for statement, _ in keyed]
    assert all("mutualaid_payment_rows" in statement for statement, _ in keyed)
    if app.engine.dialect.name != "sqlite":
        return
    unusual, figures = (plan for _, plan in keyed)
    _by_keys(unusual)
    _by_keys(figures)
    assert "SEARCH members USING INTEGER PRIMARY KEY" in unusual, unusual
    assert "SEARCH charges USING PRIMARY KEY" in unusual, unusual
    assert "SEARCH payments USING INDEX ix_payments_run_id_member_id" in unusual, unusual


def test_rows_checked_one_by_one_are_looked_up_by_keys(app, truckers_pool, make_driver, tmp_path):
    """A member named twice sends both rows to the checks one by one: their members, charges and
    payments are each found by their keys."""
    _, _, ours, _ = _two_runs(app, truckers_pool, make_driver)
    path = _csv(tmp_path, f"{ours[3]},2026-12,failed,2026-12-14", f"{ours[3]},2026-12,paid,2026-12-15")
    lookups = _lookups(app, path)
    keyed = [(statement, plan) for statement, plan in lookups if " IN (" in statement]
    # the rows to check, then their members, charges and payments, then the figures
    assert len(keyed) == 5, [statement for statement, _ in keyed]
    with app.transaction() as s:
        assert s.execute(select(Payment.result).order_by(Payment.id)).scalars().all() == ["failed", "paid"]
    if app.engine.dialect.name != "sqlite":
        return
    for _, plan in keyed:
        _by_keys(plan)
    assert any("SEARCH members USING INTEGER PRIMARY KEY" in plan for _, plan in keyed)


def test_imports_and_runs_leave_statistics_on_sqlite(app, truckers_pool, make_driver, tmp_path):
    _, _, ours, _ = _two_runs(app, truckers_pool, make_driver)
    app.import_payments(POOL, _csv(tmp_path, f"{ours[2]},2026-11,paid,2026-11-14"))
    with app.engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            return  # PostgreSQL's autovacuum gathers its own
        analysed = {table for (table,) in conn.exec_driver_sql("SELECT DISTINCT tbl FROM sqlite_stat1")}
        limit = conn.exec_driver_sql("PRAGMA analysis_limit").scalar()
    assert {"charges", "payments"} <= analysed
    assert limit == 0  # the connection's own setting is given back
