"""Member juries (评议团) on a real database: the draw, the votes, the close, the exam, every refusal.

Members are built set-based (one INSERT ... SELECT), as the benchmarks do, so a jury of 10,000 drawn
from 200,000 members stays fast; claims reach ``objected`` through the public process (investigate,
propose, publish, an objection). Every refused operation is checked to leave the database as it was.

No step may be taken on a day after the pool's today, so the tests pin today (``MUTUALAID_TODAY``,
the ``today`` fixture) and move it on as a pool's life would: the claims are published and objected
to on PUBLISH, a jury is drawn on DRAW, votes come in while it is open (up to LAST), and it is closed
on CLOSE.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from mutualaid import ImportRowsError, NotFoundError, StateError, ValidationError
from mutualaid.claims import draw_jury
from mutualaid.claims.jury import default_seed, pays
from mutualaid.db.models import (
    Claim,
    ClaimObjection,
    ClaimStatusChange,
    Juror,
    Jury,
    JuryQualification,
    Member,
)
from mutualaid.pools.service import TODAY_ENV
from mutualaid.vocabulary import JuryThreshold

POOL = "jury-pool"
ATTRS = '{"licence_class":"A2","licence_number":"L","licence_expires":"2031-01-01","driving_proof":"x"}'
PUBLISH = "2026-12-01"  # the claims are published, and objected to, on this day
DRAW, LAST, CLOSE = "2027-01-10", "2027-01-13", "2027-01-14"

Today = Callable[[str], None]


@pytest.fixture(autouse=True)
def today(monkeypatch: pytest.MonkeyPatch) -> Today:
    """Sets the pools' today (``MUTUALAID_TODAY``): PUBLISH to begin with, so that no test depends
    on the clock; a test moves it on before each step it takes on a later day."""

    def move(day: str) -> None:
        monkeypatch.setenv(TODAY_ENV, day)

    move(PUBLISH)
    return move


# -- helpers ------------------------------------------------------------------------------------


def make_pool(app: Any, *, objections: str = "jury", **jury: Any) -> int:
    rules = {"size": 5, "min_tenure_days": 180, **jury}
    claims = {"governance": "public", "objections": objections, "jury": rules}
    return app.create_pool({"key": POOL, "name": "Jury pool", "cohort": "truckers", "claims": claims}).id


def add_members(app: Any, pool_id: int, count: int, *, late_every: int = 0, exited_every: int = 0) -> None:
    """``count`` members set-based, joined 2026-01-01; every ``late_every``-th joined 2026-12-01 (too
    recent to sit on a jury), every ``exited_every``-th (after #3) left the pool."""
    postgres = app.engine.dialect.name == "postgresql"
    source = (
        f"SELECT n FROM generate_series(1, {count}) AS n"
        if postgres
        else f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {count}) SELECT n FROM seq"
    )
    day = "DATE '{}'" if postgres else "'{}'"
    late = f"n % {late_every} = 0" if late_every else "1 = 0"
    exited = f"n > 3 AND n % {exited_every} = 0" if exited_every else "1 = 0"
    with app.engine.begin() as conn:
        conn.execute(
            text(
                # a synthetic crowd: its identity columns filled, not encrypted (no identity of theirs is read)
                "INSERT INTO members (pool_id, id_cipher, id_hash, id_masked, identity_seal, name, birth_date, "
                "joined_on, waiting_until, status, ended_on, attributes_json) "
                f"SELECT {pool_id}, 'P' || n, 'P' || n, '***', '-', 'M' || n, {day.format('1980-01-01')}, "
                f"CASE WHEN {late} THEN {day.format('2026-12-01')} ELSE {day.format('2026-01-01')} END, "
                f"{day.format('2026-03-31')}, CASE WHEN {exited} THEN 'exited' ELSE 'active' END, "
                f"CASE WHEN {exited} THEN {day.format('2026-06-01')} END, '{ATTRS}' FROM ({source}) AS s"
            )
        )


def objected_claim(app: Any, today: Today, member: int = 1, objectors: tuple[int, ...] = (2, 3), **details: str) -> int:
    """A claim of ``member`` through the public process to ``objected``: published, and objected to,
    on PUBLISH (today then)."""
    today(PUBLISH)
    claim = app.file_claim(
        POOL, member, event_kind="accidental_death", event_date="2026-11-20", filed_on="2026-11-21", details=details
    )
    app.investigate_claim(claim.id, by="investigator")
    if details:
        app.propose_claim(claim.id, approve=False, reason="excluded circumstances", by="investigator")
    else:
        app.propose_claim(claim.id, approve=True, by="investigator")
    app.publish_claim(claim.id, by="operator")
    for objector in objectors:
        app.object_to_claim(claim.id, member=objector, reason="I doubt it")
    return claim.id


def jurors(app: Any, jury_id: int = 1) -> list[int]:
    with app.transaction() as s:
        return list(s.scalars(select(Juror.member_id).where(Juror.jury_id == jury_id).order_by(Juror.member_id)))


def dry_draw(app: Any, claim_id: int, seed: int | None) -> tuple[int, list[int]]:
    """Draw through the service in a transaction that is rolled back: (seed stored, jurors)."""

    class Undo(Exception):
        pass

    found: list[Any] = []
    with pytest.raises(Undo):
        with app.transaction() as s:
            draw = draw_jury(s, app.plugins, claim_id, by="operator", seed=seed, on=DRAW)
            ids = s.scalars(select(Juror.member_id).where(Juror.jury_id == draw.jury.id).order_by(Juror.member_id))
            found.extend([draw.jury.seed, list(ids)])
            raise Undo
    return found[0], found[1]


def snapshot(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a jury touches, to prove that a refused operation changed nothing."""
    models = (Claim, ClaimStatusChange, ClaimObjection, Jury, Juror, JuryQualification, Member)
    with app.transaction() as s:
        tables = [model.__table__ for model in models]
        return {t.name: [tuple(r) for r in s.execute(select(t).order_by(*t.primary_key))] for t in tables}


def write_votes(path: Path, rows: list[tuple[Any, ...]], header: str = "member_id,vote") -> Path:
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows), encoding="utf-8")
    return path


def history(app: Any, claim_id: int) -> list[tuple[str, str | None, str]]:
    with app.transaction() as s:
        rows = s.execute(
            select(ClaimStatusChange.status, ClaimStatusChange.actor, ClaimStatusChange.cause)
            .where(ClaimStatusChange.claim_id == claim_id)
            .order_by(ClaimStatusChange.id)
        )
        return [tuple(r) for r in rows]


def objections(app: Any, claim_id: int) -> list[tuple[str, str | None]]:
    with app.transaction() as s:
        rows = s.execute(
            select(ClaimObjection.status, ClaimObjection.resolution).where(ClaimObjection.claim_id == claim_id)
        )
        return [tuple(r) for r in rows]


@pytest.fixture
def small(app, today) -> Any:
    """A pool of 40 members (juries of 5) with claim #1 of member #1, objected by #2 and #3 on
    PUBLISH (today when the test begins)."""
    add_members(app, make_pool(app), 40)
    objected_claim(app, today)
    return app


# -- a jury of 10,000 from 200,000 members ----------------------------------------------------------------


def test_a_jury_of_10000_from_200000_members_is_reproducible_and_decides_the_claim(app, today, tmp_path):
    pool_id = make_pool(app, size=10_000)
    add_members(app, pool_id, 200_000, late_every=10, exited_every=7)
    claim_id = objected_claim(app, today)
    today(DRAW)
    # The documented algorithm, from the rule the members were built by: live, 180 days' tenure,
    # neither the claimant (#1) nor an objector (#2, #3), member numbers ascending.
    eligible = [n for n in range(4, 200_001) if n % 10 and n % 7]
    expected = sorted(random.Random(7).sample(eligible, 10_000))
    assert dry_draw(app, claim_id, 7) == (7, expected)
    assert dry_draw(app, claim_id, 8)[1] != expected
    assert dry_draw(app, claim_id, None)[0] == default_seed(claim_id, date(2027, 1, 10))

    draw = app.draw_jury(claim_id, by="operator", seed=7, on=DRAW)
    assert draw.eligible == len(eligible)
    assert (draw.jury.size, draw.jury.quorum, draw.jury.seed, str(draw.jury.closes_on)) == (10_000, 5_000, 7, LAST)
    jury_id = draw.jury.id  # 1 on SQLite; PostgreSQL's sequence went on during the draws rolled back
    drawn = jurors(app, jury_id)
    assert drawn == expected
    assert not {1, 2, 3} & set(drawn)
    assert all(n % 10 and n % 7 for n in drawn)  # tenure respected, nobody who left
    assert app.claim_history(claim_id)[0].status == "at-jury"

    votes = [(m, "pay" if i < 6_001 else "reject") for i, m in enumerate(drawn)]
    today("2027-01-12")
    result = app.import_votes(claim_id, write_votes(tmp_path / "votes.csv", votes), on="2027-01-12")
    assert (result.imported, result.pay, result.reject) == (10_000, 6_001, 3_999)
    assert (app.jury(claim_id).votes_pay, app.jury(claim_id).cast) == (6_001, 10_000)

    today(CLOSE)
    closing = app.close_jury(claim_id, by="operator", on=CLOSE)
    assert (closing.outcome, closing.claim.status, closing.resolved, closing.overruled) == (
        "approved",
        "approved",
        2,
        [],
    )
    assert closing.claim.benefit == 300_000
    status, actor, cause = history(app, claim_id)[-1]
    assert (status, actor) == ("approved", f"jury #{jury_id}")
    assert cause.startswith(f"decided by jury #{jury_id}: 6,001 of 10,000 votes to pay: ")
    assert (
        objections(app, claim_id)
        == [
            (
                "resolved",
                f"decided by jury #{jury_id}: 6,001 of 10,000 votes to pay; the claim was approved (closed by operator)",
            )
        ]
        * 2
    )
    with app.transaction() as s:
        stored = s.execute(select(Jury.status, Jury.votes_pay, Jury.votes_reject, Jury.decided_at)).one()
    assert stored[:3] == ("decided", 6_001, 3_999) and stored.decided_at is not None


# -- the tally ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "pay", "cast", "paid"),
    [
        ("majority", 5, 10, False),
        ("majority", 6, 11, True),
        ("majority", 1, 1, True),
        ("two-thirds", 2, 3, True),
        ("two-thirds", 199, 299, False),
        ("two-thirds", 200, 300, True),
        ("three-quarters", 3, 4, True),
        ("three-quarters", 74, 99, False),
        ("three-quarters", 7_500_000, 10_000_000, True),
        ("three-quarters", 7_499_999, 10_000_000, False),
    ],
)
def test_the_thresholds_at_their_exact_boundaries(threshold, pay, cast, paid):
    assert pays(threshold, pay, cast) is paid


@pytest.mark.parametrize(
    ("threshold", "pay", "reject", "outcome"),
    [("two-thirds", 4, 2, "approved"), ("two-thirds", 3, 2, "rejected"), ("majority", 3, 3, "rejected")],
)
def test_the_tally_decides_at_the_boundary(app, today, threshold, pay, reject, outcome):
    add_members(app, make_pool(app, size=6, threshold=threshold), 40)
    claim_id = objected_claim(app, today)
    today(DRAW)
    app.draw_jury(claim_id, by="operator", on=DRAW)
    for i, member in enumerate(jurors(app)[: pay + reject]):
        app.cast_vote(claim_id, member, "pay" if i < pay else "reject", on=DRAW)
    today(CLOSE)
    closing = app.close_jury(claim_id, by="operator", on=CLOSE)
    assert (closing.outcome, closing.jury.votes_pay, closing.jury.votes_reject) == (outcome, pay, reject)
    if outcome == "rejected":
        assert closing.claim.reasons == [f"the member jury voted {reject:,} of {pay + reject:,} against paying"]


def test_without_a_quorum_the_claim_is_reviewed_again(small, today):
    app = small
    today(DRAW)
    app.draw_jury(1, by="operator", on=DRAW)
    assert app.jury(1).quorum == 3  # ceil(5 x 0.5)
    today(LAST)
    for member in jurors(app)[:2]:
        app.cast_vote(1, member, "pay", on=LAST)
    today(CLOSE)
    closing = app.close_jury(1, by="operator", on=CLOSE)
    assert (closing.outcome, closing.claim.status, closing.jury.status, closing.resolved) == (
        "no-quorum", "under-review", "no-quorum", 2,
    )  # fmt: skip
    assert history(app, 1)[-1] == (
        "under-review", "operator", "jury #1 had no quorum: 2 of 5 jurors voted, 3 needed",
    )  # fmt: skip
    assert (
        objections(app, 1)
        == [("resolved", "the jury had no quorum: 2 votes, 3 needed; the claim is reviewed again")] * 2
    )


def test_a_jury_cannot_pay_what_the_pools_rules_do_not(app, today):
    add_members(app, make_pool(app), 40)
    claim_id = objected_claim(app, today, circumstances="drunk_driving")
    today(DRAW)
    app.draw_jury(claim_id, by="operator", on=DRAW)
    for member in jurors(app)[:3]:
        app.cast_vote(claim_id, member, "pay", on=DRAW)
    today(CLOSE)
    closing = app.close_jury(claim_id, by="operator", on=CLOSE)
    assert (closing.outcome, closing.claim.status) == ("rejected", "rejected")
    assert closing.overruled and closing.overruled == list(closing.decision.reasons)
    assert closing.claim.reasons == [
        "the member jury voted 3 of 3 to pay, but the pool's rules do not pay this claim: "
        + "; ".join(closing.overruled)
    ]
    assert history(app, claim_id)[-1][:2] == ("rejected", "jury #1")


# -- the exam -------------------------------------------------------------------------------------------


def test_with_the_exam_required_only_qualified_members_are_drawn(app, today):
    add_members(app, make_pool(app, exam_required=True, size=3), 40)
    claim_id = objected_claim(app, today)
    today("2026-12-01")
    qualified = app.qualify_jurors(POOL, [1, "#5", 6, 7, 8], on="2026-12-01")
    assert (qualified.qualified, qualified.already) == ([1, 5, 6, 7, 8], [])
    today("2026-12-02")
    again = app.qualify_jurors(POOL, [5, 9], on="2026-12-02")
    assert (again.qualified, again.already) == ([9], [(5, date(2026, 12, 1))])
    today(DRAW)
    assert app.draw_jury(claim_id, by="operator", on=DRAW).eligible == 5  # 5 to 9: not the claimant #1
    assert set(jurors(app)) <= {5, 6, 7, 8, 9}


def test_qualify_refuses_a_member_who_left_or_does_not_exist(app, today):
    add_members(app, make_pool(app), 10, exited_every=5)
    today("2026-12-01")
    before = snapshot(app)
    with pytest.raises(ValidationError) as exc:
        app.qualify_jurors(POOL, [5, 99, 6], on="2026-12-01")
    assert exc.value.lines == [
        "nobody was qualified:",
        "member #5 has left pool 'jury-pool' (exited); only a live member can sit on a jury",
        "pool 'jury-pool' has no member 99 (give a member number or an ID number)",
    ]
    assert snapshot(app) == before


# -- refusals ------------------------------------------------------------------------------------------


def refused(app: Any, error: type[Exception], message: str, call: Any, *args: Any, **kwargs: Any) -> None:
    before = snapshot(app)
    with pytest.raises(error) as exc:
        call(*args, **kwargs)
    assert "\n".join(getattr(exc.value, "lines", [str(exc.value)])) == message
    assert snapshot(app) == before


def test_draw_refusals_change_nothing(small, today):
    app = small
    filed = app.file_claim(POOL, 4, event_kind="accidental_death", event_date="2026-11-20", filed_on="2026-11-21")
    today(DRAW)
    refused(app, NotFoundError, "no claim #99; 'mutualaid claim list POOL' shows the claims", app.draw_jury, 99, by="x")
    refused(app, ValidationError, "--by: is required: who takes this step", app.draw_jury, 1, by=" ")
    refused(
        app, StateError,
        f"claim #{filed.id} is already filed; only an objected claim can be sent to a jury",
        app.draw_jury, filed.id, by="operator",
    )  # fmt: skip
    refused(
        app, ValidationError, "--seed: must be a whole number from 0 to 9223372036854775807 (-1 given)",
        app.draw_jury, 1, by="operator", seed=-1,
    )  # fmt: skip
    refused(
        app, ValidationError, "--on '10/01/2027' is not a date; write it as YYYY-MM-DD",
        app.draw_jury, 1, by="operator", on="10/01/2027",
    )  # fmt: skip
    refused(
        app, StateError,
        "claim #1 needs a jury of 5 but only 0 members of pool 'jury-pool' can sit on it on 2026-06-01; nothing was drawn",
        app.draw_jury, 1, by="operator", on="2026-06-01",
    )  # fmt: skip
    app.draw_jury(1, by="operator", on=DRAW)
    refused(
        app, StateError,
        f"claim #1 already has a jury (#1, drawn on {DRAW}, voting until {LAST}); 'mutualaid jury show 1' shows it",
        app.draw_jury, 1, by="operator",
    )  # fmt: skip


def test_a_pool_whose_objections_go_to_review_draws_no_jury(app, today):
    add_members(app, make_pool(app, objections="review"), 10)
    claim_id = objected_claim(app, today)
    today(DRAW)
    refused(
        app, StateError,
        "pool 'jury-pool' sends objected claims back to review ([claims] objections = \"review\"), not to a jury",
        app.draw_jury, claim_id, by="operator",
    )  # fmt: skip


def test_vote_refusals_change_nothing(small, today):
    app = small
    refused(
        app, StateError, "claim #1 has no jury; draw one with 'mutualaid jury draw 1 --by NAME'",
        app.cast_vote, 1, 5, "pay",
    )  # fmt: skip
    today(DRAW)
    app.draw_jury(1, by="operator", seed=1, on=DRAW)
    drawn = jurors(app)
    outsider = next(n for n in range(4, 41) if n not in drawn)
    app.cast_vote(1, drawn[0], "pay", on=DRAW)
    refused(app, ValidationError, "--vote: must be pay or reject ('maybe' given)", app.cast_vote, 1, drawn[1], "maybe")
    today(LAST)
    refused(
        app, StateError, f"member #{drawn[0]} already voted pay in jury #1; a juror votes once",
        app.cast_vote, 1, drawn[0], "reject", on=LAST,
    )  # fmt: skip
    refused(
        app, StateError, f"member #{outsider} is not a juror of jury #1 (claim #1); only jurors vote",
        app.cast_vote, 1, outsider, "pay", on=LAST,
    )  # fmt: skip
    today(CLOSE)  # the jury not closed yet: a vote of a day after its window is refused
    refused(
        app, StateError, f"a vote on {CLOSE} is after jury #1's voting closed on {LAST}; nothing was recorded",
        app.cast_vote, 1, drawn[1], "pay", on=CLOSE,
    )  # fmt: skip
    refused(
        app, StateError, f"a vote on 2027-01-09 is before jury #1 opened on {DRAW}; nothing was recorded",
        app.cast_vote, 1, drawn[1], "pay", on="2027-01-09",
    )  # fmt: skip


def test_close_refusals_change_nothing(small, today):
    app = small
    today(DRAW)
    app.draw_jury(1, by="operator", on=DRAW)
    today(LAST)
    refused(
        app, StateError, f"jury #1 of claim #1 votes until {LAST}; it can be closed from {CLOSE}",
        app.close_jury, 1, by="operator", on=LAST,
    )  # fmt: skip
    for member in jurors(app)[:3]:
        app.cast_vote(1, member, "reject", on=DRAW)
    today(CLOSE)
    assert app.close_jury(1, by="operator", on=CLOSE).outcome == "rejected"
    message = app_error(app.close_jury, 1, by="operator", on=CLOSE)
    assert message.startswith("jury #1 of claim #1 was closed on ")
    assert message.endswith("(decided); it can no longer be closed")
    refused(app, StateError, message, app.close_jury, 1, by="operator", on=CLOSE)
    assert app_error(app.cast_vote, 1, jurors(app)[4], "pay").endswith("(decided); it can no longer take votes")


def test_a_jury_is_not_closed_on_a_day_after_today(small, today):
    app = small
    today(DRAW)
    app.draw_jury(1, by="operator", on=DRAW)
    for member in jurors(app)[:3]:
        app.cast_vote(1, member, "pay", on=DRAW)
    today(LAST)  # the jury still votes today: closing it "on" the day after its window is refused
    refused(
        app, ValidationError, f"--on: {CLOSE} is in the future (today is {LAST} in the pool's time zone)",
        app.close_jury, 1, by="operator", on=CLOSE,
    )  # fmt: skip
    assert (app.jury(1).status, app.claim_history(1)[0].status) == ("open", "at-jury")
    today(CLOSE)
    assert app.close_jury(1, by="operator", on=CLOSE).outcome == "approved"


def app_error(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(StateError) as exc:
        call(*args, **kwargs)
    return str(exc.value)


def test_an_import_with_bad_rows_imports_nothing(small, today, tmp_path):
    app = small
    today(DRAW)
    app.draw_jury(1, by="operator", seed=3, on=DRAW)
    drawn = jurors(app)
    outsider = next(n for n in range(4, 41) if n not in drawn)
    app.cast_vote(1, drawn[0], "pay", on=DRAW)
    today(CLOSE)  # the jury not closed yet; the row voted on 2027-01-14 is refused for the window, not as a future day
    path = write_votes(
        tmp_path / "votes.csv",
        [
            (drawn[1], "pay", ""),
            (drawn[0], "reject", ""),
            (outsider, "pay", ""),
            ("x", "pay", ""),
            (drawn[2], "maybe", ""),
            (drawn[1], "reject", ""),
            (drawn[3], "pay", "2027-01-14"),
            (drawn[4], "pay", "14/01/2027"),
        ],
        header="member_id,vote,voted_on",
    )
    refused(
        app, ImportRowsError,
        "\n".join([
            f"{path}: 7 of 8 rows are invalid; no votes were imported:",
            f"{path}:3: member_id: member #{drawn[0]} already voted pay; a juror votes once",
            f"{path}:4: member_id: member #{outsider} is not a juror of jury #1",
            f"{path}:5: member_id: 'x' is not a member number",
            f"{path}:6: vote: must be pay or reject ('maybe' given)",
            f"{path}:7: member_id: member #{drawn[1]} also votes on line 2; a juror votes once",
            f"{path}:8: voted_on: 2027-01-14 is after jury #1's voting closed on {LAST}",
            f"{path}:9: voted_on: must be a date written YYYY-MM-DD ('14/01/2027' given)",
        ]),
        app.import_votes, 1, path, on=DRAW,
    )  # fmt: skip
    empty = write_votes(tmp_path / "empty.csv", [])
    refused(
        app,
        ValidationError,
        f"{empty}: the file has a header but no rows; nothing was imported",
        app.import_votes,
        1,
        empty,
    )


# -- the command line -------------------------------------------------------------------------------------


def test_the_jury_commands(small, today, invoke, tmp_path):
    today(DRAW)
    drawn = invoke("jury", "draw", "1", "--by", "operator", "--seed", "11", "--on", DRAW)
    assert drawn.exit_code == 0, drawn.output
    assert drawn.output.startswith(
        "drew jury #1 for claim #1: 5 of 37 eligible members (seed 11); voting until 2027-01-13"
    )
    members = jurors(small)
    vote = invoke("jury", "vote", "1", "--member", str(members[0]), "--vote", "reject", "--on", DRAW)
    assert vote.output == f"recorded member {members[0]}'s vote (reject) in jury #1: 1 of 5 cast\n"
    path = write_votes(tmp_path / "v.csv", [(m, "pay") for m in members[1:4]])
    today(LAST)
    imported = invoke("jury", "import-votes", "1", str(path), "--on", LAST)
    assert imported.output == "imported 3 votes into jury #1 (3 pay, 0 reject); 4 of 5 cast\n"
    shown = json.loads(invoke("jury", "show", "1", "--json").output)
    assert (shown["status"], shown["votes_pay"], shown["votes_reject"], shown["not_voted"]) == ("open", 3, 1, 1)
    early = invoke("jury", "close", "1", "--by", "operator", "--on", LAST)
    assert (early.exit_code, early.output) == (
        1,
        f"Error: jury #1 of claim #1 votes until {LAST}; it can be closed from {CLOSE}\n",
    )
    today(CLOSE)
    closed = invoke("jury", "close", "1", "--by", "operator", "--on", CLOSE)
    assert closed.output == (
        "jury #1 decided to pay (3 pay, 1 reject of 5 jurors): claim #1 approved, 300,000.00 CNY\n2 objection(s) resolved\n"
    )
    qualify = invoke("jury", "qualify", POOL, "5", "6", "--on", "2026-12-01")
    assert qualify.output == "qualified 2 member(s) of pool 'jury-pool' as jurors on 2026-12-01\n"


@pytest.mark.parametrize("threshold", list(JuryThreshold))
def test_no_votes_reach_no_threshold(threshold):
    """The rule the jury's close and the jury-result notice share (JuryThreshold.reached)."""
    assert not threshold.reached(0, 0)
    assert threshold.reached(1, 1)
