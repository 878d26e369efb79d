"""The pool's rules in plain words (welcome notices show them), in zh-CN and en."""

from __future__ import annotations

from mutualaid_truckers import TruckersSettings

EN_DEFAULTS = [
    "Who may join: truck drivers aged 18 to 60 on the joining day.",
    "Applicants need a Chinese driving licence of class A1, A2, B1 or B2 that is still valid on the first day "
    "of cover.",
    "Applicants give proof of active driving when they join (a waybill, ETC or employer reference).",
    "Accidental death: a benefit of 300,000.00.",
    "Accidental disability: grades 1 to 10 (the grades of JR/T 0083-2013) pay "
    "100/90/80/70/60/50/40/30/20/10% of 300,000.00, so grade 1 pays 300,000.00 and grade 10 pays 30,000.00.",
    "Death from illness: a benefit of 300,000.00.",
    "Accidents are covered from the day after joining; illness only after a waiting period of 90 days counted "
    "from the day after joining, so a death from illness on or before its last day is not covered.",
    "No benefit is paid when the event involves any of: drunk driving; driving under the influence of drugs; "
    "driving without a valid licence; self-inflicted injury or suicide.",
    "An accident after the member's driving licence expired counts as driving without a valid licence.",
    "One member receives at most 300,000.00 in total over all claims; a later benefit is reduced by what was "
    "already paid.",
]

ZH_DEFAULTS = [
    "加入条件：加入当日年满 18 周岁、不超过 60 周岁的货车司机。",
    "须持有 A1、A2、B1 或 B2 类驾驶证，且在保障开始之日仍在有效期内。",
    "加入时须提供在职驾驶证明（运单、ETC 记录或雇主证明）。",
    "意外身故：互助金 300,000.00 元。",
    "意外伤残（按 JR/T 0083-2013 伤残等级）：1 至 10 级分别按 300,000.00 元的 100/90/80/70/60/50/40/30/20/10% 给付，"
    "1 级 300,000.00 元，10 级 30,000.00 元。",
    "疾病身故：互助金 300,000.00 元。",
    "意外自加入次日起即受保障；疾病等待期为 90 天，自加入次日起算，等待期内（含最后一天）因病身故不予互助。",
    "以下情形不予互助：酒后驾驶、吸毒后驾驶、无有效驾驶证驾驶、故意自伤或自杀。",
    "驾驶证过期后发生的意外，视为无有效驾驶证驾驶。",
    "每位会员所有互助申请累计最多获得 300,000.00 元；之后的互助金扣除已获得的金额。",
]


def test_default_rules_in_english(rules, settings):
    assert rules.describe_rules(settings, "en") == EN_DEFAULTS


def test_default_rules_in_chinese(rules, settings):
    assert rules.describe_rules(settings, "zh-CN") == ZH_DEFAULTS


def test_unknown_locale_falls_back_to_english(rules, settings):
    assert rules.describe_rules(settings, "fr") == EN_DEFAULTS


def test_rules_follow_the_settings(rules):
    settings = TruckersSettings(
        min_age=21,
        max_age=55,
        accepted_licence_classes=["A2"],
        require_driving_proof=False,
        accidental_death_benefit=200000,
        disability_base_benefit=100000,
        disability_grade_percent=[100, 80, 60, 50, 40, 30, 20, 10, 5, 1],
        illness_death_benefit="150000.50",
        illness_waiting_days=0,
        combined_cap=250000,
        exclusions=["racing"],
        licence_must_be_valid_on_event_date=False,
    )
    assert rules.describe_rules(settings, "en") == [
        "Who may join: truck drivers aged 21 to 55 on the joining day.",
        "Applicants need a Chinese driving licence of class A2 that is still valid on the first day of cover.",
        "Accidental death: a benefit of 200,000.00.",
        "Accidental disability: grades 1 to 10 pay 100/80/60/50/40/30/20/10/5/1% of 100,000.00, so grade 1 "
        "pays 100,000.00 and grade 10 pays 1,000.00.",
        "Death from illness: a benefit of 150,000.50.",
        "Accidents and illness are covered from the day after joining; there is no waiting period.",
        "No benefit is paid when the event involves any of: racing or stunt driving.",
        "One member receives at most 250,000.00 in total over all claims; a later benefit is reduced by what "
        "was already paid.",
    ]
    zh = rules.describe_rules(settings, "zh-CN")
    assert "须持有 A2 类驾驶证，且在保障开始之日仍在有效期内。" in zh
    assert "意外和疾病均自加入次日起受保障，无等待期。" in zh
    assert "以下情形不予互助：飙车或竞速。" in zh
    assert not any("证明" in line for line in zh)


def test_no_exclusions_is_said(rules):
    settings = TruckersSettings(exclusions=[])
    assert "No circumstances are excluded." in rules.describe_rules(settings, "en")
    assert "无除外情形。" in rules.describe_rules(settings, "zh-CN")


def test_currency_is_shown_when_given(rules, settings):
    assert rules.describe_rules(settings, "en", currency="CNY")[3] == "Accidental death: a benefit of 300,000.00 CNY."
    assert rules.describe_rules(settings, "zh-CN", currency="CNY")[3] == "意外身故：互助金 300,000.00 元。"
