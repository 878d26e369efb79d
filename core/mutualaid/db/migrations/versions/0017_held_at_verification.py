"""what the prepaid balances held in all, recorded with each verification

Every member of a prepaid pool holds a balance row (revision 0016), so adding the balances up
for ``ledger balance`` read as many rows as the pool has members. ``ledger verify`` now adds them
up, proves the total equal to the ledger's ``member_balances`` account at the entry it reached, and
records it here; ``ledger balance`` starts from it and adds what the entries posted since moved.
A verification recorded before this revision has none (NULL): the next ``ledger balance`` adds
every balance up, as before, until the next verification.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger_verifications", sa.Column("held_minor", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # SQLite (3.35 and later) drops a column in place, as PostgreSQL does: no copy of the table
    op.execute("ALTER TABLE ledger_verifications DROP COLUMN held_minor")
