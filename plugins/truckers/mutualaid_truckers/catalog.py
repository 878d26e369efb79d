"""The fixed vocabularies of the truckers cohort: driving licence classes, claim circumstances and
the kinds of events members may claim for."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mutualaid import EventKind

__all__ = [
    "ACCIDENTAL_DEATH",
    "ACCIDENTAL_DISABILITY",
    "ACCIDENT_KINDS",
    "CIRCUMSTANCES",
    "DEATH_KINDS",
    "DEFAULT_EXCLUSIONS",
    "EVENT_KINDS",
    "ILLNESS_DEATH",
    "LICENCE_CLASSES",
    "circumstance_label",
    "event_title",
]

#: Classes of the driving licence of the People's Republic of China (准驾车型), as issued under the
#: Ministry of Public Security's rules on applying for and using driving licences (2022 edition).
LICENCE_CLASSES: tuple[str, ...] = (
    "A1",
    "A2",
    "A3",
    "B1",
    "B2",
    "C1",
    "C2",
    "C3",
    "C4",
    "C5",
    "C6",
    "D",
    "E",
    "F",
    "M",
    "N",
    "P",
)

#: Circumstances of an event a claim may report, with their English and Chinese labels. A pool
#: excludes some of them (setting ``exclusions``); a claim reporting an excluded one is not paid.
CIRCUMSTANCES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "drunk_driving": {"en": "drunk driving", "zh-CN": "酒后驾驶"},
        "drugged_driving": {"en": "driving under the influence of drugs", "zh-CN": "吸毒后驾驶"},
        "unlicensed_driving": {"en": "driving without a valid licence", "zh-CN": "无有效驾驶证驾驶"},
        "self_inflicted": {"en": "self-inflicted injury or suicide", "zh-CN": "故意自伤或自杀"},
        "criminal_act": {"en": "committing a crime", "zh-CN": "故意犯罪"},
        "racing": {"en": "racing or stunt driving", "zh-CN": "飙车或竞速"},
        "overloading": {"en": "driving a seriously overloaded vehicle", "zh-CN": "严重超载驾驶"},
    }
)

#: The circumstances a pool excludes unless its settings say otherwise.
DEFAULT_EXCLUSIONS: tuple[str, ...] = ("drunk_driving", "drugged_driving", "unlicensed_driving", "self_inflicted")

ACCIDENTAL_DEATH = "accidental_death"
ACCIDENTAL_DISABILITY = "accidental_disability"
ILLNESS_DEATH = "illness_death"

EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind(ACCIDENTAL_DEATH, "Accidental death", {"zh-CN": "意外身故"}),
    EventKind(ACCIDENTAL_DISABILITY, "Accidental disability", {"zh-CN": "意外伤残"}),
    EventKind(ILLNESS_DEATH, "Death from illness", {"zh-CN": "疾病身故"}),
)

#: Events caused by an accident: covered from the day after joining, no waiting period.
ACCIDENT_KINDS = frozenset({ACCIDENTAL_DEATH, ACCIDENTAL_DISABILITY})
#: Events that end the membership.
DEATH_KINDS = frozenset({ACCIDENTAL_DEATH, ILLNESS_DEATH})


def circumstance_label(key: str, locale: str = "en") -> str:
    """The label of a known circumstance in ``locale`` (English when the locale is unknown)."""
    labels = CIRCUMSTANCES[key]
    return labels.get(locale, labels["en"])


def event_title(key: str, locale: str = "en") -> str:
    """The title of one of the cohort's event kinds, lower-cased in English for use inside a sentence."""
    for kind in EVENT_KINDS:
        if kind.key == key:
            title = kind.title_for(locale)
            return title.lower() if locale == "en" else title
    raise KeyError(key)
