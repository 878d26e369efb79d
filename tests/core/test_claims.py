"""Claims through the API and the CLI on a real database: file, review, approve, reject, list.

Amounts are checked exactly, as Decimal and as integer fen in the claims table; every refused
operation is checked to leave the database as it was.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from mutualaid import NotFoundError, StateError, ValidationError
from mutualaid.claims import approve_claim
from mutualaid.db.models import Charge, Claim, Member, Pool, SharingRun

POOL = "js-truckers"
JOINED = date(2026, 10, 1)
KINDS = "accidental_death, accidental_disability, illness_death"
CIRCUMSTANCES = "drunk_driving, drugged_driving, unlicensed_driving, self_inflicted, criminal_act, racing, overloading"


# -- helpers ------------------------------------------------------------------------------------


def snapshot(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove that an operation changed nothing."""
    with app.transaction() as s:
        tables = [model.__table__ for model in (Pool, Member, Claim, SharingRun, Charge)]
        return {t.name: [tuple(r) for r in s.execute(select(t).order_by(*t.primary_key))] for t in tables}


def stored(app: Any, claim_id: int) -> tuple[Any, ...]:
    """(status, benefit_minor, cap_minor, reasons) as stored."""
    with app.transaction() as s:
        row = s.execute(
            select(Claim.status, Claim.benefit_minor, Claim.cap_minor, Claim.reasons_json).where(Claim.id == claim_id)
        ).one()
    return row.status, row.benefit_minor, row.cap_minor, json.loads(row.reasons_json) if row.reasons_json else None


def member_row(app: Any, member_id: int) -> tuple[str, date | None]:
    with app.transaction() as s:
        row = s.execute(select(Member.status, Member.ended_on).where(Member.id == member_id)).one()
    return row.status, row.ended_on


@pytest.fixture
def pool(app, truckers_pool, make_driver) -> str:
    """A truckers pool with drivers #1 to #4, joined 2026-10-01 (waiting for illness until 2026-12-30)."""
    app.create_pool(truckers_pool())
    for n in range(1, 5):
        app.join(POOL, **make_driver(n, joined_on=JOINED))
    return POOL


def file(app: Any, member: int | str, kind: str, event: str, filed: str = "2027-01-10", **details: str) -> Any:
    return app.file_claim(POOL, member, event_kind=kind, event_date=event, filed_on=filed, details=details)


# -- filing -------------------------------------------------------------------------------------


def test_file_a_claim_through_the_api(app, pool):
    claim = app.file_claim(
        POOL,
        3,
        event_kind="accidental_disability",
        event_date="2026-11-05",
        filed_on="2026-11-06",
        details={"disability_grade": "4", "circumstances": " Overloading , racing"},
        description="  rolled over on the G2  ",
    )
    assert claim.as_dict() == {
        "id": 1,
        "pool": POOL,
        "member_id": 3,
        "event_kind": "accidental_disability",
        "event_date": "2026-11-05",
        "filed_on": "2026-11-06",
        "description": "rolled over on the G2",
        "details": {"disability_grade": 4, "circumstances": ["overloading", "racing"]},
        "status": "filed",
        "benefit": None,
        "cap": None,
        "reasons": [],
        "currency": "CNY",
        "sharing_run_id": None,
        "decided_at": None,
        "funded": None,
        "refund": None,
    }
    assert stored(app, 1) == ("filed", None, None, None)


def test_file_a_claim_through_the_cli(app, pool, invoke, make_driver):
    result = invoke(
        "claim",
        "file",
        POOL,
        make_driver(2)["id_number"],
        "--kind",
        "accidental_death",
        "--date",
        "2026-10-20",
        "--filed-on",
        "2026-10-25",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "filed claim #1: member #2, accidental_death on 2026-10-20\nnext: mutualaid claim review 1\n"
    )
    result = invoke(
        "claim",
        "file",
        POOL,
        "#3",
        "--kind",
        "accidental_disability",
        "--date",
        "2026-10-20",
        "--filed-on",
        "2026-10-25",
        "--detail",
        "disability_grade=2",
        "--json",
    )
    assert json.loads(result.stdout)["details"] == {"disability_grade": 2, "circumstances": []}
    assert [c.member_id for c in app.claims(POOL)] == [2, 3]


@pytest.mark.parametrize(
    ("kind", "event", "filed", "details", "problems"),
    [
        pytest.param(
            "flood",
            "2026-10-20",
            "2026-10-25",
            {},
            [f"kind: 'flood' is not an event of cohort 'truckers'; use one of {KINDS}"],
            id="unknown-kind",
        ),
        pytest.param(
            "accidental_death",
            "2026-10-26",
            "2026-10-25",
            {},
            ["date: the event date 2026-10-26 is after the filing date 2026-10-25"],
            id="event-after-filing",
        ),
        pytest.param(
            "accidental_death",
            "2026-09-30",
            "2026-10-25",
            {},
            ["date: the event date 2026-09-30 is before member #1 joined (2026-10-01)"],
            id="event-before-joining",
        ),
        pytest.param(
            "accidental_death",
            "2026-10-32",
            "2026-10-25",
            {},
            ["date: event date '2026-10-32' is not a date; write it as YYYY-MM-DD"],
            id="bad-event-date",
        ),
        pytest.param(
            "accidental_death",
            "2026-10-20",
            "25/10/2026",
            {},
            ["filed_on: '25/10/2026' is not a date; write it as YYYY-MM-DD"],
            id="bad-filing-date",
        ),
        pytest.param(
            "accidental_disability",
            "2026-10-20",
            "2026-10-25",
            {"disability_grade": "11"},
            ["detail disability_grade: must be at most 10 ('11' given)"],
            id="grade-11",
        ),
        pytest.param(
            "accidental_disability",
            "2026-10-20",
            "2026-10-25",
            {"disability_grade": "three"},
            ["detail disability_grade: must be a whole number ('three' given)"],
            id="grade-not-a-number",
        ),
        pytest.param(
            "accidental_death",
            "2026-10-20",
            "2026-10-25",
            {"circumstances": "drunk_driving,speeding"},
            [f"detail circumstances: unknown circumstance 'speeding'; known circumstances: {CIRCUMSTANCES}"],
            id="unknown-circumstance",
        ),
        pytest.param(
            "accidental_death",
            "2026-10-20",
            "2026-10-25",
            {"witness": "李四"},
            ["detail witness: unknown key (check its spelling; the known names are disability_grade, circumstances)"],
            id="unknown-detail",
        ),
        pytest.param(
            "flood",
            "2026-10-32",
            "x",
            {"disability_grade": "0", "witness": "李四"},
            [
                f"kind: 'flood' is not an event of cohort 'truckers'; use one of {KINDS}",
                "filed_on: 'x' is not a date; write it as YYYY-MM-DD",
                "date: event date '2026-10-32' is not a date; write it as YYYY-MM-DD",
                "detail disability_grade: must be at least 1 ('0' given)",
                "detail witness: unknown key (check its spelling; the known names are disability_grade, circumstances)",
            ],
            id="all-problems-together",
        ),
        pytest.param(
            "flood",
            "2026-09-01",
            "2026-08-01",
            {},
            [
                f"kind: 'flood' is not an event of cohort 'truckers'; use one of {KINDS}",
                "date: the event date 2026-09-01 is after the filing date 2026-08-01",
                "date: the event date 2026-09-01 is before member #1 joined (2026-10-01)",
            ],
            id="kind-and-both-dates",
        ),
    ],
)
def test_a_bad_claim_is_refused_with_every_problem(app, pool, kind, event, filed, details, problems):
    before = snapshot(app)
    with pytest.raises(ValidationError) as caught:
        app.file_claim(POOL, 1, event_kind=kind, event_date=event, filed_on=filed, details=details)
    assert caught.value.summary == "the claim for member #1 was not filed:"
    assert caught.value.problems == problems
    assert snapshot(app) == before


def test_a_bad_claim_through_the_cli(app, pool, invoke):
    before = snapshot(app)
    result = invoke(
        "claim",
        "file",
        POOL,
        "1",
        "--kind",
        "fire",
        "--date",
        "2026-10-20",
        "--filed-on",
        "2026-10-25",
        "--detail",
        "disability_grade=12",
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the claim for member #1 was not filed:\n"
        f"kind: 'fire' is not an event of cohort 'truckers'; use one of {KINDS}\n"
        "detail disability_grade: must be at most 10 ('12' given)\n"
    )
    result = invoke(
        "claim", "file", POOL, "1", "--kind", "accidental_death", "--date", "2026-10-20", "--detail", "disability_grade"
    )
    assert (result.exit_code, result.stderr) == (1, "Error: --detail 'disability_grade' must look like key=value\n")
    assert snapshot(app) == before


def test_a_claim_for_an_unknown_member(app, pool, invoke):
    result = invoke("claim", "file", POOL, "99", "--kind", "accidental_death", "--date", "2026-10-20")
    assert result.exit_code == 1
    assert result.stderr == "Error: pool 'js-truckers' has no member '99' (give a member number or an ID number)\n"
    with pytest.raises(NotFoundError):
        file(app, 99, "accidental_death", "2026-10-20")
    assert app.claims(POOL) == []


# -- review -------------------------------------------------------------------------------------


def test_review_shows_the_decision_and_changes_nothing(app, pool, invoke):
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25")
    before = snapshot(app)
    result = invoke("claim", "review", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "claim #1 (filed): member #1, accidental_death on 2026-10-20, benefit -\n"
        "decision: payable: benefit 300,000.00 CNY (cap 300,000.00)\n"
        "  - accidental death on 2026-10-20: benefit 300,000.00 CNY (the pool's accidental death benefit)\n"
    )
    claim, decision = app.review_claim(1)
    assert (claim.status, decision.payable, decision.amount, decision.cap, decision.ends_membership) == (
        "filed",
        True,
        Decimal("300000.00"),
        Decimal("300000.00"),
        True,
    )
    assert snapshot(app) == before  # the member is not ended, the claim is not decided


def test_review_of_a_claim_that_cannot_be_paid(app, pool, invoke):
    file(app, 1, "illness_death", "2026-12-30", "2027-01-02")
    before = snapshot(app)
    result = invoke("claim", "review", "1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decision"] == {
        "payable": False,
        "amount": "0",
        "cap": "0",
        "ends_membership": True,
        "refund_contributions": False,
        "reasons": ["died of illness on 2026-12-30, inside the illness waiting period that ends on 2026-12-30"],
    }
    assert snapshot(app) == before


def test_review_of_an_unknown_claim(app, pool, invoke):
    result = invoke("claim", "review", "7")
    assert result.exit_code == 1
    assert result.stderr == "Error: no claim #7; 'mutualaid claim list POOL' shows the claims\n"


# -- approve: exact amounts ---------------------------------------------------------------------


def test_approve_an_accidental_death_pays_300000(app, pool, invoke):
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25")
    result = invoke("claim", "approve", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "approved claim #1: 300,000.00 CNY, to be shared in the next sharing run\n"
        "  - accidental death on 2026-10-20: benefit 300,000.00 CNY (the pool's accidental death benefit)\n"
        "member #1's membership ends on 2026-10-20 (the event ends it): they share no period whose notice day "
        "comes after it\n"
    )
    assert stored(app, 1) == (
        "approved",
        30_000_000,
        30_000_000,
        ["accidental death on 2026-10-20: benefit 300,000.00 CNY (the pool's accidental death benefit)"],
    )
    claim = app.claims(POOL)[0]
    assert (claim.benefit, claim.cap) == (Decimal("300000.00"), Decimal("300000.00"))
    assert member_row(app, 1) == ("deceased", date(2026, 10, 20))


@pytest.mark.parametrize("grade", range(1, 11), ids=[f"grade-{g}" for g in range(1, 11)])
def test_each_disability_grade_pays_its_share_of_300000(app, pool, grade):
    percent = 110 - 10 * grade
    file(app, 2, "accidental_disability", "2026-11-05", "2026-11-06", disability_grade=str(grade))
    claim, decision = app.approve_claim(1)
    assert claim.benefit == decision.amount == Decimal(300_000) * percent / 100
    assert stored(app, 1) == (
        "approved",
        300_000 * percent,
        30_000_000,
        [
            f"accidental disability of grade {grade} on 2026-11-05: benefit {3_000 * percent:,}.00 CNY "
            f"({percent}% of the pool's disability benefit of 300,000.00 CNY for grade {grade})"
        ],
    )
    assert member_row(app, 2) == ("active", None)  # a disability does not end the membership


@pytest.mark.parametrize("circumstance", ["drunk_driving", "drugged_driving", "unlicensed_driving", "self_inflicted"])
def test_an_excluded_circumstance_cannot_be_approved(app, pool, invoke, circumstance):
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25", circumstances=circumstance)
    before = snapshot(app)
    result = invoke("claim", "approve", "1")
    assert result.exit_code == 1
    label = {
        "drunk_driving": "drunk driving",
        "drugged_driving": "driving under the influence of drugs",
        "unlicensed_driving": "driving without a valid licence",
        "self_inflicted": "self-inflicted injury or suicide",
    }[circumstance]
    assert result.stderr == (
        f"Error: claim #1 cannot be approved: the claim reports {label} ({circumstance}), which this pool does not "
        "cover\n"
    )
    assert stored(app, 1) == ("filed", None, None, None)
    assert member_row(app, 1) == ("active", None)
    assert snapshot(app) == before


def test_a_circumstance_the_pool_does_not_exclude_is_paid_and_noted(app, pool):
    file(
        app, 1, "accidental_disability", "2026-11-05", "2026-11-06", disability_grade="10", circumstances="overloading"
    )
    claim, decision = app.approve_claim(1)
    assert claim.benefit == Decimal("30000.00")
    assert decision.reasons[1] == (
        "the claim reports driving a seriously overloaded vehicle (overloading), which this pool does not exclude"
    )


def test_illness_death_on_the_last_day_of_waiting_cannot_be_approved(app, pool, invoke):
    file(app, 1, "illness_death", "2026-12-30", "2027-01-02")  # day 90 after joining on 2026-10-01
    before = snapshot(app)
    result = invoke("claim", "approve", "1")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: claim #1 cannot be approved: died of illness on 2026-12-30, inside the illness waiting period that "
        "ends on 2026-12-30\n"
    )
    with pytest.raises(StateError):
        app.approve_claim(1)
    assert stored(app, 1) == ("filed", None, None, None)
    assert snapshot(app) == before


def test_illness_death_the_day_after_waiting_is_paid(app, pool):
    file(app, 2, "illness_death", "2026-12-31", "2027-01-02")
    claim, decision = app.approve_claim(1)
    assert claim.benefit == Decimal("300000.00")
    assert stored(app, 1) == (
        "approved",
        30_000_000,
        30_000_000,
        [
            "death from illness on 2026-12-31, after the illness waiting period that ended on 2026-12-30: benefit "
            "300,000.00 CNY (the pool's death-from-illness benefit)"
        ],
    )
    assert member_row(app, 2) == ("deceased", date(2026, 12, 31))


def test_an_accident_inside_the_illness_waiting_period_is_covered(app, pool):
    file(app, 1, "accidental_death", "2026-10-02", "2026-10-03")  # the first day of cover
    assert app.approve_claim(1)[0].benefit == Decimal("300000.00")


def test_an_accident_on_the_joining_day_is_not_covered(app, pool, invoke):
    file(app, 1, "accidental_death", "2026-10-01", "2026-10-03")
    result = invoke("claim", "approve", "1")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: claim #1 cannot be approved: the accidental death on 2026-10-01 happened before cover started on "
        "2026-10-02 (the day after joining on 2026-10-01)\n"
    )
    assert stored(app, 1) == ("filed", None, None, None)


# -- states -------------------------------------------------------------------------------------


def test_approving_twice_is_a_state_error(app, pool, invoke):
    file(app, 2, "accidental_disability", "2026-11-05", "2026-11-06", disability_grade="5")
    app.approve_claim(1)
    before = snapshot(app)
    with pytest.raises(StateError) as caught:
        app.approve_claim(1)
    assert str(caught.value) == "claim #1 is already approved; only a filed claim can be approved"
    result = invoke("claim", "approve", "1")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: claim #1 is already approved; only a filed claim can be approved\n",
    )
    result = invoke("claim", "reject", "1", "--reason", "changed our mind")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: claim #1 is already approved; only a filed claim can be rejected\n",
    )
    assert snapshot(app) == before
    assert stored(app, 1)[:2] == ("approved", 18_000_000)


def test_a_rejected_claim_cannot_be_approved(app, pool, invoke):
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25")
    result = invoke("claim", "reject", "1", "--reason", " no death certificate was given ")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "rejected claim #1: no death certificate was given\n"
        "member #1 司机1 stays a member: the pool's rules found this death payable, so rejecting it does not record "
        "the death; if the member did die, run 'mutualaid member exit js-truckers 1 --deceased --on 2026-10-20'\n"
    )
    assert member_row(app, 1) == ("active", None)
    assert stored(app, 1) == ("rejected", 0, None, ["no death certificate was given"])
    before = snapshot(app)
    with pytest.raises(StateError) as caught:
        app.approve_claim(1)
    assert str(caught.value) == "claim #1 is already rejected; only a filed claim can be approved"
    with pytest.raises(StateError, match=r"^claim #1 is already rejected; only a filed claim can be rejected$"):
        app.reject_claim(1, "again")
    assert snapshot(app) == before


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"], ids=["empty", "spaces", "whitespace"])
def test_reject_requires_a_reason(app, pool, invoke, reason):
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25")
    before = snapshot(app)
    with pytest.raises(ValidationError) as caught:
        app.reject_claim(1, reason)
    assert caught.value.problems == ["reason: a rejection needs a reason the member can read"]
    result = invoke("claim", "reject", "1", "--reason", reason)
    assert (result.exit_code, result.stderr) == (1, "Error: reason: a rejection needs a reason the member can read\n")
    assert stored(app, 1) == ("filed", None, None, None)
    assert snapshot(app) == before


def test_reject_without_the_reason_option(app, pool, invoke):
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25")
    result = invoke("claim", "reject", "1")
    assert result.exit_code == 2
    assert "Error: Missing option '--reason'." in result.stderr
    assert stored(app, 1) == ("filed", None, None, None)


# -- a death ends the membership ----------------------------------------------------------------


def test_a_death_ends_the_membership_and_the_next_sharing(app, pool):
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25")
    app.approve_claim(1)
    assert member_row(app, 1) == ("deceased", date(2026, 10, 20))
    result = app.share(POOL, "2026-11")
    # 300,000.00 + 8% fee = 324,000.00 over the 3 living members, exactly 108,000.00 each
    assert (result.members, result.aid_minor, result.fee_minor, result.share_minor) == (
        3,
        30_000_000,
        2_400_000,
        10_800_000,
    )
    with app.transaction() as s:
        charges = s.execute(select(Charge.member_id, Charge.amount_minor).order_by(Charge.member_id)).all()
    assert [tuple(c) for c in charges] == [(2, 10_800_000), (3, 10_800_000), (4, 10_800_000)]
    assert stored(app, 1)[0] == "shared"


def test_no_claim_for_an_event_after_the_membership_ended(app, pool, invoke):
    file(app, 1, "accidental_disability", "2026-10-18", "2026-10-25", disability_grade="9")
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25")
    app.approve_claim(2)
    # an event after the death is refused when it is filed, and nothing is stored
    before = snapshot(app)
    with pytest.raises(ValidationError) as caught:
        file(app, 1, "accidental_disability", "2026-10-21", "2026-10-25", disability_grade="1")
    assert caught.value.problems == ["date: member #1 died on 2026-10-20, before the event date 2026-10-21"]
    assert snapshot(app) == before
    # an event before the death can still be paid, within what the cap leaves (nothing here)
    with pytest.raises(
        StateError,
        match=r"the combined cap of 300,000\.00 CNY per member is used up: 300,000\.00 CNY "
        r"has already been paid to this member",
    ):
        app.approve_claim(1)


# -- the combined cap ---------------------------------------------------------------------------


def test_combined_cap_grade_3_then_accidental_death_pays_60000(app, pool, invoke):
    file(app, 3, "accidental_disability", "2026-10-20", "2026-10-25", disability_grade="3")
    file(app, 3, "accidental_death", "2026-11-20", "2026-11-25")
    assert app.approve_claim(1)[0].benefit == Decimal("240000.00")
    result = invoke("claim", "approve", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "approved claim #2: 60,000.00 CNY, to be shared in the next sharing run\n"
        "  - accidental death on 2026-11-20: benefit 300,000.00 CNY (the pool's accidental death benefit)\n"
        "  - the combined cap of 300,000.00 CNY per member leaves 60,000.00 CNY after the 240,000.00 CNY already "
        "paid to this member, so the benefit is reduced from 300,000.00 CNY to 60,000.00 CNY\n"
        "member #3's membership ends on 2026-11-20 (the event ends it): they share no period whose notice day "
        "comes after it\n"
    )
    assert stored(app, 1)[:3] == ("approved", 24_000_000, 30_000_000)
    assert stored(app, 2)[:3] == ("approved", 6_000_000, 6_000_000)
    assert member_row(app, 3) == ("deceased", date(2026, 11, 20))


def test_combined_cap_used_up_cannot_be_approved(app, pool):
    file(app, 4, "accidental_disability", "2026-10-20", "2026-10-25", disability_grade="1")
    file(app, 4, "accidental_disability", "2026-11-20", "2026-11-25", disability_grade="10")
    assert stored(app, 1)[0] == "filed"
    app.approve_claim(1)
    before = snapshot(app)
    with pytest.raises(StateError) as caught:
        app.approve_claim(2)
    assert str(caught.value) == (
        "claim #2 cannot be approved: the combined cap of 300,000.00 CNY per member is used up: 300,000.00 CNY has "
        "already been paid to this member"
    )
    assert snapshot(app) == before


def test_a_rejected_claim_does_not_count_towards_the_cap(app, pool):
    file(app, 4, "accidental_disability", "2026-10-20", "2026-10-25", disability_grade="1")
    app.reject_claim(1, "the grade was not confirmed by the assessor")
    file(app, 4, "accidental_disability", "2026-10-20", "2026-11-25", disability_grade="2")
    assert app.approve_claim(2)[0].benefit == Decimal("270000.00")


@pytest.mark.parametrize(
    ("second", "outcome"),
    [
        pytest.param(
            2,
            "claim #2 cannot be approved: the combined cap of 300,000.00 CNY per member is used up: "
            "300,000.00 CNY has already been paid to this member",
            id="another-claim-of-the-member",
        ),
        pytest.param(1, "claim #1 is already approved; only a filed claim can be approved", id="the-same-claim"),
    ],
)
def test_concurrent_approvals_are_decided_one_after_the_other(app, pool, db_url, plugins, second, outcome):
    if make_url(db_url).get_backend_name() != "postgresql":
        pytest.skip("row locks matter on PostgreSQL; SQLite lets one transaction write at a time")
    file(app, 4, "accidental_disability", "2026-10-20", "2026-10-25", disability_grade="1")
    file(app, 4, "accidental_disability", "2026-11-20", "2026-11-25", disability_grade="10")
    result: dict[str, str] = {}

    def approve_in_another_transaction() -> None:
        try:
            with app.transaction() as session:
                approve_claim(session, plugins, second)
            result["second"] = "approved"
        except StateError as exc:
            result["second"] = str(exc)

    with app.transaction() as session:
        approve_claim(session, plugins, 1)
        other = threading.Thread(target=approve_in_another_transaction)
        other.start()
        other.join(0.5)
        assert other.is_alive(), result  # it waits for this transaction's locks
    other.join(10)
    assert result == {"second": outcome}
    assert [stored(app, n)[:2] for n in (1, 2)] == [("approved", 30_000_000), ("filed", None)]


# -- list ---------------------------------------------------------------------------------------


def test_claim_list_json(app, pool, invoke):
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25")
    file(app, 2, "accidental_disability", "2026-11-05", "2026-11-06", disability_grade="6")
    file(app, 3, "illness_death", "2026-11-10", "2026-11-12")
    before = datetime.now(UTC)
    app.approve_claim(1)
    app.reject_claim(3, "inside the waiting period")
    after = datetime.now(UTC)
    result = invoke("claim", "list", POOL, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    decided = [claim.pop("decided_at") for claim in data]
    assert decided[1] is None
    for text in (decided[0], decided[2]):  # ISO 8601 in UTC with its offset, on SQLite too
        assert text.endswith("+00:00"), text
        assert before <= datetime.fromisoformat(text) <= after
    common = {
        "pool": POOL,
        "description": "",
        "currency": "CNY",
        "sharing_run_id": None,
        "funded": None,
        "refund": None,
    }
    assert data == [
        {
            **common,
            "id": 1,
            "member_id": 1,
            "event_kind": "accidental_death",
            "event_date": "2026-10-20",
            "filed_on": "2026-10-25",
            "details": {"disability_grade": None, "circumstances": []},
            "status": "approved",
            "benefit": "300000.00",
            "cap": "300000.00",
            "reasons": ["accidental death on 2026-10-20: benefit 300,000.00 CNY (the pool's accidental death benefit)"],
        },
        {
            **common,
            "id": 2,
            "member_id": 2,
            "event_kind": "accidental_disability",
            "event_date": "2026-11-05",
            "filed_on": "2026-11-06",
            "details": {"disability_grade": 6, "circumstances": []},
            "status": "filed",
            "benefit": None,
            "cap": None,
            "reasons": [],
        },
        {
            **common,
            "id": 3,
            "member_id": 3,
            "event_kind": "illness_death",
            "event_date": "2026-11-10",
            "filed_on": "2026-11-12",
            "details": {"disability_grade": None, "circumstances": []},
            "status": "rejected",
            "benefit": "0.00",
            "cap": None,
            "reasons": ["inside the waiting period"],
        },
    ]
    result = invoke("claim", "list", POOL, "--status", "filed", "--json")
    assert [c["id"] for c in json.loads(result.stdout)] == [2]


def test_claim_list_table(app, pool, invoke):
    file(app, 2, "accidental_disability", "2026-11-05", "2026-11-06", disability_grade="6")
    app.approve_claim(1)
    result = invoke("claim", "list", POOL)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "claim  member  kind                   date        status    benefit\n"
        "-----  ------  ---------------------  ----------  --------  ----------\n"
        "1      2       accidental_disability  2026-11-05  approved  150,000.00\n"
    )


def test_claim_list_of_an_unknown_pool(app, pool, invoke):
    result = invoke("claim", "list", "nope")
    assert (result.exit_code, result.stderr) == (1, "Error: no pool 'nope' (existing pools: js-truckers)\n")


def test_a_shared_claim_names_its_sharing_run(app, pool, invoke):
    file(app, 2, "accidental_disability", "2026-10-22", "2026-10-25", disability_grade="10")
    app.approve_claim(1)
    run = app.share(POOL, "2026-11")
    result = invoke("claim", "list", POOL, "--json")
    assert [(c["status"], c["sharing_run_id"]) for c in json.loads(result.stdout)] == [("shared", run.run_id)]
    assert app.claims(POOL)[0].sharing_run_id == run.run_id


# -- rejecting a death --------------------------------------------------------------------------


@pytest.fixture
def frozen_today(monkeypatch) -> date:
    """Today in the pool's time zone is 2026-11-20 for the member services (an exit or a death
    may not be dated in the future)."""
    from mutualaid.members import service

    monkeypatch.setattr(service, "pool_today", lambda definition, now=None: date(2026, 11, 20))
    return date(2026, 11, 20)


def charged(app: Any, period: str) -> list[int]:
    """The members charged by a period's sharing run."""
    run = app.sharing_run(POOL, period)
    with app.transaction() as s:
        return list(s.scalars(select(Charge.member_id).where(Charge.run_id == run.run_id).order_by(Charge.member_id)))


def test_rejecting_an_excluded_death_ends_the_membership(app, pool, invoke):
    """The pool does not pay for a death while drunk driving, but the member died: rejecting the
    claim records the death, as an approval would, and the member shares no later period."""
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25", circumstances="drunk_driving")
    file(app, 2, "accidental_disability", "2026-10-22", "2026-10-25", disability_grade="10")
    result = invoke("claim", "reject", "1", "--reason", "  事故认定书显示饮酒驾驶，属于除外责任 ")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "rejected claim #1: 事故认定书显示饮酒驾驶，属于除外责任\n"
        "member #1 司机1 is recorded as deceased on 2026-10-20: the death ends the membership although the pool "
        "does not pay for it\n"
    )
    assert stored(app, 1) == ("rejected", 0, None, ["事故认定书显示饮酒驾驶，属于除外责任"])
    assert member_row(app, 1) == ("deceased", date(2026, 10, 20))
    app.approve_claim(2)
    assert app.share(POOL, "2026-11").members == 3
    assert charged(app, "2026-11") == [2, 3, 4]


def test_rejecting_a_death_in_the_waiting_period_through_the_api(app, pool):
    file(app, 3, "illness_death", "2026-12-30", "2027-01-02")  # day 90 of waiting: not covered
    rejection = app.reject_claim(1, "died of illness inside the waiting period")
    assert rejection.member_ended is True
    assert (rejection.decision.payable, rejection.decision.ends_membership) == (False, True)
    assert (rejection.claim.id, rejection.claim.status, rejection.claim.reasons) == (
        1,
        "rejected",
        ["died of illness inside the waiting period"],
    )
    assert (rejection.member.id, rejection.member.status, rejection.member.ended_on) == (
        3,
        "deceased",
        date(2026, 12, 30),
    )
    assert member_row(app, 3) == ("deceased", date(2026, 12, 30))


def test_reject_as_json(app, pool, invoke):
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25", circumstances="unlicensed_driving")
    result = invoke("claim", "reject", "1", "--reason", "no valid licence", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["claim"]["id"], data["claim"]["status"], data["claim"]["reasons"]) == (
        1,
        "rejected",
        ["no valid licence"],
    )
    assert data["decision"] == {
        "payable": False,
        "amount": "0",
        "cap": "0",
        "ends_membership": True,
        "refund_contributions": False,
        "reasons": [
            "the claim reports driving without a valid licence (unlicensed_driving), which this pool does not cover"
        ],
    }
    assert (data["member"]["id"], data["member"]["status"], data["member"]["ended_on"], data["member_ended"]) == (
        1,
        "deceased",
        "2026-10-20",
        True,
    )
    assert data["refund"] == "0.00"  # an excluded death refunds nothing


def test_rejecting_a_payable_death_leaves_the_member(app, pool, invoke, frozen_today):
    """The operator disputes that the death happened: the claim is rejected, the member stays and
    shares, until the operator records the death."""
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25")
    file(app, 2, "accidental_disability", "2026-10-22", "2026-10-25", disability_grade="10")
    file(app, 3, "accidental_disability", "2026-11-12", "2026-11-13", disability_grade="10")
    rejection = app.reject_claim(1, "the police report names another driver")
    assert (rejection.member_ended, rejection.decision.payable, rejection.decision.ends_membership) == (
        False,
        True,
        True,
    )
    assert (rejection.member.status, rejection.member.ended_on) == ("active", None)
    assert member_row(app, 1) == ("active", None)
    app.approve_claim(2)
    app.share(POOL, "2026-11")
    assert charged(app, "2026-11") == [1, 2, 3, 4]
    result = invoke("member", "exit", POOL, "1", "--deceased", "--on", "2026-11-10")
    assert result.exit_code == 0, result.output
    app.approve_claim(3)
    app.share(POOL, "2026-12")
    assert charged(app, "2026-12") == [2, 3, 4]


def test_rejecting_a_disability_leaves_the_member(app, pool, invoke):
    file(
        app, 2, "accidental_disability", "2026-10-22", "2026-10-25", disability_grade="3", circumstances="drunk_driving"
    )
    result = invoke("claim", "reject", "1", "--reason", "drunk driving")
    assert result.exit_code == 0, result.output
    assert result.stdout == "rejected claim #1: drunk driving\n"
    assert member_row(app, 2) == ("active", None)


@pytest.mark.parametrize("ended", ["exited", "deceased"])
def test_rejecting_a_death_keeps_an_earlier_end(app, pool, invoke, frozen_today, ended):
    """A membership that already ended keeps its status and day: the member left on the day of the
    event (a claim for an event after the end is refused when filed), or the death was already
    recorded."""
    day = "2026-10-20"
    if ended == "exited":
        app.exit_member(POOL, 1, on=day)
    else:
        app.record_death(POOL, 1, day)
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25", circumstances="drunk_driving")
    result = invoke("claim", "reject", "1", "--reason", "not covered")
    assert result.exit_code == 0, result.output
    assert result.stdout == "rejected claim #1: not covered\n"
    assert member_row(app, 1) == (ended, date.fromisoformat(day))
    assert stored(app, 1)[0] == "rejected"


def test_a_refused_rejection_of_a_death_changes_nothing(app, pool, invoke):
    file(app, 1, "accidental_death", "2026-10-20", "2026-10-25", circumstances="drunk_driving")
    before = snapshot(app)
    result = invoke("claim", "reject", "1", "--reason", " ")
    assert (result.exit_code, result.stderr) == (1, "Error: reason: a rejection needs a reason the member can read\n")
    assert snapshot(app) == before
    app.reject_claim(1, "drunk driving")
    before = snapshot(app)
    result = invoke("claim", "reject", "1", "--reason", "again")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: claim #1 is already rejected; only a filed claim can be rejected\n",
    )
    assert snapshot(app) == before


# -- decided on the facts recorded at filing ------------------------------------------------------


def test_a_claim_is_decided_on_the_attributes_recorded_when_it_was_filed(app, truckers_pool, make_driver):
    app.create_pool(truckers_pool())
    # Licence valid when cover starts (2026-10-02), expired by the accident on 2026-10-20.
    app.join(POOL, **make_driver(1, licence_expires="2026-10-15"))
    app.join(POOL, **make_driver(2))
    claim = file(app, 1, "accidental_disability", "2026-10-20", "2026-10-21", disability_grade="5")
    before = app.review_claim(claim.id)[1]
    assert not before.payable
    assert any("unlicensed" in reason or "without a valid licence" in reason for reason in before.reasons)

    # Renewing the licence afterwards does not change the outcome of the earlier accident.
    app.update_member(POOL, 1, {"licence_expires": "2031-10-15"})
    assert app.member(POOL, 1).attributes["licence_expires"] == "2031-10-15"
    after = app.review_claim(claim.id)[1]
    assert (after.payable, after.reasons) == (False, before.reasons)
    with pytest.raises(StateError, match=rf"claim #{claim.id} cannot be approved"):
        app.approve_claim(claim.id)
    assert stored(app, claim.id)[0] == "filed"
    with app.transaction() as s:
        recorded = s.execute(select(Claim.member_attributes_json).where(Claim.id == claim.id)).scalar_one()
    assert json.loads(recorded)["licence_expires"] == "2026-10-15"
