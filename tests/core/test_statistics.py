"""SQLite's statistics after a command refreshes them (``refresh_statistics``): sampled, then the
leading columns the sample saw few values of counted exactly, so that a query over a big pool is
planned as a full ``ANALYZE`` would have it planned.

The pools here are big enough for the sample of a thousand rows an index to see one pool only: it
estimates a thousand members to a pool, where the pool holds thousands.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from mutualaid.db import statistics, upgrade
from mutualaid.db.models import Member, MemberStatusChange
from mutualaid.db.statistics import ANALYSIS_LIMIT, refresh_statistics

#: Members of the big pool and of the small one.
BIG, SMALL = 60_000, 40
ATTRS = '{"licence_class": "A2"}'
#: A pool's live members in member order, as the welcome notices read them.
LIVE_IN_ORDER = "SELECT id FROM members WHERE pool_id = 1 AND status IN ('active', 'frozen') ORDER BY id"


def _members(conn: Any, pool: int, count: int, first: int) -> None:
    conn.execute(
        text(
            "WITH RECURSIVE n(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM n WHERE i < :last) "
            "INSERT INTO members (id, pool_id, id_cipher, id_hash, id_masked, identity_seal, name, birth_date, "
            "joined_on, waiting_until, status, attributes_json) "
            "SELECT i, :pool, 'c' || i, 'h' || i, '***', '-', 'M' || i, '1980-01-01', "
            "CASE WHEN i % 2 THEN '2026-10-01' ELSE '2026-10-02' END, '2026-12-30', 'active', :attrs FROM n"
        ),
        {"first": first, "last": first + count - 1, "pool": pool, "attrs": ATTRS},
    )


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A SQLite database at the head with a pool of :data:`BIG` members and one of :data:`SMALL`."""
    engine = create_engine(f"sqlite:///{tmp_path / 'stats.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        for key in ("big", "small"):
            conn.execute(
                text(
                    "INSERT INTO pools (key, name, cohort, currency, config_json, created_at) "
                    "VALUES (:k, :k, 'truckers', 'CNY', '{}', '2026-10-01T00:00:00')"
                ),
                {"k": key},
            )
        _members(conn, 1, BIG, 1)
        _members(conn, 2, SMALL, BIG + 1)
    return engine


def _stat(conn: Any, index: str) -> list[int]:
    stat = conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE idx = :i"), {"i": index}).scalar_one()
    return [int(word) for word in stat.split() if word.isdigit()]


def _plan(conn: Any, sql: str) -> list[str]:
    return [row[3] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]


def _sampled_only(conn: Any) -> None:
    conn.execute(text(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}"))
    conn.execute(text("ANALYZE members"))
    conn.execute(text("PRAGMA analysis_limit = 0"))


def test_a_sample_misjudges_the_pool_and_the_refresh_counts_its_values(engine):
    with engine.begin() as conn:
        _sampled_only(conn)  # what the refresh did before it counted: a thousand members to a pool
        sampled = _stat(conn, "ix_members_sharing")
        assert sampled[1] <= ANALYSIS_LIMIT + 1 < BIG
        assert "USE TEMP B-TREE FOR ORDER BY" in _plan(conn, LIVE_IN_ORDER)  # read by the pool and sorted
    with Session(engine) as session, session.begin():
        refresh_statistics(session, Member, MemberStatusChange)
    with engine.connect() as conn:
        sharing = _stat(conn, "ix_members_sharing")  # pool_id, joined_on, id, ...
        rows = sharing[0]
        # two pools; two joining days in each: the averages a full ANALYZE gives for as many rows
        assert sharing[1:3] == [math.ceil(rows / 2), math.ceil(rows / 4)]
        assert sharing[3:] == sampled[3:]  # from the member number on, many values: the sample's
        live = _stat(conn, "uq_members_live_person")  # pool_id, id_hash (partial: the live members)
        assert live[1] == math.ceil(live[0] / 2) and live[2] == 1
        assert _plan(conn, LIVE_IN_ORDER) == ["SCAN members"]  # in member order, nothing sorted


def test_a_refresh_leaves_the_sample_where_the_values_are_more_than_it_counts(engine, monkeypatch):
    with engine.begin() as conn:
        _sampled_only(conn)
        sampled = _stat(conn, "ix_members_sharing")
    monkeypatch.setattr(statistics, "FEW", 1)  # two pools are more than it counts
    with Session(engine) as session, session.begin():
        refresh_statistics(session, Member)
    with engine.connect() as conn:
        assert _stat(conn, "ix_members_sharing") == sampled


def test_a_refresh_rolled_back_leaves_the_statistics_as_they_were(engine):
    with engine.begin() as conn:
        _sampled_only(conn)
        sampled = _stat(conn, "ix_members_sharing")
    with Session(engine) as session:
        session.begin()
        refresh_statistics(session, Member)
        session.rollback()
    with engine.connect() as conn:
        assert _stat(conn, "ix_members_sharing") == sampled


def test_a_refresh_of_any_table_corrects_the_statistics_sampled_before(engine):
    """A pool imported before the correction, then only shared: a run refreshes the charges'
    statistics only, and the members' are corrected with them."""
    with engine.begin() as conn:
        _sampled_only(conn)
        assert _stat(conn, "ix_members_sharing")[1] <= ANALYSIS_LIMIT + 1
    with Session(engine) as session, session.begin():
        refresh_statistics(session, MemberStatusChange)
    with engine.connect() as conn:
        sharing = _stat(conn, "ix_members_sharing")
        assert sharing[1] == math.ceil(sharing[0] / 2)
        assert _plan(conn, LIVE_IN_ORDER) == ["SCAN members"]


def test_a_refresh_leaves_the_statistics_of_a_table_emptied_since_its_sample(engine):
    """Statistics sampled when the table held rows, the rows deleted since: nothing to count, the
    sample's estimate stands, and the refresh (of another table) does not fail."""
    with engine.begin() as conn:
        _sampled_only(conn)
        sampled = _stat(conn, "ix_members_sharing")
        conn.execute(text("DELETE FROM members"))
    with Session(engine) as session, session.begin():
        refresh_statistics(session, MemberStatusChange)
    with engine.connect() as conn:
        assert _stat(conn, "ix_members_sharing") == sampled
