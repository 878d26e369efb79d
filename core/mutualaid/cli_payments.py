"""The ``payment`` and ``balance`` commands: how members pay their shares.

``payment`` is for postpaid pools (import the results of collecting the shares, settle the retry
windows, list a period's shares), ``balance`` for prepaid pools (top-ups, a member's balance, the
members whose balance is low and their reminders). :func:`register` adds both groups to the
``mutualaid`` command line. User mistakes reach the top-level group as ``MutualAidError`` and are
printed there as one line with exit code 1.

The option decorators and output helpers come from :mod:`mutualaid.cli_common`, not from
``mutualaid.cli``, which imports this module at its end: either module can be imported first.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_common import dump, json_option, layout_option, pass_state, table, templates_option
from .money import format_minor, from_minor
from .wording import plural

if TYPE_CHECKING:
    from .cli import State

__all__ = ["balance_group", "payment_group", "register"]


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else "-"


# -- payment (postpaid) ---------------------------------------------------------------------------


@click.group("payment")
def payment_group() -> None:
    """Postpaid pools: record payment results, settle retry windows, list a period's shares."""


@payment_group.command("import")
@click.argument("pool")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
@pass_state
def payment_import(state: State, pool: str, file: Path, as_json: bool) -> None:
    """Import payment results from a CSV file, all or nothing.

    The header is member_id,period,result,date and optionally amount: one attempt to collect a
    member's share per row, result 'paid' or 'failed', dated YYYY-MM-DD from the period's deduction
    day to the end of its retry window. A failed attempt may be retried in the window; a share is
    paid once. A share with no result reported stays due: while its member is live it may be
    reported paid later, also after the period was settled. Every bad row is listed as
    FILE:LINE: field: message and nothing is imported. The same file is imported once.
    """
    result = state.app.import_payments(pool, file)
    if as_json:
        dump(result.as_dict())
        return
    cur = result.currency
    click.echo(
        f"imported {file} into pool {pool!r} as payment batch #{result.batch_id}: {plural(result.rows, 'row')}, "
        f"{result.paid_count:,} paid ({format_minor(result.paid_minor, cur)} {cur}), {result.failed_count:,} failed"
    )


@payment_group.command("settle")
@click.argument("pool")
@click.option("--on", "on", metavar="YYYY-MM-DD", help="The settling day (default: today in the pool's time zone).")
@json_option
@pass_state
def payment_settle(state: State, pool: str, on: str | None, as_json: bool) -> None:
    """Settle the periods whose retry window closed before the settling day.

    Each member whose collection was reported failed and never paid lapses (the membership ends on
    the window's last day) and those shares are written off to the sponsor or carried to the next
    period, as the pool's [payments] unpaid says. A share with no result reported is not a failure:
    it stays due and its member keeps their rights. Each period is settled once; a sharing run
    settles the earlier periods by itself.
    """
    settlements = state.app.settle_payments(pool, on)
    if as_json:
        dump([s.as_dict() for s in settlements])
        return
    if not settlements:
        click.echo(f"nothing to settle in pool {pool!r}: no retry window closed since the last settlement")
        return
    for s in settlements:
        where = "borne by the sponsor" if s.policy == "sponsor" else "carried to the next period"
        click.echo(
            f"period {s.period} (retry window closed on {s.window_closed}): {s.paid_count:,} of "
            f"{plural(s.charged_count, 'share')} paid; {s.unpaid_count:,} failed, "
            f"{format_minor(s.unpaid_minor, s.currency)} {s.currency} {where}; {plural(s.lapsed, 'member')} lapsed"
            + (f"; {s.due_count:,} with no result reported, still due" if s.due_count else "")
        )


@payment_group.command("list")
@click.argument("pool")
@click.option("--period", required=True, help="Period key: 2026-11 (monthly) or 2026-11a / 2026-11b (semi-monthly).")
@click.option("--unpaid", is_flag=True, help="Only the shares not paid (still due, or written off).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many shares.")
@json_option
@pass_state
def payment_list(state: State, pool: str, period: str, unpaid: bool, limit: int | None, as_json: bool) -> None:
    """List a period's shares and what became of each: paid, unpaid (still due), or written off (collection failed)."""
    shares = state.app.payments(pool, period, unpaid=unpaid, limit=limit)
    if as_json:
        dump([s.as_dict() for s in shares])
        return
    table(
        [
            (
                s.member_id,
                s.name,
                format_minor(s.charge_minor, s.currency),
                s.state,
                _day(s.paid_on),
                s.failed_attempts,
                s.member_status,
            )
            for s in shares
        ],
        ("member", "name", "share", "state", "paid on", "failed attempts", "member status"),
    )


# -- balance (prepaid) ----------------------------------------------------------------------------


@click.group("balance")
def balance_group() -> None:
    """Prepaid pools: top-ups, members' balances, low balances and their reminders."""


@balance_group.command("topup")
@click.argument("pool")
@click.argument("member")
@click.argument("amount")
@click.option("--on", "on", metavar="YYYY-MM-DD", help="The day the money was received (default: today).")
@click.option("--reference", default="", help="The payment's own reference; one already recorded is refused.")
@json_option
@pass_state
def balance_topup(
    state: State, pool: str, member: str, amount: str, on: str | None, reference: str, as_json: bool
) -> None:
    """Record a top-up of AMOUNT (e.g. 50 or 20.50) to MEMBER's balance.

    MEMBER is a member number or an ID number. A frozen member whose balance reaches the pool's
    low_balance is unfrozen from the day of the top-up.
    """
    record = state.app.top_up(pool, member, amount, on, reference)
    if as_json:
        dump(record.as_dict())
        return
    cur = record.currency
    click.echo(
        f"recorded top-up #{record.id} of {format_minor(record.amount_minor, cur)} {cur} for member "
        f"#{record.member_id} on {record.received_on}; balance now {format_minor(record.balance_minor, cur)} {cur}"
    )
    if record.unfrozen:
        click.echo(f"member #{record.member_id} is active again (covered from {record.received_on})")


@balance_group.command("import")
@click.argument("pool")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
@pass_state
def balance_import(state: State, pool: str, file: Path, as_json: bool) -> None:
    """Import top-ups from a CSV file (member_id,amount,date,reference), all or nothing.

    Every bad row is listed as FILE:LINE: field: message and nothing is imported. A reference is
    required and recorded once, so importing the same file twice is refused.
    """
    result = state.app.import_top_ups(pool, file)
    if as_json:
        dump(result.as_dict())
        return
    cur = result.currency
    click.echo(
        f"imported {plural(result.rows, 'top-up')} from {file} into pool {pool!r}: "
        f"{format_minor(result.total_minor, cur)} {cur} for {plural(result.members, 'member')}; "
        f"{plural(result.unfrozen, 'member')} unfrozen"
    )


@balance_group.command("show")
@click.argument("pool")
@click.argument("member")
@json_option
@pass_state
def balance_show(state: State, pool: str, member: str, as_json: bool) -> None:
    """Show a member's balance, whether they are frozen, and their top-ups and deductions."""
    record = state.app.balance(pool, member)
    if as_json:
        dump(record.as_dict())
        return
    cur = record.currency
    fmt = lambda minor: f"{format_minor(minor, cur)} {cur}"  # noqa: E731
    low = f" (below the reminder level of {fmt(record.low_balance_minor)})" if record.low else ""
    click.echo(f"member #{record.member_id} {record.name}: {record.status}")
    click.echo(f"balance: {fmt(record.balance_minor)}{low}")
    for start, end in record.frozen_spans:
        click.echo(f"frozen: {start} to {end or 'now'} (events in this span are not covered)")
    click.echo("top-ups:" if record.top_ups else "top-ups: -")
    for t in record.top_ups:
        click.echo(f"  {t.received_on}  {format_minor(t.amount_minor, cur):>12}  {t.reference or '-'}")
    click.echo("deductions:" if record.deductions else "deductions: -")
    for d in record.deductions:
        click.echo(f"  {d.deducted_on}  {format_minor(d.amount_minor, cur):>12}  period {d.period}")


@balance_group.command("low")
@click.argument("pool")
@click.option("--threshold", metavar="AMOUNT", help="List balances below this (default: the pool's low_balance).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many members.")
@json_option
@pass_state
def balance_low(state: State, pool: str, threshold: str | None, limit: int | None, as_json: bool) -> None:
    """List the live members whose balance is below the reminder level (frozen members included)."""
    app = state.app
    currency = app.pool(pool).currency
    members = app.low_balances(pool, threshold, limit=limit)
    if as_json:
        dump(
            [
                {
                    "member_id": m.member_id,
                    "name": m.name,
                    "status": m.status,
                    "balance": str(from_minor(m.balance_minor, currency)),
                }
                for m in members
            ]
        )
        return
    table(
        [(m.member_id, m.name, m.status, format_minor(m.balance_minor, currency)) for m in members],
        ("member", "name", "status", "balance"),
    )


@balance_group.command("notify")
@click.argument("pool")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory."
)
@click.option("--member", "members", multiple=True, help="Only this member, whatever the balance; repeatable.")
@click.option("--threshold", metavar="AMOUNT", help="Remind balances below this (default: the pool's low_balance).")
@click.option("--locale", type=click.Choice(["zh-CN", "en"]), help="Language (default: the pool's).")
@layout_option
@templates_option("low_balance.txt.j2")
@pass_state
def balance_notify(
    state: State,
    pool: str,
    out_dir: Path,
    members: tuple[str, ...],
    threshold: str | None,
    locale: str | None,
    layout: str,
    templates: Path | None,
) -> None:
    """Render the low-balance reminders (notice kind low-balance) of the members below the level."""
    result = state.app.render_low_balance(
        pool,
        out_dir,
        members=list(members) or None,
        threshold=threshold,
        locale=locale,
        layout=layout,
        templates=templates,
    )
    where = result.paths[0] if layout == "stream" and result.paths else out_dir
    click.echo(f"rendered {plural(result.count, 'low-balance notice')} into {where}")


def register(cli: click.Group) -> None:
    """Add the ``payment`` and ``balance`` groups to the ``mutualaid`` command line."""
    cli.add_command(payment_group)
    cli.add_command(balance_group)
