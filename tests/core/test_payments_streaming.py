"""Payment results and top-ups imported a chunk at a time: the rows of a file are staged, checked and
written in chunks of ``staging.CHUNK_ROWS`` (patched small here so that a few rows cross many chunk
boundaries), with the same messages, figures and digests as a file read in one chunk, and nothing
written when any row anywhere is bad."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mutualaid import ImportRowsError, MutualAid
from mutualaid.db.models import Balance, LedgerEntry, Member, MemberStatusChange, Payment, PaymentBatch, Pool, TopUp
from mutualaid.ledger import list_entries, reconcile_books, verify_ledger
from mutualaid.ledger.digests import payment_rows_digest, top_up_rows_digest
from mutualaid.members import lifecycle
from mutualaid.payments import staging
from mutualaid.pools import get_pool

POOL = "js-truckers"


def _postpaid(app: MutualAid, truckers_pool, make_driver) -> int:
    """Drivers #1-#7 of a postpaid pool; #1 dies and #2-#7 are charged for 2026-11 (deducted 2026-11-14)."""
    app.create_pool(truckers_pool(payments={"model": "postpaid"}))
    for n in range(7):
        app.join(POOL, **make_driver(n))
    claim = app.file_claim(POOL, 1, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)
    run = app.share(POOL, "2026-11")
    assert run.members == 6
    return run.run_id


def _csv(tmp_path: Path, header: str, *rows: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _payments_csv(tmp_path: Path, *rows: str, name: str = "payments.csv") -> Path:
    return _csv(tmp_path, "member_id,period,result,date", *rows, name=name)


def _state(app: MutualAid) -> dict:
    """Every table an import writes: counts and sums, the ledger head, the members' statuses."""
    with app.transaction() as s:
        pool = s.scalar(select(Pool).where(Pool.key == POOL))
        return {
            "batches": s.scalar(select(func.count()).select_from(PaymentBatch)),
            "payments": s.execute(select(func.count(), func.sum(Payment.amount_minor))).one(),
            "top_ups": s.execute(select(func.count(), func.sum(TopUp.amount_minor))).one(),
            "balances": s.execute(select(Balance.member_id, Balance.balance_minor).order_by(Balance.member_id)).all(),
            "entries": s.scalar(select(func.count()).select_from(LedgerEntry)),
            "head": (pool.ledger_seq, pool.ledger_head),
            "changes": s.scalar(select(func.count()).select_from(MemberStatusChange)),
            "members": s.execute(select(Member.id, Member.status).order_by(Member.id)).all(),
        }


def _books_ok(app: MutualAid) -> None:
    with app.transaction() as s:
        pool_id = s.scalar(select(Pool.id).where(Pool.key == POOL))
        assert reconcile_books(s, pool_id).ok
        report = verify_ledger(s, pool_id)
        assert report.ok, report.problems


def _entry(app: MutualAid, kind: str):
    with app.transaction() as s:
        return list_entries(s, s.scalar(select(Pool.id).where(Pool.key == POOL)), kind=kind)[-1]


def _refused(app: MutualAid, path: Path, importer: str) -> ImportRowsError:
    with pytest.raises(ImportRowsError) as caught:
        getattr(app, importer)(POOL, path)
    return caught.value


# -- payment results ---------------------------------------------------------------------------


def test_results_crossing_chunks_are_written_whole_with_the_digest_of_the_whole_batch(
    app, truckers_pool, make_driver, tmp_path, monkeypatch
):
    monkeypatch.setattr(staging, "CHUNK_ROWS", 2)
    run_id = _postpaid(app, truckers_pool, make_driver)
    share = app.payments(POOL, "2026-11")[0].charge_minor
    rows = [
        (3, "failed", "2026-11-14"),
        (2, "paid", "2026-11-14"),
        (4, "paid", "2026-11-15"),
        (3, "failed", "2026-11-15"),
        (5, "failed", "2026-11-16"),
        (3, "paid", "2026-11-17"),  # #3 retried in the third chunk, failed in the first and second
        (6, "paid", "2026-11-18"),
    ]
    path = _payments_csv(tmp_path, *(f"{m},2026-11,{result},{day}" for m, result, day in rows))
    imported = app.import_payments(POOL, path)
    assert (imported.rows, imported.paid_count, imported.paid_minor, imported.failed_count) == (7, 4, 4 * share, 3)
    with app.transaction() as s:
        written = s.execute(
            select(Payment.run_id, Payment.member_id, Payment.result, Payment.attempted_on, Payment.amount_minor)
            .where(Payment.batch_id == imported.batch_id)
            .order_by(Payment.id)
        ).all()
    assert written == [(run_id, m, result, date.fromisoformat(day), share) for m, result, day in rows]
    entry = _entry(app, "payments")
    assert entry.posted_on == date(2026, 11, 18)
    assert entry.facts["rows_digest"] == payment_rows_digest(imported.batch_id, written)
    assert entry.facts["periods"] == {"2026-11": {"paid_count": 4, "paid": 4 * share, "failed_count": 3}}
    assert {s.member_id: (s.state, s.failed_attempts) for s in app.payments(POOL, "2026-11")} == {
        2: ("paid", 0),
        3: ("paid", 2),
        4: ("paid", 0),
        5: ("unpaid", 1),
        6: ("paid", 0),
        7: ("unpaid", 0),
    }
    _books_ok(app)


def test_repeats_across_chunks_name_the_earlier_and_later_lines_as_one_chunk_does(
    app, truckers_pool, make_driver, tmp_path, monkeypatch
):
    _postpaid(app, truckers_pool, make_driver)
    path = _payments_csv(
        tmp_path,
        "4,2026-11,failed,2026-11-16",  # 2: #4's share is paid on line 7, on an earlier day
        "2,2026-11,paid,2026-11-14",
        "3,2026-11,paid,2026-11-14",
        "9,2026-11,paid,2026-11-14",  # 5: no such member
        "2,2026-11,paid,2026-11-15",  # 6: paid on line 3 already
        "4,2026-11,paid,2026-11-15",
        "3,2026-11,failed,2026-11-16",  # 8: a failure after the payment on line 4
        "2,2026-11,paid,2026-11-16",  # 9: paid on line 3 already
    )
    expected = [
        f"{path}:2: result: a failed attempt on 2026-11-16 comes after member #4's share of period 2026-11 was paid "
        "on 2026-11-15",
        f"{path}:5: member_id: pool 'js-truckers' has no member #9",
        f"{path}:6: result: member #2's share of period 2026-11 is already paid on line 3",
        f"{path}:8: result: a failed attempt on 2026-11-16 comes after member #3's share of period 2026-11 was paid "
        "on 2026-11-14",
        f"{path}:9: result: member #2's share of period 2026-11 is already paid on line 3",
    ]
    before = _state(app)
    whole = _refused(app, path, "import_payments")
    assert whole.problems == expected
    for size in (1, 2, 3):
        monkeypatch.setattr(staging, "CHUNK_ROWS", size)
        chunked = _refused(app, path, "import_payments")
        assert (str(chunked), chunked.problems) == (
            f"{path}: 5 of 8 rows are invalid; no payments were imported:",
            expected,
        )
    assert _state(app) == before


def test_a_bad_row_in_the_last_chunk_leaves_every_table_as_it_was(
    app, truckers_pool, make_driver, tmp_path, monkeypatch
):
    monkeypatch.setattr(staging, "CHUNK_ROWS", 2)
    _postpaid(app, truckers_pool, make_driver)
    app.import_payments(POOL, _payments_csv(tmp_path, "7,2026-11,paid,2026-11-14", name="first.csv"))
    before = _state(app)
    rows = [f"{m},2026-11,paid,2026-11-14" for m in (2, 3, 4, 5, 6)] + ["7,2026-11,paid,2026-11-15"]
    path = _payments_csv(tmp_path, *rows)
    refused = _refused(app, path, "import_payments")
    assert refused.problems == [
        f"{path}:7: result: member #7 already paid the share of period 2026-11 on 2026-11-14 (payment batch #1)"
    ]
    assert _state(app) == before
    # the same rows without the bad one import whole: the failed attempt left nothing behind
    imported = app.import_payments(POOL, _payments_csv(tmp_path, *rows[:-1], name="fixed.csv"))
    assert imported.rows == 5
    _books_ok(app)


def test_the_problems_held_are_bounded_and_the_summary_counts_them_all(
    app, truckers_pool, make_driver, tmp_path, monkeypatch
):
    _postpaid(app, truckers_pool, make_driver)
    rows = [f"{m},2026-11,paid,2026-13-01" for m in range(2, 8)] + [f"{m},2026-11,paid,2026-11-14" for m in (50, 51)]
    path = _payments_csv(tmp_path, *rows)
    monkeypatch.setattr(staging, "SHOWN_PROBLEMS", 3)
    whole = _refused(app, path, "import_payments")
    monkeypatch.setattr(staging, "CHUNK_ROWS", 2)
    monkeypatch.setattr(staging, "KEPT_PROBLEMS", 3)  # kept: those of the lowest lines (6 found: cut to 3)
    bounded = _refused(app, path, "import_payments")
    assert (str(bounded), bounded.problems) == (str(whole), whole.problems)
    assert str(bounded) == f"{path}: 8 of 8 rows are invalid; no payments were imported:"
    assert bounded.problems == [
        f"{path}:2: date: must be a date written YYYY-MM-DD ('2026-13-01' given)",
        f"{path}:3: date: must be a date written YYYY-MM-DD ('2026-13-01' given)",
        f"{path}:4: date: must be a date written YYYY-MM-DD ('2026-13-01' given)",
        "... and 5 more problems",
    ]


# -- top-ups -------------------------------------------------------------------------------------


def _prepaid(app: MutualAid, truckers_pool, make_driver) -> None:
    """A prepaid pool (low balance 5.00) of drivers #1-#4, #2 and #3 frozen since 2026-11-07."""
    app.create_pool(truckers_pool(payments={"model": "prepaid"}, settings={"accidental_death_benefit": 300}))
    for n in range(4):
        app.join(POOL, **make_driver(n))
    with app.transaction() as s:
        pool = get_pool(s, app.plugins, POOL)
        assert lifecycle.freeze_where(s, app.plugins, pool, Member.id.in_((2, 3)), date(2026, 11, 7), "test")


def _top_ups_csv(tmp_path: Path, *rows: str, name: str = "top-ups.csv") -> Path:
    return _csv(tmp_path, "member_id,amount,date,reference", *rows, name=name)


def test_top_ups_crossing_chunks_unfreeze_from_the_row_that_reached_the_level(
    app, truckers_pool, make_driver, tmp_path, monkeypatch
):
    monkeypatch.setattr(staging, "CHUNK_ROWS", 2)
    _prepaid(app, truckers_pool, make_driver)
    rows = [
        (2, "3", "2026-11-09", "R-1"),
        (3, "1", "2026-11-09", "R-2"),
        (4, "1.25", "2026-11-09", "R-3"),
        (2, "1", "2026-11-10", "R-4"),  # #2 holds 4.00: still frozen
        (3, "0.50", "2026-11-10", "R-5"),
        (2, "1", "2026-11-11", "R-6"),  # #2 reaches 5.00 in the third chunk: unfrozen from 2026-11-11
        (4, "2", "2026-11-12", "R-7"),
    ]
    result = app.import_top_ups(POOL, _top_ups_csv(tmp_path, *(",".join(map(str, r)) for r in rows)))
    assert (result.rows, result.members, result.total_minor, result.unfrozen) == (7, 3, 975, 1)
    with app.transaction() as s:
        balances = dict(s.execute(select(Balance.member_id, Balance.balance_minor)).all())
        written = s.execute(
            select(TopUp.member_id, TopUp.amount_minor, TopUp.received_on, TopUp.reference).order_by(TopUp.id)
        ).all()
        unfrozen = s.execute(
            select(MemberStatusChange.member_id, MemberStatusChange.since).where(
                MemberStatusChange.cause == "topped up"
            )
        ).all()
    assert balances == {1: 0, 2: 500, 3: 150, 4: 325}
    assert [r[3] for r in written] == [r[3] for r in rows]
    assert unfrozen == [(2, date(2026, 11, 11))]
    assert {m.id: m.status for m in app.members(POOL)} == {1: "active", 2: "active", 3: "frozen", 4: "active"}
    entry = _entry(app, "top-up")
    assert entry.posted_on == date(2026, 11, 12) and entry.facts["rows"] == 7 and entry.facts["total"] == 975
    assert entry.facts["rows_digest"] == top_up_rows_digest(written)
    _books_ok(app)


def test_top_ups_repeating_a_reference_across_chunks_name_its_first_line_and_write_nothing(
    app, truckers_pool, make_driver, tmp_path, monkeypatch
):
    _prepaid(app, truckers_pool, make_driver)
    app.top_up(POOL, 4, "1", "2026-11-01", "OLD")
    before = _state(app)
    path = _top_ups_csv(
        tmp_path,
        "2,3,2026-11-09,R-1",
        "3,1,2026-11-09,R-2",
        "4,1,2026-11-09,R-3",
        "2,1,2026-11-10,R-1",
        "3,1,2026-11-10,OLD",
        "4,1,2026-11-10,R-3",
    )
    expected = [
        f"{path}:5: reference: 'R-1' is already on line 2",
        f"{path}:6: reference: 'OLD' was already recorded (top-up #1 of member #4 on 2026-11-01); a top-up is "
        "recorded once",
        f"{path}:7: reference: 'R-3' is already on line 4",
    ]
    assert _refused(app, path, "import_top_ups").problems == expected
    for size in (1, 2, 4):
        monkeypatch.setattr(staging, "CHUNK_ROWS", size)
        chunked = _refused(app, path, "import_top_ups")
        assert (str(chunked), chunked.problems) == (
            f"{path}: 3 of 6 rows are invalid; no top-ups were imported:",
            expected,
        )
    assert _state(app) == before


def test_top_up_cells_read_once_per_text_keep_every_rows_problems(app, truckers_pool, make_driver, tmp_path):
    # The amount and day texts repeat, and are parsed once each: a bad one is still reported on
    # every row that has it. References the quick check passes (printable, at most 200 characters)
    # and those it leaves to the full one (a no-break or zero-width space: accepted; a tab, DEL,
    # 201 characters: refused) give the messages of a single top-up.
    _prepaid(app, truckers_pool, make_driver)
    before = _state(app)
    accepted = ["x" * 200, "WX\u00a01", "WX\u200b2", "微信\U0001f600"]
    refused = ["x" * 201, "tab\there", "del\x7f"]
    rows = [f"2,1.5,2026-11-09,{accepted[0]}", "3,1.505,2026-11-09,R-1", "4,1.5,2026-11-31,R-2"]
    rows += [f"2,1.5,2026-11-09,{reference}" for reference in refused]
    rows += ["3,1.505,2026-11-09,R-3", "4,1.5,2026-11-31,R-4", "#2,abc,2026-11-09,R-5", "x,abc,11/09/2026,"]
    rows += [f"{n},1.5,2026-11-09,{reference}" for n, reference in zip((2, 3, 4), accepted[1:], strict=True)]
    path = _top_ups_csv(tmp_path, *rows)
    problems = _refused(app, path, "import_top_ups").problems
    cny = "'1.505' has more decimals than CNY allows (2)"
    assert problems == [
        f"{path}:3: amount: {cny}",
        f"{path}:4: date: must be a date written YYYY-MM-DD ('2026-11-31' given)",
        f"{path}:5: reference: is longer than 200 characters",
        f"{path}:6: reference: contains a line break or another control character",
        f"{path}:7: reference: contains a line break or another control character",
        f"{path}:8: amount: {cny}",
        f"{path}:9: date: must be a date written YYYY-MM-DD ('2026-11-31' given)",
        f"{path}:10: amount: 'abc' is not an amount; write it like 12.50",
        f"{path}:11: member_id: 'x' is not a member number",
        f"{path}:11: amount: 'abc' is not an amount; write it like 12.50",
        f"{path}:11: date: must be a date written YYYY-MM-DD ('11/09/2026' given)",
        f"{path}:11: reference: is required (the payment's own reference, so that the same top-up is never "
        "recorded twice)",
    ]
    assert _state(app) == before
    good = _top_ups_csv(
        tmp_path,
        *(f"{n},1.5,2026-11-09,{reference}" for n, reference in zip((2, 3, 4, 4), accepted, strict=True)),
        name="good.csv",
    )
    result = app.import_top_ups(POOL, good)
    assert (result.rows, result.total_minor) == (4, 600)
    with app.transaction() as s:
        assert s.scalars(select(TopUp.reference).order_by(TopUp.id)).all() == accepted
    _books_ok(app)


def test_a_balance_built_across_chunks_is_checked_against_the_largest_amount(
    app, truckers_pool, make_driver, tmp_path, monkeypatch
):
    monkeypatch.setattr(staging, "CHUNK_ROWS", 1)
    _prepaid(app, truckers_pool, make_driver)
    before = _state(app)
    huge = "6000000000000"  # 6e12 major units, each within bounds: two of them pass the largest amount recorded
    path = _top_ups_csv(tmp_path, f"2,{huge},2026-11-09,R-1", "3,1,2026-11-09,R-2", f"2,{huge},2026-11-10,R-3")
    whole_size = _refused(app, path, "import_top_ups")
    monkeypatch.setattr(staging, "CHUNK_ROWS", 100)
    assert _refused(app, path, "import_top_ups").problems == whole_size.problems
    assert len(whole_size.problems) == 1 and whole_size.problems[0].startswith(
        f"{path}:4: amount: member #2's balance would be "
    )
    assert _state(app) == before


def test_a_big_balance_is_checked_with_every_earlier_row_of_its_member_in_a_small_file(
    app, truckers_pool, make_driver, tmp_path, monkeypatch
):
    # The file's total is within bounds, so only the rows that are not plainly right are checked
    # one by one: here every row of #2, whose balance could pass the largest amount, and none of
    # #3's and #4's in between. The balance #2's third row builds counts the first two.
    _prepaid(app, truckers_pool, make_driver)
    app.top_up(POOL, 2, "9999999999992", "2026-11-01", "BIG")
    before = _state(app)
    path = _top_ups_csv(
        tmp_path,
        "2,4,2026-11-09,R-1",
        "3,1,2026-11-09,R-2",
        "4,1,2026-11-09,R-3",
        "2,4,2026-11-10,R-4",
        "3,1,2026-11-10,R-5",
        "2,4,2026-11-11,R-6",
        "4,1,2026-11-11,R-7",
    )
    expected = [
        f"{path}:7: amount: member #2's balance would be 10,000,000,000,004.00 CNY, beyond the largest amount "
        "recorded (10,000,000,000,000.00)"
    ]
    for size in (1, 2, 3, 100):
        monkeypatch.setattr(staging, "CHUNK_ROWS", size)
        refused = _refused(app, path, "import_top_ups")
        assert (str(refused), refused.problems) == (
            f"{path}: 1 of 7 rows are invalid; no top-ups were imported:",
            expected,
        )
    assert _state(app) == before
    # Without the last row of #2 its balance reaches the largest amount exactly, which is allowed.
    lines = path.read_text(encoding="utf-8").splitlines()
    fits = _top_ups_csv(tmp_path, *lines[1:6], lines[7], name="fits.csv")
    result = app.import_top_ups(POOL, fits)
    assert (result.rows, result.members, result.total_minor) == (6, 3, 1200)
    with app.transaction() as s:
        assert dict(s.execute(select(Balance.member_id, Balance.balance_minor)).all()) == {
            1: 0,
            2: 10**15,
            3: 200,
            4: 200,
        }
    _books_ok(app)


def test_each_row_a_file_gets_wrong_is_found_among_plain_ones(app, truckers_pool, make_driver, tmp_path, monkeypatch):
    # A member of another pool, a day after the pool's today, a day before the member joined, an
    # exited member, a reference recorded in the pool: each is found, at any chunk size, among rows
    # that are plainly right, one of which reuses the reference of a reversed top-up.
    _prepaid(app, truckers_pool, make_driver)
    app.create_pool(truckers_pool(key="other", name="Other"))
    other = app.join("other", **make_driver(7)).id
    late = app.join(POOL, **make_driver(5, joined_on="2026-11-05")).id
    app.exit_member(POOL, 1, "2026-11-06")
    app.top_up(POOL, 4, "1", "2026-11-01", "KEPT")
    wrong = app.top_up(POOL, 4, "2", "2026-11-01", "WRONG")
    app.reverse_top_up(POOL, wrong.id, reason="entered twice")
    before = _state(app)
    future = "2099-01-01"
    path = _top_ups_csv(
        tmp_path,
        "2,1,2026-11-09,R-1",
        f"{other},1,2026-11-09,R-2",
        "3,1,2026-11-09,R-3",
        f"4,1,{future},R-4",
        "4,2,2026-11-09,WRONG",
        f"{late},1,2026-11-04,R-6",
        "1,1,2026-11-09,R-7",
        "3,1,2026-11-09,KEPT",
        "2,1,2026-11-10,R-9",
    )
    expected = [
        f"{path}:3: member_id: pool {POOL!r} has no member #{other}",
        f"{path}:5: date: {future} is in the future",
        f"{path}:7: date: 2026-11-04 is before member #{late} joined on 2026-11-05",
        f"{path}:8: member_id: member #1 is exited since 2026-11-06; only a live (active or frozen) member can top up",
        f"{path}:9: reference: 'KEPT' was already recorded (top-up #1 of member #4 on 2026-11-01); a top-up is "
        "recorded once",
    ]
    for size in (1, 2, 3, 100):
        monkeypatch.setattr(staging, "CHUNK_ROWS", size)
        refused = _refused(app, path, "import_top_ups")
        assert str(refused) == f"{path}: 5 of 9 rows are invalid; no top-ups were imported:"
        assert [p.split(" (today is")[0] for p in refused.problems] == expected
    assert _state(app) == before
    lines = path.read_text(encoding="utf-8").splitlines()
    good = _top_ups_csv(tmp_path, lines[1], lines[3], lines[5], lines[9], name="good.csv")
    result = app.import_top_ups(POOL, good)
    assert (result.rows, result.members, result.total_minor) == (4, 3, 500)
    with app.transaction() as s:
        imported = select(TopUp.reference).where(TopUp.entry_id == _entry(app, "top-up").id).order_by(TopUp.id)
        assert s.scalars(imported).all() == ["R-1", "R-3", "WRONG", "R-9"]
    _books_ok(app)
