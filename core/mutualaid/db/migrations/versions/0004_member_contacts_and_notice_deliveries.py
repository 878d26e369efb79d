"""member contact fields and the notice send log

Members gain optional contact fields: an email address, a phone number, the language they read
notices in and their home city (shown, with the claimant's name masked, in public notices of the
cases to be shared). Sending notices by email keeps a log: one row per (pool, kind, reference,
member) -- the reference names the occasion, such as a period or a claim -- so that a send
interrupted and run again never emails anyone twice and never skips anyone.

The columns are nullable and added in place (SQLite can add a nullable column without copying
the table), so the migration costs no time on a large pool.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The vocabulary at this revision (mutualaid.vocabulary.DeliveryStatus), written out.
DELIVERY_STATUSES = ("sending", "sent", "failed")
LOCALES = ("zh-CN", "en")


def upgrade() -> None:
    op.add_column("members", sa.Column("email", sa.String(254), nullable=True))
    op.add_column("members", sa.Column("phone", sa.String(32), nullable=True))
    op.add_column("members", sa.Column("locale", sa.String(8), nullable=True))
    op.add_column("members", sa.Column("city", sa.String(100), nullable=True))
    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("pool_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in DELIVERY_STATUSES) + ")",
            name=op.f("ck_notice_deliveries_status"),
        ),
        sa.UniqueConstraint(
            "pool_id",
            "kind",
            "reference",
            "member_id",
            name=op.f("uq_notice_deliveries_pool_id_kind_reference_member_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("notice_deliveries")
    # In place on SQLite too (3.35 and newer drop a column without copying the table, which the
    # claims' foreign key to members would refuse).
    for column in ("city", "locale", "phone", "email"):
        op.drop_column("members", column)
