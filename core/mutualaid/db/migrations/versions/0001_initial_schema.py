"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 10:54:22.642175
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "charges",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "member_id", name=op.f("pk_charges")),
    )
    op.create_table(
        "pools",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cohort", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pools")),
        sa.UniqueConstraint("key", name=op.f("uq_pools_key")),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pool_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id_number", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("waiting_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("attributes_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"], name=op.f("fk_members_pool_id_pools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index("ix_members_pool_id_joined_on", ["pool_id", "joined_on"], unique=False)
        batch_op.create_index("ix_members_pool_id_id_number", ["pool_id", "id_number"], unique=False)
        batch_op.create_index(
            "uq_members_live_person",
            ["pool_id", "id_number"],
            unique=True,
            sqlite_where=sa.text("status IN ('active', 'frozen')"),
            postgresql_where=sa.text("status IN ('active', 'frozen')"),
        )

    op.create_table(
        "sharing_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pool_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("notice_date", sa.Date(), nullable=False),
        sa.Column("deduction_date", sa.Date(), nullable=False),
        sa.Column("rounding", sa.String(length=16), nullable=False),
        sa.Column("fee_rate", sa.String(length=32), nullable=False),
        sa.Column("members_count", sa.BigInteger(), nullable=False),
        sa.Column("claims_count", sa.Integer(), nullable=False),
        sa.Column("aid_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("surplus_in_minor", sa.BigInteger(), nullable=False),
        sa.Column("surplus_out_minor", sa.BigInteger(), nullable=False),
        sa.Column("need_minor", sa.BigInteger(), nullable=False),
        sa.Column("share_minor", sa.BigInteger(), nullable=False),
        sa.Column("extra_count", sa.BigInteger(), nullable=False),
        sa.Column("charged_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"], name=op.f("fk_sharing_runs_pool_id_pools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_runs")),
        sa.UniqueConstraint("pool_id", "period", name=op.f("uq_sharing_runs_pool_id_period")),
    )
    op.create_table(
        "claims",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pool_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_kind", sa.String(length=64), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("details_json", sa.Text(), nullable=False),
        sa.Column("member_attributes_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("benefit_minor", sa.BigInteger(), nullable=True),
        sa.Column("cap_minor", sa.BigInteger(), nullable=True),
        sa.Column("reasons_json", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sharing_run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_claims_member_id_members")),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"], name=op.f("fk_claims_pool_id_pools")),
        sa.ForeignKeyConstraint(
            ["sharing_run_id"], ["sharing_runs.id"], name=op.f("fk_claims_sharing_run_id_sharing_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claims_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claims_pool_id"), ["pool_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claims_sharing_run_id"), ["sharing_run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claims_sharing_run_id"))
        batch_op.drop_index(batch_op.f("ix_claims_pool_id"))
        batch_op.drop_index(batch_op.f("ix_claims_member_id"))

    op.drop_table("claims")
    op.drop_table("sharing_runs")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_members_live_person",
            sqlite_where=sa.text("status IN ('active', 'frozen')"),
            postgresql_where=sa.text("status IN ('active', 'frozen')"),
        )
        batch_op.drop_index("ix_members_pool_id_id_number")
        batch_op.drop_index("ix_members_pool_id_joined_on")

    op.drop_table("members")
    op.drop_table("pools")
    op.drop_table("charges")
