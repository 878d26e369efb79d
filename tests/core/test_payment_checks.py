"""A payment import checks one by one only the rows one query finds not plainly right: whatever
a file holds, it must refuse the same rows with the same problems, and write the same payments and
figures, as checking every row one by one would."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from support import rolled_back

from mutualaid import ImportRowsError, MutualAid
from mutualaid.db.models import Payment
from mutualaid.payments import share_checks, staging
from mutualaid.payments.postpaid import import_payments

POOL = "js-truckers"
OTHER = "other-truckers"


def _attempt(app: MutualAid, path: Path) -> object:
    """The problems of importing ``path``, or its figures and the payments it writes; nothing kept."""

    def work(session):
        try:
            result = import_payments(session, app.plugins, POOL, path)
        except ImportRowsError as exc:
            return ("refused", exc.summary, exc.problems)
        written = session.execute(
            select(Payment.run_id, Payment.member_id, Payment.result, Payment.attempted_on, Payment.amount_minor)
            .where(Payment.batch_id == result.batch_id)
            .order_by(Payment.id)
        ).all()
        figures = (result.rows, result.paid_count, result.paid_minor, result.failed_count)
        return ("imported", figures, [tuple(row) for row in written])

    return rolled_back(app, work)


def _every_row_one_by_one(session, table, run_ids, repeated, size):
    """The reference: every staged row is checked one by one."""
    return staging.staged_chunks(session, table, size)


@pytest.fixture
def settled_pool(app: MutualAid, truckers_pool, make_driver, tmp_path: Path) -> dict[str, int]:
    """Drivers #1-#6, #8 and #9 in POOL, #7 in OTHER. September is shared by #2-#6, #8 and #9 (#1
    died): #2, #6, #8 and #9 pay it, the others stay due. October by #3, #5, #6, #8 and #9 (#2 died,
    #4 exited): #3, #6, #8 and #9 pay it, #5's collection fails. Both are settled: #5 lapses.
    November, not settled, is shared by #3, #6 and #9 (#8 died): collecting #9's share fails once.
    Returns each period's share."""
    app.create_pool(truckers_pool(payments={"model": "postpaid"}))
    app.create_pool(truckers_pool(key=OTHER, payments={"model": "postpaid"}))
    for n in range(6):
        app.join(POOL, **make_driver(n, joined_on="2026-08-01"))
    app.join(OTHER, **make_driver(6, joined_on="2026-08-01"))
    for n in (7, 8):
        app.join(POOL, **make_driver(n, joined_on="2026-08-01"))

    def death(member: int, day: str, filed: str) -> None:
        claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=day, filed_on=filed)
        app.approve_claim(claim.id)

    def paid(name: str, *rows: str) -> None:
        path = tmp_path / name
        path.write_text("\n".join(["member_id,period,result,date", *rows]) + "\n", encoding="utf-8")
        app.import_payments(POOL, path)

    death(1, "2026-08-20", "2026-08-25")
    september = app.share(POOL, "2026-09")
    paid("s.csv", *(f"{m},2026-09,paid,2026-09-15" for m in (2, 6, 8, 9)))
    app.exit_member(POOL, 4, on="2026-09-25")
    death(2, "2026-09-20", "2026-09-25")
    october = app.share(POOL, "2026-10")
    paid("o.csv", *(f"{m},2026-10,paid,2026-10-14" for m in (3, 6, 8, 9)), "5,2026-10,failed,2026-10-15")
    app.settle_payments(POOL, "2026-10-20")
    death(8, "2026-10-20", "2026-10-25")
    november = app.share(POOL, "2026-11")
    paid("n.csv", "9,2026-11,failed,2026-11-14")
    assert (september.members, october.members, november.members) == (7, 5, 3)
    assert [(m.id, m.status) for m in app.members(POOL)] == [
        (1, "deceased"),
        (2, "deceased"),
        (3, "active"),
        (4, "exited"),
        (5, "lapsed"),
        (6, "active"),
        (8, "deceased"),
        (9, "active"),
    ]
    return {"2026-09": september.share_minor, "2026-10": october.share_minor, "2026-11": november.share_minor}


#: Members #3, #6 and #9, live, have shares still due: the rows most likely to be plainly right.
_ROW = st.tuples(
    st.sampled_from([3, 6, 9, 3, 6, 9, 1, 2, 4, 5, 7, 8, 999]),
    st.sampled_from(["2026-11", "2026-11", "2026-09", "2026-10", "2026-08"]),
    st.sampled_from(["paid", "failed"]),
    st.sampled_from(["2026-09-14", "2026-10-16", "2026-10-25", "2026-11-13", "2026-11-14", "2026-11-19", "2026-11-20"]),
    st.sampled_from(["", "right", "wrong"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_ROW, min_size=1, max_size=8))
@example(rows=[(3, "2026-09", "paid", "2026-10-25", "wrong")])
@example(rows=[(3, "2026-09", "paid", "2026-10-25", "right"), (3, "2026-09", "paid", "2026-10-25", "")])
@example(rows=[(6, "2026-10", "paid", "2026-10-16", "")])  # paid before
@example(rows=[(9, "2026-11", "paid", "2026-11-20", "right")])  # late, after a failure
@example(rows=[(3, "2026-11", "failed", "2026-11-14", ""), (3, "2026-11", "paid", "2026-11-20", "right")])
def test_the_rows_checked_one_by_one_are_enough(app, settled_pool, tmp_path, monkeypatch, rows):
    shares = settled_pool
    lines = []
    for member, period, result, day, amount in rows:
        share = shares.get(period, 100)
        written = {"": "", "right": share, "wrong": share + 1}[amount]
        cell = f"{written // 100}.{written % 100:02d}" if written != "" else ""
        lines.append(f"{member},{period},{result},{day},{cell}")
    path = tmp_path / "results.csv"
    path.write_text("\n".join(["member_id,period,result,date,amount", *lines]) + "\n", encoding="utf-8")

    quick = _attempt(app, path)
    with monkeypatch.context() as patched:
        patched.setattr(share_checks, "_unusual_chunks", _every_row_one_by_one)
        reference = _attempt(app, path)
    assert quick == reference


def test_a_file_of_plain_and_unusual_rows_checks_the_unusual_ones(app, settled_pool, tmp_path):
    """#3's September share, still due, is paid late (live, never failed: accepted, and checked
    one by one); #6 pays twice (refused on the second line); #7 is another pool's member."""
    path = tmp_path / "mixed.csv"
    path.write_text(
        "member_id,period,result,date\n"
        "3,2026-09,paid,2026-10-25\n"
        "6,2026-10,paid,2026-10-16\n"
        "7,2026-10,paid,2026-10-14\n",
        encoding="utf-8",
    )
    outcome = _attempt(app, path)
    assert outcome == (
        "refused",
        f"{path}: 2 of 3 rows are invalid; no payments were imported:",
        [
            f"{path}:3: result: member #6 already paid the share of period 2026-10 on 2026-10-14 (payment batch #2)",
            f"{path}:4: member_id: pool {POOL!r} has no member #7",
        ],
    )
