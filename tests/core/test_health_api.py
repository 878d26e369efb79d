"""A pool's health on a real database (SQLite and PostgreSQL): the incidence its cohort registers,
blended with its own claims; an applicant's quote through the API and the command line (and its
one-line errors); the forecast; the welcome notice's expected cost; the register_incidence hook's
clashes and mistakes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mutualaid import (
    Cohort,
    CohortRules,
    EventIncidence,
    EventKind,
    FixedBenefit,
    IncidenceBand,
    IncidenceTable,
    NoFields,
    PluginError,
    StateError,
    ValidationError,
    hookimpl,
    load_plugins,
)
from mutualaid.db.models import Claim, Member, SharingRun
from mutualaid.health.credibility import blend_rate
from mutualaid.health.history import experience
from mutualaid.health.priors import incidence_providers, prior_table
from mutualaid.health.quote import FeeTerms, quote

POOL = "js-truckers"


def _pool(app, truckers_pool, make_driver, members: int = 12) -> None:
    app.create_pool(truckers_pool())
    for n in range(1, members + 1):
        app.join(POOL, **make_driver(n, born=date(1980 + n % 10, 1, 1)))


def _death(app, member: int, day: str = "2026-10-20") -> None:
    claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=day, filed_on="2026-10-25")
    app.approve_claim(claim.id)


def _rows(app) -> tuple[int, int, int]:
    with app.transaction() as s:
        return (
            s.scalar(select(func.count()).select_from(Member)),
            s.scalar(select(func.count()).select_from(Claim)),
            s.scalar(select(func.count()).select_from(SharingRun)),
        )


# -- incidence and credibility ----------------------------------------------------------------------


def test_the_pools_incidence_is_its_cohorts_prior_blended_with_its_claims(app, truckers_pool, make_driver):
    _pool(app, truckers_pool, make_driver)
    _death(app, 1)
    app.share(POOL, "2026-11")
    incidence = app.pool_incidence(POOL)
    assert incidence.prior.kinds == ("accidental_death", "accidental_disability", "illness_death")
    death = next(b for b in incidence.bands if b.event_kind == "accidental_death")
    assert death.claims == 1
    assert death.prior == Decimal("0.0005")
    # 11 members from 2026-10-15 (the middle of the joining month) to the suite's today, 2027-12-31,
    # 442 days; the one who died in the month they joined, none
    assert death.exposure == (Decimal(11 * 442) / Decimal("365.25")).quantize(Decimal("0.0001"))
    blended, z, k = blend_rate(death.prior, death.exposure, 1)
    assert (death.blended, death.z, death.k) == (blended, z, k)
    assert k == Decimal(8000)  # 1 / (0.25 x 0.0005)
    assert incidence.blended.event("accidental_death").rate_at(40) == blended > death.prior


def test_experience_counts_member_years_by_age_band(app, truckers_pool, make_driver):
    app.create_pool(truckers_pool())
    app.join(POOL, **make_driver(1, born=date(1987, 7, 10), joined_on=date(2026, 10, 1)))  # 39 then 40
    with app.transaction() as s:
        pool_id = s.scalar(select(Member.pool_id))
        table = IncidenceTable(
            (
                EventIncidence(
                    "illness_death",
                    (IncidenceBand(0, 39, Decimal("0.001")), IncidenceBand(40, None, Decimal("0.002"))),
                    FixedBenefit(amount=1000),
                ),
            )
        )
        seen = experience(s, pool_id, table, date(2027, 10, 15))
    # each taken as born and joining in the middle of the month: from 2026-10-15 to the 40th
    # birthday, 2027-07-15 (273 days), then to 2027-10-15 (92 days)
    assert seen[("illness_death", "0-39")].exposure == (Decimal(273) / Decimal("365.25")).quantize(Decimal("0.0001"))
    assert seen[("illness_death", "40+")].exposure == (Decimal(92) / Decimal("365.25")).quantize(Decimal("0.0001"))


# -- the quote --------------------------------------------------------------------------------------


def test_a_quote_through_the_api_is_the_blended_table_priced(app, truckers_pool, make_driver):
    _pool(app, truckers_pool, make_driver)
    result = app.quote(POOL, "1990-05-01")
    assert result.age == 37  # on the suite's today, 2027-12-31
    assert result.pool_size == 13  # twelve members and the applicant
    table = app.pool_incidence(POOL).blended
    terms = FeeTerms(policy="rate", rate=Decimal("0.08"), periods_per_year=12)
    assert result == quote(table, 37, "CNY", terms, 13, ages=result_ages(app), seed=2019)
    death = next(e for e in result.events if e.event_kind == "accidental_death")
    assert death.benefit == Decimal("300000.00")
    assert result.low <= result.high


def result_ages(app) -> dict[int, int]:
    from mutualaid.health.history import live_ages

    with app.transaction() as s:
        return live_ages(s, s.scalar(select(Member.pool_id)), date(2027, 12, 31))


def test_pool_quote_on_the_command_line(invoke, app, truckers_pool, make_driver):
    _pool(app, truckers_pool, make_driver)
    expected = app.quote(POOL, "1990-05-01")
    result = invoke("pool", "quote", POOL, "--birth-date", "1990-05-01")
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first == (
        f"expected yearly cost at age 37: {expected.expected:,.2f} CNY (10th-90th percentile {expected.low:,.2f} to "
        f"{expected.high:,.2f} CNY, a pool of 13 members)"
    )
    assert "accidental_death" in result.output and "300,000.00 CNY" in result.output
    data = json.loads(invoke("pool", "quote", POOL, "--birth-date", "1990-05-01", "--json").output)
    assert data["expected"] == str(expected.expected) and data["age"] == 37


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--birth-date", "1990-13-01"],
            "Error: birth date '1990-13-01' is not a date; write it as YYYY-MM-DD\n",
        ),
        (
            ["--birth-date", "2028-01-01"],
            "Error: birth date 2028-01-01 is after today (2027-12-31); give the applicant's birth date, YYYY-MM-DD\n",
        ),
        (["--birth-date", "1850-01-01"], "Error: birth date 1850-01-01 is more than 150 years ago; check the year\n"),
    ],
    ids=["bad-date", "future", "too-old"],
)
def test_pool_quote_refuses_a_bad_birth_date_in_one_line(invoke, app, truckers_pool, make_driver, args, message):
    _pool(app, truckers_pool, make_driver)
    before = _rows(app)
    result = invoke("pool", "quote", POOL, *args)
    assert (result.exit_code, result.output) == (1, message)
    assert _rows(app) == before


def test_pool_quote_of_an_unknown_pool_is_one_line(invoke, app, truckers_pool, make_driver):
    _pool(app, truckers_pool, make_driver, members=1)
    result = invoke("pool", "quote", "nope", "--birth-date", "1990-01-01")
    assert result.exit_code == 1
    assert result.output == "Error: no pool 'nope' (existing pools: js-truckers)\n"


def test_a_society_without_incidence_is_told_how_to_give_it(app):
    app.create_pool(
        {
            "key": "liver",
            "name": "Liver friends",
            "cohort": "disease-society",
            "settings": {"disease_codes": ["B18"], "benefit": {"kind": "fixed", "amount": 1000}},
        }
    )
    with pytest.raises(StateError, match="pool 'liver' has no incidence to work from: its cohort 'disease-society'"):
        app.quote("liver", "1980-01-01")


def test_a_forecast_without_incidence_is_one_line(invoke, app):
    app.create_pool(
        {
            "key": "liver",
            "name": "Liver friends",
            "cohort": "disease-society",
            "settings": {"disease_codes": ["B18"], "benefit": {"kind": "fixed", "amount": 1000}},
        }
    )
    result = invoke("pool", "forecast", "liver", "--paths", "10")
    assert result.exit_code == 1
    assert result.output.startswith("Error: pool 'liver' has no incidence to work from:")
    assert result.output.count("\n") == 1


def test_a_society_quotes_from_the_incidence_in_its_file(app):
    app.create_pool(
        {
            "key": "liver",
            "name": "Liver friends",
            "cohort": "disease-society",
            "settings": {
                "disease_codes": ["B18"],
                "benefit": {"kind": "fixed", "amount": 50000},
                "incidence": [{"event": "progression", "bands": [{"min_age": 0, "rate": "0.02"}], "source": "a test"}],
            },
        }
    )
    result = app.quote("liver", "1980-01-01")
    assert [e.event_kind for e in result.events] == ["progression"]
    assert result.expected == Decimal("50000") * Decimal("0.02") * Decimal("1.08")


def test_a_society_file_naming_an_unknown_event_is_refused(app):
    with pytest.raises(Exception, match="incidence: unknown event kind 'death'"):
        app.create_pool(
            {
                "key": "liver",
                "name": "Liver friends",
                "cohort": "disease-society",
                "settings": {
                    "disease_codes": ["B18"],
                    "incidence": [{"event": "death", "bands": [{"min_age": 0, "rate": "0.02"}]}],
                },
            }
        )


# -- the forecast -----------------------------------------------------------------------------------


def test_pool_forecast_is_reproducible_and_validated(invoke, app, truckers_pool, make_driver):
    _pool(app, truckers_pool, make_driver)
    _death(app, 1)
    app.share(POOL, "2026-11")
    one = json.loads(
        invoke("pool", "forecast", POOL, "--periods", "6", "--paths", "300", "--seed", "5", "--json").output
    )
    two = json.loads(
        invoke("pool", "forecast", POOL, "--periods", "6", "--paths", "300", "--seed", "5", "--json").output
    )
    assert one == two
    assert len(one["forecast"]) == 6 and one["paths"] == 300
    assert one["forecast"][0]["members"][1] == 11  # the member who died no longer counts
    text = invoke("pool", "forecast", POOL, "--periods", "3", "--paths", "100").output
    assert "share per member p10 / p50 / p90" in text and "100 paths, seed 0" in text
    bad = invoke("pool", "forecast", POOL, "--periods", "0", "--paths", "0")
    assert (bad.exit_code, bad.output) == (
        1,
        "Error: periods must be from 1 to 240 (0 given)\npaths must be from 1 to 200,000 (0 given)\n",
    )


# -- the welcome notice -------------------------------------------------------------------------------


def test_the_welcome_notice_shows_the_expected_cost_at_the_members_age(app, truckers_pool, make_driver, tmp_path):
    _pool(app, truckers_pool, make_driver)
    app.render_welcome(POOL, tmp_path / "en", members=[3], locale="en")
    app.render_notices(POOL, "welcome", tmp_path / "zh", members=[3], locale="zh-CN", formats=("text", "html"))
    text = (tmp_path / "en" / "welcome-3.txt").read_text(encoding="utf-8")
    age = 43  # member 3, born 1983-01-01, on the joining day 2026-10-01
    expected = quote(
        app.pool_incidence(POOL).blended,
        age,
        "CNY",
        FeeTerms(policy="rate", rate=Decimal("0.08"), periods_per_year=12),
        13,
    ).expected
    assert (
        f"  * Funding the benefits of a member of your age ({age}) costs about {expected} CNY a year, the fee included;"
        in text
    )
    zh = (tmp_path / "zh" / "welcome-3.txt").read_text(encoding="utf-8")
    assert f"按您的年龄（{age} 岁），为一位会员的保障筹资每年约需 {expected} CNY（含管理费）" in zh
    html = (tmp_path / "zh" / "welcome-3.html").read_text(encoding="utf-8")
    assert f"每年约需 {expected} CNY</strong>" in html


# -- the hook -------------------------------------------------------------------------------------------


class _Rules(CohortRules[NoFields]):
    def eligibility_problems(self, applicant, settings):
        return []

    def decide_benefit(self, claim, settings):
        raise NotImplementedError


COHORT = Cohort("bees", "Bees", NoFields, _Rules(), (EventKind("sting", "Sting"),))


def _table(kind: str = "sting") -> IncidenceTable:
    return IncidenceTable((EventIncidence(kind, (IncidenceBand(0, None, Decimal("0.5")),), FixedBenefit(amount=10)),))


class Hive:
    @staticmethod
    @hookimpl
    def register_cohorts(register):
        register(COHORT)

    @staticmethod
    @hookimpl
    def register_incidence(register):
        register("bees", lambda settings: _table())


class Rival:
    @staticmethod
    @hookimpl
    def register_incidence(register):
        register("bees", lambda settings: _table())


class Wrong:
    @staticmethod
    @hookimpl
    def register_cohorts(register):
        register(COHORT)

    @staticmethod
    @hookimpl
    def register_incidence(register):
        register("bees", lambda settings: _table("honey"))


def test_a_cohort_registered_incidence_is_used():
    plugins = load_plugins(entry_points=False, extra=[("hive", Hive)])
    assert incidence_providers(plugins)["bees"][0] == "hive"


def test_two_plugins_registering_one_cohorts_incidence_are_both_named():
    plugins = load_plugins(entry_points=False, extra=[("hive", Hive), ("rival", Rival)])
    with pytest.raises(PluginError, match="registered by both plugin '(hive|rival)' and plugin '(hive|rival)'"):
        incidence_providers(plugins)


def test_an_event_kind_the_cohort_does_not_have_is_the_plugins_error(plugins):
    wrong = load_plugins(entry_points=False, extra=[("wrong", Wrong)])
    definition = type("D", (), {"cohort": COHORT, "settings": NoFields(), "config": type("C", (), {"key": "b"})})()
    with pytest.raises(
        PluginError, match="plugin 'wrong': its incidence of cohort 'bees' gives the incidence of 'honey'"
    ):
        prior_table(wrong, definition)


def test_validation_error_is_raised_for_a_future_birth_date(app, truckers_pool, make_driver):
    _pool(app, truckers_pool, make_driver, members=1)
    with pytest.raises(ValidationError):
        app.quote(POOL, date(2030, 1, 1))
