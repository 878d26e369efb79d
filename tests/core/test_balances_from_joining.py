"""Every member of a prepaid pool holds a balance row from joining (0 until a top-up), written by a
join, by an import (not by a refused one), and for the members who joined before by revision 0016;
the low balances are then read from ``balances``, each low one's member looked up by its key, for
the listing and for the low-balance notices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from driver_csv import HEADER, JOINED, POOL, row
from sqlalchemy import Engine, select, text

import mutualaid
from mutualaid import ImportRowsError, MutualAid
from mutualaid.db import current_revision, upgrade
from mutualaid.db.models import Balance, Member
from mutualaid.db.schema import preview_sql, schema_status
from mutualaid.notices.kinds.balances import LOW_BALANCE
from mutualaid.notices.parallel import boundaries
from mutualaid.notices.spec import NoticeRequest
from mutualaid.payments import count_low_balances, low_balance_members
from mutualaid.payments.balances import BALANCES_KEY, _by_key_on_sqlite, _low_condition, low_balance_rows
from mutualaid.pools import get_pool

MIGRATIONS = Path(mutualaid.__file__).parent / "db" / "migrations"
OTHER = "js-truckers-postpaid"
THIRD = "js-truckers-prepaid-2"
#: SQLite's statistics of a prepaid pool of ten million members, each holding a balance.
BIG_POOL_STATISTICS = (
    ("balances", "ix_balances_pool_id", "10000000 10000000"),
    ("balances", "sqlite_autoindex_balances_1", "10000000 1"),
    ("members", "uq_members_live_person", "10000000 10000000 1"),
    ("members", "ix_members_sharing", "10000000 10000000 10000000 1 1 1 1 1"),
)
#: The same as an ``ANALYZE`` sampling a thousand rows an index writes them (``refresh_statistics``,
#: after an import): it takes the pool for one of ten thousand among the balances.
SAMPLED_STATISTICS = (
    ("balances", "ix_balances_pool_id", "12125712 1001"),
    ("balances", "sqlite_autoindex_balances_1", "13950775 1"),
    *BIG_POOL_STATISTICS[2:],
)


def _balances(app: MutualAid) -> dict[int, tuple[int, int]]:
    """Each balance row: member -> (pool number, balance in minor units)."""
    with app.transaction() as s:
        return {m: (p, b) for m, p, b in s.execute(select(Balance.member_id, Balance.pool_id, Balance.balance_minor))}


def _csv(tmp_path: Path, *numbers: int, bad: int | None = None, name: str = "members.csv") -> Path:
    """A members file of drivers ``numbers`` (driver ``bad`` with a licence class the cohort refuses)."""
    lines = [HEADER, *(row(n, licence_class="X9") if n == bad else row(n) for n in numbers)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _pools(app: MutualAid, truckers_pool: Any) -> tuple[int, int]:
    prepaid = app.create_pool(truckers_pool(payments={"model": "prepaid"}))
    postpaid = app.create_pool(truckers_pool(key=OTHER))
    return prepaid.id, postpaid.id


def test_a_member_joining_a_prepaid_pool_holds_a_balance_of_0(app, truckers_pool, make_driver):
    prepaid, postpaid = _pools(app, truckers_pool)
    first = app.join(POOL, **make_driver(1))
    app.top_up(POOL, first.id, "12.34", "2026-10-05", "R-1")
    other = app.join(OTHER, **make_driver(2))  # a postpaid pool's member keeps no balance
    second = app.join(POOL, **make_driver(3))
    assert _balances(app) == {first.id: (prepaid, 1234), second.id: (prepaid, 0)}
    assert other.id not in _balances(app) and postpaid != prepaid
    assert app.balance(POOL, second.id).balance_minor == 0


def test_an_import_opens_a_balance_for_each_member_it_writes(app, truckers_pool, make_driver, tmp_path):
    prepaid, _ = _pools(app, truckers_pool)
    first = app.join(POOL, **make_driver(900))
    app.top_up(POOL, first.id, "50", "2026-10-05", "R-1")
    before = _balances(app)
    with pytest.raises(ImportRowsError):  # all or nothing: a refused file opens no balance
        app.import_members(POOL, _csv(tmp_path, 1, 2, 3, bad=2), joined_on=JOINED)
    assert _balances(app) == before == {first.id: (prepaid, 5000)}
    result = app.import_members(POOL, _csv(tmp_path, 1, 2, 3, bad=2), joined_on=JOINED, skip_invalid=True)
    assert (result.imported, result.rejected) == (2, 1)
    with app.transaction() as s:
        imported = list(s.scalars(select(Member.id).where(Member.pool_id == prepaid, Member.id != first.id)))
    assert len(imported) == 2
    assert _balances(app) == {first.id: (prepaid, 5000), **{m: (prepaid, 0) for m in imported}}
    # into a postpaid pool: no balance
    assert app.import_members(OTHER, _csv(tmp_path, 4, 5, name="other.csv"), joined_on=JOINED).imported == 2
    assert len(_balances(app)) == 3


def test_the_members_who_never_topped_up_are_low_and_are_read_from_their_balances(app, truckers_pool, make_driver):
    _pools(app, truckers_pool)
    members = [app.join(POOL, **make_driver(n)).id for n in range(1, 6)]
    app.top_up(POOL, members[1], "5", "2026-10-05", "R-1")  # at the level (5.00): not low
    app.top_up(POOL, members[2], "4.99", "2026-10-05", "R-2")
    app.exit_member(POOL, members[4], on="2026-10-20")  # no longer live: not listed
    low = [(m.member_id, m.balance_minor) for m in app.low_balances(POOL)]
    assert low == [(members[0], 0), (members[2], 499), (members[3], 0)]
    assert [m.member_id for m in app.low_balances(POOL, limit=2)] == [members[0], members[2]]
    with app.transaction() as s:
        pool = get_pool(s, app.plugins, POOL)
        assert count_low_balances(s, pool) == 3
        assert [m.member_id for m in low_balance_members(s, pool, "0.01")] == [members[0], members[3]]
        if s.get_bind().dialect.name == "sqlite":
            _plans_read_the_balances_first(s, pool)


def _plans_read_the_balances_first(s: Any, pool: Any) -> None:
    """SQLite: the balances are read and each low one's member is found by its key; the members are
    never read by pool (a pool of 20M where nobody is low then reads 20M members), with the
    statistics of a pool of ten million as a full ``ANALYZE`` writes them and as a sampled one does
    (which takes the pool's number for a rare one among the balances); and the listing reads the
    balances by their key, in member order, with nothing built or sorted first."""
    assert s.scalar(text("SELECT name FROM pragma_index_list('balances') WHERE origin = 'pk'")) == BALANCES_KEY
    s.execute(text("ANALYZE"))
    for statistics in (BIG_POOL_STATISTICS, SAMPLED_STATISTICS):
        s.execute(text("DELETE FROM sqlite_stat1 WHERE tbl IN ('members', 'balances')"))
        for table, index, stat in statistics:
            s.execute(text("INSERT INTO sqlite_stat1 VALUES (:t, :i, :s)"), {"t": table, "i": index, "s": stat})
        s.execute(text("ANALYZE sqlite_schema"))  # the planner reads them again
        for query in (
            low_balance_rows(Member.id).where(_low_condition(pool, 500)),
            low_balance_rows(Member.id).order_by(None).where(_low_condition(pool, 500)),
        ):
            sql = str(query.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
            plan = [r[3] for r in s.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
            assert plan[0].startswith(("SCAN balances", "SEARCH balances")), plan
            assert plan[1] == "SEARCH members USING INTEGER PRIMARY KEY (rowid=?)", plan
            assert not [step for step in plan if "members" in step and "pool_id" in step], plan
        for limit in (None, 50):
            listing = _by_key_on_sqlite(pool, 500, limit)
            plan = [r[3] for r in s.execute(text(f"EXPLAIN QUERY PLAN {listing.text}"), listing.compile().params)]
            assert plan == [
                f"SCAN b USING INDEX {BALANCES_KEY}",
                "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)",
            ], plan


def test_the_low_balance_notices_go_to_the_live_members_of_the_pool_below_the_level(
    app, truckers_pool, make_driver, tmp_path
):
    _pools(app, truckers_pool)
    app.create_pool(truckers_pool(key=THIRD, payments={"model": "prepaid"}))
    members = [app.join(POOL, **make_driver(n)).id for n in range(1, 8)]
    app.join(THIRD, **make_driver(20))  # low too, in another prepaid pool
    app.top_up(POOL, members[1], "5", "2026-10-05", "R-1")  # at the level (5.00): not low
    app.top_up(POOL, members[2], "4.99", "2026-10-05", "R-2")
    app.top_up(POOL, members[5], "80", "2026-10-05", "R-3")
    app.exit_member(POOL, members[4], on="2026-10-20")  # low, but no longer live
    low = [members[0], members[2], members[3], members[6]]

    def rendered(out: str, **options: Any) -> tuple[int, list[int], str]:
        result = app.render_notices(POOL, "low-balance", tmp_path / out, layout="stream", **options)
        body = result.paths[0].read_text(encoding="utf-8")
        order = [int(line.split()[2]) for line in body.splitlines() if line.startswith("=== member ")]
        return result.count, order, body

    one, two = rendered("one"), rendered("two", jobs=2)  # two workers, each a range of numbers
    assert one[:2] == (4, low) and two == one
    assert "4.99 CNY" in one[2] and "80.00" not in one[2]
    assert rendered("zero", threshold="0.01")[:2] == (3, [members[0], members[3], members[6]])
    assert rendered("asked", members=[members[5]])[:2] == (1, [members[5]])  # asked for: whatever the balance
    with app.transaction() as s:
        pool = get_pool(s, app.plugins, POOL)
        query = LOW_BALANCE.recipients(s, pool, NoticeRequest(), {"_last_run": None})
        assert boundaries(s, query, 2) == (4, [low[2]])
        if s.get_bind().dialect.name == "sqlite":
            _notice_plans_read_the_low_balances_first(s, query)
            # after a prepaid run, each one's charge in it is found by its key
            after_run = LOW_BALANCE.recipients(s, pool, NoticeRequest(), {"_last_run": 1})
            plan = _notice_plans_read_the_low_balances_first(s, after_run)
            assert "SEARCH charges USING PRIMARY KEY (run_id=? AND member_id=?)" in plan, plan


def _notice_plans_read_the_low_balances_first(s: Any, query: Any) -> list[str]:
    """SQLite: the recipients of the low-balance notices (all of them, a worker's range, and the
    count that splits them) are found from the pool's low balances, each one's member then read by
    its key in member order: the members are never read by the pool's index, and nothing is sorted
    before the first notice (the list of the low ones' numbers is kept in order as it is built),
    with the statistics of a pool of ten million as a full ``ANALYZE`` writes them and as a sampled
    one does. With the sampled ones, the query that read every member outer-joined to its balance
    read the members by the pool's index and sorted them all (2 s at 5M before the first notice)."""
    s.execute(text("ANALYZE"))
    ranged = query.where(Member.id >= 2, Member.id < 5)
    counted = select(text("count(*)")).select_from(query.with_only_columns(Member.id).order_by(None).subquery())
    for statistics in (BIG_POOL_STATISTICS, SAMPLED_STATISTICS):
        s.execute(text("DELETE FROM sqlite_stat1 WHERE tbl IN ('members', 'balances')"))
        for table, index, stat in statistics:
            s.execute(text("INSERT INTO sqlite_stat1 VALUES (:t, :i, :s)"), {"t": table, "i": index, "s": stat})
        s.execute(text("ANALYZE sqlite_schema"))  # the planner reads them again
        for each in (ranged, counted, query):  # the plan of the last one is returned
            sql = str(each.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
            plan = [r[3] for r in s.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
            assert "SEARCH members USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
            assert [step for step in plan if step.startswith("LIST SUBQUERY")], plan
            assert not [step for step in plan if "TEMP B-TREE" in step], plan
            assert not [step for step in plan if step.startswith("SCAN") and step != "SCAN balances"], plan
            assert [step for step in plan if "members" in step] == [plan[0]], plan
    return plan


def _alembic(conn: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def test_0016_opens_the_balances_of_the_prepaid_members_who_joined_before(
    empty_engine: Engine, plugins, truckers_pool, make_driver
):
    upgrade(empty_engine)
    app = MutualAid(empty_engine.url.render_as_string(hide_password=False), plugins=plugins)
    try:
        prepaid, postpaid = _pools(app, truckers_pool)
        members = [app.join(POOL, **make_driver(n)).id for n in range(1, 4)]
        app.top_up(POOL, members[1], "7", "2026-10-05", "R-1")
        app.join(OTHER, **make_driver(4))
    finally:
        app.close()
    with empty_engine.begin() as conn:
        command.downgrade(_alembic(conn), "0015")
        # as the revisions before wrote them: a row from the first top-up only
        conn.execute(text("DELETE FROM balances WHERE balance_minor = 0"))
    assert current_revision(empty_engine) == "0015"
    upgrade(empty_engine, "0016")
    assert current_revision(empty_engine) == "0016"
    with empty_engine.connect() as conn:
        rows = conn.execute(text("SELECT member_id, pool_id, balance_minor FROM balances ORDER BY member_id")).all()
    assert [tuple(r) for r in rows] == [(members[0], prepaid, 0), (members[1], prepaid, 700), (members[2], prepaid, 0)]
    assert postpaid not in {r[1] for r in rows}
    with empty_engine.begin() as conn:  # the downgrade takes them back out; a top-up's row stays
        conn.execute(text(f"UPDATE balances SET balance_minor = 0 WHERE member_id = {members[1]}"))
        command.downgrade(_alembic(conn), "0015")
    with empty_engine.connect() as conn:
        rows = conn.execute(text("SELECT member_id, pool_id, balance_minor FROM balances")).all()
    assert [tuple(r) for r in rows] == [(members[1], prepaid, 0)]


def test_0016_written_out_offline_names_the_prepaid_pools_from_their_configuration(empty_engine: Engine):
    upgrade(empty_engine, "0015")
    sql = preview_sql(empty_engine, schema_status(empty_engine), "0016")
    assert "INSERT INTO balances (member_id, pool_id, balance_minor) SELECT m.id, m.pool_id, 0 FROM members m" in sql
    assert ("json_extract" if empty_engine.dialect.name == "sqlite" else "-> 'payments' ->> 'model'") in sql
