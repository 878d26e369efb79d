"""The prepaid balances held, proved by ``ledger verify`` and counted on from there by ``ledger
balance``: the verification adds every balance up against the ledger at the entry it reached and
records the total; the books then read no balance, only the rows of what was posted since (top-ups,
their reversals, a prepaid run's charges, a voided run's charges given back), each kind of entry
moving the total by exactly its amount; a balance changed outside mutualaid is the next
verification's problem, named to the fen, and nothing is recorded."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from support import statements_run
from weighted_pool import *  # noqa: F403 (its fixtures: app, run_cli, test_plugins, today)

from mutualaid import MutualAid, StateError
from mutualaid.db.models import Balance, LedgerVerification
from mutualaid.ledger import last_checkpoint
from mutualaid.testing import resident_id

POOL = "weighted"
_people = itertools.count(1)


def _prepaid(app: MutualAid, count: int = 4, key: str = POOL) -> list[int]:
    app.create_pool(
        {
            "key": key,
            "name": key,
            "cohort": "weighted-test",
            "sharing": {"management_fee_rate": "0.08", "rounding": "exact"},
            "payments": {"model": "prepaid"},
        }
    )
    born = date(1960, 1, 1) + timedelta(days=next(_people))
    return [
        app.join(key, id_number=resident_id(born, n), name=f"M{n}", birth_date=born, joined_on="2027-01-01").id
        for n in range(count)
    ]


def _held(app: MutualAid) -> int:
    with app.reading() as s:
        return int(s.scalar(select(func.coalesce(func.sum(Balance.balance_minor), 0))) or 0)


def _books(app: MutualAid, key: str = POOL) -> tuple[int, list[str]]:
    """What the books' records say the balances hold (minor units), and the statements the check
    ran that read ``balances``; the books must balance."""
    report, read = statements_run(
        app.engine, lambda: app.reconcile_books(key), lambda s: "FROM balances" in s or "JOIN balances" in s
    )
    assert report.ok, [c for c in report.checks if not c.ok]
    (check,) = [c for c in report.checks if c.account == "member_balances"]
    return -check.records_minor, [statement for statement, _ in read]


def _recorded(app: MutualAid) -> int | None:
    with app.reading() as s:
        checkpoint = last_checkpoint(s, app.pool(POOL).id)
        assert checkpoint is not None
        return checkpoint.held_minor


def test_each_entry_posted_since_a_verification_moves_the_balances_held_by_its_amount(app, tmp_path: Path):
    members = _prepaid(app)
    app.top_up(POOL, members[0], "500", "2027-11-01", "R-1")
    app.top_up(POOL, members[1], "300", "2027-11-01", "R-2")
    held, read = _books(app)
    assert held == 80000 and read  # never verified: every balance added up
    assert app.verify_ledger(POOL).ok
    assert _recorded(app) == 80000
    assert _books(app) == (80000, [])  # verified: no balance read

    single = app.top_up(POOL, members[2], "12.34", "2027-11-02", "R-3")
    assert _books(app) == (81234, [])  # a top-up: by its entry's rows
    path = tmp_path / "top-ups.csv"
    path.write_text(
        f"member_id,amount,date,reference\n{members[0]},1,2027-11-03,F-1\n{members[1]},2.5,2027-11-03,F-2\n"
    )
    app.import_top_ups(POOL, path)
    assert _books(app) == (81584, [])  # a file of top-ups
    app.reverse_top_up(POOL, single.id, reason="entered twice")
    assert _books(app) == (80350, [])  # a reversal: by the top-up it took back
    assert _held(app) == 80350

    claim = app.file_claim(
        POOL, members[3], event_kind="need", event_date="2027-11-20", filed_on="2027-11-20", details={"amount": "100"}
    )
    app.approve_claim(claim.id)
    run = app.share(POOL, "2027-12")
    assert run.charged_minor > 0
    assert _held(app) == 80350 - run.charged_minor
    assert _books(app) == (80350 - run.charged_minor, [])  # the run's charges, read by its run
    app.void_run(POOL, "2027-12", reason="a claim filed twice")
    assert _books(app) == (80350, [])  # given back: the run's charges again
    assert app.verify_ledger(POOL).ok
    assert _recorded(app) == 80350 == _held(app)

    again = app.share(POOL, "2027-12")  # the run shared again, then voided after a verification
    assert app.verify_ledger(POOL).ok
    assert _recorded(app) == 80350 - again.charged_minor == _held(app)
    app.void_run(POOL, "2027-12", reason="again")
    assert _books(app) == (80350, [])  # given back by the total its verified entry recorded


def test_a_balance_changed_outside_mutualaid_is_the_next_verifications_problem(app):
    members = _prepaid(app)
    app.top_up(POOL, members[0], "500", "2027-11-01", "R-1")
    with app.engine.begin() as conn:
        conn.execute(text(f"UPDATE balances SET balance_minor = balance_minor + 1 WHERE member_id = {members[1]}"))
    report = app.verify_ledger(POOL)
    assert [p.message for p in report.problems] == [
        "the members' balances add up to 500.01 CNY, but the ledger's member_balances account holds 500.00 CNY "
        "for them at entry #1: a balance was changed outside mutualaid"
    ]
    with app.reading() as s:  # nothing recorded
        assert s.scalar(select(func.count()).select_from(LedgerVerification)) == 0
    with app.engine.begin() as conn:
        conn.execute(text(f"UPDATE balances SET balance_minor = balance_minor - 1 WHERE member_id = {members[1]}"))
    assert app.verify_ledger(POOL).ok
    with app.engine.begin() as conn:  # after a verification: the books count on from what it proved ...
        conn.execute(text(f"UPDATE balances SET balance_minor = balance_minor + 7 WHERE member_id = {members[2]}"))
    assert _books(app) == (50000, [])
    report = app.verify_ledger(POOL)  # ... and the next verification adds every balance up again
    assert not report.ok
    assert report.problems[-1].message.startswith("the members' balances add up to 500.07 CNY, but")


def test_a_verification_recorded_without_the_total_leaves_the_books_to_add_every_balance_up(app):
    members = _prepaid(app)
    app.top_up(POOL, members[0], "500", "2027-11-01", "R-1")
    assert app.verify_ledger(POOL).ok
    with app.engine.begin() as conn:  # as a verification recorded before revision 0017
        conn.execute(text("UPDATE ledger_verifications SET held_minor = NULL"))
    held, read = _books(app)
    assert held == 50000 and len(read) == 1


@pytest.mark.postgresql
def test_a_reader_sees_one_snapshot_on_postgresql(app, db_url):
    # ledger balance adds several sums up in one read: a top-up committed between two of them must
    # not make the books look unbalanced (at READ COMMITTED the second sum saw it)
    if db_url.startswith("sqlite"):
        pytest.skip("a SQLite reader keeps its snapshot by a lock that a writer waits for")
    members = _prepaid(app)
    app.top_up(POOL, members[0], "500", "2027-11-01", "R-1")
    with app.reading() as s:
        first = s.scalar(select(func.sum(Balance.balance_minor)))
        app.top_up(POOL, members[1], "1", "2027-11-01", "R-2")  # committed by another transaction
        assert s.scalar(select(func.sum(Balance.balance_minor))) == first == 50000
    assert _held(app) == 50100


#: An operation on a prepaid pool of four: a top-up of a member, a file of top-ups, the reversal of
#: an earlier top-up (by its order among them), or a verification.
_OPERATION = st.one_of(
    st.tuples(st.just("top-up"), st.integers(0, 3), st.integers(1, 10**9)),
    st.tuples(st.just("file"), st.lists(st.tuples(st.integers(0, 3), st.integers(1, 10**7)), min_size=1, max_size=4)),
    st.tuples(st.just("reverse"), st.integers(0, 20)),
    st.tuples(st.just("verify")),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(_OPERATION, min_size=1, max_size=8))
def test_the_balances_held_count_on_exactly_whatever_was_posted_since_a_verification(app, tmp_path, operations):
    # whatever top-ups, files of top-ups, reversals and verifications come in whatever order, the
    # books' balances held are every balance added up, to the minor unit, after each of them
    key = f"held-{next(_people)}"  # a pool of its own for each example, in the same database
    members = _prepaid(app, key=key)
    top_ups: list[int] = []
    for n, operation in enumerate(operations):
        if operation[0] == "top-up":
            _, who, amount = operation
            top_ups.append(app.top_up(key, members[who], str(amount), "2027-11-01", f"T-{n}").id)
        elif operation[0] == "file":
            path = tmp_path / f"{key}-{n}.csv"
            rows = [f"{members[who]},{amount},2027-11-01,F-{n}-{i}" for i, (who, amount) in enumerate(operation[1])]
            path.write_text("member_id,amount,date,reference\n" + "\n".join(rows) + "\n", encoding="utf-8")
            app.import_top_ups(key, path)
        elif operation[0] == "reverse" and top_ups:
            chosen = top_ups.pop(operation[1] % len(top_ups))
            try:
                app.reverse_top_up(key, chosen, reason="property")
            except StateError:
                pass  # the member holds less now: refused, nothing changed
        elif operation[0] == "verify":
            assert app.verify_ledger(key).ok
        held, _ = _books(app, key)
        assert held == _held_in(app, key)


def _held_in(app: MutualAid, key: str) -> int:
    with app.reading() as s:
        pool_id = app.pool(key).id
        return int(
            s.scalar(select(func.coalesce(func.sum(Balance.balance_minor), 0)).where(Balance.pool_id == pool_id)) or 0
        )
