"""Benchmark building a pool's public site against the bare aggregate queries it rests on.

Builds a truckers pool of N members set-based, as ``sharing_run.py`` does (one ``INSERT ...
SELECT`` over a generated series, no Python loop), but with birth dates spread over 40 years and
joining days over two years, shares two periods with a case each through the public API, and then,
in the same run, times:

* the **floor**: the aggregate queries the site needs, bare (the members by month of birth,
  joining and ending and whether live, the claims by age, the periods, their cases and ledger
  movements by account, the recent joining): the ``GROUP BY`` scans any site must pay;
* the **build**: ``MutualAid.build_site`` (the same queries, the credibility blending, the cost
  table by age, a forecast of 2,000 paths x 36 periods, four matplotlib charts, the pages).

It prints both, the ratio and the process's peak memory; it never asserts a time.

    python benchmarks/site_build.py --members 1000000
    python benchmarks/site_build.py --members 10000000
    python benchmarks/site_build.py --members 1000000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

For PostgreSQL a scratch database is created on the server of the URL and dropped afterwards.
Needs the truckers plugin installed (``make test`` or ``make demo`` installs it).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from mutualaid import MutualAid
from mutualaid.db import scratch_database
from mutualaid.health import history
from mutualaid.health.priors import prior_table
from mutualaid.pools import get_pool
from mutualaid.site.data import read_site_data

ATTRS = '{"licence_class":"A2","licence_number":"L","licence_expires":"2031-01-01","driving_proof":"x"}'
POOL = {
    "key": "bench-site",
    "name": "Bench site",
    "cohort": "truckers",
    "currency": "CNY",
    "locale": "en",
    "sharing": {"calendar": "monthly", "management_fee_rate": "0.08", "rounding": "round-up"},
    "settings": {},
}


def _values(dialect: str, column: str, pool_id: int) -> str | None:
    """The SQL of one column of the generated members (``n`` from the series), or None to leave it out."""
    if dialect == "sqlite":
        day = lambda start, spread: f"date('{start}', '+' || (n % {spread}) || ' days')"  # noqa: E731
    else:
        day = lambda start, spread: f"(DATE '{start}' + (n % {spread}))"  # noqa: E731
    known = {
        "pool_id": str(pool_id),
        "name": "'M' || n",
        "birth_date": day("1966-01-01", 14600),  # 40 years of birth dates
        "joined_on": day("2024-01-01", 700),  # two years of joining
        "waiting_until": day("2024-04-01", 700),
        "status": "'active'",
        "attributes_json": f"'{ATTRS}'",
    }
    return known.get(column)


def _load_members(app: MutualAid, pool_id: int, members: int) -> float:
    dialect = app.engine.dialect.name
    if dialect == "sqlite":
        source = (
            f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {members}) SELECT n FROM seq"
        )
    else:
        source = f"SELECT n FROM generate_series(1, {members}) AS n"
    columns, values = [], []
    for column in inspect(app.engine).get_columns("members"):
        name = column["name"]
        value = _values(dialect, name, pool_id)
        if value is None and not column["nullable"] and name != "id":
            value = "'x' || n"  # the identity columns, whatever their names: opaque and unique
        if value is not None:
            columns.append(name)
            values.append(value)
    started = time.perf_counter()
    with app.engine.begin() as conn:
        conn.execute(
            text(f"INSERT INTO members ({', '.join(columns)}) SELECT {', '.join(values)} FROM ({source}) AS s")
        )
        if dialect == "postgresql":
            conn.execute(text("ANALYZE members"))
    from sharing_run import statistics_as_asked  # beside this script

    statistics_as_asked(app)
    return time.perf_counter() - started


def _floor(app: MutualAid, today: date) -> float:
    started = time.perf_counter()
    with app.transaction() as session:
        pool = get_pool(session, app.plugins, POOL["key"])
        table = prior_table(app.plugins, pool.definition)
        groups = history.member_groups(session, pool.id, today)
        history.experience(session, pool.id, table, today, groups)
        history.recent_joins(session, pool.id, date(today.year - 1, today.month, today.day), today)
        read_site_data(session, pool, "en")
    return time.perf_counter() - started


def run(url: str, members: int, out: Path) -> None:
    app = MutualAid(url)
    record = app.create_pool(POOL)
    loaded = _load_members(app, record.id, members)
    print(f"{members:,} members loaded in {loaded:.1f} s")
    for period, day in (("2026-11", "2026-10-20"), ("2026-12", "2026-11-20")):
        member = 1 + (members // 3 if period == "2026-12" else 0)
        claim = app.file_claim(POOL["key"], member, event_kind="accidental_death", event_date=day, filed_on=day)
        app.approve_claim(claim.id)
        started = time.perf_counter()
        app.share(POOL["key"], period)
        print(f"period {period} shared in {time.perf_counter() - started:.1f} s")
    today = app.today(POOL["key"])
    _floor(app, today)  # warm the caches the same for both
    floor = _floor(app, today)
    started = time.perf_counter()
    report = app.build_site(POOL["key"], out, paths=2_000)
    build = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"floor (the bare aggregate queries): {floor:.2f} s")
    print(f"site build: {build:.2f} s, {len(report.files)} files, {report.periods} periods, head {report.ledger_seq}")
    print(f"ratio: {build / floor:.2f}x the floor; peak memory {peak:.0f} MB")
    app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL (default: a SQLite file)")
    args = parser.parse_args()
    os.environ.setdefault("MUTUALAID_TODAY", "2027-01-31")
    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("MUTUALAID_HOME", folder)
        out = Path(folder) / "site"
        if args.database_url and make_url(args.database_url).get_backend_name() == "postgresql":
            with scratch_database(args.database_url) as url:
                run(url, args.members, out)
        else:
            run(f"sqlite:///{Path(folder) / 'bench.db'}", args.members, out)


if __name__ == "__main__":
    main()
