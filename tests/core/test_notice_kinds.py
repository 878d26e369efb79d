"""The public notice of a period's cases and decision letters, read as members would read them.

The pool: eight drivers (test_notices' pool). 张三 (member 1, of 苏州) dies in an accident on
2026-10-20 and 王小明 (member 2) is disabled (grade 10: 30,000.00); 李四 (member 3) claims an
accident while drunk driving, which the operator rejects.
"""

from __future__ import annotations

import pytest

from mutualaid import NotFoundError, ValidationError
from mutualaid.cli import State, cli

POOL = "js-truckers"
NAMES = {1: "张三", 2: "王小明", 3: "李四", 4: "赵五"}


@pytest.fixture
def pool(app, truckers_pool, make_driver):
    app.create_pool(truckers_pool(operator="江苏卡友之家"))
    for n, name in NAMES.items():
        app.join(POOL, **{**make_driver(n), "name": name})
    with app.transaction() as session:
        from sqlalchemy import update

        from mutualaid.db.models import Member

        session.execute(update(Member).where(Member.id == 1).values(city="苏州"))
    first = app.file_claim(POOL, 1, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(first.id)
    second = app.file_claim(
        POOL,
        2,
        event_kind="accidental_disability",
        event_date="2026-10-21",
        filed_on="2026-10-26",
        details={"disability_grade": "10"},
    )
    app.approve_claim(second.id)
    third = app.file_claim(
        POOL,
        3,
        event_kind="accidental_disability",
        event_date="2026-10-22",
        filed_on="2026-10-27",
        details={"disability_grade": "9"},
    )
    app.reject_claim(third.id, "the police report shows drunk driving")
    return app


def _invoke(runner, plugins, db_url, *args):
    return runner.invoke(cli, ["--database-url", db_url, *args], obj=State(plugins=plugins), prog_name="mutualaid")


def test_the_public_notice_before_the_run_lists_the_approved_cases_masked(pool, tmp_path):
    result = pool.render_notices(POOL, "public-notice", tmp_path / "out", period="2026-11", locale="en")
    assert result.count == 1
    assert [p.name for p in result.paths] == ["public-notice-2026-11.en.txt"]
    text = result.paths[0].read_text("utf-8")
    assert (
        text
        == (
            "江苏卡友互助 - public notice of the cases of period 2026-11\n"
            "\n"
            "These cases will be shared in period 2026-11: 2 cases, 330,000.00 CNY of aid in total. "
            "Claimants' names are masked.\n"
            "\n"
            "  * case #1  张*  苏州\n"
            "    Accidental death on 2026-10-20, filed on 2026-10-25; aid 300,000.00 CNY\n"
            "  * case #2  王**  city not given\n"
            "    Accidental disability on 2026-10-21, filed on 2026-10-26; aid 30,000.00 CNY\n"
            "\n"
            "Members are counted at 00:00 on 2026-11-07; shares are deducted on 2026-11-14.\n"
            "The management fee is 8% of the aid amount.\n"
            "\n"
            "To object to a case, write to 江苏卡友之家 with the case number and your reason by 2026-11-13 "
            "(the day before the deduction day).\n"
            "\n"
            "Ledger head at this notice: 0:" + "0" * 64 + "\n"  # nothing posted yet: the chain's start
            "(keep it: with it anyone can check that the pool's books were not rewritten afterwards)\n"
            "\n"
            f"Operator: 江苏卡友之家 · {text.rsplit(' · ', 1)[1]}"
        )
    )
    for name in NAMES.values():
        assert name not in text  # nobody named, not even the rejected claimant


def test_the_public_notice_after_the_run_lists_what_it_shared_in_chinese_and_html(pool, tmp_path):
    pool.share(POOL, "2026-11")
    pool.file_claim(POOL, 4, event_kind="accidental_death", event_date="2026-11-20", filed_on="2026-11-22")
    result = pool.render_notices(POOL, "public-notice", tmp_path / "out", period="2026-11", formats=("text", "html"))
    assert sorted(p.name for p in result.paths) == ["public-notice-2026-11.html", "public-notice-2026-11.txt"]
    text = (tmp_path / "out" / "public-notice-2026-11.txt").read_text("utf-8")
    assert "以下案例已于 2026-11 期分摊：共 2 例，互助金合计 330,000.00 CNY。受助人已隐去姓名。\n" in text
    assert "  · 案例 #1  张*  苏州\n    意外身故，事发 2026-10-20，申请 2026-10-25；互助金 300,000.00 CNY\n" in text
    assert "如对案例有异议，请于 2026-11-13（扣款日前一天）前联系江苏卡友之家" in text
    assert "#4" not in text  # filed after the run, not decided: not this period's
    html = (tmp_path / "out" / "public-notice-2026-11.html").read_text("utf-8")
    assert '<html lang="zh-CN">' in html
    assert '<td>#1</td><td>张*<br><span class="note">苏州</span></td>' in html
    assert "张三" not in html and "王小明" not in html


def test_a_no_fee_pool_says_so_in_its_public_notice(app, truckers_pool, make_driver, tmp_path):
    app.create_pool(truckers_pool(sharing={"management_fee": "none"}))
    app.join(POOL, **make_driver(1))
    result = app.render_notices(POOL, "public-notice", tmp_path / "out", period="2026-11", locale="en")
    text = result.paths[0].read_text("utf-8")
    assert "No cases are to be shared in period 2026-11.\n" in text
    assert "This pool charges no management fee.\n" in text
    assert "%" not in text


def test_decision_letters_one_per_decided_claim(pool, tmp_path):
    result = pool.render_notices(POOL, "decision", tmp_path / "out", locale="en")
    assert sorted(p.name for p in result.paths) == [f"decision-claim-{n}.txt" for n in (1, 2, 3)]
    approved = (tmp_path / "out" / "decision-claim-2.txt").read_text("utf-8")
    assert approved.startswith("江苏卡友互助 - decision on your claim #2\nDear 王小明 (member #2, ID 110*************")
    assert "Your claim: Accidental disability on 2026-10-21, filed on 2026-10-26.\n" in approved
    assert ": APPROVED. Benefit: 30,000.00 CNY (the rules' limit for this claim: 300,000.00 CNY).\n" in approved
    assert "It will be shared among the members in the next sharing period, after its public notice.\n" in approved
    rejected = (tmp_path / "out" / "decision-claim-3.txt").read_text("utf-8")
    assert ": REJECTED.\nReasons:\n  * the police report shows drunk driving\n" in rejected
    assert "refunded" not in rejected  # the truckers' rules refund nothing
    assert "If you disagree, write to 江苏卡友之家 with your claim number" in rejected
    for letter, own in ((approved, "王小明"), (rejected, "李四")):
        others = [n for n in NAMES.values() if n != own]
        assert not any(name in letter for name in others)


def test_a_decision_letter_after_the_run_names_the_period_that_funded_it(pool, tmp_path):
    pool.share(POOL, "2026-11")
    result = pool.render_notices(POOL, "decision", tmp_path / "out", claims=[1], formats=("text", "html"))
    assert sorted(p.name for p in result.paths) == ["decision-claim-1.html", "decision-claim-1.txt"]
    text = (tmp_path / "out" / "decision-claim-1.txt").read_text("utf-8")
    assert "审核结果" in text and "：通过。互助金：300,000.00 CNY" in text
    assert "本案已于 2026-11 期由会员分摊，实付 300,000.00 CNY。\n" in text


def test_cli_renders_a_public_notice_and_refuses_one_without_a_period(pool, runner, plugins, db_url, tmp_path):
    ok = _invoke(
        runner,
        plugins,
        db_url,
        "notice",
        "render",
        POOL,
        "--kind",
        "public-notice",
        "--period",
        "2026-11",
        "--out",
        str(tmp_path / "o"),
        "--format",
        "both",
    )
    assert ok.exit_code == 0, ok.output
    assert ok.output == f"rendered 1 public-notice notice into {tmp_path / 'o'}\n"
    bad = _invoke(
        runner, plugins, db_url, "notice", "render", POOL, "--kind", "public-notice", "--out", str(tmp_path / "p")
    )
    assert bad.exit_code == 1
    assert bad.output == "Error: --period is required for public-notice notices, e.g. --period 2026-11\n"
    assert not (tmp_path / "p").exists()
    unknown = _invoke(
        runner, plugins, db_url, "notice", "render", POOL, "--kind", "bogus", "--out", str(tmp_path / "q")
    )
    assert unknown.exit_code == 1
    assert unknown.output.startswith("Error: kind: 'bogus' is not a kind of notice; the kinds are welcome, statement")
    assert not (tmp_path / "q").exists()


def test_unknown_pool_or_bad_format(pool, tmp_path):
    with pytest.raises(NotFoundError):
        pool.render_notices("nope", "decision", tmp_path / "x")
    with pytest.raises(ValidationError) as info:
        pool.render_notices(POOL, "decision", tmp_path / "y", formats=("pdf",))
    assert str(info.value) == "format 'pdf' is not supported; use text or html (or both)"
    assert not (tmp_path / "y").exists()


def test_a_template_cannot_change_what_the_next_members_notice_sees(app, truckers_pool, make_driver, tmp_path):
    """A statement template that appends each reader to the period's list of cases would show
    member 2's name in member 3's statement; the sandbox is immutable, so it is refused."""
    app.create_pool(truckers_pool())
    for n in (1, 2, 3):
        app.join(POOL, **make_driver(n))
    claim = app.file_claim(POOL, 1, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)
    app.share(POOL, "2026-11")
    templates = tmp_path / "templates" / "en"
    templates.mkdir(parents=True)
    (templates / "statement.txt.j2").write_text(
        "{{ claims.append({'claimant': member.name}) or '' }}{% for c in claims %}{{ c.claimant }}\n{% endfor %}",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    with pytest.raises(ValidationError) as info:
        app.render_notices(POOL, "statement", out, period="2026-11", locale="en", templates=tmp_path / "templates")
    assert str(info.value).startswith("template en/statement.txt.j2 is not allowed to do that: ")
    assert "append" in str(info.value)
    assert list(out.iterdir()) == []  # nothing rendered is left


def test_a_rendering_killed_before_it_cleaned_up_leaves_nothing_behind_the_next_one(pool, tmp_path):
    """A killed rendering's staging directory (finished notices: names and amounts), beside the
    output directory or, as renderings staged before, inside it, is removed by the next rendering
    there; one of a live process is left alone."""
    import os
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    out = tmp_path / "out"
    out.mkdir()
    stale = tmp_path / f".out.rendering-{dead.pid}-abcd"
    legacy = out / f".rendering-{dead.pid}-efgh"
    for leftover in (stale, legacy):
        leftover.mkdir()
        (leftover / "statement-2026-11-2.txt").write_text("王小明 ... 30,000.00", encoding="utf-8")
    busy = tmp_path / f".out.rendering-{os.getppid()}-ijkl"
    busy.mkdir()
    pool.render_notices(POOL, "decision", out, claims=[1], locale="en")
    assert not stale.exists() and not legacy.exists()
    assert busy.exists()
    assert sorted(p.name for p in out.iterdir()) == ["decision-claim-1.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [busy.name]
