"""corrections: amended and withdrawn claims, voided sharing runs, reversed top-ups

(Being written: the corrections helper fills this in.)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 00:00:00.000000
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
