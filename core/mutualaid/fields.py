"""Turning the ``key=value`` text of command lines and CSV cells into a cohort's pydantic models."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import pydantic
from pydantic import BaseModel

from .config import format_validation_error

__all__ = ["parse_date", "parse_pairs", "validate_fields"]


def parse_pairs(pairs: Iterable[str], *, option: str) -> dict[str, str]:
    """Parse ``key=value`` strings; a pair without ``=`` is a ``ValueError`` naming the option."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{option} {pair!r} must look like key=value")
        result[key.strip()] = value.strip()
    return result


def _is_sequence_field(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence_field(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return origin in (list, set, frozenset, tuple) or annotation in (list, set, frozenset, tuple)


def _prepare(model: type[BaseModel], raw: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in raw.items():
        field = model.model_fields.get(key)
        if isinstance(value, str):
            if value == "":
                continue  # an empty cell means "not given": the model's default applies
            if field is not None and _is_sequence_field(field.annotation):
                data[key] = [part.strip() for part in value.split(",") if part.strip()]
                continue
        data[key] = value
    return data


def validate_fields(model: type[BaseModel], raw: Mapping[str, Any]) -> tuple[BaseModel | None, list[str]]:
    """Validate text values against ``model``: ``(instance, [])`` or ``(None, ["field: message", ...])``.

    Empty strings are treated as absent; list-typed fields take comma-separated values.
    """
    try:
        return model.model_validate(_prepare(model, raw)), []
    except pydantic.ValidationError as exc:
        return None, format_validation_error(exc)


def parse_date(text: str | date, what: str) -> date:
    """Parse an ISO date (``2026-11-02``); a bad one is a ``ValueError`` naming ``what``."""
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ValueError(f"{what} {text!r} is not a date; write it as YYYY-MM-DD") from None
