"""The ``pool quote`` and ``pool forecast`` commands: what joining a pool costs, and where the pool
is heading (added to the ``pool`` group)."""

from __future__ import annotations

from typing import Any

import click

from ..money import format_minor, to_minor
from ..wording import plural
from .common import State, dump, json_option, pass_state, table

__all__ = ["pool_forecast", "pool_quote"]


def _money(amount: Any, currency: str) -> str:
    return format_minor(to_minor(amount, currency), currency)


@click.command("quote")
@click.argument("pool")
@click.option("--birth-date", required=True, metavar="YYYY-MM-DD", help="The applicant's birth date.")
@json_option
@pass_state
def pool_quote(state: State, pool: str, birth_date: str, as_json: bool) -> None:
    """An applicant's expected yearly cost in POOL, with its 10th-90th percentile range.

    Worked out from the cohort's incidence by age (blended with the pool's own claims), the
    benefit at the applicant's age, the fee, the caps and the pool's size.
    """
    quote = state.app.quote(pool, birth_date)
    if as_json:
        dump(quote.as_dict())
        return
    cur = quote.currency
    click.echo(
        f"expected yearly cost at age {quote.age}: {_money(quote.expected, cur)} {cur} "
        f"(10th-90th percentile {_money(quote.low, cur)} to {_money(quote.high, cur)} {cur}, "
        f"a pool of {plural(quote.pool_size, 'member')})"
    )
    rows = [
        (e.event_kind, f"{e.rate * 100:.4f}%", f"{_money(e.benefit, cur)} {cur}", f"{_money(e.yearly, cur)} {cur}")
        for e in quote.events
    ]
    table(rows, ("event", "yearly chance", "benefit", "cost a year, fee included"))
    if quote.fee_yearly:
        click.echo(f"flat fee: {_money(quote.fee_yearly, cur)} {cur} a year")
    if quote.pool_average is not None:
        click.echo(
            f"this pool's members cost {_money(quote.pool_average, cur)} {cur} a year each on average: with "
            "equal shares that is what a member pays, whatever their own risk"
        )


@click.command("forecast")
@click.argument("pool")
@click.option("--periods", default=36, show_default=True, help="Periods ahead.")
@click.option("--paths", default=10_000, show_default=True, help="Simulated futures.")
@click.option("--seed", default=0, show_default=True, help="Seed of the simulation (the same seed, the same forecast).")
@json_option
@pass_state
def pool_forecast(state: State, pool: str, periods: int, paths: int, seed: int, as_json: bool) -> None:
    """POOL's next periods, simulated: the share per member and the members, with fan bands
    (10th, 50th and 90th percentile), and warnings of a cost spiral."""
    forecast = state.app.forecast(pool, periods=periods, paths=paths, seed=seed)
    if as_json:
        dump(forecast.as_dict())
        return
    rows = []
    for t in range(forecast.periods):
        share = forecast.share[:, t]
        members = forecast.members[:, t]
        rows.append(
            (
                t + 1,
                " / ".join(f"{float(v):,.2f}" for v in share),
                " / ".join(f"{round(float(v)):,}" for v in members),
            )
        )
    table(rows, ("period", "share per member p10 / p50 / p90", "members p10 / p50 / p90"))
    click.echo(f"{forecast.paths:,} paths, seed {forecast.seed}")
    for warning in forecast.warnings:
        click.echo(f"warning: {warning}")
    if not forecast.warnings:
        click.echo("no warning: no spiral on the median path, and the reserve covers the run-off cost")
