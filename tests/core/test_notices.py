"""Member notices: statements after a sharing run and welcome notices, through the API and the CLI.

The pool: eight drivers. In October 张三 (member 1) dies in an accident and 王小明 (member 2) is
disabled (grade 10: 30,000.00). Period 2026-11 shares 330,000.00 + 8% fee = 356,400.00 among the
seven survivors: ceil(35,640,000 / 7) = 5,091,429 fen each, 3 fen of surplus carried out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mutualaid import NotFoundError, ValidationError
from mutualaid.cli import State, cli

POOL = "js-truckers"
NAMES = {1: "张三", 2: "王小明", 3: "李四", 4: "赵五", 5: "孙六", 6: "周七", 7: "吴八", 8: "郑九"}
SHARING = (2, 3, 4, 5, 6, 7, 8)  # member 1 died before the notice day


@pytest.fixture
def pool(app, truckers_pool, make_driver):
    """The pool with period 2026-11 shared; returns the app."""
    app.create_pool(truckers_pool(operator="江苏卡友之家"))
    for n, name in NAMES.items():
        app.join(POOL, **{**make_driver(n), "name": name})
    _claim(app, 1, "accidental_death", "2026-10-20")
    _claim(app, 2, "accidental_disability", "2026-10-20", grade=10)
    result = app.share(POOL, "2026-11")
    assert (result.share_minor, result.surplus_out_minor) == (5_091_429, 3)
    return app


@pytest.fixture
def out(tmp_path) -> Path:
    """An output directory of its own (tmp_path also holds the SQLite database)."""
    return tmp_path / "notices"


def _claim(app, member: int, kind: str, day: str, *, grade: int | None = None) -> None:
    details = {"disability_grade": str(grade)} if grade else {}
    filed = day[:-2] + "25"
    claim = app.file_claim(POOL, member, event_kind=kind, event_date=day, details=details, filed_on=filed)
    app.approve_claim(claim.id)


def _invoke(runner, plugins, db_url, *args):
    return runner.invoke(cli, ["--database-url", db_url, *args], obj=State(plugins=plugins), prog_name="mutualaid")


def _statements(out: Path) -> dict[int, str]:
    texts = {}
    for path in sorted(out.iterdir()):
        match = re.fullmatch(r"statement-2026-11-(\d+)\.txt", path.name)
        assert match, path.name
        texts[int(match.group(1))] = path.read_text(encoding="utf-8")
    return texts


# -- statements ----------------------------------------------------------------------------------


def test_statement_per_charged_member_zh_cn(pool, out):
    result = pool.render_statements(POOL, "2026-11", out)
    assert result.count == 7
    texts = _statements(out)
    assert sorted(texts) == list(SHARING)
    assert sorted(result.paths) == sorted(out / f"statement-2026-11-{m}.txt" for m in SHARING)
    text = texts[3]
    assert text.startswith("江苏卡友互助 · 分摊通知（2026-11 期）\n李四（会员号 3）您好：\n")
    assert "本期您的分摊金额：50,914.29 CNY\n" in text
    assert "扣款日：2026-11-14（分摊人数按 2026-11-07 零时在保会员计算）" in text
    assert "本期资助的互助案例（2 例，受助人已隐去姓名）：" in text
    assert "  · 案例 #1  张*  意外身故（2026-10-20）  互助金 300,000.00 CNY\n" in text
    assert "  · 案例 #2  王**  意外伤残（2026-10-20）  互助金 30,000.00 CNY\n" in text
    assert "  互助金合计        " + f"{'330,000.00':>16}" + "\n" in text
    assert "  管理费            " + f"{'26,400.00':>16}" + "（互助金的 8%）\n" in text
    assert "  本期应分摊        " + f"{'356,400.00':>16}" + "\n" in text
    assert "  分摊会员人数      " + f"{'7':>16}" + "\n" in text
    assert "  本期实收合计      " + f"{'356,400.03':>16}" + "\n" in text
    assert "  结余转入下期      " + f"{'0.03':>16}" + "\n" in text
    assert "2026 年累计分摊：50,914.29 CNY\n" in text


def test_statement_in_english(pool, out):
    pool.render_statements(POOL, "2026-11", out, locale="en")
    text = (out / "statement-2026-11-5.txt").read_text(encoding="utf-8")
    assert text.startswith("江苏卡友互助 - sharing statement, period 2026-11\nDear 孙六 (member #5),\n")
    assert "Your share this period: 50,914.29 CNY\n" in text
    assert "Deducted on: 2026-11-14 (members sharing counted at 00:00 on 2026-11-07)" in text
    assert "Cases funded this period (2; claimants' names masked):" in text
    assert "  * case #1  张*  Accidental death (2026-10-20)  aid 300,000.00 CNY\n" in text
    assert "  * case #2  王**  Accidental disability (2026-10-20)  aid 30,000.00 CNY\n" in text
    assert "  management fee        " + f"{'26,400.00':>16}" + "  (8% of the aid amount)\n" in text
    assert "  charged in total      " + f"{'356,400.03':>16}" + "\n" in text
    assert "Shared by you in 2026 so far: 50,914.29 CNY\n" in text
    assert "分摊" not in text


def test_exact_apportionment_statements_show_each_members_own_amount(app, truckers_pool, make_driver, out):
    app.create_pool(truckers_pool(sharing={"rounding": "exact"}))
    for n in range(1, 9):
        app.join(POOL, **make_driver(n))
    _claim(app, 1, "accidental_death", "2026-10-20")  # 32,400,000 fen over 7: 4,628,571 each, 3 pay 1 fen more
    app.share(POOL, "2026-11")
    app.render_statements(POOL, "2026-11", out, locale="en")
    charged = {}
    for m in range(2, 9):
        text = (out / f"statement-2026-11-{m}.txt").read_text(encoding="utf-8")
        charged[m] = re.search(r"^Your share this period: (\S+) CNY$", text, re.M).group(1)
    assert charged == {
        2: "46,285.72",
        3: "46,285.72",
        4: "46,285.72",
        5: "46,285.71",
        6: "46,285.71",
        7: "46,285.71",
        8: "46,285.71",
    }


def test_claimants_and_other_members_are_not_named_in_statements(pool, tmp_path):
    pool.render_statements(POOL, "2026-11", tmp_path / "zh")
    pool.render_statements(POOL, "2026-11", tmp_path / "en", locale="en")
    pool.render_statements(POOL, "2026-11", tmp_path / "stream", layout="stream")
    for locale in ("zh", "en"):
        for path in (tmp_path / locale).iterdir():
            member = int(path.stem.rsplit("-", 1)[1])
            text = path.read_text(encoding="utf-8")
            assert "张三" not in text  # the deceased claimant, in every statement
            for other, name in NAMES.items():
                if other != member:
                    assert name not in text, f"{name} (member {other}) appears in the statement of member {member}"
            assert NAMES[member] in text  # a member's own statement greets them by name
    # the stream file holds every statement, so it names only the members it is addressed to
    stream = (tmp_path / "stream" / "statements-2026-11.txt").read_text(encoding="utf-8")
    assert "张三" not in stream
    assert stream.count("张*") == 7


def test_year_to_date_adds_up_periods_and_resets_in_a_new_year(pool, tmp_path):
    # 2026-12: 30,000.00 + 8% = 3,240,000 fen - 3 fen surplus = 3,239,997 over 7 -> 462,857 (2 fen surplus)
    _claim(pool, 3, "accidental_disability", "2026-11-20", grade=10)
    december = pool.share(POOL, "2026-12")
    assert (december.surplus_in_minor, december.share_minor, december.surplus_out_minor) == (3, 462_857, 2)
    # 2027-01: 3,240,000 - 2 = 3,239,998 over 7 -> 462,857
    _claim(pool, 4, "accidental_disability", "2026-12-20", grade=10)
    january = pool.share(POOL, "2027-01")
    assert january.share_minor == 462_857

    pool.render_statements(POOL, "2026-12", tmp_path / "dec", locale="en")
    pool.render_statements(POOL, "2027-01", tmp_path / "jan", locale="en")
    dec = (tmp_path / "dec" / "statement-2026-12-6.txt").read_text(encoding="utf-8")
    assert "Your share this period: 4,628.57 CNY\n" in dec
    assert "Shared by you in 2026 so far: 55,542.86 CNY\n" in dec  # 50,914.29 + 4,628.57
    assert "case #3  李*  Accidental disability (2026-11-20)  aid 30,000.00 CNY" in dec
    assert "case #1" not in dec and "case #2" not in dec  # only the claims this period funded
    assert "  surplus carried in    " + f"{'-0.03':>16}" + "\n" in dec
    jan = (tmp_path / "jan" / "statement-2027-01-6.txt").read_text(encoding="utf-8")
    assert "Shared by you in 2027 so far: 4,628.57 CNY\n" in jan
    # the earlier statement is unchanged by later periods
    pool.render_statements(POOL, "2026-11", tmp_path / "nov", locale="en")
    nov = (tmp_path / "nov" / "statement-2026-11-6.txt").read_text(encoding="utf-8")
    assert "Shared by you in 2026 so far: 50,914.29 CNY\n" in nov


def test_stream_layout_writes_one_file(pool, out):
    result = pool.render_statements(POOL, "2026-11", out, layout="stream", locale="en")
    path = out / "statements-2026-11.en.txt"
    assert result.count == 7
    assert result.paths == [path]
    assert list(out.iterdir()) == [path]
    text = path.read_text(encoding="utf-8")
    assert re.findall(r"^=== member (\d+) ===$", text, re.M) == [str(m) for m in SHARING]
    assert text.count("Your share this period: 50,914.29 CNY\n") == 7
    sections = re.split(r"^=== member \d+ ===\n", text, flags=re.M)[1:]
    assert [s.splitlines()[1] for s in sections] == [f"Dear {NAMES[m]} (member #{m})," for m in SHARING]


def test_cohort_template_override_keeps_the_core_blocks(pool, out):
    pool.render_statements(POOL, "2026-11", out)
    text = (out / "statement-2026-11-2.txt").read_text(encoding="utf-8")
    # the truckers' footer, then the core footer through super()
    assert text.endswith(
        "安全驾驶，拒绝酒驾。您的每一笔分摊都在帮助遇到困难的卡友。\n如对本期案例有异议，请在扣款日前联系江苏卡友之家。\n"
    )
    assert "本期账目：" in text  # the core's breakdown block


def test_plain_text_is_not_html_escaped(app, truckers_pool, make_driver, tmp_path):
    app.create_pool(truckers_pool(operator="Li & Sons <Logistics>"))
    app.join(POOL, **{**make_driver(1), "name": "O'Brien <Tom> & Co"})
    app.join(POOL, **make_driver(2))
    _claim(app, 2, "accidental_disability", "2026-10-20", grade=10)
    app.share(POOL, "2026-11")
    app.render_statements(POOL, "2026-11", tmp_path / "s", locale="en")
    app.render_welcome(POOL, tmp_path / "w", members=[1], locale="en")
    statement = (tmp_path / "s" / "statement-2026-11-1.txt").read_text(encoding="utf-8")
    welcome = (tmp_path / "w" / "welcome-1.txt").read_text(encoding="utf-8")
    assert "Dear O'Brien <Tom> & Co (member #1)," in statement
    assert "contact Li & Sons <Logistics> before the deduction day." in statement
    assert welcome.endswith("Operator: Li & Sons <Logistics>\n")
    for text in (statement, welcome):
        assert "&amp;" not in text and "&lt;" not in text and "&#39;" not in text


def test_statement_of_a_period_not_shared_is_refused(pool, tmp_path):
    with pytest.raises(
        NotFoundError,
        match=re.escape(
            "period 2026-12 of pool 'js-truckers' has not been shared; "
            "run 'mutualaid share run js-truckers --period 2026-12'"
        ),
    ):
        pool.render_statements(POOL, "2026-12", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unsupported_locale_is_refused(pool, out):
    with pytest.raises(ValidationError, match=re.escape("locale 'fr' is not supported; use one of zh-CN, en")):
        pool.render_statements(POOL, "2026-11", out, locale="fr")


# -- operator templates --------------------------------------------------------------------------


def _operator_templates(tmp_path: Path, source: str, locale: str = "zh-CN", kind: str = "statement") -> Path:
    root = tmp_path / "operator"
    (root / locale).mkdir(parents=True, exist_ok=True)
    (root / locale / f"{kind}.txt.j2").write_text(source, encoding="utf-8")
    return root


def test_operator_template_wins_over_cohort_and_core(pool, tmp_path):
    templates = _operator_templates(tmp_path, "{{ member.masked_name }} 应付 {{ charge }} {{ pool.currency }}\n")
    pool.render_statements(POOL, "2026-11", tmp_path / "out", templates=templates)
    assert (tmp_path / "out" / "statement-2026-11-2.txt").read_text(encoding="utf-8") == "王** 应付 50,914.29 CNY\n"


def test_operator_template_can_replace_one_block_of_the_core(pool, tmp_path):
    templates = _operator_templates(
        tmp_path, '{% extends "core/zh-CN/statement.txt.j2" %}{% block footer %}请致电 400-000-0000。\n{% endblock %}'
    )
    pool.render_statements(POOL, "2026-11", tmp_path / "out", templates=templates)
    text = (tmp_path / "out" / "statement-2026-11-2.txt").read_text(encoding="utf-8")
    assert text.endswith("请致电 400-000-0000。\n")
    assert "安全驾驶" not in text  # the cohort's override is not used
    assert "本期您的分摊金额：50,914.29 CNY" in text


def test_operator_templates_for_other_kinds_fall_back_to_the_cohort(pool, tmp_path):
    templates = _operator_templates(tmp_path, "only a welcome\n", kind="welcome")
    pool.render_statements(POOL, "2026-11", tmp_path / "out", templates=templates)
    assert "安全驾驶，拒绝酒驾。" in (tmp_path / "out" / "statement-2026-11-2.txt").read_text(encoding="utf-8")


def test_missing_operator_template_directory_is_refused(pool, tmp_path):
    missing = re.escape(str(tmp_path / "nope"))
    with pytest.raises(ValidationError, match=f"^templates directory {missing} does not exist$"):
        pool.render_statements(POOL, "2026-11", tmp_path / "out", templates=tmp_path / "nope")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("{{ member.nickname }}", "'dict object' has no attribute 'nickname'", id="missing-attribute"),
        pytest.param("{{ bank_account }}", "'bank_account' is undefined", id="missing-variable"),
        pytest.param("{% if vip %}VIP{% endif %}", "'vip' is undefined", id="missing-in-condition"),
    ],
)
def test_undefined_value_in_operator_template_is_an_error_not_a_blank(pool, tmp_path, source, message):
    templates = _operator_templates(tmp_path, source)
    with pytest.raises(ValidationError) as info:
        pool.render_statements(POOL, "2026-11", tmp_path / "out", templates=templates)
    assert info.value.lines == [f"template zh-CN/statement.txt.j2 for member #2: {message}"]


@pytest.mark.parametrize(
    ("source", "attribute", "owner"),
    [
        pytest.param("{{ ''.__class__.__mro__ }}", "__class__", "str", id="class-mro"),
        pytest.param("{{ pool.__len__() }}", "__len__", "dict", id="call-private-method"),
        pytest.param("{{ '{0.__class__}'.format(pool) }}", "__class__", "dict", id="format-string"),
        pytest.param("{{ cycler.__init__.__globals__ }}", "__init__", "type", id="globals"),
    ],
)
def test_unsafe_operator_template_is_refused_by_the_sandbox(pool, tmp_path, source, attribute, owner):
    templates = _operator_templates(tmp_path, source)
    with pytest.raises(ValidationError) as info:
        pool.render_statements(POOL, "2026-11", tmp_path / "out", templates=templates)
    assert info.value.lines == [
        "template zh-CN/statement.txt.j2 is not allowed to do that: "
        f"access to attribute '{attribute}' of '{owner}' object is unsafe."
    ]


def test_operator_template_extending_a_missing_template_is_an_error(pool, tmp_path):
    templates = _operator_templates(tmp_path, '{% extends "mine/base.txt.j2" %}')
    with pytest.raises(ValidationError) as info:
        pool.render_statements(POOL, "2026-11", tmp_path / "out", templates=templates)
    assert info.value.lines == [
        "template zh-CN/statement.txt.j2 uses the template 'mine/base.txt.j2', which is in no template directory"
    ]


def test_operator_template_syntax_error_names_file_and_line(pool, tmp_path):
    templates = _operator_templates(tmp_path, "第一行\n{{ charge ")
    with pytest.raises(ValidationError) as info:
        pool.render_statements(POOL, "2026-11", tmp_path / "out", templates=templates)
    (line,) = info.value.lines
    assert line.startswith(f"template {templates / 'zh-CN' / 'statement.txt.j2'}:2: ")


def test_syntax_error_in_an_included_operator_template_names_its_file(pool, tmp_path):
    templates = _operator_templates(tmp_path, '{% include "parts/claims.txt.j2" %}')
    (templates / "parts").mkdir()
    (templates / "parts" / "claims.txt.j2").write_text("{% for c in claims %}\n{{ c.claimant }\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        pool.render_statements(POOL, "2026-11", tmp_path / "out", templates=templates)
    (line,) = info.value.lines
    assert line.startswith(f"template {templates / 'parts' / 'claims.txt.j2'}:2: ")


def test_rules_get_the_pool_currency_only_when_the_cohort_takes_it():
    from mutualaid.notices import describe_rules

    class WithCurrency:
        def describe_rules(self, settings, locale, currency=None):
            return [f"{locale} {currency}"]

    class WithoutCurrency:  # a cohort written before describe_rules took a currency
        def describe_rules(self, settings, locale):
            return [locale]

    assert describe_rules(WithCurrency(), None, "en", "CNY") == ["en CNY"]
    assert describe_rules(WithoutCurrency(), None, "en", "CNY") == ["en"]


# -- welcome notices -----------------------------------------------------------------------------


def _rules(app, locale: str) -> list[str]:
    definition = app.pool(POOL).definition
    return definition.cohort.rules.describe_rules(definition.settings, locale, currency="CNY")


def test_welcome_states_rules_waiting_period_and_obligations_en(pool, out):
    result = pool.render_welcome(POOL, out, members=[3], locale="en")
    assert result.paths == [out / "welcome-3.txt"]
    text = result.paths[0].read_text(encoding="utf-8")
    assert text.startswith("江苏卡友互助 - welcome notice\nDear 李四 (member #3, ID 110*************")
    assert "Joined on: 2026-10-01\n" in text
    assert "Accidents are covered from 00:00 on 2026-10-02.\n" in text
    assert "Illness waiting period: until 2026-12-30 (that day included); illness is covered after it.\n" in text
    rules = _rules(pool, "en")
    assert len(rules) >= 5
    assert "The rules of this pool:\n" + "".join(f"  {i}. {rule}\n" for i, rule in enumerate(rules, 1)) in text
    assert "  4. Accidental death: a benefit of 300,000.00 CNY.\n" in text
    assert "Costs are shared once a month: public notice on day 7, deduction on day 14." in text
    assert "  * The management fee is 8% of the aid amount.\n  * Each share is rounded up to the fen" in text
    assert "You may leave at any time by telling the operator; you stop sharing from the next period" in text
    assert text.endswith(
        "Drive safely: never drink and drive, and rest before you are tired.\nOperator: 江苏卡友之家\n"
    )


def test_welcome_zh_cn_shows_only_the_masked_id_number(pool, out, make_driver):
    pool.render_welcome(POOL, out, members=[3])
    text = (out / "welcome-3.txt").read_text(encoding="utf-8")
    id_number = make_driver(3)["id_number"]
    assert id_number not in text
    assert f"证件号 {id_number[:3]}{'*' * 13}{id_number[-2:]}）" in text
    assert "疾病等待期至 2026-12-30（含当日），此后疾病事件方可申请互助。" in text
    rules = _rules(pool, "zh-CN")
    assert "本计划的规则：\n" + "".join(f"  {i}. {rule}\n" for i, rule in enumerate(rules, 1)) in text
    assert "每月分摊一次：每月 7 日公示，14 日扣款。" in text
    assert "  · 管理费为互助金的 8%。\n  · 每人分摊额向上取整到分" in text
    assert text.endswith("安全驾驶，拒绝酒驾、疲劳驾驶。一路平安！\n运营方：江苏卡友之家\n")


def test_welcome_by_default_for_every_live_member(pool, out):
    result = pool.render_welcome(POOL, out)
    assert result.count == 7  # member 1 died
    assert sorted(p.name for p in out.iterdir()) == sorted(f"welcome-{m}.txt" for m in SHARING)


# -- the command line ----------------------------------------------------------------------------


def test_cli_renders_statements(pool, runner, plugins, db_url, tmp_path):
    out = tmp_path / "out"
    result = _invoke(
        runner,
        plugins,
        db_url,
        "notice",
        "render",
        POOL,
        "--kind",
        "statement",
        "--period",
        "2026-11",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"rendered 7 statement notices into {out}\n"
    assert "本期您的分摊金额：50,914.29 CNY" in (out / "statement-2026-11-8.txt").read_text(encoding="utf-8")


def test_cli_renders_statements_in_english_as_a_stream(pool, runner, plugins, db_url, out):
    result = _invoke(
        runner,
        plugins,
        db_url,
        "notice",
        "render",
        POOL,
        "--kind",
        "statement",
        "--period",
        "2026-11",
        "--out",
        str(out),
        "--locale",
        "en",
        "--layout",
        "stream",
    )
    assert result.exit_code == 0, result.output
    path = out / "statements-2026-11.en.txt"
    assert result.output == f"rendered 7 statement notices into {path}\n"
    assert path.read_text(encoding="utf-8").count("Your share this period: 50,914.29 CNY") == 7


def test_cli_renders_a_welcome_notice(pool, runner, plugins, db_url, out):
    result = _invoke(
        runner,
        plugins,
        db_url,
        "notice",
        "render",
        POOL,
        "--kind",
        "welcome",
        "--member",
        "4",
        "--out",
        str(out),
        "--locale",
        "en",
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"rendered 1 welcome notice into {out}\n"
    assert (out / "welcome-4.txt").read_text(encoding="utf-8").startswith("江苏卡友互助 - welcome notice\nDear 赵五")


def test_cli_operator_templates(pool, runner, plugins, db_url, tmp_path):
    templates = _operator_templates(tmp_path, "{{ charge }}\n", locale="en")
    result = _invoke(
        runner,
        plugins,
        db_url,
        "notice",
        "render",
        POOL,
        "--kind",
        "statement",
        "--period",
        "2026-11",
        "--out",
        str(tmp_path / "out"),
        "--locale",
        "en",
        "--templates",
        str(templates),
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "statement-2026-11-2.txt").read_text(encoding="utf-8") == "50,914.29\n"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(
            "{{ member.nickname }}",
            "template en/statement.txt.j2 for member #2: 'dict object' has no attribute 'nickname'",
            id="undefined",
        ),
        pytest.param(
            "{{ ''.__class__.__mro__ }}",
            "template en/statement.txt.j2 is not allowed to do that: "
            "access to attribute '__class__' of 'str' object is unsafe.",
            id="unsafe",
        ),
    ],
)
def test_cli_bad_operator_template_is_a_one_line_error(pool, runner, plugins, db_url, tmp_path, source, message):
    templates = _operator_templates(tmp_path, source, locale="en")
    result = _invoke(
        runner,
        plugins,
        db_url,
        "notice",
        "render",
        POOL,
        "--kind",
        "statement",
        "--period",
        "2026-11",
        "--out",
        str(tmp_path / "out"),
        "--locale",
        "en",
        "--templates",
        str(templates),
    )
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--period", "2026-12"],
            "period 2026-12 of pool 'js-truckers' has not been shared; "
            "run 'mutualaid share run js-truckers --period 2026-12'",
            id="period-not-shared",
        ),
        pytest.param([], "--period is required for statement notices, e.g. --period 2026-11", id="missing-period"),
        pytest.param(
            ["--period", "2026-13"], "period '2026-13' has no such month; write it like 2026-11", id="bad-period"
        ),
    ],
)
def test_cli_statement_errors(pool, runner, plugins, db_url, out, args, message):
    result = _invoke(runner, plugins, db_url, "notice", "render", POOL, "--kind", "statement", "--out", str(out), *args)
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n"
    assert not out.exists()  # nothing is written


@pytest.mark.parametrize("layout", ["files", "stream"])
def test_a_rendering_that_fails_half_way_leaves_no_notices(pool, tmp_path, layout):
    # Member #5 is the fourth member rendered: three notices render before the template fails.
    templates = _operator_templates(
        tmp_path, "{% if member.id == 5 %}{{ 1 // 0 }}{% endif %}{{ member.masked_name }} {{ charge }}\n"
    )
    out = tmp_path / "out"
    with pytest.raises(ValidationError) as caught:
        pool.render_statements(POOL, "2026-11", out, templates=templates, layout=layout)
    assert caught.value.lines == [
        "template zh-CN/statement.txt.j2 failed for member #5: ZeroDivisionError: integer division or modulo by zero; "
        "fix the template"
    ]
    assert list(out.iterdir()) == []  # nothing written, and no staging directory left behind


def test_a_template_arithmetic_error_is_one_line_through_the_cli(pool, tmp_path, runner, plugins, db_url):
    templates = _operator_templates(tmp_path, "{{ charge + 1 }}\n")
    result = runner.invoke(
        cli,
        [
            "--database-url",
            db_url,
            "notice",
            "render",
            POOL,
            "--kind",
            "statement",
            "--period",
            "2026-11",
            "--out",
            str(tmp_path / "out"),
            "--templates",
            str(templates),
        ],
        obj=State(plugins=plugins),
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: template zh-CN/statement.txt.j2 failed for member #2: TypeError: ")
    assert not any((tmp_path / "out").glob("statement-*"))


def _pool_record():
    """Enough of a pool for the rules of money a template shows (a pool file's defaults, exact shares)."""
    from types import SimpleNamespace

    from mutualaid.config import PoolConfig

    return SimpleNamespace(
        config=PoolConfig(key="p", name="骑手互助", cohort="couriers", sharing={"rounding": "exact"})
    )


@pytest.mark.parametrize(
    ("locale", "expected", "absent"),
    [
        ("zh-CN", "保障自 2026-10-02 零时起生效，没有等待期。", "疾病等待期"),
        ("en", "Cover starts at 00:00 on 2026-10-02; there is no waiting period.", "Illness waiting period"),
    ],
    ids=["zh-CN", "en"],
)
def test_welcome_without_a_waiting_period_does_not_mention_one(locale, expected, absent):
    from mutualaid.notices import make_environment
    from mutualaid.notices.kinds.common import money_rules

    template = make_environment().get_template(f"{locale}/welcome.txt.j2")
    text = template.render(
        **money_rules(_pool_record()),
        pool={"name": "骑手互助", "operator": "", "currency": "CNY", "cohort_title": "Couriers"},
        member={
            "id": 1,
            "name": "张三",
            "masked_id_number": "110***34",
            "joined_on": "2026-10-01",
            "covered_from": "2026-10-02",
            "waiting_until": "2026-10-01",
            "has_waiting_period": False,
        },
        rules=["rule one"],
    )
    assert expected in text
    assert absent not in text
