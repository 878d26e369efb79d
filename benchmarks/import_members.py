"""Benchmark ``mutualaid member import`` against a bare floor measured in the same run.

    python benchmarks/import_members.py                      # 100,000 rows, a temporary SQLite file
    python benchmarks/import_members.py --rows 1000000
    python benchmarks/import_members.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

It writes a CSV of valid truck drivers (the ``truckers`` plugin must be installed), times
:func:`mutualaid.members.import_members` through the API (parse, validate every row, check for
existing members, insert, commit), then times the floor: the same rows, read back from the members
table, inserted with one ``executemany`` of tuples through the raw DBAPI connection into a scratch
table of the same shape (columns, primary key, partial unique index, index, foreign key) and
committed. It prints rows/s, seconds and the ratio to the floor. Nothing is asserted: these
machines are noisy, compare ratios.

For PostgreSQL a scratch database is created on the given server and dropped afterwards; for
SQLite a new file is used (an existing file is refused) and deleted unless ``--keep``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Engine, make_url

from mutualaid import MutualAid, load_plugins
from mutualaid.db import make_engine, scratch_database
from mutualaid.db.models import Member, Pool
from mutualaid.testing import resident_id
from mutualaid.vocabulary import LIVE_STATUSES

JOINED_ON = date(2026, 10, 1)
#: The columns an import fills: every column of the members table but its key.
COLUMNS = tuple(column.name for column in Member.__table__.columns if column.name != "id")
Id = BigInteger().with_variant(Integer, "sqlite")


def write_csv(path: Path, rows: int) -> None:
    """``rows`` eligible drivers aged 29 to 56 on the joining day, each with a unique resident ID."""
    if rows > 10_000_000:
        raise SystemExit("at most 10,000,000 rows (the generated birth dates must stay eligible)")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["id_number", "name", "birth_date", "licence_class", "licence_number", "licence_expires", "driving_proof"]
        )
        for n in range(rows):
            born = date(1970, 1, 1) + timedelta(days=n // 1000)
            writer.writerow(
                [
                    resident_id(born, n % 1000),
                    f"司机{n}",
                    born.isoformat(),
                    "B2",
                    f"L{n:09d}",
                    "2031-06-30",
                    f"ETC-{n:09d}",
                ]
            )


def floor_table(metadata: MetaData) -> Table:
    """A scratch table of the members table's shape, with its constraints under other names."""
    table = Table(
        "bench_floor_members",
        metadata,
        Column("id", Id, primary_key=True),
        Column("pool_id", Id, ForeignKey(Pool.__table__.c.id), nullable=False),
        Column("id_cipher", String(128), nullable=False),
        Column("name", String(200), nullable=False),
        Column("birth_date", Date, nullable=False),
        Column("joined_on", Date, nullable=False),
        Column("waiting_until", Date, nullable=False),
        Column("status", String(16), nullable=False),
        Column("ended_on", Date),
        Column("attributes_json", Text, nullable=False),
        Column("email", String(254)),
        Column("phone", String(32)),
        Column("locale", String(8)),
        Column("city", String(100)),
        Column("id_hash", String(64), nullable=False),
        Column("id_masked", String(64), nullable=False),
        Column("identity_seal", String(64), nullable=False),
    )
    live = table.c.status.in_(LIVE_STATUSES)
    Index(
        "uq_bench_floor_live_person",
        table.c.pool_id,
        table.c.id_hash,
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )
    Index("ix_bench_floor_pool_id_joined_on", table.c.pool_id, table.c.joined_on)
    return table


@contextmanager
def run_database(url: str | None, keep: bool) -> Iterator[str]:
    """The URL of a database that exists only for this run."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="mutualaid-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or path.exists():
            raise SystemExit(f"{url}: give a SQLite file that does not exist yet (it is created for the run)")
        try:
            yield url
        finally:
            if not keep:
                path.unlink(missing_ok=True)
        return
    with scratch_database(url, prefix="mutualaid_bench", keep=keep) as scratch:
        yield scratch


def time_import(app: MutualAid, csv_path: Path, pool_key: str) -> float:
    started = time.perf_counter()
    result = app.import_members(pool_key, csv_path, joined_on=JOINED_ON)
    elapsed = time.perf_counter() - started
    if result.rejected:
        raise SystemExit(f"the import rejected {result.rejected} rows: {result.problems[:3]}")
    return elapsed


def read_back(engine: Engine, pool_id: int) -> list[tuple[object, ...]]:
    """The imported rows as the DBAPI returns them (ISO text dates on SQLite, dates on PostgreSQL)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM members WHERE pool_id = {marker} ORDER BY id", (pool_id,))
        rows = [tuple(row) for row in cursor.fetchall()]
        cursor.close()
        raw.commit()
        return rows
    finally:
        raw.close()


def time_floor(engine: Engine, rows: list[tuple[object, ...]]) -> float:
    """One executemany of tuples through the raw DBAPI connection, in one transaction, committed."""
    marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO bench_floor_members ({', '.join(COLUMNS)}) VALUES ({', '.join([marker] * len(COLUMNS))})"
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM bench_floor_members"))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN")  # mutualaid's engine leaves pysqlite in autocommit mode
        cursor.executemany(sql, rows)
        raw.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_floor_members")
        (count,) = cursor.fetchone()
        cursor.close()
        raw.commit()
    finally:
        raw.close()
    if count != len(rows):
        raise SystemExit(f"the floor wrote {count} rows instead of {len(rows)}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the CSV (default: 100000)")
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL (default: a temporary SQLite file); for "
        "PostgreSQL a scratch database is created on that server and dropped",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the median is shown")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be at least 1")

    plugins = load_plugins(strict=True)
    if "truckers" not in plugins.cohorts:
        raise SystemExit("install the truckers plugin first: pip install -e plugins/truckers")

    with (
        tempfile.TemporaryDirectory(prefix="mutualaid-bench-csv-") as tmp,
        run_database(args.database_url, args.keep) as url,
    ):
        csv_path = Path(tmp) / "members.csv"
        started = time.perf_counter()
        write_csv(csv_path, args.rows)
        print(
            f"wrote {args.rows:,} rows to {csv_path.name} ({csv_path.stat().st_size / 1e6:.1f} MB) "
            f"in {time.perf_counter() - started:.2f} s"
        )

        app = MutualAid(url, plugins=plugins)
        engine = make_engine(url)
        try:
            app.create_database()  # the schema at the head (Alembic migrations)
            floor_table(MetaData()).create(engine)
            imports: list[float] = []
            floors: list[float] = []
            rows: list[tuple[object, ...]] = []
            for run in range(args.repeat):
                key = f"bench-{run}"
                record = app.create_pool({"key": key, "name": f"Benchmark {run}", "cohort": "truckers", "settings": {}})
                imports.append(time_import(app, csv_path, key))
                if not rows:
                    rows = read_back(engine, record.id)
                floors.append(time_floor(engine, rows))
            imported, floor = statistics.median(imports), statistics.median(floors)
        finally:
            app.close()
            engine.dispose()

    backend = make_url(url).get_backend_name()
    print(f"backend: {backend}; rows: {args.rows:,}; runs: {args.repeat} (medians)")
    print(f"  import_members   {imported:8.3f} s  {args.rows / imported:>12,.0f} rows/s")
    print(
        f"  floor            {floor:8.3f} s  {args.rows / floor:>12,.0f} rows/s   "
        "(one executemany of tuples, raw DBAPI, same table shape)"
    )
    print(f"  ratio to floor   {imported / floor:8.1f} x")


if __name__ == "__main__":
    sys.exit(main())
