"""Commands at the same moment: writers queue for the database's lock, runs are serialised.

Each test starts real ``mutualaid`` processes that wait, fully imported, for one signal and then
run their command at once (so the race is real, not the interpreters' start-up), several times
over, on SQLite and on PostgreSQL. A writer on SQLite takes the write lock up front (``BEGIN
IMMEDIATE``), so writers wait their turn rather than fail; one that waits longer than
``MUTUALAID_LOCK_TIMEOUT`` gets one line saying the database is busy, never a traceback.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pg_locks import in_a_thread, rows, until_done_or_waiting
from sqlalchemy import text

from mutualaid.db import make_engine

POOL = "js-truckers"
#: A ``mutualaid`` process that imports everything a command needs, then waits for the file named
#: by its first argument before it runs the command in the others.
STARTER = """
import os, sys, time
import mutualaid.api, mutualaid.cli, mutualaid.db, mutualaid.members, mutualaid.sharing, mutualaid.payments
from mutualaid.cli import main
go, argv = sys.argv[1], sys.argv[2:]
open(f"{go}.ready-{os.getpid()}", "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
main(argv)
"""
#: Claims shared one period after another: (member who dies, day of death, period).
DEATHS = [(1, "2026-10-20", "2026-11"), (2, "2026-11-20", "2026-12"), (3, "2026-12-20", "2027-01")]


def _together(url: str, tmp_path: Path, commands: list[list[str]], **env: str) -> list[subprocess.CompletedProcess]:
    """Run ``commands`` as ``mutualaid`` processes started at the same moment; their results."""
    go = tmp_path / f"go-{time.monotonic_ns()}"
    environ = {**os.environ, **env}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, str(go), "--database-url", url, *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
        )
        for command in commands
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob(f"{go.name}.ready-*"))) < len(procs) and time.monotonic() < deadline:
        time.sleep(0.01)  # until every process has imported everything and waits
    go.touch()
    results = []
    for proc, command in zip(procs, commands, strict=True):
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(command, proc.returncode, out, err))
    return results


def _no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), (result.returncode, result.stderr)
    if result.returncode == 1:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr


def _join_args(driver: dict[str, Any], *extra: str) -> list[str]:
    attrs = [arg for k, v in driver["attributes"].items() for arg in ("--attr", f"{k}={v}")]
    return [
        "member", "join", POOL, "--json",
        "--id-number", driver["id_number"], "--name", driver["name"],
        "--birth-date", str(driver["birth_date"]), *attrs, *extra,
    ]  # fmt: skip


@pytest.fixture
def pool(app, truckers_pool, make_driver):
    """The truckers pool with ten drivers who joined on 2026-10-01; the app is closed again, so the
    processes are the only ones using the database."""
    app.create_pool(truckers_pool())
    for n in range(1, 11):
        app.join(POOL, **make_driver(n))
    app.close()
    return app


def test_two_runs_of_one_period_at_once_share_it_once(pool, db_url, tmp_path):
    app = pool
    for member, died, period in DEATHS:
        claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=died, filed_on=died)
        app.approve_claim(claim.id)
        app.close()
        first, second = _together(db_url, tmp_path, [["share", "run", POOL, "--period", period]] * 2)
        for result in (first, second):
            _no_traceback(result)
        won, lost = (first, second) if first.returncode == 0 else (second, first)
        assert (won.returncode, lost.returncode) == (0, 1), (first, second)
        assert lost.stdout == ""
        assert lost.stderr.startswith(f"Error: period {period} of pool '{POOL}' was already shared (run #")
        assert "nothing was charged again" in lost.stderr
        (run_id, members), *others = rows(
            db_url, f"SELECT id, members_count FROM sharing_runs WHERE period = '{period}'"
        )
        assert others == []
        assert rows(db_url, f"SELECT count(*) FROM charges WHERE run_id = {run_id}") == [(members,)]
        assert members == 10 - member  # the dead (this claim's member and those before) are not charged
        assert app.reconcile(POOL, period).ok
        report = app.verify_ledger(POOL)
        assert report.ok, report.problems
    app.close()


def test_a_join_during_a_run_waits_its_turn(pool, db_url, tmp_path, make_driver):
    app = pool
    for i, (member, died, period) in enumerate(DEATHS):
        claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=died, filed_on=died)
        app.approve_claim(claim.id)
        app.close()
        newcomer = make_driver(100 + i)
        run, join = _together(db_url, tmp_path, [["share", "run", POOL, "--period", period], _join_args(newcomer)])
        _no_traceback(run)
        _no_traceback(join)
        assert run.returncode == 0, run.stderr
        assert join.returncode == 0, join.stderr
        joined = json.loads(join.stdout)
        # Joined today, after the period's notice day: not among the members the run charged.
        assert date.fromisoformat(joined["joined_on"]) > app.sharing_run(POOL, period).notice_date
        (run_id,) = rows(db_url, f"SELECT id FROM sharing_runs WHERE period = '{period}'")[0]
        assert rows(db_url, f"SELECT count(*) FROM charges WHERE run_id = {run_id} AND member_id = {joined['id']}") == [
            (0,)
        ]
        history = [entry.change.value for entry in app.member_history(POOL, joined["id"])[1]]
        assert history[0] == "joined"
        assert app.reconcile(POOL, period).ok
        assert app.verify_ledger(POOL).ok
    app.close()


def test_eight_joins_at_once_all_join(pool, db_url, tmp_path, make_driver):
    app = pool
    for round_ in range(1):
        drivers = [make_driver(200 + 10 * round_ + n) for n in range(8)]
        results = _together(db_url, tmp_path, [_join_args(d, "--joined-on", "2027-12-01") for d in drivers])
        for result in results:
            _no_traceback(result)
            assert result.returncode == 0, result.stderr
        joined = [json.loads(result.stdout) for result in results]
        numbers = [member["id"] for member in joined]
        assert len(set(numbers)) == 8
        assert sorted(member["name"] for member in joined) == sorted(d["name"] for d in drivers)
        for member in joined:
            record, history = app.member_history(POOL, member["id"])
            assert record.name == member["name"]
            assert [entry.change.value for entry in history][:1] == ["joined"]
    assert len(app.members(POOL)) == 10 + 8
    assert rows(db_url, "SELECT count(*) FROM members") == [(18,)]
    assert rows(db_url, "SELECT count(*) FROM member_status_changes WHERE change = 'joined'") == [(18,)]
    app.close()


def test_a_writer_that_waits_too_long_is_told_the_database_is_busy(pool, db_url, tmp_path, make_driver):
    app = pool
    sqlite = db_url.startswith("sqlite")
    holder: Any
    if sqlite:
        holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    else:
        engine = make_engine(db_url)
        holder = engine.connect()
        holder.execute(text("LOCK TABLE members IN SHARE ROW EXCLUSIVE MODE"))  # as a sharing run does
    try:
        started = time.monotonic()
        (waited,) = _together(db_url, tmp_path, [_join_args(make_driver(300))], MUTUALAID_LOCK_TIMEOUT="1")
        assert time.monotonic() - started < 30
        _no_traceback(waited)
        assert waited.returncode == 1
        where = db_url.removeprefix("sqlite:///") if sqlite else make_engine(db_url).url.render_as_string()
        assert waited.stderr == (
            f"Error: the database {where} is busy: another mutualaid command is writing to it; try again "
            "(commands wait 1 s for each other; MUTUALAID_LOCK_TIMEOUT sets how long)\n"
        )
        # Reading goes on meanwhile.
        (listed,) = _together(db_url, tmp_path, [["member", "list", POOL]], MUTUALAID_LOCK_TIMEOUT="1")
        assert listed.returncode == 0, listed.stderr
    finally:
        if sqlite:
            holder.execute("ROLLBACK")
            holder.close()
        else:
            holder.rollback()
            holder.close()
            engine.dispose()
    assert len(app.members(POOL)) == 10  # the refused join wrote nothing
    (joined,) = _together(db_url, tmp_path, [_join_args(make_driver(300))], MUTUALAID_LOCK_TIMEOUT="1")
    assert joined.returncode == 0, joined.stderr
    app.close()


def test_a_lock_timeout_that_is_not_a_number_is_one_line(runner, plugins, db_url, monkeypatch):
    from mutualaid.cli import State, cli

    monkeypatch.setenv("MUTUALAID_LOCK_TIMEOUT", "soon")
    result = runner.invoke(cli, ["--database-url", db_url, "pool", "list"], obj=State(plugins=plugins))
    assert result.exit_code == 1
    assert result.output == (
        "Error: MUTUALAID_LOCK_TIMEOUT='soon' is not a number of seconds between 0 and 86400; "
        "unset it for the default (30 s)\n"
    )


# -- lock order on PostgreSQL: what waits for a pool's lock, and what does not ---------------------


def test_a_join_does_not_wait_for_the_pools_lock(pool, db_url, make_driver):
    """A sharing run locks the pool's row, then the members table. A join inserts a member (taking
    its lock on the members table), whose foreign key is checked against the pool's row: with the
    pool locked FOR UPDATE that check waited for the run, which then waited for the join's lock on
    the members table, and PostgreSQL broke the deadlock by failing one of them. The pool is locked
    FOR NO KEY UPDATE, which the check does not wait for: the join goes through."""
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks matter on PostgreSQL; SQLite lets one transaction write at a time")
    app = pool
    from mutualaid.pools import get_pool, lock_pool

    with app.transaction() as session:
        lock_pool(session, get_pool(session, app.plugins, POOL))
        thread, outcome = in_a_thread(lambda: app.join(POOL, **make_driver(50)))
        waiting = until_done_or_waiting(thread, db_url)
        assert waiting is None, "the join waits for the pool's lock"
        thread.join(60)
        assert "error" not in outcome, outcome
        # What the run does next: lock the members table, which the join no longer holds.
        session.execute(text("LOCK TABLE members IN SHARE ROW EXCLUSIVE MODE"))
    assert outcome["result"].id == 11
    app.close()
