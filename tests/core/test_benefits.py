"""Benefit models (mutualaid.benefits): each at its edges, exact to the fen, their validation as an
operator meets it in a pool file, and properties that hold for any amounts."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from mutualaid import (
    AgeBandBenefit,
    BenefitDecision,
    BenefitInputs,
    BenefitModel,
    BenefitResult,
    ClaimFacts,
    FixedBenefit,
    FixedPlusReimbursementBenefit,
    MemberFacts,
    NoFields,
    PriorBenefit,
    ReimbursementBenefit,
    TenureRampBenefit,
    format_amount,
    parse_benefit,
    round_down,
)

D = Decimal
EVENT = date(2026, 5, 1)


def inputs(**kwargs) -> BenefitInputs:
    values = {"currency": "CNY", "event_date": EVENT}
    values.update(kwargs)
    return BenefitInputs(**values)


def errors(data) -> str:
    with pytest.raises(pydantic.ValidationError) as info:
        parse_benefit(data)
    return str(info.value)


XIANGHUBAO = {
    "kind": "age-band",
    "bands": [{"min_age": 0, "max_age": 39, "amount": 300000}, {"min_age": 40, "max_age": 59, "amount": 100000}],
}
KANGAI = {"kind": "reimbursement", "deductible": 10000, "cap": 100000}
MEITUAN = {"kind": "fixed-plus-reimbursement", "maximum": 350000, "fixed_rate": "0.20"}


# -- rounding and formatting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("33333.333", "CNY", "33333.33"),
        ("66666.666", "CNY", "66666.66"),  # down, never half up
        ("0.009", "CNY", "0.00"),
        ("100", "CNY", "100.00"),
        ("99.99", "JPY", "99"),
    ],
)
def test_round_down_to_the_minor_unit(amount, currency, expected):
    result = round_down(D(amount), currency)
    assert result == D(expected) and str(result) == expected


def test_round_down_refuses_floats():
    with pytest.raises(TypeError):
        round_down(0.1, "CNY")  # type: ignore[arg-type]


def test_format_amount():
    assert format_amount(D("300000"), "CNY") == "300,000.00 CNY"
    assert format_amount(D("300000"), "CNY", "zh-CN") == "300,000.00 元"
    assert format_amount(D("1234.5"), "USD", "zh-CN") == "1,234.50 USD"
    assert format_amount(D("1500"), "JPY") == "1,500 JPY"
    assert format_amount(D("10000"), None) == "10,000.00"


# -- fixed -----------------------------------------------------------------------------------------


def test_fixed_benefit():
    model = parse_benefit({"kind": "fixed", "amount": "150000"})
    assert isinstance(model, FixedBenefit)
    result = model.evaluate(inputs())
    assert (result.amount, result.cap) == (D("150000.00"), D("150000.00"))
    assert result.reasons == ("the fixed benefit of 150,000.00 CNY",)
    assert model.describe("en", "CNY") == "a lump sum of 150,000.00 CNY"
    assert model.describe("zh-CN", "CNY") == "一次性给付 150,000.00 元"


def test_fixed_amount_with_more_decimals_than_the_currency_is_rounded_down():
    result = FixedBenefit(amount=D("1000.99")).evaluate(inputs(currency="JPY"))
    assert result.amount == D("1000")


# -- age bands -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "amount"),
    [(0, "300000.00"), (39, "300000.00"), (40, "100000.00"), (59, "100000.00"), (60, "0"), (75, "0")],
)
def test_age_band_edges(age, amount):
    result = parse_benefit(XIANGHUBAO).evaluate(inputs(age=age))
    assert result.amount == D(amount)
    assert result.cap == D(amount)


def test_age_band_reasons():
    model = parse_benefit(XIANGHUBAO)
    assert model.evaluate(inputs(age=40)).reasons == (
        "age 40 at the event on 2026-05-01: the benefit for ages 40 to 59 is 100,000.00 CNY",
    )
    assert model.evaluate(inputs(age=60)).reasons == (
        "age 60 at the event on 2026-05-01 is in none of the pool's age bands (ages 0 to 39, ages 40 to 59), "
        "so no benefit is paid",
    )


def test_age_band_needs_the_age():
    with pytest.raises(ValueError, match="needs the member's age"):
        parse_benefit(XIANGHUBAO).evaluate(inputs())


def test_age_band_description():
    model = parse_benefit(XIANGHUBAO)
    assert model.describe("en", "CNY") == (
        "a lump sum by age at the event: 300,000.00 CNY for ages 0 to 39, 100,000.00 CNY for ages 40 to 59 "
        "(no benefit from age 60)"
    )
    assert model.describe("zh-CN", "CNY") == (
        "按事件发生时的年龄一次性给付：0 至 39 周岁 300,000.00 元，40 至 59 周岁 100,000.00 元（60 周岁及以上不予给付）"
    )


def test_an_open_last_band_covers_every_later_age():
    model = AgeBandBenefit(bands=({"max_age": 17, "amount": 50000}, {"min_age": 18, "amount": 80000}))  # type: ignore[arg-type]
    assert model.evaluate(inputs(age=99)).amount == D("80000.00")
    assert model.describe("en", "CNY").endswith("80,000.00 CNY for ages 18 and over")


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (
            [{"max_age": 39, "amount": 1}, {"min_age": 45, "amount": 1}],
            "band 2 starts at age 45 but band 1 ends at age 39; bands must follow each other without a gap or an "
            "overlap (band 2 should start at 40)",
        ),
        ([{"max_age": 39, "amount": 1}, {"min_age": 30, "amount": 1}], "band 2 starts at age 30 but band 1 ends"),
        ([{"amount": 1}, {"min_age": 30, "amount": 1}], "band 1 has no max_age, so no band can follow it"),
        ([{"min_age": 50, "max_age": 40, "amount": 1}], "max_age 40 is below min_age 50"),
        ([], "at least 1 item"),
        ([{"max_age": 39, "amount": 0}], "must be above 0 (0 given)"),
    ],
)
def test_bad_age_bands(bands, message):
    assert message in errors({"kind": "age-band", "bands": bands})


# -- reimbursement ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("costs", "amount"),
    [
        ("0", "0"),
        ("9999.99", "0"),  # below the deductible
        ("10000", "0"),  # at it
        ("10000.01", "0.01"),  # a fen above it
        ("45000", "35000.00"),
        ("109999.99", "99999.99"),  # just below the cap
        ("110000", "100000.00"),  # at the cap
        ("110000.01", "100000.00"),  # above it
        ("1000000", "100000.00"),
    ],
)
def test_reimbursement_edges(costs, amount):
    result = parse_benefit(KANGAI).evaluate(inputs(costs=D(costs)))
    assert result.amount == D(amount)
    assert result.cap == D("100000.00")


def test_reimbursement_reasons():
    model = parse_benefit(KANGAI)
    assert model.evaluate(inputs(costs=D("45000"))).reasons == (
        "self-paid costs of 45,000.00 CNY less the deductible of 10,000.00 CNY: 35,000.00 CNY",
        "reimbursed: 35,000.00 CNY (within the cap of 100,000.00 CNY per claim)",
    )
    assert model.evaluate(inputs(costs=D("8000"))).reasons == (
        "self-paid costs of 8,000.00 CNY do not exceed the deductible of 10,000.00 CNY",
        "so nothing is reimbursed",
    )
    assert model.evaluate(inputs(costs=D("200000"))).reasons[-1] == (
        "reimbursed up to the cap of 100,000.00 CNY per claim: 100,000.00 CNY"
    )
    assert model.evaluate(inputs()).reasons == ("no self-paid costs were given, so nothing can be reimbursed",)


def test_copay_is_rounded_down_to_the_fen():
    model = ReimbursementBenefit(deductible=D(0), copay_rate=D("0.2"), cap=D(100000))
    # 80% of 10,000.03 is 8,000.024: the pool pays 8,000.02, never 8,000.03.
    result = model.evaluate(inputs(costs=D("10000.03")))
    assert result.amount == D("8000.02")
    assert result.reasons[0] == "self-paid costs of 10,000.03 CNY; less the member's co-pay of 20%: 8,000.02 CNY"


def test_copay_as_a_percentage_string():
    model = parse_benefit({"kind": "reimbursement", "deductible": 5000, "copay_rate": "10%", "cap": 50000})
    assert model.copay_rate == D("0.1")
    assert model.evaluate(inputs(costs=D("65000"))).amount == D("50000.00")  # 54,000 reimbursable, capped
    assert model.evaluate(inputs(costs=D("15000"))).amount == D("9000.00")


def test_reimbursement_member_maximum_counts_earlier_benefits():
    model = parse_benefit({**KANGAI, "member_maximum": 150000})
    assert model.evaluate(inputs(costs=D("200000"), prior_total=D("100000"))).amount == D("50000.00")
    left = model.evaluate(inputs(costs=D("30000"), prior_total=D("100000")))
    assert (left.amount, left.cap) == (D("20000.00"), D("50000.00"))
    assert left.reasons[0] == (
        "the member was already paid 100,000.00 CNY of the maximum of 150,000.00 CNY per member, so at most "
        "50,000.00 CNY is left"
    )
    spent = model.evaluate(inputs(costs=D("30000"), prior_total=D("150000")))
    assert (spent.amount, spent.cap) == (D(0), D(0))
    # Without member_maximum, earlier benefits do not matter.
    assert parse_benefit(KANGAI).evaluate(inputs(costs=D("200000"), prior_total=D("900000"))).amount == D("100000.00")


def test_reimbursement_cap_above_member_maximum_is_refused():
    assert "cap (100,000) is above member_maximum (50,000)" in errors({**KANGAI, "member_maximum": 50000})


def test_reimbursement_descriptions():
    model = parse_benefit({**KANGAI, "copay_rate": "0.2", "member_maximum": 300000})
    assert model.describe("en", "CNY") == (
        "self-paid costs above a deductible of 10,000.00 CNY are reimbursed, less a co-pay of 20% that the member "
        "bears, up to 100,000.00 CNY per claim and 300,000.00 CNY per member over all claims"
    )
    assert model.describe("zh-CN", "CNY") == (
        "自付医疗费用超过免赔额 10,000.00 元的部分予以报销（成员自担 20%），每次申请最多 100,000.00 元，"
        "每位成员累计最多 300,000.00 元"
    )


# -- fixed part plus reimbursement (Meituan) -------------------------------------------------------


def test_meituan_first_claim_pays_the_fixed_part():
    model = parse_benefit(MEITUAN)
    assert model.fixed_part("CNY") == D("70000.00")
    only_fixed = model.evaluate(inputs())
    assert (only_fixed.amount, only_fixed.cap) == (D("70000.00"), D("350000.00"))
    with_bills = model.evaluate(inputs(costs=D("100000")))
    assert with_bills.amount == D("170000.00")
    assert with_bills.reasons[0] == (
        "the fixed part, 20% of the maximum of 350,000.00 CNY, paid with the first claim: 70,000.00 CNY"
    )


def test_meituan_later_claims_are_capped_at_the_maximum_minus_what_was_paid():
    model = parse_benefit(MEITUAN)
    later = model.evaluate(inputs(costs=D("250000"), prior_total=D("170000")))
    assert (later.amount, later.cap) == (D("180000.00"), D("180000.00"))
    assert later.reasons[0] == (
        "the member was already paid 170,000.00 CNY of the maximum of 350,000.00 CNY (the fixed part included), "
        "so at most 180,000.00 CNY is left"
    )
    assert later.reasons[-1] == "paid up to what is left of the maximum: 180,000.00 CNY"
    # The fixed part is not paid twice: a second claim is reimbursement only.
    second = model.evaluate(inputs(costs=D("1000"), prior_total=D("70000")))
    assert second.amount == D("1000.00")
    done = model.evaluate(inputs(costs=D("1000"), prior_total=D("350000")))
    assert (done.amount, done.cap) == (D(0), D(0))
    assert done.reasons == ("the member was already paid 350,000.00 CNY, the maximum of 350,000.00 CNY",)


def test_meituan_total_over_claims_is_exactly_the_maximum():
    model = parse_benefit(MEITUAN)
    paid = D(0)
    for bills in ("100000", "150000", "90000", "50000"):
        paid += model.evaluate(inputs(costs=D(bills), prior_total=paid)).amount
    assert paid == D("350000.00")


def test_fixed_part_is_rounded_down():
    model = FixedPlusReimbursementBenefit(maximum=D("100000.01"), fixed_rate=D("0.333"))
    assert model.fixed_part("CNY") == D("33300.00")  # 33,300.00333


def test_fixed_plus_reimbursement_with_a_deductible_and_copay():
    model = parse_benefit({**MEITUAN, "deductible": 1000, "copay_rate": "0.1"})
    # (11,000 - 1,000) * 90% = 9,000 on top of the 70,000.
    assert model.evaluate(inputs(costs=D("11000"))).amount == D("79000.00")
    assert model.evaluate(inputs(costs=D("11000"), prior_total=D("70000"))).amount == D("9000.00")
    assert model.evaluate(inputs(costs=D("900"), prior_total=D("70000"))).amount == D(0)


def test_meituan_description():
    assert parse_benefit(MEITUAN).describe("en", "CNY") == (
        "up to 350,000.00 CNY per member in all: 20% of it (70,000.00 CNY) is paid as a lump sum with the first "
        "claim, and self-paid costs are reimbursed, until the 350,000.00 CNY is used up"
    )


# -- tenure ramp -----------------------------------------------------------------------------------

JOINED = date(2025, 1, 10)
WAITING_UNTIL = date(2025, 7, 9)  # 180 days; cover and year 1 start on 2025-07-10


def ramp(**overrides) -> TenureRampBenefit:
    data = {"kind": "tenure-ramp", "benefit": {"kind": "fixed", "amount": 100000}}
    data.update(overrides)
    model = parse_benefit(data)
    assert isinstance(model, TenureRampBenefit)
    return model


@pytest.mark.parametrize(
    ("event", "amount", "year"),
    [
        (date(2025, 7, 9), "0", None),  # the last day of the observation period
        (date(2025, 7, 10), "33333.33", 1),  # the day after: year 1
        (date(2026, 7, 9), "33333.33", 1),  # the last day of year 1
        (date(2026, 7, 10), "66666.66", 2),  # 2/3 rounded down, not 66,666.67
        (date(2027, 7, 9), "66666.66", 2),
        (date(2027, 7, 10), "100000.00", 3),
        (date(2040, 1, 1), "100000.00", 15),
    ],
)
def test_ramp_by_year_of_membership(event, amount, year):
    result = ramp().evaluate(inputs(event_date=event, joined_on=JOINED, waiting_until=WAITING_UNTIL))
    assert result.amount == D(amount)
    assert result.cap == D(amount)
    if year is None:
        assert result.reasons == (
            "the event on 2025-07-09 is before membership years count from 2025-07-10 (the end of the waiting period)",
        )
    elif year < 3:
        assert result.reasons[-1].startswith(f"year {year} of membership (counted from 2025-07-10): ")
        assert result.reasons[-1].endswith(f"{format_amount(D(amount), 'CNY')} (rounded down to the minor unit)")
    else:
        assert result.reasons[-1] == f"year {year} of membership (counted from 2025-07-10): the full benefit"


def test_ramp_counted_from_joining():
    model = ramp(counted_from="joining")
    at = lambda day: model.evaluate(inputs(event_date=day, joined_on=JOINED, waiting_until=WAITING_UNTIL)).amount  # noqa: E731
    assert at(date(2026, 1, 9)) == D("33333.33")
    assert at(date(2026, 1, 10)) == D("66666.66")
    assert at(date(2027, 1, 10)) == D("100000.00")


def test_ramp_of_a_reimbursement_ramps_amount_and_cap():
    model = parse_benefit({"kind": "tenure-ramp", "benefit": KANGAI})
    result = model.evaluate(
        inputs(event_date=date(2025, 8, 1), joined_on=JOINED, waiting_until=WAITING_UNTIL, costs=D("45000"))
    )
    assert (result.amount, result.cap) == (D("11666.66"), D("33333.33"))  # 35,000 / 3 and 100,000 / 3
    assert model.uses_costs


def test_ramp_on_a_leap_day_start():
    model = ramp()
    # Cover starting on 29 February: year 2 starts on 1 March of the next year.
    at = lambda day: model.evaluate(inputs(event_date=day, waiting_until=date(2024, 2, 28))).amount  # noqa: E731
    assert at(date(2025, 2, 28)) == D("33333.33")
    assert at(date(2025, 3, 1)) == D("66666.66")


def test_custom_steps():
    model = ramp(steps=["0.5", "75%", 1])
    assert model.steps == ("1/2", "3/4", "1")
    assert model.fractions == (Fraction(1, 2), Fraction(3, 4), Fraction(1))
    assert model.fraction_in(1) == Fraction(1, 2)
    assert model.fraction_in(9) == 1
    only = ramp(steps=["1"])
    assert only.fraction_in(1) == 1


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["2/3", "1/3"], "must never decrease: year 2 (1/3) is below year 1 (2/3)"),
        (["0", "1"], "a step must be above 0 and at most 1"),
        (["3/2"], "a step must be above 0 and at most 1"),
        ([0.5, 1], 'a step must be a fraction such as "1/3", "0.5" or 1, not 0.5'),
        (["a third"], "a step must be a fraction"),
        ([], "must list at least one fraction"),
    ],
)
def test_bad_steps(steps, message):
    assert message in errors({"kind": "tenure-ramp", "benefit": {"kind": "fixed", "amount": 1}, "steps": steps})


def test_a_ramp_cannot_ramp_a_ramp():
    inner = {"kind": "tenure-ramp", "benefit": {"kind": "fixed", "amount": 1}}
    assert "a ramp cannot ramp a ramp" in errors({"kind": "tenure-ramp", "benefit": inner})


def test_ramp_description():
    model = parse_benefit({"kind": "tenure-ramp", "benefit": KANGAI})
    assert model.describe("en", "CNY") == (
        "self-paid costs above a deductible of 10,000.00 CNY are reimbursed, up to 100,000.00 CNY per claim; "
        "rights grow with membership: 1/3 of it in year 1, 2/3 of it in year 2 and the full benefit from year 3, "
        "years counted from the end of the observation (waiting) period (amounts rounded down to the minor unit)"
    )
    assert model.describe("zh-CN", "CNY").endswith(
        "互助权益随会龄增长：观察期（等待期）结束后第 1 年给付 1/3，第 2 年给付 2/3，第 3 年起全额给付（金额向下取整到分）"
    )


# -- validation as in a pool file -------------------------------------------------------------------


class PoolSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    benefit: BenefitModel


def test_a_benefit_from_a_toml_table():
    text = """
[benefit]
kind = "fixed-plus-reimbursement"
maximum = 350000
fixed_rate = 0.20
"""
    model = PoolSettings.model_validate(tomllib.loads(text, parse_float=Decimal)).benefit
    assert isinstance(model, FixedPlusReimbursementBenefit)
    assert model.fixed_rate == D("0.20") and model.maximum == D("350000")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": 1}, "must be a table whose kind is one of"),
        ({"kind": "lump"}, '"fixed", "age-band", "reimbursement", "fixed-plus-reimbursement", "tenure-ramp"'),
        ({"kind": "fixed", "amount": 300000.0}, "floats cannot hold amounts exactly"),
        ({"kind": "fixed", "amount": True}, "must be an amount such as 300000, not True"),
        ({"kind": "fixed", "amount": "lots"}, "must be an amount such as 300000 or \"300000.00\", not 'lots'"),
        ({"kind": "fixed", "amount": "10.001"}, "must have at most two decimal places (10.001 given)"),
        ({"kind": "fixed", "amount": -5}, "must be above 0 (-5 given)"),
        ({"kind": "fixed", "amount": 10**10}, "must be at most 1,000,000,000"),
        ({"kind": "fixed"}, "Field required"),
        ({"kind": "fixed", "amount": 1, "cap": 2}, "Extra inputs are not permitted"),
        ({**KANGAI, "deductible": -1}, "must not be negative (-1 given)"),
        ({**KANGAI, "copay_rate": 20}, 'must be a fraction from 0 to 1 (20 given) (for 20% write "20%" or 0.2)'),
        ({**KANGAI, "copay_rate": 0.2}, 'must be a fraction such as "0.2" or a percentage such as "20%", not 0.2'),
        ({**KANGAI, "copay_rate": "-5%"}, "must be a fraction from 0 to 1 (-0.05 given)"),
        ({**KANGAI, "cap": 0}, "must be above 0 (0 given)"),
    ],
)
def test_bad_benefit_tables(data, message):
    assert message in errors(data)


def test_amounts_written_with_thousands_separators():
    assert parse_benefit({"kind": "fixed", "amount": "300,000"}).amount == D("300000")


# -- inputs and results ---------------------------------------------------------------------------


def _claim(prior: tuple[str, ...] = ()) -> ClaimFacts:
    member = MemberFacts(
        member_id=1,
        id_number="x",
        name="x",
        birth_date=date(1986, 5, 2),
        joined_on=JOINED,
        waiting_until=WAITING_UNTIL,
        status="active",
        attributes=NoFields(),
    )
    return ClaimFacts(
        claim_id=9,
        event_kind="k",
        event_date=date(2026, 5, 1),
        filed_on=date(2026, 5, 3),
        details=NoFields(),
        description="",
        member=member,
        prior_benefits=tuple(PriorBenefit(i, "k", JOINED, D(a)) for i, a in enumerate(prior)),
        currency="CNY",
    )


def test_inputs_from_a_claim():
    facts = BenefitInputs.from_claim(_claim(("1000", "2500.50")), costs=D("12"))
    assert facts.age == 39  # the day before the 40th birthday
    assert facts.prior_total == D("3500.50")
    assert (facts.joined_on, facts.waiting_until, facts.costs) == (JOINED, WAITING_UNTIL, D("12"))
    assert BenefitInputs.from_claim(_claim(("1000",)), prior_total=D(0)).prior_total == D(0)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"costs": D(-1)}, "costs cannot be negative"),
        ({"prior_total": D(-1)}, "cannot be negative"),
        ({"currency": "XYZ"}, "unknown currency"),
    ],
)
def test_bad_inputs(kwargs, error):
    with pytest.raises(ValueError, match=error):
        inputs(**kwargs)


def test_float_costs_are_refused():
    with pytest.raises(TypeError):
        inputs(costs=12.5)


def test_result_to_decision():
    paid = BenefitResult(D("10"), D("20"), ("r",)).decision(["lead"])
    assert paid == BenefitDecision.pay(D("10"), cap=D("20"), reasons=["lead", "r"])
    refused = BenefitResult(D(0), D("20"), ("nothing",)).decision()
    assert not refused.payable and refused.cap == D("20") and refused.reasons == ("nothing",)
    assert not refused.refund_contributions
    with pytest.raises(ValueError, match="above its cap"):
        BenefitResult(D("21"), D("20"), ("r",))
    with pytest.raises(ValueError, match="at least one reason"):
        BenefitResult(D(0), D(0), ())


# -- properties -------------------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=2_000_000, places=2, allow_nan=False, allow_infinity=False)
positive = st.decimals(min_value=D("0.01"), max_value=1_000_000, places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=0, max_value=1, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def reimbursements(draw) -> ReimbursementBenefit:
    cap = draw(positive)
    maximum = draw(st.one_of(st.none(), positive.map(lambda extra: cap + extra)))
    return ReimbursementBenefit(deductible=draw(money), copay_rate=draw(rates), cap=cap, member_maximum=maximum)


@st.composite
def fixed_plus(draw) -> FixedPlusReimbursementBenefit:
    return FixedPlusReimbursementBenefit(
        maximum=draw(positive), fixed_rate=draw(rates), deductible=draw(money), copay_rate=draw(rates)
    )


cost_models = st.one_of(reimbursements(), fixed_plus())


@settings(max_examples=300, deadline=None)
@given(model=cost_models, costs=money, prior=money)
def test_never_above_the_cap_and_exact_to_the_fen(model, costs, prior):
    result = model.evaluate(inputs(costs=costs, prior_total=prior))
    assert D(0) <= result.amount <= result.cap
    assert result.amount == result.amount.quantize(D("0.01"))
    if isinstance(model, ReimbursementBenefit):
        assert result.cap <= model.cap
        assert result.amount <= max(costs - model.deductible, D(0))
        if model.member_maximum is not None:
            assert prior + result.amount <= max(model.member_maximum, prior)
    else:
        assert result.cap <= model.maximum
        assert prior + result.amount <= max(model.maximum, prior)


@settings(max_examples=300, deadline=None)
@given(model=cost_models, low=money, extra=money, prior=money)
def test_monotone_in_costs(model, low, extra, prior):
    less = model.evaluate(inputs(costs=low, prior_total=prior)).amount
    more = model.evaluate(inputs(costs=low + extra, prior_total=prior)).amount
    assert less <= more


@settings(max_examples=200, deadline=None)
@given(
    model=cost_models,
    costs=money,
    prior=money,
    steps=st.lists(st.fractions(min_value=Fraction(1, 12), max_value=1, max_denominator=12), min_size=1, max_size=5),
    days=st.integers(min_value=0, max_value=3650),
)
def test_a_ramp_never_pays_more_than_the_full_benefit(model, costs, prior, steps, days):
    ramped = TenureRampBenefit(benefit=model, steps=tuple(str(s) for s in sorted(steps)))
    facts = inputs(
        event_date=WAITING_UNTIL + timedelta(days=1 + days),
        joined_on=JOINED,
        waiting_until=WAITING_UNTIL,
        costs=costs,
        prior_total=prior,
    )
    full = model.evaluate(facts)
    result = ramped.evaluate(facts)
    assert D(0) <= result.amount <= result.cap <= full.cap
    assert result.amount <= full.amount
    year = ramped.year_on(WAITING_UNTIL + timedelta(days=1), facts.event_date)
    fraction = ramped.fraction_in(year)
    # Exactly the fraction, rounded down to the fen: never more, less by under a fen.
    exact = full.amount * fraction.numerator / fraction.denominator
    assert result.amount <= exact < result.amount + D("0.01")


@settings(max_examples=150, deadline=None)
@given(model=fixed_plus(), bills=st.lists(money, min_size=1, max_size=6))
def test_a_shared_maximum_is_never_exceeded_over_many_claims(model, bills):
    paid = D(0)
    for costs in bills:
        paid += model.evaluate(inputs(costs=costs, prior_total=paid)).amount
    assert paid <= model.maximum


@settings(max_examples=200, deadline=None)
@given(age=st.integers(min_value=0, max_value=120))
def test_age_bands_pay_exactly_one_band(age):
    result = parse_benefit(XIANGHUBAO).evaluate(inputs(age=age))
    expected = D("300000.00") if age < 40 else D("100000.00") if age < 60 else D(0)
    assert result.amount == expected
