"""Benchmark ``mutualaid member list POOL`` against the floor of reading the same rows.

Builds a truckers pool of N members in a temporary SQLite file with one set-based statement (no
Python loop), then, in the same run, times two child processes writing to /dev/null: the command
``mutualaid member list bench`` (a table of every member, streamed), and the floor, Python's own
``sqlite3`` module running ``SELECT ... FROM members ORDER BY id`` and writing each row as a line.
For each it prints the wall time and the child's peak memory (its maximum resident set size), and
then the ratios. Each child is started from a small wrapper process of its own, so the peak memory
shown is that child's alone. It never asserts a time.

    python benchmarks/member_list.py --members 1000000

Needs the truckers plugin installed (``make test`` or ``make demo`` installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from mutualaid import MutualAid

ATTRS = '{"licence_class":"A2","licence_number":"L","licence_expires":"2031-01-01","driving_proof":"x"}'

#: Runs the command given as JSON in argv[1] with its output to /dev/null; prints its time and peak memory.
_WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
with open("/dev/null", "w") as sink:
    code = subprocess.run(json.loads(sys.argv[1]), stdout=sink).returncode
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "seconds": elapsed, "peak_kb": peak}))
"""

#: The floor: the same rows in the same order through the sqlite3 module, one line each.
_FLOOR = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
out = sys.stdout
rows = conn.execute(
    "SELECT id, name, id_masked, birth_date, joined_on, waiting_until, status FROM members "
    "WHERE pool_id = ? ORDER BY id", (int(sys.argv[2]),)
)
for row in rows:
    out.write("  ".join(map(str, row)) + "\\n")
"""


def _load_members(app: MutualAid, pool_id: int, members: int) -> float:
    source = (
        f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {members}) SELECT n FROM seq"
    )
    started = time.perf_counter()
    with app.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO members (pool_id, id_cipher, id_hash, id_masked, identity_seal, name, birth_date, "
                "joined_on, waiting_until, status, ended_on, attributes_json) "
                f"SELECT {pool_id}, 'P' || n, 'P' || n, '110*************' || substr('0' || (n % 100), -2), '-', "
                f"'司机' || n, '1980-01-01', '2026-10-01', '2026-12-30', 'active', NULL, '{ATTRS}' FROM ({source}) AS s"
            )
        )
    from sharing_run import statistics_as_asked  # beside this script

    statistics_as_asked(app)
    return time.perf_counter() - started


def _measure(command: list[str]) -> tuple[float, float]:
    """The wall time (s) and the peak memory (MB) of ``command`` with its output to /dev/null."""
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, json.dumps(command)], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout)
    if result["code"] != 0:
        raise SystemExit(f"{command[:4]} exited with code {result['code']}")
    return result["seconds"], result["peak_kb"] / 1024


def run(directory: Path, members: int) -> None:
    path = directory / "bench.db"
    url = f"sqlite:///{path}"
    app = MutualAid(url)
    try:
        record = app.create_pool({"key": "bench", "name": "Benchmark", "cohort": "truckers"})
        load = _load_members(app, record.id, members)
    finally:
        app.close()
    print(f"loaded {members:,} members set-based in {load:.2f} s ({members / load:,.0f} rows/s)")
    listing, listing_mb = _measure(
        [sys.executable, "-m", "mutualaid.cli", "--database-url", url, "member", "list", "bench"]
    )
    floor, floor_mb = _measure([sys.executable, "-c", _FLOOR, str(path), str(record.id)])
    print(f"mutualaid member list bench > /dev/null: {listing:.2f} s, peak memory {listing_mb:.0f} MB")
    print(f"floor, sqlite3 SELECT ... ORDER BY id > /dev/null: {floor:.2f} s, peak memory {floor_mb:.0f} MB")
    print(f"ratio: {listing / floor:.2f}x the time, {listing_mb / floor_mb:.2f}x the memory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="members in the pool (default 1,000,000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # The child processes read the pool's today and keep any key file in the scratch directory.
        os.environ.setdefault("MUTUALAID_TODAY", "2027-12-31")
        os.environ["MUTUALAID_HOME"] = tmp
        print(f"SQLite, {args.members:,} members")
        run(Path(tmp), args.members)


if __name__ == "__main__":
    main()
