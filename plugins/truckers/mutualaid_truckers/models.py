"""What a driver gives at joining (:class:`TruckerAttributes`) and with a claim
(:class:`TruckerClaimDetails`).

Values arrive as strings from the command line (``--attr licence_class=b2``) or CSV columns;
pydantic converts them. Whether a licence class is *accepted* depends on the pool's settings and is
decided by the rules, not here; these models only check that the values are well formed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from .catalog import CIRCUMSTANCES, LICENCE_CLASSES

__all__ = ["TruckerAttributes", "TruckerClaimDetails"]


class TruckerAttributes(BaseModel):
    """A driver's licence and proof of active driving, asked at joining."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    licence_class: str = Field(
        description="Class of the applicant's Chinese driving licence (准驾车型), e.g. A2 or B2; "
        "the highest class the licence permits.",
    )
    licence_number: str = Field(
        max_length=40,
        description="Number of the driving licence (驾驶证号; for most drivers the resident ID number).",
    )
    licence_expires: date = Field(
        description="Last day the driving licence is valid (有效期至), as YYYY-MM-DD.",
    )
    driving_proof: str = Field(
        "",
        max_length=200,
        description="Reference to proof of active driving: a waybill number, ETC record, logbook or "
        "employer reference. Required when the pool's require_driving_proof is on.",
    )

    @field_validator("licence_class")
    @classmethod
    def _licence_class(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in LICENCE_CLASSES:
            raise ValueError(
                f"{value!r} is not a Chinese driving licence class; use one of {', '.join(LICENCE_CLASSES)}"
            )
        return value

    @field_validator("licence_number")
    @classmethod
    def _licence_number(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the driving licence number is required")
        return value.strip()


class TruckerClaimDetails(BaseModel):
    """What a claim says about the event besides its kind and date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    disability_grade: int | None = Field(
        None,
        ge=1,
        le=10,
        validate_default=True,
        description="Disability grade under JR/T 0083-2013, 1 (most severe) to 10. Required for an "
        "accidental disability claim and not given for the other kinds.",
    )
    circumstances: list[str] = Field(
        default_factory=list,
        description="Circumstances of the event, comma-separated; a claim reporting one the pool excludes "
        "is not paid. Known circumstances: " + ", ".join(CIRCUMSTANCES) + ".",
    )

    @field_validator("disability_grade", mode="before")
    @classmethod
    def _blank_grade(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("disability_grade")
    @classmethod
    def _grade_for_kind(cls, value: int | None, info: ValidationInfo) -> int | None:
        # At filing (and amending) the core passes the claim's event kind: a disability claim needs
        # its grade, and no other kind takes one. Details read back later have no kind to check.
        kind = (info.context or {}).get("event_kind")
        if kind == "accidental_disability" and value is None:
            raise ValueError("is required for an accidental_disability claim")
        if kind is not None and kind != "accidental_disability" and value is not None:
            raise ValueError("is given only for an accidental_disability claim")
        return value

    @field_validator("circumstances", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return [
                item.strip().lower() if isinstance(item, str) else item
                for item in value
                if not (isinstance(item, str) and not item.strip())
            ]
        return value

    @field_validator("circumstances")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [item for item in value if item not in CIRCUMSTANCES]
        if unknown:
            raise ValueError(
                f"unknown circumstance {', '.join(repr(u) for u in unknown)}; known circumstances: "
                + ", ".join(CIRCUMSTANCES)
            )
        return list(dict.fromkeys(value))
