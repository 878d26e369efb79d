"""Members' identities checked against their seals: ``ledger verify`` names every member whose
name, ID number, birth date or joining day was changed in the database, and every identity
correction whose record was.

Each member's encrypted ID number is decrypted (a value changed, or copied from another member or
pool, does not decrypt), its keyed hash and masked form recomputed from it, and the seal over the
whole identity recomputed (see :mod:`mutualaid.members.sealing`). Without the operator's key the
identities cannot be checked: the report says so, and it is not a problem of the books.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Member, MemberIdentityCorrection
from ..errors import KeyFileError
from ..keys import IdentityKeys
from ..privacy import mask_id_number
from .sealing import correction_seal, database_keys, member_seal

__all__ = ["IdentityReport", "check_identities", "verify_identities"]

_BATCH = 5000


@dataclass(frozen=True, slots=True)
class IdentityReport:
    """What checking a pool's identities found: how many members were checked, every problem, and
    why they were not checked (``skipped``: no key) when they were not."""

    members: int = 0
    problems: tuple[str, ...] = field(default_factory=tuple)
    skipped: str | None = None

    @property
    def checked(self) -> bool:
        return self.skipped is None


def verify_identities(session: Session, pool_id: int, keys: IdentityKeys) -> tuple[int, list[str]]:
    """``(members checked, problems)``: each problem names the member (or the correction) whose
    stored identity does not match its seal."""
    problems: list[str] = []
    count = 0
    rows = session.execute(
        select(
            Member.id,
            Member.name,
            Member.id_cipher,
            Member.id_hash,
            Member.id_masked,
            Member.birth_date,
            Member.joined_on,
            Member.identity_seal,
        )
        .where(Member.pool_id == pool_id)
        .order_by(Member.id)
        .execution_options(yield_per=_BATCH)
    )
    for member_id, name, cipher, id_hash, masked, born, joined, seal in rows:
        count += 1
        number = keys.decrypt(pool_id, cipher or "")
        if number is None:
            problems.append(
                f"member #{member_id} ({name}): the encrypted ID number does not decrypt; it was changed in the database"
            )
            continue
        if id_hash != keys.lookup(number) or masked != mask_id_number(number):
            problems.append(
                f"member #{member_id} ({name}): the ID number's keyed hash or masked form is not the ID number's; "
                "it was changed in the database"
            )
        elif seal != member_seal(keys, pool_id, member_id, name, number, born, joined):
            problems.append(
                f"member #{member_id} ({name}): the name, ID number, birth date or joining day is not the one sealed; "
                "it was changed in the database"
            )
    problems.extend(_corrections(session, pool_id, keys))
    return count, problems


def _corrections(session: Session, pool_id: int, keys: IdentityKeys) -> list[str]:
    problems = []
    rows = session.scalars(
        select(MemberIdentityCorrection)
        .join(Member, Member.id == MemberIdentityCorrection.member_id)
        .where(Member.pool_id == pool_id)
        .order_by(MemberIdentityCorrection.id)
    )
    for row in rows:
        old = keys.decrypt(pool_id, row.old_id_cipher)
        new = keys.decrypt(pool_id, row.new_id_cipher)
        if (
            old is None
            or new is None
            or row.seal
            != correction_seal(
                keys,
                row.member_id,
                row.corrected_by,
                row.reason,
                (row.old_name, row.new_name),
                (old, new),
                (row.old_birth_date, row.new_birth_date),
            )
        ):
            problems.append(
                f"identity correction #{row.id} of member #{row.member_id}: its record is not the one sealed; "
                "it was changed in the database"
            )
    return problems


def check_identities(session: Session, pool_id: int) -> IdentityReport:
    """The pool's identities checked with the operator's key, or skipped (with why) without it."""
    try:
        keys = database_keys(session, purpose="check members' identities")
    except KeyFileError as exc:
        return IdentityReport(skipped=str(exc))
    count, problems = verify_identities(session, pool_id, keys)
    return IdentityReport(count, tuple(problems))
