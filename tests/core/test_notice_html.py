"""HTML notices: the statement, welcome and low-balance notices rendered as text and HTML from one
context, in both languages, for real pools -- a complete page (doctype, ``lang``, a phone viewport,
a print stylesheet) with the same amounts as the text, the member's name escaped in HTML and raw in
text -- and, when a Chromium is installed, laid out by a real headless browser (a PDF is printed,
the share is in the rendered DOM, and the page fits a 375 px wide phone).

The pools (truckers, 8% fee, shares rounded up to the fen):

* ``plain``: eight drivers; 张三 (member 1) dies and member 2 is disabled (grade 10): 356,400.00
  over seven survivors, 50,914.29 each.
* ``capped``: the same claims with a cap of 10,000.00 per period and 15,000.00 per year whose
  shortfall prorates the benefits: each pays 10,000.00 (50,914.29 before caps) and the benefits
  are funded in proportion; the deceased claimant's home city is known.
* ``prepaid``: four drivers keeping a prepaid balance; member 0 dies (a 300.00 benefit): the three
  others pay 108.00 each from their balance, member 2's falls below the 5.00 reminder level.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from mutualaid import MutualAid
from mutualaid.db.models import Member

POOL = "js-truckers"
LOCALES = ("en", "zh-CN")
#: The reader of the notices checked: a name that is markup, and an ampersand.
NAME = "李<script>alert(1)</script> & 子"
ESCAPED = "李&lt;script&gt;alert(1)&lt;/script&gt; &amp; 子"
CITY = "苏州 & <b>昆山</b>"
#: An amount as the notices write them: 50,914.29, -0.03, 5.00.
AMOUNT = re.compile(r"-?\d{1,3}(?:,\d{3})*\.\d{2}")


# -- the pools -----------------------------------------------------------------------------------


def _claim(app: MutualAid, member: int, kind: str, day: str, *, grade: int | None = None) -> None:
    details = {"disability_grade": str(grade)} if grade else {}
    claim = app.file_claim(POOL, member, event_kind=kind, event_date=day, details=details, filed_on=day[:-2] + "25")
    app.approve_claim(claim.id)


def _postpaid(app: MutualAid, truckers_pool: Callable[..., dict], make_driver: Callable[..., dict], **sharing: Any):
    app.create_pool(truckers_pool(sharing=sharing))
    for n in range(1, 9):
        app.join(POOL, **{**make_driver(n), **({"name": NAME} if n == 3 else {})})
    _claim(app, 1, "accidental_death", "2026-10-20")
    _claim(app, 2, "accidental_disability", "2026-10-20", grade=10)


def _plain(app, truckers_pool, make_driver) -> dict[str, Any]:
    _postpaid(app, truckers_pool, make_driver)
    result = app.share(POOL, "2026-11")
    assert result.share_minor == 5_091_429
    return {"member": 3, "share": "50,914.29"}


def _capped(app, truckers_pool, make_driver) -> dict[str, Any]:
    caps = {"per_period": "10000.00", "per_year": "15000.00", "shortfall": "prorate"}
    _postpaid(app, truckers_pool, make_driver, caps=caps)
    with app.transaction() as session:
        session.execute(update(Member).where(Member.id == 1).values(city=CITY))
    result = app.share(POOL, "2026-11")
    assert (result.charged_minor, result.capped_count) == (7_000_000, 7)
    assert result.aid_funded_minor < result.aid_minor  # the benefits are prorated
    return {"member": 3, "share": "10,000.00"}


def _prepaid(app, truckers_pool, make_driver) -> dict[str, Any]:
    app.create_pool(
        truckers_pool(payments={"model": "prepaid"}, settings={"accidental_death_benefit": 300}, operator="Li & Sons")
    )
    for n in range(4):
        app.join(POOL, **{**make_driver(n), **({"name": NAME} if n == 1 else {})})  # member 2
    for member, amount in ((2, "110"), (3, "200"), (4, "500")):
        app.top_up(POOL, member, amount, "2026-10-05", f"R-{member}")
    _claim(app, 1, "accidental_death", "2026-10-20")
    result = app.share(POOL, "2026-11")
    assert result.share_minor == 10_800
    return {"member": 2, "share": "108.00"}


POOLS = {"plain": _plain, "capped": _capped, "prepaid": _prepaid}
CASES = [
    pytest.param(pool, kind, locale, id=f"{pool}-{kind}-{locale}")
    for pool in POOLS
    for kind in ("statement", "welcome", "low-balance")
    if kind != "low-balance" or pool == "prepaid"
    for locale in LOCALES
]


def _render(app: MutualAid, out: Path, kind: str, member: int, locale: str) -> tuple[str, str]:
    """One member's notice of ``kind``, as (text, HTML)."""
    result = app.render_notices(
        POOL,
        kind,
        out,
        period="2026-11" if kind == "statement" else None,
        members=[member],
        locale=locale,
        formats=("text", "html"),
    )
    assert result.count == 1
    by_suffix = {path.suffix: path.read_text(encoding="utf-8") for path in result.paths}
    assert sorted(by_suffix) == [".html", ".txt"]
    return by_suffix[".txt"], by_suffix[".html"]


# -- reading HTML ----------------------------------------------------------------------------------


#: Elements whose content a browser sets apart from what is around it.
BLOCKS = frozenset({"p", "br", "td", "th", "tr", "li", "h1", "h2", "footer", "main", "table", "ul", "ol", "div"})


class Page(HTMLParser):
    """What the checks need of an HTML page: its declarations, its elements with their
    attributes, its readable text (not the style sheet) and its style sheet."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.decls: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style: list[str] = []
        self._in: list[str] = []
        self.feed(source)
        self.close()

    def handle_decl(self, decl: str) -> None:
        self.decls.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script", "title"):
            self._in.append(tag)
        if tag in BLOCKS:
            self.text.append(" ")  # "<td>2026-10-20</td><td>30,000.00" reads as two words

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()
        if tag in BLOCKS:
            self.text.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._in:
            self.text.append(data)
        elif self._in[-1] == "style":
            self.style.append(data)

    def first(self, tag: str) -> dict[str, str | None]:
        return next(attrs for name, attrs in self.tags if name == tag)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def words(self) -> str:
        """The page's text, whitespace collapsed."""
        return " ".join("".join(self.text).split())


def _amounts(text: str) -> set[str]:
    return set(AMOUNT.findall(text))


# -- the page, its amounts and its escaping --------------------------------------------------------


@pytest.mark.parametrize(("scenario", "kind", "locale"), CASES)
def test_html_notice_is_a_complete_page_with_the_texts_amounts(
    app, truckers_pool, make_driver, tmp_path, scenario, kind, locale
):
    facts = POOLS[scenario](app, truckers_pool, make_driver)
    text, source = _render(app, tmp_path / "out", kind, facts["member"], locale)
    page = Page(source)
    # a complete document: doctype, <html lang>, a phone viewport, a title, a print stylesheet
    assert source.lstrip().lower().startswith("<!doctype html>")
    assert [d.lower() for d in page.decls] == ["doctype html"]
    assert page.tags[0] == ("html", {"lang": locale})
    assert page.first("meta") == {"charset": "utf-8"}
    viewports = [m for m in page.all("meta") if m.get("name") == "viewport"]
    assert len(viewports) == 1 and "width=device-width" in (viewports[0]["content"] or "")
    assert [tag for tag, _ in page.tags].count("body") == 1
    assert source.rstrip().endswith("</html>")
    style = "".join(page.style)
    assert "@media print" in style
    # every amount of the text version, written the same, and no other
    amounts = _amounts(text)
    assert amounts, text
    assert _amounts(page.words) == amounts
    for amount in amounts:
        assert amount in page.words
    if kind == "statement":
        assert facts["share"] in amounts


@pytest.mark.parametrize(("scenario", "kind", "locale"), CASES)
def test_member_name_is_escaped_in_html_and_raw_in_text(
    app, truckers_pool, make_driver, tmp_path, scenario, kind, locale
):
    facts = POOLS[scenario](app, truckers_pool, make_driver)
    text, source = _render(app, tmp_path / "out", kind, facts["member"], locale)
    assert NAME in text
    assert "&lt;" not in text and "&amp;" not in text
    assert ESCAPED in source
    assert "<script" not in source.lower()
    page = Page(source)
    assert "script" not in [tag for tag, _ in page.tags]
    assert "b" not in [tag for tag, _ in page.tags]  # nor the claimant's city
    assert NAME in "".join(page.text)  # a browser shows the name as it was written


def test_claimants_city_is_escaped_too(app, truckers_pool, make_driver, tmp_path):
    _capped(app, truckers_pool, make_driver)
    for locale in LOCALES:
        text, source = _render(app, tmp_path / locale, "statement", 4, locale)
        assert CITY in text
        assert "苏州 &amp; &lt;b&gt;昆山&lt;/b&gt;" in source
        assert CITY in "".join(Page(source).text)


def test_html_statement_states_caps_and_proration_like_the_text(app, truckers_pool, make_driver, tmp_path):
    _capped(app, truckers_pool, make_driver)
    en_text, en_html = _render(app, tmp_path / "en", "statement", 4, "en")
    zh_text, zh_html = _render(app, tmp_path / "zh", "statement", 4, "zh-CN")
    en, zh = Page(en_html).words, Page(zh_html).words
    assert "Before caps your share was 50,914.29 CNY;" in en_text
    assert "Before caps your share was 50,914.29 CNY;" in en
    assert (
        "  封顶前您应分摊 50,914.29 CNY；受本期封顶额（每位会员 10,000.00 CNY）限制，按封顶后的金额扣款。\n" in zh_text
    )
    assert "封顶前您应分摊 50,914.29 CNY；受本期封顶额（每位会员 10,000.00 CNY）限制，按封顶后的金额扣款。" in zh
    assert "2026 年累计分摊：10,000.00 CNY（全年封顶 15,000.00，尚余 5,000.00）\n" in zh_text
    assert "2026 年累计分摊：10,000.00 CNY（全年封顶 15,000.00，尚余 5,000.00）" in zh
    assert "按比例实际资助" in zh_text and "按比例实际资助" in zh
    assert "封顶少收金额" in zh_text and "互助金按比例减少" in zh
    assert "（实际资助金额的 8%）" in zh_text and "（实际资助金额的 8%）" in zh


def test_cohort_override_applies_to_both_formats(app, truckers_pool, make_driver, tmp_path):
    _plain(app, truckers_pool, make_driver)
    footers = {
        ("statement", "en"): "Drive safely; never drink and drive.",
        ("statement", "zh-CN"): "安全驾驶，拒绝酒驾。您的每一笔分摊都在帮助遇到困难的卡友。",
        ("welcome", "en"): "Drive safely: never drink and drive, and rest before you are tired.",
        ("welcome", "zh-CN"): "安全驾驶，拒绝酒驾、疲劳驾驶。一路平安！",
    }
    for (kind, locale), line in footers.items():
        text, source = _render(app, tmp_path / f"{kind}-{locale}", kind, 4, locale)
        assert line in text
        page = Page(source)
        assert line in page.words
        assert "江苏卡友之家" in page.words  # the core's footer, through super()


# -- a real browser --------------------------------------------------------------------------------


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = _chromium()
    if binary is None:  # pragma: no cover - the fixture skips first
        pytest.skip("no chromium")
    profile = tmp_path / "chromium-profile"
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--window-size=375,800",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture
def chromium() -> str:
    binary = _chromium()
    if binary is None:
        pytest.skip(
            "no Chromium binary (chromium, chromium-browser or google-chrome) on PATH; apt-get install chromium"
        )
    return binary


#: Added to a copy of a notice: writes into its body whether the page fits the window's width.
FITS = """<script>
(function () {
  var fits = document.documentElement.scrollWidth <= window.innerWidth;
  var p = document.createElement("p");
  p.id = "fits";
  p.textContent = fits + " " + document.documentElement.scrollWidth + " " + window.innerWidth;
  document.body.appendChild(p);
})();
</script>
"""


def _phone(source: str, width: int = 375) -> str:
    """A page showing a copy of ``source`` with :data:`FITS` added in a frame ``width`` px wide,
    which writes what FITS found into its own body (for ``--dump-dom``, which dumps only the top
    page). Headless Chromium does not make a window narrower than 500 px whatever
    ``--window-size`` asks for; a frame can be, and the notice's media queries follow the
    frame's width as they would a phone's."""
    copy = source.replace("</body>", FITS + "</body>")
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="phone" style="width:{width}px;height:800px;border:0" srcdoc="{html.escape(copy, quote=True)}"></iframe>
<script>
document.getElementById("phone").addEventListener("load", function () {{
  var found = this.contentDocument.getElementById("fits");
  var out = document.createElement("output");
  out.textContent = found ? found.textContent : "no result";
  document.body.appendChild(out);
}});
</script>
</body></html>
"""


@pytest.mark.parametrize("locale", LOCALES)
def test_html_statement_in_a_headless_browser(chromium, app, truckers_pool, make_driver, tmp_path, locale):
    facts = _plain(app, truckers_pool, make_driver)
    _, source = _render(app, tmp_path / "out", "statement", facts["member"], locale)
    page = tmp_path / "out" / "statement-2026-11-3.html"
    assert page.read_text(encoding="utf-8") == source
    url = page.as_uri()

    screenshot, pdf = tmp_path / "phone.png", tmp_path / "statement.pdf"
    _browser(tmp_path, f"--screenshot={screenshot}", url)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _browser(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", url)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1024

    dom = Page(_browser(tmp_path, "--dump-dom", url).stdout)
    assert f"{facts['share']} CNY" in dom.words
    assert NAME in dom.words  # shown as written, not run
    assert "script" not in [tag for tag, _ in dom.tags]

    # readable on a phone: nothing wider than a 375 px screen
    probe = tmp_path / "probe.html"
    probe.write_text(_phone(source), encoding="utf-8")
    probed = _browser(tmp_path, "--dump-dom", probe.as_uri()).stdout
    found = re.search(r"<output>(true|false) (\d+) (\d+)</output>", probed)
    assert found, probed[-2000:]
    fits, scroll_width, inner_width = found.groups()
    assert inner_width == "375"
    assert fits == "true", f"the page is {scroll_width} px wide on a {inner_width} px screen"


def test_the_phone_check_sees_a_page_too_wide(chromium, tmp_path):
    """The check above can fail: a page with something 420 px wide does not fit 375 px."""
    wide = "<!DOCTYPE html><html><body><div style='width:420px'>wide</div></body></html>"
    probe = tmp_path / "probe.html"
    probe.write_text(_phone(wide), encoding="utf-8")
    probed = _browser(tmp_path, "--dump-dom", probe.as_uri()).stdout
    found = re.search(r"<output>(true|false) (\d+) (\d+)</output>", probed)
    assert found and found.group(1, 3) == ("false", "375"), probed[-2000:]


# -- every branch of the templates -----------------------------------------------------------------


def _statement_context(locale: str, **run: Any) -> dict[str, Any]:
    """A statement's context with every optional figure present: weights, a flat fee, deficits
    carried in and out, a sponsor, the year's cap binding, a prepaid balance, a claimant's city."""
    figures = {
        "members": "1,234",
        "claims_count": 1,
        "aid": "1,111.11",
        "aid_funded": "999.99",
        "prorated": True,
        "fee": "22.22",
        "fee_policy": "flat",
        "fee_rate_percent": "0",
        "surplus_in": "0.33",
        "surplus_in_signed": "-0.33",
        "surplus_out": "0.44",
        "carried_in": "55.55",
        "carried_out": "66.66",
        "need": "2,222.22",
        "share": "1.77",
        "rounding": "exact",
        "extra_count": "12",
        "weighted": True,
        "classes": [{"weight": 1, "share": "1.11", "count": "1,000"}, {"weight": 2, "share": "2.22", "count": "234"}],
        "charged": "1,888.88",
        "capped_count": "3",
        "period_cap": "7.77",
        "shortfall": "88.88",
        "shortfall_policy": "sponsor",
        "sponsor": "99.99",
        "payment_model": "prepaid",
        **run,
    }
    return {
        "pool": {"key": "p", "name": "P & Co", "operator": "Op <1>", "currency": "CNY", "cohort": "c"},
        "rules": [],
        "locale": locale,
        "generated_on": "2026-11-20",
        "member": {"id": 9, "name": NAME},
        "period": {"key": "2026-11", "notice_date": "2026-11-07", "deduction_date": "2026-11-14"},
        "run": figures,
        "claims": [
            {
                "id": 4,
                "claimant": "王*",
                "city": CITY,
                "kind": "Need",
                "event_date": "2026-10-20",
                "filed_on": "2026-10-25",
                "benefit": "1,111.11",
                "funded": "999.99",
                "prorated": True,
            }
        ],
        "fee": {"policy": "flat", "rate_percent": None, "per_member": "0.02"},
        "caps": {"any": True, "per_case": "3.33", "per_period": "7.77", "per_year": "10.00", "shortfall": "sponsor"},
        "payments": {"model": "prepaid", "low_balance": "5.00", "retry_days": 7},
        "charge": "2.22",
        "before_caps": "4.44",
        "capped": True,
        "cap_by": "year",
        "weight": 2,
        "extra_unit": True,
        "ytd": {"year": 2026, "total": "10.00", "cap": "10.00", "remaining": "0.00"},
        "balance": "12.34",
        "ledger": {"seq": 41, "hash": "ab" * 32, "anchor": "41:" + "ab" * 32},
    }


def _welcome_context(locale: str) -> dict[str, Any]:
    """A welcome notice's context taking the other branches: twice a month, no fee, weights,
    exact shares, every cap with a carried shortfall, postpaid, a waiting period."""
    return {
        "pool": {"key": "p", "name": "P & Co", "operator": "", "currency": "CNY", "cohort": "c"},
        "rules": ["Rule <one> & 1,000.00 CNY"],
        "locale": locale,
        "generated_on": "2026-11-20",
        "member": {
            "id": 9,
            "name": NAME,
            "masked_id_number": "110***34",
            "joined_on": "2026-10-01",
            "covered_from": "2026-10-02",
            "waiting_until": "2026-12-30",
            "has_waiting_period": True,
        },
        "fee": {"policy": "none", "rate_percent": None, "per_member": None},
        "caps": {"any": True, "per_case": "3.33", "per_period": "7.77", "per_year": "10.00", "shortfall": "carry"},
        "payments": {"model": "postpaid", "low_balance": "5.00", "retry_days": 7},
        "sharing": {
            "calendar": "semimonthly",
            "notice_days": [7, 22],
            "deduction_days": [14, 28],
            "rounding": "exact",
            "weights": "cohort",
            "waiting_members_share": False,
        },
    }


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    ("template", "context"),
    [
        pytest.param("statement", _statement_context, id="statement-every-figure"),
        pytest.param(
            "statement",
            lambda locale: _statement_context(locale, fee_policy="none", weighted=False, shortfall_policy="carry"),
            id="statement-no-fee",
        ),
        pytest.param(
            "statement",
            lambda locale: {**_statement_context(locale, shortfall_policy="prorate"), "cap_by": "period"},
            id="statement-period-cap",
        ),
        pytest.param("welcome", _welcome_context, id="welcome-other-branches"),
    ],
)
def test_every_branch_renders_the_same_amounts_in_both_formats(template, context, locale):
    from mutualaid.notices import make_environment

    env = make_environment()
    values = context(locale)
    text = env.get_template(f"{locale}/{template}.txt.j2").render(values)
    source = env.get_template(f"{locale}/{template}.html.j2").render(values)
    page = Page(source)
    assert page.tags[0] == ("html", {"lang": locale})
    assert _amounts(page.words) == _amounts(text)
    assert NAME in text and ESCAPED in source and "<script" not in source
    if template == "statement":
        assert CITY in text and CITY in "".join(page.text)
