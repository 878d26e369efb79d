"""A sharing run's charges in a partition of their own, on PostgreSQL.

On PostgreSQL the ``charges`` table is partitioned by run (``PARTITION BY LIST (run_id)``,
migration 0011). A run writes its charges into a fresh table without any index, builds the
table's primary key from the rows (one sort, instead of inserting millions of keys one by one into
a B-tree), adds a check that every row belongs to the run (so that attaching needs no scan), and
attaches the table as the run's partition: measured at 10M charges, 0.63x of inserting them into a
keyed table. All of it is inside the run's transaction: a run that fails leaves no table behind.
A partition is named after its run (:func:`partition_name`); detaching one (``ALTER TABLE charges
DETACH PARTITION charges_run_N``) takes a run's charges out of the table whole, for an archive.

SQLite has no partitions: there the run inserts into ``charges`` itself (a ``WITHOUT ROWID``
table, migration 0010).
"""

from __future__ import annotations

from sqlalchemy import column, insert, table
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

__all__ = [
    "PARTITION_PREFIX",
    "attached_partitions",
    "insert_run_charges",
    "not_a_partition",
    "partition_name",
    "partitioned",
]

#: The name of a run's partition is this, then the run's number.
PARTITION_PREFIX = "charges_run_"
#: Memory for building a partition's key in one sort (PostgreSQL's default is 64 MB, which spills
#: a run of 10M charges to disk): set for the run's transaction only.
_KEY_BUILD_MEMORY = "256MB"


def partition_name(run_id: int) -> str:
    """The table that holds run ``run_id``'s charges on PostgreSQL."""
    return f"{PARTITION_PREFIX}{int(run_id)}"


def not_a_partition(name: str | None, type_: str, _parent: object) -> bool:
    """For Alembic's ``include_name`` when it compares a database with the models: a run's
    partition is made by the run, not by the models, and is left out of the comparison."""
    return not (type_ == "table" and name is not None and name.startswith(PARTITION_PREFIX))


def partitioned(connection: Connection) -> bool:
    """Whether the database's ``charges`` table is partitioned by run (PostgreSQL at 0011 or later)."""
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.exec_driver_sql("SELECT relkind FROM pg_class WHERE oid = to_regclass('charges')").scalar()
    return kind == "p"


def attached_partitions(connection: Connection) -> list[str]:
    """The partitions attached to ``charges``, by name (none where it is not partitioned)."""
    if not partitioned(connection):
        return []
    rows = connection.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'charges'::regclass ORDER BY c.relname"
    )
    return [str(name) for (name,) in rows]


def insert_run_charges(connection: Connection, run_id: int, source: Select) -> None:
    """Write run ``run_id``'s charges, the rows of ``source`` (run, member, amount), inside the
    caller's transaction: into the run's own partition where ``charges`` is partitioned, else into
    ``charges``."""
    columns = ["run_id", "member_id", "amount_minor"]
    if not partitioned(connection):
        connection.execute(insert(table("charges", *map(column, columns))).from_select(columns, source))
        return
    run_id = int(run_id)
    name = partition_name(run_id)
    run = connection.exec_driver_sql
    run(f"CREATE TABLE {name} (LIKE charges INCLUDING DEFAULTS)")
    connection.execute(insert(table(name, *map(column, columns))).from_select(columns, source))
    run(f"SET LOCAL maintenance_work_mem = '{_KEY_BUILD_MEMORY}'")
    run(f"ALTER TABLE {name} ADD CONSTRAINT pk_{name} PRIMARY KEY (run_id, member_id)")
    run(f"ALTER TABLE {name} ADD CONSTRAINT ck_{name}_run CHECK (run_id = {run_id})")
    run(f"ALTER TABLE charges ATTACH PARTITION {name} FOR VALUES IN ({run_id})")
