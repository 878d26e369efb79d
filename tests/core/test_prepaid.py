"""Prepaid pools: top-ups and their imports, balances, freezing by a run and unfreezing by a top-up,
frozen spans, low balances (the hook and the notices), and the ``balance`` commands."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, literal, select, update
from support import statements_run

import mutualaid_truckers
from mutualaid import ImportRowsError, MutualAid, NotFoundError, StateError, ValidationError, hookimpl, load_plugins
from mutualaid.cli.common import table
from mutualaid.db.models import Balance, LedgerEntry, Member, MemberStatusChange, Pool, TopUp
from mutualaid.ledger import list_entries, reconcile_books, verify_ledger
from mutualaid.members import frozen_spans, lifecycle
from mutualaid.money import format_minor, from_minor
from mutualaid.payments import after_deduction, count_low_balances, low_balance_members
from mutualaid.payments.balances import covers
from mutualaid.periods import parse_period
from mutualaid.pools import get_pool

POOL = "js-truckers"
#: The columns of 'balance low'.
LOW_COLUMNS = ("member", "name", "status", "balance")


class LowBalances:
    """Records every ``balances_low`` call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, Decimal]] = []

    @hookimpl
    def balances_low(self, pool: Any, period: Any, count: int, threshold: Decimal) -> None:
        self.calls.append((pool.key, period.key, count, threshold))


def _prepaid(app: MutualAid, truckers_pool, make_driver, *, members: int = 4, **payments: Any) -> None:
    """A prepaid truckers pool paying 300.00 on an accidental death; drivers #1.. joined 2026-10-01."""
    app.create_pool(
        truckers_pool(payments={"model": "prepaid", **payments}, settings={"accidental_death_benefit": 300})
    )
    for n in range(members):
        app.join(POOL, **make_driver(n))


def _death(app: MutualAid, member: int) -> None:
    claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)


def _csv(
    tmp_path: Path, *rows: str, name: str = "top-ups.csv", header: str = "member_id,amount,date,reference"
) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _state(app: MutualAid) -> dict:
    with app.transaction() as s:
        pool = s.scalar(select(Pool).where(Pool.key == POOL))
        return {
            "top_ups": s.scalar(select(func.count()).select_from(TopUp)),
            "balances": s.execute(select(Balance.member_id, Balance.balance_minor).order_by(Balance.member_id)).all(),
            "entries": s.scalar(select(func.count()).select_from(LedgerEntry)),
            "head": (pool.ledger_seq, pool.ledger_head) if pool else None,
            "changes": s.scalar(select(func.count()).select_from(MemberStatusChange)),
            "members": s.execute(select(Member.id, Member.status).order_by(Member.id)).all(),
        }


def _balances(app: MutualAid) -> dict[int, int]:
    with app.transaction() as s:
        return {member_id: amount for member_id, amount in s.execute(select(Balance.member_id, Balance.balance_minor))}


def _books_ok(app: MutualAid) -> dict[str, int]:
    with app.transaction() as s:
        pool_id = s.scalar(select(Pool.id).where(Pool.key == POOL))
        books = reconcile_books(s, pool_id)
        assert books.ok, [c for c in books.checks if not c.ok]
        report = verify_ledger(s, pool_id)
        assert report.ok, report.problems
        return books.balances


def _entries(app: MutualAid, kind: str):
    with app.transaction() as s:
        return list_entries(s, s.scalar(select(Pool.id).where(Pool.key == POOL)), kind=kind)


def _freeze(app: MutualAid, member_id: int, since: str) -> None:
    """Freeze a member through the lifecycle, as a prepaid run does (status and history row)."""
    with app.transaction() as s:
        pool = get_pool(s, app.plugins, POOL)
        assert lifecycle.freeze_where(s, app.plugins, pool, Member.id == member_id, date.fromisoformat(since), "test")


def _changes(app: MutualAid, member_id: int) -> list[tuple[str, date, str]]:
    """The member's history after joining: each status, the day it holds from, and why."""
    with app.transaction() as s:
        return s.execute(
            select(MemberStatusChange.status, MemberStatusChange.since, MemberStatusChange.cause)
            .where(MemberStatusChange.member_id == member_id, MemberStatusChange.change.not_in(("joined", "covered")))
            .order_by(MemberStatusChange.id)
        ).all()


# -- top-ups ----------------------------------------------------------------------------------


def test_a_top_up_adds_to_the_balance_held_from_joining_and_posts_an_entry(app, truckers_pool, make_driver):
    _prepaid(app, truckers_pool, make_driver)
    first = app.top_up(POOL, 2, "50", "2026-10-05", "WX-001")
    assert (first.amount_minor, first.balance_minor, first.unfrozen) == (5000, 5000, False)
    second = app.top_up(POOL, 2, Decimal("20.50"), date(2026, 10, 6), "WX-002")
    assert second.balance_minor == 7050
    assert second.as_dict()["balance"] == "70.50"
    assert _balances(app) == {1: 0, 2: 7050, 3: 0, 4: 0}  # a row of 0 from joining
    entries = _entries(app, "top-up")
    assert [e.id for e in entries] == [first.entry_id, second.entry_id]
    assert [(ln.account, ln.amount, ln.member_id) for ln in entries[1].lines] == [
        ("cash", 2050, 2),
        ("member_balances", -2050, 2),
    ]
    assert entries[1].posted_on == date(2026, 10, 6)
    with app.transaction() as s:
        rows = s.execute(
            select(TopUp.member_id, TopUp.amount_minor, TopUp.reference, TopUp.entry_id).order_by(TopUp.id)
        ).all()
    assert rows == [(2, 5000, "WX-001", first.entry_id), (2, 2050, "WX-002", second.entry_id)]
    balances = _books_ok(app)
    assert (balances["cash"], balances["member_balances"]) == (7050, -7050)

    record = app.balance(POOL, 2)
    assert (record.balance_minor, record.frozen, record.low, record.low_balance_minor) == (7050, False, False, 500)
    assert [(t.received_on, t.amount_minor, t.reference) for t in record.top_ups] == [
        (date(2026, 10, 5), 5000, "WX-001"),
        (date(2026, 10, 6), 2050, "WX-002"),
    ]
    assert record.deductions == () and record.frozen_spans == ()
    assert record.as_dict()["top_ups"][1] == {
        "id": second.id,
        "received_on": "2026-10-06",
        "amount": "20.50",
        "reference": "WX-002",
    }


@pytest.mark.parametrize(
    ("amount", "on", "reference", "problem"),
    [
        ("0", "2026-10-05", "", "amount: must be above 0 (0 given)"),
        ("-5", "2026-10-05", "", "amount: must be above 0 (-5 given)"),
        ("1.005", "2026-10-05", "", "amount: 1.005 CNY has more than 2 decimal places"),
        ("ten", "2026-10-05", "", "amount: 'ten' is not an amount"),
        (0.1, "2026-10-05", "", "amount: money must not be a float (0.1); use a str, int or Decimal"),
        ("10", "05/10/2026", "", "the top-up date '05/10/2026' is not a date; write it as YYYY-MM-DD"),
        ("10", "2026-10-05", "x" * 201, "reference: is longer than 200 characters"),
        ("10", "2026-10-05", "a\nb", "reference: contains a line break or another control character"),
        ("10", "2026-09-30", "", "date: 2026-09-30 is before member #2 joined on 2026-10-01"),
        (
            "10",
            "2099-01-01",
            "",
            re.compile(r"date: 2099-01-01 is in the future \(today is [0-9-]{10} in the pool's time zone\)"),
        ),
        (
            "10",
            "2026-10-05",
            "WX-001",
            "reference: 'WX-001' was already recorded (top-up #1 of member #3 on 2026-10-04); a top-up is recorded once",
        ),
    ],
    ids=[
        "zero",
        "negative",
        "sub-fen",
        "not-a-number",
        "float",
        "bad-date",
        "long-reference",
        "control-character",
        "before-joining",
        "future",
        "reference-again",
    ],
)
def test_a_bad_top_up_is_refused_and_changes_nothing(app, truckers_pool, make_driver, amount, on, reference, problem):
    _prepaid(app, truckers_pool, make_driver)
    app.top_up(POOL, 3, "10", "2026-10-04", "WX-001")
    before = _state(app)
    with pytest.raises(ValidationError) as caught:
        app.top_up(POOL, 2, amount, on, reference)
    assert caught.value.summary == "the top-up of member #2 was not recorded:"
    (message,) = caught.value.problems
    if isinstance(problem, re.Pattern):
        assert problem.fullmatch(message), message
    else:
        assert message == problem
    assert _state(app) == before


def test_top_ups_are_for_live_members_of_prepaid_pools(app, truckers_pool, make_driver):
    _prepaid(app, truckers_pool, make_driver)
    app.exit_member(POOL, 2, "2026-10-10")
    before = _state(app)
    with pytest.raises(StateError) as caught:
        app.top_up(POOL, 2, "10", "2026-10-11")
    assert str(caught.value) == (
        "member #2 of pool 'js-truckers' is exited (ended on 2026-10-10); only a live (active or frozen) member can top up"
    )
    with pytest.raises(NotFoundError, match="pool 'js-truckers' has no member 99 "):
        app.top_up(POOL, 99, "10", "2026-10-11")
    assert _state(app) == before

    app.create_pool(truckers_pool(key="postpaid"))
    app.join("postpaid", **make_driver(7))
    with pytest.raises(StateError) as caught:
        app.top_up("postpaid", 5, "10", "2026-10-11")
    assert str(caught.value) == (
        "pool 'postpaid' is postpaid: members pay each share after the sharing run and keep no balance, so a top-up is "
        "for prepaid pools only; import payment results with 'mutualaid payment import'"
    )
    with pytest.raises(StateError, match="pool 'postpaid' is postpaid: .* so a balance is for prepaid pools only"):
        app.balance("postpaid", 5)
    with pytest.raises(StateError, match="so importing top-ups is for prepaid pools only"):
        app.import_top_ups("postpaid", Path(__file__))


def test_an_import_writes_every_top_up_and_one_entry(app, truckers_pool, make_driver, tmp_path):
    _prepaid(app, truckers_pool, make_driver)
    app.top_up(POOL, 2, "1", "2026-10-02", "OLD-1")
    path = _csv(
        tmp_path, "2,20.00,2026-10-05,B-1", "3,30,2026-10-05,B-2", "2,0.50,2026-10-06,B-3", "#4,12.34,2026-10-07,B-4"
    )
    result = app.import_top_ups(POOL, path)
    assert (result.rows, result.members, result.total_minor, result.unfrozen) == (4, 3, 6284, 0)
    assert result.as_dict()["total"] == "62.84"
    assert _balances(app) == {1: 0, 2: 2150, 3: 3000, 4: 1234}
    entry = _entries(app, "top-up")[-1]
    assert entry.id == result.entry_id and entry.posted_on == date(2026, 10, 7)
    assert [(ln.account, ln.amount, ln.member_id) for ln in entry.lines] == [
        ("cash", 6284, None),
        ("member_balances", -6284, None),
    ]
    assert entry.facts["rows"] == 4 and entry.facts["total"] == 6284 and entry.facts["source"] == "top-ups.csv"
    balances = _books_ok(app)
    assert (balances["cash"], balances["member_balances"]) == (6384, -6384)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("99,10,2026-10-05,R-9", "member_id: pool 'js-truckers' has no member #99"),
        ("two,10,2026-10-05,R-9", "member_id: 'two' is not a member number"),
        (
            "1,10,2026-10-05,R-9",
            "member_id: member #1 is exited since 2026-10-06; only a live (active or frozen) member can top up",
        ),
        ("2,0,2026-10-05,R-9", "amount: must be above 0 ('0' given)"),
        ("2,1.001,2026-10-05,R-9", "amount: '1.001' has more decimals than CNY allows (2)"),
        ("2,10,2026/10/05,R-9", "date: must be a date written YYYY-MM-DD ('2026/10/05' given)"),
        ("2,10,2026-09-01,R-9", "date: 2026-09-01 is before member #2 joined on 2026-10-01"),
        (
            "2,10,2026-10-05,",
            "reference: is required (the payment's own reference, so that the same top-up is never recorded twice)",
        ),
        ("2,10,2026-10-05,R-1", "reference: 'R-1' is already on line 2"),
        (
            "2,10,2026-10-05,OLD-1",
            "reference: 'OLD-1' was already recorded (top-up #1 of member #3 on 2026-10-02); a top-up is recorded once",
        ),
        (
            "2,10,2026-10-05,R-9,x",
            "the row has 5 cells but the header has 4 (extra: 'x'); quote a cell that holds a comma",
        ),
    ],
    ids=[
        "unknown-member",
        "not-a-number",
        "not-live",
        "zero",
        "sub-fen",
        "bad-date",
        "before-joining",
        "no-reference",
        "reference-in-file",
        "reference-recorded",
        "too-many-cells",
    ],
)
def test_a_bad_top_up_row_is_reported_and_nothing_is_imported(app, truckers_pool, make_driver, tmp_path, row, message):
    _prepaid(app, truckers_pool, make_driver)
    app.top_up(POOL, 3, "1", "2026-10-02", "OLD-1")
    app.exit_member(POOL, 1, "2026-10-06")
    path = _csv(tmp_path, "3,5,2026-10-05,R-1", row)
    before = _state(app)
    with pytest.raises(ImportRowsError) as caught:
        app.import_top_ups(POOL, path)
    assert caught.value.summary == f"{path}: 1 of 2 rows are invalid; no top-ups were imported:"
    assert caught.value.problems == [f"{path}:3: {message}"]
    assert _state(app) == before


def test_a_top_up_file_is_imported_once(app, truckers_pool, make_driver, tmp_path):
    _prepaid(app, truckers_pool, make_driver)
    path = _csv(tmp_path, "2,10,2026-10-05,R-1", "3,10,2026-10-05,R-2")
    app.import_top_ups(POOL, path)
    before = _state(app)
    with pytest.raises(ImportRowsError) as caught:
        app.import_top_ups(POOL, path)
    assert caught.value.problems == [
        f"{path}:2: reference: 'R-1' was already recorded (top-up #1 of member #2 on 2026-10-05); a top-up is recorded once",
        f"{path}:3: reference: 'R-2' was already recorded (top-up #2 of member #3 on 2026-10-05); a top-up is recorded once",
    ]
    with pytest.raises(ValidationError) as header:
        app.import_top_ups(POOL, _csv(tmp_path, "2,10,2026-10-05", name="x.csv", header="member_id,amount,date"))
    assert header.value.lines == [
        f"{tmp_path / 'x.csv'}: the header row is wrong; nothing was imported:",
        f"{tmp_path / 'x.csv'}:1: missing column(s) reference",
    ]
    assert _state(app) == before


# -- freezing and unfreezing ------------------------------------------------------------------


def test_a_top_up_that_reaches_the_low_balance_unfreezes_from_its_day(app, truckers_pool, make_driver):
    _prepaid(app, truckers_pool, make_driver, low_balance="20")
    app.top_up(POOL, 2, "5", "2026-10-05", "A")
    _freeze(app, 2, "2026-11-07")
    below = app.top_up(POOL, 2, "10", "2026-11-10", "B")  # 15.00: still below 20.00
    assert (below.balance_minor, below.unfrozen) == (1500, False)
    assert app.member(POOL, 2).status == "frozen"
    reached = app.top_up(POOL, 2, "5", "2026-11-12", "C")
    assert (reached.balance_minor, reached.unfrozen) == (2000, True)
    assert app.member(POOL, 2).status == "active"
    assert _changes(app, 2) == [("frozen", date(2026, 11, 7), "test"), ("active", date(2026, 11, 12), "topped up")]
    record = app.balance(POOL, 2)
    assert record.frozen_spans == ((date(2026, 11, 7), date(2026, 11, 11)),)
    assert record.as_dict()["frozen_spans"] == [["2026-11-07", "2026-11-11"]]
    _books_ok(app)


def test_an_imported_top_up_unfreezes_from_the_row_that_reached_the_level(app, truckers_pool, make_driver, tmp_path):
    _prepaid(app, truckers_pool, make_driver)  # low_balance 5.00
    _freeze(app, 2, "2026-11-07")
    _freeze(app, 3, "2026-11-07")
    path = _csv(tmp_path, "2,3,2026-11-09,R-1", "2,3,2026-11-11,R-2", "3,1,2026-11-09,R-3", "4,1,2026-11-09,R-4")
    result = app.import_top_ups(POOL, path)
    assert result.unfrozen == 1
    assert {m.id: m.status for m in app.members(POOL)} == {1: "active", 2: "active", 3: "frozen", 4: "active"}
    assert _changes(app, 2)[-1] == ("active", date(2026, 11, 11), "topped up")
    assert _changes(app, 3) == [("frozen", date(2026, 11, 7), "test")]


def test_a_top_up_dated_before_the_freeze_unfreezes_from_the_freeze(app, truckers_pool, make_driver):
    _prepaid(app, truckers_pool, make_driver)
    _freeze(app, 2, "2026-11-07")
    assert app.top_up(POOL, 2, "50", "2026-11-06", "LATE-BANK-FILE").unfrozen
    assert _changes(app, 2)[-1] == ("active", date(2026, 11, 7), "topped up")
    assert app.balance(POOL, 2).frozen_spans == ()  # unfrozen the day it was frozen: never without cover


def test_frozen_spans_follow_the_status_history(app, truckers_pool, make_driver):
    _prepaid(app, truckers_pool, make_driver)
    with app.transaction() as s:
        s.add_all(
            [
                MemberStatusChange(member_id=2, change="frozen", status="frozen", since=date(2026, 11, 7), cause="run"),
                MemberStatusChange(
                    member_id=2, change="unfrozen", status="active", since=date(2026, 11, 10), cause="topped up"
                ),
                MemberStatusChange(member_id=2, change="frozen", status="frozen", since=date(2026, 12, 7), cause="run"),
                MemberStatusChange(member_id=3, change="frozen", status="frozen", since=date(2026, 11, 7), cause="run"),
                MemberStatusChange(
                    member_id=3, change="lapsed", status="lapsed", since=date(2026, 11, 20), cause="unpaid"
                ),
                MemberStatusChange(member_id=4, change="frozen", status="frozen", since=date(2026, 11, 7), cause="run"),
            ]
        )
        s.execute(update(Member).where(Member.id == 4).values(status="exited", ended_on=date(2026, 11, 15)))
    with app.transaction() as s:
        assert frozen_spans(s, 2) == ((date(2026, 11, 7), date(2026, 11, 9)), (date(2026, 12, 7), None))
        assert frozen_spans(s, 3) == ((date(2026, 11, 7), date(2026, 11, 19)),)
        assert frozen_spans(s, 4) == ((date(2026, 11, 7), date(2026, 11, 15)),)
        assert frozen_spans(s, 1) == ()


# -- a real prepaid run -------------------------------------------------------------------------


def test_a_prepaid_run_freezes_who_cannot_pay_deducts_the_others_and_a_top_up_unfreezes(
    app, truckers_pool, make_driver, tmp_path
):
    _prepaid(app, truckers_pool, make_driver)
    app.import_top_ups(POOL, _csv(tmp_path, "2,165,2026-10-05,R-2", "3,200,2026-10-05,R-3", "4,50,2026-10-05,R-4"))
    _death(app, 1)
    # 300.00 + 8% = 324.00: 108.00 each over three members is more than #4's 50.00, so #4 is frozen
    # and the share becomes 162.00 over the two who can pay it.
    run = app.share(POOL, "2026-11")
    assert (run.members, run.share_minor, run.charged_minor, run.frozen_count) == (2, 16200, 32400, 1)
    assert _balances(app) == {1: 0, 2: 300, 3: 3800, 4: 5000}
    assert app.member(POOL, 4).status == "frozen"
    assert _changes(app, 4)[0][:2] == ("frozen", date(2026, 11, 7))
    (entry,) = _entries(app, "sharing")
    assert dict((ln.account, ln.amount) for ln in entry.lines if ln.account == "member_balances") == {
        "member_balances": 32400
    }
    _books_ok(app)

    record = app.balance(POOL, 2)
    assert [(d.period, d.deducted_on, d.amount_minor) for d in record.deductions] == [
        ("2026-11", date(2026, 11, 14), 16200)
    ]
    assert record.low  # 3.00 is below 5.00
    with app.transaction() as s:
        pool = get_pool(s, app.plugins, POOL)
        assert [(m.member_id, m.balance_minor) for m in low_balance_members(s, pool)] == [(2, 300)]
        assert count_low_balances(s, pool, Decimal("60")) == 3  # #4 is frozen but live

    unfrozen = app.top_up(POOL, 4, "120", "2026-11-20", "R-5")
    assert (unfrozen.unfrozen, unfrozen.balance_minor) == (True, 17000)
    assert app.balance(POOL, 4).frozen_spans == ((date(2026, 11, 7), date(2026, 11, 19)),)
    _books_ok(app)


def test_a_prepaid_run_where_every_balance_covers_the_share_looks_for_nobody_to_freeze(
    app, truckers_pool, make_driver, tmp_path
):
    # The count of the members whose balance covers the share found them all: no statement looks
    # over the pool for members to freeze, and the charges are written without reading each
    # member's balance again (each would read every member's balance once more).
    _prepaid(app, truckers_pool, make_driver)
    app.import_top_ups(POOL, _csv(tmp_path, "2,165,2026-10-05,R-2", "3,200,2026-10-05,R-3", "4,108,2026-10-05,R-4"))
    _death(app, 1)
    run, ran = statements_run(app.engine, lambda: app.share(POOL, "2026-11"))  # 324.00 over three: 108.00 each
    statements = [" ".join(statement.split()).upper() for statement, _ in ran]
    assert (run.members, run.share_minor, run.frozen_count) == (3, 10800, 0)
    assert _balances(app) == {1: 0, 2: 5700, 3: 9200, 4: 0}
    assert [m.status for m in app.members(POOL)] == ["deceased", "active", "active", "active"]
    assert any(s.startswith("SELECT COUNT") and "FROM BALANCES" in s for s in statements)  # the balances were counted
    assert not [s for s in statements if s.startswith(("INSERT INTO MEMBER_STATUS_CHANGES", "UPDATE MEMBERS"))]
    (charges,) = [s for s in statements if s.startswith("INSERT INTO CHARGES")]
    assert "BALANCES" not in charges
    _books_ok(app)


def test_after_deduction_reports_low_balances_once_through_the_hook(db_url, truckers_pool, make_driver):
    recorder = LowBalances()
    plugins = load_plugins(
        entry_points=False, extra=[("truckers", mutualaid_truckers), ("recorder", recorder)], strict=True
    )
    app = MutualAid(db_url, plugins=plugins)
    try:
        _prepaid(app, truckers_pool, make_driver)
        app.top_up(POOL, 2, "400", "2026-10-05", "R-1")
        app.top_up(POOL, 3, "4.99", "2026-10-05", "R-2")
        app.top_up(POOL, 4, "5", "2026-10-05", "R-3")
        _death(app, 1)
        run = app.share(POOL, "2026-11")  # only #2 can pay: 324.00, leaving 76.00; #3 and #4 are frozen
        recorder.calls.clear()  # whatever the run itself reported
        with app.transaction() as s:
            pool = get_pool(s, plugins, POOL)
            period = parse_period(run.period, pool.config)
            assert after_deduction(s, plugins, pool, period) == 1  # #3's 4.99 (frozen members are live)
        assert recorder.calls == [(POOL, "2026-11", 1, Decimal("5"))]
    finally:
        app.close()


def test_a_prepaid_run_reports_its_low_balances_through_the_hook(db_url, truckers_pool, make_driver):
    """Needs the API's share to call payments.after_deduction after the run."""
    recorder = LowBalances()
    plugins = load_plugins(
        entry_points=False, extra=[("truckers", mutualaid_truckers), ("recorder", recorder)], strict=True
    )
    app = MutualAid(db_url, plugins=plugins)
    try:
        _prepaid(app, truckers_pool, make_driver)
        for member in (2, 3, 4):
            app.top_up(POOL, member, "110", "2026-10-05", f"R-{member}")
        _death(app, 1)
        app.share(POOL, "2026-11")  # 108.00 each: 2.00 left, below 5.00
        assert recorder.calls == [(POOL, "2026-11", 3, Decimal("5"))]
    finally:
        app.close()


# -- low-balance notices ----------------------------------------------------------------------


def test_low_balance_notices_are_rendered_for_the_members_below_the_level(app, truckers_pool, make_driver, tmp_path):
    _prepaid(app, truckers_pool, make_driver)
    app.top_up(POOL, 2, "3.50", "2026-10-05", "R-1")
    app.top_up(POOL, 3, "50", "2026-10-05", "R-2")
    _freeze(app, 4, "2026-11-07")
    result = app.render_low_balance(POOL, tmp_path / "zh")
    assert result.count == 3  # members 1 (no balance), 2 and 4
    assert sorted(p.name for p in result.paths) == ["low-balance-1.txt", "low-balance-2.txt", "low-balance-4.txt"]
    member = app.member(POOL, 2, reveal=True)  # the ID number in full, to look for it
    zh = (tmp_path / "zh" / "low-balance-2.txt").read_text(encoding="utf-8")
    assert "您的余额：3.50 CNY，已低于提醒金额 5.00 CNY。" in zh
    assert member.id_number not in zh and f"证件号 {member.id_number[:3]}" in zh
    frozen = (tmp_path / "zh" / "low-balance-4.txt").read_text(encoding="utf-8")
    assert "您的会员资格已冻结" in frozen

    en = app.render_low_balance(POOL, tmp_path / "en", locale="en", members=[3], layout="stream")
    assert en.count == 1
    text_en = en.paths[0].read_text(encoding="utf-8")
    assert en.paths[0].name == "low-balance.en.txt"
    assert "=== member 3 ===" in text_en and "Your balance: 50.00 CNY" in text_en and "FROZEN" not in text_en

    higher = app.render_low_balance(POOL, tmp_path / "all", threshold="100")
    assert higher.count == 4


def test_low_balance_notices_are_rendered_sandboxed_and_strict(app, truckers_pool, make_driver, tmp_path):
    _prepaid(app, truckers_pool, make_driver)
    templates = tmp_path / "templates" / "en"
    templates.mkdir(parents=True)
    (templates / "low-balance.txt.j2").write_text("{{ balance.__class__.__mro__ }}", encoding="utf-8")
    with pytest.raises(ValidationError, match="is not allowed to do that"):
        app.render_low_balance(POOL, tmp_path / "out", locale="en", templates=tmp_path / "templates")
    (templates / "low-balance.txt.j2").write_text("{{ member.salary }}", encoding="utf-8")
    with pytest.raises(ValidationError, match="has no attribute 'salary'"):
        app.render_low_balance(POOL, tmp_path / "out", locale="en", templates=tmp_path / "templates")
    (templates / "low-balance.txt.j2").write_text(
        "{% extends 'core/en/low-balance.txt.j2' %}{% block footer %}Call 400-000{% endblock %}", encoding="utf-8"
    )
    result = app.render_low_balance(POOL, tmp_path / "out", locale="en", templates=tmp_path / "templates", members=[2])
    assert result.paths[0].read_text(encoding="utf-8").rstrip().endswith("Call 400-000")

    app.create_pool(truckers_pool(key="postpaid"))
    with pytest.raises(StateError, match="pool 'postpaid' is postpaid: its members keep no balance"):
        app.render_low_balance("postpaid", tmp_path / "out")


# -- the command line -------------------------------------------------------------------------


def test_balance_commands_round_trip(invoke, app, truckers_pool, make_driver, tmp_path):
    _prepaid(app, truckers_pool, make_driver)
    result = invoke("balance", "topup", POOL, "2", "12.30", "--on", "2026-10-05", "--reference", "WX-1")
    assert result.exit_code == 0, result.output
    assert result.output == "recorded top-up #1 of 12.30 CNY for member #2 on 2026-10-05; balance now 12.30 CNY\n"
    as_json = invoke("balance", "topup", POOL, "2", "1", "--on", "2026-10-06", "--json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["balance"] == "13.30"

    path = _csv(tmp_path, "3,1.00,2026-10-05,B-1", "4,30,2026-10-05,B-2")
    imported = invoke("balance", "import", POOL, str(path))
    assert imported.exit_code == 0, imported.output
    assert imported.output == (
        f"imported 2 top-ups from {path} into pool 'js-truckers': 31.00 CNY for 2 members; 0 members unfrozen\n"
    )

    shown = invoke("balance", "show", POOL, "2", "--json")
    data = json.loads(shown.output)
    assert (data["balance"], data["frozen"], len(data["top_ups"])) == ("13.30", False, 2)
    text_out = invoke("balance", "show", POOL, "3")
    assert text_out.exit_code == 0 and "balance: 1.00 CNY (below the reminder level of 5.00 CNY)" in text_out.output

    low = invoke("balance", "low", POOL, "--json")
    assert json.loads(low.output) == [
        {"member_id": 1, "name": "司机0", "status": "active", "balance": "0.00"},
        {"member_id": 3, "name": "司机2", "status": "active", "balance": "1.00"},
    ]
    table = invoke("balance", "low", POOL, "--threshold", "20")
    assert table.exit_code == 0 and "13.30" in table.output

    notify = invoke("balance", "notify", POOL, "--out", str(tmp_path / "notices"), "--locale", "en")
    assert notify.exit_code == 0, notify.output
    assert notify.output == f"rendered 2 low-balance notices into {tmp_path / 'notices'}\n"
    both = invoke("balance", "notify", POOL, "--out", str(tmp_path / "both"), "--locale", "en", "--format", "both")
    assert both.exit_code == 0, both.output
    assert sorted(p.name for p in (tmp_path / "both").iterdir()) == [
        "low-balance-1.html",
        "low-balance-1.txt",
        "low-balance-3.html",
        "low-balance-3.txt",
    ]
    html = (tmp_path / "both" / "low-balance-3.html").read_text("utf-8")
    assert "1.00" in html and html.startswith("<!DOCTYPE html>")


def test_balance_command_errors_are_one_line_and_change_nothing(invoke, app, truckers_pool, make_driver, tmp_path):
    _prepaid(app, truckers_pool, make_driver)
    before = _state(app)
    bad = invoke("balance", "topup", POOL, "2", "0", "--on", "2026-10-05")
    assert bad.exit_code == 1
    assert bad.output == "Error: the top-up of member #2 was not recorded: amount: must be above 0 (0 given)\n"
    unknown = invoke("balance", "show", POOL, "42")
    assert unknown.exit_code == 1
    assert unknown.output == "Error: pool 'js-truckers' has no member '42' (give a member number or an ID number)\n"
    threshold = invoke("balance", "low", POOL, "--threshold", "0.001")
    assert (
        threshold.exit_code == 1 and threshold.output == "Error: threshold: 0.001 CNY has more than 2 decimal places\n"
    )
    rows = invoke("balance", "import", POOL, str(_csv(tmp_path, "2,1,2026-10-05,")))
    assert rows.exit_code == 1 and "top-ups.csv:2: reference: is required" in rows.output
    assert _state(app) == before


def test_balance_low_prints_as_it_reads_what_the_list_form_printed(app, truckers_pool, make_driver, invoke, capsys):
    # Every member of a new prepaid pool is below the level: the command streams them, never asking
    # for the whole list, and prints the table and the JSON array the list form printed.
    _prepaid(app, truckers_pool, make_driver, members=12)
    app.top_up(POOL, 3, "100", "2026-10-05", "R-3")
    app.top_up(POOL, 5, "2.50", "2026-10-05", "R-5")
    low = app.low_balances(POOL)
    assert [(m.member_id, m.balance_minor) for m in low][:5] == [(1, 0), (2, 0), (4, 0), (5, 250), (6, 0)]
    capsys.readouterr()
    table([(m.member_id, m.name, m.status, format_minor(m.balance_minor, "CNY")) for m in low], LOW_COLUMNS)
    expected = capsys.readouterr().out
    as_json = [
        {
            "member_id": m.member_id,
            "name": m.name,
            "status": m.status,
            "balance": str(from_minor(m.balance_minor, "CNY")),
        }
        for m in low
    ]
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(MutualAid, "low_balances", lambda *args, **kwargs: pytest.fail("the whole list was asked for"))
        result = invoke("balance", "low", POOL)
        assert (result.exit_code, result.stdout) == (0, expected)
        assert len(result.stdout.splitlines()) == 11 + 2
        result = invoke("balance", "low", POOL, "--json")
        assert (result.exit_code, json.loads(result.stdout)) == (0, as_json)
        result = invoke("balance", "low", POOL, "--limit", "2")
        assert result.exit_code == 0 and [line.split()[0] for line in result.stdout.splitlines()[2:]] == ["1", "2"]


def test_coverage_as_a_join_covers_the_members_coverage_by_value_covers(app, truckers_pool, make_driver, tmp_path):
    # covers() takes the EXISTS form when the amount asked is above 0 (a member without a balance
    # row is then never covered), the balance read as a value otherwise: the same members either way.
    _prepaid(app, truckers_pool, make_driver, members=5)
    app.import_top_ups(POOL, _csv(tmp_path, "2,100,2026-10-05,R-2", "3,50,2026-10-05,R-3", "4,49.99,2026-10-05,R-4"))
    with app.transaction() as s:

        def covered(condition: Any) -> list[int]:
            return list(s.scalars(select(Member.id).where(condition).order_by(Member.id)))

        expected = {1: [2, 3, 4], 4999: [2, 3, 4], 5000: [2, 3], 10000: [2], 10001: []}
        for amount, members in expected.items():
            by_value = covers(literal(amount))
            as_join = covers(literal(amount), least=amount)
            assert "EXISTS" in str(as_join) and "EXISTS" not in str(by_value)
            assert covered(by_value) == covered(as_join) == members
        assert covered(covers(literal(0))) == [1, 2, 3, 4, 5]  # nothing asked: everyone is covered
