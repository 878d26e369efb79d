"""Sharing runs on a real database: exact amounts under both rounding policies, once per period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mutualaid import AlreadySharedError, StateError, ValidationError
from mutualaid.db.models import Charge, Claim


def _setup(app, truckers_pool, make_driver, members: int, *, rounding: str = "round-up", fee: str = "0.08"):
    app.create_pool(truckers_pool(sharing={"rounding": rounding, "management_fee_rate": fee}))
    for n in range(members):
        app.join("js-truckers", **make_driver(n))


def _death(app, member: int, day: str = "2026-10-20") -> None:
    claim = app.file_claim("js-truckers", member, event_kind="accidental_death", event_date=day, filed_on="2026-10-25")
    app.approve_claim(claim.id)


def _charges(app, run_id: int) -> list[int]:
    with app.transaction() as s:
        return list(s.scalars(select(Charge.amount_minor).where(Charge.run_id == run_id).order_by(Charge.member_id)))


def test_round_up_share_and_surplus(app, truckers_pool, make_driver):
    _setup(app, truckers_pool, make_driver, 7)
    _death(app, 1)
    result = app.share("js-truckers", "2026-11")
    # aid 300,000.00 + fee 24,000.00 = 324,000.00 over the 6 survivors = 54,000.00 exactly
    assert (result.aid_minor, result.fee_minor, result.need_minor) == (30_000_000, 2_400_000, 32_400_000)
    assert result.members == 6
    assert result.share_minor == 5_400_000
    assert result.surplus_out_minor == 0
    assert _charges(app, result.run_id) == [5_400_000] * 6


def test_round_up_carries_surplus_to_next_period(app, truckers_pool, make_driver):
    _setup(app, truckers_pool, make_driver, 8, fee="0")
    _death(app, 1)  # 30,000,000 fen over 7 members
    first = app.share("js-truckers", "2026-11")
    assert first.share_minor == 4_285_715  # ceil(30,000,000 / 7)
    assert first.surplus_out_minor == 4_285_715 * 7 - 30_000_000 == 5
    assert sum(_charges(app, first.run_id)) == 30_000_005
    second = app.share("js-truckers", "2026-12")  # no claims: the surplus stays carried
    assert (second.surplus_in_minor, second.need_minor, second.surplus_out_minor, second.charged_minor) == (5, 0, 5, 0)
    assert _charges(app, second.run_id) == []


def test_exact_apportionment_sums_exactly_and_differs_by_one_fen(app, truckers_pool, make_driver):
    _setup(app, truckers_pool, make_driver, 8, rounding="exact")
    _death(app, 1)  # 300,000 + 8% = 32,400,000 fen over 7 members
    result = app.share("js-truckers", "2026-11")
    charges = _charges(app, result.run_id)
    assert sum(charges) == 32_400_000
    assert result.surplus_out_minor == 0
    base, extra = divmod(32_400_000, 7)
    assert (result.share_minor, result.extra_count) == (base, extra) == (4_628_571, 3)
    # the extra fen go to the members with the lowest numbers (member 1 died and does not share)
    assert charges == [base + 1] * 3 + [base] * 4


def test_second_run_of_a_period_charges_nothing(app, truckers_pool, make_driver):
    _setup(app, truckers_pool, make_driver, 3)
    _death(app, 1)
    first = app.share("js-truckers", "2026-11")
    with pytest.raises(AlreadySharedError, match=r"period 2026-11 of pool 'js-truckers' was already shared"):
        app.share("js-truckers", "2026-11")
    with app.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Charge)) == 2
        assert s.scalar(select(func.sum(Charge.amount_minor))) == first.charged_minor
        assert set(s.scalars(select(Claim.status))) == {"shared"}


def test_members_counted_at_notice_day_cutoff(app, truckers_pool, make_driver):
    app.create_pool(truckers_pool())
    app.join("js-truckers", **make_driver(1, joined_on="2026-10-01"))
    app.join("js-truckers", **make_driver(2, joined_on="2026-11-06"))  # before 00:00 of the 7th: shares
    app.join("js-truckers", **make_driver(3, joined_on="2026-11-07"))  # on the notice day: does not
    claim = app.file_claim(
        "js-truckers",
        1,
        event_kind="accidental_disability",
        event_date="2026-11-06",
        details={"disability_grade": "10"},
        filed_on="2026-11-06",
    )
    app.approve_claim(claim.id)
    result = app.share("js-truckers", "2026-11")
    assert result.members == 2
    # grade 10 = 30,000.00 + 8% = 32,400.00 over 2
    assert result.share_minor == 1_620_000


def test_period_with_a_need_but_no_members_is_refused_and_writes_nothing(app, truckers_pool, make_driver):
    app.create_pool(truckers_pool())
    app.join("js-truckers", **make_driver(1, joined_on="2026-10-01"))
    _death(app, 1)
    with pytest.raises(ValidationError, match="no member shares this period"):
        app.share("js-truckers", "2026-11")
    with app.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Charge)) == 0
        assert s.scalar(select(Claim.status)) == "approved"


def test_periods_are_shared_in_order(app, truckers_pool, make_driver):
    _setup(app, truckers_pool, make_driver, 2)
    app.share("js-truckers", "2026-12")
    with pytest.raises(StateError, match="comes before the last shared period 2026-12"):
        app.share("js-truckers", "2026-11")


def test_semi_monthly_periods(app, truckers_pool, make_driver):
    app.create_pool(truckers_pool(sharing={"calendar": "semi-monthly"}))
    app.join("js-truckers", **make_driver(1))
    with pytest.raises(ValidationError, match="shares twice a month"):
        app.share("js-truckers", "2026-11")
    first = app.share("js-truckers", "2026-11a")
    second = app.share("js-truckers", "2026-11b")
    assert (first.notice_date, first.deduction_date) == (date(2026, 11, 7), date(2026, 11, 14))
    assert (second.notice_date, second.deduction_date) == (date(2026, 11, 21), date(2026, 11, 28))


def test_waiting_members_can_be_left_out_of_sharing(app, truckers_pool, make_driver):
    app.create_pool(truckers_pool(sharing={"waiting_members_share": False}))
    app.join("js-truckers", **make_driver(1, joined_on="2026-01-01"))  # waiting until 2026-04-01
    app.join("js-truckers", **make_driver(2, joined_on="2026-10-01"))  # waiting until 2026-12-30
    app.join("js-truckers", **make_driver(3, joined_on="2026-01-02"))
    _death(app, 3)
    result = app.share("js-truckers", "2026-11")
    assert result.members == 1
    assert result.fee_rate == Decimal("0.08")


def test_a_claim_approved_during_a_run_waits_for_the_next_run(app, truckers_pool, make_driver, db_url, monkeypatch):
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite lets one transaction write at a time, so nothing can be approved during a run")
    from mutualaid import MutualAid
    from mutualaid.sharing.charges import RunCharges

    _setup(app, truckers_pool, make_driver, 5)
    _death(app, 1)
    late = app.file_claim(
        "js-truckers", 2, event_kind="accidental_disability", event_date="2026-10-21", filed_on="2026-10-25",
        details={"disability_grade": "10"},
    )  # fmt: skip
    other = MutualAid(db_url, plugins=app.plugins)
    original = RunCharges.write_charges

    def approve_meanwhile(*args, **kwargs):
        other.approve_claim(late.id)  # commits in its own transaction while the run is under way
        return original(*args, **kwargs)

    monkeypatch.setattr(RunCharges, "write_charges", approve_meanwhile)
    try:
        result = app.share("js-truckers", "2026-11")
    finally:
        other.close()
    assert (result.claims, result.aid_minor) == (1, 30_000_000)
    with app.transaction() as s:
        rows = dict(s.execute(select(Claim.id, Claim.status)).all())
    assert rows == {1: "shared", late.id: "approved"}  # not marked shared by a run that did not fund it
    monkeypatch.setattr(RunCharges, "write_charges", original)  # (undo() would undo the suite's today too)
    assert app.share("js-truckers", "2026-12").aid_minor == 3_000_000  # grade 10 = 30,000.00
