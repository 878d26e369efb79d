"""Benchmark importing a member jury's votes against the floor of writing the same rows.

Builds a truckers pool of N members with one set-based statement (no Python loop), files a claim,
takes it through the public process to ``objected`` (investigate, propose, publish, an objection),
draws a jury of J members, writes a CSV file of J votes, and times ``import_votes`` through the
public API (every row checked, a temporary table, one ``UPDATE jurors ... FROM``). In the same run
it times the floor: a bare ``executemany`` of the same rows (member, vote, moment) on the driver's
connection into a scratch table. It prints the times, rows per second and the ratio, checks the
tally, and never asserts a time.

    python benchmarks/jury_votes.py --members 300000 --jury 250000
    python benchmarks/jury_votes.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

For PostgreSQL a scratch database is created on the server of the URL and dropped afterwards.
Needs the truckers plugin installed (``make test`` or ``make demo`` installs it).
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from mutualaid import MutualAid
from mutualaid.db import scratch_database

ATTRS = '{"licence_class":"A2","licence_number":"L","licence_expires":"2031-01-01","driving_proof":"x"}'
DRAW_DAY, VOTE_DAY = "2027-01-10", "2027-01-11"


def _load_members(app: MutualAid, pool_id: int, members: int) -> float:
    if app.engine.dialect.name == "sqlite":
        source = (
            f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {members}) SELECT n FROM seq"
        )
        day = "'{}'"
    else:
        source = f"SELECT n FROM generate_series(1, {members}) AS n"
        day = "DATE '{}'"
    started = time.perf_counter()
    with app.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO members (pool_id, id_cipher, id_hash, id_masked, identity_seal, name, birth_date, "
                "joined_on, waiting_until, status, "
                f"ended_on, attributes_json) SELECT {pool_id}, 'P' || n, 'P' || n, '***', '-', 'M' || n, {day.format('1980-01-01')}, "
                f"{day.format('2026-01-01')}, {day.format('2026-03-31')}, 'active', NULL, '{ATTRS}' FROM ({source}) AS s"
            )
        )
        if app.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE members"))
    from sharing_run import statistics_as_asked  # beside this script

    statistics_as_asked(app)
    return time.perf_counter() - started


def _objected_claim(app: MutualAid) -> int:
    claim = app.file_claim("bench", 1, event_kind="accidental_death", event_date="2026-11-20", filed_on="2026-11-21")
    app.investigate_claim(claim.id, by="investigator")
    app.propose_claim(claim.id, approve=True, by="investigator")
    app.publish_claim(claim.id, by="operator")
    app.object_to_claim(claim.id, member=2, reason="the accident was staged")
    return claim.id


def _votes_file(app: MutualAid, jury_id: int, path: Path) -> list[tuple[int, str]]:
    with app.engine.connect() as conn:
        jurors = [row[0] for row in conn.execute(text(f"SELECT member_id FROM jurors WHERE jury_id = {jury_id}"))]
    rows = [(member, "reject" if member % 3 == 0 else "pay") for member in jurors]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["member_id", "vote", "voted_on"])
        writer.writerows((member, vote, VOTE_DAY) for member, vote in rows)
    return rows


def _floor(app: MutualAid, rows: list[tuple[int, str]]) -> float:
    """A bare ``executemany`` of the same rows into a scratch table, on the driver's connection."""
    moment = datetime(2027, 1, 10, 16, tzinfo=UTC)
    sqlite = app.engine.dialect.name == "sqlite"
    values = [(member, vote, moment.isoformat(sep=" ") if sqlite else moment) for member, vote in rows]
    marker = "?" if sqlite else "%s"
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS floor_votes"))
        conn.execute(text("CREATE TABLE floor_votes (member_id BIGINT PRIMARY KEY, vote VARCHAR(8), voted_at TEXT)"))
    started = time.perf_counter()
    with app.engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(f"INSERT INTO floor_votes VALUES ({marker}, {marker}, {marker})", values)
    elapsed = time.perf_counter() - started
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE floor_votes"))
    return elapsed


def run(url: str, members: int, size: int, tmp: Path) -> None:
    app = MutualAid(url)
    try:
        jury = {"size": size, "min_tenure_days": 180, "quorum": "0.5"}
        pool = app.create_pool(
            {
                "key": "bench",
                "name": "Benchmark",
                "cohort": "truckers",
                "claims": {"governance": "public", "objections": "jury", "jury": jury},
            }
        )
        load = _load_members(app, pool.id, members)
        print(f"loaded {members:,} members set-based in {load:.2f} s")
        # The pool's "today" for each step (the steps refuse a day after it): the claim is published,
        # objected to and its jury drawn on DRAW_DAY, the votes are cast the day after.
        os.environ["MUTUALAID_TODAY"] = DRAW_DAY
        claim_id = _objected_claim(app)
        started = time.perf_counter()
        draw = app.draw_jury(claim_id, by="operator", seed=20270110, on=DRAW_DAY)
        drawn = time.perf_counter() - started
        print(f"drew a jury of {size:,} from {draw.eligible:,} eligible members in {drawn:.2f} s")
        path = tmp / "votes.csv"
        rows = _votes_file(app, draw.jury.id, path)
        os.environ["MUTUALAID_TODAY"] = VOTE_DAY
        started = time.perf_counter()
        result = app.import_votes(claim_id, path)
        imported = time.perf_counter() - started
        pay = sum(1 for _, vote in rows if vote == "pay")
        if (result.imported, result.jury.votes_pay, result.jury.votes_reject) != (len(rows), pay, len(rows) - pay):
            raise SystemExit(f"the tally is wrong: {result}")
        floor = _floor(app, rows)
        print(f"import-votes of {len(rows):,} votes: {imported:.2f} s ({len(rows) / imported:,.0f} rows/s)")
        print(f"floor, bare executemany of the same rows: {floor:.2f} s ({len(rows) / floor:,.0f} rows/s)")
        print(f"ratio: {imported / floor:.2f}x")
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=300_000, help="members in the pool (default 300,000)")
    parser.add_argument("--jury", type=int, default=250_000, help="jurors drawn, and votes imported (default 250,000)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.database_url:
            print(f"SQLite, {args.members:,} members, a jury of {args.jury:,}")
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.members, args.jury, Path(tmp))
            return
        with scratch_database(args.database_url, prefix="mutualaid_bench") as url:
            print(
                f"PostgreSQL, {args.members:,} members, a jury of {args.jury:,} (scratch database {make_url(url).database})"
            )
            run(url, args.members, args.jury, Path(tmp))


if __name__ == "__main__":
    main()
