"""member identity: ID numbers encrypted at rest with a keyed hash for uniqueness, identity seals,
identity corrections with their history

Members' ID numbers are encrypted in place (the column ``id_number`` becomes ``id_cipher``, in the
same position) under the operator's key (``mutualaid.keys``: the key file is read, or made when
there is none, and its check value recorded in the new table ``identity_keys``); beside it the
keyed hash (``id_hash``) takes over the partial unique index of one live membership per person and
the look-up index, the masked form (``id_masked``) is what listings show, and ``identity_seal`` is
a keyed seal over each member's identity that ``ledger verify`` checks. ``member_identity_corrections``
keeps the history of corrected names, ID numbers and birth dates. Birth dates stay in plain text:
the rules read them (age bands, the sharing index) and they are not an identity on their own.

ID numbers are normalised as the application does (full-width digits, a lower-case check
character, the 15-digit form upgraded to 18 characters) before they are hashed.

No plain ID number may stay in the database's files: on SQLite ``secure_delete`` is on while the
members table is copied (the pages it frees are overwritten with zeros), and once the upgrade has
committed :func:`mutualaid.db.schema.upgrade` rewrites the storage (``VACUUM`` of a SQLite file,
``VACUUM FULL members`` on PostgreSQL), which leaves no free page nor dead row version holding a
plain number behind. Backups, copies and PostgreSQL's write-ahead log made before still hold them.

The downgrade decrypts the ID numbers back into ``id_number`` (it needs the key).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 00:10:00.000000
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from alembic import op

from mutualaid.errors import KeyFileError
from mutualaid.identity import upgrade_resident_id
from mutualaid.keys import IdentityKeys, create_key, key_file, load_key
from mutualaid.privacy import mask_id_number

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LIVE = sa.text("status IN ('active', 'frozen')")
_BATCH = 5000
#: The added columns of members: (name, length).
ADDED = (("id_hash", 64), ("id_masked", 64), ("identity_seal", 64))

members = sa.table(
    "members",
    sa.column("id", sa.BigInteger()),
    sa.column("pool_id", sa.BigInteger()),
    sa.column("id_number", sa.String()),
    sa.column("id_cipher", sa.String()),
    sa.column("name", sa.String()),
    sa.column("birth_date", sa.Date()),
    sa.column("joined_on", sa.Date()),
    sa.column("id_hash", sa.String()),
    sa.column("id_masked", sa.String()),
    sa.column("identity_seal", sa.String()),
)


def _normalised(text: str) -> str:
    """An ID number as the application stores it (mutualaid.members.eligibility.normalize_id_number)."""
    number = unicodedata.normalize("NFKC", text).strip()
    if len(number) == 18 and number[17] == "x" and number[:17].isascii() and number[:17].isdigit():
        number = number[:17] + "X"
    elif len(number) == 15 and number.isascii() and number.isdigit():
        number = upgrade_resident_id(number)
    return number


def _keys(create: bool) -> IdentityKeys:
    path = key_file()
    keys = load_key(path)
    if keys is None:
        if not create:
            raise KeyFileError(
                f"cannot decrypt members' ID numbers to downgrade: there is no key file at {path}; restore it "
                "from your backup (or set MUTUALAID_KEY_FILE to where it is)"
            )
        keys = create_key(path)
    return keys


def _seal(
    keys: IdentityKeys, pool_id: int, member_id: int, name: str, number: str, born: object, joined: object
) -> str:
    from mutualaid.members.sealing import member_seal

    return member_seal(keys, pool_id, member_id, name, number, born, joined)  # type: ignore[arg-type]


def _encrypt(bind: sa.Connection) -> None:
    """Encrypt, hash, mask and seal every member's ID number in place (batches of 5,000)."""
    if bind.execute(sa.select(sa.func.count()).select_from(members)).scalar_one() == 0:
        return
    keys = _keys(create=True)
    keys_table = sa.table(
        "identity_keys", sa.column("check_value", sa.String()), sa.column("created_at", sa.DateTime(timezone=True))
    )
    bind.execute(sa.insert(keys_table).values(check_value=keys.check_value, created_at=datetime.now(UTC)))
    query = sa.select(
        members.c.id,
        members.c.pool_id,
        members.c.id_number,
        members.c.name,
        members.c.birth_date,
        members.c.joined_on,
    ).order_by(members.c.id)
    rows = bind.execute(query).all()
    statement = (
        sa.update(members)
        .where(members.c.id == sa.bindparam("member"))
        .values(
            id_number=sa.bindparam("cipher"),
            id_hash=sa.bindparam("hash"),
            id_masked=sa.bindparam("masked"),
            identity_seal=sa.bindparam("seal"),
        )
    )
    for start in range(0, len(rows), _BATCH):
        values = []
        for member_id, pool_id, plain, name, born, joined in rows[start : start + _BATCH]:
            number = _normalised(plain)
            values.append(
                {
                    "member": member_id,
                    "cipher": keys.encrypt(pool_id, number),
                    "hash": keys.lookup(number),
                    "masked": mask_id_number(number),
                    "seal": _seal(keys, pool_id, member_id, name, number, born, joined),
                }
            )
        bind.execute(statement, values)


def _decrypt(bind: sa.Connection) -> None:
    """Put every member's ID number back in plain text in ``id_cipher`` (renamed back afterwards)."""
    rows = bind.execute(sa.select(members.c.id, members.c.pool_id, members.c.id_cipher).order_by(members.c.id)).all()
    if not rows:
        return
    keys = _keys(create=False)
    statement = sa.update(members).where(members.c.id == sa.bindparam("member")).values(id_cipher=sa.bindparam("plain"))
    values = []
    for member_id, pool_id, cipher in rows:
        plain = keys.decrypt(pool_id, cipher)
        if plain is None:
            raise KeyFileError(
                f"cannot downgrade: member #{member_id}'s ID number does not decrypt with the key in {keys.path}"
            )
        values.append({"member": member_id, "plain": plain})
    for start in range(0, len(values), _BATCH):
        bind.execute(statement, values[start : start + _BATCH])


@contextmanager
def _claims_set_aside(sqlite: bool) -> Iterator[None]:
    """On SQLite, hold the claims (the rows that refer to members by foreign key) in a temporary
    table while the members table is copied, then put them back (as revision 0003 does: a copy
    drops the original, and SQLite would count every claim as a violation at COMMIT)."""
    if not sqlite:
        yield
        return
    columns = ", ".join(column["name"] for column in sa.inspect(op.get_bind()).get_columns("claims"))
    op.execute("CREATE TEMP TABLE claims_held_by_0007 AS SELECT * FROM claims")
    op.execute("DELETE FROM claims")
    yield
    op.execute(f"INSERT INTO claims ({columns}) SELECT {columns} FROM temp.claims_held_by_0007")
    op.execute("DROP TABLE temp.claims_held_by_0007")


def _indexes(column: str, create: bool) -> None:
    unique, lookup = "uq_members_live_person", f"ix_members_pool_id_{column}"
    if not create:
        op.drop_index(unique, table_name="members")
        op.drop_index(lookup, table_name="members")
        return
    op.create_index(unique, "members", ["pool_id", column], unique=True, sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index(lookup, "members", ["pool_id", column], unique=False)


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA defer_foreign_keys = ON")
        op.execute("PRAGMA secure_delete = ON")  # freed pages overwritten: no plain number stays in the file
    op.create_table(
        "identity_keys",
        sa.Column("id", Id, nullable=False),
        sa.Column("check_value", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_keys")),
        sa.UniqueConstraint("check_value", name=op.f("uq_identity_keys_check_value")),
    )
    _indexes("id_number", create=False)
    for name, length in ADDED:
        op.add_column("members", sa.Column(name, sa.String(length), nullable=True))
    if not sqlite:  # room for the encrypted values (SQLite does not enforce a length)
        op.alter_column(
            "members", "id_number", type_=sa.String(128), existing_type=sa.String(64), existing_nullable=False
        )
    _encrypt(bind)
    recreate: Literal["always", "auto"] = "always" if sqlite else "auto"
    with _claims_set_aside(sqlite), op.batch_alter_table("members", recreate=recreate) as batch:
        batch.alter_column(
            "id_number",
            new_column_name="id_cipher",
            type_=sa.String(128),
            existing_type=sa.String(64),
            existing_nullable=False,
        )
        for name, length in ADDED:
            batch.alter_column(name, existing_type=sa.String(length), nullable=False)
    _indexes("id_hash", create=True)
    op.create_table(
        "member_identity_corrections",
        sa.Column("id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("corrected_by", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("old_name", sa.String(200), nullable=False),
        sa.Column("new_name", sa.String(200), nullable=False),
        sa.Column("old_id_cipher", sa.String(128), nullable=False),
        sa.Column("new_id_cipher", sa.String(128), nullable=False),
        sa.Column("old_id_masked", sa.String(64), nullable=False),
        sa.Column("new_id_masked", sa.String(64), nullable=False),
        sa.Column("old_birth_date", sa.Date(), nullable=False),
        sa.Column("new_birth_date", sa.Date(), nullable=False),
        sa.Column("seal", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_identity_corrections_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_identity_corrections")),
    )
    op.create_index(
        op.f("ix_member_identity_corrections_member_id"), "member_identity_corrections", ["member_id"], unique=False
    )


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA defer_foreign_keys = ON")
    op.drop_index(op.f("ix_member_identity_corrections_member_id"), table_name="member_identity_corrections")
    op.drop_table("member_identity_corrections")
    _decrypt(bind)
    _indexes("id_hash", create=False)
    recreate: Literal["always", "auto"] = "always" if sqlite else "auto"
    with _claims_set_aside(sqlite), op.batch_alter_table("members", recreate=recreate) as batch:
        for name, _ in ADDED:
            batch.drop_column(name)
        batch.alter_column(
            "id_cipher",
            new_column_name="id_number",
            type_=sa.String(64),
            existing_type=sa.String(128),
            existing_nullable=False,
        )
    _indexes("id_number", create=True)
    op.drop_table("identity_keys")
