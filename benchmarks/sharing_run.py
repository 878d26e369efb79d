"""Benchmark one sharing run against the floor of writing the same charge rows.

Builds a truckers pool of N members with one set-based statement (no Python loop), approves an
accidental death per million members (so a member's share is about 0.32 CNY at any N), runs one period with exact apportionment through the public API, and then, in
the same run, times a bare ``INSERT ... SELECT`` that writes the same rows (the members covered on
the notice day, selected by the same condition, with a constant amount) into a scratch table shaped
like ``charges`` (same primary key, no other index, ``WITHOUT ROWID`` on SQLite). It prints the times, the ratio and the
process's peak memory, and checks the run reconciles and the ledger verifies. It never asserts a
time. It also times, alone, the two reads every run must make besides its write (the count of the
members who share, and the read of its charges back for their digest), and prints the floor with
them: the least any run that counts, writes and digests could take. The first run starts the rotation of the extra minor units; later runs continue it, so they
also walk the sharing index to where the previous run stopped.

With ``--prepaid`` the pool is prepaid: each member is given a balance of 100 CNY set-based (written
straight into ``balances``, as the members are, with no top-up entry: the ledger's chain and the
run's records still verify, its books would not), so that the run also checks every member's
balance covers the most the period could ask and deducts each charge from it.

    python benchmarks/sharing_run.py --members 1000000
    python benchmarks/sharing_run.py --members 1000000 --prepaid
    python benchmarks/sharing_run.py --members 1000000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

For PostgreSQL a scratch database is created on the server of the URL and dropped afterwards.
Needs the truckers plugin installed (``make test`` or ``make demo`` installs it).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from mutualaid import MutualAid
from mutualaid.db import scratch_database
from mutualaid.ledger import charge_figures, verify_ledger

#: Members written per statement while loading.
LOAD_SLICE = 10_000_000
ATTRS = '{"licence_class":"A2","licence_number":"L","licence_expires":"2031-01-01","driving_proof":"x"}'


def _secondary_indexes(conn: Any, dialect: str) -> list[tuple[str, str]]:
    """(name, DDL) of the members table's indexes other than its primary key."""
    if dialect == "sqlite":
        rows = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'members' AND sql IS NOT NULL"
            )
        )
    else:
        rows = conn.execute(
            text(
                "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = 'members'::regclass AND NOT x.indisprimary"
            )
        )
    return [(str(name), str(ddl)) for name, ddl in rows]


def _foreign_keys(conn: Any) -> list[tuple[str, str]]:
    """PostgreSQL: (name, definition) of the members table's foreign keys."""
    rows = conn.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'members'::regclass AND contype = 'f'"
        )
    )
    return [(str(name), str(definition)) for name, definition in rows]


def _load_members(app: MutualAid, pool_id: int, members: int) -> float:
    """Load ``members`` active drivers set-based: the members table's secondary indexes dropped,
    the rows written in slices of 10M by one statement each, then the indexes built again from
    their own DDL (sorting a whole column beats inserting 100M keys one by one into a B-tree that
    no longer fits in memory, and each slice keeps a PostgreSQL transaction's WAL bounded). On
    PostgreSQL the foreign keys are dropped too and added again after, which checks every row in
    one join: kept, each row's insert ran a look-up of its pool (1M rows took 9.9 s instead of 2.9)."""
    dialect = app.engine.dialect.name
    started = time.perf_counter()
    with app.engine.begin() as conn:
        indexes = _secondary_indexes(conn, dialect)
        for name, _ in indexes:
            conn.execute(text(f"DROP INDEX {name}"))
        foreign_keys = _foreign_keys(conn) if dialect == "postgresql" else []
        for name, _ in foreign_keys:
            conn.execute(text(f"ALTER TABLE members DROP CONSTRAINT {name}"))
    for first in range(1, members + 1, LOAD_SLICE):
        last = min(first + LOAD_SLICE - 1, members)
        if dialect == "sqlite":
            source = (
                f"WITH RECURSIVE seq(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM seq WHERE n < {last}) "
                "SELECT n FROM seq"
            )
        else:
            source = f"SELECT n FROM generate_series({first}, {last}) AS n"
        with app.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO members (id, pool_id, id_cipher, id_hash, id_masked, identity_seal, name, birth_date, "
                    "joined_on, waiting_until, status, ended_on, attributes_json) "
                    f"SELECT n, {pool_id}, 'P' || n, 'P' || n, '***', '-', 'M' || n, '1980-01-01', '2026-10-01', "
                    f"'2026-12-30', 'active', NULL, '{ATTRS}' FROM ({source}) AS s"
                )
            )
    with app.engine.begin() as conn:
        if dialect == "postgresql":
            conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('members', 'id'), {members})"))
        for _, ddl in indexes:
            conn.execute(text(ddl))
        for name, definition in foreign_keys:  # validated: every row's pool checked, in one join
            conn.execute(text(f"ALTER TABLE members ADD CONSTRAINT {name} {definition}"))
        conn.execute(text("ANALYZE members" if dialect == "postgresql" else "ANALYZE"))
    statistics_as_asked(app)
    return time.perf_counter() - started


def statistics_as_asked(app: MutualAid, *more: Any) -> None:
    """With ``MUTUALAID_BENCH_STATISTICS=sampled`` and on SQLite, the statistics a real pool has:
    those of the members as a ``member import`` leaves them (``refresh_statistics``: sampled, 1,000
    rows an index, then the columns the sample saw few values of counted), not the full ``ANALYZE``
    of the loading; none of the other tables but ``more`` (refreshed the same way). Each benchmark
    then plans its queries as on a pool that was imported rather than loaded. Otherwise nothing."""
    from mutualaid.db.models import Member, MemberStatusChange
    from mutualaid.db.statistics import refresh_statistics

    if app.engine.dialect.name != "sqlite" or os.environ.get("MUTUALAID_BENCH_STATISTICS") != "sampled":
        return
    with app.transaction() as session:
        session.execute(text("ANALYZE sqlite_schema"))  # makes sqlite_stat1 where no ANALYZE has
        session.execute(text("DELETE FROM sqlite_stat1"))
        refresh_statistics(session, Member, MemberStatusChange, *more)
    app.engine.dispose()


def _covered(pool_id: int, notice_day: str) -> str:
    """SQL for the members covered at 00:00 on the notice day, the condition a run shares among."""
    return (
        f"pool_id = {pool_id} AND joined_on < '{notice_day}' AND (ended_on IS NULL OR ended_on >= '{notice_day}') "
        "AND status != 'frozen'"
    )


def _keyed_after_floor(app: MutualAid, pool_id: int, notice_day: str) -> float:
    """PostgreSQL: the same rows into a fresh table without a key, the key built after (as a run
    writes its partition, mutualaid.db.partitions): the floor of the way the run writes."""
    started = time.perf_counter()
    with app.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE floor_fresh (run_id BIGINT NOT NULL, member_id BIGINT NOT NULL, amount_minor BIGINT NOT NULL)"
            )
        )
        conn.execute(
            text(f"INSERT INTO floor_fresh SELECT 1, id, 32 FROM members WHERE {_covered(pool_id, notice_day)}")
        )
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        conn.execute(text("ALTER TABLE floor_fresh ADD PRIMARY KEY (run_id, member_id)"))
    elapsed = time.perf_counter() - started
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE floor_fresh"))
    return elapsed


def _floor(app: MutualAid, pool_id: int, notice_day: str) -> float:
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS floor_charges"))
        # The shape of ``charges``: its primary key, no other index, and on SQLite no rowid (the
        # rows stored in the key's B-tree, as migration 0010 made ``charges``).
        rowid = " WITHOUT ROWID" if app.engine.dialect.name == "sqlite" else ""
        conn.execute(
            text(
                "CREATE TABLE floor_charges (run_id BIGINT NOT NULL, member_id BIGINT NOT NULL, "
                f"amount_minor BIGINT NOT NULL, PRIMARY KEY (run_id, member_id)){rowid}"
            )
        )
    started = time.perf_counter()
    with app.engine.begin() as conn:
        # The same rows: the members covered at 00:00 on the notice day, with a constant amount.
        conn.execute(
            text(f"INSERT INTO floor_charges SELECT 1, id, 32 FROM members WHERE {_covered(pool_id, notice_day)}")
        )
    elapsed = time.perf_counter() - started
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE floor_charges"))
    return elapsed


def _reads(app: MutualAid, pool_id: int, notice_day: str, run_id: int) -> tuple[float, float]:
    """Seconds of the two reads every exact, digested run must make besides its write, each alone:
    counting the members who share (the share needs their number before anything is written; the
    same condition as the floor's), and reading back the run's charges for their SHA-256 (what the
    ledger records, and what ``ledger verify`` reads)."""
    started = time.perf_counter()
    with app.engine.connect() as conn:
        conn.execute(text(f"SELECT count(*) FROM members WHERE {_covered(pool_id, notice_day)}")).scalar()
    counted = time.perf_counter() - started
    started = time.perf_counter()
    with app.transaction() as session:
        charge_figures(session, run_id)
    return counted, time.perf_counter() - started


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _size(app: MutualAid) -> int:
    """The database's size on disk, in bytes."""
    with app.engine.connect() as conn:
        if app.engine.dialect.name == "sqlite":
            return int(
                conn.execute(
                    text("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
                ).scalar()
                or 0
            )
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)


def _give_balances(app: MutualAid, pool_id: int, amount: int = 10000) -> float:
    """A prepaid balance of ``amount`` minor units (100 CNY) for every member, set-based: the row
    each member of a prepaid pool holds from joining (0 until a top-up)."""
    started = time.perf_counter()
    with app.engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO balances (member_id, pool_id, balance_minor) SELECT id, {pool_id}, {amount} FROM members "
                f"WHERE pool_id = {pool_id}"
            )
        )
        conn.execute(text("ANALYZE balances" if app.engine.dialect.name == "postgresql" else "ANALYZE"))
    from mutualaid.db.models import Balance

    statistics_as_asked(app, Balance)  # sampled, as a file of top-ups leaves them
    return time.perf_counter() - started


def run(url: str, members: int, repeat: int, *, prepaid: bool = False) -> None:
    app = MutualAid(url)
    try:
        definition: dict[str, Any] = {"key": "bench", "name": "Benchmark", "cohort": "truckers"}
        definition["sharing"] = {"rounding": "exact"}
        if prepaid:
            definition["payments"] = {"model": "prepaid"}
        record = app.create_pool(definition)
        load = _load_members(app, record.id, members)
        print(
            f"loaded {members:,} members set-based in {load:.2f} s ({members / load:,.0f} rows/s); "
            f"peak memory so far {_peak_mb():.0f} MB"
        )
        if prepaid:
            print(f"gave each a balance of 100 CNY set-based in {_give_balances(app, record.id):.2f} s")
        runs, floors, fresh, reads = [], [], [], []
        postgresql = app.engine.dialect.name == "postgresql"
        # One death a million members: every member's share is then about 0.32 CNY whatever N (the
        # floor writes a constant 32 fen). With one death among 100M, the share would be a third of
        # a fen, and only the third of the members given an extra fen would be charged at all.
        deaths = max(1, round(members / 1_000_000))
        for attempt in range(repeat):
            year = 2027 + attempt  # a fresh period each time; the claims are filed before its notice day
            for n in range(attempt * deaths + 1, (attempt + 1) * deaths + 1):
                claim = app.file_claim(
                    "bench", n, event_kind="accidental_death",
                    event_date=f"{year - 1}-12-20", filed_on=f"{year - 1}-12-21",
                )  # fmt: skip
                app.approve_claim(claim.id)
            started = time.perf_counter()
            result = app.share("bench", f"{year}-01")
            runs.append(time.perf_counter() - started)
            if not app.reconcile("bench", f"{year}-01").ok:
                raise SystemExit("the run does not reconcile")
            with app.transaction() as session:
                if not verify_ledger(session, record.id).ok:
                    raise SystemExit("the ledger does not verify")
            floors.append(_floor(app, record.id, result.notice_date.isoformat()))
            if postgresql:
                fresh.append(_keyed_after_floor(app, record.id, result.notice_date.isoformat()))
            reads.append(_reads(app, record.id, result.notice_date.isoformat(), result.run_id))
            print(
                f"  run {attempt + 1}: {result.members:,} members sharing {deaths} deaths, "
                f"{result.share_minor / 100:.2f} CNY each (+0.01 for {result.extra_count:,}), in {runs[-1]:.2f} s; "
                f"bare INSERT ... SELECT {floors[-1]:.2f} s"
                + (f"; into a fresh table, keyed after {fresh[-1]:.2f} s" if postgresql else "")
            )
        share, floor = statistics.median(runs), statistics.median(floors)
        print(f"sharing run (median of {repeat}): {share:.2f} s")
        print(f"floor, bare INSERT ... SELECT of the same rows: {floor:.2f} s")
        print(f"ratio: {share / floor:.2f}x")
        counted = statistics.median(r[0] for r in reads)
        digested = statistics.median(r[1] for r in reads)
        bound = floor + counted + digested
        print(
            f"the run's two reads, each alone: the count of the members who share {counted:.2f} s, the digest of "
            f"its charges {digested:.2f} s; with the floor, {bound:.2f} s ({bound / floor:.2f}x the floor), "
            f"the least a run that counts, writes and digests its charges could take; the run is {share / bound:.2f}x that"
        )
        if postgresql:
            after = statistics.median(fresh)
            print(
                f"the same rows into a fresh table keyed after (how a run writes its partition): {after:.2f} s; "
                f"ratio to it: {share / after:.2f}x"
            )
        print(f"peak memory of this process: {_peak_mb():.0f} MB (the loading's index builds included)")
        print(f"database size: {_size(app) / 1e9:.2f} GB")
    finally:
        app.close()


def main() -> None:
    # The pool's today, after every period the benchmark shares (each repeat shares a fresh January period, 2027 onwards): a period is
    # shared only once its notice day has come. Worker processes inherit it.
    os.environ.setdefault("MUTUALAID_TODAY", "2040-12-31")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="members in the pool (default 1,000,000)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=3, help="sharing runs to time; the median is shown")
    parser.add_argument("--prepaid", action="store_true", help="a prepaid pool, each member with a balance")
    args = parser.parse_args()
    pool = "a prepaid pool of " if args.prepaid else ""
    if not args.database_url:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"SQLite, {pool}{args.members:,} members")
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.members, args.repeat, prepaid=args.prepaid)
        return
    with scratch_database(args.database_url, prefix="mutualaid_bench") as url:
        print(f"PostgreSQL, {pool}{args.members:,} members (scratch database {make_url(url).database})")
        run(url, args.members, args.repeat, prepaid=args.prepaid)


if __name__ == "__main__":
    main()
