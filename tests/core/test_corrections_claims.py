"""Amending and withdrawing a claim before it is shared (``claim amend``, ``claim withdraw``): the
amended claim checked as a filing is, the old and new values kept with who and why, a decided or
proposed claim sent back to be decided again (through its notice window again in a public pool), a
withdrawal final with its investigation costs kept -- and every refusal one line, exit 1, the
database unchanged."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from weighted_pool import *  # noqa: F403 (its fixtures: app, run_cli, test_plugins, today)

from mutualaid import MutualAid, StateError, ValidationError
from mutualaid.db.models import Claim, ClaimAmendment, ClaimObjection, ClaimStatusChange, LedgerEntry, Pool
from mutualaid.ledger import reconcile_books, verify_ledger
from mutualaid.testing import resident_id

POOL = "weighted"

_people = itertools.count(1)


def _pool(app: MutualAid, *, claims: dict[str, Any] | None = None) -> list[int]:
    data: dict[str, Any] = {
        "key": POOL,
        "name": "Weighted",
        "cohort": "weighted-test",
        "sharing": {"management_fee_rate": "0"},
    }
    if claims:
        data["claims"] = claims
    app.create_pool(data)
    born = date(1960, 1, 1) + timedelta(days=next(_people))
    return [
        app.join(
            POOL, id_number=resident_id(born, n), name=f"M{n}", birth_date=born, joined_on="2027-03-01", attributes={}
        ).id
        for n in range(4)
    ]


def _file(app: MutualAid, member: int, amount: str = "100.00", day: str = "2027-11-20", **kw: Any) -> int:
    return app.file_claim(
        POOL, member, event_kind="need", event_date=day, filed_on="2027-11-25", details={"amount": amount}, **kw
    ).id


def _snapshot(app: MutualAid) -> dict[str, Any]:
    with app.reading() as s:
        return {
            "claims": [
                (
                    c.id,
                    c.status,
                    c.event_kind,
                    c.event_date,
                    c.details_json,
                    c.requested_minor,
                    c.benefit_minor,
                    c.sharing_run_id,
                )
                for c in s.scalars(select(Claim).order_by(Claim.id))
            ],
            "history": s.scalar(select(func.count()).select_from(ClaimStatusChange)),
            "amendments": s.scalar(select(func.count()).select_from(ClaimAmendment)),
            "entries": s.scalar(select(func.count()).select_from(LedgerEntry)),
            "heads": s.execute(select(Pool.ledger_seq, Pool.ledger_head)).all(),
        }


def _refused(run_cli, app, args: list[str], message: str) -> None:
    before = _snapshot(app)
    out = run_cli(*args)
    assert (out.exit_code, out.output) == (1, f"Error: {message}\n")
    assert _snapshot(app) == before


def _books_ok(app: MutualAid) -> None:
    with app.reading() as s:
        pool_id = app.pool(POOL).id
        assert verify_ledger(s, pool_id).ok
        assert reconcile_books(s, pool_id).ok


# -- amending ---------------------------------------------------------------------------------------


def test_an_amended_filed_claim_keeps_its_old_values_and_is_decided_on_the_new_ones(app, run_cli):
    members = _pool(app)
    claim = _file(app, members[0])
    out = run_cli(
        "claim",
        "amend",
        POOL,
        str(claim),
        "--reason",
        "the receipt says 90",
        "--event-date",
        "2027-11-21",
        "--detail",
        "amount=90.00",
        "--by",
        "王会计",
    )
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == [
        f'amended claim #{claim}: event_date 2027-11-20 -> 2027-11-21; details {{"amount": "100.00"}} -> {{"amount": "90.00"}}'
    ]
    record, history = app.claim_history(claim)
    assert (record.status.value, record.event_date, record.details) == (
        "filed",
        date(2027, 11, 21),
        {"amount": "90.00"},
    )
    assert [(h.status.value, h.actor, h.cause) for h in history] == [
        ("filed", None, "filed"),
        (
            "filed",
            "王会计",
            'amended: event_date 2027-11-20 -> 2027-11-21; details {"amount": "100.00"} -> {"amount": "90.00"} '
            "(the receipt says 90)",
        ),
    ]
    [amendment] = app.claim_amendments(claim)
    assert amendment.changes == {
        "event_date": ["2027-11-20", "2027-11-21"],
        "details": [{"amount": "100.00"}, {"amount": "90.00"}],
    }
    assert (amendment.actor, amendment.reason, amendment.sent_back) == ("王会计", "the receipt says 90", False)
    approved, _ = app.approve_claim(claim)
    assert approved.benefit == Decimal("90.00")


def test_an_approved_claim_amended_is_decided_again_and_shared_at_its_new_benefit(app, run_cli):
    members = _pool(app)
    claim = _file(app, members[0])
    app.approve_claim(claim)
    record, amendment = app.amend_claim(claim, reason="a second receipt", details={"amount": "120.00"}, by="王会计")
    assert (record.status.value, record.benefit, amendment.status_before.value, amendment.status_after.value) == (
        "filed",
        None,
        "approved",
        "filed",
    )
    _, history = app.claim_history(claim)
    assert [(h.status.value, h.cause) for h in history[-2:]] == [
        ("filed", 'amended: details {"amount": "100.00"} -> {"amount": "120.00"} (a second receipt)'),
        ("filed", "amended (a second receipt): to be decided again"),
    ]
    assert app.approve_claim(claim)[0].benefit == Decimal("120.00")
    run = app.share(POOL, "2027-12")
    assert (run.aid_minor, run.charged_minor, run.members) == (12000, 12000, 4)
    _books_ok(app)


def test_benefit_asks_for_less_and_never_above_the_cohorts_cap(app, run_cli):
    members = _pool(app)
    claim = _file(app, members[0])
    app.amend_claim(claim, reason="the member asks for 60 only", benefit="60")
    record, decision = app.review_claim(claim)
    assert (record.requested, decision.amount) == (Decimal("60.00"), Decimal("60.00"))
    assert decision.reasons[-1] == "the claim asks for 60.00 CNY (amended)"
    approved, _ = app.approve_claim(claim)
    assert approved.benefit == Decimal("60.00")
    other = _file(app, members[1])
    _refused(
        run_cli,
        app,
        ["claim", "amend", POOL, str(other), "--reason", "x", "--benefit", "100.01"],
        f"--benefit: 100.01 CNY is above the cohort's cap for claim #{other} (100.00 CNY)",
    )
    _refused(
        run_cli,
        app,
        ["claim", "amend", POOL, str(other), "--reason", "x", "--benefit", "0"],
        "--benefit: must be above 0 (0 given)",
    )
    _refused(
        run_cli,
        app,
        ["claim", "amend", POOL, str(other), "--reason", "x", "--benefit", "1.005"],
        "--benefit: 1.005 CNY has more than 2 decimal places",
    )


def test_the_amended_claim_is_checked_by_every_rule_of_a_filing(app, run_cli):
    members = _pool(app)
    first = _file(app, members[0], day="2027-11-20")
    claim = _file(app, members[0], day="2027-11-22")
    amend = ["claim", "amend", POOL, str(claim), "--reason", "typo"]
    _refused(
        run_cli,
        app,
        [*amend, "--event-date", "2027-11-20"],
        f"date: member #{members[0]} already has claim #{first} (filed) for need on 2027-11-20; the same event is "
        f"claimed once (see 'mutualaid claim show {first}')",
    )
    _refused(
        run_cli,
        app,
        [*amend, "--event-date", "2027-11-26"],
        "date: the event date 2027-11-26 is after the filing date 2027-11-25",
    )
    _refused(
        run_cli,
        app,
        [*amend, "--event-date", "2027-02-28"],
        f"date: the event date 2027-02-28 is before member #{members[0]} joined (2027-03-01)",
    )
    _refused(
        run_cli,
        app,
        [*amend, "--kind", "flood"],
        "kind: 'flood' is not an event of cohort 'weighted-test'; use one of need",
    )
    _refused(
        run_cli,
        app,
        [*amend, "--event-date", "2027-13-01"],
        "date: event date '2027-13-01' is not a date; write it as YYYY-MM-DD",
    )
    # Its own date is not a duplicate of itself.
    app.amend_claim(claim, reason="same day, new description", description="the hospital bill")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "claim #{claim}: nothing to amend; give --event-date, --kind, --benefit, --detail or --description"),
        (["--event-date", "2027-11-20"], "claim #{claim}: nothing changes; the values given are the claim's own"),
    ],
)
def test_an_amendment_that_changes_nothing_is_refused(app, run_cli, extra, message):
    members = _pool(app)
    claim = _file(app, members[0])
    _refused(run_cli, app, ["claim", "amend", POOL, str(claim), "--reason", "x", *extra], message.format(claim=claim))


def test_an_amendment_needs_a_reason_and_the_claims_own_pool(app, run_cli):
    members = _pool(app)
    claim = _file(app, members[0])
    _refused(
        run_cli,
        app,
        ["claim", "amend", POOL, str(claim), "--detail", "amount=5"],
        "--reason: an amendment needs a reason (it is kept in the claim's history)",
    )
    app.create_pool({"key": "other", "name": "Other", "cohort": "weighted-test"})
    _refused(
        run_cli,
        app,
        ["claim", "amend", "other", str(claim), "--reason", "x", "--detail", "amount=5"],
        f"pool 'other' has no claim #{claim} (it is a claim of pool 'weighted')",
    )
    _refused(
        run_cli,
        app,
        ["claim", "amend", POOL, "99999999999999999999", "--reason", "x"],
        "CLAIM: '99999999999999999999' is not a claim number",
    )
    _refused(
        run_cli,
        app,
        ["claim", "amend", POOL, "999", "--reason", "x"],
        "no claim #999; 'mutualaid claim list POOL' shows the claims",
    )


def test_a_shared_claim_is_corrected_by_voiding_its_run_first(app, run_cli):
    members = _pool(app)
    claim = _file(app, members[0])
    app.approve_claim(claim)
    run = app.share(POOL, "2027-12")
    message = (
        f"claim #{claim} was shared in period 2027-12 (run #{run.run_id}) and cannot be {{verb}}; to correct a "
        "shared claim, void its run first ('mutualaid share void weighted --period 2027-12 --reason TEXT', before "
        "the run's deduction day), then correct the claim"
    )
    _refused(
        run_cli,
        app,
        ["claim", "amend", POOL, str(claim), "--reason", "x", "--detail", "amount=5"],
        message.format(verb="amended"),
    )
    _refused(run_cli, app, ["claim", "withdraw", POOL, str(claim), "--reason", "x"], message.format(verb="withdrawn"))
    app.void_run(POOL, "2027-12", reason="its amount was wrong")
    record, amendment = app.amend_claim(claim, reason="its amount was wrong", details={"amount": "80.00"})
    assert (amendment.status_before.value, record.status.value) == ("approved", "filed")
    app.approve_claim(claim)
    again = app.share(POOL, "2027-12")
    assert (again.aid_minor, again.charged_minor) == (8000, 8000)
    _books_ok(app)


# -- public governance ------------------------------------------------------------------------------


def _public(app: MutualAid) -> tuple[list[int], int]:
    members = _pool(app, claims={"governance": "public", "notice_window_days": 3, "four_eyes": False})
    claim = _file(app, members[0], filed_by="张三")
    app.investigate_claim(claim, by="李调查")
    app.propose_claim(claim, approve=True, by="李调查")
    app.publish_claim(claim, by="王公示")
    return members, claim


def test_an_amended_claim_in_public_notice_goes_through_its_notice_window_again(app, monkeypatch):
    members, claim = _public(app)
    app.object_to_claim(claim, member=members[2], reason="the bill is for someone else")
    record, amendment = app.amend_claim(claim, reason="the right bill", details={"amount": "70.00"}, by="李调查")
    assert (amendment.status_before.value, record.status.value) == ("objected", "under-review")
    detail = app.claim(claim)
    assert (detail.proposal, detail.notice_closes_on, detail.open_objections) == (None, None, 0)
    with app.reading() as s:
        assert s.scalar(select(ClaimObjection.resolution)) == "claim amended (the right bill): sent back to review"
    app.propose_claim(claim, approve=True, by="李调查")
    app.publish_claim(claim, by="王公示")
    with pytest.raises(StateError, match="notice window closes on 2027-12-13"):
        app.decide_claim(claim, by="赵决定")
    monkeypatch.setenv("MUTUALAID_TODAY", "2027-12-14")
    decided = app.decide_claim(claim, by="赵决定")
    assert (decided.status.value, decided.benefit) == ("approved", Decimal("70.00"))
    # Approved in public, then amended: proposed and published again.
    record, amendment = app.amend_claim(claim, reason="a third bill", details={"amount": "75.00"}, by="李调查")
    assert (amendment.status_before.value, record.status.value, record.benefit) == ("approved", "under-review", None)


# -- withdrawing ------------------------------------------------------------------------------------


def test_a_withdrawn_claim_is_final_and_its_investigation_costs_stay(app, run_cli):
    members, claim = _public(app)
    app.add_claim_cost(claim, amount="35.50", description="a visit", by="李调查")
    out = run_cli("claim", "withdraw", POOL, str(claim), "--reason", "the member recovered the money", "--by", "张三")
    assert (out.exit_code, out.output) == (0, f"withdrew claim #{claim} (member #{members[0]}, need on 2027-11-20)\n")
    record, history = app.claim_history(claim)
    assert record.status.value == "withdrawn"
    assert (history[-1].status.value, history[-1].actor, history[-1].cause) == (
        "withdrawn",
        "张三",
        "withdrawn: the member recovered the money",
    )
    assert app.claim(claim).investigation_costs == Decimal("35.50")
    with app.reading() as s:
        assert verify_ledger(s, app.pool(POOL).id).ok
        assert s.scalar(select(func.count()).where(LedgerEntry.kind == "investigation")) == 1
    assert app.claims(POOL, status="withdrawn") == [record]
    message = f"claim #{claim} was withdrawn and cannot be {{}}; file a new claim ('mutualaid claim file')"
    _refused(run_cli, app, ["claim", "withdraw", POOL, str(claim), "--reason", "again"], message.format("withdrawn"))
    _refused(
        run_cli,
        app,
        ["claim", "amend", POOL, str(claim), "--reason", "x", "--detail", "amount=1"],
        message.format("amended"),
    )
    # The same event can be claimed again.
    assert _file(app, members[0], filed_by="张三") > claim


def test_withdraw_still_takes_back_a_proposal(app, run_cli):
    members = _pool(app, claims={"governance": "public", "notice_window_days": 3, "four_eyes": False})
    claim = _file(app, members[0])
    app.investigate_claim(claim, by="李调查")
    app.propose_claim(claim, approve=True, by="李调查")
    out = run_cli("claim", "withdraw", str(claim), "--by", "李调查")
    assert (out.exit_code, out.output) == (0, f"withdrew the proposal for claim #{claim}: it is under review again\n")
    _refused(
        run_cli,
        app,
        ["claim", "withdraw", str(claim)],
        "--reason: withdrawing a claim needs a reason ('mutualaid claim withdraw POOL CLAIM --reason TEXT'); to take "
        "back a proposal not yet published, 'mutualaid claim withdraw CLAIM --by NAME'",
    )


def test_rejected_claims_and_claims_before_a_jury_are_not_corrected(app, run_cli):
    members = _pool(app)
    claim = _file(app, members[0])
    app.reject_claim(claim, "no receipt")
    _refused(
        run_cli,
        app,
        ["claim", "withdraw", POOL, str(claim), "--reason", "x"],
        f"claim #{claim} was rejected and cannot be withdrawn: a rejection stands; file a new claim with the "
        "corrected facts, or (in a pool deciding in public) the claimant disputes it ('mutualaid claim dispute')",
    )
    with pytest.raises(ValidationError, match="a withdrawal needs a reason"):
        app.withdraw_claim(claim, reason=" ")
