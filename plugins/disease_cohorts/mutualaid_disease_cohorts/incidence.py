"""Prior incidence of the disease societies: the critical-illness society's published default, and
every society's own table from its pool file (``[[settings.incidence]]``).

The core asks through the ``register_incidence`` hook and blends what it gets with the pool's own
claims (see the core's docs/honest-cost.md). The table here, for a critical-illness society that
writes none, is the **6 diseases male table (CI1) of the China Life Insurance Experienced Critical
Illness Table (2006-2010)** (《中国人身保险业重大疾病经验发生率表（2006-2010）》, issued by the China
Insurance Regulatory Commission, 保监发〔2013〕81号): the annual probability ``ix`` that an insured man
of each age is diagnosed with one of the six most common critical illnesses (malignant tumour,
acute myocardial infarction, stroke sequelae, coronary artery bypass, end-stage renal failure,
major organ transplant), which make up over 70% of the claims for the 25 standard illnesses. The
values at ages 28-34 and 63-69 were not legible in the copy we could read and are interpolated
geometrically between the published ages on either side (27 and 35, 62 and 70). A society of
other people (women, a region, more illnesses) should write its own table in its pool file.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mutualaid import Amount, EventIncidence, IncidenceBand, IncidenceTable, Rate

from .catalog import CRITICAL_ILLNESS

__all__ = ["CI1_2006_2010", "CI1_SOURCE", "IncidenceBandSetting", "IncidenceSetting", "incidence_table"]

CI1_SOURCE = (
    "China Life Insurance Experienced Critical Illness Table (2006-2010), 6 diseases, male (CI1), "
    "CIRC 保监发〔2013〕81号; ages 28-34 and 63-69 interpolated"
)

#: CI1 (2006-2010): ``ix`` by age 0 to 96 as published, ages 28-34 and 63-69 interpolated (None here).
_PUBLISHED: dict[int, str] = {
    0: "0.000350", 1: "0.000312", 2: "0.000276", 3: "0.000244", 4: "0.000229", 5: "0.000223",
    6: "0.000217", 7: "0.000213", 8: "0.000210", 9: "0.000209", 10: "0.000210", 11: "0.000212",
    12: "0.000217", 13: "0.000224", 14: "0.000232", 15: "0.000244", 16: "0.000257", 17: "0.000274",
    18: "0.000293", 19: "0.000315", 20: "0.000340", 21: "0.000368", 22: "0.000399", 23: "0.000434",
    24: "0.000472", 25: "0.000514", 26: "0.000560", 27: "0.000610",
    35: "0.001218", 36: "0.001351", 37: "0.001508", 38: "0.001691", 39: "0.001905", 40: "0.002151",
    41: "0.002434", 42: "0.002757", 43: "0.003123", 44: "0.003535", 45: "0.003997", 46: "0.004512",
    47: "0.005084", 48: "0.005715", 49: "0.006406", 50: "0.007155", 51: "0.007960", 52: "0.008818",
    53: "0.009726", 54: "0.010681", 55: "0.011682", 56: "0.012725", 57: "0.013809", 58: "0.014930",
    59: "0.016086", 60: "0.017274", 61: "0.018492", 62: "0.019737",
    70: "0.034692", 71: "0.036997", 72: "0.039483", 73: "0.041442", 74: "0.043501", 75: "0.045666",
    76: "0.047943", 77: "0.050338", 78: "0.052172", 79: "0.054090", 80: "0.056377", 81: "0.058783",
    82: "0.061314", 83: "0.063460", 84: "0.065722", 85: "0.068104", 86: "0.070612", 87: "0.073252",
    88: "0.076030", 89: "0.078952", 90: "0.081576", 91: "0.084315", 92: "0.087175", 93: "0.090160",
    94: "0.093276", 95: "0.096528", 96: "0.099922",
}  # fmt: skip


def _interpolated(low: int, high: int, age: int) -> Decimal:
    """Geometric interpolation between the published ages ``low`` and ``high``, to 6 places."""
    a, b = Decimal(_PUBLISHED[low]), Decimal(_PUBLISHED[high])
    step = (b / a) ** (Decimal(1) / Decimal(high - low))
    return (a * step ** (age - low)).quantize(Decimal("0.000001"))


def _ci1() -> dict[int, Decimal]:
    rates = {age: Decimal(rate) for age, rate in _PUBLISHED.items()}
    for low, high in ((27, 35), (62, 70)):
        for age in range(low + 1, high):
            rates[age] = _interpolated(low, high, age)
    return dict(sorted(rates.items()))


#: The CI1 (2006-2010) rates by age, 0 to 96 (96 and older: the rate at 96).
CI1_2006_2010: dict[int, Decimal] = _ci1()


class IncidenceBandSetting(BaseModel):
    """One age band of ``[[settings.incidence]]``: ``{min_age, max_age, rate}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_age: int = Field(0, ge=0, le=120, description="Youngest age of the band (included).")
    max_age: int | None = Field(None, ge=0, le=120, description="Oldest age (included); none: no upper limit.")
    rate: Rate = Field(description='Annual probability per member, from 0 to 1, e.g. "0.0008" or "0.08%".')


class IncidenceSetting(BaseModel):
    """The prior incidence of one event kind, as a society writes it in its pool file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str = Field(description="The event kind, e.g. progression.")
    bands: tuple[IncidenceBandSetting, ...] = Field(
        min_length=1, description="Age bands youngest first, without gaps: [{min_age, max_age, rate}, ...]."
    )
    costs: Amount | None = Field(
        None, description="Typical self-paid costs of one event, for a benefit that reimburses costs."
    )
    benefit_share: Rate = Field(Decimal(1), description="Share of the benefit an event pays on average (0 to 1).")
    source: str = Field("", max_length=500, description="Where the rates come from.")

    @field_validator("benefit_share")
    @classmethod
    def _share(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("must be above 0")
        return value

    @model_validator(mode="after")
    def _contiguous(self) -> IncidenceSetting:
        for number, (before, after) in enumerate(zip(self.bands, self.bands[1:], strict=False), start=2):
            if before.max_age is None or after.min_age != before.max_age + 1:
                raise ValueError(
                    f"band {number} must start the year after band {number - 1} ends (bands without gaps or overlaps)"
                )
        return self


def _ci1_table(benefit: Any) -> IncidenceTable:
    ages = sorted(CI1_2006_2010)
    bands = [IncidenceBand(age, age if age != ages[-1] else None, CI1_2006_2010[age]) for age in ages]
    event = EventIncidence(CRITICAL_ILLNESS, tuple(bands), benefit, source=CI1_SOURCE)
    return IncidenceTable((event,), source=CI1_SOURCE)


def incidence_table(settings: Any) -> IncidenceTable | None:
    """The prior incidence of a society with ``settings``: its own ``incidence`` table when it
    writes one, otherwise the CI1 default for a critical-illness society and none for a patients'
    society (whose disease the plugin cannot know)."""
    own: tuple[IncidenceSetting, ...] = getattr(settings, "incidence", ())
    if own:
        events = tuple(
            EventIncidence(
                item.event,
                tuple(IncidenceBand(b.min_age, b.max_age, b.rate) for b in item.bands),
                settings.benefit,
                benefit_share=item.benefit_share,
                costs=item.costs,
                source=item.source,
            )
            for item in own
        )
        return IncidenceTable(events, source="; ".join(sorted({i.source for i in own if i.source})))
    if hasattr(settings, "covered_illnesses"):
        return _ci1_table(settings.benefit)
    return None
