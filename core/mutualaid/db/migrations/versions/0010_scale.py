"""scale: charges clustered by their key on SQLite; identities verified incrementally

* On SQLite, ``charges`` becomes a ``WITHOUT ROWID`` table: the rows are stored in their
  (run, member) key's B-tree itself instead of in a table plus an index of that key. A run writes
  its charges in key order into one B-tree instead of two (a third faster), and reading a run's
  charges in member order (its digest, ``ledger verify``) reads that B-tree alone. The rows are
  copied into the new table; nothing else changes. PostgreSQL is not touched (its heap and
  primary-key index stay).
* ``ix_members_not_active``: the members whose status is not ``active`` (frozen, lapsed, exited,
  deceased) by pool, status and number -- a partial index, so joining and importing active members
  never write to it. ``member list --status frozen`` on a pool of 10M read every member without it.
* ``ledger_verifications`` records how far the members' identities were checked: the largest
  member number and identity correction of the pool at that verification (``members_through``,
  ``corrections_through``). An incremental ``ledger verify`` then checks only the members added
  or corrected since; a full one all of them. Empty (a full identity check next) for
  verifications recorded before this revision.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_CHARGES = (
    "CREATE TABLE {name} (run_id BIGINT NOT NULL, member_id BIGINT NOT NULL, amount_minor BIGINT NOT NULL, "
    "CONSTRAINT pk_charges PRIMARY KEY (run_id, member_id)){rowid}"
)


def _rebuild_charges(without_rowid: bool) -> None:
    op.execute(_CHARGES.format(name="charges_rebuilt", rowid=" WITHOUT ROWID" if without_rowid else ""))
    op.execute(
        "INSERT INTO charges_rebuilt (run_id, member_id, amount_minor) "
        "SELECT run_id, member_id, amount_minor FROM charges ORDER BY run_id, member_id"
    )
    op.execute("DROP TABLE charges")
    op.execute("ALTER TABLE charges_rebuilt RENAME TO charges")


def upgrade() -> None:
    op.create_index(
        "ix_members_not_active",
        "members",
        ["pool_id", "status", "id"],
        sqlite_where=sa.text("status != 'active'"),
        postgresql_where=sa.text("status != 'active'"),
    )
    with op.batch_alter_table("ledger_verifications") as batch:
        batch.add_column(sa.Column("members_through", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("corrections_through", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_charges(without_rowid=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_charges(without_rowid=False)
    with op.batch_alter_table("ledger_verifications") as batch:
        batch.drop_column("corrections_through")
        batch.drop_column("members_through")
    op.drop_index("ix_members_not_active", table_name="members")
