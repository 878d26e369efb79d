"""claims governance: review, proposal, public notice, objections, member juries, investigation costs

A claim's life gains the steps real schemes ran: under review, a proposed decision, the public
notice (公示) with its window, objections (and the claimant's dispute of a rejection), a member
jury. Claims record who filed and who reviewed them (four eyes), the decision proposed and when its
notice window closes; every change in a claim's history records its actor. New tables hold a
claim's investigation file (documents by reference, notes), its investigation costs (posted to the
ledger as entries of the new kind ``investigation``), objections, juries, jurors and their votes,
and the members who passed the jurors' exam.

The CHECK constraints on claims' and claim histories' statuses and on ledger entries' kinds take the
new words. On SQLite a CHECK constraint changes only with a copy of its table: ``claims``,
``claim_status_changes`` and ``ledger_entries`` are copied (nothing refers to them by foreign key),
and the ledger's append-only triggers on ``ledger_entries``, dropped with the old table, are made
again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 22:00:00.000000
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The vocabulary at this revision (mutualaid.vocabulary), written out.
OLD_CLAIM_STATUSES = ("filed", "approved", "rejected", "shared")
CLAIM_STATUSES = (
    "filed",
    "under-review",
    "proposed",
    "in-notice",
    "objected",
    "at-jury",
    "approved",
    "rejected",
    "shared",
)
OLD_ENTRY_KINDS = ("sharing", "payments", "unpaid", "top-up", "refund", "adjustment")
ENTRY_KINDS = (*OLD_ENTRY_KINDS, "investigation")
NOTE_KINDS = ("document", "note")
OBJECTION_KINDS = ("objection", "dispute")
OBJECTION_STATUSES = ("open", "resolved")
JURY_THRESHOLDS = ("majority", "two-thirds", "three-quarters")
JURY_STATUSES = ("open", "decided", "no-quorum")
VOTES = ("pay", "reject")
REFUSAL = "ledger entries are append-only: post a reversing entry instead of changing or deleting one"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _in(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in allowed)})"


def _entries_triggers(sqlite: bool, create: bool) -> None:
    """The append-only triggers of ``ledger_entries`` on SQLite (copying the table drops them)."""
    if not sqlite:
        return
    for action in ("UPDATE", "DELETE"):
        name = f"ledger_entries_append_only_{action.lower()}"
        if create:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON ledger_entries BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def _checks(sqlite: bool, claims: tuple[str, ...], kinds: tuple[str, ...], new_columns: bool) -> None:
    """Set the CHECK constraints of claims', histories' statuses and entries' kinds to these words;
    with ``new_columns`` add the governance columns, else drop them."""
    recreate: Literal["always", "auto"] = "always" if sqlite else "auto"
    with op.batch_alter_table("claims", recreate=recreate) as batch:
        batch.drop_constraint(op.f("ck_claims_status"), type_="check")
        batch.create_check_constraint(op.f("ck_claims_status"), _in("status", claims))
        if new_columns:
            batch.add_column(sa.Column("filed_by", sa.String(100), nullable=True))
            batch.add_column(sa.Column("reviewed_by", sa.String(100), nullable=True))
            batch.add_column(sa.Column("proposal_json", sa.Text(), nullable=True))
            batch.add_column(sa.Column("notice_closes_on", sa.Date(), nullable=True))
        else:
            for column in ("notice_closes_on", "proposal_json", "reviewed_by", "filed_by"):
                batch.drop_column(column)
    with op.batch_alter_table("claim_status_changes", recreate=recreate) as batch:
        batch.drop_constraint(op.f("ck_claim_status_changes_status"), type_="check")
        batch.create_check_constraint(op.f("ck_claim_status_changes_status"), _in("status", claims))
        if new_columns:
            batch.add_column(sa.Column("actor", sa.String(100), nullable=True))
        else:
            batch.drop_column("actor")
    _entries_triggers(sqlite, create=False)
    with op.batch_alter_table("ledger_entries", recreate=recreate) as batch:
        batch.drop_constraint(op.f("ck_ledger_entries_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_ledger_entries_kind"), _in("kind", kinds))
    _entries_triggers(sqlite, create=True)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _checks(sqlite, CLAIM_STATUSES, ENTRY_KINDS, new_columns=True)
    op.create_table(
        "claim_notes",
        sa.Column("id", Id, nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(100), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in("kind", NOTE_KINDS), name=op.f("ck_claim_notes_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_notes")),
    )
    op.create_index(op.f("ix_claim_notes_claim_id"), "claim_notes", ["claim_id"])
    op.create_table(
        "claim_costs",
        sa.Column("id", Id, nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_costs")),
    )
    op.create_index(op.f("ix_claim_costs_claim_id"), "claim_costs", ["claim_id"])
    op.create_table(
        "claim_objections",
        sa.Column("id", Id, nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("kind", OBJECTION_KINDS), name=op.f("ck_claim_objections_kind")),
        sa.CheckConstraint(_in("status", OBJECTION_STATUSES), name=op.f("ck_claim_objections_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_objections")),
    )
    op.create_index(op.f("ix_claim_objections_claim_id"), "claim_objections", ["claim_id"])
    op.create_table(
        "juries",
        sa.Column("id", Id, nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("quorum", sa.BigInteger(), nullable=False),
        sa.Column("threshold", sa.String(16), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("votes_pay", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("votes_reject", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_in("threshold", JURY_THRESHOLDS), name=op.f("ck_juries_threshold")),
        sa.CheckConstraint(_in("status", JURY_STATUSES), name=op.f("ck_juries_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_juries")),
    )
    op.create_index(op.f("ix_juries_claim_id"), "juries", ["claim_id"])
    op.create_table(
        "jurors",
        sa.Column("jury_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("vote", sa.String(8), nullable=True),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_in("vote", VOTES), name=op.f("ck_jurors_vote")),
        sa.PrimaryKeyConstraint("jury_id", "member_id", name=op.f("pk_jurors")),
    )
    op.create_table(
        "jury_qualifications",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("pool_id", sa.BigInteger(), nullable=False),
        sa.Column("passed_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_jury_qualifications")),
    )
    op.create_index(op.f("ix_jury_qualifications_pool_id"), "jury_qualifications", ["pool_id"])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in ("jury_qualifications", "jurors", "juries", "claim_objections", "claim_costs", "claim_notes"):
        op.drop_table(table)
    _checks(sqlite, OLD_CLAIM_STATUSES, OLD_ENTRY_KINDS, new_columns=False)
