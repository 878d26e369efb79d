"""balances' pages filled to half on PostgreSQL, so that a run's deduction updates in place

Every prepaid run takes each member's share off their balance: an ``UPDATE`` of every row of
``balances``. At PostgreSQL's default fill a row's new version goes to another page, and both of
the table's indexes get a new entry for it: a million balances took 5.3 s. With the pages half
full the new version fits beside the old one (a heap-only update, no index written), 2.0 s.
Existing pages take the setting as they are rewritten: the first run after the upgrade moves each
row once, to pages filled to half, and the runs after it update in place. Nothing on SQLite.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 15:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE balances SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE balances RESET (fillfactor)")
