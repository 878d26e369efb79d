"""vocabulary checks, member and claim history, append-only ledger

Every column that holds a word of the vocabulary (statuses, policies, kinds, accounts) gets a CHECK
constraint with the values of its ``StrEnum`` as they are at this revision (written out here: a
migration must not change when the code does). Members' history gains a ``change`` column
(joined, covered, frozen, unfrozen, lapsed, exited, died) and is backfilled from the members
table, so every membership has its joining, the end of its waiting period and its end on record;
claims get a history table, backfilled from their filing, decision and sharing. Triggers make
the ledger append-only in the database: an UPDATE or DELETE of an entry or a line is refused.

SQLite cannot add a CHECK constraint to a table, so the tables concerned are copied into new ones
(Alembic's batch mode). Foreign keys are deferred to the end of the transaction meanwhile, the
claims (the only rows that refer to a copied table: members, sharing_runs) are held in a temporary
table while the tables are copied, and the members' partial unique index is dropped and made again
around the copy. A later migration that copies ``ledger_entries`` or ``ledger_lines`` on SQLite must
create the triggers again (SQLite drops a table's triggers with it).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 20:00:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The vocabulary at this revision (mutualaid.vocabulary), written out.
MEMBER_STATUSES = ("active", "frozen", "lapsed", "exited", "deceased")
MEMBER_CHANGES = ("joined", "covered", "frozen", "unfrozen", "lapsed", "exited", "died")
CLAIM_STATUSES = ("filed", "approved", "rejected", "shared")
ROUNDINGS = ("round-up", "exact")
FEE_POLICIES = ("rate", "flat", "none")
PAYMENT_MODELS = ("postpaid", "prepaid")
SHORTFALL_POLICIES = ("sponsor", "prorate", "carry", "none")
PAYMENT_RESULTS = ("paid", "failed")
ENTRY_KINDS = ("sharing", "payments", "unpaid", "top-up", "refund", "adjustment")
ACCOUNTS = (
    "members_due",
    "member_balances",
    "cash",
    "aid_payable",
    "fee_income",
    "surplus",
    "deficit",
    "sponsor_due",
    "refunds_payable",
)

#: (table, constraint name, column, allowed values)
CHECKS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("members", "ck_members_status", "status", MEMBER_STATUSES),
    ("claims", "ck_claims_status", "status", CLAIM_STATUSES),
    ("sharing_runs", "ck_sharing_runs_rounding", "rounding", ROUNDINGS),
    ("sharing_runs", "ck_sharing_runs_fee_policy", "fee_policy", FEE_POLICIES),
    ("sharing_runs", "ck_sharing_runs_payment_model", "payment_model", PAYMENT_MODELS),
    ("sharing_runs", "ck_sharing_runs_shortfall_policy", "shortfall_policy", SHORTFALL_POLICIES),
    ("payments", "ck_payments_result", "result", PAYMENT_RESULTS),
    ("ledger_entries", "ck_ledger_entries_kind", "kind", ENTRY_KINDS),
    ("ledger_lines", "ck_ledger_lines_account", "account", ACCOUNTS),
    ("member_status_changes", "ck_member_status_changes_change", "change", MEMBER_CHANGES),
    ("member_status_changes", "ck_member_status_changes_status", "status", MEMBER_STATUSES),
)

LEDGER_TABLES = ("ledger_entries", "ledger_lines")
REFUSAL = "ledger entries are append-only: post a reversing entry instead of changing or deleting one"


def _in(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in allowed)})"


def _member_indexes(create: bool) -> None:
    if not create:
        op.drop_index("uq_members_live_person", table_name="members")
        op.drop_index("ix_members_sharing", table_name="members")
        op.drop_index("ix_members_pool_id_id_number", table_name="members")
        return
    live = sa.text("status IN ('active', 'frozen')")
    op.create_index(
        "uq_members_live_person",
        "members",
        ["pool_id", "id_number"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )
    op.create_index(
        "ix_members_sharing",
        "members",
        ["pool_id", "joined_on", "id", "ended_on", "status", "birth_date", "waiting_until"],
        unique=False,
    )
    op.create_index("ix_members_pool_id_id_number", "members", ["pool_id", "id_number"], unique=False)


@contextmanager
def _claims_set_aside(sqlite: bool) -> Iterator[None]:
    """On SQLite, hold the claims in a temporary table while the tables are copied, then put them back.

    Copying a table drops the original, and SQLite counts every row that refers to a dropped table
    by foreign key (claims to members and to sharing_runs) as a deferred violation; renaming the
    copy into its place does not take the count back, so the transaction would fail at COMMIT
    ("FOREIGN KEY constraint failed") as soon as the pool has one claim. With no claims in the table
    while members and sharing_runs are copied nothing is counted; the claims come back unchanged
    (same columns, same affinity) once every copy is in place, and are checked as they are inserted.
    """
    if not sqlite:
        yield
        return
    columns = ", ".join(column["name"] for column in sa.inspect(op.get_bind()).get_columns("claims"))
    op.execute("CREATE TEMP TABLE claims_held_by_0003 AS SELECT * FROM claims")
    op.execute("DELETE FROM claims")
    yield
    op.execute(f"INSERT INTO claims ({columns}) SELECT {columns} FROM temp.claims_held_by_0003")
    op.execute("DROP TABLE temp.claims_held_by_0003")


def _add_checks(sqlite: bool) -> None:
    tables: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
    for table, name, column, allowed in CHECKS:
        tables.setdefault(table, []).append((name, column, allowed))
    for table, checks in tables.items():
        if not sqlite:
            for name, column, allowed in checks:
                op.create_check_constraint(op.f(name), table, _in(column, allowed))
            continue
        if table == "members":
            _member_indexes(create=False)
        with op.batch_alter_table(table, recreate="always") as batch_op:
            for name, column, allowed in checks:
                batch_op.create_check_constraint(op.f(name), _in(column, allowed))
        if table == "members":
            _member_indexes(create=True)


def _backfill_member_history(sqlite: bool) -> None:
    # The rows kept before this revision were freezes, unfreezes (status 'active') and lapses.
    op.execute(
        "UPDATE member_status_changes SET change = CASE status WHEN 'frozen' THEN 'frozen' "
        "WHEN 'lapsed' THEN 'lapsed' ELSE 'unfrozen' END"
    )
    day_after = (lambda column: f"date({column}, '+1 day')") if sqlite else (lambda column: f"({column} + 1)")
    op.execute(
        "INSERT INTO member_status_changes (member_id, change, status, since, cause) "
        "SELECT id, 'joined', 'active', joined_on, 'joined' FROM members ORDER BY id"
    )
    op.execute(
        "INSERT INTO member_status_changes (member_id, change, status, since, cause) "
        f"SELECT id, 'covered', 'active', {day_after('waiting_until')}, 'the waiting period ends' "
        "FROM members WHERE waiting_until > joined_on ORDER BY id"
    )
    op.execute(
        "INSERT INTO member_status_changes (member_id, change, status, since, cause) "
        f"SELECT id, CASE status WHEN 'deceased' THEN 'died' ELSE 'exited' END, status, {day_after('ended_on')}, "
        "'ended before the member history was kept' "
        "FROM members WHERE status IN ('exited', 'deceased') AND ended_on IS NOT NULL ORDER BY id"
    )


def _backfill_claim_history() -> None:
    """Each claim's steps, worded as the claims machine words them: filed (at 00:00 of the filing
    day in the pool's time zone), approved with the cohort's reasons or rejected with the
    operator's, shared in its period by its run."""
    bind = op.get_bind()
    history = sa.table(
        "claim_status_changes",
        sa.column("claim_id", sa.BigInteger()),
        sa.column("status", sa.String()),
        sa.column("changed_at", sa.DateTime(timezone=True)),
        sa.column("cause", sa.Text()),
    )
    claims = sa.table(
        "claims",
        sa.column("id", sa.BigInteger()),
        sa.column("pool_id", sa.BigInteger()),
        sa.column("status", sa.String()),
        sa.column("filed_on", sa.Date()),
        sa.column("decided_at", sa.DateTime(timezone=True)),
        sa.column("reasons_json", sa.Text()),
        sa.column("sharing_run_id", sa.BigInteger()),
    )
    runs = sa.table(
        "sharing_runs",
        sa.column("id", sa.BigInteger()),
        sa.column("period", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    pools = sa.table("pools", sa.column("id", sa.BigInteger()), sa.column("config_json", sa.Text()))
    zones = {pool_id: _zone(config) for pool_id, config in bind.execute(sa.select(pools.c.id, pools.c.config_json))}
    shared = {
        run_id: (period, at)
        for run_id, period, at in bind.execute(sa.select(runs.c.id, runs.c.period, runs.c.created_at))
    }
    rows = []
    for claim_id, pool_id, status, filed_on, decided_at, reasons_json, run_id in bind.execute(
        sa.select(
            claims.c.id,
            claims.c.pool_id,
            claims.c.status,
            claims.c.filed_on,
            claims.c.decided_at,
            claims.c.reasons_json,
            claims.c.sharing_run_id,
        ).order_by(claims.c.id)
    ):
        filed_at = datetime.combine(filed_on, time(0), tzinfo=zones.get(pool_id, UTC)).astimezone(UTC)
        rows.append({"claim_id": claim_id, "status": "filed", "changed_at": filed_at, "cause": "filed"})
        reasons = "; ".join(json.loads(reasons_json)) if reasons_json else ""
        if status in ("approved", "shared", "rejected"):
            verdict = "rejected" if status == "rejected" else "approved"
            cause = f"{verdict}: {reasons}" if reasons else verdict
            rows.append({"claim_id": claim_id, "status": verdict, "changed_at": decided_at or filed_at, "cause": cause})
        if status == "shared":
            period, at = shared.get(run_id, ("?", None))
            rows.append(
                {
                    "claim_id": claim_id,
                    "status": "shared",
                    "changed_at": at or decided_at or filed_at,
                    "cause": f"shared in period {period} (run #{run_id})",
                }
            )
    if rows:
        op.bulk_insert(history, rows)


def _zone(config_json: str) -> tzinfo:
    """The pool's time zone, from its stored configuration (UTC if it names none or an unknown one)."""
    try:
        return ZoneInfo(json.loads(config_json).get("timezone") or "UTC")
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        return UTC


def _create_triggers(sqlite: bool) -> None:
    if sqlite:
        for table in LEDGER_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_append_only_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION mutualaid_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'integrity_constraint_violation'; END $$"
    )
    for table in LEDGER_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION mutualaid_ledger_append_only()"
        )


def _drop_triggers(sqlite: bool) -> None:
    if sqlite:
        for table in LEDGER_TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_{action}")
        return
    for table in LEDGER_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS mutualaid_ledger_append_only()")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # Tables are copied below; the rows that refer to them are checked again at commit.
        op.execute("PRAGMA defer_foreign_keys = ON")
    op.create_table(
        "claim_status_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.CheckConstraint(_in("status", CLAIM_STATUSES), name=op.f("ck_claim_status_changes_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_status_changes")),
    )
    op.create_index(op.f("ix_claim_status_changes_claim_id"), "claim_status_changes", ["claim_id"], unique=False)
    with op.batch_alter_table("member_status_changes") as batch_op:
        batch_op.add_column(sa.Column("change", sa.String(length=16), nullable=True))
    _backfill_member_history(sqlite)
    with op.batch_alter_table("member_status_changes") as batch_op:
        batch_op.alter_column("change", existing_type=sa.String(length=16), nullable=False)
    with _claims_set_aside(sqlite):
        _add_checks(sqlite)
    _backfill_claim_history()
    _create_triggers(sqlite)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA defer_foreign_keys = ON")
    _drop_triggers(sqlite)
    tables: dict[str, list[str]] = {}
    for table, name, _column, _allowed in CHECKS:
        tables.setdefault(table, []).append(name)
    with _claims_set_aside(sqlite):
        for table, names in tables.items():
            if sqlite and table == "members":
                _member_indexes(create=False)
            with op.batch_alter_table(table, recreate="always" if sqlite else "auto") as batch_op:
                for name in names:
                    batch_op.drop_constraint(op.f(name), type_="check")
            if sqlite and table == "members":
                _member_indexes(create=True)
    op.execute("DELETE FROM member_status_changes WHERE change IN ('joined', 'covered', 'exited', 'died')")
    with op.batch_alter_table("member_status_changes") as batch_op:
        batch_op.drop_column("change")
    op.drop_index(op.f("ix_claim_status_changes_claim_id"), table_name="claim_status_changes")
    op.drop_table("claim_status_changes")
