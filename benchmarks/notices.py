"""Benchmark rendering statements against bare Jinja2 measured in the same run.

Builds a truckers pool of N members with one set-based statement (no Python loop), approves an
accidental death and shares one period with exact apportionment, then times, in the same run:

* the floor: the same statement template rendered with one fixed context (a real member's, built
  once) in one process, by a bare ``jinja2.Environment`` and by the sandboxed, strict environment
  notices use, each notice written to a stream file: notices/s per core;
* ``render_notices`` of the statements, layout ``stream``, with ``jobs=1`` and ``jobs=2`` (each
  worker its own process and engine): notices/s, notices/s per job, and the ratio of the latter to
  each floor.

It prints the figures and the peak memory (resident) of this process and of its largest child;
it never asserts a time: these machines are noisy, compare ratios.

    python benchmarks/notices.py                         # 1,000,000 members, a temporary SQLite file
    python benchmarks/notices.py --members 10000000 --jobs 1 2
    python benchmarks/notices.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The stream files take ~1.7 KB per member (17 GB at 10M) in the temporary directory (``--tmp``),
removed after each rendering. For PostgreSQL a scratch database is created on the server of the
URL and dropped afterwards. Needs the truckers plugin installed (``make test`` or ``make demo``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mutualaid import MutualAid
from mutualaid.db import scratch_database
from mutualaid.notices import STATEMENT, Renderer, make_environment, prepare

ATTRS = '{"licence_class":"A2","licence_number":"L","licence_expires":"2031-01-01","driving_proof":"x"}'
POOL = "bench"
PERIOD = "2027-01"


def _rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of the largest child waited for, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def build_pool(app: MutualAid, members: int) -> None:
    """A truckers pool of ``members`` drivers covered by 2027-01, one death shared in 2027-01."""
    record = app.create_pool({"key": POOL, "name": "Benchmark", "cohort": "truckers", "sharing": {"rounding": "exact"}})
    dialect = app.engine.dialect.name
    if dialect == "sqlite":
        source = (
            f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {members}) SELECT n FROM seq"
        )
        digits = "substr('000000000000' || n, -12)"
    else:
        source = f"SELECT n FROM generate_series(1, {members}) AS n"
        digits = "lpad(n::text, 12, '0')"
    started = time.perf_counter()
    with app.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO members (pool_id, id_cipher, id_hash, id_masked, identity_seal, name, birth_date, "
                "joined_on, waiting_until, status, "
                f"ended_on, attributes_json) SELECT {record.id}, '110105' || {digits}, '110105' || {digits}, '***', '-', "
                f"'司机' || n, '1980-01-01', '2026-10-01', '2026-12-30', 'active', NULL, '{ATTRS}' FROM ({source}) AS s"
            )
        )
        if dialect == "postgresql":
            conn.execute(text("ANALYZE members"))
    from sharing_run import statistics_as_asked  # beside this script

    statistics_as_asked(app)
    claim = app.file_claim(POOL, 1, event_kind="accidental_death", event_date="2026-12-20", filed_on="2026-12-21")
    app.approve_claim(claim.id)
    result = app.share(POOL, PERIOD)
    print(
        f"built the pool: {members:,} members, {result.members:,} charged in {PERIOD}, "
        f"in {time.perf_counter() - started:.1f} s"
    )


def _fixed_context(app: MutualAid) -> dict[str, Any]:
    """One real member's context, exactly as the pipeline builds it."""
    with app.transaction() as session:
        pool, spec, request = prepare(session, app.plugins, POOL, STATEMENT.kind, period=PERIOD, members=[2])
        renderer = Renderer(session, app.plugins, pool, spec, request)
        language = renderer.language(renderer.default_locale)
        query = spec.recipients(session, pool, request, language.values)
        row = session.execute(query).one()
        return renderer.context_of(row, language)


def bare_jinja(app: MutualAid, count: int, tmp: Path) -> dict[str, float]:
    """Notices/s of one process rendering the statement with a fixed context into a stream file."""
    context = _fixed_context(app)
    # The pool's template (the truckers' statement, extending the core's), as Jinja2 ships it.
    sandboxed = make_environment(app.plugins.cohort("truckers").templates)
    options: dict[str, Any] = {
        "loader": sandboxed.loader,
        "undefined": jinja2.StrictUndefined,
        "keep_trailing_newline": True,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    rates = {}
    for name, template in (
        ("bare Environment", jinja2.Environment(**options).get_template("zh-CN/statement.txt.j2")),
        ("bare SandboxedEnvironment (as notices)", sandboxed.get_template("zh-CN/statement.txt.j2")),
    ):
        path = tmp / "bare.txt"
        started = time.perf_counter()
        with path.open("w", encoding="utf-8") as stream:
            render = template.render
            for n in range(count):
                stream.write(f"=== member {n} ===\n")
                stream.write(render(context))
        rates[name] = count / (time.perf_counter() - started)
        path.unlink()
    return rates


def run(url: str, members: int, jobs_list: list[int], bare_count: int, tmp: Path, repeat: int) -> None:
    app = MutualAid(url)
    try:
        build_pool(app, members)
        floors: dict[str, list[float]] = {}
        for _ in range(repeat):
            for name, rate in bare_jinja(app, min(bare_count, members), tmp).items():
                floors.setdefault(name, []).append(rate)
        floor = {name: statistics.median(rates) for name, rates in floors.items()}
        for name, rate in floor.items():
            print(f"floor, {name}, one core: {rate:,.0f} notices/s")
        for jobs in jobs_list:
            out = tmp / f"out-{jobs}"
            started = time.perf_counter()
            result = app.render_notices(POOL, STATEMENT.kind, out, period=PERIOD, layout="stream", jobs=jobs)
            elapsed = time.perf_counter() - started
            size = sum(p.stat().st_size for p in result.paths)
            shutil.rmtree(out)
            rate = result.count / elapsed
            ratios = ", ".join(f"{rate / jobs / f:.2f}x {name}" for name, f in floor.items())
            print(
                f"render_notices stream, jobs={jobs}: {result.count:,} statements in {elapsed:.1f} s, "
                f"{rate:,.0f} notices/s ({rate / jobs:,.0f} per job; per core vs the floor: {ratios}); "
                f"{size / 1e9:.2f} GB"
            )
        own, child = _rss_mb()
        print(f"peak memory: this process {own:.0f} MB, largest worker {child:.0f} MB")
    finally:
        app.close()


def main() -> None:
    # The pool's today, after every period the benchmark shares (the benchmark shares period 2027-01): a period is
    # shared only once its notice day has come. Worker processes inherit it.
    os.environ.setdefault("MUTUALAID_TODAY", "2027-12-31")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="members in the pool (default 1,000,000)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="worker counts to time (default 1 2)")
    parser.add_argument("--bare", type=int, default=200_000, help="notices rendered for the floor (default 200,000)")
    parser.add_argument("--repeat", type=int, default=3, help="floor measurements; the median is shown")
    parser.add_argument("--tmp", type=Path, help="directory for the database and the stream files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        if not args.database_url:
            print(f"SQLite, {args.members:,} members")
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.members, args.jobs, args.bare, Path(tmp), args.repeat)
            return
        with scratch_database(args.database_url, prefix="mutualaid_bench") as url:
            print(f"PostgreSQL, {args.members:,} members (scratch database {make_url(url).database})")
            run(url, args.members, args.jobs, args.bare, Path(tmp), args.repeat)


if __name__ == "__main__":
    main()
