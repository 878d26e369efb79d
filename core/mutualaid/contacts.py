"""A member's optional contact fields -- email, phone, preferred locale, home city -- checked and
normalised in one place, for a join, an update and every row of an import alike.

Each checker takes the text as given and returns ``(value, problem)``: the value as stored (or
``None`` when nothing was given: an empty or blank text), or one line naming the field, the bad
value and how to fix it. The checks are cheap enough to run on every row of a large import: an
email of the usual shape is recognised by a regular expression and normalised without the
``email-validator`` package, which is asked only about the others (and words their problem).

Pure: no database, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from .vocabulary import Locale, values

__all__ = [
    "CONTACT_CHECKS",
    "CONTACT_FIELDS",
    "CONTACT_LIMITS",
    "check_city",
    "check_contacts",
    "check_email",
    "check_locale",
    "check_phone",
]

#: The contact fields, in the order they are shown (and the CSV columns of the same names).
CONTACT_FIELDS = ("email", "phone", "locale", "city")
#: The most characters each field may hold as stored (the columns' lengths).
CONTACT_LIMITS = {"email": 254, "phone": 32, "locale": 8, "city": 100}

Checked = tuple[str | None, str | None]

_PHONE_DIGITS = (6, 20)
_PHONE_SEPARATORS = str.maketrans("", "", " -")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: An ASCII address of the usual shape: dot-atoms before the @, a host name of letters, digits and
#: single inner hyphens with an alphabetic top-level domain after it. email-validator accepts all
#: of these and normalises them by lower-casing the domain; it is asked about everything else.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
#: Domains email-validator refuses as special-use even without deliverability checks.
_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_LOCALES = {value.lower().replace("_", "-"): value for value in values(Locale)}
_EMAIL_HINT = "write it like name@example.com"


def _given(text: object) -> str | None:
    """The text trimmed, or ``None`` for nothing given (``None``, an empty or blank text)."""
    if text is None:
        return None
    value = str(text).strip()
    return value or None


def check_email(text: object) -> Checked:
    """An email address, normalised as ``email-validator`` does (the domain lower-cased, an
    internationalised one in Unicode); its deliverability is not checked (no DNS)."""
    value = _given(text)
    if value is None:
        return None, None
    match = _PLAIN_EMAIL.fullmatch(value)
    if match is not None and len(value) <= 254 and value.index("@") <= 64:
        domain = match.group(1).lower()
        if "--" not in domain and domain.rsplit(".", 1)[1] not in _SPECIAL_USE:
            return value[: match.start(1)] + domain, None
    from email_validator import EmailNotValidError, validate_email

    try:
        normalized = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        return None, f"email: {value!r} is not a valid email address ({reason}); {_EMAIL_HINT}"
    if len(normalized) > CONTACT_LIMITS["email"]:  # pragma: no cover - the library refuses longer ones
        return None, f"email: {value!r} is longer than 254 characters; {_EMAIL_HINT}"
    return normalized, None


def check_phone(text: object) -> Checked:
    """A phone number: 6 to 20 digits, optionally after a ``+``; spaces and hyphens between them
    are allowed and removed (full-width digits are read as digits)."""
    value = _given(text)
    if value is None:
        return None, None
    compact = value.translate(_PHONE_SEPARATORS)
    if not compact.isascii():
        compact = unicodedata.normalize("NFKC", compact).translate(_PHONE_SEPARATORS)
    digits = compact[1:] if compact.startswith("+") else compact
    low, high = _PHONE_DIGITS
    if digits.isascii() and digits.isdigit():
        if low <= len(digits) <= high:
            return compact, None
        count = f"{len(digits)} digit" + ("" if len(digits) == 1 else "s")
        return None, (
            f"phone: {value!r} has {count}; a phone number has {low} to {high}, optionally after a + "
            "(e.g. +86 138 0013 8000)"
        )
    return None, (
        f"phone: {value!r} is not a phone number; write {low} to {high} digits, optionally after a +, "
        "with spaces or hyphens between them if you like (e.g. +86 138 0013 8000)"
    )


def check_locale(text: object) -> Checked:
    """A preferred locale, one of :class:`~mutualaid.vocabulary.Locale` (case and ``_`` or ``-``
    as written do not matter: ``zh_cn`` is ``zh-CN``)."""
    value = _given(text)
    if value is None:
        return None, None
    locale = _LOCALES.get(value.lower().replace("_", "-"))
    if locale is not None:
        return locale, None
    return None, f"locale: {value!r} is not a supported locale; use one of {', '.join(values(Locale))}"


def check_city(text: object) -> Checked:
    """A home city: free text, trimmed, at most 100 characters on one line."""
    value = _given(text)
    if value is None:
        return None, None
    limit = CONTACT_LIMITS["city"]
    if len(value) > limit:
        return None, f"city: {value!r} is longer than {limit} characters ({len(value)}); shorten it"
    if _CONTROL.search(value):
        return None, f"city: {value!r} contains a line break or another control character; write it on one line"
    return value, None


#: The checker of each contact field, by name (an import looks each one up once, not per row).
CONTACT_CHECKS: dict[str, Callable[[object], Checked]] = {
    "email": check_email,
    "phone": check_phone,
    "locale": check_locale,
    "city": check_city,
}


def check_contacts(given: Mapping[str, Any]) -> tuple[dict[str, str | None], list[str]]:
    """Check the contact fields in ``given`` (other keys are ignored): each one's value as stored
    (``None`` for an empty one: nothing given, or cleared) and every problem, in field order."""
    checked: dict[str, str | None] = {}
    problems: list[str] = []
    for field in CONTACT_FIELDS:
        if field in given:
            value, problem = CONTACT_CHECKS[field](given[field])
            if problem is not None:
                problems.append(problem)
            else:
                checked[field] = value
    return checked, problems
