"""Benchmark ``mutualaid member import`` against a bare floor measured in the same run.

    python benchmarks/import_members.py                      # 100,000 rows, a temporary SQLite file
    python benchmarks/import_members.py --rows 1000000
    python benchmarks/import_members.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

It writes a CSV of valid truck drivers (the ``truckers`` plugin must be installed), times
:func:`mutualaid.members.import_members` through the API (parse, validate every row, check for
existing members, insert, commit), then times the floor: the same rows, read back from the members
table, inserted with one ``executemany`` of tuples through the raw DBAPI connection into a scratch
table of the same shape (columns, primary key, partial unique index, index, foreign key) and
committed. It prints rows/s, seconds and the ratio to the floor, the validation-only rate (every
row checked and its identity sealed as the import does, in chunks, by the same worker processes,
nothing written) and the import's peak memory: the resident memory of the importing process and
of its largest worker, and the largest proportional memory (PSS, sampled every half second) of
the importing process and its workers together, which counts the pages a forked worker shares
with it once, and the least an import could take: the longer of checking alone and writing alone,
since it does both. It also prints the processor time a row cost, in the importing process and
in its workers: on a machine of few cores the import is bound by their sum, whatever part of it
runs beside the rest. The import runs in a child process of its own, so that writing the CSV and reading
the rows back for the floor do not count. Nothing is asserted: these machines are noisy, compare
ratios.

For PostgreSQL a scratch database is created on the given server and dropped afterwards; for
SQLite a new file is used (an existing file is refused) and deleted unless ``--keep``.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

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


def _import_in_child(url: str, csv_path: str, pool_key: str, out: Any) -> None:
    """The import, in a process of its own: sends back its seconds, peak resident memory (MB) and
    processor seconds (user and system), its own and its workers' (the largest worker's memory; the
    workers have ended and been waited for by then), or the problem."""
    app = MutualAid(url, plugins=load_plugins(strict=True))
    try:
        before = _processor_seconds()
        started = time.perf_counter()
        result = app.import_members(pool_key, csv_path, joined_on=JOINED_ON)
        elapsed = time.perf_counter() - started
        after = _processor_seconds()
        if result.rejected:
            out.send(("rejected", result.problems[:3], 0.0, 0.0))
            return
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out.send(("ok", elapsed, own, workers, after[0] - before[0], after[1] - before[1]))
    finally:
        app.close()


def _processor_seconds() -> tuple[float, float]:
    """User and system seconds of this process, and of its children waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _proportional_mb(pid: int) -> float:
    """A process's proportional set size (MB): its own pages, and its share of the pages it shares
    (a forked worker shares most of its pages with the importing process); 0 once it has ended."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listing:
                found += [int(child) for child in listing.read().split()]
    except OSError:
        pass
    return found


class _PeakProportional:
    """Samples, every half second while the import runs, the proportional memory of the importing
    process and its workers together, and keeps the largest sum (Linux; 0 elsewhere)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            pids = [self.pid, *_children(self.pid)]
            self.peak = max(self.peak, sum(_proportional_mb(pid) for pid in pids))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def time_import(
    url: str, csv_path: Path, pool_key: str
) -> tuple[float, tuple[float, float, float], tuple[float, float]]:
    """Seconds of the import; the peak resident memory (MB) of the importing process and of its
    largest worker, and the largest proportional memory (MB) of the importing process and its
    workers together; the processor seconds of the importing process and of its workers: the import runs in a fresh process (spawned: nothing of this one's memory
    in it), whose workers are its own children."""
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("spawn").Process(
        target=_import_in_child, args=(url, str(csv_path), pool_key, send)
    )
    child.start()
    sampler = _PeakProportional(child.pid or 0)
    send.close()
    try:
        outcome = receive.recv()
    except EOFError:
        outcome = ("failed", f"exit code {child.exitcode}", 0.0, 0.0)
    together = sampler.stop()
    child.join()
    if outcome[0] != "ok":
        raise SystemExit(f"the import failed ({outcome[0]}): {outcome[1]}")
    return float(outcome[1]), (float(outcome[2]), float(outcome[3]), together), (outcome[4], outcome[5])


def validation_rate(app: MutualAid, csv_path: Path, pool_key: str, rows: int) -> float:
    """Rows per second checked and sealed as the import does, nothing written: the file read and
    checked a chunk at a time (by the import's worker processes when it would use them), each
    valid row's identity sealed with a member number."""
    from mutualaid.csvfiles import open_csv
    from mutualaid.members import importing
    from mutualaid.members.eligibility import CORE_COLUMNS, join_window
    from mutualaid.members.import_checks import RowChecker
    from mutualaid.members.import_chunks import checked_chunks, worker_count
    from mutualaid.members.sealing import database_keys
    from mutualaid.pools import get_pool

    with app.transaction() as session:
        pool = get_pool(session, app.plugins, pool_key)
        keys = database_keys(session, create=True)
        window = join_window(session, pool)
    optional = [name for name in next(csv.reader(csv_path.open(encoding="utf-8"))) if name not in CORE_COLUMNS]
    head = f"6:member{len(str(pool.id))}:{pool.id}"
    started = time.perf_counter()
    checked = 0
    with open_csv(csv_path, CORE_COLUMNS, optional) as source:
        checker = RowChecker(
            app.plugins,
            pool,
            csv_path,
            source.header,
            keys,
            default_joined_on=JOINED_ON,
            window=window,
            keep_applicants=False,
        )
        with checked_chunks(source, checker, worker_count(csv_path), importing.CHUNK_ROWS) as chunks:
            for chunk, _ in chunks:
                for n, (_, _, tail) in enumerate(chunk.good, start=checked):
                    keys.seal_encoded(f"{head}{len(str(n))}:{n}{tail}")
                checked += len(chunk.good)
    elapsed = time.perf_counter() - started
    if checked != rows:
        raise SystemExit(f"the checks passed {checked} rows of {rows}")
    return rows / elapsed


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
    parser.add_argument("--no-floor", action="store_true", help="skip the floor (for a quick look at a large file)")
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
            checks: list[float] = []
            peaks: list[tuple[float, float, float]] = []
            processors: list[tuple[float, float]] = []
            rows: list[tuple[object, ...]] = []
            for run in range(args.repeat):
                key = f"bench-{run}"
                record = app.create_pool({"key": key, "name": f"Benchmark {run}", "cohort": "truckers", "settings": {}})
                checks.append(validation_rate(app, csv_path, key, args.rows))
                seconds, peak, processor = time_import(url, csv_path, key)
                imports.append(seconds)
                peaks.append(peak)
                processors.append(processor)
                if not args.no_floor:
                    if not rows:
                        rows = read_back(engine, record.id)
                    floors.append(time_floor(engine, rows))
                    rows = [] if args.rows > 2_000_000 else rows
            imported = statistics.median(imports)
            floor = statistics.median(floors) if floors else None
            checked = statistics.median(checks)
        finally:
            app.close()
            engine.dispose()

    backend = make_url(url).get_backend_name()
    print(f"backend: {backend}; rows: {args.rows:,}; runs: {args.repeat} (medians)")
    print(f"  import_members   {imported:8.3f} s  {args.rows / imported:>12,.0f} rows/s")
    if floor is not None:
        print(
            f"  floor            {floor:8.3f} s  {args.rows / floor:>12,.0f} rows/s   "
            "(one executemany of tuples, raw DBAPI, same table shape)"
        )
        print(f"  ratio to floor   {imported / floor:8.1f} x")
    print(
        f"  validation only  {args.rows / checked:8.3f} s  {checked:>12,.0f} rows/s   (checked and sealed, not written)"
    )
    if floor is not None:
        least = max(args.rows / checked, floor)
        print(
            f"  least            {least:8.3f} s  {args.rows / least:>12,.0f} rows/s   (the longer of checking and "
            f"writing: an import does both); the import is {imported / least:.1f}x that"
        )
    importer = max(peak[0] for peak in peaks)
    worker = max(peak[1] for peak in peaks)
    together = max(peak[2] for peak in peaks)
    own = statistics.median(processor[0] for processor in processors) / args.rows * 1e6
    workers = statistics.median(processor[1] for processor in processors) / args.rows * 1e6
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    bound = cores * 1e6 / (own + workers)
    print(
        f"  processor        {own:8.1f} µs a row in the importing process, {workers:.1f} µs in its workers: "
        f"{own + workers:.1f} µs in all, so at most {bound:,.0f} rows/s on {cores} cores however the work is "
        f"split; the import ran at {args.rows / imported / bound:.0%} of that"
    )
    print(f"  peak RSS         {importer:8.0f} MB importing process, {worker:.0f} MB its largest worker")
    print(f"  peak PSS         {together:8.0f} MB importing process and its workers together (sampled every 0.5 s)")


if __name__ == "__main__":
    sys.exit(main())
