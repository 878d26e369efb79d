"""A pool file's ``[claims]`` section: how the pool decides its claims (directly, or in public with
review, public notice, objections and a member jury) and its jury's rules. Part of
:class:`mutualaid.config.PoolConfig`, which re-exports both models."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .vocabulary import Governance, JuryThreshold, ObjectionRoute

__all__ = ["ClaimsConfig", "JuryConfig"]


class JuryConfig(BaseModel):
    """A member jury (评议团): who may sit on it, how many, how long they vote, what decides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(31, ge=3, le=10_000_000, description="Jurors drawn per claim (Xianghubao drew thousands).")
    min_tenure_days: int = Field(
        180, ge=0, le=3650, description="Days a member must have belonged to the pool to be drawn."
    )
    exam_required: bool = Field(
        False, description="Only members who passed the jurors' exam (recorded with 'jury qualify') are drawn."
    )
    quorum: Decimal = Field(
        Decimal("0.5"),
        description="The share of the drawn jurors who must vote for the tally to decide (0.5 = half).",
    )
    threshold: JuryThreshold = Field(
        JuryThreshold.MAJORITY,
        description="The share of the votes cast that must say 'pay' for the claim to be paid: 'majority' "
        "(more than half), 'two-thirds' or 'three-quarters'.",
    )
    voting_days: int = Field(3, ge=1, le=60, description="Days the jurors have to vote.")

    @field_validator("quorum")
    @classmethod
    def _quorum(cls, value: Decimal) -> Decimal:
        if not Decimal(0) < value <= 1:
            raise ValueError(f"must be a share of the jurors above 0 and at most 1 ({value} given)")
        return value


class ClaimsConfig(BaseModel):
    """How the pool decides claims."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    governance: Governance = Field(
        Governance.DIRECT,
        description="'direct': the operator approves or rejects a filed claim; 'public': every claim is "
        "reviewed, its proposed decision is put in public notice for notice_window_days, members may "
        "object, and an objection goes back to review or to a member jury.",
    )
    notice_window_days: int = Field(
        3, ge=1, le=60, description="Days a proposed decision stays in public notice (Meituan: 3)."
    )
    objections: ObjectionRoute = Field(
        ObjectionRoute.JURY,
        description="Where an objection (or a claimant's dispute of a rejection) sends the claim: 'review' "
        "(investigated again) or 'jury' (a member jury decides).",
    )
    four_eyes: bool = Field(
        False, description="Whoever decides a claim must be neither who filed it nor who reviewed it."
    )
    jury: JuryConfig = Field(default_factory=lambda: JuryConfig())
