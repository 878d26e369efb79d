"""Correcting a member's identity: a name misspelt, an ID number or a birth date mistyped at joining.

A correction is checked as a joining is (the ID number valid, a 15-digit one normalised, the birth
date the one in it, the cohort's eligibility on the original joining day, the person not already
holding another live membership in the pool nor recorded as deceased), then written by
:func:`mutualaid.members.lifecycle.correct_identity`: the member's row with its seal renewed and a
row of history with who, when, why and the values before and after (ID numbers encrypted). A
member whose identity no longer matches its seal (changed in the database) is not corrected: that
would seal the change. Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db.models import Member
from ..errors import StateError, ValidationError
from ..fields import parse_date
from ..keys import IdentityKeys
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool
from . import lifecycle
from .eligibility import already_live, check_applicant, deceased_member, deceased_reason, live_member_id
from .eligibility import normalize_id_number as normalize
from .records import IdentityCorrection, MemberRecord, correction_of, record_of
from .sealing import database_keys, member_seal
from .service import locked_member

__all__ = ["correct_member"]


def correct_member(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    member: int | str,
    *,
    reason: str,
    by: str,
    name: str | None = None,
    id_number: str | None = None,
    birth_date: str | date | None = None,
) -> tuple[MemberRecord, IdentityCorrection]:
    """Correct a member's name, ID number or birth date (those given), recording who, when and why.

    :raises ValidationError: one line naming every problem; nothing is changed.
    :raises StateError: when the member's stored identity does not match its seal.
    :raises KeyFileError: without the operator's key.
    """
    pool = get_pool(session, plugins, pool_key)
    row = locked_member(session, pool, member)
    refusal = f"member #{row.id} of pool {pool.key!r} was not corrected"
    problems = []
    reason, by = (reason or "").strip(), (by or "").strip()
    if not reason:
        problems.append("give the reason for the correction (--reason)")
    if not by:
        problems.append("say who makes the correction (--by)")
    if name is None and id_number is None and birth_date is None:
        problems.append("give what to correct: --name, --id-number or --birth-date")
    if problems:
        raise ValidationError([f"{refusal}: {'; '.join(problems)}"])
    keys = database_keys(session, purpose="correct a member's identity")
    current = _current_id_number(keys, pool, row)
    new_name = name.strip() if name is not None else row.name
    new_number = normalize(id_number) if id_number is not None else current
    new_birth: Any = row.birth_date
    if birth_date is not None:
        try:
            new_birth = parse_date(birth_date, "birth_date")
        except ValueError:
            raise ValidationError(
                [f"{refusal}: birth_date: {birth_date!r} is not a date; write it as YYYY-MM-DD"]
            ) from None
    if (new_name, new_number, new_birth) == (row.name, current, row.birth_date):
        raise ValidationError([f"{refusal}: nothing to correct; the values given are the ones stored"])
    raw = {
        **json.loads(row.attributes_json),
        "id_number": new_number,
        "name": new_name,
        "birth_date": new_birth,
        "joined_on": row.joined_on,
    }
    applicant, problems = check_applicant(plugins, pool, raw, default_joined_on=row.joined_on)
    if applicant is not None and applicant.id_number != current:
        problems = _holders(session, pool, row, keys.lookup(applicant.id_number), applicant.id_number)
    if applicant is None or problems:
        raise ValidationError([f"{refusal}: {'; '.join(problems)}"])
    try:
        correction = lifecycle.correct_identity(
            session,
            pool,
            row,
            keys,
            name=applicant.name,
            id_number=applicant.id_number,
            birth_date=applicant.birth_date,
            old_id_number=current,
            by=by,
            reason=reason,
        )
    except IntegrityError:
        # Another membership got this ID number after the check (the partial unique index refused it).
        session.refresh(row)
        holders = _holders(session, pool, row, keys.lookup(applicant.id_number), applicant.id_number)
        if not holders:
            raise
        raise ValidationError([f"{refusal}: {'; '.join(holders)}"]) from None
    return record_of(row, pool.key), correction_of(correction)


def _current_id_number(keys: IdentityKeys, pool: PoolRecord, row: Member) -> str:
    """The member's ID number, once its stored identity is shown to be the one sealed."""
    current = keys.decrypt(pool.id, row.id_cipher)
    if current is None or row.identity_seal != member_seal(
        keys, pool.id, row.id, row.name, current, row.birth_date, row.joined_on
    ):
        raise StateError(
            f"member #{row.id} of pool {pool.key!r} was not corrected: the stored identity does not match its seal "
            f"(it was changed outside mutualaid); run 'mutualaid ledger verify {pool.key}' and restore the member "
            "from a backup first"
        )
    return current


def _holders(session: Session, pool: PoolRecord, row: Member, id_hash: str, id_number: str) -> list[str]:
    """Why no member but ``row`` may hold the ID number: another live membership, or a death recorded."""
    other = live_member_id(session, pool.id, id_hash, besides=row.id)
    if other is not None:
        return [f"id_number: {already_live(other, pool, id_number)}"]
    deceased = deceased_member(session, pool.id, id_hash, besides=row.id)
    if deceased is not None:
        return [f"id_number: {deceased_reason(*deceased)} in pool {pool.key!r}"]
    return []
