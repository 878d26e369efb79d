"""ledger digests: collision-resistant digests of what ledger entries rest on

A run recorded its charges' checksum, sum(amount x (member mod 997)), which misses a minor unit
moved between two members whose numbers are equal modulo 997. ``sharing_runs`` gains
``charge_digest``: SHA-256 over the run's charges in member order (kind ``sha256-v1``,
mutualaid.ledger.digests), computed here for every existing run. Entries posted before keep the
checksum they recorded and are verified by it, so ``charge_checksum`` stays, as those entries'
companion: runs shared from this revision on leave it 0 (a downgrade computes it for them).

The ledger's tables are not touched: their append-only triggers stay as they are.

The digest needs the charges read in Python, so this revision cannot be written out as SQL
(``--sql``); it runs on the database.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 00:10:00.000000
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from array import array
from itertools import chain

import sqlalchemy as sa
from alembic import context, op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHECKSUM_MOD = 997
BATCH = 65_536


def _charge_digest(conn: sa.Connection, run_id: int) -> str:
    """SHA-256 of a run's charges, kind sha256-v1 (written out as it is at this revision): a header
    with the run's number, then each charge's member number and amount in member order, every
    integer 8 bytes big-endian signed."""
    digest = hashlib.sha256(b"mutualaid:charges:v1\n" + int(run_id).to_bytes(8, "big", signed=True))
    # The option goes on the statement: Connection.execution_options() would change the connection
    # itself, and every later statement (the UPDATE) would then run through a server-side cursor.
    query = sa.text("SELECT member_id, amount_minor FROM charges WHERE run_id = :run ORDER BY member_id")
    result = conn.execute(query.execution_options(yield_per=BATCH), {"run": run_id})
    for part in result.partitions():
        packed = array("q", chain.from_iterable((int(m), int(a)) for m, a in part))
        if packed.itemsize != 8:  # pragma: no cover - 'q' is 8 bytes on every supported platform
            raise RuntimeError("a 64-bit integer array is needed to compute charges' digests")
        if sys.byteorder == "little":
            packed.byteswap()
        digest.update(packed.tobytes())
    return digest.hexdigest()


def _has_digest() -> bool:
    return "charge_digest" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("sharing_runs")}


def _refuse_offline() -> None:
    if context.is_offline_mode():
        raise RuntimeError(
            "revision 0008 computes the charges' SHA-256 digests from the database and cannot be written out "
            "as SQL; run 'mutualaid db upgrade' without --sql"
        )


def upgrade() -> None:
    _refuse_offline()
    conn = op.get_bind()
    if not _has_digest():  # an old SQLite's downgrade could not drop it
        op.add_column("sharing_runs", sa.Column("charge_digest", sa.String(64), nullable=True))
    runs = [int(r) for r in conn.execute(sa.text("SELECT id FROM sharing_runs ORDER BY id")).scalars()]
    for run_id in runs:
        conn.execute(
            sa.text("UPDATE sharing_runs SET charge_digest = :digest WHERE id = :run"),
            {"digest": _charge_digest(conn, run_id), "run": run_id},
        )


def downgrade() -> None:
    _refuse_offline()
    conn = op.get_bind()
    # the runs shared since this revision left the checksum 0: the older code reads it
    op.execute(
        "UPDATE sharing_runs SET charge_checksum = COALESCE((SELECT sum(amount_minor * (member_id % "
        f"{CHECKSUM_MOD})) FROM charges WHERE charges.run_id = sharing_runs.id), 0)"
    )
    if conn.dialect.name != "sqlite" or sqlite3.sqlite_version_info >= (3, 35, 0):
        op.execute("ALTER TABLE sharing_runs DROP COLUMN charge_digest")
    else:  # pragma: no cover - SQLite before 3.35 cannot drop a column without copying the table
        op.execute("UPDATE sharing_runs SET charge_digest = NULL")
