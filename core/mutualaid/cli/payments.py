"""The ``payment`` commands, for postpaid pools: import the results of collecting the shares,
settle the retry windows, list a period's shares."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from ..money import format_minor
from ..vocabulary import Bearer
from ..wording import plural
from .common import State, dump, dump_stream, json_option, pass_state, stream_table

__all__ = ["payment_group", "settlement_line"]


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else "-"


def settlement_line(s: Any) -> str:
    """One settled retry window, as ``payment settle`` and ``share run`` print it."""
    where = "borne by the sponsor" if s.policy == Bearer.SPONSOR else "carried to the next period"
    return (
        f"period {s.period} (retry window closed on {s.window_closed}): {s.paid_count:,} of "
        f"{plural(s.charged_count, 'share')} paid; {s.unpaid_count:,} failed, "
        f"{format_minor(s.unpaid_minor, s.currency)} {s.currency} {where}; {plural(s.lapsed, 'member')} lapsed"
        + (f"; {s.due_count:,} with no result reported, still due" if s.due_count else "")
    )


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
        click.echo(settlement_line(s))


@payment_group.command("list")
@click.argument("pool")
@click.option("--period", required=True, help="Period key: 2026-11 (monthly) or 2026-11a / 2026-11b (semi-monthly).")
@click.option("--unpaid", is_flag=True, help="Only the shares not paid (still due, or written off).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many shares.")
@click.option("--after", type=click.IntRange(min=0), metavar="MEMBER", help="Start after this member number.")
@json_option
@pass_state
def payment_list(
    state: State, pool: str, period: str, unpaid: bool, limit: int | None, after: int | None, as_json: bool
) -> None:
    """List a period's shares and what became of each: paid, unpaid (still due), or written off (collection failed).

    The shares are printed as they are read, so a period of millions lists in constant memory; the
    table's column widths are set by the first thousand rows (a wider cell further on is printed
    whole), and --json prints one JSON array as it is read. Page with --limit N --after M, where M is the
    last member number of the previous page.
    """
    shares = state.app.iter_payments(pool, period, unpaid=unpaid, limit=limit, after=after)
    if as_json:
        dump_stream(s.as_dict() for s in shares)
        return
    stream_table(
        (
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
        ),
        ("member", "name", "share", "state", "paid on", "failed attempts", "member status"),
    )
