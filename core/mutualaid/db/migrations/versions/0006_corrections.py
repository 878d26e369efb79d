"""corrections: amended and withdrawn claims, voided sharing runs, reversed top-ups

Nothing already recorded is edited: each correction is a row of its own, and money moves back
through reversing ledger entries.

* Claims: the status ``withdrawn`` (a claim taken back before it was shared), the column
  ``requested_minor`` (the most an amended claim asks for) and the table ``claim_amendments``
  (who, when, why, each field's old and new value, the status before and after).
* Sharing runs: ``sharing_run_voids`` records a run voided before its deduction day (who, when,
  why, the reversing entry); the run's row and charges stay as they were. So that the period can be
  shared again, a run gets ``attempt`` (how many runs of its period were voided before it) and the
  unique key ``(pool_id, period)`` becomes ``(pool_id, period, attempt)``.
* Top-ups: ``top_up_reversals`` records a top-up reversed (the top-up's row stays as it was).
* Ledger entries: the kinds ``void`` (a voided run's reversing entry) and ``top-up-reversal``.

On SQLite a CHECK or unique constraint changes only with a copy of its table: ``sharing_runs``,
``claims``, ``claim_status_changes`` and ``ledger_entries`` are copied. ``claims`` refer to
``sharing_runs`` by foreign key, so (as in 0003) the claims are held in a temporary table while
``sharing_runs`` is copied; the ledger's append-only triggers on ``ledger_entries``, dropped with
the old table, are made again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The vocabulary at this revision (mutualaid.vocabulary), written out.
OLD_CLAIM_STATUSES = (
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
CLAIM_STATUSES = (*OLD_CLAIM_STATUSES, "withdrawn")
OLD_ENTRY_KINDS = ("sharing", "payments", "unpaid", "top-up", "refund", "adjustment", "investigation")
ENTRY_KINDS = (*OLD_ENTRY_KINDS, "void", "top-up-reversal")
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


@contextmanager
def _claims_set_aside(sqlite: bool) -> Iterator[None]:
    """On SQLite, hold the claims in a temporary table while ``sharing_runs`` is copied (see 0003:
    a copied table counts every row referring to it by foreign key as a violation), then put them
    back, into the claims table as it is by then."""
    if not sqlite:
        yield
        return
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute("CREATE TEMP TABLE claims_held_by_0006 AS SELECT * FROM claims")
    op.execute("DELETE FROM claims")
    yield
    held = [row[1] for row in op.get_bind().execute(sa.text("PRAGMA temp.table_info(claims_held_by_0006)"))]
    now = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("claims")}
    columns = ", ".join(c for c in held if c in now)
    op.execute(f"INSERT INTO claims ({columns}) SELECT {columns} FROM temp.claims_held_by_0006")
    op.execute("DROP TABLE temp.claims_held_by_0006")


def _runs(recreate: Literal["always", "auto"], upgrade: bool) -> None:
    with op.batch_alter_table("sharing_runs", recreate=recreate) as batch:
        if upgrade:
            batch.drop_constraint(op.f("uq_sharing_runs_pool_id_period"), type_="unique")
            batch.add_column(sa.Column("attempt", sa.Integer(), server_default="0", nullable=False))
            batch.create_unique_constraint(
                op.f("uq_sharing_runs_pool_id_period_attempt"), ["pool_id", "period", "attempt"]
            )
        else:
            batch.drop_constraint(op.f("uq_sharing_runs_pool_id_period_attempt"), type_="unique")
            batch.drop_column("attempt")
            batch.create_unique_constraint(op.f("uq_sharing_runs_pool_id_period"), ["pool_id", "period"])


def _claims(recreate: Literal["always", "auto"], statuses: tuple[str, ...], upgrade: bool) -> None:
    with op.batch_alter_table("claims", recreate=recreate) as batch:
        batch.drop_constraint(op.f("ck_claims_status"), type_="check")
        batch.create_check_constraint(op.f("ck_claims_status"), _in("status", statuses))
        if upgrade:
            batch.add_column(sa.Column("requested_minor", sa.BigInteger(), nullable=True))
        else:
            batch.drop_column("requested_minor")
    with op.batch_alter_table("claim_status_changes", recreate=recreate) as batch:
        batch.drop_constraint(op.f("ck_claim_status_changes_status"), type_="check")
        batch.create_check_constraint(op.f("ck_claim_status_changes_status"), _in("status", statuses))


def _entry_kinds(sqlite: bool, recreate: Literal["always", "auto"], kinds: tuple[str, ...]) -> None:
    _entries_triggers(sqlite, create=False)
    with op.batch_alter_table("ledger_entries", recreate=recreate) as batch:
        batch.drop_constraint(op.f("ck_ledger_entries_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_ledger_entries_kind"), _in("kind", kinds))
    _entries_triggers(sqlite, create=True)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    recreate: Literal["always", "auto"] = "always" if sqlite else "auto"
    with _claims_set_aside(sqlite):
        _runs(recreate, upgrade=True)
        _claims(recreate, CLAIM_STATUSES, upgrade=True)
    _entry_kinds(sqlite, recreate, ENTRY_KINDS)
    op.create_table(
        "claim_amendments",
        sa.Column("id", Id, nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=False),
        sa.Column("amended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changes_json", sa.Text(), nullable=False),
        sa.Column("status_before", sa.String(16), nullable=False),
        sa.Column("status_after", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_amendments")),
    )
    op.create_index(op.f("ix_claim_amendments_claim_id"), "claim_amendments", ["claim_id"])
    op.create_table(
        "sharing_run_voids",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("pool_id", sa.BigInteger(), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_by", sa.String(100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("claims_count", sa.Integer(), nullable=False),
        sa.Column("unfrozen_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_sharing_run_voids")),
    )
    op.create_index(op.f("ix_sharing_run_voids_pool_id"), "sharing_run_voids", ["pool_id"])
    op.create_table(
        "top_up_reversals",
        sa.Column("top_up_id", sa.BigInteger(), nullable=False),
        sa.Column("pool_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reversed_on", sa.Date(), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reversed_by", sa.String(100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("top_up_id", name=op.f("pk_top_up_reversals")),
    )
    op.create_index(op.f("ix_top_up_reversals_pool_id"), "top_up_reversals", ["pool_id"])


def downgrade() -> None:
    """Back to 0005: the corrections' tables are dropped, and a database that holds a correction
    that 0005 cannot express (a withdrawn claim, a void or top-up reversal entry, a period shared
    again) is refused rather than changed."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    recreate: Literal["always", "auto"] = "always" if sqlite else "auto"
    held = {
        "withdrawn claims": "SELECT count(*) FROM claims WHERE status = 'withdrawn'",
        "void or top-up-reversal entries": (
            "SELECT count(*) FROM ledger_entries WHERE kind IN ('void', 'top-up-reversal')"
        ),
        "periods shared again": "SELECT count(*) FROM sharing_runs WHERE attempt > 0",
    }
    for what, query in held.items():
        if bind.execute(sa.text(query)).scalar():
            raise RuntimeError(f"the database holds {what}, which revision 0005 cannot record; it stays at 0006")
    op.drop_table("top_up_reversals")
    op.drop_table("sharing_run_voids")
    op.drop_table("claim_amendments")
    _entry_kinds(sqlite, recreate, OLD_ENTRY_KINDS)
    with _claims_set_aside(sqlite):
        _runs(recreate, upgrade=False)
        _claims(recreate, OLD_CLAIM_STATUSES, upgrade=False)
