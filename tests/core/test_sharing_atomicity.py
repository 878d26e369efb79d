"""A sharing run is atomic, idempotent and safe to start twice at once: tested for real.

- A run that fails half-way (after its charges are written) leaves nothing behind: no run, no
  charges (on PostgreSQL, no table of them), no ledger entry, no frozen member, the claims still
  waiting.
- Two processes sharing the same period at the same moment on PostgreSQL end with exactly one run
  applied; the other is refused with the clear message, and charges nothing.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import func, select, text
from support import drop_ledger_guards

import mutualaid.payments
import mutualaid.sharing.run
from mutualaid.db.models import Balance, Charge, Claim, LedgerEntry, Member, MemberStatusChange, Pool, SharingRun
from mutualaid.db.partitions import PARTITION_PREFIX, partition_name
from mutualaid.ledger import verify_ledger

POOL = "js-truckers"


def _setup(app, truckers_pool, make_driver, members: int, **pool) -> None:
    app.create_pool(truckers_pool(**pool))
    for n in range(members):
        app.join(POOL, **make_driver(n))
    claim = app.file_claim(POOL, 1, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)


def _state(app) -> dict[str, object]:
    with app.transaction() as s:
        return {
            "runs": s.scalar(select(func.count()).select_from(SharingRun)),
            "charges": s.scalar(select(func.count()).select_from(Charge)),
            "entries": s.scalar(select(func.count()).select_from(LedgerEntry)),
            "head": s.execute(select(Pool.ledger_seq, Pool.ledger_head)).one(),
            "claims": sorted(s.scalars(select(Claim.status))),
            "statuses": sorted(s.scalars(select(Member.status))),
            "history": s.scalar(select(func.count()).select_from(MemberStatusChange)),
            "balances": sorted(s.scalars(select(Balance.balance_minor))),
            "tables of charges": _charge_tables(s),
        }


def _charge_tables(session) -> list[str]:
    """The tables of runs' charges on PostgreSQL (attached as partitions or not)."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    return sorted(session.scalars(text(f"SELECT relname FROM pg_class WHERE relname LIKE '{PARTITION_PREFIX}%'")))


@pytest.mark.parametrize("payments", ["postpaid", "prepaid"])
def test_a_run_that_fails_half_way_leaves_nothing_behind(app, truckers_pool, make_driver, monkeypatch, payments):
    _setup(app, truckers_pool, make_driver, 5, payments={"model": payments})
    if payments == "prepaid":
        pool_id = app.pool(POOL).id
        with app.transaction() as s:  # one member cannot cover the share and would be frozen
            for m in range(2, 6):  # each member holds a row of 0 from joining
                s.merge(Balance(member_id=m, pool_id=pool_id, balance_minor=20_000_000 if m != 5 else 100))
    before = _state(app)

    def fail(*args, **kwargs):
        raise RuntimeError("the disk filled up")

    if payments == "prepaid":  # the last step: after the charges, the freezes and the deductions
        monkeypatch.setattr(mutualaid.payments, "after_deduction", fail)
    else:  # after the charges and the lapses the settlement took before the run
        monkeypatch.setattr(mutualaid.sharing.run, "post_run", fail)
    with pytest.raises(RuntimeError, match="the disk filled up"):
        app.share(POOL, "2026-11")
    assert _state(app) == before
    monkeypatch.undo()
    result = app.share(POOL, "2026-11")  # and the period can then be shared normally
    assert result.members == (4 if payments == "postpaid" else 3)
    with app.transaction() as s:
        assert _charge_tables(s) == ([partition_name(result.run_id)] if app.engine.dialect.name == "postgresql" else [])


_RACER = textwrap.dedent(
    """
    import sys
    from mutualaid import AlreadySharedError, MutualAid
    app = MutualAid(sys.argv[1])
    try:
        result = app.share("js-truckers", "2026-11")
    except AlreadySharedError as exc:
        print("refused:", exc)
    else:
        print(f"applied run #{result.run_id}: {result.members} members, {result.charged_minor}")
    finally:
        app.close()
    """
)


@pytest.mark.postgresql
def test_two_processes_sharing_one_period_at_once_apply_it_exactly_once(app, truckers_pool, make_driver, db_url):
    if db_url.startswith("sqlite"):
        pytest.skip("the race is between PostgreSQL sessions; SQLite has one writer at a time")
    _setup(app, truckers_pool, make_driver, 20)
    # Hold the pool's row so that both processes reach the run's first lock and wait there; let go
    # when both are waiting, so they race for the same period at the same moment.
    blocker = app.engine.connect()
    transaction = blocker.begin()
    blocker.execute(text("SELECT id FROM pools WHERE key = :k FOR UPDATE"), {"k": POOL})
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        waiting = 0
        for _ in range(600):  # up to 60 s for both to be waiting on the lock
            with app.engine.connect() as watcher:  # a new transaction each time: a fresh view of the activity
                waiting = watcher.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                ).scalar()
            if waiting == 2:
                break
            time.sleep(0.1)
        assert waiting == 2, "both processes should be waiting for the pool's lock"
    finally:
        transaction.rollback()
        blocker.close()
    outputs = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        outputs.append(out.strip())
    applied = [o for o in outputs if o.startswith("applied")]
    refused = [o for o in outputs if o.startswith("refused")]
    assert len(applied) == 1 and len(refused) == 1, outputs
    assert "period 2026-11 of pool 'js-truckers' was already shared" in refused[0]
    assert "nothing was charged again" in refused[0]
    with app.transaction() as s:
        assert s.scalar(select(func.count()).select_from(SharingRun)) == 1
        assert s.scalar(select(func.count()).select_from(Charge)) == 19  # the 20th member died
        assert (
            s.scalar(select(func.sum(Charge.amount_minor)))
            == 32_400_000 + app.sharing_run(POOL, "2026-11").surplus_out_minor
        )
        assert s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "sharing")) == 1
        assert verify_ledger(s, app.pool(POOL).id).ok


def test_runs_shared_before_the_ledger_get_their_entries_by_backfill(app, truckers_pool, make_driver, invoke):
    # A database upgraded from revision 0001 has runs but no ledger: made here by removing the books.
    _setup(app, truckers_pool, make_driver, 5)
    first = app.share(POOL, "2026-11")
    claim = app.file_claim(POOL, 2, event_kind="accidental_death", event_date="2026-11-20", filed_on="2026-11-21")
    app.approve_claim(claim.id)
    app.share(POOL, "2026-12")
    with app.engine.begin() as conn:
        drop_ledger_guards(conn)
        conn.execute(text("DELETE FROM ledger_lines"))
        conn.execute(text("DELETE FROM ledger_entries"))
        conn.execute(text("UPDATE pools SET ledger_seq = 0, ledger_head = NULL"))
    report = app.verify_ledger(POOL)
    assert [str(p) for p in report.problems] == [
        f"sharing run #{first.run_id} (period 2026-11) has no ledger entry",
        f"sharing run #{first.run_id + 1} (period 2026-12) has no ledger entry",
    ]
    result = invoke("ledger", "backfill", POOL)
    assert result.exit_code == 0, result.output
    assert result.output == "posted the ledger entries of 2 earlier runs: 2026-11, 2026-12\n"
    assert app.verify_ledger(POOL).ok and app.reconcile_books(POOL).ok
    assert invoke("ledger", "backfill", POOL).output == f"every run of pool {POOL!r} already has its ledger entry\n"
    assert [e.kind for e in app.ledger_entries(POOL)] == ["sharing", "sharing"]
