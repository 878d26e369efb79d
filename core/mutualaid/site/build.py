"""Build a pool's static site: read the aggregates, draw the charts, render the pages, write them.

The pages are plain HTML with their CSS, charts (inline SVG) and the calculator's small script
inside them: they open from the disk, offline, and load nothing from anywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..errors import MutualAidError, ValidationError
from ..health import history
from ..health.service import cost_by_age, pool_forecast, pool_incidence
from ..money import format_minor, from_minor, to_minor
from ..notices.context import describe_rules
from ..plugins import Plugins
from ..pools import PoolRecord, pool_today
from ..vocabulary import Account, FeePolicy
from . import charts
from .data import SiteData, read_site_data
from .words import WORDS

__all__ = ["SiteReport", "build_site"]

TEMPLATES = Path(__file__).parent / "templates"
#: The files a build writes (and so may replace); anything else in the directory is refused.
_OURS = re.compile(r"^(index|periods|period-[A-Za-z0-9_-]+)\.html$|^ledger-head\.txt$")
#: Ages of the expected-cost calculator.
CALCULATOR_AGES = range(0, 81)


@dataclass(frozen=True)
class SiteReport:
    """What a build wrote."""

    out: Path
    files: tuple[Path, ...]
    periods: int
    ledger_seq: int
    ledger_head: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "files": [str(f) for f in self.files],
            "periods": self.periods,
            "ledger_seq": self.ledger_seq,
            "ledger_head": self.ledger_head,
        }


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValidationError([f"--out {out} is a file; give a directory for the site (it is created if missing)"])
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if not _OURS.match(p.name))
        if others:
            shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
            raise ValidationError(
                [f"--out {out} holds files that are not the site's ({shown}); give an empty or new directory"]
            )


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _fee_words(pool: PoolRecord, words: dict[str, str]) -> str:
    sharing = pool.config.sharing
    if sharing.management_fee == FeePolicy.FLAT:
        amount = format_minor(to_minor(sharing.management_fee_per_member, pool.currency), pool.currency)
        return words["fee_flat"].format(amount=amount, currency=pool.currency)
    if sharing.management_fee == FeePolicy.NONE:
        return words["fee_none"]
    return words["fee_rate"].format(percent=(sharing.management_fee_rate * 100).normalize())


def _health(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    today: date,
    members: history.MemberGroups,
    paths: int,
    seed: int,
) -> tuple[list[dict[str, Any]], Any, str | None]:
    """The calculator's table and the forecast, or why the pool has neither."""
    try:
        incidence = pool_incidence(session, plugins, pool, today, groups=members)
    except MutualAidError as exc:
        return [], None, str(exc)
    groups = members.live()
    size = sum(n for *_, n in groups)
    quotes = cost_by_age(session, plugins, pool, today, CALCULATOR_AGES, incidence=incidence, size=size)
    table = [{"age": q.age, "expected": str(q.expected), "p10": str(q.low), "p90": str(q.high)} for q in quotes]
    forecast = pool_forecast(session, plugins, pool, today, paths=paths, seed=seed, incidence=incidence, groups=groups)
    return table, forecast, None


def build_site(session: Session, plugins: Plugins, pool: PoolRecord, out: Path, *, paths: int, seed: int) -> SiteReport:
    """Render the pool's site into ``out`` (see :meth:`mutualaid.MutualAid.build_site`)."""
    _check_out(out)
    config = pool.config
    locale = str(config.locale)
    words = WORDS.get(locale, WORDS["en"])
    today = pool_today(pool.definition)
    data: SiteData = read_site_data(session, pool, locale)
    members_now = history.member_groups(session, pool.id, today)
    groups = members_now.live()
    cost_table, forecast, no_health = _health(session, plugins, pool, today, members_now, paths, seed)
    currency = pool.currency
    labels = [p.period for p in data.periods]
    shares = [float(from_minor(p.share_minor, currency)) for p in data.periods]
    members = [p.members for p in data.periods]
    figures = {
        "share": charts.line_chart("Share per member, each period", labels, shares, currency) if labels else "",
        "members": charts.line_chart("Members sharing, each period", labels, members, "members") if labels else "",
        "forecast_share": "",
        "forecast_members": "",
    }
    if forecast is not None:
        figures["forecast_share"] = charts.fan_chart(
            f"Share per member: shared, then forecast ({forecast.paths:,} paths)",
            labels,
            shares,
            forecast.share,
            currency,
        )
        figures["forecast_members"] = charts.fan_chart(
            f"Members: shared, then forecast ({forecast.paths:,} paths)", labels, members, forecast.members, "members"
        )
    anchor = f"{data.ledger_seq}:{data.ledger_head}" if data.ledger_head else None
    context = {
        "w": words,
        "locale": locale,
        "pool": {
            "key": config.key,
            "name": config.name,
            "operator": config.operator,
            "currency": currency,
            "cohort": pool.cohort.title_for(locale),
            "fee": _fee_words(pool, words),
            "rules": describe_rules(pool.cohort.rules, pool.settings, locale, currency),
        },
        "today": today.isoformat(),
        "live_members": sum(n for *_, n in groups),
        "periods": data.periods,
        "m": lambda minor: format_minor(minor, currency),
        "accounts": {a.value: a.description for a in Account},
        "balances": data.balances,
        "anchor": anchor,
        "ledger_seq": data.ledger_seq,
        "ledger_head": data.ledger_head,
        "figures": figures,
        "forecast": forecast,
        "no_health": no_health,
        "cost_table": cost_table,
        "cost_json": json.dumps(cost_table),
        "last": data.periods[-1] if data.periods else None,
    }
    env = _environment()
    pages = {
        "index.html": env.get_template("index.html.j2").render(context),
        "periods.html": env.get_template("periods.html.j2").render(context),
    }
    for period in data.periods:
        pages[f"period-{period.period}.html"] = env.get_template("period.html.j2").render(context, period=period)
    pages["ledger-head.txt"] = (anchor or "0:") + "\n"
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.iterdir():
        if stale.name not in pages and _OURS.match(stale.name):
            stale.unlink()
    written = []
    for name, text in pages.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return SiteReport(out, tuple(written), len(data.periods), data.ledger_seq, data.ledger_head)
