"""Members' identities under the operator's key (:mod:`mutualaid.keys`): the key checked against the
database before it is used, and the values a member's row stores instead of the ID number.

A member's row holds its ID number encrypted (``id_cipher``), its keyed hash (``id_hash``: one live
membership per person and pool, finding a member by ID number), its masked form (``id_masked``:
what every listing and notice shows, without the key) and a seal over the whole identity
(``identity_seal``: see :mod:`mutualaid.members.integrity`).

The database keeps the check value of its key (``identity_keys``), written with its first ID
number: a key file that is missing, new or another database's is refused with one line before
anything is read or written with it. A key is made only when the database has none yet and an ID
number is about to be written (the first join, import or upgrade of a pool's members).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import DateTime, bindparam, select, text
from sqlalchemy.orm import Session

from ..db.models import IdentityKey
from ..errors import KeyFileError
from ..keys import KEY_FILE_ENV, IdentityKeys, create_key, key_file, load_key
from ..privacy import mask_id_number

__all__ = ["correction_seal", "database_keys", "member_seal", "seal_id_number", "stored_check_value"]


def stored_check_value(session: Session) -> str | None:
    """The check value of the key the database's ID numbers are encrypted under (``None``: none yet)."""
    return session.scalar(select(IdentityKey.check_value).order_by(IdentityKey.id).limit(1))


def database_keys(session: Session, *, create: bool = False, purpose: str = "read members' ID numbers") -> IdentityKeys:
    """The operator's keys, checked against the database.

    With ``create`` (a command about to write an ID number), a database that has no key yet gets
    one: the key file is made when there is none (the operator is told where, once) and its check
    value recorded. ``purpose`` words what needs the key, for the error.

    :raises KeyFileError: when the key file is missing, cannot be read, or is not this database's key.
    """
    stored = stored_check_value(session)
    path = key_file()
    keys = load_key(path)
    if keys is None:
        if stored is not None:
            raise KeyFileError(
                f"cannot {purpose}: the key file {path} is missing, and this database's ID numbers are encrypted "
                f"under it; restore it from your backup (or set {KEY_FILE_ENV} to where it is)"
            )
        if not create:
            raise KeyFileError(
                f"cannot {purpose}: there is no key file at {path}; restore it from your backup (or set "
                f"{KEY_FILE_ENV} to where it is)"
            )
        try:
            keys = create_key(path)
        except KeyFileError:
            keys = load_key(path)  # made by another command meanwhile: use it
            if keys is None:
                raise
    if stored is None and create:
        # Row 1, once: of two first joins at once, the second waits for the first and writes nothing
        # (then finds the first one's value below, which must be its own key's too).
        session.execute(
            text(
                "INSERT INTO identity_keys (id, check_value, created_at) VALUES (1, :value, :at) "
                "ON CONFLICT (id) DO NOTHING"
            ).bindparams(bindparam("at", type_=DateTime(timezone=True))),
            {"value": keys.check_value, "at": datetime.now(UTC)},
        )
        stored = stored_check_value(session)
    if stored is not None and stored != keys.check_value:
        raise KeyFileError(
            f"cannot {purpose}: the key in {path} is not the key this database's ID numbers were encrypted with; "
            f"restore the right key file from your backup (or set {KEY_FILE_ENV} to it)"
        )
    return keys


def seal_id_number(keys: IdentityKeys, pool_id: int, id_number: str) -> tuple[str, str, str]:
    """``(id_cipher, id_hash, id_masked)`` of an ID number in a pool."""
    return keys.encrypt(pool_id, id_number), keys.lookup(id_number), mask_id_number(id_number)


def member_seal(
    keys: IdentityKeys, pool_id: int, member_id: int, name: str, id_number: str, birth_date: date, joined_on: date
) -> str:
    """The seal of a member's identity: the pool, the member number, the name, the ID number, the
    birth date and the joining day."""
    return keys.seal(("member", pool_id, member_id, name, id_number, birth_date.isoformat(), joined_on.isoformat()))


def correction_seal(
    keys: IdentityKeys,
    member_id: int,
    by: str,
    reason: str,
    names: tuple[str, str],
    id_numbers: tuple[str, str],
    birth_dates: tuple[date, date],
) -> str:
    """The seal of an identity correction: the member, who and why, each value before and after."""
    return keys.seal(
        ("correction", member_id, by, reason, *names, *id_numbers, *(day.isoformat() for day in birth_dates))
    )
