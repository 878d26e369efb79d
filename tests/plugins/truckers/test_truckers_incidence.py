"""The truckers cohort's prior incidence: documented estimates, each event paying the pool's own
benefit, registered through the core's register_incidence hook."""

from __future__ import annotations

from decimal import Decimal

from mutualaid.health.priors import incidence_providers
from mutualaid.health.quote import FeeTerms, quote
from mutualaid_truckers import TruckersSettings, incidence_table


def test_the_default_rates_and_benefits():
    table = incidence_table(TruckersSettings())
    assert table.kinds == ("accidental_death", "accidental_disability", "illness_death")
    death, disability, illness = table.events
    assert (death.rate_at(18), death.rate_at(60), death.covered_in_waiting) == (
        Decimal("0.0005"),
        Decimal("0.0005"),
        True,
    )
    assert (disability.rate_at(40), disability.benefit_share) == (Decimal("0.0010"), Decimal("0.3"))
    assert [illness.rate_at(a) for a in (25, 35, 45, 55, 65)] == [
        Decimal(v) for v in ("0.0006", "0.0010", "0.0024", "0.0058", "0.0130")
    ]
    assert illness.covered_in_waiting is False
    assert "BLS" in death.source and "WHO" in death.source


def test_a_40_year_old_drivers_cover_as_the_readme_prices_it():
    terms = FeeTerms(policy="rate", rate=Decimal("0.08"), periods_per_year=12)
    assert quote(incidence_table(TruckersSettings()), 40, "CNY", terms, 10**7).expected == Decimal("1036.80")


def test_the_pools_own_benefits_are_priced():
    settings = TruckersSettings(accidental_death_benefit=100000, combined_cap=300000)
    terms = FeeTerms(policy="none", periods_per_year=12)
    priced = quote(incidence_table(settings), 40, "CNY", terms, 10**7)
    assert priced.events[0].benefit == Decimal("100000.00") and priced.events[0].yearly == Decimal("50.00")


def test_the_plugin_registers_it(plugins):
    owner, rates = incidence_providers(plugins)["truckers"]
    assert owner == "truckers" and rates is incidence_table
