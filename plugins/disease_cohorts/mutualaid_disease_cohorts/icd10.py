"""ICD-10 codes, and the code lists that say which diseases a society is for.

A code is a letter, two digits and optionally a dot and more characters: ``K74``, ``B18.1``,
``C50.900x001`` (China's clinical edition adds characters after the WHO subcategory). It is
written in upper case with its dot (``k746`` is read as ``K74.6``).

A code list is a list of patterns, each either

* a code, which also covers every code under it: ``B18`` covers ``B18.0`` ... ``B18.9``, and
  ``B18.1`` covers ``B18.1`` and ``B18.10``; or
* a range of two codes, both ends included, each end covering the codes under it:
  ``K70-K77`` covers ``K70`` to ``K77.9``; ``C50.1-C50.4`` covers ``C50.1`` to ``C50.4`` (but not
  the bare category ``C50``, which is less precise than the range).

A code ``c`` is in the range ``low-high`` when its first ``len(low)`` characters are not before
``low`` and its first ``len(high)`` characters are not after ``high``: codes of this shape sort
the way the classification does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CodeList", "CodePattern", "normalize_code", "parse_code_list", "parse_pattern"]

_CODE = re.compile(r"([A-Z])([0-9]{2})(?:\.?([0-9][0-9A-Z]{0,9}))?")
_DASHES = ("-", "–", "—", "~", "～")
_SHAPE = "a letter and two digits, optionally a dot and more digits (B18, B18.1)"


def normalize_code(text: str) -> str:
    """A code as stored: upper case, trimmed, with its dot (``" k746"`` -> ``"K74.6"``).

    :raises ValueError: if ``text`` is not shaped like an ICD-10 code.
    """
    if not isinstance(text, str):
        raise ValueError(f"an ICD-10 code must be text such as 'B18.1', not {text!r}")
    match = _CODE.fullmatch(text.strip().upper())
    if match is None:
        raise ValueError(f"{text!r} is not an ICD-10 code; write {_SHAPE}")
    letter, digits, rest = match.groups()
    return f"{letter}{digits}.{rest}" if rest else f"{letter}{digits}"


@dataclass(frozen=True, slots=True)
class CodePattern:
    """One pattern of a code list: the codes from ``low`` to ``high`` and every code under them."""

    low: str
    high: str

    def matches(self, code: str) -> bool:
        """Whether ``code`` (normalized) is covered by this pattern."""
        return code[: len(self.low)] >= self.low and code[: len(self.high)] <= self.high

    def __str__(self) -> str:
        return self.low if self.low == self.high else f"{self.low}-{self.high}"


def parse_pattern(text: str) -> CodePattern:
    """Parse ``"B18.1"`` or ``"K70-K77"``.

    :raises ValueError: naming the pattern and how to write one.
    """
    if not isinstance(text, str):
        raise ValueError(f"an ICD-10 code or range must be text such as 'K70-K77', not {text!r}")
    raw = text.strip()
    parts = [raw]
    for dash in _DASHES:
        if dash in raw:
            parts = [part.strip() for part in raw.split(dash)]
            break
    if len(parts) > 2 or not all(parts):
        raise ValueError(
            f"{text!r} is not an ICD-10 code or range; write a code such as B18.1 or a range such as K70-K77"
        )
    try:
        codes = [normalize_code(part) for part in parts]
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ICD-10 code or range; write {_SHAPE}, or a range of two such codes (K70-K77)"
        ) from None
    low, high = codes[0], codes[-1]
    if low > high:
        raise ValueError(f"the range {text!r} runs backwards; write {high}-{low}")
    return CodePattern(low, high)


def parse_code_list(value: object) -> tuple[str, ...]:
    """Validate a list of patterns (or one comma-separated string) into their normal forms, in
    order and without repeats. An empty list is a ``ValueError``."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError(f'must be a list of ICD-10 codes or ranges such as ["K70-K77", "B18.1"], not {value!r}')
    patterns: list[str] = []
    for item in value:
        text = str(parse_pattern(item))  # parse_pattern reports a non-string
        if text not in patterns:
            patterns.append(text)
    if not patterns:
        raise ValueError('must list at least one ICD-10 code or range, e.g. ["K70-K77"]')
    return tuple(patterns)


@dataclass(frozen=True, slots=True)
class CodeList:
    """A society's code list: a code is in it when any of its patterns covers it."""

    patterns: tuple[CodePattern, ...]

    @classmethod
    def of(cls, texts: Iterable[str]) -> CodeList:
        return cls(tuple(parse_pattern(text) for text in texts))

    def matches(self, code: str) -> bool:
        """Whether ``code`` (any accepted spelling) is in the list; a malformed code is not."""
        try:
            normal = normalize_code(code)
        except ValueError:
            return False
        return any(pattern.matches(normal) for pattern in self.patterns)

    def __str__(self) -> str:
        return ", ".join(str(pattern) for pattern in self.patterns)
