"""Benchmark ``mutualaid balance import`` (top-ups) into a big prepaid pool against its floor, and
the prepaid commands an operator runs on that pool.

Builds a prepaid truckers pool of N members with one set-based statement (the loader of
``sharing_run.py``), then imports two files of M top-ups each with the real command, each run as a
process of its own (its start-up, about half a second, is in the figure): the first into a pool
without top-ups, the second into the pool that now holds the first's M, so that a cost growing with
the pool's top-ups shows as the second import slowing down. Each file names members spread over the
whole pool, one top-up each, with a reference of its own. In the same run it times the floor: a bare
``executemany`` of the same M rows into a scratch table shaped like ``top_ups`` (same columns,
primary key and indexes), and, each alone, what any import must do besides writing: start a
process, read the file with Python's csv module, and read the first file's top-ups back for the
digest its entry records; with the floor, the least an import could take. It prints the seconds, rows per second, the ratio and each command's peak
memory (its maximum resident set), and checks the imports' figures, the balances and that the
ledger verifies. It then times, as processes, the commands that read or write one thing of a
member on that pool: ``balance topup``, ``balance show``, ``balance reverse``, then the incremental
``ledger verify`` after them and ``ledger balance``, and ``balance low``: its first page, the whole
listing (every member the files did not top up is below the level), and with nobody below the
level it is given (0). It never asserts a time.

    python benchmarks/top_up_import.py --members 1000000 --top-ups 300000
    python benchmarks/top_up_import.py --members 10000000 --top-ups 1000000
    python benchmarks/top_up_import.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

For PostgreSQL a scratch database is created on the server of the URL and dropped afterwards.
Needs the truckers plugin installed (``make test`` or ``make demo`` installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from mutualaid import MutualAid
from mutualaid.db import scratch_database
from mutualaid.ledger import verify_ledger
from mutualaid.ledger.digests import top_ups_digest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from payment_import import _command, _start_and_read  # noqa: E402  (a command as a process, with its peak memory)
from sharing_run import _give_balances, _load_members  # noqa: E402  (the set-based loader, shared)

#: The day of every top-up: after the members joined (2026-10-01), before the pool's today.
DAY = "2027-01-15"
#: The amount of every top-up of the files, in minor units (50.00 CNY).
AMOUNT = 5000


def _members_of(file: int, members: int, top_ups: int) -> range:
    """Member numbers of file 1 or 2: spread over the whole pool, each named once per file."""
    step = members // top_ups
    return range(file, step * top_ups + 1, step)


def _write_file(path: Path, file: int, members: int, top_ups: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("member_id,amount,date,reference\n")
        for n, member in enumerate(_members_of(file, members, top_ups)):
            out.write(f"{member},{AMOUNT // 100}.{AMOUNT % 100:02d},{DAY},WX{file}-{n:010d}\n")


def _floor(app: MutualAid, pool_id: int, members: range) -> float:
    """A bare executemany of the same rows into a table shaped like top_ups."""
    id_type = "INTEGER PRIMARY KEY" if app.engine.dialect.name == "sqlite" else "BIGSERIAL PRIMARY KEY"
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS floor_top_ups"))
        conn.execute(
            text(
                f"CREATE TABLE floor_top_ups (id {id_type}, pool_id BIGINT NOT NULL, member_id BIGINT NOT NULL, "
                "amount_minor BIGINT NOT NULL, received_on DATE NOT NULL, reference VARCHAR(200) NOT NULL, "
                "entry_id BIGINT)"
            )
        )
        for name, columns in _top_up_indexes(conn):
            conn.execute(text(f"CREATE INDEX floor_{name} ON floor_top_ups ({columns})"))
    marker = "?" if app.engine.dialect.name == "sqlite" else "%s"
    sql = (
        "INSERT INTO floor_top_ups (pool_id, member_id, amount_minor, received_on, reference, entry_id) "
        f"VALUES ({', '.join([marker] * 6)})"
    )
    values = [(pool_id, member, AMOUNT, DAY, f"WX9-{n:010d}", 1) for n, member in enumerate(members)]
    started = time.perf_counter()
    with app.engine.begin() as conn:
        for start in range(0, len(values), 5000):
            conn.exec_driver_sql(sql, values[start : start + 5000])
    elapsed = time.perf_counter() - started
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE floor_top_ups"))
    return elapsed


def _least(app: MutualAid, url: str, pool_id: int, entry_id: int, path: Path, workdir: Path) -> tuple[float, ...]:
    """Seconds of what any import of the file must do besides writing its rows, each alone: start a
    process (``mutualaid --version``), read the file's rows (Python's csv module, nothing checked)
    and read the entry's top-ups back for the digest it records."""
    start, read = _start_and_read(url, path, workdir)
    started = time.perf_counter()
    with app.transaction() as session:
        top_ups_digest(session, pool_id, entry_id)
    return start, read, time.perf_counter() - started


def _top_up_indexes(conn: Any) -> list[tuple[str, str]]:
    """The secondary indexes of ``top_ups`` as (name, columns), read from the database itself."""
    if conn.dialect.name == "sqlite":
        names = [row[1] for row in conn.execute(text("PRAGMA index_list(top_ups)")) if row[3] == "c"]
        return [(name, ", ".join(row[2] for row in conn.execute(text(f"PRAGMA index_info({name})")))) for name in names]
    found = conn.execute(
        text(
            "SELECT i.relname, string_agg(a.attname, ', ' ORDER BY k.n) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
            "WHERE t.relname = 'top_ups' AND NOT x.indisprimary GROUP BY i.relname"
        )
    )
    return [(name, columns) for name, columns in found]


def _import(url: str, path: Path) -> tuple[float, float, dict]:
    out = path.with_suffix(".json")
    elapsed, peak = _command(url, "balance", "import", "bench", str(path), "--json", out=out)
    return elapsed, peak, json.loads(out.read_text())


def _one_member_commands(url: str, workdir: Path, member: int) -> list[tuple[str, float, float]]:
    """Time the commands of one member's balance, and the incremental verify after them."""
    timed = []
    topup = ["balance", "topup", "bench", str(member), "12.50", "--reference", "BENCH-1", "--on", DAY, "--json"]
    elapsed, peak = _command(url, *topup, out=workdir / "topup.json")
    timed.append(("balance topup", elapsed, peak))
    number = str(json.loads((workdir / "topup.json").read_text())["id"])
    elapsed, peak = _command(url, "balance", "show", "bench", str(member), out=workdir / "out.txt")
    timed.append(("balance show", elapsed, peak))
    reverse = ["balance", "reverse", "bench", number, "--reason", "benchmark: a top-up recorded twice"]
    elapsed, peak = _command(url, *reverse, out=workdir / "out.txt")
    timed.append(("balance reverse", elapsed, peak))
    elapsed, peak = _command(url, "ledger", "verify", "bench", out=workdir / "out.txt")
    timed.append(("ledger verify (incremental)", elapsed, peak))
    elapsed, peak = _command(url, "ledger", "balance", "bench", out=workdir / "out.txt")
    timed.append(("ledger balance", elapsed, peak))
    elapsed, peak = _command(url, "balance", "low", "bench", "--limit", "50", out=workdir / "out.txt")
    timed.append(("balance low --limit 50", elapsed, peak))
    elapsed, peak = _command(url, "balance", "low", "bench", out=workdir / "low.txt")
    listed = len((workdir / "low.txt").read_text(encoding="utf-8").splitlines()) - 2
    timed.append((f"balance low, every member below the level ({listed:,})", elapsed, peak))
    # nobody holds less than 0: what every prepaid run's count of low balances costs when none are
    elapsed, peak = _command(url, "balance", "low", "bench", "--threshold", "0", out=workdir / "none.txt")
    timed.append(("balance low --threshold 0, nobody below it", elapsed, peak))
    return timed


def run(url: str, members: int, top_ups: int, workdir: Path) -> None:
    if members // top_ups < 2:
        raise SystemExit("use at least twice as many --members as --top-ups (two files of different members)")
    app = MutualAid(url)
    try:
        record = app.create_pool(
            {"key": "bench", "name": "Benchmark", "cohort": "truckers", "payments": {"model": "prepaid"}}
        )
        load = _load_members(app, record.id, members)
        print(f"loaded {members:,} members set-based in {load:.2f} s ({members / load:,.0f} rows/s)")
        opened = _give_balances(app, record.id, 0)
        print(f"opened their balances of 0 (a prepaid member holds one from joining) in {opened:.2f} s")
        results = []
        entries = []
        for file in (1, 2):
            path = workdir / f"top-ups-{file}.csv"
            _write_file(path, file, members, top_ups)
            elapsed, peak, figures = _import(url, path)
            if (figures["rows"], figures["total"]) != (top_ups, f"{top_ups * AMOUNT // 100}.00"):
                raise SystemExit(f"the import's figures are wrong: {figures}")
            entries.append(int(figures["entry_id"]))
            held = top_ups * (len(results) + 1)
            results.append((f"file {file}, into a pool holding {held - top_ups:,} top-ups", elapsed, peak))
        with app.engine.connect() as conn:
            count, total = conn.execute(
                text("SELECT count(CASE WHEN balance_minor > 0 THEN 1 END), sum(balance_minor) FROM balances")
            ).one()
        if (count, total) != (2 * top_ups, 2 * top_ups * AMOUNT):
            raise SystemExit(f"the balances are wrong: {count:,} rows above 0 totalling {total:,}")
        with app.transaction() as session:
            if not verify_ledger(session, record.id).ok:
                raise SystemExit("the ledger does not verify")
        floor = _floor(app, record.id, _members_of(1, members, top_ups))
        print(f"floor, bare executemany of {top_ups:,} rows: {floor:.2f} s ({top_ups / floor:,.0f} rows/s)")
        for name, elapsed, peak in results:
            print(
                f"mutualaid balance import, {name}: {elapsed:.2f} s ({top_ups / elapsed:,.0f} rows/s), "
                f"{elapsed / floor:.2f}x, peak {peak:,.0f} MB"
            )
        start, read, digest = _least(app, url, record.id, entries[0], workdir / "top-ups-1.csv", workdir)
        least = floor + start + read + digest
        print(
            f"what any import must do besides writing, each alone: start a process {start:.2f} s, read the file "
            f"{read:.2f} s, read the rows back for their digest {digest:.2f} s; with the floor, {least:.2f} s "
            f"({least / floor:.2f}x the floor), the least an import could take; the imports are "
            + " and ".join(f"{elapsed / least:.2f}x" for _, elapsed, _ in results)
            + " that"
        )
        for name, elapsed, peak in _one_member_commands(url, workdir, _members_of(1, members, top_ups)[-1]):
            print(f"mutualaid {name}: {elapsed:.2f} s, peak {peak:,.0f} MB")
    finally:
        app.close()


def main() -> None:
    # The pool's today, after the top-ups' day; the commands' processes inherit it.
    os.environ.setdefault("MUTUALAID_TODAY", "2027-01-31")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="members in the pool (default 1,000,000)")
    parser.add_argument("--top-ups", type=int, default=100_000, help="rows of each top-ups file (default 100,000)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # The loaded members' identities are placeholders that no key decrypts: the commands'
        # processes look for a key in the scratch directory (there is none), never the operator's.
        os.environ["MUTUALAID_HOME"] = tmp
        os.environ.pop("MUTUALAID_KEY_FILE", None)
        if not args.database_url:
            print(f"SQLite, {args.members:,} members, two files of {args.top_ups:,} top-ups")
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.members, args.top_ups, Path(tmp))
            return
        with scratch_database(args.database_url, prefix="mutualaid_bench") as url:
            print(f"PostgreSQL, {args.members:,} members, two files of {args.top_ups:,} top-ups (scratch database "
                  f"{make_url(url).database})")  # fmt: skip
            run(url, args.members, args.top_ups, Path(tmp))


if __name__ == "__main__":
    main()
