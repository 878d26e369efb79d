"""The ``share`` commands: run a period, show its breakdown, work one out from its inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..money import format_minor
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
    """Show the breakdown of a period's sharing run, and the runs of the period that were voided."""
    result, voided = state.app.period_runs(pool, period)
    if as_json:
        data: dict[str, Any] = result.as_dict() if result is not None else {"period": voided[-1].period, "run_id": None}
        if voided:
            data["voided"] = [v.as_dict() for v in voided]
        dump(data)
        return
    if result is not None:
        click.echo(f"period {result.period} of pool {pool!r} (run #{result.run_id}):")
        _print_run(result)
    else:
        click.echo(f"period {voided[-1].period} of pool {pool!r}: no run counts (voided; not shared again yet)")
    for v in voided:
        click.echo(f"voided run #{v.run_id}: {_void_line(v)}")


def _void_line(v: Any) -> str:
    cur = v.currency
    by = f" by {v.voided_by}" if v.voided_by else ""
    return (
        f"{format_minor(v.charged_minor, cur)} {cur} charged to {v.charge_rows:,} members, withdrawn on "
        f"{v.voided_on}{by} (ledger entry {v.entry_seq}): {v.reason}"
    )


@share_group.command("void")
@click.argument("pool")
@click.option("--period", required=True, help="Period key.")
@click.option("--reason", default="", help="Why (kept with the void, and told to the members it charged).")
@click.option("--by", "by", help="Who voids it (default: your login name).")
@json_option
@pass_state
def share_void(state: State, pool: str, period: str, reason: str, by: str | None, as_json: bool) -> None:
    """Void a period's sharing run before its deduction day: its ledger entry reversed, its claims
    approved again, a prepaid pool's balances given back and its freezes undone; the run stays on
    record and counts nowhere, and the period can be shared again."""
    from .corrections import operator_name

    void = state.app.void_run(pool, period, reason=reason, by=operator_name(by))
    if as_json:
        dump(void.as_dict())
        return
    cur = void.currency
    click.echo(f"voided run #{void.run_id} of period {void.period} of pool {pool!r}: {_void_line(void)}")
    if void.claims:
        click.echo(f"claims approved again, for the next run: {', '.join(f'#{c}' for c in void.claims)}")
    if void.refunded_minor:
        click.echo(
            f"given back to {void.charge_rows:,} members' balances: {format_minor(void.refunded_minor, cur)} {cur}"
        )
    if void.unfrozen:
        click.echo(f"members the run froze, unfrozen: {void.unfrozen:,}")
    if void.statements_sent:
        click.echo(
            f"{void.statements_sent:,} members were sent its statement: tell them with 'mutualaid notice send {pool} "
            f"--kind run-voided --period {void.period}'"
        )
    else:
        click.echo(
            f"if its statements were handed out, tell the members with 'mutualaid notice render {pool} --kind "
            f"run-voided --period {void.period} --out DIR'"
        )
    click.echo(f"next: share the period again, 'mutualaid share run {pool} --period {void.period}'")


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
