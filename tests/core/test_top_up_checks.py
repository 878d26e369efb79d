"""A top-up import checks one by one only the rows one query finds not plainly right: whatever a
file holds, it must refuse the same rows with the same problems, and write the same top-ups,
balances and unfreezings, as checking every row one by one would."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from support import rolled_back

from mutualaid import ImportRowsError, MutualAid
from mutualaid.db.models import Balance, Member, TopUp
from mutualaid.members import lifecycle
from mutualaid.payments import prepaid, staging
from mutualaid.payments.prepaid import import_top_ups
from mutualaid.pools import get_pool

POOL = "js-truckers"
OTHER = "other-truckers"


def _attempt(app: MutualAid, path: Path) -> object:
    """The problems of importing ``path``, or its figures, the top-ups, balances and statuses it
    leaves; nothing kept."""

    def work(session):
        try:
            result = import_top_ups(session, app.plugins, POOL, path)
        except ImportRowsError as exc:
            return ("refused", exc.summary, exc.problems)
        written = session.execute(
            select(TopUp.member_id, TopUp.amount_minor, TopUp.received_on, TopUp.reference)
            .where(TopUp.entry_id == result.entry_id)
            .order_by(TopUp.id)
        ).all()
        balances = session.execute(select(Balance.member_id, Balance.balance_minor).order_by(Balance.member_id))
        statuses = session.execute(select(Member.id, Member.status).order_by(Member.id))
        figures = (result.rows, result.members, result.total_minor, result.unfrozen)
        return ("imported", figures, [tuple(r) for r in written], balances.all(), statuses.all())

    return rolled_back(app, work)


def _every_row(table, pool, headroom):
    """The reference: every staged row is checked one by one."""
    return select(table)


@pytest.fixture
def funded_pool(app: MutualAid, truckers_pool, make_driver) -> dict[str, int]:
    """A prepaid pool (low balance 5.00) of drivers #1-#5 and #7, #6 in OTHER: #1 exited on
    2026-11-06, #2 and #3 frozen since 2026-11-07, #4 holding 9,999,999,999,990.00 (reference
    ``OLD``; a top-up ``GONE`` of #4 was reversed), #7 joined on 2026-11-05. Returns the numbers."""
    app.create_pool(truckers_pool(payments={"model": "prepaid"}, settings={"accidental_death_benefit": 300}))
    app.create_pool(truckers_pool(key=OTHER, payments={"model": "prepaid"}))
    for n in range(5):
        app.join(POOL, **make_driver(n))
    other = app.join(OTHER, **make_driver(5)).id
    late = app.join(POOL, **make_driver(6, joined_on="2026-11-05")).id
    app.exit_member(POOL, 1, "2026-11-06")
    with app.transaction() as s:
        pool = get_pool(s, app.plugins, POOL)
        assert lifecycle.freeze_where(s, app.plugins, pool, Member.id.in_((2, 3)), date(2026, 11, 7), "test")
    app.top_up(POOL, 4, "9999999999990", "2026-11-01", "OLD")
    gone = app.top_up(POOL, 4, "2", "2026-11-01", "GONE")
    app.reverse_top_up(POOL, gone.id, reason="entered twice")
    return {"other": other, "late": late}


_ROW = st.tuples(
    st.sampled_from(["live", "live", "frozen", "frozen", "rich", "exited", "late", "other", "unknown"]),
    st.sampled_from(["1", "3", "4.5", "6", "6000000000000"]),
    st.sampled_from(["2026-11-09", "2026-11-09", "2026-11-10", "2026-11-01", "2099-01-01"]),
    st.sampled_from(["new", "new", "new", "again", "OLD", "GONE"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_ROW, min_size=1, max_size=8), size=st.sampled_from([1, 2, 3, 10_000]))
@example(rows=[("rich", "6", "2026-11-09", "new"), ("live", "1", "2026-11-09", "new")] * 2, size=1)
@example(rows=[("live", "6000000000000", "2026-11-09", "new")] * 2, size=1)  # the file's total passes the largest
@example(rows=[("frozen", "3", "2026-11-09", "new"), ("frozen", "3", "2026-11-10", "new")], size=1)  # unfreezes
@example(rows=[("live", "1", "2026-11-09", "GONE"), ("frozen", "1", "2026-11-09", "again")], size=2)
def test_the_rows_checked_one_by_one_are_enough(app, funded_pool, tmp_path, monkeypatch, rows, size):
    numbers = {"live": 5, "frozen": 2, "rich": 4, "exited": 1, "unknown": 99, **funded_pool}
    lines = []
    for n, (member, amount, day, reference) in enumerate(rows):
        given = {"new": f"R-{n}", "again": "R-AGAIN"}.get(reference, reference)
        number = numbers[member] if member != "frozen" else 2 + n % 2  # #2 or #3
        lines.append(f"{number},{amount},{day},{given}")
    path = tmp_path / "top-ups.csv"
    path.write_text("\n".join(["member_id,amount,date,reference", *lines]) + "\n", encoding="utf-8")

    monkeypatch.setattr(staging, "CHUNK_ROWS", size)
    quick = _attempt(app, path)
    with monkeypatch.context() as patched:
        patched.setattr(prepaid, "unusual_top_ups", _every_row)
        reference = _attempt(app, path)
    assert quick == reference
