"""ledger digests: collision-resistant digests of what ledger entries rest on

(Being written: the tamper-evidence helper fills this in, or removes this revision.)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 00:10:00.000000
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
