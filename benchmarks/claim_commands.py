"""Benchmark the per-claim commands on a big pool against the same commands on a small one.

Builds a truckers pool of N members with one set-based statement (the loader of
``sharing_run.py``), shares one period (so the pool has N charges), and times each claim command
through the public API on fresh claims: ``claim file``, ``show``, ``history``, ``review``,
``approve``, ``reject``, ``amend``, ``withdraw`` and ``list``. In the same run it builds a pool of
1,000 members the same way and times the same commands there (the baseline: a command that only
reads the claim's own rows takes as long on both), and a bare primary-key select of one member. It
then runs ``mutualaid claim show`` and ``mutualaid claim review`` as processes on both pools (the
wall time an operator sees, interpreter start included). Each time is the median of ``--repeat``.
It never asserts a time.

    python benchmarks/claim_commands.py --members 1000000
    python benchmarks/claim_commands.py --members 1000000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

For PostgreSQL scratch databases are created on the server of the URL and dropped afterwards.
Needs the truckers plugin installed (``make test`` or ``make demo`` installs it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from mutualaid import MutualAid
from mutualaid.db import scratch_database

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sharing_run import _load_members  # noqa: E402  (the set-based loader, shared)

POOL = "bench"
BASELINE_MEMBERS = 1_000
COMMANDS = ("file", "show", "history", "review", "approve", "reject", "amend", "withdraw", "list")


def _timed(action: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action(*args, **kwargs)
    return time.perf_counter() - started, result


def _build(url: str, members: int) -> None:
    app = MutualAid(url)
    try:
        record = app.create_pool(
            {"key": POOL, "name": "Benchmark", "cohort": "truckers", "sharing": {"rounding": "exact"}}
        )
        load = _load_members(app, record.id, members)
        first = app.file_claim(
            POOL, 1, event_kind="accidental_death", event_date="2026-12-20", filed_on="2026-12-21"
        )  # fmt: skip
        app.approve_claim(first.id)
        shared = app.share(POOL, "2027-01")
        # Claim #2 stays filed, for ``mutualaid claim review 2``.
        app.file_claim(POOL, members, event_kind="accidental_death", event_date="2027-02-20", filed_on="2027-02-21")
        print(f"  {members:,} members loaded in {load:.2f} s; one period shared ({shared.members:,} charges)")
    finally:
        app.close()


def _measure(url: str, repeat: int) -> dict[str, float]:
    """Median time of each command, on fresh claims of members 2, 3, ... of the pool."""
    app = MutualAid(url)
    times: dict[str, list[float]] = {name: [] for name in (*COMMANDS, "primary-key select")}
    file = lambda member: app.file_claim(  # noqa: E731
        POOL, member, event_kind="accidental_death", event_date="2027-02-20", filed_on="2027-02-21"
    )
    try:
        app.claim(1)  # warm up: the pool's plugins and settings are loaded once per process
        for attempt in range(repeat):
            member = 2 + 3 * attempt
            elapsed, claim = _timed(file, member)
            times["file"].append(elapsed)
            times["show"].append(_timed(app.claim, claim.id)[0])
            times["history"].append(_timed(app.claim_history, claim.id)[0])
            times["review"].append(_timed(app.review_claim, claim.id)[0])
            times["approve"].append(_timed(app.approve_claim, claim.id)[0])
            rejected = file(member + 1)
            times["reject"].append(_timed(app.reject_claim, rejected.id, "not an accident")[0])
            amended = file(member + 2)
            times["amend"].append(_timed(app.amend_claim, amended.id, event_date="2027-02-19", reason="typo")[0])
            times["withdraw"].append(_timed(app.withdraw_claim, amended.id, reason="filed twice")[0])
            times["list"].append(_timed(app.claims, POOL)[0])
            with app.engine.connect() as conn:
                times["primary-key select"].append(
                    _timed(conn.execute, text("SELECT * FROM members WHERE id = :id"), {"id": member})[0]
                )
        return {name: statistics.median(values) for name, values in times.items()}
    finally:
        app.close()


def _cli(url: str, *args: str) -> float:
    env = {**os.environ, "MUTUALAID_DATABASE_URL": url}
    started = time.perf_counter()
    command = Path(sys.executable).with_name("mutualaid")  # the console script of this environment
    subprocess.run([str(command), "claim", *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


@contextmanager
def _database(base: str | None, name: str, tmp: Path) -> Iterator[str]:
    if base is None:
        yield f"sqlite:///{tmp / name}.db"
        return
    with scratch_database(base, prefix=f"mutualaid_bench_{name}") as url:
        yield url


def run(base: str | None, members: int, repeat: int) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        _database(base, "small", Path(tmp)) as small,
        _database(base, "big", Path(tmp)) as big,
    ):
        where = "SQLite" if base is None else f"PostgreSQL ({make_url(big).database})"
        print(f"{where}: baseline pool of {BASELINE_MEMBERS:,} members, measured pool of {members:,}")
        _build(small, BASELINE_MEMBERS)
        _build(big, members)
        baseline, measured = _measure(small, repeat), _measure(big, repeat)
        print(f"{'command':<20}{BASELINE_MEMBERS:>10,} members{members:>14,} members{'ratio':>9}")
        for name in (*COMMANDS, "primary-key select"):
            print(f"{name:<20}{baseline[name] * 1000:>15.1f} ms{measured[name] * 1000:>17.1f} ms"
                  f"{measured[name] / baseline[name]:>8.1f}x")  # fmt: skip
        for args in (("show", "1"), ("review", "2")):
            small_cli, big_cli = _cli(small, *args), _cli(big, *args)
            print(f"{'mutualaid claim ' + ' '.join(args):<20}{small_cli * 1000:>15.0f} ms{big_cli * 1000:>17.0f} ms"
                  f"{big_cli / small_cli:>8.1f}x  (a process each)")  # fmt: skip


def main() -> None:
    # The pool's today, after the period shared and the claims filed. Worker processes inherit it.
    os.environ.setdefault("MUTUALAID_TODAY", "2040-12-31")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="members in the pool (default 1,000,000)")
    parser.add_argument("--database-url", help="SQLAlchemy URL of a PostgreSQL server (default: SQLite files)")
    parser.add_argument("--repeat", type=int, default=5, help="claims to time each command on; the median is shown")
    args = parser.parse_args()
    run(args.database_url, args.members, args.repeat)


if __name__ == "__main__":
    main()
