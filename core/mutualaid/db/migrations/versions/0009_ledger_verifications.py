"""ledger verifications: where the last successful verification of a pool's chain got to

``ledger_verifications`` keeps, for every verification that found nothing wrong, the entry it
reached and that entry's hash, when, whether it checked everything or only what was added since
the one before, and how many entries it walked. ``ledger verify`` starts from the last one (a full
check stays available). The ledger's tables are not touched.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_verifications",
        sa.Column("id", Id, nullable=False),
        sa.Column("pool_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_verifications")),
    )
    op.create_index(op.f("ix_ledger_verifications_pool_id"), "ledger_verifications", ["pool_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ledger_verifications_pool_id"), table_name="ledger_verifications")
    op.drop_table("ledger_verifications")
