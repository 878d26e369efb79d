"""Benchmark every operator command that reads one thing on a pool of millions, and print the table.

Builds a postpaid truckers pool of N members (default 10,000,000) with one set-based statement
(the loader of ``sharing_run.py``), shares three periods through the public API (so the pool has
3 N charges and three sharing entries), imports payment results for a sample of members of the
first period (``--payments``; the payment commands themselves are measured by
``payment_import.py``), and leaves claims in several states: shared, approved, filed, rejected and
withdrawn. It verifies the whole ledger once after the second period (``ledger verify --full``,
timed) and shares the third, so that the ``ledger verify`` the table times as a process is the
incremental one after a new run.

Each command is then timed twice: in-process, the API call behind it (the median of ``--repeat``
calls where one takes under a second, else a single call), and as a real process,
``.venv/bin/mutualaid ...`` with its output to /dev/null, started from a small wrapper of its own so
that the peak memory (maximum resident set size) shown is that process's alone. The table gives,
for each: the in-process milliseconds, the process's seconds and peak memory, the rows the call
returned, and, on SQLite, every full scan of a table that grows with the pool (members, charges,
payments, ledger lines, balances, top-ups) found in the query plans (``EXPLAIN QUERY PLAN``) of the
statements the in-process call ran; ``-`` means none. A command over a second in-process, or a
second over the floor as a process, or scanning a big table, is marked ``<-`` (a scan in
member-number order under a ``LIMIT`` stops at the page's last row). The floor of a process is
``mutualaid --version`` (the interpreter and click); a command's process also imports the package
and its plugins, about half a second more on any pool. It never asserts a time.

    python benchmarks/operator_commands.py --members 1000000
    python benchmarks/operator_commands.py --members 1000000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

For PostgreSQL a scratch database is created on the server of the URL and dropped afterwards (the
plan column is then left empty). Needs the truckers plugin installed (``make test`` or ``make demo``).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sized
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from mutualaid import MutualAid
from mutualaid.db import scratch_database
from mutualaid.testing import resident_id

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sharing_run import _load_members  # noqa: E402  (the set-based loader, shared)

POOL = "bench"
PERIODS = ("2027-01", "2027-02", "2027-03")
TODAY = datetime.date(2040, 12, 31)
BIG_TABLES = ("members", "charges", "payments", "ledger_lines", "balances", "top_ups")

#: Runs the command given as JSON in argv[1] with its output to /dev/null; prints its time and peak memory.
_WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
with open("/dev/null", "w") as sink:
    done = subprocess.run(json.loads(sys.argv[1]), stdout=sink, stderr=subprocess.PIPE, text=True)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": done.returncode, "stderr": done.stderr[-500:], "seconds": elapsed, "peak_kb": peak}))
"""


@dataclass
class Row:
    command: str
    in_process_ms: float | None = None
    process_s: float | None = None
    peak_mb: float | None = None
    rows: int | None = None
    scans: str = ""


def _file(app: MutualAid, member: int, day: str) -> int:
    """File an accidental death of ``member`` on ``day`` (filed the day after); its claim number."""
    filed = datetime.date.fromisoformat(day) + datetime.timedelta(days=1)
    claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=day, filed_on=filed.isoformat())
    return claim.id


def _payments(app: MutualAid, directory: Path, run_id: int, sample: int) -> int:
    """Import ``sample`` payment results of the first period (one in ten failed); the rows imported."""
    with app.engine.connect() as conn:
        picked = conn.execute(
            text(
                "SELECT member_id, amount_minor FROM charges WHERE run_id = :run AND member_id % :step = 0 "
                "ORDER BY member_id LIMIT :n"
            ),
            {"run": run_id, "step": max(1, conn.execute(text("SELECT count(*) FROM members")).scalar_one() // sample),
             "n": sample},
        ).all()  # fmt: skip
    path = directory / "payments.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("member_id,period,result,date,amount\n")
        for i, (member, amount) in enumerate(picked):
            result = "failed" if i % 10 == 9 else "paid"
            out.write(f"{member},{PERIODS[0]},{result},2027-01-14,{amount / 100:.2f}\n")
    app.import_payments(POOL, path)
    path.unlink()
    return len(picked)


def _people(app: MutualAid) -> list[str]:
    """Two people joined with real ID numbers on the last day, the second one exited at once:
    ``member show`` finds them by ID number, from the index of the live people's keyed hashes and
    from that of the ended ones'. Joined once every other command is measured: the loaded
    members' identities are placeholders, which ``ledger verify`` refuses once a key exists."""
    numbers = [resident_id(datetime.date(1981, 1, 1), n) for n in (1, 2)]
    for n, number in enumerate(numbers, start=1):
        attributes = {"licence_class": "A2", "licence_number": f"X{n}", "licence_expires": "2041-01-01",
                      "driving_proof": f"ETC-X{n}"}  # fmt: skip
        app.join(POOL, id_number=number, name=f"司机X{n}", birth_date="1981-01-01", joined_on=TODAY.isoformat(),
                 attributes=attributes)  # fmt: skip
    app.exit_member(POOL, numbers[1], on=TODAY.isoformat())
    return numbers


def build(app: MutualAid, directory: Path, members: int, sample: int) -> dict[str, Any]:
    """The pool the table measures; returns what the commands are run on and the build's figures."""
    record = app.create_pool({"key": POOL, "name": "Benchmark", "cohort": "truckers", "sharing": {"rounding": "exact"}})
    load = _load_members(app, record.id, members)
    print(f"  {members:,} members loaded set-based in {load:.1f} s")
    claims: dict[str, int] = {}
    shares, run_ids = [], []
    for number, period in enumerate(PERIODS):
        notice = datetime.date.fromisoformat(f"{period}-01") - datetime.timedelta(days=12)
        shared_claim = _file(app, 1 + number, notice.isoformat())
        app.approve_claim(shared_claim)
        claims.setdefault("shared", shared_claim)
        if number == 2:
            verified = _timed(lambda: app.verify_ledger(POOL, full=True))
            shares.append(verified)
            print(f"  ledger verify --full after {number} runs: {verified[0]:.1f} s")
        started = time.perf_counter()
        result = app.share(POOL, period)
        run_ids.append(result.run_id)
        print(f"  shared {period}: {result.members:,} charges in {time.perf_counter() - started:.1f} s")
        if number == 0 and sample:
            started = time.perf_counter()
            imported = _payments(app, directory, result.run_id, sample)
            print(f"  imported {imported:,} payment results in {time.perf_counter() - started:.1f} s")
    # Claims left in other states, on members spread over the pool, for the claim commands.
    day = "2027-03-20"
    # (member numbers off the payments' sample: a member whose payment failed has lapsed by now)
    claims["approved"] = _file(app, members // 3 + 1, day)
    app.approve_claim(claims["approved"])
    claims["filed"] = _file(app, members // 2 + 1, day)
    claims["rejected"] = _file(app, members // 4 + 1, day)
    app.reject_claim(claims["rejected"], "not an accident")
    claims["withdrawn"] = _file(app, members - 1, day)
    app.withdraw_claim(claims["withdrawn"], reason="filed twice")
    return {"claims": claims, "full_verify": shares[0][0], "run_ids": run_ids}


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


@contextmanager
def _statements(app: MutualAid) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements run on the engine in the block (with their parameters)."""
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not executemany and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(app.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", listen)


def _scans(app: MutualAid, statements: list[tuple[str, Any]]) -> str:
    """The big tables SQLite's plans of ``statements`` scan whole (``SCAN t``, with or without an index)."""
    if app.engine.dialect.name != "sqlite":
        return ""
    found: set[str] = set()
    raw = app.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            for row in cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters or ()).fetchall():
                match = re.match(r"SCAN (\w+)", row[-1])
                if match and match.group(1) in BIG_TABLES:
                    found.add(match.group(1))
    finally:
        raw.close()
    return ",".join(sorted(found)) or "-"


def in_process(app: MutualAid, action: Callable[[], Any], repeat: int) -> tuple[float, int | None, str]:
    """Milliseconds (the median of ``repeat`` calls when one is under a second), rows returned, scans."""
    with _statements(app) as statements:
        first, result = _timed(action)
    times = [first]
    if first < 1.0:
        times += [_timed(action)[0] for _ in range(repeat - 1)]
    rows = len(result) if isinstance(result, Sized) and not isinstance(result, str) else None
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], list):
        rows = len(result[1])  # (record, its history / voided runs)
    return statistics.median(times) * 1000, rows, _scans(app, statements)


def as_process(url: str, args: list[str]) -> tuple[float, float]:
    """Seconds and peak memory (MB) of ``mutualaid --database-url URL args`` with its output to /dev/null."""
    command = [str(Path(sys.executable).with_name("mutualaid")), "--database-url", url, *args]
    done = subprocess.run([sys.executable, "-c", _WRAPPER, json.dumps(command)], capture_output=True, text=True)
    result = json.loads(done.stdout)
    if result["code"] != 0:
        raise SystemExit(f"mutualaid {' '.join(args)} exited with {result['code']}: {result['stderr']}")
    return result["seconds"], result["peak_kb"] / 1024


def commands(app: MutualAid, members: int, claims: dict[str, int]) -> list[tuple[str, Callable[[], Any] | None]]:
    """(the command's arguments, the API call behind it) of every command the table measures,
    but those of :func:`by_id_number`."""
    middle, last = members // 2, members
    rows = lambda after: list(itertools.islice(app.iter_member_rows(POOL, TODAY, after=after, limit=50), 50))  # noqa: E731
    return [
        ("--version", None),
        ("pool list", app.pools),
        (f"pool show {POOL}", lambda: app.pool(POOL)),
        (f"member show {POOL} {middle}", lambda: app.member(POOL, middle)),
        (f"member show {POOL} {last}", lambda: app.member(POOL, last)),
        (f"member history {POOL} {middle}", lambda: app.member_history(POOL, middle)),
        (f"member list {POOL} --limit 50", lambda: rows(None)),
        (f"member list {POOL} --after {middle} --limit 50", lambda: rows(middle)),
        (f"member list {POOL} --status frozen --limit 50",
         lambda: list(app.iter_member_rows(POOL, TODAY, status="frozen", limit=50))),
        (f"claim show {claims['shared']}", lambda: app.claim(claims["shared"])),
        (f"claim show {claims['filed']}", lambda: app.claim(claims["filed"])),
        (f"claim history {claims['rejected']}", lambda: app.claim_history(claims["rejected"])),
        (f"claim review {claims['filed']}", lambda: app.review_claim(claims["filed"])),
        (f"claim list {POOL}", lambda: app.claims(POOL)),
        (f"claim list {POOL} --status filed", lambda: app.claims(POOL, status="filed")),
        (f"share show {POOL} --period {PERIODS[1]}", lambda: app.period_runs(POOL, PERIODS[1])),
        (f"ledger head {POOL}", lambda: app.ledger_head(POOL)),
        (f"ledger entries {POOL} --limit 10", lambda: app.ledger_entries(POOL, limit=10)),
        (f"ledger balance {POOL} (a run not verified)", lambda: app.reconcile_books(POOL)),
        (f"ledger verify {POOL} (after the run)", None),  # incremental, as a process only, once
        (f"ledger verify {POOL} (nothing new)", lambda: app.verify_ledger(POOL)),
        (f"ledger balance {POOL} (all verified)", lambda: app.reconcile_books(POOL)),
    ]  # fmt: skip


def by_id_number(app: MutualAid) -> Iterator[tuple[str, Callable[[], Any] | None]]:
    """``member show`` by ID number, of the people :func:`_people` joins when the first is asked
    for (after every other command)."""
    live, ended = _people(app)
    yield f"member show {POOL} {live} (by ID number)", lambda: app.member(POOL, live)
    yield f"member show {POOL} {ended} (by ID number, exited)", lambda: app.member(POOL, ended)


#: The rows timed in-process only: a second call would not do the same work.
IN_PROCESS_ONLY = (f"ledger verify {POOL} (nothing new)",)


def measure(url: str, app: MutualAid, members: int, built: dict[str, Any], repeat: int) -> list[Row]:
    table = [Row(f"ledger verify {POOL} --full (2 runs)", in_process_ms=built["full_verify"] * 1000)]
    for name, action in itertools.chain(commands(app, members, built["claims"]), by_id_number(app)):
        row = Row(name)
        if action is not None:
            row.in_process_ms, row.rows, row.scans = in_process(app, action, repeat)
        if name not in IN_PROCESS_ONLY:
            row.process_s, row.peak_mb = as_process(url, name.split(" (")[0].split())
        table.append(row)
        print(f"  measured {name}", flush=True)
    return table


def report(table: list[Row]) -> None:
    floor = next((row.process_s for row in table if row.command == "--version"), None) or 0.0

    def cell(value: float | int | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    width = max(46, *(len(row.command) + 2 for row in table))
    print(f"{'command':<{width}}{'in-process ms':>14}{'process s':>11}{'peak MB':>9}{'rows':>7}  full scans")
    for row in table:
        slow = (row.in_process_ms or 0) > 1000 or (row.process_s or 0) - floor > 1.0 or row.scans not in ("", "-")
        print(
            f"{row.command:<{width}}{cell(row.in_process_ms, ',.1f'):>14}{cell(row.process_s, '.2f'):>11}"
            f"{cell(row.peak_mb, '.0f'):>9}{cell(row.rows, ',d'):>7}  {row.scans or ''}{'  <-' if slow else ''}"
        )


def run(url: str, directory: Path, members: int, sample: int, repeat: int) -> None:
    app = MutualAid(url)
    try:
        started = time.perf_counter()
        built = build(app, directory, members, sample)
        print(f"  built in {time.perf_counter() - started:.0f} s")
        report(measure(url, app, members, built, repeat))
    finally:
        app.close()


def main() -> None:
    # The pool's today, after every period shared and claim filed. The processes inherit it, and
    # keep any key file in the scratch directory.
    os.environ.setdefault("MUTUALAID_TODAY", TODAY.isoformat())
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000_000, help="members in the pool (default 10,000,000)")
    parser.add_argument("--database-url", help="SQLAlchemy URL of a PostgreSQL server (default: a SQLite file)")
    parser.add_argument("--payments", type=int, default=10_000, help="payment results imported (default 10,000)")
    parser.add_argument("--repeat", type=int, default=3, help="in-process calls of a cheap command; the median")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MUTUALAID_HOME"] = tmp
        # The loaded members' identities are placeholders that no key decrypts: the key is the
        # scratch directory's (none until the last two joins), never one named in the environment.
        os.environ.pop("MUTUALAID_KEY_FILE", None)
        if not args.database_url:
            print(f"SQLite, {args.members:,} members")
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp), args.members, args.payments, args.repeat)
            return
        with scratch_database(args.database_url, prefix="mutualaid_bench") as url:
            print(f"PostgreSQL, {args.members:,} members (scratch database {make_url(url).database})")
            run(url, Path(tmp), args.members, args.payments, args.repeat)


if __name__ == "__main__":
    main()
