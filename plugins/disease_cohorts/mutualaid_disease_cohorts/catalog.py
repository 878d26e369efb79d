"""The fixed vocabularies of the disease cohorts: the kinds of events members claim for, and the
critical illnesses a critical-illness society may cover."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mutualaid import EventKind

__all__ = [
    "CANCER_EVENT_KINDS",
    "CRITICAL_ILLNESS",
    "CRITICAL_ILLNESSES",
    "CRITICAL_ILLNESS_EVENT_KINDS",
    "DISEASE_EVENT_KINDS",
    "event_title",
]

#: The severe critical illnesses of the Insurance Association of China's standard definitions
#: (《重大疾病保险的疾病定义使用规范（2020 年修订版）》), by key, with their English and Chinese
#: titles. A critical-illness society covers all 28 unless its settings list fewer, and may add
#: its own (setting ``extra_illnesses``).
CRITICAL_ILLNESSES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "malignant_tumour": {"en": "severe malignant tumour", "zh-CN": "恶性肿瘤——重度"},
        "acute_myocardial_infarction": {"en": "severe acute myocardial infarction", "zh-CN": "较重急性心肌梗死"},
        "stroke_sequelae": {"en": "severe sequelae of stroke", "zh-CN": "严重脑中风后遗症"},
        "major_organ_transplant": {
            "en": "major organ or haematopoietic stem cell transplant",
            "zh-CN": "重大器官移植术或造血干细胞移植术",
        },
        "coronary_artery_bypass": {"en": "coronary artery bypass surgery", "zh-CN": "冠状动脉搭桥术"},
        "end_stage_renal_failure": {"en": "severe chronic renal failure", "zh-CN": "严重慢性肾衰竭"},
        "multiple_limb_loss": {"en": "loss of several limbs", "zh-CN": "多个肢体缺失"},
        "fulminant_hepatitis": {
            "en": "acute or subacute fulminant hepatitis",
            "zh-CN": "急性重症肝炎或亚急性重症肝炎",
        },
        "benign_brain_tumour": {"en": "severe non-malignant intracranial tumour", "zh-CN": "严重非恶性颅内肿瘤"},
        "chronic_liver_failure": {"en": "severe chronic liver failure", "zh-CN": "严重慢性肝衰竭"},
        "encephalitis_sequelae": {
            "en": "severe sequelae of encephalitis or meningitis",
            "zh-CN": "严重脑炎后遗症或严重脑膜炎后遗症",
        },
        "deep_coma": {"en": "deep coma", "zh-CN": "深度昏迷"},
        "deafness": {"en": "deafness in both ears", "zh-CN": "双耳失聪"},
        "blindness": {"en": "blindness in both eyes", "zh-CN": "双目失明"},
        "paralysis": {"en": "paralysis", "zh-CN": "瘫痪"},
        "heart_valve_surgery": {"en": "heart valve surgery", "zh-CN": "心脏瓣膜手术"},
        "alzheimers_disease": {"en": "severe Alzheimer's disease", "zh-CN": "严重阿尔茨海默病"},
        "severe_head_injury": {"en": "severe head injury", "zh-CN": "严重颅脑损伤"},
        "parkinsons_disease": {"en": "severe primary Parkinson's disease", "zh-CN": "严重原发性帕金森病"},
        "third_degree_burns": {"en": "severe third-degree burns", "zh-CN": "严重Ⅲ度烧伤"},
        "pulmonary_hypertension": {
            "en": "severe idiopathic pulmonary arterial hypertension",
            "zh-CN": "严重特发性肺动脉高压",
        },
        "motor_neurone_disease": {"en": "severe motor neurone disease", "zh-CN": "严重运动神经元病"},
        "loss_of_speech": {"en": "loss of speech", "zh-CN": "语言能力丧失"},
        "aplastic_anaemia": {"en": "severe aplastic anaemia", "zh-CN": "重型再生障碍性贫血"},
        "aortic_surgery": {"en": "aortic surgery", "zh-CN": "主动脉手术"},
        "chronic_respiratory_failure": {"en": "severe chronic respiratory failure", "zh-CN": "严重慢性呼吸衰竭"},
        "crohns_disease": {"en": "severe Crohn's disease", "zh-CN": "严重克罗恩病"},
        "ulcerative_colitis": {"en": "severe ulcerative colitis", "zh-CN": "严重溃疡性结肠炎"},
    }
)

CRITICAL_ILLNESS = "critical_illness"

#: The critical-illness society's one kind of event: a covered illness is diagnosed.
CRITICAL_ILLNESS_EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind(CRITICAL_ILLNESS, "Critical illness diagnosed", {"zh-CN": "确诊重大疾病"}),
)

#: What a cancer patients' society (癌友) covers: the cancer comes back, spreads, or a new one starts.
CANCER_EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind("recurrence", "Recurrence", {"zh-CN": "复发"}),
    EventKind("metastasis", "Metastasis", {"zh-CN": "转移"}),
    EventKind("new_primary", "New primary cancer", {"zh-CN": "新发原发癌"}),
)

#: What a society of any other disease covers (a pool may cover fewer, setting ``covered_events``).
DISEASE_EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind("progression", "Progression of the disease", {"zh-CN": "病情进展"}),
    EventKind("recurrence", "Recurrence", {"zh-CN": "复发"}),
    EventKind("complication", "Serious complication", {"zh-CN": "严重并发症"}),
)


def event_title(kinds: tuple[EventKind, ...], key: str, locale: str = "en") -> str:
    """The title of one of ``kinds``, lower-cased in English for use inside a sentence."""
    for kind in kinds:
        if kind.key == key:
            title = kind.title_for(locale)
            return title.lower() if locale == "en" else title
    raise KeyError(key)
