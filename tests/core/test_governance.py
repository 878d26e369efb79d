"""Claims decided in public (``[claims] governance = "public"``) through the CLI on a real pool:
investigation, notes and costs, proposal, public notice, objections and disputes, the decision.

Every step records who took it; every refused step is one line and leaves the claims, their
history, their objections and the ledger as they were.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from mutualaid.claims import governance
from mutualaid.db.models import Claim, ClaimCost, ClaimNote, ClaimObjection, ClaimStatusChange, LedgerEntry, LedgerLine

POOL = "js-truckers"
JOINED = date(2026, 10, 1)
TABLES = (Claim, ClaimStatusChange, ClaimObjection, ClaimNote, ClaimCost, LedgerEntry, LedgerLine)
BENEFIT = "accidental death on 2026-11-01: benefit 300,000.00 CNY (the pool's accidental death benefit)"


class Clock:
    """The pool's today (``MUTUALAID_TODAY``), moved by the tests: the notice window is counted in
    the pool's days, and no step takes a day after today."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.today = date(2026, 11, 10)

    @property
    def today(self) -> date:
        return self._today

    @today.setter
    def today(self, day: date) -> None:
        self._today = day
        self._monkeypatch.setenv("MUTUALAID_TODAY", day.isoformat())


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


def make_pool(app: Any, truckers_pool: Any, make_driver: Any, **claims: Any) -> str:
    app.create_pool(truckers_pool(claims={"governance": "public", "objections": "review", **claims}))
    for n in range(1, 6):
        app.join(POOL, **make_driver(n, joined_on=JOINED))
    return POOL


@pytest.fixture
def pool(app, truckers_pool, make_driver, clock) -> str:
    """A public pool (objections go back to review) with drivers #1 to #5, and claim #1 of member #2 filed."""
    make_pool(app, truckers_pool, make_driver)
    file_death(app)
    return POOL


def file_death(app: Any, member: int = 2, by: str | None = "张登记") -> int:
    return app.file_claim(
        POOL, member, event_kind="accidental_death", event_date="2026-11-01", filed_on="2026-11-05", filed_by=by
    ).id


def snapshot(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    with app.transaction() as s:
        tables = [model.__table__ for model in TABLES]
        return {t.name: [tuple(r) for r in s.execute(select(t).order_by(*t.primary_key))] for t in tables}


def ok(invoke: Any, *args: str) -> list[str]:
    result = invoke("claim", *args)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def refused(app: Any, invoke: Any, message: str, *args: str) -> None:
    """The command is refused with exactly ``message`` and changes nothing."""
    before = snapshot(app)
    result = invoke("claim", *args)
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: {message}\n"
    assert snapshot(app) == before


def to_notice(invoke: Any, claim: int = 1, *, approve: bool = True) -> None:
    ok(invoke, "investigate", str(claim), "--by", "李调查")
    decision = ["--approve"] if approve else ["--reject", "--reason", "死亡证明与事故认定不符"]
    ok(invoke, "propose", str(claim), *decision, "--by", "李调查")
    ok(invoke, "publish", str(claim), "--by", "王公示")


def rejected_at(app: Any, moment: datetime, claim: int = 1) -> None:
    """Say the claim was decided at ``moment`` (the tests' days are not the clock's)."""
    with app.transaction() as s:
        s.execute(update(Claim).where(Claim.id == claim).values(decided_at=moment))


def history(app: Any, claim: int = 1) -> list[tuple[str, str | None, str]]:
    _, steps = app.claim_history(claim)
    return [(s.status.value, s.actor, s.cause) for s in steps]


# -- the happy path -----------------------------------------------------------------------------------


def test_a_claims_public_life_through_the_cli(app, pool, invoke, clock):
    assert ok(invoke, "investigate", "1", "--by", "李调查") == [
        "claim #1 is under review by 李调查",
        "next: mutualaid claim propose 1 --approve|--reject --by NAME",
    ]
    assert ok(invoke, "note", "1", "--document", "事故认定书 第123号", "--by", "李调查") == [
        "added a document to claim #1's investigation file: 事故认定书 第123号"
    ]
    assert ok(invoke, "note", "1", "--note", "visited the family", "--by", "李调查") == [
        "added a note to claim #1's investigation file: visited the family"
    ]
    assert ok(invoke, "propose", "1", "--approve", "--by", "李调查") == [
        "proposed to pay claim #1: 300,000.00 CNY",
        f"  - {BENEFIT}",
        "next: mutualaid claim publish 1 --by NAME",
    ]
    assert ok(invoke, "withdraw", "1", "--by", "李调查") == [
        "withdrew the proposal for claim #1: it is under review again"
    ]
    ok(invoke, "propose", "1", "--approve", "--by", "李调查")
    assert ok(invoke, "publish", "1", "--by", "王公示") == [
        "published claim #1: members may object until 2026-11-13; it can be decided from 2026-11-14"
    ]
    assert ok(invoke, "object", "1", "--member", "3", "--reason", "he was seen after the crash") == [
        "recorded member #3's objection to claim #1: he was seen after the crash"
    ]
    assert ok(invoke, "object", "1", "--member", "4", "--reason", "same", "--on", "2026-11-09") == [
        "recorded member #4's objection to claim #1: same"
    ]
    assert app.claim(1).open_objections == 2
    assert ok(invoke, "reinvestigate", "1", "--by", "李调查") == [
        "sent claim #1 back to review; its objections are resolved"
    ]
    ok(invoke, "propose", "1", "--approve", "--by", "李调查")
    clock.today = date(2026, 11, 11)
    ok(invoke, "publish", "1", "--by", "王公示")
    clock.today = date(2026, 11, 15)
    assert ok(invoke, "decide", "1", "--by", "赵决定") == [
        "approved claim #1 after public notice: 300,000.00 CNY, to be shared in the next sharing run"
    ]
    assert history(app) == [
        ("filed", "张登记", "filed"),
        ("under-review", "李调查", "investigation opened"),
        ("proposed", "李调查", f"proposed to pay 300,000.00 CNY: {BENEFIT}"),
        ("under-review", "李调查", "proposal withdrawn"),
        ("proposed", "李调查", f"proposed to pay 300,000.00 CNY: {BENEFIT}"),
        ("in-notice", "王公示", "published: objections until 2026-11-13"),
        ("objected", "member #3", "objected to by member #3: he was seen after the crash"),
        ("under-review", "李调查", "sent back to review (2 objections resolved)"),
        ("proposed", "李调查", f"proposed to pay 300,000.00 CNY: {BENEFIT}"),
        ("in-notice", "王公示", "published: objections until 2026-11-14"),
        ("approved", "赵决定", f"decided after public notice: {BENEFIT}"),
    ]
    with app.transaction() as s:
        objections = s.execute(
            select(
                ClaimObjection.member_id,
                ClaimObjection.kind,
                ClaimObjection.filed_on,
                ClaimObjection.status,
                ClaimObjection.resolution,
            ).order_by(ClaimObjection.id)
        ).all()
    assert [tuple(o) for o in objections] == [
        (3, "objection", date(2026, 11, 10), "resolved", "sent back to review by 李调查"),
        (4, "objection", date(2026, 11, 9), "resolved", "sent back to review by 李调查"),
    ]
    detail = app.claim(1)
    assert (detail.filed_by, detail.reviewed_by, detail.notice_closes_on, detail.open_objections) == (
        "张登记",
        "李调查",
        date(2026, 11, 14),
        0,
    )
    assert detail.proposal == {
        "decision": "approve",
        "benefit_minor": 30_000_000,
        "cap_minor": 30_000_000,
        "reasons": [BENEFIT],
        "by": "李调查",
    }
    assert [(n.kind.value, n.text, n.added_by) for n in detail.notes] == [
        ("document", "事故认定书 第123号", "李调查"),
        ("note", "visited the family", "李调查"),
    ]


def test_the_history_shows_who_took_each_step(app, pool, invoke, clock):
    to_notice(invoke)
    lines = ok(invoke, "history", "1")
    assert lines[1].split() == ["when", "(UTC)", "status", "by", "why"]
    assert [line.split()[2:5] for line in lines[3:]] == [
        ["filed", "张登记", "filed"],
        ["under-review", "李调查", "investigation"],
        ["proposed", "李调查", "proposed"],
        ["in-notice", "王公示", "published:"],
    ]
    data = json.loads(invoke("claim", "history", "1", "--json").stdout)
    assert [(h["status"], h["actor"]) for h in data["history"]] == [
        ("filed", "张登记"),
        ("under-review", "李调查"),
        ("proposed", "李调查"),
        ("in-notice", "王公示"),
    ]
    shown = json.loads(invoke("claim", "show", "1", "--json").stdout)
    assert {k: shown[k] for k in ("status", "filed_by", "reviewed_by", "notice_closes_on", "open_objections")} == {
        "status": "in-notice",
        "filed_by": "张登记",
        "reviewed_by": "李调查",
        "notice_closes_on": "2026-11-13",
        "open_objections": 0,
    }
    assert ok(invoke, "show", "1") == [
        "claim #1 (in-notice): member #2, accidental_death on 2026-11-01, benefit -",
        "filed on 2026-11-05 by 张登记; reviewed by 李调查",
        "proposal: pay 300,000.00 CNY (proposed by 李调查)",
        "notice window closes on 2026-11-13",
        "open objections: 0; investigation costs: 0.00 CNY",
    ]


def test_a_proposed_rejection_is_decided_and_can_be_disputed(app, pool, invoke, clock):
    to_notice(invoke, approve=False)
    clock.today = date(2026, 11, 20)
    assert ok(invoke, "decide", "1", "--by", "赵决定", "--on", "2026-11-14") == [
        "rejected claim #1 after public notice: 死亡证明与事故认定不符"
    ]
    assert history(app)[-1] == ("rejected", "赵决定", "decided after public notice: 死亡证明与事故认定不符")
    rejected_at(app, datetime(2026, 11, 20, 1, tzinfo=UTC))
    clock.today = date(2026, 11, 23)
    assert ok(invoke, "dispute", "1", "--reason", "证明是真的") == [
        "recorded the dispute of claim #1's rejection by member #2: 证明是真的"
    ]
    assert history(app)[-1] == ("objected", "member #2", "rejection disputed by the claimant: 证明是真的")
    assert app.claim(1).objections[0].kind.value == "dispute"


def test_a_dispute_after_the_window_is_refused(app, pool, invoke, clock):
    to_notice(invoke, approve=False)
    clock.today = date(2026, 11, 14)
    ok(invoke, "decide", "1", "--by", "赵决定")
    rejected_at(app, datetime(2026, 11, 13, 17, tzinfo=UTC))  # 14 November, 01:00 in Shanghai
    clock.today = date(2026, 11, 18)
    refused(
        app,
        invoke,
        "claim #1 was rejected on 2026-11-14; a dispute had to be made within 3 days, by 2026-11-17",
        "dispute",
        "1",
        "--reason",
        "too late",
    )


# -- costs ---------------------------------------------------------------------------------------------


def test_investigation_costs_are_paid_from_the_fee(app, pool, invoke):
    ok(invoke, "investigate", "1", "--by", "李调查")
    assert ok(
        invoke, "cost", "1", "350.50", "--description", "travel to Xuzhou", "--on", "2026-11-06", "--by", "李调查"
    ) == [
        "recorded an investigation cost of claim #1: 350.50 CNY on 2026-11-06 (travel to Xuzhou), paid from the "
        "operator's fee"
    ]
    ok(invoke, "cost", "1", "0.01", "--description", "a stamp", "--on", "2026-11-10", "--by", "李调查")
    balances = app.ledger_balances(POOL)
    assert (balances["fee_income"], balances["cash"]) == (35_051, -35_051)
    with app.transaction() as s:
        lines = s.execute(
            select(
                LedgerEntry.kind,
                LedgerEntry.posted_on,
                LedgerLine.account,
                LedgerLine.amount_minor,
                LedgerLine.claim_id,
            )
            .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
            .order_by(LedgerEntry.seq, LedgerLine.line_no)
        ).all()
    assert [tuple(line) for line in lines] == [
        ("investigation", date(2026, 11, 6), "fee_income", 35_050, 1),
        ("investigation", date(2026, 11, 6), "cash", -35_050, 1),
        ("investigation", date(2026, 11, 10), "fee_income", 1, 1),
        ("investigation", date(2026, 11, 10), "cash", -1, 1),
    ]
    assert app.claim(1).investigation_costs == app.claim(1).costs[0].amount + app.claim(1).costs[1].amount
    assert str(app.claim(1).investigation_costs) == "350.51"
    result = invoke("ledger", "verify", POOL)
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output
    # cash is what came in (nothing yet) less what investigations cost, and the fee paid more than it
    # earned: both past zero, so the books reconcile with the records but do not balance
    books = invoke("ledger", "balance", POOL)
    assert books.exit_code == 1, books.output
    lines = books.output.splitlines()
    assert (
        "OVERDRAWN: cash is -350.51 CNY; cash cannot go below 0: nothing is paid out of money the pool does not hold"
        in lines
    )
    assert (
        "OVERDRAWN: fee_income is 350.51 CNY; fee_income cannot go above 0: the operator cannot take more fee than it "
        "earned"
    ) in lines
    assert lines[-1] == "the books do NOT reconcile"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("0", "--on", "2026-11-06"), "amount: must be above 0 (0 given)"),
        (("1.005", "--on", "2026-11-06"), "amount: 1.005 CNY has more than 2 decimal places"),
        (
            ("10", "--on", "2026-11-11"),
            "--on: 2026-11-11 is in the future (today is 2026-11-10 in the pool's time zone)",
        ),
        (("10", "--on", "2026-11-04"), "--on: 2026-11-04 is before claim #1 was filed on 2026-11-05"),
    ],
)
def test_a_wrong_cost_is_refused(app, pool, invoke, args, message):
    ok(invoke, "investigate", "1", "--by", "李调查")
    before = snapshot(app)
    result = invoke("claim", "cost", "1", *args, "--description", "travel", "--by", "李调查")
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert snapshot(app) == before


# -- refusals ------------------------------------------------------------------------------------------


def test_steps_out_of_order_are_refused(app, pool, invoke, clock):
    refused(
        app,
        invoke,
        "claim #1 is already filed; only an under-review claim can be proposed",
        "propose",
        "1",
        "--approve",
        "--by",
        "X",
    )
    refused(
        app, invoke, "claim #1 is already filed; only a proposed claim can be published", "publish", "1", "--by", "X"
    )
    refused(
        app,
        invoke,
        "claim #1 is already filed; only an in-notice claim can be objected to",
        "object",
        "1",
        "--member",
        "3",
        "--reason",
        "r",
    )
    ok(invoke, "investigate", "1", "--by", "李调查")
    refused(
        app,
        invoke,
        "claim #1 is already under-review; only a filed claim can be reviewed; an under-review claim can be proposed",
        "investigate",
        "1",
        "--by",
        "X",
    )
    refused(
        app,
        invoke,
        "claim #1 is already under-review; only an in-notice claim can be approved; an under-review claim can be proposed",
        "decide",
        "1",
        "--by",
        "X",
    )
    refused(
        app,
        invoke,
        "claim #1 is already under-review; only a rejected claim can be objected to; an under-review claim can be proposed",
        "dispute",
        "1",
        "--reason",
        "r",
    )


def test_the_notice_window_objections_and_members_are_checked(app, pool, invoke, clock):
    to_notice(invoke)
    refused(
        app,
        invoke,
        "claim #1's notice window closes on 2026-11-13; it can be decided from 2026-11-14",
        "decide",
        "1",
        "--by",
        "赵决定",
    )
    refused(
        app,
        invoke,
        "member #2 is the claimant of claim #1 and cannot object to it; a claimant disputes a rejection ('mutualaid claim dispute')",
        "object",
        "1",
        "--member",
        "2",
        "--reason",
        "r",
    )
    refused(
        app,
        invoke,
        "pool 'js-truckers' has no member '99' (give a member number or an ID number)",
        "object",
        "1",
        "--member",
        "99",
        "--reason",
        "r",
    )
    clock.today = date(2026, 11, 14)
    refused(
        app,
        invoke,
        "claim #1's notice window closed on 2026-11-13; an objection had to be made by then",
        "object",
        "1",
        "--member",
        "3",
        "--reason",
        "r",
    )
    clock.today = date(2026, 11, 13)
    ok(invoke, "object", "1", "--member", "3", "--reason", "r")
    clock.today = date(2026, 11, 14)
    refused(
        app,
        invoke,
        "claim #1 is already objected; only an in-notice claim can be approved; an objected claim can be reviewed or sent to a jury",
        "decide",
        "1",
        "--by",
        "赵决定",
    )


def test_a_member_who_left_cannot_object(app, pool, invoke, clock):
    to_notice(invoke)
    result = invoke("member", "exit", POOL, "5", "--on", "2026-11-10")
    assert result.exit_code == 0, result.output
    refused(
        app,
        invoke,
        "member #5 is exited; only a live member of pool 'js-truckers' can object to claim #1",
        "object",
        "1",
        "--member",
        "5",
        "--reason",
        "r",
    )


def test_by_is_required_and_checked(app, pool, invoke):
    refused(
        app,
        invoke,
        "--by: name who takes this step (it is recorded in the claim's history)",
        "investigate",
        "1",
        "--by",
        "  ",
    )
    refused(app, invoke, "--by: a name of at most 100 characters (101 given)", "investigate", "1", "--by", "x" * 101)
    result = invoke("claim", "investigate", "1")
    assert result.exit_code == 2
    assert "Missing option '--by'" in result.output


def test_four_eyes(app, truckers_pool, make_driver, invoke, clock):
    make_pool(app, truckers_pool, make_driver, four_eyes=True)
    result = invoke(
        "claim", "file", POOL, "2", "--kind", "accidental_death", "--date", "2026-11-01", "--filed-on", "2026-11-05"
    )
    assert result.exit_code == 1
    assert "--by: pool 'js-truckers' decides claims with four eyes; name who files the claim" in result.output
    filed = ok(
        invoke,
        *("file", POOL, "2", "--kind", "accidental_death", "--date", "2026-11-01", "--filed-on", "2026-11-05"),
        *("--by", "张登记"),
    )
    assert filed == [
        "filed claim #1: member #2, accidental_death on 2026-11-01",
        "next: mutualaid claim investigate 1 --by NAME",  # a public pool's next step
    ]
    to_notice(invoke)
    clock.today = date(2026, 11, 14)
    message = (
        "pool 'js-truckers' decides with four eyes: claim #1 was filed by 张登记 and reviewed by 李调查; someone else "
        "decides it"
    )
    refused(app, invoke, message, "decide", "1", "--by", "张登记")
    refused(app, invoke, message, "decide", "1", "--by", "李调查")
    ok(invoke, "decide", "1", "--by", "赵决定")


def test_a_jury_pool_sends_objections_to_a_jury(app, truckers_pool, make_driver, invoke, clock):
    make_pool(app, truckers_pool, make_driver, objections="jury")
    file_death(app)
    to_notice(invoke)
    ok(invoke, "object", "1", "--member", "3", "--reason", "r")
    refused(
        app,
        invoke,
        "pool 'js-truckers' sends objections to a member jury: claim #1 is decided by one ('mutualaid jury draw 1'), "
        "not reviewed again",
        "reinvestigate",
        "1",
        "--by",
        "李调查",
    )


def test_resolve_objections_counts_what_it_resolved(app, pool, invoke):
    to_notice(invoke)
    ok(invoke, "object", "1", "--member", "3", "--reason", "r")
    ok(invoke, "object", "1", "--member", "4", "--reason", "s")
    with app.transaction() as s:
        claim = s.get(Claim, 1)
        assert governance.resolve_objections(s, claim, "the jury decided") == 2
        assert governance.resolve_objections(s, claim, "again") == 0
    assert {(o.status.value, o.resolution) for o in app.claim(1).objections} == {("resolved", "the jury decided")}


# -- a direct pool -------------------------------------------------------------------------------------


def test_a_direct_pool_is_unchanged(app, truckers_pool, make_driver, invoke):
    app.create_pool(truckers_pool())
    for n in range(1, 4):
        app.join(POOL, **make_driver(n, joined_on=JOINED))
    file_death(app, by=None)
    message = (
        "pool 'js-truckers' decides its claims directly: the operator approves or rejects claim #1 ('mutualaid claim "
        "approve' or 'reject'); a pool with [claims] governance = \"public\" investigates, publishes and decides them "
        "in public"
    )
    refused(app, invoke, message, "investigate", "1", "--by", "李调查")
    lines = ok(invoke, "approve", "1")
    assert lines[0] == "approved claim #1: 300,000.00 CNY, to be shared in the next sharing run"
    history_lines = ok(invoke, "history", "1")
    assert history_lines[1].split() == ["when", "(UTC)", "status", "why"]
    assert history(app) == [("filed", None, "filed"), ("approved", None, f"approved: {BENEFIT}")]
