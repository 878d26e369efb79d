"""The public transparency site of a real pool, built by the command line and opened in headless
Chromium (Debian's package; skipped where there is none): the figures on its pages against the
database (each period's share and members, the ledger's head), the calculator's script run by the
browser, claimants masked, nothing loaded from anywhere, and a screenshot kept as an artifact."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from mutualaid.db.models import Pool, SharingRun
from mutualaid.money import format_minor

POOL = "js-truckers"
NAME = "王小明"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture
def chromium() -> str:
    binary = _chromium()
    if binary is None:
        pytest.skip(
            "no Chromium binary (chromium, chromium-browser or google-chrome) on PATH; apt-get install chromium"
        )
    return binary


def _browser(binary: str, tmp_path: Path, *args: str, width: int = 1000, height: int = 2400) -> str:
    command = [
        binary,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        f"--window-size={width},{height}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _pool(app, truckers_pool, make_driver) -> None:
    app.create_pool(truckers_pool(locale="en"))
    for n in range(1, 21):
        driver = make_driver(n, born=date(1975 + n % 20, 3, 1))
        if n == 2:
            driver["name"] = NAME
        app.join(POOL, **driver, city="南京" if n == 2 else None)
    claim = app.file_claim(POOL, 2, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)
    app.share(POOL, "2026-11")
    claim = app.file_claim(
        POOL,
        5,
        event_kind="accidental_disability",
        event_date="2026-11-20",
        filed_on="2026-11-25",
        details={"disability_grade": 8},
    )
    app.approve_claim(claim.id)
    app.share(POOL, "2026-12")
    app.share(POOL, "2027-01")


def _runs(app) -> list[tuple[str, int, int]]:
    with app.transaction() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(SharingRun.period, SharingRun.members_count, SharingRun.share_minor).order_by(SharingRun.id)
            )
        ]


def _head(app) -> tuple[int, str]:
    with app.transaction() as s:
        seq, head = s.execute(select(Pool.ledger_seq, Pool.ledger_head).where(Pool.key == POOL)).one()
    return seq, head


def test_the_site_of_a_real_pool_in_a_browser(chromium, app, invoke, truckers_pool, make_driver, tmp_path):
    _pool(app, truckers_pool, make_driver)
    out = tmp_path / "site"
    result = invoke("site", "build", POOL, "--out", str(out), "--paths", "300")
    assert result.exit_code == 0, result.output
    runs = _runs(app)
    assert [p for p, _, _ in runs] == ["2026-11", "2026-12", "2027-01"]
    seq, head = _head(app)
    assert result.output == (
        f"wrote {3 + len(runs)} files to {out} ({len(runs)} periods, ledger head {seq}:{head}); open {out / 'index.html'}\n"
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == ["index.html", "ledger-head.txt", *[f"period-{p}.html" for p, _, _ in runs], "periods.html"]
    assert (out / "ledger-head.txt").read_text() == f"{seq}:{head}\n"
    for page in out.glob("*.html"):
        source = page.read_text(encoding="utf-8")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", source), f"{page.name} links outside"
        assert "<link" not in source and " src=" not in source
        assert NAME not in source  # the claimant is masked wherever they are shown

    # the periods as the browser shows them, against the runs
    dom = _browser(chromium, tmp_path, "--dump-dom", (out / "periods.html").as_uri())
    shown = re.findall(r'<tr data-period="([^"]+)" data-members="(\d+)" data-share-minor="(\d+)"', dom)
    assert shown == [(p, str(m), str(s)) for p, m, s in runs]
    for period, members, share in runs:
        row = re.search(rf'<tr data-period="{period}".*?</tr>', dom).group(0)
        cells = re.findall(r"<td>(.*?)</td>", row)
        assert f"{members:,}" in cells and format_minor(share, "CNY") in cells

    # the front page: the head hash, the last share, the calculator run by the browser
    dom = _browser(chromium, tmp_path, "--dump-dom", (out / "index.html").as_uri())
    assert f'<code id="ledger-head" data-seq="{seq}" data-hash="{head}">{seq}:{head}</code>' in dom
    assert f"mutualaid ledger verify {POOL} --anchor {seq}:{head}" in dom
    last = runs[-1]
    assert f'<td id="last-share" data-minor="{last[2]}">{format_minor(last[2], "CNY")} CNY ({last[0]})</td>' in dom
    age30 = re.search(r'<tr data-age="30"><td>30</td><td>([\d.]+)</td><td>([\d.]+)</td><td>([\d.]+)</td></tr>', dom)
    assert age30, dom[-3000:]
    expected, low, high = age30.groups()
    assert f'<output id="age-output" for="age-input">{expected} CNY ({low} - {high})</output>' in dom
    assert expected == str(app.quote(POOL, date(1997, 12, 31)).expected)  # 30 on the suite's today
    assert dom.count("<svg") == 4  # share and members over time, and their forecasts

    # a period's page: its case, masked, with the claimant's city
    dom = _browser(chromium, tmp_path, "--dump-dom", (out / "period-2026-11.html").as_uri())
    assert '<td class="text">王**</td><td class="text">南京</td>' in dom
    assert NAME not in dom

    screenshot = tmp_path / "site-index.png"
    _browser(chromium, tmp_path, f"--screenshot={screenshot}", (out / "index.html").as_uri(), height=3000)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot of the site: {screenshot}")


def test_a_rebuild_replaces_the_sites_own_files(app, invoke, truckers_pool, make_driver, tmp_path):
    _pool(app, truckers_pool, make_driver)
    out = tmp_path / "site"
    out.mkdir()
    (out / "period-1999-01.html").write_text("an old period", encoding="utf-8")
    assert invoke("site", "build", POOL, "--out", str(out), "--paths", "50").exit_code == 0
    assert not (out / "period-1999-01.html").exists()
    assert invoke("site", "build", POOL, "--out", str(out), "--paths", "50").exit_code == 0


def test_the_site_refuses_a_file_or_a_directory_of_other_files(app, invoke, truckers_pool, make_driver, tmp_path):
    app.create_pool(truckers_pool())
    mine = tmp_path / "mine"
    mine.mkdir()
    target = mine / "notes.txt"
    target.write_text("mine", encoding="utf-8")
    result = invoke("site", "build", POOL, "--out", str(target))
    assert (result.exit_code, result.output) == (
        1,
        f"Error: --out {target} is a file; give a directory for the site (it is created if missing)\n",
    )
    result = invoke("site", "build", POOL, "--out", str(mine))
    assert (result.exit_code, result.output) == (
        1,
        f"Error: --out {mine} holds files that are not the site's (notes.txt); give an empty or new directory\n",
    )
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_a_pool_without_periods_or_incidence_still_builds(app, invoke, tmp_path):
    app.create_pool(
        {
            "key": "liver",
            "name": "Liver friends",
            "cohort": "disease-society",
            "locale": "en",
            "settings": {"disease_codes": ["B18"], "benefit": {"kind": "fixed", "amount": 1000}},
        }
    )
    result = invoke("site", "build", "liver", "--out", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "No period has been shared yet." in index
    assert "No expected cost or forecast: pool &#39;liver&#39; has no incidence to work from" in index
    assert '<p id="ledger-head">The ledger has no entry yet.</p>' in index
