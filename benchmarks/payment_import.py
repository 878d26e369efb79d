"""Benchmark ``mutualaid payment import`` into a big pool against the floor of writing its rows.

Builds a postpaid truckers pool of N members with one set-based statement (no Python loop),
approves an accidental death and shares one period through the public API, so that every member
has a charge. It then writes a payment-results file of M rows (members spread over the whole pool,
one in ten ``failed``, the others ``paid`` with their amount) and times the real command,
``mutualaid payment import``, run as a process of its own (its start-up, about half a second, is
in the figure). In the same run it times the floor: a bare ``executemany`` of the same M rows into
a scratch table shaped like ``payments`` (same columns, primary key and indexes). It prints the
seconds, the rows per second, the ratio and the command's peak memory (its maximum resident set),
and checks the import's figures and that the ledger verifies. It also times, alone, what any import
must do besides writing (start a process, read the file, read the rows back for their digest) and
prints the floor with them: the least an import could take. With ``--list`` it also times
``mutualaid payment list`` of the period: its first page (``--limit 50``) and the whole listing
(printed to ``/dev/null``), each with its peak memory. It never asserts a time.

    python benchmarks/payment_import.py --members 1000000 --payments 100000
    python benchmarks/payment_import.py --members 10000000 --payments 1000000 --list
    python benchmarks/payment_import.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

For PostgreSQL a scratch database is created on the server of the URL and dropped afterwards.
Needs the truckers plugin installed (``make test`` or ``make demo`` installs it).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from mutualaid import MutualAid
from mutualaid.db import scratch_database
from mutualaid.ledger import verify_ledger
from mutualaid.ledger.digests import payments_digest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sharing_run import _load_members  # noqa: E402  (the set-based loader, shared)

PERIOD = "2027-01"


def _payment_rows(app: MutualAid, run_id: int, payments: int) -> list[tuple[int, str, int]]:
    """(member, result, amount) of M charged members spread evenly over the pool."""
    with app.engine.connect() as conn:
        charged = conn.execute(text(f"SELECT count(*) FROM charges WHERE run_id = {run_id}")).scalar_one()
        step = max(charged // payments, 1)
        found = conn.execute(
            text(f"SELECT member_id, amount_minor FROM charges WHERE run_id = {run_id} ORDER BY member_id")
        ).all()
    picked = found[::step][:payments]
    if len(picked) < payments:
        raise SystemExit(f"only {len(picked):,} members were charged; use more --members or fewer --payments")
    return [(member, "failed" if i % 10 == 9 else "paid", amount) for i, (member, amount) in enumerate(picked)]


def _write_file(path: Path, rows: list[tuple[int, str, int]], day: str) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("member_id,period,result,date,amount\n")
        for member, result, amount in rows:
            out.write(f"{member},{PERIOD},{result},{day},{amount // 100}.{amount % 100:02d}\n")


#: Runs the command line in a process of its own and, as it exits, writes its peak resident set
#: (``VmHWM``, the high-water mark of its own memory since it started) to the file named first.
#: Not ``ru_maxrss``: the kernel carries that over from the benchmark's process that forked it.
_MEASURED = """
import atexit, sys
from mutualaid.cli import main
out = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status, open(out, "w") as report:
        report.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(peak)
sys.argv[0] = "mutualaid"
sys.exit(main())
"""


def _command(url: str, *args: str, out: Path) -> tuple[float, float]:
    """Run ``mutualaid ARGS`` as a process of its own, its output to ``out``: (seconds, peak MB)."""
    env = {**os.environ, "MUTUALAID_DATABASE_URL": url}
    peak = out.with_suffix(".peak")
    with out.open("w") as stdout, tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _MEASURED, str(peak), *args], env=env, stdout=stdout, stderr=stderr, check=False
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            stderr.seek(0)
            raise SystemExit(f"mutualaid {' '.join(args)} failed:\n{stderr.read()}")
    return elapsed, int(peak.read_text()) / 1024  # kB


def _import(url: str, path: Path) -> tuple[float, float, dict]:
    out = path.with_suffix(".json")
    elapsed, peak = _command(url, "payment", "import", "bench", str(path), "--json", out=out)
    return elapsed, peak, json.loads(out.read_text())


def _listing(app: MutualAid, url: str, workdir: Path) -> None:
    """Time ``payment list``: its first page and the whole period as commands, and the first page
    in this process (the command's start-up, about half a second, left out)."""
    started = time.perf_counter()
    first = list(itertools.islice(app.iter_payments("bench", PERIOD), 50))
    print(f"payment list, first page in process ({len(first)} shares): {time.perf_counter() - started:.3f} s")
    page = workdir / "first.txt"
    elapsed, peak = _command(url, "payment", "list", "bench", "--period", PERIOD, "--limit", "50", out=page)
    lines = len(page.read_text().splitlines()) - 2
    print(f"payment list, first page ({lines} shares): {elapsed:.2f} s, peak {peak:,.0f} MB")
    elapsed, peak = _command(url, "payment", "list", "bench", "--period", PERIOD, out=workdir / "all.txt")
    lines = len((workdir / "all.txt").read_text().splitlines()) - 2
    print(f"payment list, whole period ({lines:,} shares): {elapsed:.2f} s, peak {peak:,.0f} MB")


def _floor(app: MutualAid, run_id: int, rows: list[tuple[int, str, int]], day: str) -> float:
    """A bare executemany of the same rows into a table shaped like payments."""
    id_type = "INTEGER PRIMARY KEY" if app.engine.dialect.name == "sqlite" else "BIGSERIAL PRIMARY KEY"
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS floor_payments"))
        conn.execute(
            text(
                f"CREATE TABLE floor_payments (id {id_type}, batch_id BIGINT NOT NULL, run_id BIGINT NOT NULL, "
                "member_id BIGINT NOT NULL, result VARCHAR(16) NOT NULL, attempted_on DATE NOT NULL, "
                "amount_minor BIGINT NOT NULL)"
            )
        )
        conn.execute(text("CREATE INDEX ix_floor_batch ON floor_payments (batch_id)"))
        conn.execute(text("CREATE INDEX ix_floor_run_member ON floor_payments (run_id, member_id)"))
    marker = "?" if app.engine.dialect.name == "sqlite" else "%s"
    sql = (
        "INSERT INTO floor_payments (batch_id, run_id, member_id, result, attempted_on, amount_minor) "
        f"VALUES ({', '.join([marker] * 6)})"
    )
    values = [(1, run_id, member, result, day, amount) for member, result, amount in rows]
    started = time.perf_counter()
    with app.engine.begin() as conn:
        for start in range(0, len(values), 5000):
            conn.exec_driver_sql(sql, values[start : start + 5000])
    elapsed = time.perf_counter() - started
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE floor_payments"))
    return elapsed


def _start_and_read(url: str, path: Path, workdir: Path) -> tuple[float, float]:
    """Seconds to start a process (``mutualaid --version``) and to read the file's rows with Python's
    csv module, nothing checked: what any import of the file must do besides its own work."""
    start, _ = _command(url, "--version", out=workdir / "version.txt")
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        for _ in csv.reader(handle):
            pass
    return start, time.perf_counter() - started


def _least(app: MutualAid, url: str, path: Path, workdir: Path) -> tuple[float, float, float]:
    """Seconds of what any import of the file must do besides writing its rows, each alone: start a
    process (``mutualaid --version``), read the file's rows (Python's csv module, nothing checked)
    and read the batch's payments back for the digest its ledger entry records."""
    start, read = _start_and_read(url, path, workdir)
    with app.engine.connect() as conn:
        batch = conn.execute(text("SELECT max(id) FROM payment_batches")).scalar_one()
    started = time.perf_counter()
    with app.transaction() as session:
        payments_digest(session, batch)
    return start, read, time.perf_counter() - started


def run(url: str, members: int, payments: int, workdir: Path, *, listing: bool = False) -> None:
    app = MutualAid(url)
    try:
        record = app.create_pool(
            {"key": "bench", "name": "Benchmark", "cohort": "truckers", "payments": {"model": "postpaid"}}
        )
        load = _load_members(app, record.id, members)
        print(f"loaded {members:,} members set-based in {load:.2f} s ({members / load:,.0f} rows/s)")
        claim = app.file_claim(
            "bench", 1, event_kind="accidental_death", event_date="2026-12-20", filed_on="2026-12-21"
        )  # fmt: skip
        app.approve_claim(claim.id)
        started = time.perf_counter()
        shared = app.share("bench", PERIOD)
        print(f"shared {PERIOD}: {shared.members:,} charges in {time.perf_counter() - started:.2f} s")
        day = shared.deduction_date.isoformat()
        rows = _payment_rows(app, shared.run_id, payments)
        path = workdir / "payments.csv"
        _write_file(path, rows, day)
        imported, peak, figures = _import(url, path)
        paid = sum(1 for _, result, _ in rows if result == "paid")
        if (figures["rows"], figures["paid_count"]) != (len(rows), paid):
            raise SystemExit(f"the import's figures are wrong: {figures}")
        with app.transaction() as session:
            if not verify_ledger(session, record.id).ok:
                raise SystemExit("the ledger does not verify")
        floor = _floor(app, shared.run_id, rows, day)
        print(
            f"mutualaid payment import of {len(rows):,} rows: {imported:.2f} s ({len(rows) / imported:,.0f} rows/s), "
            f"peak {peak:,.0f} MB"
        )
        print(f"floor, bare executemany of the same rows: {floor:.2f} s ({len(rows) / floor:,.0f} rows/s)")
        print(f"ratio: {imported / floor:.2f}x")
        start, read, digest = _least(app, url, path, workdir)
        least = floor + start + read + digest
        print(
            f"what any import must do besides writing, each alone: start a process {start:.2f} s, read the file "
            f"{read:.2f} s, read the rows back for their digest {digest:.2f} s; with the floor, {least:.2f} s "
            f"({least / floor:.2f}x the floor), the least an import could take; the import is {imported / least:.2f}x that"
        )
        del rows
        if listing:
            _listing(app, url, workdir)
    finally:
        app.close()


def main() -> None:
    # The pool's today, after the period's retry window; the command's process inherits it.
    os.environ.setdefault("MUTUALAID_TODAY", "2027-01-31")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="members in the pool (default 1,000,000)")
    parser.add_argument("--payments", type=int, default=100_000, help="rows of the payments file (default 100,000)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--list", action="store_true", help="also time 'payment list' of the period")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.database_url:
            print(f"SQLite, {args.members:,} members, {args.payments:,} payment rows")
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.members, args.payments, Path(tmp), listing=args.list)
            return
        with scratch_database(args.database_url, prefix="mutualaid_bench") as url:
            print(f"PostgreSQL, {args.members:,} members, {args.payments:,} payment rows (scratch database "
                  f"{make_url(url).database})")  # fmt: skip
            run(url, args.members, args.payments, Path(tmp), listing=args.list)


if __name__ == "__main__":
    main()
