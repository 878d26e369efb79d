"""The rules of a disease society in plain words, for the welcome notice: one sentence per item,
in Chinese (``zh-CN``) or English, built from the pool's settings."""

from __future__ import annotations

from mutualaid import EventKind

from .settings import (
    CASE_KEYS,
    CriticalIllnessSettings,
    PatientSocietySettings,
    SocietySettings,
    age_limit,
)

__all__ = ["case_label", "describe_critical_illness", "describe_patient_society"]


def case_label(case: str, settings: SocietySettings, locale: str = "en") -> str:
    """What one of the six refund cases means, as part of a sentence."""
    months = settings.refund_cases.late_report_months
    labels = {
        "failed_health_conditions": (
            "the member did not meet the health conditions (a condition that existed before joining was not declared)",
            "未如实健康告知（加入前已有的情况未告知）",
        ),
        "late_report": (
            f"the claim was reported more than {months} months after the diagnosis",
            f"确诊后超过 {months} 个月才申请",
        ),
        "diagnosed_while_frozen": (
            "the diagnosis fell while the member's rights were frozen",
            "确诊时会员权益处于冻结状态",
        ),
        "diagnosed_in_waiting_period": ("the diagnosis fell in the waiting period", "在等待期（观察期）内确诊"),
        "hereditary_or_congenital": ("the condition is hereditary or congenital", "属于遗传性或先天性疾病"),
        "former_member": ("the member had been a member of this society before", "退出本社后再次加入的原会员"),
    }
    en, zh = labels[case]
    return zh if locale == "zh-CN" else en


def _join(items: list[str], locale: str, sep: str = ", ") -> str:
    if locale == "zh-CN":
        return "、".join(items)
    if len(items) <= 1:
        return "".join(items)
    return sep.join(items[:-1]) + f"{sep.strip()} or " + items[-1] if len(items) > 2 else f"{items[0]} or {items[1]}"


def _ages(settings: SocietySettings, locale: str) -> str:
    number, unit = age_limit(settings.min_age)
    top = settings.max_age
    if locale == "zh-CN":
        low = f"出生满 {number} 天" if unit == "days" else f"年满 {number} 周岁"
        return f"加入当日{low}、未满 {top + 1} 周岁"
    low = f"{number} days" if unit == "days" else f"{number} years"
    return f"aged from {low} to {top} years on the joining day (not yet {top + 1})"


def _declaration(settings: SocietySettings, locale: str) -> list[str]:
    questions = settings.health_questions
    if not questions:
        return ["本社不要求健康告知。" if locale == "zh-CN" else "The society asks no health questions."]
    excluding = [q.text(locale) for q in questions if q.excludes]
    kept = [q.text(locale) for q in questions if not q.excludes]
    if locale == "zh-CN":
        text = f"健康告知：加入时须回答全部 {len(questions)} 个问题并确认。"
        if excluding:
            text += "以下任一问题回答“是”则不能加入：" + "".join(f"“{q}”" for q in excluding) + "。"
        if kept:
            text += "以下问题的回答仅作记录：" + "".join(f"“{q}”" for q in kept) + "。"
        return [
            text,
            "健康告知的回答随会员资格保存；申请互助时，如查明加入前已存在的情况未如实告知，不予互助。",
        ]
    text = f"Health declaration: applicants answer all {len(questions)} questions and confirm their answers."
    if excluding:
        text += " A yes to any of these keeps an applicant out: " + " ".join(f"\u201c{q}\u201d" for q in excluding)
    if kept:
        text += " These answers are only kept on record: " + " ".join(f"\u201c{q}\u201d" for q in kept)
    return [
        text,
        "The answers are kept with the membership; a claim is refused when the investigation finds a condition "
        "that existed before joining and was not declared.",
    ]


def _waiting(settings: SocietySettings, locale: str, name_en: str, name_zh: str) -> str:
    days, older, age = settings.waiting_days, settings.older_waiting_days, settings.older_from_age
    if locale == "zh-CN":
        if older is None or older == days:
            span = f"{days} 天"
        else:
            span = f"加入时未满 {age} 周岁的会员 {days} 天，{age} 周岁及以上的会员 {older} 天"
        return f"{name_zh}：{span}，自加入次日起算（含最后一天）；{name_zh}内确诊的不予互助。"
    if older is None or older == days:
        span = f"{days} days"
    else:
        span = f"{days} days for members who join under {age}, {older} days for those who join at {age} or older"
    return (
        f"{name_en.capitalize()}: {span}, counted from the day after joining with its last day included; "
        f"nothing diagnosed in the {name_en} is covered."
    )


def _benefit(settings: SocietySettings, locale: str, currency: str | None) -> str:
    text = settings.benefit.describe(locale, currency)
    if locale == "zh-CN":
        return f"互助金：{text}。"
    return f"Benefit: {text}."


def _tail(settings: SocietySettings, locale: str) -> list[str]:
    cases = settings.refund_cases
    lines: list[str] = []
    if cases.late_report != "off":
        months = cases.late_report_months
        lines.append(
            f"确诊后须在 {months} 个月内申请互助，逾期不予互助。"
            if locale == "zh-CN"
            else f"Report a diagnosis within {months} months; a later report is refused."
        )
    if cases.hereditary_or_congenital != "off":
        lines.append(
            "遗传性或先天性疾病不予互助。"
            if locale == "zh-CN"
            else "Hereditary and congenital conditions are not covered."
        )
    refunded = [case_label(c, settings, locale) for c in CASE_KEYS if cases.action(c) == "refund"]
    if refunded:
        lines.append(
            "因以下情形不予互助的，退还该会员在本互助社已分摊的全部费用：" + _join(refunded, locale) + "。"
            if locale == "zh-CN"
            else "A member whose claim is refused in one of these cases gets back everything they contributed to "
            "this pool: " + _join(refunded, locale, "; ") + "."
        )
    else:
        lines.append(
            "不予互助的申请不退还已分摊的费用。"
            if locale == "zh-CN"
            else "A refused claim does not refund the member's contributions."
        )
    if locale == "zh-CN":
        text = "每人在本社同时只能持有一个会员资格；退出的会员可以重新加入"
        text += "，但其后的互助申请不予受理。" if cases.former_member != "off" else "。"
    else:
        text = "One membership per person: a person holds one membership of this society at a time; a former member may join again"
        text += ", but their claims are refused." if cases.former_member != "off" else "."
    lines.append(text)
    return lines


def describe_critical_illness(settings: CriticalIllnessSettings, locale: str, currency: str | None) -> list[str]:
    """The rules of a critical-illness society in ``locale``."""
    titles = [settings.illness_title(key, locale) or key for key in settings.covered_keys()]
    zh = locale == "zh-CN"
    lines = [
        f"加入条件：{_ages(settings, locale)}、身体健康并通过健康告知的人士。"
        if zh
        else f"Who may join: healthy people {_ages(settings, locale)} who pass the health declaration.",
        *_declaration(settings, locale),
        _waiting(settings, locale, "waiting period", "等待期"),
    ]
    if settings.accidents_covered_in_waiting_period:
        lines.append(
            "意外导致的重大疾病自加入次日起即受保障，不受等待期限制。"
            if zh
            else "An illness caused by an accident is covered from the day after joining, inside the waiting period."
        )
    lines.append(
        f"保障的重大疾病（{len(titles)} 种）：" + "、".join(titles) + "。"
        if zh
        else f"Covered illnesses ({len(titles)}): " + "; ".join(titles) + "."
    )
    lines.append(_benefit(settings, locale, currency))
    if settings.once_per_member:
        lines.append("每位会员只获得一次重大疾病互助金。" if zh else "A member is paid for one critical illness only.")
    return lines + _tail(settings, locale)


def describe_patient_society(
    settings: PatientSocietySettings, kinds: tuple[EventKind, ...], locale: str, currency: str | None
) -> list[str]:
    """The rules of a patients' society in ``locale``."""
    zh = locale == "zh-CN"
    disease = settings.disease_title(locale)
    codes = ", ".join(settings.disease_codes)
    claim_codes = ", ".join(settings.claim_codes or settings.disease_codes)
    events = [k.title_for(locale) if zh else k.title_for(locale).lower() for k in kinds if settings.covers(k.key)]
    lines = [
        f"加入条件：已确诊{disease}（ICD-10 {codes}）、{_ages(settings, locale)}并通过健康告知的患者。"
        if zh
        else f"Who may join: people with a confirmed diagnosis of {disease} (ICD-10 {codes}), "
        f"{_ages(settings, locale)}, who pass the health declaration.",
        *_declaration(settings, locale),
        _waiting(settings, locale, "observation period", "观察期"),
        f"保障范围：本社疾病的{'、'.join(events)}；申请互助的诊断须属于 ICD-10 {claim_codes}。"
        if zh
        else f"Covered events: {_join(events, locale)}, of the society's disease only: the diagnosis of a claim "
        f"must be one of ICD-10 {claim_codes}.",
        _benefit(settings, locale, currency),
    ]
    return lines + _tail(settings, locale)
