"""The health declaration a disease society asks of applicants: a question's model, and each
cohort's default questions (in English and Chinese; a yes to one that excludes keeps the applicant
out, the others are only kept)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DISEASE_QUESTIONS", "HEALTHY_QUESTIONS", "KEY", "PATIENT_QUESTIONS", "HealthQuestion"]

#: A key of a question, a case or an illness: lower-case letters, digits and '_'.
KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")


class HealthQuestion(BaseModel):
    """One question of a society's health declaration."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    key: str = Field(description="Short key the applicant lists in declared_yes when the answer is yes.")
    text_en: str = Field(min_length=5, max_length=500, description="The question in English.")
    text_zh: str = Field(min_length=2, max_length=500, description="The question in Chinese (中文).")
    excludes: bool = Field(True, description="Whether a yes keeps the applicant out (false: the answer is only kept).")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY.fullmatch(value):
            raise ValueError(f"{value!r} is not a key; use lower-case letters, digits and '_', e.g. 'smoker'")
        return value

    def text(self, locale: str) -> str:
        return self.text_zh if locale == "zh-CN" else self.text_en


def _questions(*items: tuple[str, str, str, bool]) -> list[dict[str, Any]]:
    return [{"key": k, "text_en": en, "text_zh": zh, "excludes": ex} for k, en, zh, ex in items]


HEALTHY_QUESTIONS = _questions(
    (
        "serious_illness",
        "Have you ever been diagnosed with, or are you being examined for, cancer or another illness this "
        "society covers?",
        "您是否曾被诊断患有、或正在检查是否患有癌症或本社保障的其他疾病？",
        True,
    ),
    (
        "recent_hospital_stay",
        "In the past two years, have you stayed in hospital for more than 7 days, or been advised to have "
        "surgery or further tests?",
        "过去两年内，您是否住院超过 7 天，或被建议手术或进一步检查？",
        True,
    ),
    (
        "abnormal_results",
        "Do you have abnormal test results not yet cleared, such as a nodule, a mass or raised tumour markers?",
        "您是否有尚未排除的异常检查结果，如结节、肿块或肿瘤标志物升高？",
        True,
    ),
    (
        "congenital_condition",
        "Do you have a congenital or hereditary disease?",
        "您是否患有先天性或遗传性疾病？",
        True,
    ),
    (
        "chronic_condition",
        "Are you treated for high blood pressure, diabetes or another chronic condition?",
        "您是否正在治疗高血压、糖尿病或其他慢性病？",
        False,
    ),
    ("smoker", "Do you smoke?", "您是否吸烟？", False),
)

PATIENT_QUESTIONS = _questions(
    (
        "in_active_treatment",
        "Are you having, or are you to have, surgery, chemotherapy or radiotherapy for the disease?",
        "您目前是否正在接受或计划接受针对该疾病的手术、化疗或放疗？",
        True,
    ),
    (
        "recurred_or_spread",
        "Has the disease already come back or spread since it was first treated?",
        "该疾病自首次治疗以来是否已经复发或转移？",
        True,
    ),
    (
        "other_serious_illness",
        "Do you have another serious illness, such as heart, kidney or liver failure?",
        "您是否患有其他严重疾病，如心、肾或肝功能衰竭？",
        True,
    ),
    (
        "chronic_condition",
        "Are you treated for high blood pressure, diabetes or another chronic condition?",
        "您是否正在治疗高血压、糖尿病或其他慢性病？",
        False,
    ),
)

DISEASE_QUESTIONS = _questions(
    (
        "advanced_disease",
        "Has the disease already reached an advanced stage, such as decompensation, organ failure or cancer?",
        "该疾病是否已进展到晚期，如失代偿、器官衰竭或癌变？",
        True,
    ),
    (
        "recent_hospital_stay",
        "In the past year, have you stayed in hospital for the disease for more than 7 days?",
        "过去一年内，您是否因该疾病住院超过 7 天？",
        True,
    ),
    (
        "other_serious_illness",
        "Do you have another serious illness, such as heart, kidney or liver failure, or cancer?",
        "您是否患有其他严重疾病，如心、肾或肝功能衰竭，或癌症？",
        True,
    ),
    ("smoker", "Do you smoke?", "您是否吸烟？", False),
)
