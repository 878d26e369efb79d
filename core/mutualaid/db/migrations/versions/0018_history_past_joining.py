"""the members' history past joining, indexed by change and day

The lifecycle notices (lapse, frozen, unfrozen, exit) go to the members given that change since a
day. The history had an index by member only, so finding them read every history row of every
member, most of them the two rows each member's joining writes: 0.63 s at 2M members, growing with
the pool. ``ix_member_status_changes_past_joining`` holds the rows of every change but joining and
the end of the waiting period, by change, day and member: a partial index, so that joining and
importing members never write to it. Building it reads the history once.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 23:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

#: As the models' ``PAST_JOINING``: the condition word for word.
PAST_JOINING = "change NOT IN ('joined', 'covered')"


def upgrade() -> None:
    op.create_index(
        "ix_member_status_changes_past_joining",
        "member_status_changes",
        ["change", "since", "member_id"],
        sqlite_where=sa.text(PAST_JOINING),
        postgresql_where=sa.text(PAST_JOINING),
    )


def downgrade() -> None:
    op.drop_index("ix_member_status_changes_past_joining", table_name="member_status_changes")
