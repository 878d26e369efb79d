"""The ``share`` commands: run a period, show its breakdown, work one out from its inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..vocabulary import Rounding, values
from .common import State, dump, json_option, pass_state
from .payments import settlement_line

__all__ = ["share_group"]


@click.group("share")
def share_group() -> None:
    """Run and inspect sharing periods."""


def _print_run(result: Any) -> None:
    for label, value in result.lines():
        click.echo(f"  {label:<20} {value}")


@share_group.command("run")
@click.argument("pool")
@click.option("--period", required=True, help="Period key: 2026-11 (monthly) or 2026-11a / 2026-11b (semi-monthly).")
@json_option
@pass_state
def share_run(state: State, pool: str, period: str, as_json: bool) -> None:
    """Share a period's approved claims among the members covered at its cut-off (once per period)."""
    result = state.app.share(pool, period)
    if as_json:
        dump(result.as_dict())
        return
    for settled in result.settlements:
        click.echo(f"settled before the run: {settlement_line(settled)}")
    click.echo(f"shared period {result.period} of pool {pool!r} (run #{result.run_id}):")
    _print_run(result)


@share_group.command("show")
@click.argument("pool")
@click.option("--period", required=True, help="Period key.")
@json_option
@pass_state
def share_show(state: State, pool: str, period: str, as_json: bool) -> None:
    """Show the breakdown of a period's sharing run."""
    result = state.app.sharing_run(pool, period)
    if as_json:
        dump(result.as_dict())
        return
    click.echo(f"period {result.period} of pool {pool!r} (run #{result.run_id}):")
    _print_run(result)


@share_group.command("plan")
@click.option(
    "--pool", "pool_file", type=click.Path(path_type=Path), help="Take the sharing settings from this pool file."
)
@click.option("--aid", required=True, metavar="AMOUNT", help="The period's aid amount (sum of approved benefits).")
@click.option("--members", required=True, type=click.IntRange(min=0), help="Members sharing the period.")
@click.option(
    "--claims", type=click.IntRange(min=0), default=1, show_default=True, help="Claims funded (for per-case caps)."
)
@click.option("--surplus-in", default="0", metavar="AMOUNT", help="Surplus carried in from the previous period.")
@click.option("--fee-rate", metavar="RATE", help="Management fee as a fraction of the aid amount (overrides the pool).")
@click.option("--rounding", type=click.Choice(values(Rounding)), help="Rounding policy (overrides the pool).")
@click.option("--currency", default=None, help="Currency (default: the pool's, or CNY).")
@json_option
@pass_state
def share_plan(
    state: State,
    pool_file: Path | None,
    aid: str,
    members: int,
    claims: int,
    surplus_in: str,
    fee_rate: str | None,
    rounding: str | None,
    currency: str | None,
    as_json: bool,
) -> None:
    """Work out a period's figures from its inputs, without a database (a published period, or a what-if)."""
    plan = state.app.plan_period(
        pool_file=pool_file,
        aid=aid,
        members=members,
        claims=claims,
        surplus_in=surplus_in,
        fee_rate=fee_rate,
        rounding=rounding,
        currency=currency,
    )
    if as_json:
        dump(plan.as_dict())
        return
    for label, value in plan.lines():
        click.echo(f"  {label:<20} {value}")
