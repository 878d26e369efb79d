"""The decisions of the truckers cohort: who may join, the illness waiting period, what a claim is
worth, and the pool's rules in plain words."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TypeVar

import pydantic
from pydantic import BaseModel

from mutualaid import (
    Applicant,
    BenefitDecision,
    ClaimFacts,
    CohortRules,
    covered_from,
    format_minor,
    round_half_up,
    to_minor,
)

from .catalog import (
    ACCIDENT_KINDS,
    ACCIDENTAL_DEATH,
    ACCIDENTAL_DISABILITY,
    CIRCUMSTANCES,
    DEATH_KINDS,
    EVENT_KINDS,
    ILLNESS_DEATH,
    circumstance_label,
    event_title,
)
from .models import TruckerAttributes, TruckerClaimDetails
from .settings import DEFAULT_DISABILITY_GRADE_PERCENT, DISABILITY_GRADES, TruckersSettings

__all__ = ["TruckersRules"]

M = TypeVar("M", bound=BaseModel)

_PROOF_EXAMPLES = "a waybill, ETC or employer reference"


def _money(amount: Decimal, currency: str) -> str:
    """``300,000.00 CNY``."""
    return format_minor(to_minor(round_half_up(amount, currency), currency), currency, symbol=True)


def _plain(amount: Decimal, currency: str | None) -> str:
    """An amount for :meth:`TruckersRules.describe_rules`, with the currency when it is known."""
    if currency is not None:
        return _money(amount, currency)
    return f"{amount:,.2f}"


def _model(value: BaseModel, model: type[M]) -> M:
    """``value`` as an instance of ``model`` (re-validated when the core passed another model)."""
    if isinstance(value, model):
        return value
    return model.model_validate(value.model_dump())


class TruckersRules(CohortRules[TruckersSettings]):
    """Eligibility and benefits of a truck drivers' pool; every threshold and amount is a setting."""

    # -- joining ----------------------------------------------------------------------------------

    def eligibility_problems(self, applicant: Applicant, settings: TruckersSettings) -> list[str]:
        problems: list[str] = []
        joined = applicant.joined_on
        age = applicant.age
        if age < settings.min_age:
            problems.append(f"age {age} on the joining day {joined} is below the minimum of {settings.min_age}")
        if age > settings.max_age:
            problems.append(f"age {age} on the joining day {joined} is above the maximum of {settings.max_age}")
        try:
            attrs = _model(applicant.attributes, TruckerAttributes)
        except pydantic.ValidationError as exc:
            problems.append(
                "the driving licence details are missing or invalid "
                f"({exc.error_count()} problem(s)); give licence_class, licence_number and licence_expires"
            )
            return problems
        if attrs.licence_class not in settings.accepted_licence_classes:
            problems.append(
                f"licence class {attrs.licence_class} is not accepted; accepted classes: "
                + ", ".join(settings.accepted_licence_classes)
            )
        starts = covered_from(joined)
        if attrs.licence_expires < joined:
            problems.append(
                f"the driving licence is valid only until {attrs.licence_expires}, before the joining day "
                f"{joined}; renew it before joining"
            )
        elif attrs.licence_expires < starts:
            problems.append(
                f"the driving licence is valid only until the joining day {joined}, so it has expired when "
                f"cover starts on {starts}; renew it before joining"
            )
        if settings.require_driving_proof and not attrs.driving_proof:
            problems.append(
                f"proof of active driving is required ({_PROOF_EXAMPLES}); give its reference as driving_proof"
            )
        return problems

    def waiting_period_days(self, applicant: Applicant, settings: TruckersSettings) -> int:
        """The illness waiting period; accidents are covered from the day after joining."""
        return settings.illness_waiting_days

    # -- claims -----------------------------------------------------------------------------------

    def decide_benefit(self, claim: ClaimFacts, settings: TruckersSettings) -> BenefitDecision:
        kind = claim.event_kind
        currency = claim.currency
        when = claim.event_date
        member = claim.member
        known_kinds = [k.key for k in EVENT_KINDS]
        if kind not in known_kinds:
            return BenefitDecision.deny(
                [f"event kind {kind!r} is not covered by a truckers pool; covered kinds: {', '.join(known_kinds)}"]
            )
        title = event_title(kind)
        ends = kind in DEATH_KINDS
        problems: list[str] = []
        notes: list[str] = []

        # The details as filed. The claim model already checks them; the checks are repeated so a
        # claim stored before a change of rules is still decided with a reason.
        grade: int | None = None
        circumstances: list[str] = []
        try:
            details = _model(claim.details, TruckerClaimDetails)
        except pydantic.ValidationError as exc:
            details = None
            problems.append(f"the claim details are invalid: {_first_error(exc)}")
        if details is not None:
            grade = details.disability_grade
            circumstances = list(dict.fromkeys(details.circumstances))
        if kind == ACCIDENTAL_DISABILITY:
            if grade is None and details is not None:
                problems.append(
                    f"an accidental disability claim needs the disability grade (1 to {DISABILITY_GRADES} under "
                    "JR/T 0083-2013), and none was given"
                )
            elif grade is not None and not 1 <= grade <= DISABILITY_GRADES:
                problems.append(
                    f"disability grade {grade} is not a grade of the disability table (1 to {DISABILITY_GRADES})"
                )
                grade = None
        elif grade is not None:
            problems.append(
                f"a disability grade ({grade}) was given, but a claim for {title} takes none; remove it, or "
                "file the claim as an accidental disability"
            )

        # When the event happened.
        starts = covered_from(member.joined_on)
        if when < starts:
            problems.append(
                f"the {title} on {when} happened before cover started on {starts} (the day after joining "
                f"on {member.joined_on})"
            )
        elif kind == ILLNESS_DEATH and member.in_waiting_period(when):
            problems.append(
                f"died of illness on {when}, inside the illness waiting period that ends on {member.waiting_until}"
            )

        # Circumstances: reported ones, and an expired licence, which counts as unlicensed driving.
        for key in circumstances:
            if key not in CIRCUMSTANCES:
                problems.append(
                    f"circumstance {key!r} is not one the truckers cohort knows; known circumstances: "
                    + ", ".join(CIRCUMSTANCES)
                )
            elif key in settings.exclusions:
                problems.append(f"the claim reports {circumstance_label(key)} ({key}), which this pool does not cover")
            else:
                notes.append(f"the claim reports {circumstance_label(key)} ({key}), which this pool does not exclude")
        if kind in ACCIDENT_KINDS and settings.licence_must_be_valid_on_event_date:
            expires = _licence_expires(member.attributes)
            if expires is None:
                problems.append(
                    "the member's driving licence details are missing, so it cannot be checked that the licence "
                    f"was valid on {when}"
                )
            elif expires < when:
                unlicensed = (
                    f"the driving licence was valid only until {expires}, before the {title} on {when}, "
                    f"which counts as {circumstance_label('unlicensed_driving')}"
                )
                if "unlicensed_driving" in settings.exclusions:
                    problems.append(f"{unlicensed}; this pool does not cover it")
                else:
                    notes.append(f"{unlicensed}; this pool does not exclude it")

        # The amount.
        full = Decimal(0)
        basis = ""
        if kind == ACCIDENTAL_DEATH:
            full = settings.accidental_death_benefit
            basis = "the pool's accidental death benefit"
        elif kind == ILLNESS_DEATH:
            full = settings.illness_death_benefit
            basis = "the pool's death-from-illness benefit"
        elif grade is not None:
            percent = settings.disability_percent(grade)
            full = settings.disability_benefit(grade)
            basis = (
                f"{percent}% of the pool's disability benefit of {_money(settings.disability_base_benefit, currency)} "
                f"for grade {grade}"
            )
        full = round_half_up(full, currency)
        if basis and full == 0:
            problems.append(f"the {title} on {when} pays nothing under this pool's rules ({basis} is 0)")

        paid = claim.prior_total
        remaining = max(settings.combined_cap - paid, Decimal(0))
        if remaining == 0:
            problems.append(
                f"the combined cap of {_money(settings.combined_cap, currency)} per member is used up: "
                f"{_money(paid, currency)} has already been paid to this member"
            )

        if problems:
            # A death ends the membership even when the claim is not paid.
            return BenefitDecision(False, Decimal(0), Decimal(0), tuple(problems), ends)

        amount = min(full, round_half_up(remaining, currency))
        cap = round_half_up(min(self._kind_maximum(kind, settings), remaining), currency)
        described = f"{title} of grade {grade} on {when}" if kind == ACCIDENTAL_DISABILITY else f"{title} on {when}"
        if kind == ILLNESS_DEATH and member.waiting_until >= starts:
            described += f", after the illness waiting period that ended on {member.waiting_until}"
        reasons = [f"{described}: benefit {_money(full, currency)} ({basis})"]
        if amount < full:
            reasons.append(
                f"the combined cap of {_money(settings.combined_cap, currency)} per member leaves "
                f"{_money(remaining, currency)} after the {_money(paid, currency)} already paid to this member, "
                f"so the benefit is reduced from {_money(full, currency)} to {_money(amount, currency)}"
            )
        reasons.extend(notes)
        return BenefitDecision.pay(amount, cap=cap, reasons=reasons, ends_membership=ends)

    @staticmethod
    def _kind_maximum(kind: str, settings: TruckersSettings) -> Decimal:
        if kind == ACCIDENTAL_DEATH:
            return settings.accidental_death_benefit
        if kind == ILLNESS_DEATH:
            return settings.illness_death_benefit
        return settings.disability_benefit(1)

    # -- plain words ------------------------------------------------------------------------------

    def describe_rules(self, settings: TruckersSettings, locale: str, currency: str | None = None) -> list[str]:
        """The pool's rules, one sentence per item, in ``"zh-CN"`` or ``"en"`` (other locales: English).

        ``currency`` (not passed by the core yet) adds the currency code to the amounts.
        """
        if locale == "zh-CN":
            return _describe_zh(settings, currency)
        return _describe_en(settings, currency)


def _first_error(exc: pydantic.ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def _licence_expires(attributes: BaseModel) -> date | None:
    """The member's licence expiry, or ``None`` when the stored attributes do not hold a valid one
    (the core passes unvalidated attributes, built with ``model_construct``, when they no longer
    validate)."""
    try:
        attrs = _model(attributes, TruckerAttributes)
    except pydantic.ValidationError:
        return None
    expires = getattr(attrs, "licence_expires", None)
    return expires if isinstance(expires, date) else None


def _grade_table(settings: TruckersSettings) -> str:
    return "/".join(str(p) for p in settings.disability_grade_percent)


def _describe_en(s: TruckersSettings, currency: str | None) -> list[str]:
    def m(amount: Decimal) -> str:
        return _plain(amount, currency)

    classes = _join_en(list(s.accepted_licence_classes), "or")
    lines = [
        f"Who may join: truck drivers aged {s.min_age} to {s.max_age} on the joining day.",
        f"Applicants need a Chinese driving licence of class {classes} that is still valid on the first day of cover.",
    ]
    if s.require_driving_proof:
        lines.append(f"Applicants give proof of active driving when they join ({_PROOF_EXAMPLES}).")
    lines.append(f"Accidental death: a benefit of {m(s.accidental_death_benefit)}.")
    table = _grade_table(s)
    is_standard = s.disability_grade_percent == DEFAULT_DISABILITY_GRADE_PERCENT
    standard = " (the grades of JR/T 0083-2013)" if is_standard else ""
    lines.append(
        f"Accidental disability: grades 1 to 10{standard} pay {table}% of {m(s.disability_base_benefit)}, "
        f"so grade 1 pays {m(s.disability_benefit(1))} and grade 10 "
        f"pays {m(s.disability_benefit(DISABILITY_GRADES))}."
    )
    lines.append(f"Death from illness: a benefit of {m(s.illness_death_benefit)}.")
    if s.illness_waiting_days:
        lines.append(
            f"Accidents are covered from the day after joining; illness only after a waiting period of "
            f"{s.illness_waiting_days} days counted from the day after joining, so a death from illness on or "
            "before its last day is not covered."
        )
    else:
        lines.append("Accidents and illness are covered from the day after joining; there is no waiting period.")
    if s.exclusions:
        lines.append(
            "No benefit is paid when the event involves any of: "
            + "; ".join(circumstance_label(k) for k in s.exclusions)
            + "."
        )
    else:
        lines.append("No circumstances are excluded.")
    if s.licence_must_be_valid_on_event_date:
        lines.append(
            "An accident after the member's driving licence expired counts as driving without a valid licence."
        )
    lines.append(
        f"One member receives at most {m(s.combined_cap)} in total over all claims; a later benefit is "
        "reduced by what was already paid."
    )
    return lines


def _describe_zh(s: TruckersSettings, currency: str | None) -> list[str]:
    def m(amount: Decimal) -> str:
        if currency is None or currency == "CNY":
            return f"{_plain(amount, None)} 元"
        return _plain(amount, currency)

    classes = _join_zh(list(s.accepted_licence_classes), "或")
    lines = [
        f"加入条件：加入当日年满 {s.min_age} 周岁、不超过 {s.max_age} 周岁的货车司机。",
        f"须持有 {classes} 类驾驶证，且在保障开始之日仍在有效期内。",
    ]
    if s.require_driving_proof:
        lines.append("加入时须提供在职驾驶证明（运单、ETC 记录或雇主证明）。")
    lines.append(f"意外身故：互助金 {m(s.accidental_death_benefit)}。")
    table = _grade_table(s)
    is_standard = s.disability_grade_percent == DEFAULT_DISABILITY_GRADE_PERCENT
    standard = "（按 JR/T 0083-2013 伤残等级）" if is_standard else ""
    lines.append(
        f"意外伤残{standard}：1 至 10 级分别按 {m(s.disability_base_benefit)}的 {table}% 给付，"
        f"1 级 {m(s.disability_benefit(1))}，"
        f"10 级 {m(s.disability_benefit(DISABILITY_GRADES))}。"
    )
    lines.append(f"疾病身故：互助金 {m(s.illness_death_benefit)}。")
    if s.illness_waiting_days:
        lines.append(
            f"意外自加入次日起即受保障；疾病等待期为 {s.illness_waiting_days} 天，自加入次日起算，"
            "等待期内（含最后一天）因病身故不予互助。"
        )
    else:
        lines.append("意外和疾病均自加入次日起受保障，无等待期。")
    if s.exclusions:
        lines.append("以下情形不予互助：" + "、".join(circumstance_label(k, "zh-CN") for k in s.exclusions) + "。")
    else:
        lines.append("无除外情形。")
    if s.licence_must_be_valid_on_event_date:
        lines.append("驾驶证过期后发生的意外，视为无有效驾驶证驾驶。")
    lines.append(f"每位会员所有互助申请累计最多获得 {m(s.combined_cap)}；之后的互助金扣除已获得的金额。")
    return lines


def _join_en(items: list[str], conjunction: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def _join_zh(items: list[str], conjunction: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return "、".join(items[:-1]) + f" {conjunction} " + items[-1]
