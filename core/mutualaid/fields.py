"""Turning the text of command lines and CSV cells into values: ``key=value`` pairs, a cohort's
pydantic models, and dates written ``YYYY-MM-DD``; and describing a model's fields for people."""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pydantic
from pydantic import BaseModel

from .config import format_validation_error

__all__ = [
    "MAX_RECORD_NUMBER",
    "FieldValidator",
    "describe_model",
    "field_validator",
    "is_record_number",
    "parse_date",
    "parse_pairs",
    "validate_fields",
]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: The largest number a record (a member, a claim, a ledger entry) can have: what the databases'
#: 64-bit integers hold. A larger one names no record, and the database cannot even be asked for it.
MAX_RECORD_NUMBER = 2**63 - 1


def is_record_number(number: int) -> bool:
    """Whether ``number`` could number a record: 1 to :data:`MAX_RECORD_NUMBER`."""
    return 1 <= number <= MAX_RECORD_NUMBER


def parse_pairs(pairs: Iterable[str], *, option: str) -> dict[str, str]:
    """Parse ``key=value`` strings; a pair without ``=``, or a key given twice, is a ``ValueError``
    naming the option (a repeated key is refused rather than letting the last value win)."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ValueError(f"{option} {pair!r} must look like key=value")
        if key in result:
            raise ValueError(f"{option} {key} is given twice ({result[key]!r} and {value!r}); give it once")
        result[key] = value
    return result


def _is_sequence_field(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence_field(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return origin in (list, set, frozenset, tuple) or annotation in (list, set, frozenset, tuple)


def _is_date_field(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_date_field(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return annotation is date


@functools.lru_cache(maxsize=256)
def _date_fields(model: type[BaseModel]) -> frozenset[str]:
    """The date-typed fields of ``model``: given as text they must be written YYYY-MM-DD."""
    return frozenset(name for name, info in model.model_fields.items() if _is_date_field(info.annotation))


@functools.lru_cache(maxsize=256)
def _sequence_fields(model: type[BaseModel]) -> frozenset[str]:
    """The list-typed fields of ``model`` (computed once per model: a CSV import asks per row)."""
    return frozenset(name for name, info in model.model_fields.items() if _is_sequence_field(info.annotation))


class FieldValidator:
    """:func:`validate_fields` for one model, with what it asks of the model worked out once: an
    import validates a million rows against the same model, and looking up its list and date fields,
    its validator and its known names for every row costs as much as the validation itself."""

    __slots__ = ("model", "_sequences", "_dates", "_validate", "_known")

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self._sequences = _sequence_fields(model)
        self._dates = tuple(_date_fields(model))
        self._validate = model.__pydantic_validator__.validate_python
        self._known = ", ".join(model.model_fields) or "none"

    def __call__(
        self, raw: Mapping[str, Any], context: Mapping[str, Any] | None = None
    ) -> tuple[BaseModel | None, list[str]]:
        sequences = self._sequences
        data: dict[str, Any]
        if not sequences:  # an empty cell means "not given": the model's default applies
            data = {key: value for key, value in raw.items() if value or not isinstance(value, str)}
        else:
            data = {}
            for key, value in raw.items():
                if isinstance(value, str):
                    if value == "":
                        continue
                    if key in sequences:
                        data[key] = [part.strip() for part in value.split(",") if part.strip()]
                        continue
                data[key] = value
        # pydantic reads "1699920000" as a Unix time and "20361231" as a date-time: as text, a date
        # field takes only YYYY-MM-DD, like every other date mutualaid reads.
        bad_dates: dict[str, str] = {}
        for name in self._dates:
            value = data.get(name)
            if isinstance(value, str) and not _ISO_DATE.fullmatch(value.strip()):
                bad_dates[name] = f"{name}: must be a date written YYYY-MM-DD ({value!r} given)"
                del data[name]
        try:
            instance = self._validate(data) if context is None else self._validate(data, context=dict(context))
        except pydantic.ValidationError as exc:
            problems = format_validation_error(exc, unknown_key_hints={(): f"the known names are {self._known}"})
            # A date removed above is not also "required".
            problems = [p for p in problems if p.split(":", 1)[0] not in bad_dates]
            return None, problems + list(bad_dates.values())
        if bad_dates:
            return None, list(bad_dates.values())
        return instance, []


@functools.lru_cache(maxsize=256)
def field_validator(model: type[BaseModel]) -> FieldValidator:
    """The :class:`FieldValidator` of ``model`` (one per model)."""
    return FieldValidator(model)


def validate_fields(
    model: type[BaseModel], raw: Mapping[str, Any], *, context: Mapping[str, Any] | None = None
) -> tuple[BaseModel | None, list[str]]:
    """Validate text values against ``model``: ``(instance, [])`` or ``(None, ["field: message", ...])``.

    Empty strings are treated as absent; list-typed fields take comma-separated values. An unknown
    name is reported with the names ``model`` knows. ``context`` reaches the model's validators as
    pydantic's validation context (a claim's details are validated with ``{"event_kind": KIND}``).
    """
    return field_validator(model)(raw, context)


def parse_date(text: str | date, what: str) -> date:
    """Parse a date written ``YYYY-MM-DD`` (``2026-11-02``); anything else is a ``ValueError`` naming ``what``.

    Only that one form is accepted, not the other ISO 8601 forms Python reads (``20261102``,
    ``2026-W45-1``): a number that merely looks like a date is more likely a typo than a date.
    A ``datetime`` gives its date (it is a ``date`` too, but cannot be compared with one).
    """
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    try:
        stripped = text.strip()
        if not _ISO_DATE.fullmatch(stripped):
            raise ValueError(stripped)
        return date.fromisoformat(stripped)
    except (ValueError, AttributeError):
        raise ValueError(f"{what} {text!r} is not a date; write it as YYYY-MM-DD") from None


def describe_model(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Each field of ``model`` as ``name``, ``type``, ``required``, ``default`` (JSON values) and
    ``description``: what ``mutualaid cohorts show`` prints of a cohort's settings and attributes."""
    from pydantic_core import PydanticUndefined

    fields = []
    for name, info in model.model_fields.items():
        if info.default is not PydanticUndefined:
            default: Any = info.default
        elif info.default_factory is not None:
            default = info.default_factory()  # type: ignore[call-arg]
        else:
            default = None
        fields.append(
            {
                "name": name,
                "type": getattr(info.annotation, "__name__", str(info.annotation)).replace("typing.", ""),
                "required": info.is_required(),
                "default": default if not hasattr(default, "model_dump") else default.model_dump(mode="json"),
                "description": info.description or "",
            }
        )
    return fields
