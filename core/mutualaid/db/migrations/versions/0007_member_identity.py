"""member identity: ID numbers encrypted at rest with a keyed hash for uniqueness, identity hashes,
identity corrections with their history

(Being written: the member-identity helper fills this in.)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 00:10:00.000000
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
