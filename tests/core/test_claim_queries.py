"""What the claim commands ask the database: per claim, never per pool.

On SQLite every statement a claim command runs against ``members`` or ``charges`` is searched by
an index that matches its predicate (no SCAN, and never a walk of the sharing index, which is
ordered by joining day over the whole pool); the person's earlier memberships, now found by
equalities alone, are still the ones the cohort is told about, in joining order.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from mutualaid import IneligibleError
from mutualaid.claims.deciding import _member_facts
from mutualaid.db.models import Claim, Member

POOL = "js-truckers"


@pytest.fixture
def pool(app, truckers_pool, make_driver) -> str:
    app.create_pool(truckers_pool())
    for n in range(1, 6):
        app.join(POOL, **make_driver(n, joined_on=date(2026, 10, 1)))
    return POOL


def _touching_members_or_charges(app: Any, run: Any) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        upper = " ".join(statement.upper().split())
        if upper.startswith(("SELECT", "UPDATE")) and any(
            f"{word} {table}" in upper for word in ("FROM", "JOIN", "UPDATE") for table in ("MEMBERS", "CHARGES")
        ):
            statements.append((statement, parameters))

    event.listen(app.engine, "before_cursor_execute", keep)
    try:
        run()
    finally:
        event.remove(app.engine, "before_cursor_execute", keep)
    return statements


def test_claim_commands_search_members_and_charges_by_index(app, pool, make_driver):
    # A shared period, so the pool has charges; then a claim taken through every per-claim command.
    first = app.file_claim(POOL, 1, event_kind="accidental_death", event_date="2026-12-20", filed_on="2026-12-21")
    app.approve_claim(first.id)
    app.share(POOL, "2027-01")
    with app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat1")  # no statistics, as in a new database

    def commands() -> None:
        claim = app.file_claim(POOL, 2, event_kind="accidental_death", event_date="2027-02-20", filed_on="2027-02-21")
        app.claim(claim.id)
        app.review_claim(claim.id)
        app.claim_history(claim.id)
        app.claims(POOL)
        app.approve_claim(claim.id)
        other = app.file_claim(POOL, 3, event_kind="accidental_death", event_date="2027-02-20", filed_on="2027-02-21")
        app.reject_claim(other.id, "not an accident")
        third = app.file_claim(POOL, 4, event_kind="accidental_death", event_date="2027-02-20", filed_on="2027-02-21")
        app.amend_claim(third.id, event_date="2027-02-19", reason="typo")
        app.withdraw_claim(third.id, reason="filed twice")

    statements = _touching_members_or_charges(app, commands)
    # The earlier-memberships look-up is among them (a review, an approval and a rejection decide).
    assert sum("members.id_hash = " in s for s, _ in statements) >= 3
    if app.engine.dialect.name != "sqlite":
        return
    with app.engine.connect() as conn:
        for statement, parameters in statements:
            plan = " | ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            assert "SCAN members" not in plan and "SCAN charges" not in plan, (statement, plan)
            assert "ix_members_sharing" not in plan, (statement, plan)
            if "members.id_hash = " in statement:  # the person's other memberships: live, then ended
                assert "USING INDEX uq_members_live_person (pool_id=? AND id_hash=?)" in plan, plan
                assert "USING INDEX ix_members_ended_person (pool_id=? AND id_hash=?)" in plan, plan


def test_earlier_memberships_are_the_persons_earlier_ones_in_joining_order(app, pool, make_driver):
    person = make_driver(9, joined_on=date(2026, 1, 5))
    first = app.join(POOL, **person)
    app.exit_member(POOL, first.id, on="2026-03-01")
    second = app.join(POOL, **{**person, "joined_on": date(2026, 4, 1)})
    app.exit_member(POOL, second.id, on="2026-06-01")
    third = app.join(POOL, **{**person, "joined_on": date(2026, 7, 1)})
    claim = app.file_claim(POOL, third.id, event_kind="accidental_death",
                           event_date="2027-02-20", filed_on="2027-02-21")  # fmt: skip
    with app.transaction() as session:
        row = session.get(Claim, claim.id)
        member = session.get(Member, third.id)
        middle = session.get(Member, second.id)
        assert row is not None and member is not None and middle is not None
        facts = _member_facts(session, member, row, app.pool(POOL))
        # Seen from the middle membership, only the first one came earlier.
        middle_facts = _member_facts(session, middle, row, app.pool(POOL))
    assert [(m.member_id, m.joined_on, m.ended_on) for m in facts.earlier_memberships] == [
        (first.id, date(2026, 1, 5), date(2026, 3, 1)),
        (second.id, date(2026, 4, 1), date(2026, 6, 1)),
    ]
    assert [m.member_id for m in middle_facts.earlier_memberships] == [first.id]
    assert facts.member_id == third.id


def test_a_person_is_found_by_id_number_in_any_status_from_the_hash_indexes(app, pool, make_driver):
    # The keyed hash is indexed twice, partially: live people, ended people (migration 0012). Each
    # query by a person's hash must repeat one index's condition to be searched by it.
    app.exit_member(POOL, 2, on="2026-10-20")
    app.join(POOL, **make_driver(2, joined_on=date(2026, 11, 1)))  # #6: the same person again
    app.exit_member(POOL, 3, on="2026-10-20")
    claim = app.file_claim(POOL, 4, event_kind="accidental_death", event_date="2026-11-20", filed_on="2026-11-21")
    app.approve_claim(claim.id)  # #4 has died

    found: dict[int, Any] = {}

    def look_up() -> None:
        for n in (1, 2, 3, 4):
            found[n] = app.member(POOL, make_driver(n)["id_number"])
        with pytest.raises(IneligibleError) as refused:
            app.join(POOL, **make_driver(4, joined_on=date(2026, 12, 1)))
        assert "recorded as deceased (member #4, died on 2026-11-20)" in str(refused.value.problems)

    statements = _touching_members_or_charges(app, look_up)
    # the live membership first, else the latest ended one
    assert [(n, m.id, m.status) for n, m in sorted(found.items())] == [
        (1, 1, "active"),
        (2, 6, "active"),
        (3, 3, "exited"),
        (4, 4, "deceased"),
    ]
    by_hash = [(s, p) for s, p in statements if "members.id_hash = " in s]
    assert len(by_hash) >= 6
    if app.engine.dialect.name != "sqlite":  # tiny tables: with scans off, an index must serve each
        used_pg = set()
        with app.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            for statement, parameters in by_hash:
                plan = " | ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
                assert "Seq Scan on members" not in plan and "ix_members_sharing" not in plan, (statement, plan)
                indexes = {n for n in ("uq_members_live_person", "ix_members_ended_person") if f"using {n} " in plan}
                assert len(indexes) == 1, (statement, plan)
                used_pg |= indexes
        assert used_pg == {"uq_members_live_person", "ix_members_ended_person"}
        return
    used = set()
    with app.engine.connect() as conn:
        for statement, parameters in by_hash:
            plan = " | ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            assert "SCAN members" not in plan and "ix_members_sharing" not in plan, (statement, plan)
            indexes = {
                name
                for name in ("uq_members_live_person", "ix_members_ended_person")
                if f"USING INDEX {name} (pool_id=? AND id_hash=?)" in plan
                or f"USING COVERING INDEX {name} (pool_id=? AND id_hash=?)" in plan
            }
            assert len(indexes) == 1, (statement, plan)
            used |= indexes
    assert used == {"uq_members_live_person", "ix_members_ended_person"}
