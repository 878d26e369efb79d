"""Postpaid payments: importing payment results, retries, settling the retry window, the books
afterwards, and the ``payment`` commands.

Settling a run lapses and writes off (under each ``unpaid`` policy) only the shares whose collection
was reported ``failed`` and never ``paid``; a share with no result reported stays due and its member
keeps their rights."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from mutualaid import ImportRowsError, MutualAid, PaymentsConfig, StateError, ValidationError
from mutualaid.db.models import LedgerEntry, Member, MemberStatusChange, Payment, PaymentBatch, Pool
from mutualaid.ledger import list_entries, reconcile_books, verify_ledger
from mutualaid.payments import settle_payments
from mutualaid.pools import get_pool

POOL = "js-truckers"
SHARE = 10_800_000  # 300,000.00 + 8% fee over the 3 survivors of 4 drivers: 108,000.00 each


def _pool(app: MutualAid, truckers_pool, make_driver, *, members: int = 4, joined: str = "2026-10-01", **payments):
    app.create_pool(truckers_pool(payments={"model": "postpaid", **payments}))
    for n in range(members):
        app.join(POOL, **make_driver(n, joined_on=joined))


def _death(app: MutualAid, member: int, day: str = "2026-10-20", filed: str = "2026-10-25") -> None:
    claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=day, filed_on=filed)
    app.approve_claim(claim.id)


def _shared(app: MutualAid, truckers_pool, make_driver, **payments) -> int:
    """Drivers #1-#4; #1 dies, and #2-#4 are charged 108,000.00 each for 2026-11 (deducted 2026-11-14)."""
    _pool(app, truckers_pool, make_driver, **payments)
    _death(app, 1)
    result = app.share(POOL, "2026-11")
    assert (result.members, result.share_minor) == (3, SHARE)
    return result.run_id


def _csv(tmp_path: Path, *rows: str, name: str = "payments.csv", header: str = "member_id,period,result,date") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _state(app: MutualAid) -> dict:
    """Everything an import or a settlement may change: rows, ledger head, members' statuses."""
    with app.transaction() as s:
        pool = s.scalar(select(Pool).where(Pool.key == POOL))
        return {
            "batches": s.scalar(select(func.count()).select_from(PaymentBatch)),
            "payments": s.scalar(select(func.count()).select_from(Payment)),
            "entries": s.scalar(select(func.count()).select_from(LedgerEntry)),
            "head": (pool.ledger_seq, pool.ledger_head),
            "changes": s.scalar(select(func.count()).select_from(MemberStatusChange)),
            "members": s.execute(select(Member.id, Member.status, Member.ended_on).order_by(Member.id)).all(),
        }


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


# -- importing payment results ------------------------------------------------------------------


def test_an_import_records_a_batch_its_payments_and_one_ledger_entry(app, truckers_pool, make_driver, tmp_path):
    run_id = _shared(app, truckers_pool, make_driver)
    path = _csv(
        tmp_path,
        "2,2026-11,paid,2026-11-14",
        "3,2026-11,failed,2026-11-14",
        "3,2026-11,paid,2026-11-16",
    )
    result = app.import_payments(POOL, path)
    assert (result.rows, result.paid_count, result.paid_minor, result.failed_count) == (3, 2, 2 * SHARE, 1)
    assert result.as_dict()["paid"] == "216000.00"
    with app.transaction() as s:
        batch = s.get(PaymentBatch, result.batch_id)
        assert (batch.paid_count, batch.paid_minor, batch.failed_count) == (2, 2 * SHARE, 1)
        assert len(batch.digest) == 64
        rows = s.execute(
            select(Payment.run_id, Payment.member_id, Payment.result, Payment.attempted_on, Payment.amount_minor)
            .where(Payment.batch_id == batch.id)
            .order_by(Payment.id)
        ).all()
    assert rows == [
        (run_id, 2, "paid", date(2026, 11, 14), SHARE),
        (run_id, 3, "failed", date(2026, 11, 14), SHARE),
        (run_id, 3, "paid", date(2026, 11, 16), SHARE),
    ]
    (entry,) = _entries(app, "payments")
    assert entry.id == result.entry_id and entry.batch_id == result.batch_id
    assert entry.posted_on == date(2026, 11, 16)
    assert sorted((line.account, line.amount) for line in entry.lines) == [
        ("cash", 2 * SHARE),
        ("members_due", -2 * SHARE),
    ]
    assert entry.facts["paid_count"] == 2 and entry.facts["failed_count"] == 1 and entry.facts["paid"] == 2 * SHARE
    assert entry.facts["periods"] == {"2026-11": {"paid_count": 2, "paid": 2 * SHARE, "failed_count": 1}}
    balances = _books_ok(app)
    assert balances["cash"] == 2 * SHARE
    assert balances["members_due"] == SHARE  # member #4 has not paid yet


def test_the_amount_column_must_equal_the_share(app, truckers_pool, make_driver, tmp_path):
    _shared(app, truckers_pool, make_driver)
    header = "member_id,period,result,date,amount"
    bad = _csv(tmp_path, "2,2026-11,paid,2026-11-14,108000", "3,2026-11,paid,2026-11-14,108000.01", header=header)
    before = _state(app)
    with pytest.raises(ImportRowsError) as caught:
        app.import_payments(POOL, bad)
    assert caught.value.problems == [
        f"{bad}:3: amount: 108,000.01 is not the share charged to member #3 for period 2026-11 (108,000.00 CNY)"
    ]
    assert _state(app) == before
    good = _csv(
        tmp_path, "2,2026-11,paid,2026-11-14,108000", "3,2026-11,paid,2026-11-14,", header=header, name="ok.csv"
    )
    assert app.import_payments(POOL, good).paid_minor == 2 * SHARE


TODAY_IN_POOL = r"\d{4}-\d{2}-\d{2}"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("99,2026-11,paid,2026-11-14", "member_id: pool 'js-truckers' has no member #99"),
        ("abc,2026-11,paid,2026-11-14", "member_id: 'abc' is not a member number"),
        ("1,2026-11,paid,2026-11-14", "period: member #1 was not charged in period 2026-11"),
        (
            "2,2026-10,paid,2026-10-14",
            "period: 2026-10 of pool 'js-truckers' has not been shared, so nothing is due for it",
        ),
        ("2,2026-13,paid,2026-11-14", "period: period '2026-13' has no such month; write it like 2026-11"),
        (
            "2,November,paid,2026-11-14",
            "period: period 'November' is not a period of pool 'js-truckers'; write it like 2026-11",
        ),
        ("2,2026-11,ok,2026-11-14", "result: must be paid or failed ('ok' given)"),
        ("2,2026-11,paid,14/11/2026", "date: must be a date written YYYY-MM-DD ('14/11/2026' given)"),
        ("2,2026-11,paid,2026-11-13", "date: 2026-11-13 is before the deduction day 2026-11-14 of period 2026-11"),
        (
            "2,2026-11,failed,2026-11-20",
            "date: 2026-11-20 is after the retry window of period 2026-11 closed on 2026-11-19 (retry_days = 5); "
            "a share whose collection failed and was not paid by then is written off and the member lapses",
        ),
        (
            "2,2026-11,paid,2099-11-14",
            re.compile(rf"date: 2099-11-14 is in the future \(today is {TODAY_IN_POOL} in the pool's time zone\)"),
        ),
        (
            "2,2026-11,paid,2026-11-14,",
            "the row has 5 cells but the header has 4 (extra: ''); quote a cell that holds a comma",
        ),
    ],
    ids=[
        "unknown-member",
        "not-a-number",
        "not-charged",
        "not-shared",
        "no-such-month",
        "not-a-period",
        "bad-result",
        "bad-date",
        "before-deduction-day",
        "after-retry-window",
        "future",
        "too-many-cells",
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_imported(
    app, truckers_pool, make_driver, tmp_path, row, message
):
    _shared(app, truckers_pool, make_driver)
    path = _csv(tmp_path, "3,2026-11,paid,2026-11-14", row)
    before = _state(app)
    with pytest.raises(ImportRowsError) as caught:
        app.import_payments(POOL, path)
    assert caught.value.summary == f"{path}: 1 of 2 rows are invalid; no payments were imported:"
    (problem,) = caught.value.problems
    expected = f"{path}:3: "
    if isinstance(message, re.Pattern):
        assert problem.startswith(expected) and message.fullmatch(problem[len(expected) :]), problem
    else:
        assert problem == expected + message
    assert _state(app) == before


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("12.345", "amount: '12.345' has more decimals than CNY allows (2)"),
        ("-5", "amount: must be above 0 ('-5' given)"),
        ("0", "amount: must be above 0 ('0' given)"),
        ("lots", "amount: 'lots' is not an amount; write it like 12.50"),
    ],
)
def test_a_malformed_amount_is_refused(app, truckers_pool, make_driver, tmp_path, amount, message):
    _shared(app, truckers_pool, make_driver)
    path = _csv(tmp_path, f"2,2026-11,paid,2026-11-14,{amount}", header="member_id,period,result,date,amount")
    before = _state(app)
    with pytest.raises(ImportRowsError) as caught:
        app.import_payments(POOL, path)
    assert caught.value.problems == [f"{path}:2: {message}"]
    assert _state(app) == before


def test_every_bad_row_is_reported_at_once_in_line_order(app, truckers_pool, make_driver, tmp_path):
    _shared(app, truckers_pool, make_driver)
    path = _csv(
        tmp_path,
        "2,2026-11,paid,2026-11-14",
        "2,2026-11,paid,2026-11-15",
        "",
        "3,2026-11,paid,2026-11-14",
        "3,2026-11,failed,2026-11-16",
        "x,2026-11,maybe,2026-11-14",
    )
    before = _state(app)
    with pytest.raises(ImportRowsError) as caught:
        app.import_payments(POOL, path)
    assert caught.value.summary == f"{path}: 3 of 5 rows are invalid; no payments were imported:"
    assert caught.value.problems == [
        f"{path}:3: result: member #2's share of period 2026-11 is already paid on line 2",
        f"{path}:6: result: a failed attempt on 2026-11-16 comes after member #3's share of period 2026-11 was "
        "paid on 2026-11-14",
        f"{path}:7: member_id: 'x' is not a member number",
        f"{path}:7: result: must be paid or failed ('maybe' given)",
    ]
    assert _state(app) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "{path}: the file is empty; it needs a header row with member_id, period, result, date"),
        ("member_id,period,result,date\n", "{path}: the file has a header but no rows; nothing was imported"),
        ("member_id,period,date\n2,2026-11,2026-11-14\n", "{path}:1: missing column(s) result"),
        (
            "member_id,period,result,date,note\n",
            "{path}:1: unknown column(s) 'note'; the columns are member_id, period, result, date and optionally amount",
        ),
        ("member_id,period,result,date,date\n", "{path}:1: repeated column(s) date"),
        (
            'member_id,period,result,date\n2,2026-11,paid,"2026-11-14\n',
            "{path}:2: the row is not valid CSV (unexpected end of data); a cell holding a comma, quote or line break "
            "must be in double quotes, with its own quotes doubled",
        ),
    ],
    ids=["empty", "no-rows", "missing-column", "unknown-column", "repeated-column", "bad-csv"],
)
def test_a_file_that_cannot_be_read_is_refused_whole(app, truckers_pool, make_driver, tmp_path, content, message):
    _shared(app, truckers_pool, make_driver)
    path = tmp_path / "payments.csv"
    path.write_text(content, encoding="utf-8")
    before = _state(app)
    with pytest.raises(ValidationError) as caught:
        app.import_payments(POOL, path)
    assert message.format(path=path) in caught.value.lines
    assert _state(app) == before


def test_a_file_that_is_not_utf8_or_missing_is_refused(app, truckers_pool, make_driver, tmp_path):
    _shared(app, truckers_pool, make_driver)
    path = tmp_path / "payments.csv"
    path.write_bytes(
        "member_id,period,result,date\n2,2026-11,paid,2026-11-14\n3,2026-11,已付,2026-11-14\n".encode("gbk")
    )
    with pytest.raises(ValidationError, match=re.escape(f"{path}:3: the file is not UTF-8 text")):
        app.import_payments(POOL, path)
    with pytest.raises(ValidationError, match="no such file; give the path of a CSV file of payment results"):
        app.import_payments(POOL, tmp_path / "missing.csv")


@pytest.mark.real_clock  # the batch's import day is the clock's, and so is the message's
def test_the_same_file_is_imported_once(app, truckers_pool, make_driver, tmp_path):
    _shared(app, truckers_pool, make_driver)
    path = _csv(tmp_path, "2,2026-11,failed,2026-11-14")
    first = app.import_payments(POOL, path)
    before = _state(app)
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(path.read_bytes())
    for again in (path, copy):
        with pytest.raises(StateError) as caught:
            app.import_payments(POOL, again)
        assert str(caught.value) == (
            f"{again}: this file was already imported into pool 'js-truckers' as payment batch #{first.batch_id} on "
            f"{app.today(POOL).isoformat()} (from {path}; same contents, sha256 {first.digest[:12]}); nothing was "
            "imported again"
        )
    assert _state(app) == before


def test_a_share_already_paid_in_an_earlier_batch_cannot_be_paid_again(app, truckers_pool, make_driver, tmp_path):
    _shared(app, truckers_pool, make_driver)
    first = app.import_payments(POOL, _csv(tmp_path, "2,2026-11,paid,2026-11-14"))
    before = _state(app)
    path = _csv(tmp_path, "2,2026-11,paid,2026-11-15", "2,2026-11,failed,2026-11-16", name="second.csv")
    with pytest.raises(ImportRowsError) as caught:
        app.import_payments(POOL, path)
    assert caught.value.problems == [
        f"{path}:2: result: member #2 already paid the share of period 2026-11 on 2026-11-14 "
        f"(payment batch #{first.batch_id})",
        f"{path}:3: result: a failed attempt on 2026-11-16 comes after member #2's share of period 2026-11 was paid "
        "on 2026-11-14",
    ]
    assert _state(app) == before


def test_failed_attempts_may_be_retried_until_the_last_day_of_the_window(app, truckers_pool, make_driver, tmp_path):
    _shared(app, truckers_pool, make_driver)
    app.import_payments(POOL, _csv(tmp_path, "4,2026-11,failed,2026-11-14", "2,2026-11,paid,2026-11-14", name="a.csv"))
    app.import_payments(POOL, _csv(tmp_path, "4,2026-11,failed,2026-11-16", "3,2026-11,paid,2026-11-18", name="b.csv"))
    app.import_payments(POOL, _csv(tmp_path, "4,2026-11,paid,2026-11-19", name="c.csv"))
    shares = {s.member_id: s for s in app.payments(POOL, "2026-11")}
    assert {m: (s.state, s.paid_on, s.failed_attempts) for m, s in shares.items()} == {
        2: ("paid", date(2026, 11, 14), 0),
        3: ("paid", date(2026, 11, 18), 0),
        4: ("paid", date(2026, 11, 19), 2),
    }
    (settled,) = app.settle_payments(POOL, "2026-11-20")
    assert (settled.charged_count, settled.unpaid_count, settled.unpaid_minor, settled.lapsed) == (3, 0, 0, 0)
    assert {m.id: m.status for m in app.members(POOL)} == {1: "deceased", 2: "active", 3: "active", 4: "active"}
    balances = _books_ok(app)
    assert (balances["cash"], balances["members_due"], balances["sponsor_due"]) == (3 * SHARE, 0, 0)


def test_a_prepaid_pool_takes_no_payment_results(app, truckers_pool, make_driver, tmp_path):
    app.create_pool(truckers_pool(payments={"model": "prepaid"}))
    with pytest.raises(StateError) as caught:
        app.import_payments(POOL, _csv(tmp_path, "1,2026-11,paid,2026-11-14"))
    assert str(caught.value) == (
        "pool 'js-truckers' is prepaid: shares are deducted from members' balances, so importing payment results is "
        "for postpaid pools only; record money received with 'mutualaid balance topup' or 'mutualaid balance import'"
    )


# -- settling the retry window ------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "account"), [("sponsor", "sponsor_due"), ("carry", "deficit")])
def test_an_unpaid_share_lapses_its_member_and_is_written_off(
    app, truckers_pool, make_driver, tmp_path, policy, account
):
    run_id = _shared(app, truckers_pool, make_driver, unpaid=policy)
    app.import_payments(
        POOL, _csv(tmp_path, "2,2026-11,paid,2026-11-14", "3,2026-11,paid,2026-11-15", "4,2026-11,failed,2026-11-14")
    )
    before = _state(app)
    assert app.settle_payments(POOL, "2026-11-19") == []  # the window is still open on its last day
    assert _state(app) == before

    (settled,) = app.settle_payments(POOL, "2026-11-20")
    assert (settled.run_id, settled.period, settled.window_closed) == (run_id, "2026-11", date(2026, 11, 19))
    assert (settled.charged_count, settled.paid_count, settled.unpaid_count) == (3, 2, 1)
    assert (settled.unpaid_minor, settled.lapsed, settled.policy) == (SHARE, 1, policy)
    lapsed = app.member(POOL, 4)
    assert (lapsed.status, lapsed.ended_on) == ("lapsed", date(2026, 11, 19))
    with app.transaction() as s:
        changes = s.execute(
            select(
                MemberStatusChange.member_id,
                MemberStatusChange.status,
                MemberStatusChange.since,
                MemberStatusChange.cause,
            ).where(MemberStatusChange.change == "lapsed")
        ).all()
    assert changes == [
        (
            4,
            "lapsed",
            date(2026, 11, 20),
            f"share of period 2026-11 (run #{run_id}) unpaid when its retry window closed on 2026-11-19",
        )
    ]
    (entry,) = _entries(app, "unpaid")
    assert (entry.id, entry.run_id, entry.posted_on) == (settled.entry_id, run_id, date(2026, 11, 19))
    assert sorted((line.account, line.amount) for line in entry.lines) == sorted(
        [(account, SHARE), ("members_due", -SHARE)]
    )
    assert entry.facts == {
        "period": "2026-11",
        "window_closed": "2026-11-19",
        "charged_count": 3,
        "unpaid_count": 1,
        "unpaid": SHARE,
        "lapsed": 1,
        "policy": policy,
    }
    balances = _books_ok(app)
    assert (balances["members_due"], balances["cash"], balances[account]) == (0, 2 * SHARE, SHARE)

    # settled once: a second settlement, later, finds nothing
    after = _state(app)
    assert app.settle_payments(POOL, "2026-11-25") == []
    assert _state(app) == after


def test_the_deficit_of_a_carried_unpaid_share_is_collected_by_the_next_run(app, truckers_pool, make_driver, tmp_path):
    _shared(app, truckers_pool, make_driver, unpaid="carry")
    app.import_payments(
        POOL, _csv(tmp_path, "2,2026-11,paid,2026-11-14", "3,2026-11,paid,2026-11-14", "4,2026-11,failed,2026-11-15")
    )
    app.settle_payments(POOL, "2026-11-20")
    december = app.share(POOL, "2026-12")  # no claims: it collects only the 108,000.00 carried
    assert december.members == 2  # the lapsed member no longer shares
    assert december.carried_in_minor == SHARE
    assert december.charged_minor == SHARE and december.share_minor == SHARE // 2
    balances = _books_ok(app)
    assert balances["deficit"] == 0 and balances["members_due"] == SHARE


def test_a_sharing_run_first_settles_the_windows_closed_before_its_notice_day(
    app, truckers_pool, make_driver, tmp_path
):
    """Needs the sharing run to call payments.settle_payments(session, plugins, pool, notice day) at its start."""
    run_id = _shared(app, truckers_pool, make_driver)
    app.import_payments(
        POOL, _csv(tmp_path, "2,2026-11,paid,2026-11-14", "3,2026-11,paid,2026-11-14", "4,2026-11,failed,2026-11-14")
    )
    december = app.share(POOL, "2026-12")  # notice day 2026-12-07: November's window closed on 2026-11-19
    assert december.members == 2  # member #4 lapsed before the count
    assert app.member(POOL, 4).status == "lapsed"
    (entry,) = _entries(app, "unpaid")
    assert entry.run_id == run_id and entry.facts["unpaid"] == SHARE
    _books_ok(app)


@pytest.mark.parametrize("via", ["api", "cli"])
def test_a_share_with_no_result_stays_due_and_only_a_failed_one_lapses(
    app, invoke, truckers_pool, make_driver, tmp_path, via
):
    run_id = _shared(app, truckers_pool, make_driver)
    # #2 paid, collecting #4's share failed, nothing was reported for #3
    app.import_payments(POOL, _csv(tmp_path, "2,2026-11,paid,2026-11-14", "4,2026-11,failed,2026-11-16"))
    if via == "api":
        (settled,) = app.settle_payments(POOL, "2026-11-20")
        assert (settled.charged_count, settled.paid_count, settled.unpaid_count, settled.due_count) == (3, 1, 1, 1)
        assert (settled.unpaid_minor, settled.lapsed) == (SHARE, 1)
        assert settled.as_dict() | {"entry_id": 0} == {
            "run_id": run_id,
            "pool": POOL,
            "period": "2026-11",
            "currency": "CNY",
            "window_closed": "2026-11-19",
            "charged_count": 3,
            "paid_count": 1,
            "unpaid_count": 1,
            "unpaid": "108000.00",
            "due_count": 1,
            "lapsed": 1,
            "policy": "sponsor",
            "entry_id": 0,
        }
    else:
        result = invoke("payment", "settle", POOL, "--on", "2026-11-20")
        assert result.exit_code == 0, result.output
        assert result.output == (
            "period 2026-11 (retry window closed on 2026-11-19): 1 of 3 shares paid; 1 failed, 108,000.00 CNY borne "
            "by the sponsor; 1 member lapsed; 1 with no result reported, still due\n"
        )

    # the failed one lapsed; the unreported one is still a member with every right
    assert [(m.id, m.status, m.ended_on) for m in app.members(POOL)] == [
        (1, "deceased", date(2026, 10, 20)),
        (2, "active", None),
        (3, "active", None),
        (4, "lapsed", date(2026, 11, 19)),
    ]
    with app.transaction() as s:
        lapses = MemberStatusChange.change == "lapsed"
        assert s.execute(select(MemberStatusChange.member_id, MemberStatusChange.status).where(lapses)).all() == [
            (4, "lapsed")
        ]
    # only the failed share was written off; the unreported one is still owed in members_due
    (entry,) = _entries(app, "unpaid")
    assert sorted((line.account, line.amount) for line in entry.lines) == [
        ("members_due", -SHARE),
        ("sponsor_due", SHARE),
    ]
    assert (entry.facts["unpaid_count"], entry.facts["unpaid"], entry.facts["lapsed"]) == (1, SHARE, 1)
    balances = _books_ok(app)
    assert (balances["members_due"], balances["cash"], balances["sponsor_due"]) == (SHARE, SHARE, SHARE)

    shares = app.payments(POOL, "2026-11", unpaid=True)
    assert [(s.member_id, s.state, s.member_status, s.failed_attempts, s.charge_minor) for s in shares] == [
        (3, "unpaid", "active", 0, SHARE),
        (4, "written-off", "lapsed", 1, SHARE),
    ]
    listed = invoke("payment", "list", POOL, "--period", "2026-11", "--unpaid", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(s["member_id"], s["state"], s["member_status"], s["charge"]) for s in json.loads(listed.output)] == [
        (3, "unpaid", "active", "108000.00"),
        (4, "written-off", "lapsed", "108000.00"),
    ]
    table = invoke("payment", "list", POOL, "--period", "2026-11", "--unpaid")
    assert table.exit_code == 0, table.output
    rows = [line.split() for line in table.output.splitlines()[2:]]
    assert [(r[0], r[2], r[3], r[-1]) for r in rows] == [
        ("3", "108,000.00", "unpaid", "active"),
        ("4", "108,000.00", "written-off", "lapsed"),
    ]

    # #3 keeps sharing: December counts #2 and #3, not #4
    december = app.share(POOL, "2026-12")
    assert december.members == 2
    _books_ok(app)


def test_a_run_whose_shares_were_all_paid_is_settled_once_with_an_empty_entry(
    app, truckers_pool, make_driver, tmp_path
):
    run_id = _shared(app, truckers_pool, make_driver)
    app.import_payments(POOL, _csv(tmp_path, *(f"{m},2026-11,paid,2026-11-14" for m in (2, 3, 4))))
    (settled,) = app.settle_payments(POOL, "2026-11-20")
    assert (settled.unpaid_count, settled.unpaid_minor, settled.lapsed) == (0, 0, 0)
    (entry,) = _entries(app, "unpaid")
    assert entry.run_id == run_id and entry.lines == ()
    assert app.settle_payments(POOL, "2026-11-21") == []
    _books_ok(app)


def test_a_settled_period_takes_no_more_failed_results_but_a_share_still_due_may_be_paid(
    app, truckers_pool, make_driver, tmp_path
):
    _shared(app, truckers_pool, make_driver)
    (settled,) = app.settle_payments(POOL, "2026-11-20")
    assert (settled.unpaid_count, settled.due_count, settled.lapsed) == (0, 3, 0)
    before = _state(app)
    path = _csv(tmp_path, "2,2026-11,failed,2026-11-18", "4,2026-11,paid,2026-11-18")
    with pytest.raises(ImportRowsError) as caught:
        app.import_payments(POOL, path)
    assert caught.value.problems == [
        f"{path}:2: period: 2026-11 was settled when its retry window closed on 2026-11-19 (shares whose "
        "collection failed were written off and their members lapsed); it takes no more failed results, only the "
        "payment of a share still due"
    ]
    assert _state(app) == before
    # reported after the settlement, paid inside the window: the share stayed due, so it is paid now
    paid = app.import_payments(POOL, _csv(tmp_path, "4,2026-11,paid,2026-11-18", name="paid.csv"))
    assert (paid.paid_count, paid.paid_minor) == (1, SHARE)
    assert _books_ok(app)["members_due"] == 2 * SHARE


def test_a_share_still_due_may_be_paid_after_its_window_only_by_a_live_member_and_never_once_failed(
    app, truckers_pool, make_driver, tmp_path
):
    # Drivers #2-#6 share September (#1 died in August), #3, #5 and #6 share October (#2 died in
    # September, #4 left before October's notice day). Nothing is reported for #3's, #4's and #5's
    # September shares; collecting #5's October share fails, so October's settlement lapses #5.
    _pool(app, truckers_pool, make_driver, members=6, joined="2026-08-01")
    _death(app, 1, day="2026-08-20", filed="2026-08-25")
    september = app.share(POOL, "2026-09")
    assert september.members == 5
    app.import_payments(POOL, _csv(tmp_path, "2,2026-09,paid,2026-09-14", "6,2026-09,paid,2026-09-15", name="s.csv"))
    app.exit_member(POOL, 4, on="2026-09-25")
    _death(app, 2, day="2026-09-20", filed="2026-09-25")
    october = app.share(POOL, "2026-10")  # settles September first: three shares stay due
    assert october.members == 3
    october_results = ("3,2026-10,paid,2026-10-14", "5,2026-10,failed,2026-10-15", "6,2026-10,paid,2026-10-14")
    app.import_payments(POOL, _csv(tmp_path, *october_results, name="o.csv"))

    # October's window closed on 2026-10-19 but is not settled yet: #5's failed share will be written off
    before = _state(app)
    early = _csv(tmp_path, "5,2026-10,paid,2026-10-20", name="early.csv")
    with pytest.raises(ImportRowsError) as caught:
        app.import_payments(POOL, early)
    assert caught.value.problems == [
        f"{early}:2: result: collecting member #5's share of period 2026-10 failed on 2026-10-15 and it was not "
        "paid by the end of its retry window on 2026-10-19; the share is written off when the period is settled "
        "and cannot be paid late"
    ]
    assert _state(app) == before

    (settled,) = app.settle_payments(POOL, "2026-10-20")
    assert (settled.period, settled.lapsed) == ("2026-10", 1)
    assert [(m.id, m.status) for m in app.members(POOL)][2:] == [
        (3, "active"),
        (4, "exited"),
        (5, "lapsed"),
        (6, "active"),
    ]
    before = _state(app)
    refused = _csv(
        tmp_path,
        "4,2026-09,paid,2026-10-25",
        "5,2026-09,paid,2026-10-25",
        "5,2026-10,paid,2026-10-25",
        "3,2026-09,failed,2026-10-25",
        "3,2026-09,paid,2026-10-25",
        name="refused.csv",
    )
    with pytest.raises(ImportRowsError) as caught:
        app.import_payments(POOL, refused)
    assert str(caught.value) == f"{refused}: 4 of 5 rows are invalid; no payments were imported:"
    assert caught.value.problems == [
        f"{refused}:2: member_id: member #4's membership ended (exited on 2026-09-25); after the retry window of "
        "period 2026-09 closed on 2026-09-19 only a live member's share still due can be paid",
        f"{refused}:3: member_id: member #5 lapsed on 2026-10-19 for an unpaid share; a lapsed member cannot pay late",
        f"{refused}:4: result: collecting member #5's share of period 2026-10 failed on 2026-10-15 and it was not "
        "paid by the end of its retry window on 2026-10-19; the share was written off and cannot be paid late",
        f"{refused}:5: period: 2026-09 was settled when its retry window closed on 2026-09-19 (shares whose "
        "collection failed were written off and their members lapsed); it takes no more failed results, only the "
        "payment of a share still due",
    ]
    assert _state(app) == before
    due_before = _books_ok(app)["members_due"]

    # #3 is live and never failed: September's share, still due, is paid after the window and the settlement
    late = app.import_payments(POOL, _csv(tmp_path, "3,2026-09,paid,2026-10-25", name="late.csv"))
    share = september.share_minor
    assert (late.rows, late.paid_count, late.paid_minor, late.failed_count) == (1, 1, share, 0)
    entry = _entries(app, "payments")[-1]
    assert (entry.posted_on, entry.batch_id) == (date(2026, 10, 25), late.batch_id)
    assert sorted((line.account, line.amount) for line in entry.lines) == [("cash", share), ("members_due", -share)]
    balances = _books_ok(app)
    assert balances["members_due"] == due_before - share
    shares = {s.member_id: (s.state, s.paid_on) for s in app.payments(POOL, "2026-09")}
    assert shares == {
        2: ("paid", date(2026, 9, 14)),
        3: ("paid", date(2026, 10, 25)),
        4: ("unpaid", None),
        5: ("unpaid", None),
        6: ("paid", date(2026, 9, 15)),
    }
    # paid once: a second report of it is refused as already paid
    again = _csv(tmp_path, "3,2026-09,paid,2026-10-26", name="again.csv")
    with pytest.raises(ImportRowsError) as caught:
        app.import_payments(POOL, again)
    assert caught.value.problems == [
        f"{again}:2: result: member #3 already paid the share of period 2026-09 on 2026-10-25 "
        f"(payment batch #{late.batch_id})"
    ]


def test_a_lapsed_member_cannot_pay_a_later_share_late(app, truckers_pool, make_driver, tmp_path):
    # A 30-day window: September's closes on 2026-10-14, after October's notice day, so a member
    # whose collection of September's share failed is charged October's too and lapses before paying it.
    _pool(app, truckers_pool, make_driver, members=5, joined="2026-08-01", retry_days=30)
    _death(app, 1, day="2026-08-20", filed="2026-08-25")
    app.share(POOL, "2026-09")
    _death(app, 2, day="2026-09-20", filed="2026-09-25")
    october = app.share(POOL, "2026-10")
    assert october.members == 3
    september = [*(f"{m},2026-09,paid,2026-09-14" for m in (2, 3, 4)), "5,2026-09,failed,2026-09-14"]
    app.import_payments(POOL, _csv(tmp_path, *september, name="sep.csv"))
    (settled,) = app.settle_payments(POOL, "2026-10-15")
    assert (settled.period, settled.lapsed) == ("2026-09", 1)
    assert app.member(POOL, 5).ended_on == date(2026, 10, 14)
    before = _state(app)
    late = _csv(tmp_path, "5,2026-10,paid,2026-10-20", name="late.csv")
    with pytest.raises(ImportRowsError) as caught:
        app.import_payments(POOL, late)
    assert caught.value.problems == [
        f"{late}:2: member_id: member #5 lapsed on 2026-10-14 for an unpaid share; a lapsed member cannot pay late"
    ]
    assert _state(app) == before
    # paid on the last day of the membership: recorded
    on_time = app.import_payments(POOL, _csv(tmp_path, "5,2026-10,paid,2026-10-14", name="on-time.csv"))
    assert on_time.paid_minor == october.share_minor
    _books_ok(app)


def test_settling_in_the_future_is_refused(app, truckers_pool, make_driver):
    _shared(app, truckers_pool, make_driver)
    before = _state(app)
    with pytest.raises(ValidationError, match=r"the settling day 2099-01-01 is in the future"):
        app.settle_payments(POOL, "2099-01-01")
    with pytest.raises(ValidationError, match=r"the settling day 'soon' is not a date; write it as YYYY-MM-DD"):
        app.settle_payments(POOL, "soon")
    assert _state(app) == before


def test_imports_and_settlements_are_set_based(app, truckers_pool, make_driver, tmp_path):
    """The statements an import and a settlement run do not grow with the number of members."""
    counts = []
    for size in (4, 40):
        key = f"p{size}"
        app.create_pool(truckers_pool(key=key, payments={"model": "postpaid"}))
        ids = [app.join(key, **make_driver(n)).id for n in range(size)]
        claim = app.file_claim(
            key, ids[0], event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25"
        )
        app.approve_claim(claim.id)
        run = app.share(key, "2026-11")
        rows = [f"{m},2026-11,{'paid' if n % 3 else 'failed'},2026-11-14" for n, m in enumerate(ids[1:])]
        path = _csv(tmp_path, *rows, name=f"{key}.csv")
        statements: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany, sink=statements):
            sink.append(statement)

        event.listen(app.engine, "before_cursor_execute", count)
        try:
            app.import_payments(key, path)
            imported = len(statements)
            statements.clear()
            with app.transaction() as s:
                settled = settle_payments(s, app.plugins, get_pool(s, app.plugins, key), date(2026, 11, 20))
            counts.append((imported, len(statements)))
        finally:
            event.remove(app.engine, "before_cursor_execute", count)
        assert settled[0].charged_count == run.members == size - 1
        assert settled[0].lapsed == len([n for n in range(size - 1) if n % 3 == 0])
    assert counts[0] == counts[1]


# -- listing and the command line ---------------------------------------------------------------


def test_payment_list_shows_each_share_and_what_became_of_it(app, truckers_pool, make_driver, tmp_path):
    _shared(app, truckers_pool, make_driver)
    app.import_payments(POOL, _csv(tmp_path, "2,2026-11,paid,2026-11-14", "4,2026-11,failed,2026-11-14"))
    assert [(s.member_id, s.state, s.failed_attempts) for s in app.payments(POOL, "2026-11")] == [
        (2, "paid", 0),
        (3, "unpaid", 0),
        (4, "unpaid", 1),
    ]
    app.settle_payments(POOL, "2026-11-20")
    unpaid = app.payments(POOL, "2026-11", unpaid=True)
    # #4's collection failed: written off, lapsed. Nothing was reported for #3: still due, still active.
    assert [(s.member_id, s.state, s.member_status) for s in unpaid] == [
        (3, "unpaid", "active"),
        (4, "written-off", "lapsed"),
    ]
    assert unpaid[0].as_dict()["charge"] == "108000.00"


def test_payment_commands_round_trip(invoke, app, truckers_pool, make_driver, tmp_path):
    _shared(app, truckers_pool, make_driver)
    path = _csv(tmp_path, "2,2026-11,paid,2026-11-14", "3,2026-11,failed,2026-11-14", "4,2026-11,failed,2026-11-15")
    result = invoke("payment", "import", POOL, str(path))
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"imported {path} into pool 'js-truckers' as payment batch #1: 3 rows, 1 paid (108,000.00 CNY), 2 failed\n"
    )
    again = invoke("payment", "import", POOL, str(path))
    assert again.exit_code == 1
    assert again.output.startswith(f"Error: {path}: this file was already imported") and again.output.count("\n") == 1

    listed = invoke("payment", "list", POOL, "--period", "2026-11", "--unpaid", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(s["member_id"], s["state"], s["failed_attempts"]) for s in json.loads(listed.output)] == [
        (3, "unpaid", 1),
        (4, "unpaid", 1),
    ]
    table = invoke("payment", "list", POOL, "--period", "2026-11")
    assert table.exit_code == 0 and "108,000.00" in table.output and "paid" in table.output

    nothing = invoke("payment", "settle", POOL, "--on", "2026-11-19")
    assert (
        nothing.output == "nothing to settle in pool 'js-truckers': no retry window closed since the last settlement\n"
    )
    settled = invoke("payment", "settle", POOL, "--on", "2026-11-20")
    assert settled.exit_code == 0, settled.output
    assert settled.output == (
        "period 2026-11 (retry window closed on 2026-11-19): 1 of 3 shares paid; 2 failed, 216,000.00 CNY borne by "
        "the sponsor; 2 members lapsed\n"
    )
    as_json = invoke("payment", "settle", POOL, "--json")
    assert as_json.exit_code == 0 and json.loads(as_json.output) == []


def test_payment_command_errors_are_one_line_and_change_nothing(invoke, app, truckers_pool, make_driver, tmp_path):
    _shared(app, truckers_pool, make_driver)
    before = _state(app)
    bad = invoke("payment", "import", POOL, str(_csv(tmp_path, "9,2026-11,paid,2026-11-14")))
    assert bad.exit_code == 1
    assert "payments.csv:2: member_id: pool 'js-truckers' has no member #9" in bad.output
    future = invoke("payment", "settle", POOL, "--on", "2099-01-01")
    assert future.exit_code == 1 and future.output.count("\n") == 1
    unknown = invoke("payment", "list", POOL, "--period", "2026-10")
    assert unknown.exit_code == 1
    assert unknown.output == (
        "Error: 2026-10 of pool 'js-truckers' has not been shared, so nothing is due for it; run 'mutualaid share run "
        "js-truckers --period 2026-10'\n"
    )
    assert _state(app) == before


def test_amounts_are_exact_for_a_currency_without_minor_units(app, truckers_pool, make_driver, tmp_path):
    app.create_pool(truckers_pool(currency="JPY", payments={"model": "postpaid"}))
    for n in range(4):
        app.join(POOL, **make_driver(n))
    _death(app, 1)
    run = app.share(POOL, "2026-11")
    assert run.share_minor == 108_000  # yen have no minor units
    path = _csv(
        tmp_path,
        "2,2026-11,paid,2026-11-14,108000",
        "3,2026-11,paid,2026-11-14,108000.5",
        header="member_id,period,result,date,amount",
    )
    with pytest.raises(ImportRowsError) as caught:
        app.import_payments(POOL, path)
    assert caught.value.problems == [f"{path}:3: amount: '108000.5' has more decimals than JPY allows (0)"]
    assert (
        Decimal(app.import_payments(POOL, _csv(tmp_path, "2,2026-11,paid,2026-11-14", name="ok.csv")).as_dict()["paid"])
        == 108000
    )


def test_the_retry_days_help_says_only_a_failed_share_lapses_its_member():
    assert PaymentsConfig.model_fields["retry_days"].description == (
        "Postpaid: days after the deduction day during which a failed payment is retried; a share whose "
        "collection failed and was not paid within them lapses the member, one with no result reported stays due "
        "(Xianghubao: 5)."
    )
