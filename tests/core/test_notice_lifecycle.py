"""Notices about a membership's events: payment-failed and lapse (postpaid), frozen and unfrozen
(prepaid), exit (both), each from a real pool driven through the API to the event, rendered in
English and Chinese, as text and as HTML.

Postpaid pool: drivers #1-#4 join on 2026-10-01, #1 dies on 2026-10-20 and 2026-11 shares
300,000.00 + 8% fee over the three survivors: 108,000.00 each, deducted on 2026-11-14; the retry
window (5 days) closes on 2026-11-19. Prepaid pool (300.00 on a death): #2 holds 165.00, #3 200.00,
#4 50.00; 324.00 over three is 108.00 each, more than #4 holds, so #4 is frozen on the notice day
2026-11-07 and the two others pay 162.00 each.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mutualaid import MutualAid, StateError

POOL = "js-truckers"


def _csv(tmp_path: Path, name: str, *rows: str, header: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _death(app: MutualAid, member: int) -> None:
    claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)


@pytest.fixture
def postpaid(app, truckers_pool, make_driver, tmp_path):
    """2026-11 shared; #2 paid, collecting #3's share failed twice (14th and 16th), #4's once (15th)."""
    app.create_pool(truckers_pool(payments={"model": "postpaid"}))
    for n in range(1, 5):
        app.join(POOL, **make_driver(n))
    _death(app, 1)
    assert app.share(POOL, "2026-11").share_minor == 10_800_000
    rows = ("2,2026-11,paid,2026-11-14", "3,2026-11,failed,2026-11-14", "3,2026-11,failed,2026-11-16")
    rows += ("4,2026-11,failed,2026-11-15",)
    app.import_payments(POOL, _csv(tmp_path, "payments.csv", *rows, header="member_id,period,result,date"))
    return app


@pytest.fixture
def prepaid(app, truckers_pool, make_driver, tmp_path):
    """2026-11 shared: #4 frozen from 2026-11-07 with 50.00; #2 left 3.00, #3 38.00."""
    app.create_pool(truckers_pool(payments={"model": "prepaid"}, settings={"accidental_death_benefit": 300}))
    for n in range(1, 5):
        app.join(POOL, **make_driver(n))
    rows = ("2,165,2026-10-05,R-2", "3,200,2026-10-05,R-3", "4,50,2026-10-05,R-4")
    app.import_top_ups(POOL, _csv(tmp_path, "top-ups.csv", *rows, header="member_id,amount,date,reference"))
    _death(app, 1)
    run = app.share(POOL, "2026-11")
    assert (run.share_minor, run.frozen_count) == (16_200, 1)
    return app


def _render(app: MutualAid, kind: str, out: Path, **options) -> dict[str, str]:
    """Render in both languages and formats; file name (``en/lapse-3.txt``) -> text."""
    texts = {}
    for locale in ("en", "zh-CN"):
        result = app.render_notices(POOL, kind, out / locale, locale=locale, formats=("text", "html"), **options)
        for path in result.paths:
            texts[f"{locale}/{path.name}"] = path.read_text(encoding="utf-8")
    return texts


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _body(html: str) -> str:
    """The HTML page's <main>, without the layout's head."""
    return html.split("<main>", 1)[1]


# -- payment-failed ------------------------------------------------------------------------------


def test_payment_failed_to_each_unpaid_share_with_a_failed_attempt(postpaid, tmp_path, make_driver):
    texts = _render(postpaid, "payment-failed", tmp_path / "out", period="2026-11")
    assert sorted(texts) == [
        f"{locale}/payment-failed-2026-11-{m}.{ext}"
        for locale in ("en", "zh-CN")
        for m in (3, 4)
        for ext in ("html", "txt")
    ]
    en = _lines(texts["en/payment-failed-2026-11-3.txt"])
    masked = "110*************" + make_driver(3)["id_number"][-2:]
    assert en[:2] == ["江苏卡友互助 - payment failed, period 2026-11", f"Dear 司机3 (member #3, ID {masked}),"]
    assert "Your share of period 2026-11: 108,000.00 CNY, due on the deduction day 2026-11-14." in en
    assert "Collecting it failed on 2026-11-16 (2 attempts failed), and it has not been paid." in en
    assert (
        "It will be retried until 2026-11-19 (the deduction day and the 5 days after it): "
        "please make sure it can be collected by then." in en
    )
    assert (
        "If it is still unpaid at the end of 2026-11-19, your membership lapses: your cover ends, events from "
        "2026-11-20 on are not covered, and you no longer share the pool's costs." in en
    )
    assert en[-1] == "Operator: 江苏卡友之家"
    four = _lines(texts["en/payment-failed-2026-11-4.txt"])
    assert "Collecting it failed on 2026-11-15, and it has not been paid." in four
    zh = _lines(texts["zh-CN/payment-failed-2026-11-3.txt"])
    assert zh[:2] == ["江苏卡友互助 · 扣款失败通知（2026-11 期）", f"司机3（会员号 3，证件号 {masked}）您好："]
    assert "您 2026-11 期的分摊金额：108,000.00 CNY，扣款日 2026-11-14。" in zh
    assert "该笔扣款于 2026-11-16 失败（已失败 2 次），目前尚未缴纳。" in zh
    assert "扣款将重试至 2026-11-19（扣款日及其后 5 天），请确保届时可以成功扣款。" in zh
    assert (
        "如 2026-11-19 结束时仍未缴纳，您的会员资格将失效：保障终止，自 2026-11-20 起发生的事件不在保障范围内，"
        "您也不再参与分摊。" in zh
    )
    html = _body(texts["en/payment-failed-2026-11-3.html"])
    assert '<p class="amount">108,000.00 CNY</p>' in html
    assert "retried until <strong>2026-11-19</strong> (the deduction day and the 5 days after it)" in html
    assert make_driver(3)["id_number"] not in "".join(texts.values())
    zh_html = _body(texts["zh-CN/payment-failed-2026-11-4.html"])
    assert "<p>该笔扣款于 2026-11-15 失败，目前尚未缴纳。</p>" in zh_html


def test_payment_failed_states_the_pools_own_retry_days(app, truckers_pool, make_driver, tmp_path):
    app.create_pool(truckers_pool(payments={"model": "postpaid", "retry_days": 10}))
    for n in range(1, 4):
        app.join(POOL, **make_driver(n))
    _death(app, 1)
    app.share(POOL, "2026-11")  # 324,000.00 over two: 162,000.00 each
    app.import_payments(
        POOL, _csv(tmp_path, "p.csv", "2,2026-11,failed,2026-11-14", header="member_id,period,result,date")
    )
    result = app.render_notices(POOL, "payment-failed", tmp_path / "out", period="2026-11", locale="en")
    (path,) = result.paths
    text = _lines(path.read_text(encoding="utf-8"))
    assert "Your share of period 2026-11: 162,000.00 CNY, due on the deduction day 2026-11-14." in text
    assert (
        "It will be retried until 2026-11-24 (the deduction day and the 10 days after it): "
        "please make sure it can be collected by then." in text
    )


def test_payment_failed_needs_a_shared_period_and_a_postpaid_pool(postpaid, prepaid_pool_key, tmp_path):
    from mutualaid import NotFoundError, ValidationError

    with pytest.raises(ValidationError, match=re.escape("--period is required for payment-failed notices")):
        postpaid.render_notices(POOL, "payment-failed", tmp_path / "a")
    with pytest.raises(NotFoundError) as caught:
        postpaid.render_notices(POOL, "payment-failed", tmp_path / "a", period="2026-12")
    assert str(caught.value) == "period 2026-12 of pool 'js-truckers' has not been shared, so nothing is due for it"
    with pytest.raises(StateError) as refused:
        postpaid.render_notices(prepaid_pool_key, "payment-failed", tmp_path / "a", period="2026-11")
    assert str(refused.value) == (
        "pool 'prepaid' is prepaid: shares are deducted from members' balances, so it has no payment-failed notices"
    )
    assert not (tmp_path / "a").exists()


@pytest.fixture
def prepaid_pool_key(app, truckers_pool) -> str:
    app.create_pool(truckers_pool(key="prepaid", payments={"model": "prepaid"}))
    return "prepaid"


# -- lapse ---------------------------------------------------------------------------------------


def test_lapse_says_when_why_what_it_means_and_how_to_rejoin(postpaid, tmp_path, make_driver):
    (settled,) = postpaid.settle_payments(POOL, "2026-11-20")
    assert settled.lapsed == 2
    texts = _render(postpaid, "lapse", tmp_path / "out")
    assert sorted(texts) == [
        f"{locale}/lapse-{m}.{ext}" for locale in ("en", "zh-CN") for m in (3, 4) for ext in ("html", "txt")
    ]
    masked = "110*************" + make_driver(3)["id_number"][-2:]
    assert _lines(texts["en/lapse-3.txt"]) == [
        "江苏卡友互助 - membership lapsed",
        f"Dear 司机3 (member #3, ID {masked}),",
        "",
        "Your membership lapsed: its last day was 2026-11-19, and it ended from 2026-11-20.",
        "Why: your share of period 2026-11, 108,000.00 CNY, could not be collected (the last attempt failed on "
        "2026-11-16) and was not paid by the end of its retry window on 2026-11-19. The pool wrote it off.",
        "",
        "What this means:",
        "  * Events from 2026-11-20 on are not covered: a claim for one is refused.",
        "  * You share no period whose public notice comes after 2026-11-19: cases put in public notice after that "
        "day are not yours to pay.",
        "  * A lapsed membership cannot be paid up late or resumed.",
        "",
        "To rejoin, apply to join again: that is a new membership, with a new member number. You are checked for "
        "eligibility again and have the waiting period of a new member.",
        "",
        "Operator: 江苏卡友之家",
    ]
    zh = _lines(texts["zh-CN/lapse-4.txt"])
    assert "您的会员资格已失效：最后一天为 2026-11-19，自 2026-11-20 起终止。" in zh
    assert (
        "原因：您 2026-11 期的分摊金额 108,000.00 CNY 扣款失败（最后一次失败于 2026-11-15），且在重试期结束日 "
        "2026-11-19 前未缴纳，该笔金额已核销。" in zh
    )
    assert "  · 公示日在 2026-11-19 之后的各期您不再参与分摊：此后进入公示的案例无需您分摊。" in zh
    html = _body(texts["zh-CN/lapse-3.html"])
    assert "<li>自 2026-11-20 起发生的事件不在保障范围内，相关互助申请将被驳回。</li>" in html
    assert "<p>您的会员资格已失效：最后一天为 <strong>2026-11-19</strong>，自 2026-11-20 起终止。</p>" in html


def test_lapse_notices_by_day_and_by_member(postpaid, tmp_path):
    postpaid.settle_payments(POOL, "2026-11-20")
    assert postpaid.render_notices(POOL, "lapse", tmp_path / "a", since="2026-11-21").count == 0
    assert postpaid.render_notices(POOL, "lapse", tmp_path / "b", since="2026-11-20").count == 2
    only = postpaid.render_notices(POOL, "lapse", tmp_path / "c", members=[4], locale="en")
    assert [p.name for p in only.paths] == ["lapse-4.txt"]
    # the send log's reference: the history row of the lapse
    from mutualaid.notices import Renderer, prepare

    with postpaid.transaction() as session:
        pool, spec, request = prepare(session, postpaid.plugins, POOL, "lapse")
        notices = list(Renderer(session, postpaid.plugins, pool, spec, request).notices())
    assert [n.member_id for n in notices] == [3, 4]
    assert len({n.reference for n in notices}) == 2 and all(n.reference.isdigit() for n in notices)


def test_lapse_notices_find_the_lapses_by_the_index_of_the_history_past_joining(postpaid, tmp_path):
    """The members given a lapse since a day are found among the history rows past joining (a
    partial index by change and day, revision 0018), not by reading every member's history, whose
    joining rows are most of the table: on SQLite the plan searches that index and never scans the
    history; PostgreSQL can use it too (told not to scan, it does: the query implies the index's
    condition)."""
    from sqlalchemy import event

    postpaid.settle_payments(POOL, "2026-11-20")
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "member_status_changes" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(postpaid.engine, "before_cursor_execute", keep)
    try:
        assert postpaid.render_notices(POOL, "lapse", tmp_path / "a", since="2026-11-20").count == 2
        assert postpaid.render_notices(POOL, "lapse", tmp_path / "b").count == 2
    finally:
        event.remove(postpaid.engine, "before_cursor_execute", keep)
    assert len(seen) >= 2
    index = "ix_member_status_changes_past_joining"
    with postpaid.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for statement, parameters in seen:
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            plan = [
                str(row[0] if postgres else row[3]) for row in conn.exec_driver_sql(explain + statement, parameters)
            ]
            assert any(index in step for step in plan), plan
            if not postgres:
                assert not [step for step in plan if step.startswith("SCAN member_status_changes")], plan
                searched = [step for step in plan if index in step]
                assert all("(change=?" in step for step in searched), plan


# -- frozen and unfrozen -------------------------------------------------------------------------


def test_frozen_gives_the_balance_the_share_and_how_to_be_unfrozen(prepaid, tmp_path, make_driver):
    texts = _render(prepaid, "frozen", tmp_path / "out")
    assert sorted(texts) == ["en/frozen-4.html", "en/frozen-4.txt", "zh-CN/frozen-4.html", "zh-CN/frozen-4.txt"]
    masked = "110*************" + make_driver(4)["id_number"][-2:]
    assert _lines(texts["en/frozen-4.txt"]) == [
        "江苏卡友互助 - membership frozen",
        f"Dear 司机4 (member #4, ID {masked}),",
        "",
        "Your membership is frozen from 2026-11-07.",
        "When period 2026-11 was shared, your balance could not cover its share of 162.00 CNY.",
        "Your balance now: 50.00 CNY.",
        "",
        "While you are frozen:",
        "  * you do not share the pool's costs (nothing is deducted from your balance);",
        "  * events that happen while you are frozen are not covered.",
        "",
        "To be unfrozen, top up so that your balance is at least 5.00 CNY: your cover resumes from the day of the "
        "top-up that brings it there.",
        "A balance that cannot cover a period's share when it is shared freezes the membership again.",
        "",
        "Operator: 江苏卡友之家",
    ]
    zh = _lines(texts["zh-CN/frozen-4.txt"])
    assert "您的会员资格自 2026-11-07 起冻结。" in zh
    assert "2026-11 期分摊时，您的余额不足以支付该期分摊金额 162.00 CNY。" in zh
    assert "您目前的余额：50.00 CNY。" in zh
    assert "充值后余额不少于 5.00 CNY 即可解冻，自使余额达到该金额的充值当日起恢复保障。" in zh
    html = _body(texts["en/frozen-4.html"])
    assert '<p class="amount">50.00 CNY</p>' in html
    assert "<p>Your membership is frozen from <strong>2026-11-07</strong>.</p>" in html

    # unfrozen by a top-up: no longer frozen, so no frozen notice; an unfrozen one instead
    assert prepaid.top_up(POOL, 4, "120", "2026-11-20", "R-5").unfrozen
    assert prepaid.render_notices(POOL, "frozen", tmp_path / "again").count == 0
    texts = _render(prepaid, "unfrozen", tmp_path / "unfrozen")
    assert sorted(texts) == ["en/unfrozen-4.html", "en/unfrozen-4.txt", "zh-CN/unfrozen-4.html", "zh-CN/unfrozen-4.txt"]
    assert _lines(texts["en/unfrozen-4.txt"])[3:6] == [
        "Your membership is no longer frozen: your cover is restored from 2026-11-20, and events from that day on "
        "are covered again.",
        "Your balance now: 170.00 CNY.",
        "",
    ]
    zh = _lines(texts["zh-CN/unfrozen-4.txt"])
    assert zh[:2] == ["江苏卡友互助 · 恢复保障通知", f"司机4（会员号 4，证件号 {masked}）您好："]
    assert "您的会员资格已解冻：自 2026-11-20 起恢复保障，此后发生的事件重新在保障范围内。" in zh
    assert "您目前的余额：170.00 CNY。" in zh
    assert '<p class="amount">170.00 CNY</p>' in _body(texts["zh-CN/unfrozen-4.html"])


def test_frozen_again_by_a_later_run_gets_one_notice_of_its_latest_freeze(prepaid, tmp_path):
    prepaid.top_up(POOL, 4, "100", "2026-11-20", "R-5")  # 150.00: unfrozen from 2026-11-20
    prepaid.top_up(POOL, 3, "400", "2026-11-20", "R-6")  # 438.00
    claim = prepaid.file_claim(POOL, 2, event_kind="accidental_death", event_date="2026-11-21", filed_on="2026-11-25")
    prepaid.approve_claim(claim.id)
    # 324.00 over #3 and #4 is 162.00, more than #4's 150.00: #4 is frozen again and #3 pays it all
    december = prepaid.share(POOL, "2026-12")
    assert (december.frozen_count, december.share_minor) == (1, 32_400)
    result = prepaid.render_notices(POOL, "frozen", tmp_path / "out", locale="en")
    assert [p.name for p in result.paths] == ["frozen-4.txt"]
    four = _lines((tmp_path / "out" / "frozen-4.txt").read_text(encoding="utf-8"))
    assert "Your membership is frozen from 2026-12-07." in four
    assert "When period 2026-12 was shared, your balance could not cover its share of 324.00 CNY." in four
    assert "Your balance now: 150.00 CNY." in four
    assert prepaid.render_notices(POOL, "frozen", tmp_path / "later", since="2026-12-08").count == 0
    assert prepaid.render_notices(POOL, "unfrozen", tmp_path / "u", since="2026-11-20").count == 1
    assert prepaid.render_notices(POOL, "unfrozen", tmp_path / "v", since="2026-11-21").count == 0


@pytest.mark.parametrize("kind", ["frozen", "unfrozen"])
def test_frozen_and_unfrozen_are_refused_in_a_postpaid_pool(postpaid, tmp_path, kind):
    with pytest.raises(StateError) as caught:
        postpaid.render_notices(POOL, kind, tmp_path / "out", locale="en", formats=("text", "html"))
    assert str(caught.value) == (
        f"pool 'js-truckers' is postpaid: its members keep no balance and are never frozen, so it has no {kind} notices"
    )
    assert not (tmp_path / "out").exists()


# -- exit ----------------------------------------------------------------------------------------


def test_exit_postpaid_says_what_is_still_shared_and_no_balance(postpaid, tmp_path, make_driver):
    postpaid.exit_member(POOL, 2, "2026-11-25")
    texts = _render(postpaid, "exit", tmp_path / "out")
    assert sorted(texts) == ["en/exit-2.html", "en/exit-2.txt", "zh-CN/exit-2.html", "zh-CN/exit-2.txt"]
    masked = "110*************" + make_driver(2)["id_number"][-2:]
    assert _lines(texts["en/exit-2.txt"]) == [
        "江苏卡友互助 - you have left the pool",
        f"Dear 司机2 (member #2, ID {masked}),",
        "",
        "Your exit is recorded: your last day as a member was 2026-11-25. From 2026-11-26 you are no longer a "
        "member, and events from that day on are not covered.",
        "",
        "What you still share:",
        "  * Every period whose public notice was on or before 2026-11-25: its cases were already in public notice, "
        "so you share it even if it is shared later.",
        "  * No later period.",
        "  * Shares already charged to you stand; they are not refunded.",
        "",
        "You may apply to join again later: that is a new membership, with a new member number and the waiting "
        "period of a new member.",
        "",
        "Operator: 江苏卡友之家",
    ]
    assert "预存余额" not in texts["zh-CN/exit-2.txt"] and "balance" not in texts["en/exit-2.html"]
    # a death is not an exit
    postpaid.record_death(POOL, 3, "2026-11-26")
    assert postpaid.render_notices(POOL, "exit", tmp_path / "again", locale="en").count == 1


def test_exit_prepaid_states_the_balance_still_held(prepaid, tmp_path):
    prepaid.exit_member(POOL, 3, "2026-11-25")
    texts = _render(prepaid, "exit", tmp_path / "out", members=[3])
    en = _lines(texts["en/exit-3.txt"])
    assert (
        "Your prepaid balance: 38.00 CNY. The pool still holds it: it is not paid back automatically, and a share of "
        "a period you still share is deducted from it. To get it back, ask 江苏卡友之家." in en
    )
    zh = _lines(texts["zh-CN/exit-3.txt"])
    assert (
        "您的退出已登记：您作为会员的最后一天为 2026-11-25。自 2026-11-26 起您不再是会员，此后发生的事件不在保障范围内。"
        in zh
    )
    assert (
        "您的预存余额：38.00 CNY。该余额仍由本计划保管，不会自动退还，您仍需分摊的各期分摊金额将从中扣除。"
        "如需取回，请联系江苏卡友之家。" in zh
    )
    assert '<h2>您的预存余额</h2>\n<p class="amount">38.00 CNY</p>' in _body(texts["zh-CN/exit-3.html"])


# -- escaping ------------------------------------------------------------------------------------


def test_html_escapes_the_members_name_and_text_does_not(app, truckers_pool, make_driver, tmp_path):
    app.create_pool(truckers_pool(payments={"model": "postpaid"}))
    app.join(POOL, **{**make_driver(1), "name": "<b>X</b>"})
    app.exit_member(POOL, 1, "2026-10-10")
    texts = _render(app, "exit", tmp_path / "out")
    for locale in ("en", "zh-CN"):
        assert "<b>X</b>" in texts[f"{locale}/exit-1.txt"] and "&lt;" not in texts[f"{locale}/exit-1.txt"]
        html = texts[f"{locale}/exit-1.html"]
        assert "&lt;b&gt;X&lt;/b&gt;" in html and "<b>X</b>" not in html
    assert "Dear &lt;b&gt;X&lt;/b&gt; (member #1, ID " in texts["en/exit-1.html"]
