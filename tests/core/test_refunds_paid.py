"""A denial that refunds a member's contributions gives back what they paid, not what they were
charged: in a postpaid pool the shares reported paid (once, however many attempts it took), never a
share left unpaid or written off; in a prepaid pool every charge (deducted from the balance at the
run). A member who paid nothing is refunded 0: recorded on the claim, nothing posted to the books.

The pools are disease cohorts (critical illness): an illness diagnosed in the waiting period is
refused and the member's contributions refunded."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mutualaid import MutualAid
from mutualaid.db.models import Charge
from mutualaid.testing import resident_id

CRITICAL = Path(__file__).resolve().parents[2] / "plugins" / "disease_cohorts" / "examples" / "critical-illness.toml"
POOL = "healthy-critical-illness"
#: Born under 40: a benefit of 300,000.00; 40 to 59: 100,000.00.
PEOPLE = [("1990-06-01", "赵一"), ("1980-06-01", "赵二"), ("1995-06-01", "赵三"), ("1992-06-01", "赵四")]


def _pool(app: MutualAid, tmp_path: Path, payments: str = "") -> list[int]:
    path = tmp_path / "critical-illness.toml"
    path.write_text(CRITICAL.read_text(encoding="utf-8") + payments, encoding="utf-8")
    app.create_pool(path)
    return [
        app.join(
            POOL,
            id_number=resident_id(date.fromisoformat(born), n),
            name=name,
            birth_date=born,
            joined_on="2026-01-10",
            attributes={"declaration_confirmed": "true"},
        ).id
        for n, (born, name) in enumerate(PEOPLE, 1)
    ]


def _claim(app: MutualAid, member: int, when: str, filed: str, illness: str = "malignant_tumour") -> int:
    return app.file_claim(
        POOL, member, event_kind="critical_illness", event_date=when, filed_on=filed, details={"illness": illness}
    ).id


def _payments(app: MutualAid, tmp_path: Path, name: str, rows: list[str]) -> None:
    path = tmp_path / name
    path.write_text("member_id,period,result,date\n" + "\n".join(rows) + "\n", encoding="utf-8")
    app.import_payments(POOL, path)


def _charged(app: MutualAid, member: int) -> int:
    with app.transaction() as s:
        return int(s.scalar(select(func.coalesce(func.sum(Charge.amount_minor), 0)).where(Charge.member_id == member)))


def _refund_entries(app: MutualAid) -> list:
    return app.ledger_entries(POOL, kind="refund")


def _postpaid_two_periods(app: MutualAid, tmp_path: Path) -> list[int]:
    """Period 2026-05a: 4 members share 324,000.00 (81,000.00 each); member 3's share is paid on
    a retry, member 4's fails and is written off at the next run (member 4 lapses). Period 2026-05b:
    3 members share 108,000.00 (36,000.00 each); member 3's share is never reported paid."""
    one, two, three, four = members = _pool(app, tmp_path)
    app.approve_claim(_claim(app, one, "2026-04-11", "2026-04-20"))
    first = app.share(POOL, "2026-05a")
    assert (first.members, first.share_minor) == (4, 8_100_000)
    _payments(
        app,
        tmp_path,
        "05a.csv",
        [
            f"{one},2026-05a,paid,2026-05-14",
            f"{two},2026-05a,paid,2026-05-14",
            f"{three},2026-05a,failed,2026-05-14",
            f"{three},2026-05a,paid,2026-05-16",  # paid on a retry: counts once
            f"{four},2026-05a,failed,2026-05-14",
            f"{four},2026-05a,failed,2026-05-18",
        ],
    )
    app.approve_claim(_claim(app, two, "2026-04-20", "2026-05-01"))
    second = app.share(POOL, "2026-05b")
    assert (second.members, second.share_minor) == (3, 3_600_000)  # member 4 lapsed at the settlement
    assert app.member(POOL, four).status == "lapsed"
    _payments(app, tmp_path, "05b.csv", [f"{one},2026-05b,paid,2026-05-28", f"{two},2026-05b,paid,2026-05-28"])
    return members


def test_a_postpaid_refund_is_the_share_paid_not_the_one_left_unpaid(app, invoke, tmp_path):
    _, _, three, _ = _postpaid_two_periods(app, tmp_path)
    assert _charged(app, three) == 8_100_000 + 3_600_000

    # diagnosed on the last day of the waiting period: refused, contributions refunded
    late = _claim(app, three, "2026-04-10", "2026-05-30", "stroke_sequelae")
    _, decision = app.review_claim(late)
    assert not decision.payable and decision.refund_contributions
    rejected = invoke("claim", "reject", str(late), "--reason", "diagnosed in the waiting period")
    assert rejected.exit_code == 0, rejected.output
    assert rejected.output.splitlines()[1] == (
        f"refunded member #{three}'s contributions to the pool: 81,000.00 CNY (owed to the member; "
        f"see 'mutualaid ledger entries {POOL} --kind refund')"
    )
    (claim,) = app.claims(POOL, status="rejected")
    assert claim.refund == Decimal("81000.00")
    (entry,) = _refund_entries(app)
    assert entry.claim_id == late
    assert [(ln.account, ln.amount, ln.member_id, ln.claim_id) for ln in entry.lines] == [
        ("sponsor_due", 8_100_000, None, None),
        ("refunds_payable", -8_100_000, three, late),
    ]
    assert entry.facts == {"member_id": three, "refund": 8_100_000, "funded_by": "sponsor_due"}
    assert app.reconcile_books(POOL).ok


def test_a_member_who_paid_nothing_is_refunded_0_and_nothing_is_posted(app, invoke, tmp_path):
    _, _, _, four = _postpaid_two_periods(app, tmp_path)
    assert _charged(app, four) == 8_100_000  # charged once, the collection failed, written off
    entries = len(app.ledger_entries(POOL))

    late = _claim(app, four, "2026-04-09", "2026-05-30", "stroke_sequelae")
    rejected = invoke("claim", "reject", str(late), "--reason", "diagnosed in the waiting period", "--json")
    assert rejected.exit_code == 0, rejected.output
    data = json.loads(rejected.output)
    assert data["refund"] == "0.00"
    assert data["claim"]["refund"] == "0.00"
    assert app.claims(POOL, status="rejected")[0].refund == Decimal("0.00")
    assert _refund_entries(app) == []
    assert len(app.ledger_entries(POOL)) == entries
    assert app.reconcile_books(POOL).ok


def test_the_text_output_of_a_refund_of_0_names_no_refund(app, invoke, tmp_path):
    one, _, three, _ = _pool(app, tmp_path)
    app.approve_claim(_claim(app, one, "2026-04-11", "2026-04-20"))
    app.share(POOL, "2026-05a")  # charged, no result reported: the share stays due, unpaid
    late = _claim(app, three, "2026-04-10", "2026-05-30", "stroke_sequelae")
    rejected = invoke("claim", "reject", str(late), "--reason", "diagnosed in the waiting period")
    assert rejected.exit_code == 0, rejected.output
    assert rejected.output.splitlines()[0] == f"rejected claim #{late}: diagnosed in the waiting period"
    assert "refunded" not in rejected.output
    assert app.claims(POOL, status="rejected")[0].refund == Decimal("0.00")
    assert _refund_entries(app) == []


@pytest.mark.parametrize("refunds", ["sponsor", "carry"])
def test_a_prepaid_refund_is_every_charge(app, tmp_path, refunds):
    one, two, three, _ = members = _pool(app, tmp_path, f'\n[payments]\nmodel = "prepaid"\nrefunds = "{refunds}"\n')
    for n, member in enumerate(members):
        app.top_up(POOL, member, "200000", "2026-05-01", f"T-{n}")
    app.approve_claim(_claim(app, one, "2026-04-11", "2026-04-20"))
    assert app.share(POOL, "2026-05a").share_minor == 8_100_000
    app.approve_claim(_claim(app, two, "2026-04-20", "2026-05-01"))
    assert app.share(POOL, "2026-05b").share_minor == 2_700_000  # 108,000.00 over 4
    assert _charged(app, three) == 8_100_000 + 2_700_000

    late = _claim(app, three, "2026-04-10", "2026-05-30", "stroke_sequelae")
    rejection = app.reject_claim(late, "diagnosed in the waiting period")
    assert rejection.refund == Decimal("108000.00")
    (entry,) = _refund_entries(app)
    payer = "sponsor_due" if refunds == "sponsor" else "deficit"
    assert [(ln.account, ln.amount, ln.member_id, ln.claim_id) for ln in entry.lines] == [
        (payer, 10_800_000, None, None),
        ("refunds_payable", -10_800_000, three, late),
    ]
    assert app.reconcile_books(POOL).ok


def test_a_refunding_denial_waits_for_the_pool_before_it_changes_the_member(app, tmp_path, db_url):
    """The denial ends the membership and then posts the refund, which needs the pool's lock. A
    sharing run holds that lock while it waits for the members table: the denial takes the pool's
    lock before it changes the member, so it never holds the members table while waiting for the run
    (which would wait for it: a deadlock PostgreSQL breaks by failing one of them)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks matter on PostgreSQL; SQLite lets one transaction write at a time")
    from pg_locks import held_locks, in_a_thread, until_done_or_waiting
    from sqlalchemy import text

    from mutualaid.pools import get_pool, lock_pool

    _, _, three, _ = _postpaid_two_periods(app, tmp_path)
    late = _claim(app, three, "2026-04-10", "2026-05-30", "stroke_sequelae")  # refused, refunded
    app.close()
    with app.transaction() as session:
        lock_pool(session, get_pool(session, app.plugins, POOL))  # as a sharing run does first
        thread, outcome = in_a_thread(lambda: app.reject_claim(late, "diagnosed in the waiting period"))
        waiting = until_done_or_waiting(thread, db_url)
        assert waiting is not None, ("the denial did not wait for the pool's lock", outcome)
        assert "RowExclusiveLock" not in held_locks(db_url, waiting, "members")  # it changed no member yet
        session.execute(text("LOCK TABLE members IN SHARE ROW EXCLUSIVE MODE"))  # what a run takes next
    thread.join(60)
    assert "error" not in outcome, outcome
    assert app.member(POOL, three).status == "exited"
    (claim,) = app.claims(POOL, status="rejected")
    assert claim.refund == Decimal("81000.00")
