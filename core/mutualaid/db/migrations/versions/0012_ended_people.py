"""one index of the live people's hashes, one of the ended ones'

``ix_members_pool_id_id_hash`` indexed every member's keyed hash beside
``uq_members_live_person``, which already indexes the live ones': each member joined wrote two
entries of a random key, and an import of millions two B-trees written at random pages. It is
replaced by ``ix_members_ended_person``, the same columns for the ended memberships only (lapsed,
exited, deceased), so a member joins with one entry of the hash; the two partial indexes together
still find a person in any status. Building it reads the table once and indexes the ended members only.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: The ended memberships: every status but the live ones (active, frozen), as literals.
_ENDED = sa.text("status NOT IN ('active', 'frozen')")


def upgrade() -> None:
    op.create_index(
        "ix_members_ended_person",
        "members",
        ["pool_id", "id_hash"],
        sqlite_where=_ENDED,
        postgresql_where=_ENDED,
    )
    op.drop_index("ix_members_pool_id_id_hash", table_name="members")


def downgrade() -> None:
    op.create_index("ix_members_pool_id_id_hash", "members", ["pool_id", "id_hash"])
    op.drop_index("ix_members_ended_person", table_name="members")
