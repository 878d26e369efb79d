"""The ``balance`` commands, for prepaid pools: top-ups, a member's balance, the members whose
balance is low and their reminders."""

from __future__ import annotations

from pathlib import Path

import click

from ..money import format_minor, from_minor
from ..vocabulary import Layout, Locale, NoticeKind, values
from ..wording import plural
from .common import (
    LIST_NAME_WIDTH,
    State,
    dump,
    dump_stream,
    json_option,
    layout_option,
    pass_state,
    stream_table,
    templates_option,
)
from .notices import format_option, formats_of

__all__ = ["balance_group"]


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


@balance_group.command("reverse")
@click.argument("pool")
@click.argument("top_up", metavar="TOPUP")
@click.option("--reason", default="", help="Why the top-up is reversed (kept with the reversal).")
@click.option("--by", "by", help="Who reverses it (default: your login name).")
@json_option
@pass_state
def balance_reverse(state: State, pool: str, top_up: str, reason: str, by: str | None, as_json: bool) -> None:
    """Reverse top-up TOPUP (its number: 'balance show POOL MEMBER'), recorded by mistake: the
    member's balance falls by its amount (refused if they hold less now), a reversing entry is
    posted; the top-up stays on record, marked reversed."""
    from .corrections import number, operator_name

    record = state.app.reverse_top_up(pool, number(top_up, "TOPUP", "a top-up"), reason=reason, by=operator_name(by))
    if as_json:
        dump(record.as_dict())
        return
    cur = record.currency
    click.echo(
        f"reversed top-up #{record.top_up_id} of {format_minor(record.amount_minor, cur)} {cur} (member "
        f"#{record.member_id}, received {record.received_on}): ledger entry {record.entry_seq}; balance now "
        f"{format_minor(record.balance_minor, cur)} {cur}"
    )
    if record.refrozen_on is not None:
        click.echo(
            f"member #{record.member_id} is frozen again from {record.refrozen_on}: the top-up had unfrozen them "
            "and the balance is below the pool's low_balance without it"
        )


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
        reversed_ = f"  REVERSED on {t.reversed_on}: {t.reversal_reason}" if t.reversed_on else ""
        click.echo(
            f"  {t.received_on}  {format_minor(t.amount_minor, cur):>12}  {t.reference or '-'}  #{t.id}{reversed_}"
        )
    click.echo("deductions:" if record.deductions else "deductions: -")
    for d in record.deductions:
        voided = "  VOIDED: given back" if d.voided else ""
        click.echo(f"  {d.deducted_on}  {format_minor(d.amount_minor, cur):>12}  period {d.period}{voided}")


@balance_group.command("low")
@click.argument("pool")
@click.option("--threshold", metavar="AMOUNT", help="List balances below this (default: the pool's low_balance).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many members.")
@json_option
@pass_state
def balance_low(state: State, pool: str, threshold: str | None, limit: int | None, as_json: bool) -> None:
    """List the live members whose balance is below the reminder level (frozen members included).

    The members are printed as they are read, so a pool of millions lists in constant memory (the
    table's column widths are set by the pool's highest member number and the first rows).
    """
    app = state.app
    currency = app.pool(pool).currency
    members = app.iter_low_balances(pool, threshold, limit=limit)
    if as_json:
        dump_stream(
            {
                "member_id": m.member_id,
                "name": m.name,
                "status": m.status,
                "balance": str(from_minor(m.balance_minor, currency)),
            }
            for m in members
        )
        return
    stream_table(
        ((m.member_id, m.name, m.status, format_minor(m.balance_minor, currency)) for m in members),
        ("member", "name", "status", "balance"),
        least=(len(str(app.member_number_bound(pool))),),
        most=(None, LIST_NAME_WIDTH),
    )


@balance_group.command("notify")
@click.argument("pool")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory."
)
@click.option("--member", "members", multiple=True, help="Only this member, whatever the balance; repeatable.")
@click.option("--threshold", metavar="AMOUNT", help="Remind balances below this (default: the pool's low_balance).")
@click.option(
    "--locale",
    type=click.Choice(values(Locale)),
    help="Language of every notice (default: each member's preferred language, else the pool's).",
)
@layout_option
@format_option
@templates_option("low-balance.txt.j2 and low-balance.html.j2")
@pass_state
def balance_notify(
    state: State,
    pool: str,
    out_dir: Path,
    members: tuple[str, ...],
    threshold: str | None,
    locale: str | None,
    layout: str,
    fmt: str,
    templates: Path | None,
) -> None:
    """Render the low-balance reminders (notice kind low-balance) of the members below the level."""
    result = state.app.render_notices(
        pool,
        NoticeKind.LOW_BALANCE,
        out_dir,
        members=members,
        threshold=threshold,
        locale=locale,
        layout=layout,
        formats=formats_of(fmt),
        templates=templates,
    )
    where = result.paths[0] if layout == Layout.STREAM and result.paths else out_dir
    click.echo(f"rendered {plural(result.count, 'low-balance notice')} into {where}")
