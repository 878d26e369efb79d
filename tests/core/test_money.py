"""Money: exact amounts, conversions to and from minor units, and every rounding the core performs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mutualaid.money import (
    ExactSplit,
    Money,
    RoundUpSplit,
    currency_exponent,
    format_minor,
    format_percent,
    from_minor,
    is_exact,
    round_rate,
    split_exact,
    split_round_up,
    to_decimal,
    to_minor,
)

# -- Money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.1, 1.0, 300000.0, float("nan")], ids=["0.1", "1.0", "300000.0", "nan"])
def test_money_refuses_floats(value):
    with pytest.raises(TypeError, match=r"^money must not be a float \(.*\); use a str, int or Decimal$"):
        Money(value, "CNY")


@pytest.mark.parametrize("value", [True, False], ids=["True", "False"])
def test_money_refuses_bools(value):
    with pytest.raises(TypeError, match=rf"^money must not be a bool \({value}\); use a str, int or Decimal$"):
        Money(value, "CNY")


@pytest.mark.parametrize("value", [None, [1], object()], ids=["None", "list", "object"])
def test_money_refuses_other_types(value):
    with pytest.raises(TypeError, match="^cannot make an amount from "):
        Money(value, "CNY")


@pytest.mark.parametrize(
    ("value", "currency", "amount", "text"),
    [
        pytest.param("1.5", "CNY", Decimal("1.50"), "1.50 CNY", id="str-quantized-to-fen"),
        pytest.param(3, "CNY", Decimal("3.00"), "3.00 CNY", id="int"),
        pytest.param(Decimal("300000"), "CNY", Decimal("300000.00"), "300,000.00 CNY", id="decimal-with-separators"),
        pytest.param("1.000", "CNY", Decimal("1.00"), "1.00 CNY", id="trailing-zeros-are-not-sub-fen"),
        pytest.param("-12.3", "USD", Decimal("-12.30"), "-12.30 USD", id="negative"),
        pytest.param(1234, "JPY", Decimal("1234"), "1,234 JPY", id="jpy-no-minor-unit"),
    ],
)
def test_money_is_built_exactly(value, currency, amount, text):
    money = Money(value, currency)
    assert money.amount == amount
    assert str(money.amount) == str(amount)  # the exponent too, not just the value
    assert money.currency == currency
    assert str(money) == text


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        pytest.param("0.001", "CNY", "0.001 CNY has more than 2 decimal places", id="cny-tenth-of-a-fen"),
        pytest.param("1.005", "USD", "1.005 USD has more than 2 decimal places", id="usd-half-cent"),
        pytest.param("1.5", "JPY", "1.5 JPY has more than 0 decimal places", id="jpy-fraction"),
    ],
)
def test_money_refuses_sub_minor_precision(value, currency, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        Money(value, currency)


def test_money_refuses_unknown_currency():
    with pytest.raises(ValueError, match=r"^unknown currency 'XXX'; use one of CNY, EUR, .*USD$"):
        Money("1", "XXX")


def test_money_arithmetic_is_exact():
    # 0.1 + 0.2 is 0.30000000000000004 in floats
    assert Money("0.10", "CNY") + Money("0.20", "CNY") == Money("0.30", "CNY")
    assert Money("1.50", "CNY") - Money("2", "CNY") == Money("-0.50", "CNY")
    assert -Money("1.50", "CNY") == Money("-1.50", "CNY")
    assert Money("1.5", "CNY") == Money("1.50", "CNY")
    assert Money("1", "CNY") < Money("1.01", "CNY") <= Money("1.01", "CNY")
    assert Money("2", "CNY") > Money("1.99", "CNY") >= Money("1.99", "CNY")


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda a, b: a + b, id="add"),
        pytest.param(lambda a, b: a - b, id="sub"),
        pytest.param(lambda a, b: a < b, id="lt"),
        pytest.param(lambda a, b: a <= b, id="le"),
        pytest.param(lambda a, b: a > b, id="gt"),
        pytest.param(lambda a, b: a >= b, id="ge"),
    ],
)
def test_mixed_currencies_raise(operation):
    with pytest.raises(ValueError, match="^cannot combine CNY with USD$"):
        operation(Money("1", "CNY"), Money("1", "USD"))


def test_money_does_not_combine_with_plain_numbers():
    with pytest.raises(TypeError, match="^cannot combine Money with int$"):
        Money("1", "CNY") + 1  # type: ignore[operator]
    with pytest.raises(TypeError, match="^cannot combine Money with Decimal$"):
        _ = Money("1", "CNY") < Decimal(2)  # type: ignore[operator]


def test_money_minor_round_trip():
    money = Money("300000", "CNY")
    assert money.minor == 30_000_000
    assert Money.from_minor(30_000_000, "CNY") == money
    assert Money.from_minor(1, "CNY").amount == Decimal("0.01")
    assert Money.from_minor(1234, "JPY") == Money(1234, "JPY")


# -- conversions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("CNY", 2), ("USD", 2), ("HKD", 2), ("JPY", 0), ("KRW", 0)],
    ids=["CNY", "USD", "HKD", "JPY", "KRW"],
)
def test_currency_exponent(currency, exponent):
    assert currency_exponent(currency) == exponent


def test_unknown_currency_exponent():
    with pytest.raises(ValueError, match="^unknown currency 'cny'"):
        currency_exponent("cny")


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        pytest.param("300000", "CNY", 30_000_000, id="death-benefit"),
        pytest.param("0.01", "CNY", 1, id="one-fen"),
        pytest.param("-0.05", "CNY", -5, id="negative"),
        pytest.param("12.3", "USD", 1230, id="one-decimal"),
        pytest.param(Decimal("1.10"), "CNY", 110, id="decimal"),
        pytest.param(7, "CNY", 700, id="int"),
        pytest.param("1,000.50", "CNY", 100_050, id="thousands-separator"),
        pytest.param("1000", "JPY", 1000, id="jpy-exponent-0"),
        pytest.param("10000000000000.00", "CNY", 10**15, id="largest-recorded"),
        pytest.param("-10000000000000", "CNY", -(10**15), id="largest-recorded-negative"),
    ],
)
def test_to_minor_and_back(amount, currency, minor):
    assert to_minor(amount, currency) == minor
    assert isinstance(to_minor(amount, currency), int)
    assert from_minor(minor, currency) == to_decimal(amount)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        pytest.param(5, "CNY", "0.05", id="cny-fen"),
        pytest.param(500, "CNY", "5.00", id="cny-whole"),
        pytest.param(-1, "CNY", "-0.01", id="cny-negative"),
        pytest.param(1234, "JPY", "1234", id="jpy"),
    ],
)
def test_from_minor_is_quantized_to_the_currency(minor, currency, text):
    assert str(from_minor(minor, currency)) == text


@pytest.mark.parametrize("minor", [0, 1, 99, 100, 4_628_571, 30_000_000, 10**15, -7], ids=str)
@pytest.mark.parametrize("currency", ["CNY", "JPY"])
def test_minor_round_trip(minor, currency):
    assert to_minor(from_minor(minor, currency), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        pytest.param("0.001", "CNY", "0.001 CNY has more than 2 decimal places", id="cny"),
        pytest.param("0.5", "JPY", "0.5 JPY has more than 0 decimal places", id="jpy"),
    ],
)
def test_to_minor_refuses_sub_minor_precision(amount, currency, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        to_minor(amount, currency)


def test_to_minor_refuses_float():
    with pytest.raises(TypeError, match="^money must not be a float"):
        to_minor(0.1, "CNY")


@pytest.mark.parametrize(
    ("minor", "kind"),
    [(1.0, "float"), (True, "bool"), ("1", "str"), (Decimal(1), "Decimal")],
    ids=["float", "bool", "str", "Decimal"],
)
def test_from_minor_refuses_non_int(minor, kind):
    with pytest.raises(TypeError, match=f"^minor units must be an int, not {kind}$"):
        from_minor(minor, "CNY")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("abc", "'abc' is not an amount", id="words"),
        pytest.param("", "'' is not an amount", id="empty"),
        pytest.param("NaN", "'NaN' is not a finite amount", id="nan"),
        pytest.param("Infinity", "'Infinity' is not a finite amount", id="infinity"),
        pytest.param(Decimal("-Infinity"), "Decimal\\('-Infinity'\\) is not a finite amount", id="decimal-infinity"),
    ],
)
def test_to_decimal_refuses_non_amounts(value, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        to_decimal(value)


# -- formatting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "symbol", "text"),
    [
        pytest.param(30_000_000, "CNY", False, "300,000.00", id="benefit"),
        pytest.param(30_000_000, "CNY", True, "300,000.00 CNY", id="benefit-with-symbol"),
        pytest.param(5, "CNY", False, "0.05", id="five-fen"),
        pytest.param(0, "CNY", False, "0.00", id="zero"),
        pytest.param(-123_456, "CNY", False, "-1,234.56", id="negative"),
        pytest.param(4_628_572, "CNY", False, "46,285.72", id="share"),
        pytest.param(1_234_567, "JPY", True, "1,234,567 JPY", id="jpy"),
    ],
)
def test_format_minor(minor, currency, symbol, text):
    assert format_minor(minor, currency, symbol=symbol) == text


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        ("0.08", "8"),
        ("0.080", "8"),
        ("0.085", "8.5"),
        ("0.1", "10"),
        ("0.10", "10"),
        ("0.125", "12.5"),
        ("0.5", "50"),
        ("0", "0"),
        ("0.0001", "0.01"),
        ("1", "100"),
    ],
    ids=lambda v: str(v),
)
def test_format_percent(rate, text):
    assert format_percent(Decimal(rate)) == text


def test_format_percent_refuses_float():
    with pytest.raises(TypeError, match="^money must not be a float"):
        format_percent(0.08)  # type: ignore[arg-type]


# -- rounding a rate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rate", "fee"),
    [
        pytest.param(1, "0.08", 0, id="8pct-of-1-fen=0.08-down"),
        pytest.param(6, "0.08", 0, id="8pct-of-6-fen=0.48-down"),
        pytest.param(7, "0.08", 1, id="8pct-of-7-fen=0.56-up"),
        pytest.param(5, "0.1", 1, id="10pct-of-5-fen=0.5-up-not-to-even"),
        pytest.param(15, "0.1", 2, id="10pct-of-15-fen=1.5-up"),
        pytest.param(25, "0.1", 3, id="10pct-of-25-fen=2.5-up-not-to-even"),
        pytest.param(100, "0.085", 9, id="8.5pct-of-100-fen=8.5-up"),
        pytest.param(1, "0.5", 1, id="half-of-1-fen=0.5-up"),
        pytest.param(3, "0.5", 2, id="half-of-3-fen=1.5-up"),
        pytest.param(30_000_000, "0.08", 2_400_000, id="8pct-of-300000-yuan"),
        pytest.param(3_000_001, "0.08", 240_000, id="8pct-of-30000.01-yuan=240000.08-down"),
        pytest.param(0, "0.08", 0, id="no-aid"),
        pytest.param(12_345, "0", 0, id="no-fee"),
    ],
)
def test_round_rate_half_up(amount, rate, fee):
    assert round_rate(amount, Decimal(rate)) == fee


@pytest.mark.parametrize(
    ("amount", "rate", "message"),
    [
        pytest.param(100, 0.08, "a rate must be a Decimal, not a float", id="float-rate"),
        pytest.param(100, "0.08", "a rate must be a Decimal, not a str", id="str-rate"),
        pytest.param(100.0, Decimal("0.08"), "an amount of minor units must be an int, not a float", id="float-amount"),
        pytest.param(True, Decimal("0.08"), "an amount of minor units must be an int, not a bool", id="bool-amount"),
    ],
)
def test_round_rate_refuses_floats(amount, rate, message):
    with pytest.raises(TypeError, match=f"^{message}$"):
        round_rate(amount, rate)


# -- apportioning --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("need", "members", "share", "surplus"),
    [
        pytest.param(32_400_000, 7, 4_628_572, 4, id="324000-yuan-over-7"),
        pytest.param(30_000_000, 7, 4_285_715, 5, id="300000-yuan-over-7"),
        pytest.param(32_400_000, 6, 5_400_000, 0, id="divides-evenly"),
        pytest.param(1, 100_000_000, 1, 99_999_999, id="one-fen-over-100M"),
        pytest.param(0, 5, 0, 0, id="nothing-to-share"),
        pytest.param(10, 1, 10, 0, id="one-member"),
    ],
)
def test_split_round_up(need, members, share, surplus):
    split = split_round_up(need, members)
    assert split == RoundUpSplit(share=share, members=members, surplus=surplus)
    assert split.total == share * members == need + surplus


@pytest.mark.parametrize(
    ("need", "members", "base", "extra"),
    [
        pytest.param(32_400_000, 7, 4_628_571, 3, id="324000-yuan-over-7"),
        pytest.param(32_400_000, 6, 5_400_000, 0, id="divides-evenly"),
        pytest.param(1, 3, 0, 1, id="one-fen-over-3"),
        pytest.param(99, 100, 0, 99, id="less-than-a-fen-each"),
        pytest.param(100_000_000_000, 100_000_000, 1000, 0, id="1bn-yuan-over-100M"),
        pytest.param(0, 3, 0, 0, id="nothing-to-share"),
    ],
)
def test_split_exact(need, members, base, extra):
    split = split_exact(need, members)
    assert split == ExactSplit(base=base, extra=extra, members=members)
    assert split.total == need


NO_MEMBERS = "there must be at least one member to share among"


@pytest.mark.parametrize("split", [split_round_up, split_exact], ids=["round-up", "exact"])
@pytest.mark.parametrize(
    ("need", "members", "error", "message"),
    [
        pytest.param(100, 0, ValueError, rf"{NO_MEMBERS} \(got 0\)", id="no-members"),
        pytest.param(0, 0, ValueError, rf"{NO_MEMBERS} \(got 0\)", id="nothing-no-members"),
        pytest.param(100, -1, ValueError, rf"{NO_MEMBERS} \(got -1\)", id="negative-members"),
        pytest.param(-1, 3, ValueError, r"the amount to share must not be negative \(got -1\)", id="negative-need"),
        pytest.param(100.0, 3, TypeError, "an amount of minor units must be an int, not a float", id="float-need"),
        pytest.param(100, 3.0, TypeError, "a number of members must be an int, not a float", id="float-members"),
    ],
)
def test_split_errors(split, need, members, error, message):
    with pytest.raises(error, match=f"^{message}$"):
        split(need, members)


@pytest.mark.parametrize(
    "amount",
    ["10000000000000.01", "-10000000000000.01", "1e17", "1e40", "92233720368547758.07", 10**16],
    ids=["one-fen-above", "one-fen-below", "1e17", "1e40", "largest-bigint", "int"],
)
def test_an_amount_beyond_the_largest_recorded_is_refused_before_any_arithmetic(amount):
    with pytest.raises(ValueError, match=r"is beyond the largest amount recorded \(10,000,000,000,000\.00\)$"):
        to_minor(amount, "CNY")


@pytest.mark.parametrize(
    ("amount", "currency", "exact"),
    [
        ("1e40", "CNY", True),
        ("1E+2", "JPY", True),
        ("10.10", "CNY", True),
        ("10.10", "JPY", False),
        ("100.001", "CNY", False),
        ("12345678901234567890123456789012.5", "CNY", True),
        ("12345678901234567890123456789012.5", "JPY", False),
        ("0.000", "JPY", True),
    ],
)
def test_is_exact_reads_the_digits_so_a_huge_amount_is_no_error(amount, currency, exact):
    assert is_exact(Decimal(amount), currency) is exact


@pytest.mark.parametrize(
    ("text", "value"),
    [("1,000", Decimal(1000)), ("-12,345.60", Decimal("-12345.60")), ("1,000,000.5", Decimal("1000000.5"))],
)
def test_commas_between_groups_of_three_digits_are_read(text, value):
    assert to_decimal(text) == value


@pytest.mark.parametrize("text", ["1,0,0", "12,34", ",5", "1,0000"])
def test_a_comma_elsewhere_is_not_an_amount(text):
    with pytest.raises(ValueError, match="a comma may only separate groups of three digits"):
        to_decimal(text)
