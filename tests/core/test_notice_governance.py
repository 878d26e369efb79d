"""The notices of a claim's public life, read as members would read them: an objection received
(to the claimant), a jury invitation (to each juror), a jury's result (for everyone), and the
public notice of a pool whose claims are decided in public.

The pool: eight drivers of a truckers pool with ``[claims] governance = "public"``. Claims are put
in each state through the state machine, and objections, juries and jurors are written as rows
(the services of governance own those steps; these notices only read them):

- claim 1 (张三, member 1, of 苏州): in public notice, 30,000.00 proposed, its window closing on
  2026-11-06;
- claim 2 (王小明, member 2): objected to by 赵五 (member 4);
- claim 3 (李四, member 3): at a jury (#1: members 5 to 8 and 1; 2 have voted), objected to by
  钱六 (member 5) and disputed;
- claim 4 (孙七, member 6): its jury (#2) decided: 3 pay, 1 reject of 5, threshold two thirds:
  paid;
- claim 5 (周八, member 7): its jury (#3) closed without a quorum: back to review.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mutualaid import MutualAidError, StateError
from mutualaid.claims import machine
from mutualaid.db.models import Claim, ClaimObjection, Juror, Jury, Member
from mutualaid.money import format_minor
from mutualaid.notices import all_kinds
from mutualaid.pools.service import TODAY_ENV
from mutualaid.privacy import mask_id_number
from mutualaid.vocabulary import ClaimStatus as S

POOL = "gov-truckers"
NAMES = {1: "张三", 2: "王小明", 3: "李四", 4: "赵五", 5: "钱六", 6: "孙七", 7: "周八", 8: "Ada Lovelace"}
OBJECTORS = {2: 4, 3: 5}  # claim -> the member who objected


def _move(session, claim_id: int, *path: tuple[S, S]) -> Claim:
    row = session.get(Claim, claim_id)
    for source, target in path:
        machine.move(session, row, target, cause=f"test: {target.value}", actor="tester", sources=(source,))
    return row


def _propose(row: Claim, benefit: int | None, closes: str = "2026-11-06") -> None:
    """A proposal as ``claims.governance.propose_claim`` stores it (who proposed it is never shown)."""
    if benefit is None:
        proposal = {"decision": "reject", "reason": "no police report", "by": "审核员甲"}
    else:
        proposal = {
            "decision": "approve",
            "benefit_minor": benefit,
            "cap_minor": benefit,
            "reasons": ["an accident at work"],
            "by": "审核员甲",
        }
    row.proposal_json = json.dumps(proposal, ensure_ascii=False)
    row.notice_closes_on = date.fromisoformat(closes)


TO_NOTICE = ((S.FILED, S.UNDER_REVIEW), (S.UNDER_REVIEW, S.PROPOSED), (S.PROPOSED, S.IN_NOTICE))


def _objection(session, claim: int, member: int, reason: str, kind: str = "objection") -> None:
    session.add(
        ClaimObjection(
            claim_id=claim, member_id=member, kind=kind, reason=reason, filed_on=date(2026, 11, 5), status="open"
        )
    )


def _jury(session, claim: int, jurors: dict[int, str | None], status: str = "open", pay=0, reject=0) -> None:
    jury = Jury(
        claim_id=claim,
        seed=7,
        size=len(jurors),
        quorum=3,
        threshold="two-thirds",
        opened_on=date(2026, 11, 8),
        closes_on=date(2026, 11, 11),
        status=status,
        votes_pay=pay,
        votes_reject=reject,
    )
    session.add(jury)
    session.flush()
    session.add_all(Juror(jury_id=jury.id, member_id=m, vote=v) for m, v in jurors.items())


def _claim(app, member: int, day: int) -> int:
    return app.file_claim(
        POOL, member, event_kind="accidental_death", event_date=f"2026-10-{day}", filed_on=f"2026-10-{day + 5}"
    ).id


@pytest.fixture
def make_pool(app, truckers_pool, make_driver):
    def make(objections: str = "jury"):
        claims = {
            "governance": "public",
            "objections": objections,
            "notice_window_days": 3,
            "jury": {"size": 5, "voting_days": 3, "quorum": "0.6", "threshold": "two-thirds"},
        }
        app.create_pool(truckers_pool(key=POOL, operator="江苏卡友之家", claims=claims))
        for n, name in NAMES.items():
            app.join(POOL, **{**make_driver(n), "name": name})
        ids = [_claim(app, m, d) for m, d in ((1, 20), (2, 21), (3, 22), (6, 23), (7, 24))]
        assert ids == [1, 2, 3, 4, 5]
        with app.transaction() as s:
            s.execute(update(Member).where(Member.id == 1).values(city="苏州"))
            for claim in ids:
                row = _move(s, claim, *TO_NOTICE[:2])
                _propose(row, 3_000_000 if claim != 5 else None)
                _move(s, claim, TO_NOTICE[2])
            _objection(s, 2, 4, "he was not at work that day")
            _move(s, 2, (S.IN_NOTICE, S.OBJECTED))
            _objection(s, 3, 5, "the police report is missing")
            _objection(s, 3, 3, "the report was filed late by the police", kind="dispute")
            _move(s, 3, (S.IN_NOTICE, S.OBJECTED), (S.OBJECTED, S.AT_JURY))
            _jury(s, 3, {1: None, 5: "pay", 6: "reject", 7: None, 8: None})
            _objection(s, 4, 8, "the benefit is too high")
            _move(s, 4, (S.IN_NOTICE, S.OBJECTED), (S.OBJECTED, S.AT_JURY), (S.AT_JURY, S.APPROVED))
            _jury(s, 4, {1: "pay", 2: "pay", 3: "pay", 5: "reject", 7: None}, status="decided", pay=3, reject=1)
            _objection(s, 5, 1, "unclear")
            _move(s, 5, (S.IN_NOTICE, S.OBJECTED), (S.OBJECTED, S.AT_JURY), (S.AT_JURY, S.UNDER_REVIEW))
            _jury(s, 5, {2: None, 3: "pay", 4: None, 5: None, 8: None}, status="no-quorum", pay=1)
            s.execute(update(ClaimObjection).where(ClaimObjection.claim_id.in_([4, 5])).values(status="resolved"))
        return app

    return make


def _lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines()


# -- objection-received ------------------------------------------------------------------------------


def test_the_claimant_is_told_of_the_objection_and_that_a_jury_decides(make_pool, tmp_path):
    app = make_pool()
    result = app.render_notices(POOL, "objection-received", tmp_path / "out", locale="en", formats=("text", "html"))
    # the open objections (a dispute is the claimant's own, and claims 4 and 5 are resolved)
    assert sorted(p.name for p in result.paths) == [
        "objection-received-objection-1.html",
        "objection-received-objection-1.txt",
        "objection-received-objection-2.html",
        "objection-received-objection-2.txt",
    ]
    assert _lines(tmp_path / "out" / "objection-received-objection-1.txt") == [
        "江苏卡友互助 - an objection to the decision proposed on your claim #2",
        f"Dear 王小明 (member #2, ID {mask_id_number(app.member(POOL, 2).id_number)}),",
        "",
        "Your claim: Accidental death on 2026-10-21, filed on 2026-10-26.",
        "The decision proposed: to pay 30,000.00 CNY.",
        "",
        "During its public notice, on 2026-11-05, a member of the pool objected to it (objection #1; who "
        "objected is not disclosed).",
        "The objection's reason: he was not at work that day",
        "",
        "What happens next:",
        "  A member jury decides your claim: 5 members drawn at random vote for 3 days whether to pay it as "
        "proposed. The vote counts if at least 60% of the jurors vote; your claim is paid if at least two thirds "
        "of the votes cast say pay.",
        "  Nothing is paid or rejected until then. To answer the objection, send 江苏卡友之家 any document or "
        "fact about it, with your claim number.",
        "",
        "Operator: 江苏卡友之家",
    ]
    html = (tmp_path / "out" / "objection-received-objection-1.html").read_text("utf-8")
    assert "{% extends" not in html and "<h2>The objection's reason</h2>\n<p>he was not at work that day</p>" in html
    assert "赵五" not in html and "赵*" not in html  # the objector, not even masked


def test_an_objection_sent_back_to_review_says_so_in_chinese(make_pool, tmp_path):
    app = make_pool("review")
    result = app.render_notices(POOL, "objection-received", tmp_path / "out", claims=[3], locale="zh-CN")
    assert [p.name for p in result.paths] == ["objection-received-objection-2.txt"]
    lines = _lines(result.paths[0])
    assert lines[0] == "江苏卡友互助 · 您的互助申请 #3 的拟定决定收到异议"
    assert lines[6] == "公示期间，2026-11-05 有一位会员对此提出异议（异议 #2；提出人不予公开）。"
    assert lines[7] == "异议理由：the police report is missing"
    assert lines[9:11] == ["接下来：", "  您的申请将重新调查，届时拟定的决定将再次公示 3 天。"]
    # asked for by claim: a resolved objection is rendered again
    again = app.render_notices(POOL, "objection-received", tmp_path / "again", claims=[4, 5], locale="en")
    assert [p.name for p in again.paths] == ["objection-received-objection-4.txt", "objection-received-objection-5.txt"]


# -- jury-invitation ---------------------------------------------------------------------------------


def test_each_juror_of_an_open_jury_is_invited_with_the_case_masked(make_pool, tmp_path):
    app = make_pool()
    result = app.render_notices(POOL, "jury-invitation", tmp_path / "out", locale="en", formats=("text", "html"))
    assert sorted(p.name for p in result.paths if p.suffix == ".txt") == [
        f"jury-invitation-jury-1-member-{m}.txt" for m in (1, 5, 6, 7, 8)
    ]
    assert _lines(tmp_path / "out" / "jury-invitation-jury-1-member-8.txt") == [
        "江苏卡友互助 - you are a juror for case #3 (jury #1)",
        "Dear Ada Lovelace (member #8),",
        "",
        "You were drawn at random to the member jury that decides case #3: a member objected to the decision "
        "proposed on it. Your vote is one of 5.",
        "",
        "The case (the claimant's name is masked):",
        "  case #3  李*  city not given",
        "  Accidental death on 2026-10-22, filed on 2026-10-27",
        "  Proposed: to pay 30,000.00 CNY",
        "    - an accident at work",
        "",
        "The objections (who made them is not disclosed):",
        "  * the police report is missing",
        "  * the claimant disputes the rejection: the report was filed late by the police",
        "",
        "How to vote: tell 江苏卡友之家 your vote, PAY (pay the claim as proposed) or REJECT, quoting jury #1, by "
        "2026-11-11.",
        "The vote counts if at least 3 of the 5 jurors vote; the claim is paid if at least two thirds of the "
        "votes cast say pay.",
        "Please keep the case to yourself: do not contact the claimant or other jurors about it.",
        "",
        "Operator: 江苏卡友之家",
    ]
    invitation = tmp_path / "out" / "jury-invitation-jury-1-member-5.txt"
    assert "Your vote is recorded: pay." in invitation.read_text("utf-8")
    zh = app.render_notices(POOL, "jury-invitation", tmp_path / "zh", members=[6], locale="zh-CN")
    lines = _lines(zh.paths[0])
    assert (
        lines[3] == "您被随机抽选为案例 #3 的会员评议团成员：有会员对该案例的拟定决定提出了异议。您的一票是 5 票之一。"
    )
    assert (
        "投票方式：请于 2026-11-11 前告知江苏卡友之家您的投票——“给付”（按拟定决定给付）或“拒绝”，并注明评议团 #1。"
        in lines
    )
    assert "您的投票已记录：拒绝。" in lines


# -- jury-result ---------------------------------------------------------------------------------------


def test_the_jury_results_are_one_public_notice(make_pool, tmp_path):
    app = make_pool()
    result = app.render_notices(POOL, "jury-result", tmp_path / "out", locale="en", formats=("text", "html"))
    assert sorted(p.name for p in result.paths) == ["jury-result.en.html", "jury-result.en.txt"]
    today = _lines(tmp_path / "out" / "jury-result.en.txt")[-1].rsplit(" ", 1)[1]
    assert _lines(tmp_path / "out" / "jury-result.en.txt") == [
        "江苏卡友互助 - the results of member juries",
        "",
        "Jury #2 on case #4  孙*  city not given",
        "  Accidental death on 2026-10-23; proposed: aid 30,000.00 CNY",
        "  Voting from 2026-11-08 to 2026-11-11: 4 of 5 jurors voted; pay 3, reject 1.",
        "  Quorum: 3 votes; to pay, at least two thirds of the votes cast.",
        "  Outcome: the claim is to be PAID as proposed.",
        "",
        "Jury #3 on case #5  周*  city not given",
        "  Accidental death on 2026-10-24; proposed: to reject the claim",
        "  Voting from 2026-11-08 to 2026-11-11: 1 of 5 jurors voted; pay 1, reject 0.",
        "  Quorum: 3 votes; to pay, at least two thirds of the votes cast.",
        "  Outcome: no quorum; the claim goes back to review.",
        "",
        "Claimants' and jurors' names are not published.",
        "",
        f"Operator: 江苏卡友之家 · {today}",
    ]
    one = app.render_notices(POOL, "jury-result", tmp_path / "one", claims=[4], locale="zh-CN")
    assert [p.name for p in one.paths] == ["jury-result-claim-4.zh-CN.txt"]
    assert _lines(one.paths[0])[:7] == [
        "江苏卡友互助 · 会员评议团评议结果公示",
        "",
        "评议团 #2 · 案例 #4  孙*  城市未提供",
        "  意外身故，事发 2026-10-23；拟定：互助金 30,000.00 CNY",
        "  投票期 2026-11-08 至 2026-11-11：5 位评议员中 4 位投票；给付 3 票，拒绝 1 票。",
        "  有效票数：3 票；给付需所投票数中至少三分之二同意。",
        "  结果：按拟定决定给付。",
    ]
    with pytest.raises(StateError, match=r"pool 'gov-truckers' has no jury of claim #3 that has closed"):
        app.render_notices(POOL, "jury-result", tmp_path / "none", claims=[3])


# -- the public notice of a public pool --------------------------------------------------------------


def test_a_public_pools_public_notice_lists_the_claims_in_notice_with_their_deadlines(make_pool, tmp_path):
    app = make_pool()
    result = app.render_notices(POOL, "public-notice", tmp_path / "out", period="2026-11", locale="en")
    lines = _lines(result.paths[0])
    assert lines[:8] == [
        "江苏卡友互助 - public notice of the cases of period 2026-11",
        "",
        "These decisions proposed are in public notice: 1 claim, 30,000.00 CNY of aid proposed in total. "
        "Claimants' names are masked.",
        "",
        "  * case #1  张*  苏州",
        "    Accidental death on 2026-10-20, filed on 2026-10-25; proposed: aid 30,000.00 CNY",
        "    objections until 2026-11-06",
        "",
    ]
    assert (
        "To object to a case, write to 江苏卡友之家 with the case number and your reason by the day its notice "
        "closes (shown with each case); an objection sends the case to be reviewed again or to a member jury."
    ) in lines
    zh = app.render_notices(POOL, "public-notice", tmp_path / "zh", period="2026-11", formats=("text", "html"))
    text = (tmp_path / "zh" / "public-notice-2026-11.txt").read_text("utf-8")
    assert (
        "    意外身故，事发 2026-10-20，申请 2026-10-25；拟定：互助金 30,000.00 CNY\n    异议截止 2026-11-06\n" in text
    )
    html = (tmp_path / "zh" / "public-notice-2026-11.html").read_text("utf-8")
    assert '<td class="num">30,000.00</td><td>2026-11-06</td>' in html
    assert len(zh.paths) == 2


# -- refused in a direct pool ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["objection-received", "jury-invitation", "jury-result"])
def test_a_direct_pool_has_no_governance_notices(app, truckers_pool, tmp_path, kind):
    app.create_pool(truckers_pool())
    with pytest.raises(StateError) as raised:
        app.render_notices("js-truckers", kind, tmp_path / "out")
    assert str(raised.value) == (
        "pool 'js-truckers' decides its claims directly (governance = \"direct\"): no decision is put in public "
        f"notice, objected to or sent to a jury, so it has no {kind} notices"
    )


# -- privacy ---------------------------------------------------------------------------------------------


def _reader(app, kind: str, stem: str) -> int | None:
    if stem.startswith("objection-received-objection-"):
        objection = int(stem.rsplit("-", 1)[1])
        with app.transaction() as s:
            claim = s.get(ClaimObjection, objection).claim_id
            return s.get(Claim, claim).member_id
    if stem.startswith("decision-claim-"):
        return next(c.member_id for c in app.claims(POOL) if c.id == int(stem.rsplit("-", 1)[1]))
    return int(stem.rsplit("-", 1)[1])


def test_no_governance_notice_names_anyone_but_its_reader(make_pool, tmp_path):
    app = make_pool()
    people = {m.id: (m.name, m.id_number) for m in (app.member(POOL, n, reveal=True) for n in NAMES)}
    mine = {"objection-received", "jury-invitation", "jury-result", "public-notice"}
    rendered: dict[str, int] = {}
    for kind, spec in all_kinds(app.plugins).items():
        for locale in ("zh-CN", "en"):
            out = tmp_path / f"{kind}-{locale}"
            try:
                result = app.render_notices(
                    POOL, kind, out, period="2026-11", since="2026-01-01", locale=locale, formats=("text", "html")
                )
            except MutualAidError:
                assert kind not in mine
                continue
            for path in result.paths:
                text = path.read_text("utf-8")
                rendered[kind] = rendered.get(kind, 0) + 1
                reader = None if spec.public else _reader(app, kind, path.name.rsplit(".", 1)[0])
                for member, (name, id_number) in people.items():
                    if member == reader:
                        continue
                    assert name not in text, f"{kind} {path.name}: names member #{member}"
                    assert id_number[:14] not in text, f"{kind} {path.name}: shows member #{member}'s ID number"
                assert "审核员甲" not in text  # nor who proposed the decision
                if kind == "objection-received":  # the claimant's own; never the objector, even masked
                    claim = next(c for c, o in OBJECTORS.items() if f"claim #{c}" in text or f"申请 #{c}" in text)
                    objector = NAMES[OBJECTORS[claim]]
                    assert objector[0] + "*" not in text
    assert {k: rendered[k] for k in sorted(mine)} == {
        "jury-invitation": 20,  # 5 jurors, 2 languages, 2 formats
        "jury-result": 4,
        "objection-received": 8,
        "public-notice": 4,
    }


# -- through the services of governance ------------------------------------------------------------


def _scan(paths, people: dict[int, str], reader_of) -> None:
    for path in paths:
        text = path.read_text("utf-8")
        reader = reader_of(path)
        for member, name in people.items():
            assert member == reader or name not in text, f"{path.name}: names member #{member}"


def test_the_notices_follow_a_claim_through_the_governance_services(
    app, truckers_pool, make_driver, tmp_path, monkeypatch
):
    """Each step on a day of its own (the pool's today, ``MUTUALAID_TODAY``): published and objected
    to on 2026-11-02, the jury drawn the day after the notice window closed, the votes cast the day
    after it opened, and it is closed the day after its window."""

    def today(day: date) -> None:
        monkeypatch.setenv(TODAY_ENV, day.isoformat())

    claims = {
        "governance": "public",
        "objections": "jury",
        "notice_window_days": 3,
        "jury": {"size": 5, "voting_days": 3, "quorum": "0.6", "threshold": "two-thirds", "min_tenure_days": 0},
    }
    app.create_pool(truckers_pool(key=POOL, operator="江苏卡友之家", claims=claims))
    for n, name in NAMES.items():
        app.join(POOL, **{**make_driver(n), "name": name})
    claim = _claim(app, 1, 20)
    app.investigate_claim(claim, by="审核员甲")
    app.propose_claim(claim, approve=True, by="审核员甲")
    today(date(2026, 11, 2))
    app.publish_claim(claim, by="审核员乙")
    detail = app.claim(claim)
    assert detail.notice_closes_on == date(2026, 11, 5)  # today + notice_window_days
    closes = detail.notice_closes_on.isoformat()
    benefit = format_minor(detail.proposal["benefit_minor"], "CNY")

    public = app.render_notices(POOL, "public-notice", tmp_path / "p", period="2026-11", locale="en")
    lines = _lines(public.paths[0])
    assert lines[5:7] == [
        f"    Accidental death on 2026-10-20, filed on 2026-10-25; proposed: aid {benefit} CNY",
        f"    objections until {closes}",
    ]

    app.object_to_claim(claim, member=4, reason="he was not at work that day")
    objected = app.render_notices(POOL, "objection-received", tmp_path / "o", locale="en")
    assert [p.name for p in objected.paths] == ["objection-received-objection-1.txt"]
    lines = _lines(objected.paths[0])
    assert lines[1].startswith("Dear 张三 (member #1, ID ")
    assert lines[4] == f"The decision proposed: to pay {benefit} CNY."
    assert lines[7] == "The objection's reason: he was not at work that day"
    assert lines[10].startswith("  A member jury decides your claim: 5 members drawn at random vote for 3 days")
    _scan(objected.paths, NAMES, lambda path: 1)

    today(detail.notice_closes_on + timedelta(days=1))
    draw = app.draw_jury(claim, by="审核员乙", seed=2026)
    assert draw.jury.opened_on == detail.notice_closes_on + timedelta(days=1)
    with app.transaction() as s:
        jurors = sorted(s.scalars(select(Juror.member_id).where(Juror.jury_id == draw.jury.id)))
    assert len(jurors) == 5 and 1 not in jurors and 4 not in jurors
    invited = app.render_notices(POOL, "jury-invitation", tmp_path / "i", locale="en")
    assert [p.name for p in invited.paths] == [f"jury-invitation-jury-1-member-{m}.txt" for m in jurors]
    lines = _lines(invited.paths[0])
    assert lines[6:9] == [
        "  case #1  张*  city not given",
        "  Accidental death on 2026-10-20, filed on 2026-10-25",
        f"  Proposed: to pay {benefit} CNY",
    ]
    assert "  * he was not at work that day" in lines
    assert (
        "How to vote: tell 江苏卡友之家 your vote, PAY (pay the claim as proposed) or REJECT, quoting jury #1, by "
        f"{draw.jury.closes_on.isoformat()}."
    ) in lines
    _scan(invited.paths, NAMES, lambda path: int(path.stem.rsplit("-", 1)[1]))

    today(draw.jury.opened_on + timedelta(days=1))
    for member, vote in zip(jurors, ("pay", "pay", "reject", "pay"), strict=False):
        app.cast_vote(claim, member, vote)
    today(draw.jury.closes_on + timedelta(days=1))
    closing = app.close_jury(claim, by="审核员乙", on=draw.jury.closes_on + timedelta(days=1))
    assert closing.outcome == "approved"
    result = app.render_notices(POOL, "jury-result", tmp_path / "r", locale="en", formats=("text", "html"))
    lines = _lines(tmp_path / "r" / "jury-result.en.txt")
    assert lines[:7] == [
        "江苏卡友互助 - the result of a member jury",
        "",
        "Jury #1 on case #1  张*  city not given",
        f"  Accidental death on 2026-10-20; proposed: aid {benefit} CNY",
        f"  Voting from {draw.jury.opened_on.isoformat()} to {draw.jury.closes_on.isoformat()}: 4 of 5 jurors "
        "voted; pay 3, reject 1.",
        "  Quorum: 3 votes; to pay, at least two thirds of the votes cast.",
        "  Outcome: the claim is to be PAID as proposed.",
    ]
    _scan(result.paths, NAMES, lambda path: None)
    assert app.render_notices(POOL, "objection-received", tmp_path / "none").count == 0  # resolved by the jury
