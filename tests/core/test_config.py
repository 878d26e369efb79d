"""Pool files: every problem of a bad file is reported as ``FILE: key.path: message``, and nothing is written.

The files are written in ``tmp_path`` and created through the command line, as an operator would.
The plugins are exactly the core's default plugin and the truckers plugin, so the messages that
name the installed cohorts are the same on every machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import mutualaid_truckers
from mutualaid import ConfigError, MutualAid, Plugins, load_plugins
from mutualaid.cli import State, cli
from mutualaid.config import load_pool_file

VALID = """\
key = "js-truckers"
name = "江苏卡友互助"
cohort = "truckers"
currency = "CNY"
timezone = "Asia/Shanghai"
operator = "江苏卡友之家"

[sharing]
calendar = "monthly"
management_fee_rate = 0.08
rounding = "round-up"

[settings]
min_age = 18
max_age = 60
accidental_death_benefit = 300000
"""

KEY_RULE = "must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit"
TOP_KEYS = "the keys of a pool file are key, name, cohort, currency, timezone, locale, operator, sharing, payments, claims, settings"
SHARING_KEYS = (
    "the keys of [sharing] are calendar, notice_days, deduction_days, management_fee, "
    "management_fee_per_member, management_fee_rate, rounding, weights, caps, waiting_members_share"
)
SETTINGS_HINT = "'mutualaid cohorts show truckers' lists the settings"
CURRENCIES = "CNY, EUR, GBP, HKD, IDR, INR, JPY, KRW, MYR, SGD, TWD, USD"
CIRCUMSTANCES = "drunk_driving, drugged_driving, unlicensed_driving, self_inflicted, criminal_act, racing, overloading"


def variant(*edits: tuple[str, str]) -> str:
    """VALID with each ``(old, new)`` replaced; ``old`` must occur exactly once."""
    text = VALID
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def semi_monthly(notice: str | None = None, deduction: str | None = None) -> str:
    lines = 'calendar = "semi-monthly"\n'
    if notice is not None:
        lines += f"notice_days = {notice}\n"
    if deduction is not None:
        lines += f"deduction_days = {deduction}\n"
    return variant(('calendar = "monthly"\n', lines))


def sharing_days(notice: str | None = None, deduction: str | None = None) -> str:
    lines = 'calendar = "monthly"\n'
    if notice is not None:
        lines += f"notice_days = {notice}\n"
    if deduction is not None:
        lines += f"deduction_days = {deduction}\n"
    return variant(('calendar = "monthly"\n', lines))


@pytest.fixture(scope="module")
def truckers_only() -> Plugins:
    return load_plugins(entry_points=False, extra=[("truckers", mutualaid_truckers)], strict=True)


@pytest.fixture
def mutualaid_cli(runner: CliRunner, truckers_only: Plugins, db_url: str) -> Iterator:
    """``mutualaid_cli(*args)``: run ``mutualaid --database-url DB ARGS`` in-process."""

    def invoke(*args: str) -> Result:
        state = State(plugins=truckers_only)
        try:
            return runner.invoke(cli, ["--database-url", db_url, *args], obj=state)
        finally:
            state.app.close()

    yield invoke


def write(tmp_path: Path, text: str, name: str = "pool.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_refused(result: Result, path: Path | str, problems: list[str]) -> None:
    """Exit code 1, no traceback, nothing on stdout, and exactly ``Error: FILE: problem`` lines."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # a user error, not a bug
    assert result.stdout == ""
    assert result.stderr == "Error: " + "".join(f"{path}: {problem}\n" for problem in problems)


def assert_no_pools(mutualaid_cli) -> None:
    listed = mutualaid_cli("pool", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []
    assert mutualaid_cli("pool", "list").stdout == "no pools yet; create one with 'mutualaid pool create FILE'\n"


BAD_FILES = [
    # -- the required keys
    pytest.param(variant(('key = "js-truckers"\n', "")), ["key: is required"], id="missing-key"),
    pytest.param(variant(('name = "江苏卡友互助"\n', "")), ["name: is required"], id="missing-name"),
    pytest.param(variant(('cohort = "truckers"\n', "")), ["cohort: is required"], id="missing-cohort"),
    pytest.param(
        variant(('key = "js-truckers"\nname = "江苏卡友互助"\ncohort = "truckers"\n', "")),
        ["key: is required", "name: is required", "cohort: is required"],
        id="missing-key-name-and-cohort",
    ),
    pytest.param(
        variant(('name = "江苏卡友互助"', 'name = ""')),
        ["name: must not be empty"],
        id="empty-name",
    ),
    # -- the pool key
    pytest.param(
        variant(('key = "js-truckers"', 'key = "JS Truckers"')), [f"key: {KEY_RULE}"], id="key-capitals-and-space"
    ),
    pytest.param(
        variant(('key = "js-truckers"', 'key = "-truckers"')), [f"key: {KEY_RULE}"], id="key-starting-with-dash"
    ),
    pytest.param(variant(('key = "js-truckers"', 'key = "江苏"')), [f"key: {KEY_RULE}"], id="key-in-chinese"),
    pytest.param(
        variant(('key = "js-truckers"', f'key = "{"a" * 64}"')), [f"key: {KEY_RULE}"], id="key-of-64-characters"
    ),
    pytest.param(variant(('key = "js-truckers"', 'key = ""')), [f"key: {KEY_RULE}"], id="empty-key"),
    pytest.param(
        variant(('key = "js-truckers"', "key = 42")), ["key: must be text in quotes (42 given)"], id="key-a-number"
    ),
    # -- unknown keys
    pytest.param(
        variant(('operator = "江苏卡友之家"\n', 'operator = "江苏卡友之家"\nmembers = 100\n')),
        [f"members: unknown key (check its spelling; {TOP_KEYS})"],
        id="unknown-top-level-key",
    ),
    pytest.param(
        variant(("management_fee_rate = 0.08", "fee_rate = 0.08")),
        [f"sharing.fee_rate: unknown key (check its spelling; {SHARING_KEYS})"],
        id="misspelt-sharing-key",
    ),
    # -- cohort, currency, time zone, locale
    pytest.param(
        variant(('cohort = "truckers"', 'cohort = "taxi-drivers"')),
        [
            "cohort: no cohort 'taxi-drivers' is installed (installed: truckers); "
            "install its plugin with 'mutualaid install PACKAGE'"
        ],
        id="unknown-cohort",
    ),
    pytest.param(
        variant(('currency = "CNY"', 'currency = "RMB"')),
        [f"currency: unknown currency 'RMB'; use one of {CURRENCIES}"],
        id="unknown-currency",
    ),
    pytest.param(
        variant(('currency = "CNY"', 'currency = "cny"')),
        [f"currency: unknown currency 'cny'; use one of {CURRENCIES}"],
        id="currency-in-lower-case",
    ),
    pytest.param(
        variant(('timezone = "Asia/Shanghai"', 'timezone = "Beijing"')),
        ["timezone: unknown time zone 'Beijing'; use an IANA name such as 'Asia/Shanghai'"],
        id="unknown-timezone",
    ),
    pytest.param(
        variant(('timezone = "Asia/Shanghai"', 'timezone = "../etc/passwd"')),
        ["timezone: unknown time zone '../etc/passwd'; use an IANA name such as 'Asia/Shanghai'"],
        id="timezone-a-path",
    ),
    pytest.param(
        variant(('operator = "江苏卡友之家"\n', 'operator = "江苏卡友之家"\nlocale = "fr"\n')),
        ["locale: must be one of 'zh-CN' or 'en' ('fr' given)"],
        id="unknown-locale",
    ),
    # -- the management fee
    pytest.param(
        variant(("management_fee_rate = 0.08", "management_fee_rate = 0.51")),
        ["sharing.management_fee_rate: must be a fraction of the aid amount from 0 to 0.5 (0.51 given)"],
        id="fee-rate-above-half",
    ),
    pytest.param(
        variant(("management_fee_rate = 0.08", "management_fee_rate = 8")),
        [
            "sharing.management_fee_rate: must be a fraction of the aid amount from 0 to 0.5 (8 given; write 0.08 for 8%)"
        ],
        id="fee-rate-written-as-a-percentage",
    ),
    pytest.param(
        variant(("management_fee_rate = 0.08", "management_fee_rate = -0.01")),
        ["sharing.management_fee_rate: must not be negative (-0.01 given)"],
        id="fee-rate-negative",
    ),
    pytest.param(
        variant(("management_fee_rate = 0.08", 'management_fee_rate = "8%"')),
        ["sharing.management_fee_rate: must be a number such as 0.08 ('8%' given)"],
        id="fee-rate-with-percent-sign",
    ),
    # -- rounding and calendar
    pytest.param(
        variant(('rounding = "round-up"', 'rounding = "round-down"')),
        ["sharing.rounding: must be one of 'round-up' or 'exact' ('round-down' given)"],
        id="unknown-rounding",
    ),
    pytest.param(
        variant(('calendar = "monthly"', 'calendar = "weekly"')),
        ["sharing.calendar: must be one of 'monthly' or 'semi-monthly' ('weekly' given)"],
        id="unknown-calendar",
    ),
    # -- notice and deduction days
    pytest.param(
        semi_monthly(notice="[7]"),
        ["sharing.notice_days: needs 2 day(s) for a semi-monthly calendar, got 1"],
        id="semi-monthly-with-one-notice-day",
    ),
    pytest.param(
        sharing_days(deduction="[14, 28]"),
        ["sharing.deduction_days: needs 1 day(s) for a monthly calendar, got 2"],
        id="monthly-with-two-deduction-days",
    ),
    pytest.param(
        sharing_days(notice="[29]", deduction="[30]"),
        [
            "sharing.notice_days: must be days 1 to 28 (every month has them), not 29",
            "sharing.deduction_days: must be days 1 to 28 (every month has them), not 30",
        ],
        id="notice-day-29-and-deduction-day-30",
    ),
    pytest.param(
        sharing_days(deduction="[0]"),
        ["sharing.deduction_days: must be days 1 to 28 (every month has them), not 0"],
        id="deduction-day-0",
    ),
    pytest.param(
        semi_monthly(notice="[21, 7]"),
        ["sharing.notice_days: must be in increasing order without repeats"],
        id="notice-days-out-of-order",
    ),
    pytest.param(
        semi_monthly(deduction="[14, 14]"),
        ["sharing.deduction_days: must be in increasing order without repeats"],
        id="deduction-days-repeated",
    ),
    pytest.param(
        sharing_days(notice="[20]"),
        ["sharing: each notice day must come before its deduction day (notice days 20, deduction days 14)"],
        id="notice-after-deduction",
    ),
    pytest.param(
        sharing_days(notice="[14]", deduction="[14]"),
        ["sharing: each notice day must come before its deduction day (notice days 14, deduction days 14)"],
        id="notice-on-deduction-day",
    ),
    pytest.param(
        semi_monthly(notice="[7, 21]", deduction="[22, 28]"),
        ["sharing: the first period's deduction day (22) must come before the second notice day (21)"],
        id="semi-monthly-periods-overlap",
    ),
    # -- the truckers cohort's [settings]
    pytest.param(
        variant(("accidental_death_benefit = 300000", "death_benefit = 300000")),
        [f"settings.death_benefit: unknown key (check its spelling; {SETTINGS_HINT})"],
        id="unknown-settings-key",
    ),
    pytest.param(
        variant(("min_age = 18", "min_age = 61")),
        ["settings: min_age 61 is above max_age 60"],
        id="min-age-above-max-age",
    ),
    pytest.param(
        variant(("min_age = 18", "min_age = 16")),
        ["settings.min_age: must be at least 18 (16 given)"],
        id="min-age-below-18",
    ),
    pytest.param(
        variant(("max_age = 60\n", 'max_age = 60\nexclusions = ["drunk_driving", "sleeping"]\n')),
        [f"settings.exclusions: unknown exclusion 'sleeping'; known circumstances: {CIRCUMSTANCES}"],
        id="unknown-exclusion",
    ),
    pytest.param(
        variant(("accidental_death_benefit = 300000", "accidental_death_benefit = 400000")),
        [
            "settings: accidental_death_benefit (400,000) is above combined_cap (300,000), so it could never be "
            "paid in full; lower it or raise combined_cap"
        ],
        id="benefit-above-combined-cap",
    ),
    pytest.param(
        variant(
            ("[settings]\nmin_age = 18\nmax_age = 60\naccidental_death_benefit = 300000\n", ""),
            ('operator = "江苏卡友之家"\n', 'operator = "江苏卡友之家"\nsettings = "defaults"\n'),
        ),
        ["settings: must be a table (a [section] of its own or { key = value, ... })"],
        id="settings-not-a-table",
    ),
    # -- several problems at once, each on its line
    pytest.param(
        """\
key = "JS Truckers"
cohort = "truckers"
currency = "RMB"
members = 100

[sharing]
calendar = "semi-monthly"
notice_days = [7]
management_fee_rate = 0.6
fee = 0.08

[settings]
min_age = 10
death_benefit = 300000
""",
        [
            f"key: {KEY_RULE}",
            "name: is required",
            f"currency: unknown currency 'RMB'; use one of {CURRENCIES}",
            "sharing.notice_days: needs 2 day(s) for a semi-monthly calendar, got 1",
            "sharing.management_fee_rate: must be a fraction of the aid amount from 0 to 0.5 (0.6 given)",
            f"sharing.fee: unknown key (check its spelling; {SHARING_KEYS})",
            f"members: unknown key (check its spelling; {TOP_KEYS})",
            "settings.min_age: must be at least 18 (10 given)",
            f"settings.death_benefit: unknown key (check its spelling; {SETTINGS_HINT})",
        ],
        id="nine-problems-at-once",
    ),
    pytest.param(
        variant(('cohort = "truckers"', 'cohort = "taxi"'), ('currency = "CNY"', 'currency = "RMB"')),
        [
            f"currency: unknown currency 'RMB'; use one of {CURRENCIES}",
            "cohort: no cohort 'taxi' is installed (installed: truckers); install its plugin with 'mutualaid install "
            "PACKAGE'",
        ],
        id="unknown-cohort-and-currency",
    ),
]


@pytest.mark.parametrize(("text", "problems"), BAD_FILES)
def test_a_bad_pool_file_is_refused_with_every_problem(mutualaid_cli, tmp_path, text, problems):
    path = write(tmp_path, text)
    assert_refused(mutualaid_cli("pool", "create", str(path)), path, problems)
    assert_no_pools(mutualaid_cli)


@pytest.mark.parametrize(("text", "problems"), BAD_FILES[:3] + BAD_FILES[-2:])
def test_the_python_api_raises_the_same_problems(db_url, truckers_only, tmp_path, text, problems):
    path = write(tmp_path, text)
    app = MutualAid(db_url, plugins=truckers_only)
    try:
        with pytest.raises(ConfigError) as info:
            app.create_pool(path)
        assert info.value.problems == [f"{path}: {problem}" for problem in problems]
        assert info.value.lines == info.value.problems
        assert app.pools() == []
    finally:
        app.close()


# -- files that are not pool files ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "line"),
    [
        pytest.param(b'key = "js-truckers"\nname = \ncohort = "truckers"\n', 2, id="missing-value"),
        pytest.param(b'key = "js-truckers"\nname = "a"\ncohort = "truckers"\nname = "b"\n', 4, id="key-written-twice"),
        pytest.param(b'key = "js-truckers"\n[sharing\n', 2, id="unclosed-table-header"),
        pytest.param(b'key = "js-truckers"\nname = "unterminated\n', 2, id="unterminated-string"),
    ],
)
def test_invalid_toml_names_the_line(mutualaid_cli, tmp_path, content, line):
    path = tmp_path / "pool.toml"
    path.write_bytes(content)
    result = mutualaid_cli("pool", "create", str(path))
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    pattern = rf"Error: {re.escape(str(path))}: not valid TOML: [^\n]+ \(at line {line}, column \d+\)\n"
    assert re.fullmatch(pattern, result.stderr), result.stderr
    assert_no_pools(mutualaid_cli)


def test_a_file_that_is_not_utf8(mutualaid_cli, tmp_path):
    path = tmp_path / "pool.toml"
    path.write_bytes(VALID.encode("gbk"))  # saved by an editor in the Chinese legacy encoding
    assert_refused(mutualaid_cli("pool", "create", str(path)), path, ["not valid TOML: the file is not UTF-8 text"])
    assert_no_pools(mutualaid_cli)


def test_a_file_that_does_not_exist(mutualaid_cli, tmp_path):
    path = tmp_path / "no-such-pool.toml"
    assert_refused(
        mutualaid_cli("pool", "create", str(path)), path, ["file not found; give the path of a pool's TOML file"]
    )
    assert_no_pools(mutualaid_cli)


def test_a_directory(mutualaid_cli, tmp_path):
    assert_refused(
        mutualaid_cli("pool", "create", str(tmp_path)),
        tmp_path,
        ["is a directory; give the path of a pool's TOML file"],
    )
    assert_no_pools(mutualaid_cli)


def test_a_second_pool_with_the_same_key_is_refused(mutualaid_cli, tmp_path):
    first = write(tmp_path, VALID, "first.toml")
    assert mutualaid_cli("pool", "create", str(first)).exit_code == 0
    second = write(tmp_path, variant(('name = "江苏卡友互助"', 'name = "另一个互助"')), "second.toml")
    assert_refused(
        mutualaid_cli("pool", "create", str(second)),
        second,
        [
            "key: a pool with key 'js-truckers' already exists; choose another key "
            "('mutualaid pool list' shows the pools)"
        ],
    )
    pools = json.loads(mutualaid_cli("pool", "list", "--json").stdout)
    assert [(p["key"], p["name"]) for p in pools] == [("js-truckers", "江苏卡友互助")]  # the first one, unchanged


# -- valid files ----------------------------------------------------------------------------------


def test_a_valid_file_creates_the_pool(mutualaid_cli, tmp_path):
    path = write(tmp_path, VALID)
    created = mutualaid_cli("pool", "create", str(path))
    assert created.exit_code == 0, created.output
    assert created.stderr == ""
    assert created.stdout == (
        "created pool 'js-truckers': 江苏卡友互助 (cohort truckers, CNY, monthly sharing, fee 8%, rounding round-up)\n"
    )

    listed = mutualaid_cli("pool", "list", "--json")
    pools = json.loads(listed.stdout)
    assert len(pools) == 1
    assert {k: v for k, v in pools[0].items() if k != "created_at"} == {
        "key": "js-truckers",
        "name": "江苏卡友互助",
        "cohort": "truckers",
        "currency": "CNY",
        "members": 0,
    }
    table = mutualaid_cli("pool", "list").stdout.splitlines()
    assert table[0].split() == ["pool", "name", "cohort", "currency", "live", "members"]
    assert table[2].split() == ["js-truckers", "江苏卡友互助", "truckers", "CNY", "0"]

    shown = mutualaid_cli("pool", "show", "js-truckers")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    for line in (
        "key: js-truckers",
        "name: 江苏卡友互助",
        "cohort: truckers",
        "operator: 江苏卡友之家",
        "sharing:",
        "  calendar: monthly",
        "  notice_days: [7]",
        "  deduction_days: [14]",
        "  management_fee_rate: 0.08",
        "  rounding: round-up",
        "settings (truckers):",
        "  min_age: 18",
        "  max_age: 60",
        "  accidental_death_benefit: 300000",
        "  illness_waiting_days: 90",
        '  exclusions: ["drunk_driving", "drugged_driving", "unlicensed_driving", "self_inflicted"]',
    ):
        assert line in lines, line
    settings = lines[lines.index("settings (truckers):") + 1 :]
    assert [line.split(":")[0].strip() for line in settings] == list(mutualaid_truckers.TruckersSettings.model_fields)

    as_json = json.loads(mutualaid_cli("pool", "show", "js-truckers", "--json").stdout)
    assert as_json["sharing"]["management_fee_rate"] == "0.08"
    assert as_json["settings"]["accidental_death_benefit"] == "300000"
    assert as_json["settings"]["min_age"] == 18


def test_the_shipped_example_pool_file_is_valid(truckers_only):
    example = Path(mutualaid_truckers.__file__).parents[1] / "examples" / "pool.toml"
    definition = load_pool_file(example, truckers_only)
    assert definition.config.key == "jiangsu-truckers"
    assert definition.settings == mutualaid_truckers.TruckersSettings()


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        pytest.param("0.08", "0.08", id="0.08"),
        pytest.param("0.07", "0.07", id="0.07-not-exact-in-binary"),
        pytest.param("0.1", "0.1", id="0.1"),
        pytest.param("7e-2", "0.07", id="exponent"),
        pytest.param("0", "0", id="integer-zero"),
        pytest.param("0.08000000000000000001", "0.08000000000000000001", id="more-digits-than-a-float-holds"),
    ],
)
def test_toml_floats_are_read_as_decimal(truckers_only, tmp_path, literal, expected):
    path = write(tmp_path, variant(("management_fee_rate = 0.08", f"management_fee_rate = {literal}")))
    rate = load_pool_file(path, truckers_only).config.sharing.management_fee_rate
    assert isinstance(rate, Decimal)
    assert str(rate) == expected  # as written, not the binary float's 0.0700000000000000066613381477509392...


def test_float_literals_stay_exact_through_the_database(mutualaid_cli, db_url, truckers_only, tmp_path):
    text = variant(
        ("management_fee_rate = 0.08", "management_fee_rate = 0.07"),
        ("accidental_death_benefit = 300000", "accidental_death_benefit = 250000.50"),
    )
    path = write(tmp_path, text)
    assert mutualaid_cli("pool", "create", str(path)).exit_code == 0
    app = MutualAid(db_url, plugins=truckers_only)
    try:
        definition = app.pool("js-truckers").definition
    finally:
        app.close()
    rate = definition.config.sharing.management_fee_rate
    benefit = definition.settings.accidental_death_benefit
    assert (type(rate), str(rate)) == (Decimal, "0.07")
    assert (type(benefit), benefit) == (Decimal, Decimal("250000.50"))
