"""a pool's top-ups indexed by reference and by the entry that posted them

A top-up's reference is recorded once, so each new top-up's is looked up among the pool's; with
only ``ix_top_ups_pool_id`` that look-up read every top-up of the pool, and a file of top-ups
read them all once per thousand references (a second file of 300,000 into a pool holding the
first took three times as long as the first). ``ledger verify`` read the whole table for each
top-up entry's digest (``entry_id`` had no index) and every top-up of the pool to find those no
entry posted. ``ix_top_ups_pool_id_reference`` replaces ``ix_top_ups_pool_id`` (its leading column
serves what that one did) and ``ix_top_ups_pool_id_entry_id`` is new.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_top_ups_pool_id_reference", "top_ups", ["pool_id", "reference"])
    op.create_index("ix_top_ups_pool_id_entry_id", "top_ups", ["pool_id", "entry_id"])
    op.drop_index("ix_top_ups_pool_id", table_name="top_ups")


def downgrade() -> None:
    op.create_index("ix_top_ups_pool_id", "top_ups", ["pool_id"])
    op.drop_index("ix_top_ups_pool_id_entry_id", table_name="top_ups")
    op.drop_index("ix_top_ups_pool_id_reference", table_name="top_ups")
