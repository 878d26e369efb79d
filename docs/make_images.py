"""Draw the documentation's images of a pool's health (docs/honest-cost.md, the README).

* ``docs/images/backtest.svg``: the forecast started from Xianghubao's April 2019 and run to the end
  of 2021 (fan bands of the share per member and of the members), beside what the record says of
  2021 (:mod:`mutualaid.health.backtest`);
* ``docs/images/site.png``: the front page of the public site of a small truckers pool that has
  shared three periods, built by ``mutualaid site build`` and shot by headless Chromium (skipped,
  with a note, where there is no Chromium).

    python docs/make_images.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path

from mutualaid import MutualAid
from mutualaid.health.backtest import FIRST_OF_2021, PERIODS, backtest
from mutualaid.site.charts import svg_of
from mutualaid.testing import resident_id
from mutualaid_disease_cohorts.incidence import incidence_table
from mutualaid_disease_cohorts.settings import CriticalIllnessSettings

IMAGES = Path(__file__).parent / "images"


def backtest_chart() -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    result = backtest(incidence_table(CriticalIllnessSettings()), paths=2_000, seed=2019)
    forecast = result.forecast
    xs = list(range(PERIODS))
    labels = {0: "2019-04", 18: "2020-01", FIRST_OF_2021: "2021-01", PERIODS - 1: "2021-12"}
    figure = Figure(figsize=(9, 3.6), dpi=100)
    figure.subplots_adjust(left=0.07, right=0.98, top=0.85, bottom=0.14, wspace=0.25)
    share, members = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    share.fill_between(xs, forecast.share[0], forecast.share[2], color="#9cc3de", label="forecast, 10th-90th pct")
    share.plot(xs, forecast.share[1], color="#1f5f8b", label="forecast, median")
    share.scatter([PERIODS - 3], [7.0], color="#8b1f1f", zorder=3, label="record: ~7 CNY (late 2021)")
    share.set_title("Share per member, each half-month (CNY)", fontsize=10, loc="left")
    millions = forecast.members / 1e6
    members.fill_between(xs, millions[0], millions[2], color="#9cc3de")
    members.plot(xs, millions[1], color="#1f5f8b")
    members.scatter(
        [0, 15, FIRST_OF_2021, PERIODS - 1],
        [50, 100, 101, 75],
        color="#8b1f1f",
        zorder=3,
        label="record: 50M, 100M, 101M, 75M",
    )
    members.set_title("Members (millions)", fontsize=10, loc="left")
    for axes in (share, members):
        axes.set_xticks(list(labels), list(labels.values()), fontsize=8)
        axes.tick_params(labelsize=8)
        axes.grid(True, color="#dddddd", linewidth=0.6)
        axes.set_ylim(bottom=0)
        axes.legend(fontsize=7, frameon=False, loc="upper left" if axes is share else "lower center")
    figure.suptitle("Xianghubao backtest: the forecast from April 2019 against the record of 2021", fontsize=11)
    path = IMAGES / "backtest.svg"
    path.write_text(svg_of(figure).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1) + "\n")
    print(f"wrote {path}: {result.as_dict()}")
    return path


def site_screenshot() -> Path | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        print("no Chromium: docs/images/site.png not redrawn")
        return None
    with tempfile.TemporaryDirectory() as folder:
        os.environ["MUTUALAID_HOME"] = folder
        os.environ["MUTUALAID_TODAY"] = "2027-01-31"
        app = MutualAid(f"sqlite:///{folder}/demo.db")
        app.create_pool(
            {
                "key": "jiangsu-truckers",
                "name": "Jiangsu truckers' mutual aid",
                "cohort": "truckers",
                "locale": "en",
                "operator": "Jiangsu truckers' association",
                "sharing": {"calendar": "monthly", "management_fee_rate": "0.08"},
            }
        )
        for n in range(1, 61):
            born = date(1970 + n % 25, 1 + n % 12, 1)
            app.join(
                "jiangsu-truckers",
                id_number=resident_id(born, n),
                name=f"Driver {n}",
                birth_date=born,
                joined_on=date(2026, 10, 1),
                attributes={
                    "licence_class": "A2",
                    "licence_number": f"L{n}",
                    "licence_expires": "2031-12-31",
                    "driving_proof": f"ETC-{n}",
                },
            )
        for member, kind, day, details in (
            (7, "accidental_death", "2026-10-20", {}),
            (12, "accidental_disability", "2026-11-20", {"disability_grade": 6}),
            (30, "accidental_disability", "2026-12-18", {"disability_grade": 9}),
        ):
            claim = app.file_claim(
                "jiangsu-truckers", member, event_kind=kind, event_date=day, filed_on=day, details=details
            )
            app.approve_claim(claim.id)
        for period in ("2026-11", "2026-12", "2027-01"):
            app.share("jiangsu-truckers", period)
        out = Path(folder) / "site"
        app.build_site("jiangsu-truckers", out)
        target = IMAGES / "site.png"
        subprocess.run(
            [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars",
             f"--user-data-dir={folder}/profile", "--window-size=1000,2200", f"--screenshot={target}",
             (out / "index.html").as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        app.close()
    print(f"wrote {target}")
    return target


if __name__ == "__main__":
    IMAGES.mkdir(parents=True, exist_ok=True)
    backtest_chart()
    site_screenshot()
