"""the vocabulary's CHECK constraints as equalities on SQLite

SQLite checks ``status IN ('active', 'frozen', 'lapsed', 'exited', 'deceased')`` in a CHECK
constraint by building a table of the list's values for every row written (a list of three values
or more; two are compared as equalities): about 2.5 µs a row on this project's machine, three
times the cost of writing a row of the members' history. An import of a million members wrote
three such checks per member (its row, and two rows of history). The same check written
``status = 'active' OR status = 'frozen' OR ...`` costs nothing measurable. This revision rewrites
each such constraint of SQLite's schema in place, the same values in the same order, so that no
table is copied (a pool of 100 million members migrates in an instant): SQLite's documented way of
changing a table's constraints without rebuilding it (``PRAGMA writable_schema``, the schema
version moved on so that every connection reads the new text). Each new table definition is first
checked to parse in a scratch database. Nothing changes on PostgreSQL, which compares a value with
a list of constants without that cost.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 16:00:00.000000
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlalchemy as sa
from alembic import context, op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_CLAIM = ("filed", "under-review", "proposed", "in-notice", "objected", "at-jury", "approved", "rejected", "shared")
_MEMBER = ("active", "frozen", "lapsed", "exited", "deceased")
#: Every CHECK constraint of three values or more at revision 0014: (table, column, values).
CHECKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("claim_status_changes", "status", (*_CLAIM, "withdrawn")),
    ("claims", "status", (*_CLAIM, "withdrawn")),
    ("juries", "threshold", ("majority", "two-thirds", "three-quarters")),
    ("juries", "status", ("open", "decided", "no-quorum")),
    (
        "ledger_entries",
        "kind",
        ("sharing", "payments", "unpaid", "top-up", "refund", "adjustment", "investigation", "void", "top-up-reversal"),
    ),
    (
        "ledger_lines",
        "account",
        (
            "members_due",
            "member_balances",
            "cash",
            "aid_payable",
            "fee_income",
            "surplus",
            "deficit",
            "sponsor_due",
            "refunds_payable",
        ),
    ),
    ("member_status_changes", "change", ("joined", "covered", "frozen", "unfrozen", "lapsed", "exited", "died")),
    ("member_status_changes", "status", _MEMBER),
    ("members", "status", _MEMBER),
    ("notice_deliveries", "status", ("sending", "sent", "failed")),
    ("sharing_runs", "fee_policy", ("rate", "flat", "none")),
    ("sharing_runs", "shortfall_policy", ("sponsor", "prorate", "carry", "none")),
)

Form = Callable[[str, tuple[str, ...]], str]


def as_list(column: str, values: tuple[str, ...]) -> str:
    """The constraint as revisions 0001-0014 wrote it: ``CHECK (status IN ('a', 'b', 'c'))``."""
    return f"CHECK ({column} IN ({', '.join(_quoted(v) for v in values)}))"


def as_equalities(column: str, values: tuple[str, ...]) -> str:
    """The constraint as this revision writes it: ``CHECK (status = 'a' OR status = 'b' OR ...)``."""
    return f"CHECK ({' OR '.join(f'{column} = {_quoted(v)}' for v in values)})"


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def upgrade() -> None:
    _rewrite(as_list, as_equalities, "revision 0014")


def downgrade() -> None:
    _rewrite(as_equalities, as_list, "this revision")


def _rewrite(old: Form, new: Form, writer: str) -> None:
    """Rewrite each constraint of :data:`CHECKS` from its ``old`` form to its ``new`` one; ``writer``
    names the revision that wrote the old form, for the message when one is not found."""
    if op.get_bind().dialect.name != "sqlite":
        return
    offline = context.is_offline_mode()
    if not offline:
        _check_parses(old, new)
    replace = sa.text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) WHERE type = 'table' AND name = :table")
    op.execute("PRAGMA writable_schema = ON")
    try:
        for table, column, values in CHECKS:
            op.execute(replace.bindparams(old=old(column, values), new=new(column, values), table=table))
        if not offline:  # every connection reads the tables' new definitions (written out, the
            # migration cannot know the version; a connection opened afterwards reads them anyway)
            bind = op.get_bind()
            version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar() or 0)
            bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        op.execute("PRAGMA writable_schema = OFF")
    if not offline:
        _check_rewritten(old, new, writer)


def _definitions() -> dict[str, str]:
    rows = op.get_bind().exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    return {str(name): str(sql) for name, sql in rows}


def _check_parses(old: Form, new: Form) -> None:
    """Each table's definition as it will be, created in a scratch database first: a text SQLite
    could not read is never written into the schema."""
    definitions = _definitions()
    scratch = sqlite3.connect(":memory:")
    try:
        for table in dict.fromkeys(table for table, _, _ in CHECKS):
            sql = definitions[table]
            for name, column, values in CHECKS:
                if name == table:
                    sql = sql.replace(old(column, values), new(column, values))
            scratch.execute(sql)
    finally:
        scratch.close()


def _check_rewritten(old: Form, new: Form, writer: str) -> None:
    definitions = _definitions()
    for table, column, values in CHECKS:
        if new(column, values) not in definitions[table] or old(column, values) in definitions[table]:
            raise RuntimeError(
                f"table {table}: its CHECK constraint on {column} is not as {writer} wrote it; "
                "nothing was changed (the migration is rolled back)"
            )
