"""Property-based tests of the sharing formula: the plan alone, and sharing runs on a database.

Every expected figure is computed here independently of :mod:`mutualaid.money` (with integers
and :class:`fractions.Fraction`), so a wrong rounding in the core cannot agree with itself.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mutualaid import AlreadySharedError, MutualAid, ValidationError
from mutualaid import claims as claim_service
from mutualaid import members as member_service
from mutualaid.db.models import Charge, Claim
from mutualaid.sharing import plan_sharing

ROUNDINGS = ("round-up", "exact")

amounts = st.one_of(st.integers(0, 1_000), st.integers(0, 10**12))
fee_rates = st.decimals(min_value=0, max_value=Decimal("0.5"), places=4, allow_nan=False, allow_infinity=False)
member_counts = st.one_of(st.integers(1, 100), st.integers(1, 10**8))


def half_up(value: Fraction) -> int:
    """Round a non-negative fraction half up to an integer."""
    return int(value + Fraction(1, 2))  # int() truncates, which is floor for non-negative values


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# -- the plan (pure) -----------------------------------------------------------------------------


@settings(max_examples=400)
@given(aid=amounts, rate=fee_rates, surplus_in=amounts, members=member_counts, rounding=st.sampled_from(ROUNDINGS))
def test_plan_reconciles_exactly(aid, rate, surplus_in, members, rounding):
    plan = plan_sharing(aid=aid, fee_rate=rate, surplus_in=surplus_in, members=members, rounding=rounding)

    fee = half_up(Fraction(aid) * Fraction(rate))
    cost = aid + fee
    need = max(cost - surplus_in, 0)

    assert plan.fee == fee
    assert (plan.aid, plan.surplus_in, plan.members, plan.need, plan.rounding) == (
        aid,
        surplus_in,
        members,
        need,
        rounding,
    )
    assert plan.charged == aid + fee - surplus_in + plan.surplus_out
    assert plan.reconciles()
    figures = (plan.fee, plan.need, plan.share, plan.extra, plan.surplus_out, plan.charged)
    assert all(type(v) is int for v in figures)
    assert plan.share >= 0 and plan.surplus_out >= 0


@settings(max_examples=400)
@given(aid=amounts, rate=fee_rates, surplus_in=amounts, members=member_counts)
def test_round_up_plan_charges_everyone_the_smallest_covering_share(aid, rate, surplus_in, members):
    plan = plan_sharing(aid=aid, fee_rate=rate, surplus_in=surplus_in, members=members, rounding="round-up")
    cost = aid + half_up(Fraction(aid) * Fraction(rate))
    need = max(cost - surplus_in, 0)
    left_over = max(surplus_in - cost, 0)

    assert plan.extra == 0  # every member pays the same share
    assert plan.charged == plan.share * members
    assert plan.share == ceil_div(need, members)
    assert plan.share * members >= need  # covers the need ...
    assert plan.share == 0 or (plan.share - 1) * members < need  # ... and one fen less would not
    rounding_surplus = plan.surplus_out - left_over
    assert 0 <= rounding_surplus < members
    assert plan.surplus_out == plan.share * members - need + left_over


@settings(max_examples=400)
@given(aid=amounts, rate=fee_rates, surplus_in=amounts, members=member_counts)
def test_exact_plan_sums_to_the_need_and_shares_differ_by_at_most_one_fen(aid, rate, surplus_in, members):
    plan = plan_sharing(aid=aid, fee_rate=rate, surplus_in=surplus_in, members=members, rounding="exact")
    cost = aid + half_up(Fraction(aid) * Fraction(rate))
    need = max(cost - surplus_in, 0)
    left_over = max(surplus_in - cost, 0)

    assert plan.surplus_out == left_over  # only what the surplus carried in did not use
    assert 0 <= plan.extra < members
    assert plan.charged == plan.share * members + plan.extra == need
    assert (plan.share, plan.extra) == divmod(need, members)
    shares = {plan.share, plan.share + 1} if plan.extra else {plan.share}
    assert max(shares) - min(shares) <= 1


@given(aid=amounts, rate=fee_rates, surplus_in=amounts, rounding=st.sampled_from(ROUNDINGS))
def test_plan_without_members_is_refused_only_when_something_is_owed(aid, rate, surplus_in, rounding):
    need = max(aid + half_up(Fraction(aid) * Fraction(rate)) - surplus_in, 0)
    if need:
        message = f"no member shares this period, so its cost of {need} minor units cannot be shared"
        with pytest.raises(ValidationError, match=message):
            plan_sharing(aid=aid, fee_rate=rate, surplus_in=surplus_in, members=0, rounding=rounding)
    else:
        plan = plan_sharing(aid=aid, fee_rate=rate, surplus_in=surplus_in, members=0, rounding=rounding)
        assert (plan.charged, plan.share, plan.extra) == (0, 0, 0)
        assert plan.reconciles()


# -- sharing runs on a database ------------------------------------------------------------------

DEATH = 30_000_000  # 300,000.00 CNY, the truckers' accidental death benefit, in fen


def disability(grade: int) -> int:
    """JR/T 0083-2013: grade g pays (110 - 10 g) % of 300,000.00 CNY."""
    return (110 - 10 * grade) * 300_000


#: One claim: ``None`` for an accidental death, else a disability grade.
claim_kinds = st.one_of(st.none(), st.integers(1, 10))


@st.composite
def pool_histories(draw):
    """Members, rounding, fee rate, and for each of 1-3 consecutive periods the claims approved in it.

    Member 0 never claims, so at least one member is left to share every period.
    """
    members = draw(st.integers(1, 60))
    rounding = draw(st.sampled_from(ROUNDINGS))
    rate = draw(fee_rates)
    periods = draw(st.integers(1, 3))
    claimants = draw(st.permutations(range(1, members))) if members > 1 else []
    history = []
    start = 0
    for _ in range(periods):
        count = draw(st.integers(0, min(4, len(claimants) - start)))
        history.append([(claimants[start + i], draw(claim_kinds)) for i in range(count)])
        start += count
    return members, rounding, rate, history


#: Consecutive periods; claims of a period happen in the month before its notice day.
PERIODS = [
    ("2026-11", "2026-10-20", "2026-10-25"),
    ("2026-12", "2026-11-20", "2026-11-25"),
    ("2027-01", "2026-12-20", "2026-12-25"),
]

_pool_numbers = itertools.count(1)


@pytest.fixture
def sqlite_app(sqlite_url, plugins):
    application = MutualAid(sqlite_url, plugins=plugins)
    yield application
    application.close()


def _charges(app: MutualAid, run_id: int) -> dict[int, int]:
    with app.transaction() as s:
        return dict(s.execute(select(Charge.member_id, Charge.amount_minor).where(Charge.run_id == run_id)).all())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=pool_histories())
def test_sharing_runs_reconcile_on_a_database(sqlite_app, plugins, truckers_pool, make_driver, history):
    members, rounding, rate, periods = history
    app = sqlite_app
    key = f"prop-{next(_pool_numbers)}"  # one pool per example: the database is shared between examples
    sharing = {"rounding": rounding, "management_fee_rate": str(rate)}
    pool_id = app.create_pool(truckers_pool(key=key, sharing=sharing)).id
    with app.transaction() as s:
        ids = [member_service.join_member(s, plugins, key, **make_driver(n)).id for n in range(members)]

    living = set(ids)
    surplus_in = 0
    for (period, event_date, filed_on), claims in zip(PERIODS, periods, strict=False):  # 1 to 3 periods
        aid = 0
        with app.transaction() as s:
            for index, grade in claims:
                details = {} if grade is None else {"disability_grade": str(grade)}
                kind = "accidental_death" if grade is None else "accidental_disability"
                claim = claim_service.file_claim(
                    s,
                    plugins,
                    key,
                    ids[index],
                    event_kind=kind,
                    event_date=event_date,
                    details=details,
                    filed_on=filed_on,
                )
                claim_service.approve_claim(s, plugins, claim.id)
                aid += DEATH if grade is None else disability(grade)
                if grade is None:
                    living.discard(ids[index])

        result = app.share(key, period)
        alive = len(living)

        # The figures, computed independently.
        fee = half_up(Fraction(aid) * Fraction(rate))
        need = max(aid + fee - surplus_in, 0)
        left_over = max(surplus_in - aid - fee, 0)
        assert (result.aid_minor, result.fee_minor, result.need_minor) == (aid, fee, need)
        assert result.surplus_in_minor == surplus_in  # the previous period's surplus out
        assert result.members == alive
        assert result.claims == len(claims)
        if rounding == "round-up":
            expected_out = ceil_div(need, alive) * alive - need + left_over
        else:
            expected_out = left_over
        assert result.surplus_out_minor == expected_out
        assert result.charged_minor == aid + fee - surplus_in + result.surplus_out_minor
        assert result.reconciles()

        charges = _charges(app, result.run_id)
        assert sum(charges.values()) == result.charged_minor
        assert all(amount > 0 for amount in charges.values())  # no zero rows are written
        assert set(charges) <= living  # the dead do not share
        if rounding == "round-up":
            assert set(charges.values()) <= {ceil_div(need, alive)}
            assert len(charges) == (alive if need else 0)
        else:
            assert len(charges) == (alive if need >= alive else need)  # members owing 0 get no row
            shares = list(charges.values()) + [0] * (alive - len(charges))
            assert max(shares) - min(shares) <= 1

        # A second run of the period is refused and changes nothing.
        with pytest.raises(AlreadySharedError, match=f"^period {period} of pool '{key}' was already shared"):
            app.share(key, period)
        assert _charges(app, result.run_id) == charges
        with app.transaction() as s:
            assert set(s.scalars(select(Claim.status).where(Claim.pool_id == pool_id))) <= {"shared"}

        surplus_in = result.surplus_out_minor  # carried to the next period


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rate=fee_rates, grade=st.integers(1, 10))
def test_surplus_is_carried_to_the_next_period(sqlite_app, plugins, truckers_pool, make_driver, rate, grade):
    # 7 members and a round-up pool: a need that 7 does not divide leaves a surplus.
    need = disability(grade) + half_up(Fraction(disability(grade)) * Fraction(rate))
    assume(need % 7)
    key = f"carry-{next(_pool_numbers)}"
    app = sqlite_app
    app.create_pool(truckers_pool(key=key, sharing={"rounding": "round-up", "management_fee_rate": str(rate)}))
    with app.transaction() as s:
        ids = [member_service.join_member(s, plugins, key, **make_driver(n)).id for n in range(7)]
    claim = app.file_claim(
        key,
        ids[2],
        event_kind="accidental_disability",
        event_date="2026-10-20",
        details={"disability_grade": str(grade)},
        filed_on="2026-10-25",
    )
    app.approve_claim(claim.id)
    first = app.share(key, "2026-11")
    assert first.surplus_out_minor == ceil_div(need, 7) * 7 - need > 0
    claim = app.file_claim(
        key,
        ids[3],
        event_kind="accidental_disability",
        event_date="2026-11-20",
        details={"disability_grade": "10"},
        filed_on="2026-11-25",
    )
    app.approve_claim(claim.id)
    second = app.share(key, "2026-12")
    assert second.surplus_in_minor == first.surplus_out_minor
    assert second.need_minor == second.aid_minor + second.fee_minor - first.surplus_out_minor
    third = app.share(key, "2027-01")  # nothing to share: the surplus is carried on untouched
    assert third.surplus_in_minor == third.surplus_out_minor == second.surplus_out_minor
    assert third.charged_minor == 0
