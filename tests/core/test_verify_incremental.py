"""``ledger verify`` checks what was added since the last successful verification; ``--full`` all.

A pool of 8 drivers shares 2026-11 (#1 died) and is verified (a first verification is full); then
#2 dies and 2026-12 is shared, and an adjustment is posted: the next verification walks only the
entries after the checkpoint, rechecks the new run's charges, and says so. Edits are made with plain
SQL, the ledger's append-only triggers dropped first, as the database's owner could.
"""

from __future__ import annotations

import json

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from support import drop_ledger_guards, restore_ledger_guards

from mutualaid import MutualAid
from mutualaid.db.models import LedgerEntry, LedgerVerification, Pool
from mutualaid.ledger import GENESIS, entry_hash
from mutualaid.ledger.posting import entry_lines

POOL = "js-truckers"


def _death(app: MutualAid, member: int, day: str, filed: str) -> None:
    claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=day, filed_on=filed)
    app.approve_claim(claim.id)


def _first_period(app: MutualAid, truckers_pool, make_driver) -> int:
    """Drivers #1-#8; #1 dies, #2-#8 share 2026-11. Returns the run's id."""
    app.create_pool(truckers_pool())
    for n in range(1, 9):
        app.join(POOL, **make_driver(n))
    _death(app, 1, "2026-10-20", "2026-10-25")
    return app.share(POOL, "2026-11").run_id


def _more(app: MutualAid) -> int:
    """#2 dies, 2026-12 is shared, then an adjustment: entries after the checkpoint. Returns the
    new run's id."""
    _death(app, 2, "2026-11-20", "2026-11-25")
    run = app.share(POOL, "2026-12").run_id
    app.adjust(POOL, debit={"cash": "10"}, credit={"fee_income": "10"}, memo="a fee received", on="2026-12-20")
    return run


def _checkpoints(app: MutualAid) -> list[tuple[int, str, bool, int]]:
    with Session(app.engine) as session:
        rows = session.scalars(select(LedgerVerification).order_by(LedgerVerification.id)).all()
        return [(r.seq, r.hash, bool(r.full), r.entries) for r in rows]


def _head_seq(app: MutualAid) -> int:
    with Session(app.engine) as session:
        return int(session.scalars(select(Pool.ledger_seq)).one())


def _sql(app: MutualAid, *statements: str) -> None:
    with app.engine.begin() as conn:
        drop_ledger_guards(conn)
        for statement in statements:
            conn.execute(text(statement))
        restore_ledger_guards(conn)


def test_a_first_verification_is_full_and_the_next_checks_only_the_new_entries(app, invoke, truckers_pool, make_driver):
    _first_period(app, truckers_pool, make_driver)
    first = app.verify_ledger(POOL)
    assert first.ok and first.full and first.since is None
    verified = _head_seq(app)
    assert first.entries == first.head_seq == verified >= 1
    assert _checkpoints(app) == [(verified, first.head, True, verified)]

    _more(app)
    head = _head_seq(app)
    assert head >= verified + 2  # the run's entry (with the settling of November) and the adjustment
    result = invoke("ledger", "verify", POOL)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    added = head - verified
    assert lines[0] == f"ledger of pool 'js-truckers': {added} entries, chain intact, the new runs' charges match"
    assert lines[2].startswith(f"  checked entries {verified + 1}..{head} since the verification of ")
    assert lines[2].endswith(" UTC (use --full to check all)")
    second = _checkpoints(app)[-1]
    assert second[0] == head and second[2] is False and second[3] == added

    # nothing added since: nothing walked, the head still checked against the checkpoint
    again = app.verify_ledger(POOL)
    assert (again.ok, again.full, again.entries, again.head_seq) == (True, False, 0, head)
    as_json = json.loads(invoke("ledger", "verify", POOL, "--json").output)
    assert (as_json["full"], as_json["first_seq"], as_json["entries"]) == (False, head + 1, 0)
    full = app.verify_ledger(POOL, full=True)
    assert (full.ok, full.full, full.entries) == (True, True, head)
    assert [c[2] for c in _checkpoints(app)] == [True, False, False, False, True]


def test_an_edit_of_a_new_entry_is_caught_and_records_no_checkpoint(app, truckers_pool, make_driver):
    _first_period(app, truckers_pool, make_driver)
    assert app.verify_ledger(POOL).ok
    _more(app)
    head = _head_seq(app)
    before = _checkpoints(app)
    _sql(app, f"UPDATE ledger_entries SET memo = 'moved' WHERE seq = {head}")
    report = app.verify_ledger(POOL)
    assert not report.full
    assert [str(p) for p in report.problems] == [f"entry {head}: was edited: its contents no longer match its hash"]
    assert _checkpoints(app) == before  # a failed verification moves nothing on


def test_a_rewrite_of_the_verified_part_is_caught_by_the_checkpoint_hash(app, invoke, truckers_pool, make_driver):
    """Entry 1 edited and the whole chain recomputed from scratch holds together on its own (a full
    check finds nothing without a published head), but the checkpoint's entry no longer has the
    hash it had when it was verified."""
    _first_period(app, truckers_pool, make_driver)
    assert app.verify_ledger(POOL).ok
    verified, checkpoint_hash = _checkpoints(app)[0][:2]
    _more(app)
    with app.engine.begin() as conn:
        drop_ledger_guards(conn)
        conn.execute(text("UPDATE ledger_entries SET memo = 'rewritten' WHERE seq = 1"))
        with Session(bind=conn) as session:
            entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
            lines = entry_lines(session, [e.id for e in entries])
            prev = GENESIS
            for entry in entries:
                new = entry_hash(entry, lines[entry.id], prev)
                conn.execute(
                    text("UPDATE ledger_entries SET prev_hash = :p, hash = :h WHERE id = :i"),
                    {"p": prev, "h": new, "i": entry.id},
                )
                prev = new
            session.expunge_all()
        conn.execute(text("UPDATE pools SET ledger_head = :h"), {"h": prev})
        restore_ledger_guards(conn)
    with Session(app.engine) as session:
        now = session.scalars(select(LedgerEntry.hash).where(LedgerEntry.seq == verified)).one()
    assert now != checkpoint_hash
    before = _checkpoints(app)

    report = app.verify_ledger(POOL)
    assert [str(p) for p in report.problems] == [
        f"entry {verified}: the verification of {report.since.day} reached entry {verified} with hash "
        f"{checkpoint_hash[:12]}…, its hash is now {now[:12]}…: the ledger up to it was rewritten (use --full to "
        "find where)"
    ]
    result = invoke("ledger", "verify", POOL)
    assert result.exit_code == 1
    assert "the ledger up to it was rewritten" in result.output
    assert "(use --full to check all)" in result.output
    assert _checkpoints(app) == before
    # recomputed from scratch, the chain holds together on its own: only the checkpoint saw it
    assert app.verify_ledger(POOL, full=True).ok


def test_an_old_runs_charge_edit_is_found_by_full_only(app, invoke, truckers_pool, make_driver):
    november = _first_period(app, truckers_pool, make_driver)
    assert app.verify_ledger(POOL).ok
    _more(app)
    # a minor unit moved between two members of the verified run: same rows, same total
    _sql(
        app,
        f"UPDATE charges SET amount_minor = amount_minor - 1 WHERE run_id = {november} AND member_id = 3",
        f"UPDATE charges SET amount_minor = amount_minor + 1 WHERE run_id = {november} AND member_id = 4",
    )
    incremental = invoke("ledger", "verify", POOL)
    assert incremental.exit_code == 0, incremental.output
    assert "since the verification of" in incremental.output
    assert "(use --full to check all)" in incremental.output
    full = invoke("ledger", "verify", "--full", POOL)
    assert full.exit_code == 1
    assert (
        f"  entry 1: the charges of run #{november} (period 2026-11) were altered: the entry recorded 7 rows "
        in full.output
    )
    assert "their SHA-256 digest differs" in full.output
    assert "since the verification of" not in full.output
    assert [c[2] for c in _checkpoints(app)] == [True, False]  # the failed full check recorded nothing


def test_only_verify_writes_checkpoints(app, invoke, truckers_pool, make_driver):
    _first_period(app, truckers_pool, make_driver)
    _more(app)
    invoke("ledger", "head", POOL)
    invoke("ledger", "balance", POOL)
    invoke("ledger", "entries", POOL)
    app.reconcile_books(POOL)
    assert _checkpoints(app) == []
    report = app.verify_ledger(POOL)
    assert report.full  # never verified: everything is checked
    assert _checkpoints(app) == [(report.head_seq, report.head, True, report.head_seq)]


def test_a_deleted_new_run_and_its_entry_are_caught(app, truckers_pool, make_driver):
    """A run posted after the checkpoint is rechecked: its charges deleted show against its entry."""
    _first_period(app, truckers_pool, make_driver)
    assert app.verify_ledger(POOL).ok
    december = _more(app)
    _sql(app, f"DELETE FROM charges WHERE run_id = {december} AND member_id = 3")
    report = app.verify_ledger(POOL)
    assert not report.full
    assert len(report.problems) == 1
    assert f"the charges of run #{december} (period 2026-12) were altered" in str(report.problems[0])


def test_payments_in_no_batch_are_looked_for_after_the_checkpoints_batches(app, truckers_pool, make_driver, tmp_path):
    # Drivers #2-#8 share 2026-11 and pay it in one batch; the pool is verified.
    run = _first_period(app, truckers_pool, make_driver)
    csv = tmp_path / "november.csv"
    csv.write_text("member_id,period,result,date\n" + "".join(f"{m},2026-11,paid,2026-11-14\n" for m in range(2, 9)))
    app.import_payments(POOL, csv)
    assert app.verify_ledger(POOL).ok
    with Session(app.engine) as session:
        (batch,) = session.execute(text("SELECT id FROM payment_batches")).scalars().all()
    insert = "INSERT INTO payments (batch_id, run_id, member_id, result, attempted_on, amount_minor) VALUES "
    # In no batch, numbered before the checkpoint's batch: only a full check looks there.
    _sql(app, insert + f"({batch - 1}, {run}, 3, 'paid', '2026-11-20', 1)")
    assert app.verify_ledger(POOL).ok
    stray = "1 payment of this pool's runs is in no payment batch: inserted behind the ledger's back"
    assert [str(p) for p in app.verify_ledger(POOL, full=True).problems] == [stray]
    # In no batch, numbered after it: the incremental check finds it too.
    _sql(
        app,
        f"DELETE FROM payments WHERE batch_id = {batch - 1}",
        insert + f"({batch + 5}, {run}, 3, 'paid', '2026-11-20', 1)",
    )
    assert [str(p) for p in app.verify_ledger(POOL).problems] == [stray]
