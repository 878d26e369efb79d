"""The decisions of the disease societies: who may join, the waiting (observation) period, what a
claim is worth, and when a refusal refunds the member's contributions.

A claim is decided in three steps:

1. the claim itself: an event the society covers (a covered illness; a diagnosis of the
   society's disease), details that fit the pool's health declaration -- a problem here refuses
   the claim, without a refund;
2. the six refund cases (failed health conditions, reported late, diagnosed while frozen or in
   the waiting period, hereditary or congenital, a former member): each refuses the claim and,
   as the pool's ``refund_cases`` say, refunds the member's contributions -- when the claim has
   no problem of step 1 and at least one of its cases is set to ``"refund"``;
3. the benefit, by the pool's benefit model (:mod:`mutualaid.benefits`).

Every reason of steps 1 and 2 is listed, not only the first.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date
from typing import Generic, TypeVar

import pydantic
from pydantic import BaseModel

from mutualaid import (
    Applicant,
    BenefitDecision,
    BenefitInputs,
    ClaimFacts,
    CohortRules,
    EventKind,
    covered_from,
)

from .catalog import CRITICAL_ILLNESS, CRITICAL_ILLNESS_EVENT_KINDS, event_title
from .describe import describe_critical_illness, describe_patient_society
from .models import CriticalIllnessClaim, HealthDeclaration, PatientClaim, PatientMemberAttributes
from .settings import (
    CriticalIllnessSettings,
    PatientSocietySettings,
    SocietySettings,
    age_limit,
)

__all__ = ["CriticalIllnessRules", "PatientSocietyRules", "add_months"]

S = TypeVar("S", bound=SocietySettings)
M = TypeVar("M", bound=BaseModel)

_Cases = list[tuple[str, str]]


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; the 31st becomes the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _model(value: BaseModel, model: type[M]) -> M:
    """``value`` as an instance of ``model`` (re-validated when the core passed another model)."""
    if isinstance(value, model):
        return value
    return model.model_validate(value.model_dump())


def _declaration(attributes: BaseModel) -> HealthDeclaration:
    """The health declaration recorded with a membership."""
    if isinstance(attributes, HealthDeclaration):
        return attributes
    data = attributes.model_dump()
    return HealthDeclaration.model_validate({k: data[k] for k in HealthDeclaration.model_fields if k in data})


def _first_error(exc: pydantic.ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in err["loc"])
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


class _SocietyRules(CohortRules[S], Generic[S]):
    """What every disease society decides the same way."""

    event_kinds: tuple[EventKind, ...] = ()

    # -- joining ----------------------------------------------------------------------------------

    def waiting_period_days(self, applicant: Applicant, settings: S) -> int:
        """The waiting (observation) period by age on the joining day (``older_waiting_days`` from
        ``older_from_age``)."""
        return settings.waiting_days_for(applicant.age)

    def _age_problems(self, applicant: Applicant, settings: S) -> list[str]:
        problems: list[str] = []
        joined = applicant.joined_on
        number, unit = age_limit(settings.min_age)
        if unit == "days":
            days = (joined - applicant.birth_date).days
            if days < number:
                problems.append(f"age {days} days on the joining day {joined} is below the minimum of {number} days")
        elif applicant.age < number:
            problems.append(f"age {applicant.age} on the joining day {joined} is below the minimum of {number}")
        if applicant.age > settings.max_age:
            problems.append(
                f"age {applicant.age} on the joining day {joined} is above the maximum of {settings.max_age}"
            )
        return problems

    def _declaration_problems(self, declaration: HealthDeclaration, settings: S) -> list[str]:
        problems: list[str] = []
        questions = settings.health_questions
        if not questions:
            return problems
        keys = ", ".join(q.key for q in questions)
        for key in declaration.declared_yes:
            question = settings.question(key)
            if question is None:
                problems.append(
                    f"health declaration: {key!r} is not a question of this society; its questions are {keys}"
                )
            elif question.excludes:
                problems.append(
                    f"health declaration: the answer to \u201c{question.text_en}\u201d ({key}) is yes, which excludes "
                    "joining this society"
                )
        if not declaration.declaration_confirmed:
            problems.append(
                "the health declaration is not confirmed: answer every question, list the keys answered yes in "
                f"declared_yes (the questions are {keys}) and give declaration_confirmed=true"
            )
        return problems

    # -- claims -----------------------------------------------------------------------------------

    def _kind_problem(self, claim: ClaimFacts, covered: list[str]) -> str | None:
        if claim.event_kind in covered:
            return None
        return f"event kind {claim.event_kind!r} is not covered by this society; covered kinds: {', '.join(covered)}"

    def _cases(
        self,
        claim: ClaimFacts,
        settings: S,
        details: CriticalIllnessClaim | PatientClaim,
        *,
        waiting_exempt: bool = False,
    ) -> tuple[list[str], _Cases, list[str]]:
        """The claim's problems (no refund), its refund cases and notes for the decision."""
        problems: list[str] = []
        cases: _Cases = []
        notes: list[str] = []
        member = claim.member
        when = claim.event_date
        try:
            declaration = _declaration(member.attributes)
        except pydantic.ValidationError as exc:
            problems.append(f"the member's recorded health declaration is invalid: {_first_error(exc)}")
            declaration = HealthDeclaration()

        # 1. The health conditions: a condition found to predate joining must have been declared.
        keys = ", ".join(q.key for q in settings.health_questions) or "none"
        for key in details.pre_existing_conditions:
            question = settings.question(key)
            if question is None:
                problems.append(
                    f"pre_existing_conditions: {key!r} is not a question of this society's health declaration "
                    f"(its questions: {keys})"
                )
            elif key in declaration.declared_yes:
                notes.append(
                    f"the member declared \u201c{question.text_en}\u201d ({key}) when joining, so it is no reason "
                    "to refuse the claim"
                )
            else:
                cases.append(
                    (
                        "failed_health_conditions",
                        f"non-disclosure: the investigation found the answer to \u201c{question.text_en}\u201d "
                        f"({key}) was yes before the member joined on {member.joined_on}, but the member "
                        "did not declare it",
                    )
                )
        # 2. Reported in time.
        months = settings.refund_cases.late_report_months
        deadline = add_months(when, months)
        if claim.filed_on > deadline:
            cases.append(
                (
                    "late_report",
                    f"reported on {claim.filed_on}, more than {months} months after the diagnosis on {when} "
                    f"(the last day to report it was {deadline})",
                )
            )
        # 3. Rights not suspended.
        if member.was_frozen_on(when):
            cases.append(
                ("diagnosed_while_frozen", f"diagnosed on {when}, while the member's rights were suspended (frozen)")
            )
        # 4. After the waiting period.
        starts = covered_from(member.joined_on)
        if when < starts:
            cases.append(
                (
                    "diagnosed_in_waiting_period",
                    f"diagnosed on {when}, the joining day, before cover started on {starts}",
                )
            )
        elif member.in_waiting_period(when) and not waiting_exempt:
            cases.append(
                (
                    "diagnosed_in_waiting_period",
                    f"diagnosed on {when}, inside the waiting (observation) period that ends on {member.waiting_until}",
                )
            )
        # 5. Not hereditary or congenital.
        if details.hereditary_or_congenital:
            cases.append(("hereditary_or_congenital", "the investigation found the condition hereditary or congenital"))
        # 6. Not a former member who joined again.
        if member.earlier_memberships:
            earlier = member.earlier_memberships[-1]
            ended = f", {earlier.status} on {earlier.ended_on}" if earlier.ended_on else f", {earlier.status}"
            cases.append(
                (
                    "former_member",
                    f"the member was a member of this society before (member #{earlier.member_id}, joined "
                    f"{earlier.joined_on}{ended}) and joined again on {member.joined_on}",
                )
            )
        return problems, [(c, r) for c, r in cases if settings.refund_cases.action(c) != "off"], notes

    def _decide(
        self, settings: S, problems: list[str], cases: _Cases, pay: Callable[[], BenefitDecision]
    ) -> BenefitDecision:
        if not problems and not cases:
            return pay()
        reasons = [*problems, *(reason for _, reason in cases)]
        refunded = [case for case, _ in cases if settings.refund_cases.action(case) == "refund"]
        refund = not problems and bool(refunded)
        if refund:
            reasons.append(
                "rejecting the claim refunds the member's contributions to this pool (refund case: "
                + ", ".join(dict.fromkeys(refunded))
                + ")"
            )
        elif cases and not problems:
            reasons.append("no refund: this pool refunds in none of these cases")
        ends = (
            not problems
            and settings.waiting_period_illness_ends_membership
            and any(case == "diagnosed_in_waiting_period" for case, _ in cases)
        )
        if ends:
            reasons.append("an illness diagnosed in the waiting period ends the membership")
        return BenefitDecision.deny(reasons, refund_contributions=refund, ends_membership=ends, ends_as="exited")

    def _benefit(
        self, claim: ClaimFacts, settings: S, details: CriticalIllnessClaim | PatientClaim, lead: list[str]
    ) -> BenefitDecision:
        inputs = BenefitInputs.from_claim(claim, costs=details.self_paid_costs)
        result = settings.benefit.evaluate(inputs)
        if not result.payable and settings.benefit.uses_costs and details.self_paid_costs is None:
            lead = [*lead, "give the self-paid costs as the claim detail self_paid_costs"]
        return result.decision(lead)


class CriticalIllnessRules(_SocietyRules[CriticalIllnessSettings]):
    """A critical-illness society of healthy people (as Xianghubao): a lump sum when a covered
    illness is diagnosed after the waiting period."""

    event_kinds = CRITICAL_ILLNESS_EVENT_KINDS

    def eligibility_problems(self, applicant: Applicant, settings: CriticalIllnessSettings) -> list[str]:
        problems = self._age_problems(applicant, settings)
        try:
            declaration = _declaration(applicant.attributes)
        except pydantic.ValidationError as exc:
            return [*problems, f"the health declaration is invalid: {_first_error(exc)}"]
        return problems + self._declaration_problems(declaration, settings)

    def decide_benefit(self, claim: ClaimFacts, settings: CriticalIllnessSettings) -> BenefitDecision:
        problems: list[str] = []
        kind_problem = self._kind_problem(claim, [CRITICAL_ILLNESS])
        if kind_problem:
            problems.append(kind_problem)
        try:
            details = _model(claim.details, CriticalIllnessClaim)
        except pydantic.ValidationError as exc:
            return BenefitDecision.deny([*problems, f"the claim details are invalid: {_first_error(exc)}"])
        title = settings.illness_title(details.illness)
        if title is None:
            problems.append(
                f"illness {details.illness!r} is not covered by this society; covered: "
                + ", ".join(settings.covered_keys())
            )
        if settings.once_per_member and claim.prior_benefits:
            first = claim.prior_benefits[0]
            problems.append(
                f"the member was already paid for a critical illness (claim #{first.claim_id} of {first.event_date}); "
                "this society pays once per member"
            )
        starts = covered_from(claim.member.joined_on)
        exempt = (
            details.caused_by_accident and settings.accidents_covered_in_waiting_period and claim.event_date >= starts
        )
        more, cases, notes = self._cases(claim, settings, details, waiting_exempt=exempt)
        problems.extend(more)
        if exempt and claim.member.in_waiting_period(claim.event_date):
            notes.append(
                f"caused by an accident, so covered inside the waiting period that ends on {claim.member.waiting_until}"
            )

        def pay() -> BenefitDecision:
            code = f" ({details.diagnosis_code})" if details.diagnosis_code else ""
            lead = [f"{title}{code} diagnosed on {claim.event_date}, an illness this society covers", *notes]
            return self._benefit(claim, settings, details, lead)

        return self._decide(settings, problems, cases, pay)

    def describe_rules(self, settings: CriticalIllnessSettings, locale: str, currency: str | None = None) -> list[str]:
        return describe_critical_illness(settings, locale, currency)


class PatientSocietyRules(_SocietyRules[PatientSocietySettings]):
    """A patients' society: members already have the society's disease; it covers later events of
    that disease (recurrence, metastasis, a new cancer; progression, complications)."""

    def __init__(self, event_kinds: tuple[EventKind, ...]) -> None:
        self.event_kinds = event_kinds

    def eligibility_problems(self, applicant: Applicant, settings: PatientSocietySettings) -> list[str]:
        problems = self._age_problems(applicant, settings)
        try:
            attrs = _model(applicant.attributes, PatientMemberAttributes)
        except pydantic.ValidationError as exc:
            return [
                *problems,
                "the diagnosis or health declaration is missing or invalid "
                f"({_first_error(exc)}); give diagnosis_code and diagnosed_on",
            ]
        if not settings.disease_list.matches(attrs.diagnosis_code):
            problems.append(
                f"diagnosis {attrs.diagnosis_code} is not {settings.disease_title('en')} (ICD-10 "
                f"{settings.disease_list}); only people with a confirmed diagnosis of the society's disease may join"
            )
        if attrs.diagnosed_on < applicant.birth_date:
            problems.append(
                f"the diagnosis date {attrs.diagnosed_on} is before the birth date {applicant.birth_date}; check "
                "diagnosed_on"
            )
        elif attrs.diagnosed_on > applicant.joined_on:
            problems.append(
                f"the diagnosis date {attrs.diagnosed_on} is after the joining day {applicant.joined_on}; only "
                "people whose diagnosis is already confirmed may join"
            )
        return problems + self._declaration_problems(attrs, settings)

    def decide_benefit(self, claim: ClaimFacts, settings: PatientSocietySettings) -> BenefitDecision:
        problems: list[str] = []
        kind_problem = self._kind_problem(claim, settings.event_keys())
        if kind_problem:
            problems.append(kind_problem)
        try:
            details = _model(claim.details, PatientClaim)
        except pydantic.ValidationError as exc:
            return BenefitDecision.deny([*problems, f"the claim details are invalid: {_first_error(exc)}"])
        if not settings.claim_list.matches(details.diagnosis_code):
            problems.append(
                f"diagnosis {details.diagnosis_code} is not a disease of this society (ICD-10 {settings.claim_list}); "
                "members claim only for events of the society's disease"
            )
        more, cases, notes = self._cases(claim, settings, details)
        problems.extend(more)

        def pay() -> BenefitDecision:
            kind = self._title(claim.event_kind)
            lead = [
                f"{kind} diagnosed on {claim.event_date} ({details.diagnosis_code}), a disease of this society",
                *notes,
            ]
            return self._benefit(claim, settings, details, lead)

        return self._decide(settings, problems, cases, pay)

    def _title(self, key: str) -> str:
        try:
            return event_title(self.event_kinds, key)
        except KeyError:
            return key

    def describe_rules(self, settings: PatientSocietySettings, locale: str, currency: str | None = None) -> list[str]:
        return describe_patient_society(settings, self.event_kinds, locale, currency)
