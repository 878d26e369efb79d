"""Voiding a sharing run before its deduction day (``share void``): the exact reversal of its entry,
its claims approved again, prepaid balances given back and freezes undone, the run kept as history
but counted nowhere, the period shared again -- with the same charges as if the voided run had never
happened (checked against a pool that never had it, and over random small pools) -- the members
told (``run-voided``), and every refusal one line with the database unchanged."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from weighted_pool import *  # noqa: F403 (its fixtures: app, run_cli, test_plugins, today)

from mutualaid import MutualAid, NotFoundError, StateError, ValidationError
from mutualaid.db.models import (
    Balance,
    Charge,
    Claim,
    LedgerEntry,
    LedgerLine,
    Member,
    MemberStatusChange,
    NoticeDelivery,
    Payment,
    Pool,
    SharingRun,
    SharingRunVoid,
)
from mutualaid.ledger import account_balances, reconcile_books, verify_ledger
from mutualaid.members import frozen_spans
from mutualaid.testing import resident_id

POOL = "weighted"


_keys = itertools.count(1)


def _pool(app: MutualAid, key: str = POOL, *, payments: dict[str, Any] | None = None, **sharing: Any) -> str:
    data: dict[str, Any] = {
        "key": key,
        "name": key,
        "cohort": "weighted-test",
        "sharing": {"management_fee_rate": "0.08", "rounding": "exact", **sharing},
    }
    if payments:
        data["payments"] = payments
    app.create_pool(data)
    return key


def _members(app: MutualAid, key: str, count: int) -> list[int]:
    born = date(1960, 1, 1) + timedelta(days=next(_keys))  # each pool's people are new people
    return [
        app.join(
            key,
            id_number=resident_id(born, n),
            name=f"M{n}",
            birth_date=born,
            joined_on="2027-01-01",
            attributes={},
        ).id
        for n in range(count)
    ]


def _need(app: MutualAid, key: str, member: int, amount: str, day: str = "2027-11-20") -> int:
    claim = app.file_claim(key, member, event_kind="need", event_date=day, filed_on=day, details={"amount": amount})
    app.approve_claim(claim.id)
    return claim.id


def _charges(app: MutualAid, run_id: int, members: list[int]) -> list[int]:
    with app.reading() as s:
        found = dict(s.execute(select(Charge.member_id, Charge.amount_minor).where(Charge.run_id == run_id)).all())
    return [found.get(m, 0) for m in members]


def _books_ok(app: MutualAid, key: str = POOL) -> None:
    with app.reading() as s:
        pool_id = app.pool(key).id
        report = verify_ledger(s, pool_id)
        assert report.ok, [str(p) for p in report.problems]
        books = reconcile_books(s, pool_id)
        assert books.ok, (books.balances, [c for c in books.checks if not c.ok])


def _accounts(app: MutualAid, key: str = POOL) -> dict[str, int]:
    with app.reading() as s:
        return account_balances(s, app.pool(key).id)


def _balances(app: MutualAid, members: list[int]) -> list[int]:
    with app.reading() as s:
        found = dict(s.execute(select(Balance.member_id, Balance.balance_minor)).all())
    return [found.get(m, 0) for m in members]


def _snapshot(app: MutualAid) -> dict[str, Any]:
    """Every row count the corrections could change, the pools' heads, the claims and balances."""
    with app.reading() as s:
        counts = {
            model.__tablename__: s.scalar(select(func.count()).select_from(model))
            for model in (LedgerEntry, LedgerLine, SharingRun, SharingRunVoid, Charge, MemberStatusChange)
        }
        return {
            **counts,
            "heads": s.execute(select(Pool.key, Pool.ledger_seq, Pool.ledger_head).order_by(Pool.key)).all(),
            "claims": s.execute(select(Claim.id, Claim.status, Claim.sharing_run_id).order_by(Claim.id)).all(),
            "members": s.execute(select(Member.id, Member.status).order_by(Member.id)).all(),
            "balances": s.execute(select(Balance.member_id, Balance.balance_minor).order_by(Balance.member_id)).all(),
        }


def _top_up(app: MutualAid, key: str, members: list[int], amounts: list[str]) -> None:
    for member, amount in zip(members, amounts, strict=True):
        if Decimal(amount) > 0:
            app.top_up(key, member, amount, "2027-11-01", f"{key}-{member}")


# -- a postpaid run ---------------------------------------------------------------------------------


def _postpaid_history(app: MutualAid, key: str) -> tuple[list[int], list[int]]:
    """Seven members, period 2027-11 shared (a surplus and the rotation carried on), then two claims
    approved for 2027-12."""
    members = _members(app, key, 7)
    _need(app, key, members[0], "100.00", day="2027-10-20")
    app.share(key, "2027-11")
    claims = [_need(app, key, members[1], "333.33"), _need(app, key, members[2], "41.07")]
    return members, claims


def test_a_voided_postpaid_run_is_reversed_and_the_period_shared_again_as_if_it_never_ran(app):
    _pool(app)
    members, claims = _postpaid_history(app, POOL)
    before = _accounts(app)
    first = app.share(POOL, "2027-12")
    first_charges = _charges(app, first.run_id, members)
    assert sum(first_charges) == first.charged_minor == 40435 and first.extra_count

    void = app.void_run(POOL, "2027-12", reason="claim #2's receipt was misread", by="王会计")
    assert (void.run_id, void.charge_rows, void.charged_minor, void.claims) == (first.run_id, 7, 40435, tuple(claims))
    assert (void.voided_by, void.reason, void.voided_on, void.refunded_minor) == (
        "王会计",
        "claim #2's receipt was misread",
        date(2027, 12, 10),
        0,
    )
    # The books are back where they were before the run, the run's entry and its reversal both kept.
    assert _accounts(app) == before
    _books_ok(app)
    with app.reading() as s:
        run_entry = s.scalar(
            select(LedgerEntry).where(LedgerEntry.run_id == first.run_id, LedgerEntry.kind == "sharing")
        )
        reversal = s.scalar(select(LedgerEntry).where(LedgerEntry.kind == "void"))
        lines = {
            e: sorted(
                (ln.account, ln.amount_minor, ln.claim_id)
                for ln in s.scalars(select(LedgerLine).where(LedgerLine.entry_id == e))
            )
            for e in (run_entry.id, reversal.id)
        }
        assert reversal.reverses_id == run_entry.id and reversal.seq == void.entry_seq
        assert lines[reversal.id] == sorted((a, -m, c) for a, m, c in lines[run_entry.id])
        # The run and its charges stay as they were, as history.
        assert s.scalar(select(func.count()).where(Charge.run_id == first.run_id)) == 7
        assert [
            (c.status, c.sharing_run_id, c.funded_minor) for c in s.scalars(select(Claim).where(Claim.id.in_(claims)))
        ] == [
            ("approved", None, None),
            ("approved", None, None),
        ]
    _, history = app.claim_history(claims[0])
    assert [(h.status.value, h.actor, h.cause) for h in history[-2:]] == [
        ("shared", None, f"shared in period 2027-12 (run #{first.run_id})"),
        ("approved", "王会计", f"run #{first.run_id} of period 2027-12 voided: claim #2's receipt was misread"),
    ]

    again = app.share(POOL, "2027-12")
    assert again.attempt == 1 and again.run_id != first.run_id
    _books_ok(app)

    # The same history in a pool that never had the voided run.
    _pool(app, "fresh")
    fresh_members, _ = _postpaid_history(app, "fresh")
    fresh = app.share("fresh", "2027-12")
    assert _charges(app, again.run_id, members) == _charges(app, fresh.run_id, fresh_members) == first_charges
    figures = ("charged_minor", "fee_minor", "surplus_in_minor", "surplus_out_minor", "extra_count", "need_minor")
    assert [getattr(again, f) for f in figures] == [getattr(fresh, f) for f in figures]
    # The rotation of the extra minor units goes on from the same member.
    assert [again.extra_from_id - members[0], again.extra_to_id - members[0]] == [
        fresh.extra_from_id - fresh_members[0],
        fresh.extra_to_id - fresh_members[0],
    ]
    assert _accounts(app) == _accounts(app, "fresh")


def test_share_show_and_the_cli_report_a_void(app, run_cli):
    _pool(app)
    members, claims = _postpaid_history(app, POOL)
    first = app.share(POOL, "2027-12")
    out = run_cli("share", "void", POOL, "--period", "2027-12", "--reason", "wrong claim", "--by", "王会计")
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == [
        f"voided run #{first.run_id} of period 2027-12 of pool 'weighted': 404.35 CNY charged to 7 members, withdrawn "
        "on 2027-12-10 by 王会计 (ledger entry 4): wrong claim",
        f"claims approved again, for the next run: #{claims[0]}, #{claims[1]}",
        "if its statements were handed out, tell the members with 'mutualaid notice render weighted --kind "
        "run-voided --period 2027-12 --out DIR'",
        "next: share the period again, 'mutualaid share run weighted --period 2027-12'",
    ]
    shown = run_cli("share", "show", POOL, "--period", "2027-12")
    assert shown.exit_code == 0 and shown.output.splitlines() == [
        "period 2027-12 of pool 'weighted': no run counts (voided; not shared again yet)",
        f"voided run #{first.run_id}: 404.35 CNY charged to 7 members, withdrawn on 2027-12-10 by 王会计 (ledger "
        "entry 4): wrong claim",
    ]
    assert run_cli("share", "run", POOL, "--period", "2027-12").exit_code == 0
    shown = run_cli("share", "show", POOL, "--period", "2027-12")
    assert shown.output.splitlines()[0] == f"period 2027-12 of pool 'weighted' (run #{first.run_id + 1}):"
    assert shown.output.splitlines()[-1].startswith(f"voided run #{first.run_id}: 404.35 CNY")
    assert run_cli("ledger", "verify", POOL).exit_code == 0


# -- a prepaid run ----------------------------------------------------------------------------------


def _prepaid_history(app: MutualAid, key: str) -> list[int]:
    """Six members with balances, two of them too low for the 2027-12 share; two claims approved."""
    members = _members(app, key, 6)
    _top_up(app, key, members, ["500.00", "500.00", "500.00", "500.00", "0.50", "0"])
    _need(app, key, members[0], "250.00")
    _need(app, key, members[1], "38.21")
    return members


def test_a_voided_prepaid_run_gives_balances_back_unfreezes_and_reshares_as_if_it_never_ran(app):
    _pool(app, payments={"model": "prepaid", "low_balance": "10"})
    members = _prepaid_history(app, POOL)
    balances = _balances(app, members)
    accounts = _accounts(app)
    first = app.share(POOL, "2027-12")
    first_charges = _charges(app, first.run_id, members)
    assert first.frozen_count == 2 and first_charges[4:] == [0, 0] and sum(first_charges) == first.charged_minor
    assert _balances(app, members) == [b - c for b, c in zip(balances, first_charges, strict=True)]

    void = app.void_run(POOL, "2027-12", reason="a claim filed twice", by="王会计")
    assert (void.refunded_minor, void.unfrozen) == (first.charged_minor, 2)
    assert _balances(app, members) == balances
    assert _accounts(app) == accounts
    _books_ok(app)
    with app.reading() as s:
        statuses = dict(s.execute(select(Member.id, Member.status).where(Member.id.in_(members))).all())
        assert [statuses[m] for m in members] == ["active"] * 6
        assert frozen_spans(s, members[4]) == ()
    shown = app.balance(POOL, members[0])
    assert [(d.period, d.amount_minor, d.voided) for d in shown.deductions] == [("2027-12", first_charges[0], True)]

    again = app.share(POOL, "2027-12")
    _books_ok(app)
    _pool(app, "fresh", payments={"model": "prepaid", "low_balance": "10"})
    fresh_members = _prepaid_history(app, "fresh")
    fresh = app.share("fresh", "2027-12")
    assert _charges(app, again.run_id, members) == _charges(app, fresh.run_id, fresh_members) == first_charges
    assert (again.frozen_count, again.charged_minor) == (fresh.frozen_count, fresh.charged_minor)
    assert _balances(app, members) == _balances(app, fresh_members)
    with app.reading() as s:
        assert frozen_spans(s, members[4]) == frozen_spans(s, fresh_members[4]) == ((date(2027, 12, 7), None),)
    assert _accounts(app) == _accounts(app, "fresh")


# -- the key property over random small pools -------------------------------------------------------

pools = st.fixed_dictionaries(
    {
        "members": st.integers(min_value=1, max_value=8),
        "fee": st.sampled_from(["0", "0.05", "0.08"]),
        "rounding": st.sampled_from(["exact", "round-up"]),
        "prepaid": st.booleans(),
        "earlier": st.booleans(),
        "needs": st.lists(st.integers(min_value=1, max_value=50_000), min_size=0, max_size=3),
        "balances": st.lists(st.integers(min_value=0, max_value=30_000), min_size=8, max_size=8),
        "per_period_cap": st.sampled_from([None, "30", "100"]),
    }
)


def _random_pool(app: MutualAid, key: str, spec: dict[str, Any]) -> list[int]:
    caps = {"caps": {"per_period": spec["per_period_cap"], "shortfall": "sponsor"}} if spec["per_period_cap"] else {}
    payments = {"model": "prepaid", "low_balance": "1"} if spec["prepaid"] else None
    _pool(app, key, payments=payments, management_fee_rate=spec["fee"], rounding=spec["rounding"], **caps)
    members = _members(app, key, spec["members"])
    if spec["prepaid"]:
        # The first member can always pay (a period nobody can pay for is refused, not shared).
        held = [1_000_000, *spec["balances"]][: len(members)]
        _top_up(app, key, members, [str(Decimal(b).scaleb(-2)) for b in held])
    if spec["earlier"]:
        _need(app, key, members[0], "12.34", day="2027-10-02")
        app.share(key, "2027-11")
    for n, need in enumerate(spec["needs"]):
        _need(app, key, members[n % len(members)], str(Decimal(need).scaleb(-2)), day=f"2027-11-{10 + n}")
    return members


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(spec=pools)
def test_any_small_pool_shared_again_after_a_void_is_charged_as_if_the_void_never_happened(app, spec):
    key, fresh_key = f"p{next(_keys)}", f"f{next(_keys)}"
    members = _random_pool(app, key, spec)
    app.share(key, "2027-12")
    app.void_run(key, "2027-12", reason="property")
    again = app.share(key, "2027-12")
    fresh_members = _random_pool(app, fresh_key, spec)
    fresh = app.share(fresh_key, "2027-12")
    assert _charges(app, again.run_id, members) == _charges(app, fresh.run_id, fresh_members)
    assert (again.charged_minor, again.fee_minor, again.surplus_out_minor, again.frozen_count, again.sponsor_minor) == (
        fresh.charged_minor,
        fresh.fee_minor,
        fresh.surplus_out_minor,
        fresh.frozen_count,
        fresh.sponsor_minor,
    )
    assert _balances(app, members) == _balances(app, fresh_members)
    assert _accounts(app, key) == _accounts(app, fresh_key)
    _books_ok(app, key)


# -- runs that count nowhere -------------------------------------------------------------------------


def test_a_voided_run_counts_in_no_year_to_date_cap_nor_the_next_period(app, monkeypatch):
    # Semi-monthly: 2027-12a (counted 12-01, deducted 12-10) and 2027-12b (counted 12-15, deducted 12-28).
    days = {"calendar": "semi-monthly", "notice_days": [1, 15], "deduction_days": [10, 28]}
    caps = {"caps": {"per_year": "150", "shortfall": "sponsor"}}
    _pool(app, **days, **caps)
    members = _members(app, POOL, 3)
    _need(app, POOL, members[0], "300.00", day="2027-11-25")
    monkeypatch.setenv("MUTUALAID_TODAY", "2027-12-05")
    app.share(POOL, "2027-12a")
    app.void_run(POOL, "2027-12a", reason="shared by mistake")
    _need(app, POOL, members[1], "600.00", day="2027-12-05")
    monkeypatch.setenv("MUTUALAID_TODAY", "2027-12-16")
    later = app.share(POOL, "2027-12b")
    # Both claims are shared in 12b, within the year's cap of 150.00 each as if 12a never charged anyone.
    assert _charges(app, later.run_id, members) == [15000, 15000, 15000]
    _books_ok(app)


# -- the members told ----------------------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_members_a_sent_statement_reached_are_counted_and_told_their_charge_was_withdrawn(app, tmp_path):
    _pool(app)
    members, _ = _postpaid_history(app, POOL)
    first = app.share(POOL, "2027-12")
    with app.transaction() as s:  # the send log, as 'notice send' leaves it for three members
        for member, status in zip(members[:3], ("sent", "sent", "failed"), strict=True):
            s.add(
                NoticeDelivery(
                    pool_id=app.pool(POOL).id,
                    kind="statement",
                    reference="2027-12",
                    member_id=member,
                    address=f"m{member}@example.org",
                    status=status,
                    attempts=1,
                    message_id=f"<{member}@mutualaid>",
                    updated_at=date(2027, 12, 8),
                )
            )
    void = app.void_run(POOL, "2027-12", reason="a claim was approved by mistake")
    assert void.statements_sent == 2
    charges = _charges(app, first.run_id, members)
    result = app.render_notices(
        POOL, "run-voided", tmp_path / "en", period="2027-12", locale="en", formats=("text", "html")
    )
    assert len(result.paths) == 14
    text = _lines(tmp_path / "en" / f"run-voided-2027-12-{members[1]}.txt")
    assert text[0] == "weighted - your charge for period 2027-12 is withdrawn"
    assert text[2] == (
        "The sharing of period 2027-12 (members counted on 2027-12-07) was voided on 2027-12-10, before its "
        "deduction day 2027-12-14."
    )
    assert text[3] == (
        f"Your charge for the period, {Decimal(charges[1]).scaleb(-2)} CNY, is withdrawn: nothing is collected for "
        "it; if you see it on a statement, disregard that statement."
    )
    assert text[4] == "Why: a claim was approved by mistake"
    assert text[5] == "When the period is shared again, you will receive a new statement for it."
    html = (tmp_path / "en" / f"run-voided-2027-12-{members[1]}.html").read_text(encoding="utf-8")
    assert "<p>a claim was approved by mistake</p>" in html and f"{Decimal(charges[1]).scaleb(-2)} CNY" in html
    app.share(POOL, "2027-12")
    app.render_notices(POOL, "run-voided", tmp_path / "zh", period="2027-12", locale="zh-CN", members=[members[0]])
    zh = _lines(tmp_path / "zh" / f"run-voided-2027-12-{members[0]}.txt")
    assert zh[0] == "weighted · 2027-12 期分摊撤销通知"
    assert (
        zh[3]
        == f"您本期的分摊金额 {Decimal(charges[0]).scaleb(-2)} CNY 已撤回：不会就此扣款；如账单上仍有该笔金额，请以本通知为准。"
    )
    assert zh[4] == "撤销原因：a claim was approved by mistake"
    assert zh[5] == "本期已重新分摊：您将另行收到本期新的分摊账单，请以新账单为准。"


def test_the_statements_of_a_period_shared_again_are_new_notices_in_the_send_log(app):
    from mutualaid.notices.kinds.statement import STATEMENT

    _pool(app)
    _postpaid_history(app, POOL)
    first = app.share(POOL, "2027-12")
    app.void_run(POOL, "2027-12", reason="redo")
    again = app.share(POOL, "2027-12")
    with app.reading() as s:
        from mutualaid.notices.service import prepare

        pool, spec, request = prepare(s, app.plugins, POOL, "statement", period="2027-12")
        from mutualaid.sharing.lookup import run_of

        batch = {"_run": run_of(s, pool, request.period), "run": {"weighted": False}}
        row = s.execute(STATEMENT.recipients(s, pool, request, batch).limit(1)).first()
        assert STATEMENT.reference(row, request) == f"2027-12/run-{again.run_id}" != "2027-12"
    assert first.attempt == 0 and again.attempt == 1


def test_the_public_notice_of_a_period_shared_again_is_a_new_notice_in_the_send_log(app):
    """Its cases may differ from the voided run's: the send log must not take it for the one sent."""
    _pool(app)
    born = date(1970, 1, 1) + timedelta(days=next(_keys))
    members = [
        app.join(
            POOL,
            id_number=resident_id(born, n),
            name=f"P{n}",
            birth_date=born,
            joined_on="2027-01-01",
            attributes={},
            email=f"p{n}@example.org",
        ).id
        for n in range(2)
    ]
    _need(app, POOL, members[0], "30.00")
    first = app.share(POOL, "2027-12")
    before = app.send_notices(POOL, "public-notice", period="2027-12", dry_run=True)
    assert {p.reference for p in before.planned} == {"2027-12"}  # a period shared once: the period
    app.void_run(POOL, "2027-12", reason="redo")
    again = app.share(POOL, "2027-12")
    after = app.send_notices(POOL, "public-notice", period="2027-12", dry_run=True)
    assert [(p.member_id, p.reference) for p in after.planned] == [(m, f"2027-12/run-{again.run_id}") for m in members]
    assert again.run_id != first.run_id


def test_the_run_voided_notice_is_sent_once_per_voided_run(app):
    _pool(app)
    born = date(1970, 1, 1) + timedelta(days=next(_keys))
    members = [
        app.join(
            POOL,
            id_number=resident_id(born, n),
            name=f"E{n}",
            birth_date=born,
            joined_on="2027-01-01",
            attributes={},
            email=f"e{n}@example.org",
        ).id
        for n in range(3)
    ]
    _need(app, POOL, members[0], "30.00")
    first = app.share(POOL, "2027-12")
    app.void_run(POOL, "2027-12", reason="redo")
    planned = app.send_notices(POOL, "run-voided", period="2027-12", dry_run=True)
    assert [(p.member_id, p.reference) for p in planned.planned] == [
        (m, f"2027-12/run-{first.run_id}") for m in members
    ]
    assert planned.planned[0].subject == "weighted · 2027-12 期分摊撤销通知"  # the pool's language


def test_the_run_voided_notice_of_a_period_never_voided_is_refused(app, tmp_path):
    _pool(app)
    _postpaid_history(app, POOL)
    app.share(POOL, "2027-12")
    with pytest.raises(NotFoundError, match=r"^period 2027-12 of pool 'weighted' has no voided run; "):
        app.render_notices(POOL, "run-voided", tmp_path, period="2027-12")


# -- refusals: one line, exit 1, nothing changed ----------------------------------------------------------


def _refused(run_cli, app, args: list[str], message: str) -> None:
    before = _snapshot(app)
    out = run_cli(*args)
    assert (out.exit_code, out.output) == (1, f"Error: {message}\n")
    assert _snapshot(app) == before


def test_a_run_is_not_voided_on_or_after_its_deduction_day(app, run_cli, monkeypatch):
    _pool(app)
    _postpaid_history(app, POOL)
    run = app.share(POOL, "2027-12")
    monkeypatch.setenv("MUTUALAID_TODAY", "2027-12-14")
    _refused(
        run_cli,
        app,
        ["share", "void", POOL, "--period", "2027-12", "--reason", "late"],
        f"run #{run.run_id} of period 2027-12 cannot be voided: its deduction day was 2027-12-14 (today is "
        "2027-12-14); a run is voided only before its deduction day",
    )


def test_a_run_with_a_payment_recorded_is_not_voided(app, run_cli):
    _pool(app)
    members, _ = _postpaid_history(app, POOL)
    run = app.share(POOL, "2027-12")
    # A payment is imported from the deduction day on; one recorded early (a clock set wrong) still
    # keeps the run from being voided.
    with app.transaction() as s:
        s.add(
            Payment(
                batch_id=1,
                run_id=run.run_id,
                member_id=members[0],
                result="paid",
                attempted_on=date(2027, 12, 9),
                amount_minor=1,
            )
        )
    _refused(
        run_cli,
        app,
        ["share", "void", POOL, "--period", "2027-12", "--reason", "late"],
        f"run #{run.run_id} of period 2027-12 cannot be voided: 1 payment result against it was recorded; a run "
        "is voided only before any payment against it",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2027-12"], "--reason: voiding a run needs a reason (the members it charged are told it)"),
        (["--period", "2027-12", "--reason", "x" * 501], "--reason: at most 500 characters (501 given)"),
        (
            ["--period", "2027-11x", "--reason", "x"],
            "period '2027-11x' is not a period of pool 'weighted'; write it like 2026-11",
        ),
        (
            ["--period", "2027-10", "--reason", "x"],
            "period 2027-10 of pool 'weighted' has not been shared; there is no run to void",
        ),
    ],
)
def test_a_void_without_a_reason_or_a_run_is_refused(app, run_cli, args, message):
    _pool(app)
    _postpaid_history(app, POOL)
    app.share(POOL, "2027-12")
    _refused(run_cli, app, ["share", "void", POOL, *args], message)


def test_a_run_is_voided_once(app, run_cli):
    _pool(app)
    _postpaid_history(app, POOL)
    run = app.share(POOL, "2027-12")
    app.void_run(POOL, "2027-12", reason="once")
    _refused(
        run_cli,
        app,
        ["share", "void", POOL, "--period", "2027-12", "--reason", "twice"],
        f"run #{run.run_id} of period 2027-12 was already voided on 2027-12-10 and the period has not been shared "
        "again; nothing to void",
    )
    with pytest.raises(NotFoundError, match=rf"^run #{run.run_id} of period 2027-12 of pool 'weighted' was voided"):
        app.sharing_run(POOL, "2027-12")
    with pytest.raises(StateError):
        app.void_run(POOL, "2027-12", reason="again")
    with pytest.raises(ValidationError):
        app.void_run(POOL, "2027-12", reason="  ")
