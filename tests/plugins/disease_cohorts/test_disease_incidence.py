"""The disease societies' prior incidence: the critical-illness default (CI1, 2006-2010), a
society's own table from its pool file, and the mistakes a pool file can make in it."""

from __future__ import annotations

from decimal import Decimal

import pydantic
import pytest

from mutualaid import ConfigError
from mutualaid.config import load_pool_file
from mutualaid.health.priors import incidence_providers
from mutualaid.health.quote import FeeTerms, quote
from mutualaid_disease_cohorts import (
    CancerPatientsSettings,
    CriticalIllnessSettings,
    DiseaseSocietySettings,
    incidence_table,
)
from mutualaid_disease_cohorts.incidence import CI1_2006_2010, CI1_SOURCE


def test_the_critical_illness_default_is_the_ci1_table():
    table = incidence_table(CriticalIllnessSettings())
    event = table.event("critical_illness")
    assert [event.rate_at(a) for a in (0, 20, 40, 50, 51, 59, 60)] == [
        Decimal(v) for v in ("0.000350", "0.000340", "0.002151", "0.007155", "0.007960", "0.016086", "0.017274")
    ]
    assert len(CI1_2006_2010) == 97 and event.rate_at(110) == CI1_2006_2010[96]
    assert table.source == CI1_SOURCE
    # the published ages on either side of the interpolated ones, and a smooth rise between them
    assert CI1_2006_2010[27] < CI1_2006_2010[28] < CI1_2006_2010[34] < CI1_2006_2010[35]


def test_xianghubaos_cover_priced_on_the_default():
    terms = FeeTerms(policy="rate", rate=Decimal("0.08"), periods_per_year=24)
    table = incidence_table(CriticalIllnessSettings())
    assert quote(table, 30, "CNY", terms, 10**8).expected == Decimal("256.28")
    assert quote(table, 51, "CNY", terms, 10**8).expected == Decimal("859.68")


def test_a_patients_society_has_no_default():
    assert incidence_table(CancerPatientsSettings()) is None
    assert incidence_table(DiseaseSocietySettings(disease_codes=["B18"])) is None


def test_the_liver_example_writes_its_own(examples, plugins):
    definition = load_pool_file(examples / "liver-patients.toml", plugins)
    table = incidence_table(definition.settings)
    event = table.event("progression")
    assert (event.rate_at(39), event.rate_at(40), event.costs) == (Decimal("0.02"), Decimal("0.04"), Decimal(60000))
    assert "Fattovich" in event.source
    # costs of 60,000 less the 5,000 deductible and the 10% co-pay, within the cap of 50,000, in full from year 3
    terms = FeeTerms(policy="rate", rate=Decimal("0.06"), periods_per_year=12)
    assert quote(table, 47, "CNY", terms, 10**6).expected == Decimal("0.04") * Decimal("49500") * Decimal("1.06")


def test_a_critical_illness_society_may_replace_the_default():
    settings = CriticalIllnessSettings(
        incidence=[{"event": "critical_illness", "bands": [{"min_age": 0, "rate": "0.1%"}], "source": "ours"}]
    )
    assert incidence_table(settings).event("critical_illness").rate_at(30) == Decimal("0.001")


@pytest.mark.parametrize(
    ("incidence", "message"),
    [
        (
            [{"event": "death", "bands": [{"rate": "0.01"}]}],
            "incidence: unknown event kind 'death'; the kinds are progression, recurrence, complication",
        ),
        (
            [
                {
                    "event": "progression",
                    "bands": [{"min_age": 0, "max_age": 39, "rate": "0.01"}, {"min_age": 41, "rate": "0.02"}],
                }
            ],
            "band 2 must start the year after band 1 ends",
        ),
        ([{"event": "progression", "bands": [{"rate": "1.5"}]}], "must be a fraction from 0 to 1"),
        ([{"event": "progression", "bands": [{"rate": 0.01}]}], 'must be a fraction such as "0.2"'),
        ([{"event": "progression", "bands": []}], "at least 1 item"),
    ],
    ids=["unknown-event", "gap", "above-1", "float", "no-bands"],
)
def test_a_bad_incidence_table_is_refused(incidence, message):
    with pytest.raises(pydantic.ValidationError) as info:
        DiseaseSocietySettings(disease_codes=["B18"], incidence=incidence)
    assert message in str(info.value)


def test_a_pool_file_with_a_bad_table_names_the_key(tmp_path, examples, plugins):
    text = (examples / "liver-patients.toml").read_text(encoding="utf-8").replace('rate = "0.04"', 'rate = "4"')
    bad = tmp_path / "liver.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_pool_file(bad, plugins)
    assert any(
        line.startswith(f"{bad}: settings.incidence[0].bands[1].rate: must be a fraction from 0 to 1")
        for line in info.value.lines
    )


def test_every_society_registers_its_incidence(plugins):
    providers = incidence_providers(plugins)
    assert {k: owner for k, (owner, _) in providers.items() if owner == "disease_cohorts"} == {
        "critical-illness": "disease_cohorts",
        "cancer-patients": "disease_cohorts",
        "disease-society": "disease_cohorts",
    }
