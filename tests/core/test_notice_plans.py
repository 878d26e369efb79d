"""The recipients of the notices that read a pool's members (welcome, low-balance, lapse, frozen,
unfrozen, exit) are planned on a big pool as a full ``ANALYZE`` would have them planned, with the
statistics a member import leaves (``refresh_statistics``: sampled, then the pool's values counted).

SQLite. Each pool holds enough members for the sample of a thousand rows an index to see one pool
only; with the sample's estimate alone (a thousand members to a pool) the welcome notices read the
members by the pool's index and sorted them all before the first notice, and the lifecycle ones
read every member's history. The joining rows are most of the history; each kind's own change is
found by the partial index of the history past joining (revision 0018).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from mutualaid import MutualAid
from mutualaid.db import statistics
from mutualaid.db.models import Balance, Member, MemberStatusChange
from mutualaid.db.statistics import refresh_statistics
from mutualaid.notices.kinds import KINDS
from mutualaid.notices.spec import NoticeRequest
from mutualaid.pools import get_pool

POSTPAID, PREPAID = "js-truckers", "js-truckers-prepaid"
#: Members in each pool; every tenth of the prepaid pool's is low, every hundredth has lapsed,
#: been frozen, unfrozen or left.
MEMBERS = 30_000
ATTRS = '{"licence_class": "B2", "licence_number": "L", "licence_expires": "2031-06-30", "driving_proof": "P"}'
KINDS_OF = {POSTPAID: ("welcome", "lapse", "exit"), PREPAID: ("welcome", "low-balance", "frozen", "unfrozen", "exit")}
PAST_JOINING_INDEX = "ix_member_status_changes_past_joining"


def _load(conn: Any, pool: int, first: int) -> None:
    """:data:`MEMBERS` members of ``pool`` numbered from ``first``, with their joining history."""
    last = first + MEMBERS - 1
    members = f"WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n WHERE i < {last})"
    conn.execute(
        text(
            f"{members} INSERT INTO members (id, pool_id, id_cipher, id_hash, id_masked, identity_seal, name, "
            "birth_date, joined_on, waiting_until, status, attributes_json) "
            f"SELECT i, {pool}, 'c' || i, 'h' || i, '***', '-', 'M' || i, '1980-01-01', '2026-10-01', '2026-12-30', "
            f"'active', :attrs FROM n"
        ),
        {"attrs": ATTRS},
    )
    for change, since in (("joined", "2026-10-01"), ("covered", "2026-12-31")):
        conn.execute(
            text(
                "INSERT INTO member_status_changes (member_id, change, status, since, cause) "
                f"SELECT id, '{change}', 'active', '{since}', 'joined' FROM members WHERE pool_id = {pool}"
            )
        )
    for change in ("lapsed", "frozen", "unfrozen", "exited"):
        conn.execute(
            text(
                "INSERT INTO member_status_changes (member_id, change, status, since, cause) "
                f"SELECT id, '{change}', 'active', '2027-02-20', 'event' FROM members "
                f"WHERE pool_id = {pool} AND id % 100 = 0"
            )
        )


@pytest.fixture
def big(sqlite_url: str, plugins: Any, truckers_pool: Any) -> Any:
    app = MutualAid(sqlite_url, plugins=plugins)
    postpaid = app.create_pool(truckers_pool(key=POSTPAID))
    prepaid = app.create_pool(truckers_pool(key=PREPAID, payments={"model": "prepaid"}))
    with app.engine.begin() as conn:
        _load(conn, postpaid.id, 1)
        _load(conn, prepaid.id, MEMBERS + 1)
        conn.execute(
            text(
                "INSERT INTO balances (member_id, pool_id, balance_minor) SELECT id, pool_id, "
                f"CASE WHEN id % 10 = 0 THEN 100 ELSE 10000 END FROM members WHERE pool_id = {prepaid.id}"
            )
        )
    with app.transaction() as session:  # as a member import and a file of top-ups leave them
        refresh_statistics(session, Member, MemberStatusChange, Balance)
    app.engine.dispose()
    yield app
    app.close()


def _plans(app: MutualAid) -> dict[tuple[str, str], list[str]]:
    """Each pool's kinds' recipients query, planned: (pool, kind) -> the plan's steps."""
    plans = {}
    with app.transaction() as session:
        for key, kinds in KINDS_OF.items():
            pool = get_pool(session, app.plugins, key)
            for kind in kinds:
                spec = KINDS[kind]
                request = NoticeRequest(since=date(2027, 2, 1))
                spec.check(pool, request)
                query = spec.recipients(session, pool, request, spec.batch(session, pool, request, "zh-CN"))
                sql = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
                plans[key, kind] = [row[3] for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
    return plans


def _by_the_pool(plan: list[str]) -> list[str]:
    return [step for step in plan if step.startswith("SEARCH members") and "pool_id" in step]


def test_the_members_notices_read_the_pool_in_member_order_and_its_events_by_their_index(big):
    for (key, kind), plan in _plans(big).items():
        assert not _by_the_pool(plan), (key, kind, plan)
        if kind == "welcome":  # every live member, in member order: nothing sorted
            assert plan == ["SCAN members"], (key, kind, plan)
            continue
        assert not [step for step in plan if step.startswith(("SCAN members", "SCAN member_status_changes"))], plan
        if kind == "low-balance":  # the low balances, then each one's member by its key
            assert plan[0] == "SEARCH members USING INTEGER PRIMARY KEY (rowid=?)", plan
            assert not [step for step in plan if "TEMP B-TREE" in step], plan
        else:  # the kind's change since the day, from the index of the history past joining
            assert any(step.startswith("SEARCH member_status_changes") and PAST_JOINING_INDEX in step for step in plan)


def test_with_the_samples_estimate_alone_the_welcome_notices_were_sorted(big, monkeypatch):
    """The check above fails when the pool's values are not counted: the sample's thousand
    members to a pool have the welcome notices read by the pool's index and sorted."""
    monkeypatch.setattr(statistics, "_count_the_few", lambda connection, table: False)
    with big.transaction() as session:
        session.execute(text("DELETE FROM sqlite_stat1"))
        refresh_statistics(session, Member, MemberStatusChange, Balance)
    big.engine.dispose()
    plans = _plans(big)
    assert _by_the_pool(plans[POSTPAID, "welcome"]), plans[POSTPAID, "welcome"]
    assert "USE TEMP B-TREE FOR ORDER BY" in plans[POSTPAID, "welcome"]
