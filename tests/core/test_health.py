"""A pool's health, the pure calculations: incidence tables, credibility blending (exact), the
quote (Xianghubao's worked check, and ranges that are ordered and grow with the risk), the
forecast (seeded, reproducible, warning on a spiral and not on a healthy pool), and the backtest
on Xianghubao's record."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mutualaid import AgeBandBenefit, EventIncidence, FixedBenefit, IncidenceBand, IncidenceTable
from mutualaid.health.backtest import backtest, xianghubao_inputs
from mutualaid.health.credibility import Experience, blend, blend_rate
from mutualaid.health.forecast import Behaviour, ForecastInputs, run_forecast, spiral_runs
from mutualaid.health.incidence import expected_benefit, table_problems
from mutualaid.health.quote import FeeTerms, quote, yearly_cost_table
from mutualaid_disease_cohorts.incidence import CI1_2006_2010, incidence_table
from mutualaid_disease_cohorts.settings import CriticalIllnessSettings

XIANGHUBAO = AgeBandBenefit(
    bands=[{"min_age": 0, "max_age": 39, "amount": 300000}, {"min_age": 40, "max_age": 59, "amount": 100000}]
)
FEE_8 = FeeTerms(policy="rate", rate=Decimal("0.08"), periods_per_year=24)


def _ci1(benefit):
    return incidence_table(CriticalIllnessSettings(benefit=benefit.model_dump()))


def _table(rate: str = "0.001", amount: int = 100000, bands=None) -> IncidenceTable:
    bands = bands or (IncidenceBand(0, None, Decimal(rate)),)
    return IncidenceTable((EventIncidence("death", bands, FixedBenefit(amount=amount)),))


# -- incidence ------------------------------------------------------------------------------------


def test_an_incidence_band_is_an_annual_probability():
    with pytest.raises(ValueError, match="from 0 to 1, not 1.5"):
        IncidenceBand(0, 10, Decimal("1.5"))
    with pytest.raises(ValueError, match="from an age to a later one"):
        IncidenceBand(40, 30, Decimal("0.1"))


def test_bands_follow_each_other_without_gaps():
    with pytest.raises(ValueError, match="band 2 starts at age 41 but band 1 ends at 39"):
        EventIncidence(
            "death", (IncidenceBand(0, 39, Decimal(0)), IncidenceBand(41, None, Decimal(0))), FixedBenefit(amount=1)
        )


def test_a_table_names_each_kind_once_and_only_the_cohorts_kinds():
    with pytest.raises(ValueError, match="each event kind once"):
        IncidenceTable((_table().events[0], _table().events[0]))
    assert table_problems(_table(), ["accidental_death"]) == [
        "gives the incidence of 'death', which is not one of the cohort's event kinds (accidental_death)"
    ]
    assert table_problems("rates", ["death"]) == ["supplied 'rates', which is not a mutualaid IncidenceTable"]


def test_the_ci1_default_is_the_published_table():
    assert CI1_2006_2010[30] == Decimal("0.000791")  # interpolated between 27 and 35
    assert CI1_2006_2010[51] == Decimal("0.007960")  # published
    table = _ci1(XIANGHUBAO)
    assert table.event("critical_illness").rate_at(51) == Decimal("0.007960")
    assert table.event("critical_illness").rate_at(120) == Decimal("0.099922")  # 96 and older
    assert "CI1" in table.source


def test_the_expected_benefit_is_the_benefit_model_at_that_age():
    event = _ci1(XIANGHUBAO).events[0]
    assert expected_benefit(event, 39, "CNY") == Decimal("300000.00")
    assert expected_benefit(event, 40, "CNY") == Decimal("100000.00")
    assert expected_benefit(event, 60, "CNY") == 0


# -- credibility ----------------------------------------------------------------------------------


def test_credibility_blends_exactly():
    # prior 0.001 and cv 0.5: k = 1 / (0.25 x 0.001) = 4000 member-years
    blended, z, k = blend_rate(Decimal("0.001"), Decimal(1000), 3)
    assert k == Decimal(4000)
    assert z == Decimal("0.2")  # 1000 / 5000
    assert blended == Decimal("0.0014")  # 0.2 x 0.003 + 0.8 x 0.001 = (3 + 4) / 5000


@pytest.mark.parametrize(
    ("exposure", "claims", "expected_z", "expected"),
    [
        (0, 0, Decimal(0), Decimal("0.001")),  # no experience: the prior
        (4000, 0, Decimal("0.5"), Decimal("0.0005")),  # as much experience as the prior weighs
        (36000, 72, Decimal("0.9"), Decimal("0.0019")),  # a large pool leans on its own
    ],
)
def test_credibility_moves_from_the_prior_to_the_experience(exposure, claims, expected_z, expected):
    blended, z, _ = blend_rate(Decimal("0.001"), Decimal(exposure), claims)
    assert (z, blended) == (expected_z, expected)


def test_a_prior_of_zero_takes_the_experience():
    assert blend_rate(Decimal(0), Decimal(200), 1) == (Decimal("0.005"), Decimal(1), None)
    assert blend_rate(Decimal(0), Decimal(0), 0) == (Decimal(0), Decimal(0), None)


def test_blend_replaces_each_band_by_its_own_experience():
    table = _table(bands=(IncidenceBand(0, 39, Decimal("0.001")), IncidenceBand(40, None, Decimal("0.004"))))
    blended, details = blend(table, {("death", "40+"): Experience(Decimal(250), 3)})
    # band 40+: k = 1 / (0.25 x 0.004) = 1000, Z = 250 / 1250 = 0.2: 0.2 x 0.012 + 0.8 x 0.004 = 0.0056
    assert [b.rate for b in blended.events[0].bands] == [Decimal("0.001"), Decimal("0.0056")]
    assert [(d.ages, d.z, d.claims) for d in details] == [("0-39", Decimal(0), 0), ("40+", Decimal("0.2"), 3)]


# -- the quote ------------------------------------------------------------------------------------


def test_xianghubao_worked_check():
    """DOMAIN: funding 300,000 a case costs about 240 CNY a year at 30 and about 2,400 at 51."""
    per_case = _ci1(FixedBenefit(amount=300000))
    thirty = quote(per_case, 30, "CNY", FEE_8, 100_000_000)
    fifty_one = quote(per_case, 51, "CNY", FEE_8, 100_000_000)
    # CI1: 0.000791 x 300,000 x 1.08 and 0.007960 x 300,000 x 1.08, exactly
    assert thirty.expected == Decimal("256.28")
    assert fifty_one.expected == Decimal("2579.04")
    assert 240 * Decimal("0.85") <= thirty.expected <= 240 * Decimal("1.15")
    assert 2400 * Decimal("0.85") <= fifty_one.expected <= 2400 * Decimal("1.15")
    # Xianghubao's own bands pay 100,000 from 40: a third of that at 51
    banded = quote(_ci1(XIANGHUBAO), 51, "CNY", FEE_8, 100_000_000)
    assert banded.expected == Decimal("859.68")
    assert quote(_ci1(XIANGHUBAO), 30, "CNY", FEE_8, 100_000_000).expected == thirty.expected
    # in a pool of 100 million the range is narrow around it
    assert thirty.low < thirty.expected < thirty.high
    assert thirty.high - thirty.low < Decimal("5")


def test_a_small_pool_has_a_wide_range():
    small = quote(_ci1(XIANGHUBAO), 30, "CNY", FEE_8, 100)
    assert small.expected == Decimal("256.28")
    assert small.low == Decimal("0.00")  # most years, no case at all
    assert small.high == Decimal("0.00") or small.high > small.expected


def test_the_fee_policy_changes_the_quote():
    table = _table("0.001", 100000)
    assert quote(table, 30, "CNY", FeeTerms(policy="none", periods_per_year=12), 10**6).expected == Decimal("100.00")
    assert quote(table, 30, "CNY", FeeTerms(policy="rate", rate=Decimal("0.1")), 10**6).expected == Decimal("110.00")
    flat = FeeTerms(policy="flat", per_member=Decimal("0.50"), periods_per_year=24)
    assert quote(table, 30, "CNY", flat, 10**6).expected == Decimal("112.00")  # 100 + 0.50 x 24


def test_caps_bound_the_quote():
    table = _table("0.01", 300000)  # 3,000 a year uncapped
    capped = quote(table, 30, "CNY", FeeTerms(policy="none", per_year=Decimal(188)), 10**6)
    assert capped.high <= Decimal(188) and capped.expected <= Decimal(188)
    per_case = quote(table, 30, "CNY", FeeTerms(policy="none", per_case=Decimal("0.10")), 10**6)
    # 10,000 cases a year among a million members, 0.10 each at most: about 1,000
    assert Decimal(990) <= per_case.expected <= Decimal(1010)


def test_the_pool_average_shows_who_subsidises_whom():
    table = _ci1(FixedBenefit(amount=300000))
    young = quote(table, 25, "CNY", FEE_8, 3, ages={55: 2})
    assert young.pool_average is not None and young.pool_average > young.expected * 10


@settings(max_examples=40, deadline=None)
@given(
    first=st.integers(min_value=0, max_value=58),
    gap=st.integers(min_value=1, max_value=30),
    size=st.integers(min_value=1, max_value=10**7),
    fee=st.sampled_from(["0", "0.08", "0.5"]),
)
def test_the_range_is_ordered_and_grows_with_age_where_incidence_does(first, gap, size, fee):
    table = _ci1(FixedBenefit(amount=300000))  # one benefit at every age: the cost follows the incidence
    terms = FeeTerms(policy="rate", rate=Decimal(fee), periods_per_year=24)
    rows = yearly_cost_table(table, range(first, min(first + gap, 96) + 1), "CNY", terms, size, simulations=400)
    for row in rows:
        assert row.low <= row.high
        assert row.low <= row.expected or row.expected <= row.high
    for younger, older in zip(rows, rows[1:], strict=False):
        rising = table.events[0].rate_at(older.age) >= table.events[0].rate_at(younger.age)
        if rising:
            assert older.expected >= younger.expected
            assert older.high >= younger.high and older.low >= younger.low


def test_quotes_are_reproducible_by_seed():
    table = _ci1(XIANGHUBAO)
    assert quote(table, 30, "CNY", FEE_8, 500, seed=7) == quote(table, 30, "CNY", FEE_8, 500, seed=7)


# -- the forecast ---------------------------------------------------------------------------------


def _steady(members: float = 100_000.0) -> ForecastInputs:
    """A healthy pool: everyone past the waiting period, and more joining each period than leave."""
    groups = 20
    start = np.zeros((groups, 4))
    start[6:10, 3] = members / 4
    rates = np.full((groups, 1), 0.001)
    benefits = np.full((groups, 1), 100_000.0)
    share = members * 0.001 * 100_000 / 12 / members  # the steady share
    return ForecastInputs(
        periods_per_year=12,
        members=start,
        rates=rates,
        benefits=benefits,
        covered_waiting=[False],
        joins=members * 0.04,
        join_ages=start.sum(axis=1),
        start_share=share,
        reserve=Decimal(10**7),
    )


def test_the_forecast_is_reproducible_by_seed():
    a = run_forecast(_steady(), periods=12, paths=500, seed=11)
    b = run_forecast(_steady(), periods=12, paths=500, seed=11)
    c = run_forecast(_steady(), periods=12, paths=500, seed=12)
    assert np.array_equal(a.share, b.share) and np.array_equal(a.members, b.members)
    assert not np.array_equal(a.share, c.share)
    assert a.share.shape == (3, 12)
    assert (a.share[0] <= a.share[1]).all() and (a.share[1] <= a.share[2]).all()


def test_no_spiral_warning_on_a_healthy_pool():
    forecast = run_forecast(_steady(), periods=36, paths=2000, seed=3)
    assert forecast.warnings == ()
    assert forecast.spiral_probability < 0.5


def test_the_spiral_warning_fires_on_a_spiralling_pool():
    inputs = xianghubao_inputs(_ci1(XIANGHUBAO))
    forecast = run_forecast(inputs, periods=60, paths=500, seed=3)
    spiral = [w for w in forecast.warnings if w.startswith("spiral ahead")]
    assert spiral, forecast.warnings
    assert forecast.spiral_probability > 0.9


def test_the_run_off_warning_fires_when_the_reserve_is_short():
    short = replace(_steady(), reserve=Decimal(0))
    forecast = run_forecast(short, periods=6, paths=200, seed=1)
    assert any(w.startswith("reserve below the run-off cost") for w in forecast.warnings)


def test_a_spiral_under_way_in_the_pools_own_history_is_named():
    past = (("2027-01", 1.0, 1000), ("2027-02", 1.2, 990), ("2027-03", 1.5, 970), ("2027-04", 1.9, 940))
    inputs = replace(_steady(), history=past)
    forecast = run_forecast(inputs, periods=3, paths=100, seed=1)
    assert forecast.warnings[0].startswith("spiral under way: in the last 3 periods shared (to 2027-04)")


def test_spiral_runs_needs_every_period_of_the_run():
    shares = np.array([[1, 2, 3, 4], [1, 2, 1, 2]])
    members = np.array([[9, 8, 7, 6], [9, 8, 7, 6]])
    assert spiral_runs(shares, members, 3).tolist() == [True, False]


def test_leaving_rises_with_the_share_and_the_healthy_leave_first():
    b = Behaviour()
    healthy, frail = b.multipliers
    assert healthy < 1 < frail
    assert b.healthy_share * healthy + (1 - b.healthy_share) * frail == pytest.approx(1.0)


# -- the backtest ---------------------------------------------------------------------------------


def test_the_backtest_reproduces_2021():
    """From April 2019 the forecast gives 2021's direction and order of magnitude: the share per
    member rising to about 7 CNY a period, the members falling during 2021 (record: ~101M to ~75M)."""
    result = backtest(_ci1(XIANGHUBAO), paths=300, seed=2019)
    assert 0.6 <= result.start_share <= 0.8
    assert 3.5 <= result.share_end_2021 <= 14  # about 7: the same order of magnitude
    assert result.share_end_2021 > result.share_start_2021 > result.start_share * 3
    assert 50e6 <= result.members_start_2021 <= 200e6
    assert result.members_end_2021 < result.members_start_2021 * 0.9  # members fall during 2021
    assert 37.5e6 <= result.members_end_2021 <= 150e6  # about 75 million
    assert result.peak_members > 75e6
