"""Members' identities checked against their seals: ``ledger verify`` names every member whose
name, ID number, birth date or joining day was changed in the database, and every identity
correction whose record was.

Each member's encrypted ID number is decrypted (a value changed, or copied from another member or
pool, does not decrypt), its keyed hash and masked form recomputed from it, and the seal over the
whole identity recomputed (see :mod:`mutualaid.members.sealing`). Without the operator's key the
identities cannot be checked: the report says so, and it is not a problem of the books.

A check can start where the last one stopped (:class:`IdentityMarks`: the pool's largest member
number and identity correction then): only the members added since, and those corrected since
(with their corrections), are checked. A member's identity is written when they join and changed
only by a correction, so that is everything an operator's commands changed; an edit made in the
database to an older member is only found by a check of every member (``ledger verify --full``).
At 3-4 microseconds a member, every member of a pool of 100 million is about six minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Member, MemberIdentityCorrection
from ..errors import KeyFileError
from ..keys import IdentityKeys
from ..privacy import mask_id_number
from .sealing import correction_seal, database_keys, member_seal

__all__ = ["IdentityMarks", "IdentityReport", "check_identities", "identity_marks", "verify_identities"]

_BATCH = 5000


@dataclass(frozen=True, slots=True)
class IdentityMarks:
    """How far a pool's identities were checked: its largest member number and identity correction
    number at the time (0: none)."""

    members: int
    corrections: int


def identity_marks(session: Session, pool_id: int) -> IdentityMarks:
    """The pool's largest member number and identity correction number now."""
    members = session.scalar(select(func.max(Member.id)).where(Member.pool_id == pool_id))
    corrections = session.scalar(
        select(func.max(MemberIdentityCorrection.id))
        .join(Member, Member.id == MemberIdentityCorrection.member_id)
        .where(Member.pool_id == pool_id)
    )
    return IdentityMarks(int(members or 0), int(corrections or 0))


@dataclass(frozen=True, slots=True)
class IdentityReport:
    """What checking a pool's identities found: how many members were checked, every problem, and
    why they were not checked (``skipped``: no key) when they were not. ``since`` is where an
    incremental check started (``None``: every member was checked); ``marks`` where it got to."""

    members: int = 0
    problems: tuple[str, ...] = field(default_factory=tuple)
    skipped: str | None = None
    since: IdentityMarks | None = None
    marks: IdentityMarks | None = None

    @property
    def checked(self) -> bool:
        return self.skipped is None


def verify_identities(
    session: Session,
    pool_id: int,
    keys: IdentityKeys,
    *,
    since: IdentityMarks | None = None,
    through: IdentityMarks | None = None,
) -> tuple[int, list[str]]:
    """``(members checked, problems)``: each problem names the member (or the correction) whose
    stored identity does not match its seal. With ``since``, only the members numbered above its
    mark and those with a correction numbered above its mark (and those corrections); with
    ``through``, nothing above its marks (what joined or was corrected after the check began)."""
    problems: list[str] = []
    count = 0
    columns = select(
        Member.id,
        Member.name,
        Member.id_cipher,
        Member.id_hash,
        Member.id_masked,
        Member.birth_date,
        Member.joined_on,
        Member.identity_seal,
    )
    if since is None:
        queries = [columns.where(Member.pool_id == pool_id)]
    else:
        # The members added since, by a range of the primary key (``pool_id + 0``: not by an index
        # of the pool's members, which SQLite would otherwise walk from the pool's first member),
        # then those corrected since among the earlier ones.
        corrected = select(MemberIdentityCorrection.member_id).where(MemberIdentityCorrection.id > since.corrections)
        queries = [
            columns.where(Member.id > since.members, (Member.pool_id + 0) == pool_id),
            columns.where(Member.id.in_(corrected), Member.id <= since.members, Member.pool_id == pool_id),
        ]
    if through is not None:
        queries = [query.where(Member.id <= through.members) for query in queries]
    rows = chain.from_iterable(
        session.execute(query.order_by(Member.id).execution_options(yield_per=_BATCH)) for query in queries
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
    problems.extend(_corrections(session, pool_id, keys, since, through))
    return count, problems


def _corrections(
    session: Session, pool_id: int, keys: IdentityKeys, since: IdentityMarks | None, through: IdentityMarks | None
) -> list[str]:
    problems = []
    query = (
        select(MemberIdentityCorrection)
        .join(Member, Member.id == MemberIdentityCorrection.member_id)
        .where(Member.pool_id == pool_id)
    )
    if since is not None:
        query = query.where(MemberIdentityCorrection.id > since.corrections)
    if through is not None:
        query = query.where(MemberIdentityCorrection.id <= through.corrections)
    rows = session.scalars(query.order_by(MemberIdentityCorrection.id))
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


def check_identities(session: Session, pool_id: int, *, since: IdentityMarks | None = None) -> IdentityReport:
    """The pool's identities checked with the operator's key (only those added or corrected since
    the marks ``since``, when given), or skipped (with why) without it."""
    try:
        keys = database_keys(session, purpose="check members' identities")
    except KeyFileError as exc:
        return IdentityReport(skipped=str(exc))
    marks = identity_marks(session, pool_id)
    count, problems = verify_identities(session, pool_id, keys, since=since, through=marks)
    return IdentityReport(count, tuple(problems), since=since, marks=marks)
