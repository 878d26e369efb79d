"""Reversing a top-up recorded by mistake (``balance reverse``): a reversing entry, the member's
balance reduced by exactly its amount, the top-up kept as it was with the reversal its own record,
a member it had unfrozen frozen again -- and every refusal one line, exit 1, the database unchanged."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from weighted_pool import *  # noqa: F403 (its fixtures: app, run_cli, test_plugins, today)

from mutualaid import MutualAid
from mutualaid.db.models import Balance, LedgerEntry, LedgerLine, Member, MemberStatusChange, Pool, TopUp, TopUpReversal
from mutualaid.ledger import account_balances, reconcile_books, verify_ledger
from mutualaid.members import frozen_spans
from mutualaid.testing import resident_id

POOL = "prepaid"

_people = itertools.count(1)


def _pool(app: MutualAid, key: str = POOL, model: str = "prepaid") -> list[int]:
    app.create_pool(
        {
            "key": key,
            "name": key,
            "cohort": "weighted-test",
            "sharing": {"management_fee_rate": "0"},
            "payments": {"model": model, "low_balance": "20"},
        }
    )
    born = date(1960, 1, 1) + timedelta(days=next(_people))
    return [
        app.join(
            key, id_number=resident_id(born, n), name=f"M{n}", birth_date=born, joined_on="2027-03-01", attributes={}
        ).id
        for n in range(3)
    ]


def _held(app: MutualAid, member: int) -> int:
    with app.reading() as s:
        return int(s.scalar(select(Balance.balance_minor).where(Balance.member_id == member)) or 0)


def _books_ok(app: MutualAid) -> None:
    with app.reading() as s:
        pool_id = app.pool(POOL).id
        report = verify_ledger(s, pool_id)
        assert report.ok, [str(p) for p in report.problems]
        books = reconcile_books(s, pool_id)
        assert books.ok, [c for c in books.checks if not c.ok]


def _snapshot(app: MutualAid) -> dict[str, Any]:
    with app.reading() as s:
        return {
            "entries": s.scalar(select(func.count()).select_from(LedgerEntry)),
            "reversals": s.scalar(select(func.count()).select_from(TopUpReversal)),
            "history": s.scalar(select(func.count()).select_from(MemberStatusChange)),
            "top_ups": s.execute(select(TopUp.id, TopUp.amount_minor, TopUp.reference).order_by(TopUp.id)).all(),
            "balances": s.execute(select(Balance.member_id, Balance.balance_minor).order_by(Balance.member_id)).all(),
            "members": s.execute(select(Member.id, Member.status).order_by(Member.id)).all(),
            "heads": s.execute(select(Pool.ledger_seq, Pool.ledger_head)).all(),
        }


def _refused(run_cli, app, args: list[str], message: str) -> None:
    before = _snapshot(app)
    out = run_cli(*args)
    assert (out.exit_code, out.output) == (1, f"Error: {message}\n")
    assert _snapshot(app) == before


def test_a_reversed_top_up_takes_exactly_its_amount_back_and_stays_on_record(app, run_cli):
    members = _pool(app)
    kept = app.top_up(POOL, members[0], "50.00", "2027-11-01", "BANK-1")
    wrong = app.top_up(POOL, members[0], "123.45", "2027-11-02", "BANK-2")
    accounts = None
    with app.reading() as s:
        accounts = account_balances(s, app.pool(POOL).id)
    out = run_cli("balance", "reverse", POOL, str(wrong.id), "--reason", "meant for member 2", "--by", "王会计")
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == [
        f"reversed top-up #{wrong.id} of 123.45 CNY (member #{members[0]}, received 2027-11-02): ledger entry 3; "
        "balance now 50.00 CNY"
    ]
    assert _held(app, members[0]) == 5000
    with app.reading() as s:
        after = account_balances(s, app.pool(POOL).id)
        assert (after["cash"] - accounts["cash"], after["member_balances"] - accounts["member_balances"]) == (
            -12345,
            12345,
        )
        entry = s.scalar(select(LedgerEntry).where(LedgerEntry.kind == "top-up-reversal"))
        top_up_entry = s.scalar(select(TopUp.entry_id).where(TopUp.id == wrong.id))
        assert entry.reverses_id == top_up_entry
        assert sorted(
            (ln.account, ln.amount_minor, ln.member_id)
            for ln in s.scalars(select(LedgerLine).where(LedgerLine.entry_id == entry.id))
        ) == [
            ("cash", -12345, members[0]),
            ("member_balances", 12345, members[0]),
        ]
        # The top-up's row is as it was; the reversal is its own record.
        assert s.execute(select(TopUp.amount_minor, TopUp.reference).where(TopUp.id == wrong.id)).one() == (
            12345,
            "BANK-2",
        )
        reversal = s.get(TopUpReversal, wrong.id)
        assert (reversal.amount_minor, reversal.reason, reversal.reversed_by, reversal.reversed_on) == (
            12345,
            "meant for member 2",
            "王会计",
            date(2027, 12, 10),
        )
    _books_ok(app)
    shown = run_cli("balance", "show", POOL, str(members[0]))
    assert (
        f"  2027-11-02        123.45  BANK-2  #{wrong.id}  REVERSED on 2027-12-10: meant for member 2" in shown.output
    )
    assert f"  2027-11-01         50.00  BANK-1  #{kept.id}\n" in shown.output
    # Its reference is free again, for the top-up as it should have been.
    right = app.top_up(POOL, members[1], "123.45", "2027-11-02", "BANK-2")
    assert right.balance_minor == 12345
    _books_ok(app)


def test_a_top_up_of_an_imported_file_is_reversed_on_its_own(app, tmp_path: Path):
    members = _pool(app)
    path = tmp_path / "top-ups.csv"
    path.write_text(
        "member_id,amount,date,reference\n"
        f"{members[0]},30.00,2027-11-01,F-1\n{members[1]},40.00,2027-11-01,F-2\n{members[2]},50.00,2027-11-01,F-3\n",
        encoding="utf-8",
    )
    app.import_top_ups(POOL, path)
    with app.reading() as s:
        second = s.scalar(select(TopUp.id).where(TopUp.reference == "F-2"))
    record = app.reverse_top_up(POOL, second, reason="bounced")
    assert (record.amount_minor, record.balance_minor) == (4000, 0)
    assert [_held(app, m) for m in members] == [3000, 0, 5000]
    _books_ok(app)


def test_a_top_up_that_had_unfrozen_a_member_freezes_them_again_when_reversed(app):
    members = _pool(app)
    for member, amount in zip(members, ("5.00", "100.00", "100.00"), strict=True):
        app.top_up(POOL, member, amount, "2027-10-01", f"T-{member}")
    claim = app.file_claim(
        POOL, members[1], event_kind="need", event_date="2027-11-20", filed_on="2027-11-20", details={"amount": "30.00"}
    )
    app.approve_claim(claim.id)
    run = app.share(POOL, "2027-12")  # member #1 holds 5.00, less than a share: frozen from 12-07
    assert run.frozen_count == 1 and [_held(app, m) for m in members] == [500, 8500, 8500]
    top_up = app.top_up(POOL, members[0], "25.00", "2027-12-09", "UNFREEZE")
    assert top_up.unfrozen
    record = app.reverse_top_up(POOL, top_up.id, reason="the transfer was returned")
    assert (record.refrozen_on, record.balance_minor) == (date(2027, 12, 9), 500)
    with app.reading() as s:
        assert s.scalar(select(Member.status).where(Member.id == members[0])) == "frozen"
        assert frozen_spans(s, members[0]) == ((date(2027, 12, 7), date(2027, 12, 8)), (date(2027, 12, 9), None))
        assert s.execute(
            select(MemberStatusChange.change, MemberStatusChange.cause)
            .where(MemberStatusChange.member_id == members[0])
            .order_by(MemberStatusChange.id.desc())
            .limit(1)
        ).one() == ("frozen", f"top-up #{top_up.id} reversed: the transfer was returned")
    _books_ok(app)


def test_refusals(app, run_cli):
    members = _pool(app)
    top_up = app.top_up(POOL, members[0], "30.00", "2027-11-01", "R-1")
    claim = app.file_claim(
        POOL, members[1], event_kind="need", event_date="2027-11-20", filed_on="2027-11-20", details={"amount": "30.00"}
    )
    app.approve_claim(claim.id)
    app.top_up(POOL, members[1], "30.00", "2027-11-01", "R-2")
    app.top_up(POOL, members[2], "30.00", "2027-11-01", "R-3")
    app.share(POOL, "2027-12")  # each pays 10.00: member #1 holds 20.00 of the 30.00 topped up
    _refused(
        run_cli,
        app,
        ["balance", "reverse", POOL, str(top_up.id), "--reason", "x"],
        f"top-up #{top_up.id} of member #{members[0]} (30.00 CNY) cannot be reversed: the member holds 20.00 CNY "
        "now, the rest was spent on shares",
    )
    _refused(
        run_cli,
        app,
        ["balance", "reverse", POOL, str(top_up.id)],
        "--reason: reversing a top-up needs a reason (it is kept with the reversal)",
    )
    _refused(
        run_cli,
        app,
        ["balance", "reverse", POOL, "999", "--reason", "x"],
        "pool 'prepaid' has no top-up #999; 'mutualaid balance show prepaid MEMBER' lists a member's top-ups",
    )
    _refused(
        run_cli,
        app,
        ["balance", "reverse", POOL, "99999999999999999999", "--reason", "x"],
        "TOPUP: '99999999999999999999' is not a top-up number",
    )
    app.top_up(POOL, members[0], "10.00", "2027-12-01", "R-4")
    app.reverse_top_up(POOL, top_up.id, reason="wrong member")
    assert _held(app, members[0]) == 0
    _refused(
        run_cli,
        app,
        ["balance", "reverse", POOL, str(top_up.id), "--reason", "again"],
        f"top-up #{top_up.id} was already reversed on 2027-12-10 (wrong member); a top-up is reversed once",
    )
    _pool(app, "post", model="postpaid")
    _refused(
        run_cli,
        app,
        ["balance", "reverse", "post", str(top_up.id), "--reason", "x"],
        "pool 'post' is postpaid: members pay each share after the sharing run and keep no balance, so reversing a "
        "top-up is for prepaid pools only; import payment results with 'mutualaid payment import'",
    )
    _books_ok(app)
