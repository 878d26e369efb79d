"""The ``ledger`` commands: verify the hash chain (against published heads too), the head to
publish, the books and their balance, entries, adjustments."""

from __future__ import annotations

import click

from ..money import format_minor, from_minor
from ..vocabulary import Account, EntryKind, values
from ..wording import plural
from .common import State, dump, json_option, pairs, pass_state, table

__all__ = ["ledger_group"]


@click.group("ledger")
def ledger_group() -> None:
    """The pool's books: verify the hash chain, balances, entries, adjustments."""


@ledger_group.command("verify")
@click.argument("pool")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="N:HASH",
    help="A head published earlier (a statement's or notice's, or 'ledger head'): entry N must still have this hash.",
)
@click.option(
    "--anchors",
    "anchors_files",
    multiple=True,
    metavar="FILE",
    help="A file of published heads, one N:HASH a line ('#' comments allowed).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Check the whole chain and every run's records, not only what was added since the last verification.",
)
@json_option
@pass_state
@click.pass_context
def ledger_verify(
    ctx: click.Context,
    state: State,
    pool: str,
    anchors: tuple[str, ...],
    anchors_files: tuple[str, ...],
    full: bool,
    as_json: bool,
) -> None:
    """Recheck the hash chain, the records its entries rest on (charges, claims, payments,
    top-ups) and the heads published earlier (exit 1 on any problem). Only what was added since the
    last successful verification is checked (its entry must still have the same hash); --full
    checks everything from the first entry, and so do a pool's first verification and a failed one's
    next (records of entries before the last verification, edited since, are only found by --full)."""
    report = state.app.verify_ledger(pool, anchors=anchors, anchors_files=anchors_files, full=full)
    since = report.since
    scope = ""  # a full check says nothing more (as before there was an incremental one)
    if since is not None:
        added = (
            f"checked entries {report.first_seq}..{report.head_seq}"
            if report.head_seq >= report.first_seq
            else "no entries added"
        )
        scope = f"{added} since the verification of {since.day} (use --full to check all)"
    if as_json:
        dump(
            {
                "ok": report.ok,
                "entries": report.entries,
                "head": report.head,
                "head_seq": report.head_seq,
                "anchors": report.anchors,
                "full": report.full,
                "first_seq": report.first_seq,
                "since": since.verified_at.isoformat() if since is not None else None,
                "problems": [str(p) for p in report.problems],
                "notes": list(report.notes),
            }
        )
    elif report.ok:
        click.echo(
            f"ledger of pool {pool!r}: {report.entries:,} entr{'y' if report.entries == 1 else 'ies'}, chain intact, "
            + ("every run's charges match" if report.full else "the new runs' charges match")
            + (f", {plural(report.anchors, 'published head')} in the chain" if report.anchors else "")
        )
        click.echo(f"  head {report.head}")
        if scope:
            click.echo(f"  {scope}")
    else:
        click.echo(
            f"ledger of pool {pool!r}: {plural(len(report.problems), 'problem')} in "
            f"{plural(report.entries, 'entry', 'entries')}:"
        )
        for problem in report.problems:
            click.echo(f"  {problem}")
        if scope:
            click.echo(f"  {scope}")
    if not as_json:
        for note in report.notes:  # members' identities checked, or why not
            click.echo(f"  {note}")
    if not report.ok:
        ctx.exit(1)


@ledger_group.command("head")
@click.argument("pool")
@json_option
@pass_state
def ledger_head(state: State, pool: str, as_json: bool) -> None:
    """Print the ledger's head to publish (N:HASH): 'ledger verify --anchor N:HASH' later proves the
    chain was not rewritten since. Verify the ledger before publishing its head."""
    head = state.app.ledger_head(pool)
    if as_json:
        dump(head.as_dict())
        return
    click.echo(head.anchor)


@ledger_group.command("backfill")
@click.argument("pool")
@pass_state
def ledger_backfill(state: State, pool: str) -> None:
    """Post the entries of runs shared before the ledger existed (a database from mutualaid 0.1)."""
    periods = state.app.backfill_ledger(pool)
    if periods:
        click.echo(f"posted the ledger entries of {plural(len(periods), 'earlier run')}: {', '.join(periods)}")
    else:
        click.echo(f"every run of pool {pool!r} already has its ledger entry")


@ledger_group.command("balance")
@click.argument("pool")
@json_option
@pass_state
@click.pass_context
def ledger_balance(ctx: click.Context, state: State, pool: str, as_json: bool) -> None:
    """Each account's balance, and the reconciliation of the books with the pool's records (exit 1 if off)."""
    app = state.app
    currency = app.pool(pool).currency
    report = app.reconcile_books(pool)
    fmt = lambda minor: format_minor(minor, currency)  # noqa: E731
    if as_json:
        # Amounts as plain decimal strings ("-600000.00"), as every other --json output gives them.
        amount = lambda minor: str(from_minor(minor, currency))  # noqa: E731
        dump(
            {
                "ok": report.ok,
                "currency": currency,
                "balances": {k: amount(v) for k, v in report.balances.items()},
                "total": amount(report.total),
                "overdrawn": {k: amount(v) for k, v in report.overdrawn.items()},
                "checks": [
                    {
                        "account": c.account,
                        "ledger": amount(c.ledger_minor),
                        "records": amount(c.records_minor),
                        "ok": c.ok,
                        "what": c.what,
                    }
                    for c in report.checks
                ],
            }
        )
    else:
        click.echo(f"books of pool {pool!r} ({currency}; debit +, credit -):")
        table([(k, fmt(v), Account(k).description) for k, v in report.balances.items()], ["account", "balance", "what"])
        click.echo(
            f"sum of all accounts: {fmt(report.total)}" + (" (balanced)" if report.total == 0 else " (NOT BALANCED)")
        )
        for account, minor in report.overdrawn.items():
            click.echo(f"OVERDRAWN: {account} is {fmt(minor)} {currency}; {report.rule(account)}")
        click.echo("reconciliation with the pool's records:")
        for c in report.checks:
            mark = "ok" if c.ok else "MISMATCH"
            click.echo(
                f"  {c.account:<16} ledger {fmt(c.ledger_minor):>16}  records {fmt(c.records_minor):>16}  {mark}  ({c.what})"
            )
        click.echo("the books balance to the fen" if report.ok else "the books do NOT reconcile")
    if not report.ok:
        ctx.exit(1)


@ledger_group.command("entries")
@click.argument("pool")
@click.option("--kind", help=f"Only entries of this kind ({', '.join(values(EntryKind))}).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the last N entries.")
@json_option
@pass_state
def ledger_entries(state: State, pool: str, kind: str | None, limit: int | None, as_json: bool) -> None:
    """List the ledger's entries with their lines."""
    app = state.app
    currency = app.pool(pool).currency
    entries = app.ledger_entries(pool, kind=kind, limit=limit)
    if as_json:
        dump([e.as_dict() for e in entries])
        return
    for e in entries:
        click.echo(f"{e.seq:>6}  {e.posted_on}  {e.kind:<10}  {e.memo}  [{e.hash[:12]}]")
        for ln in e.lines:
            side = "Dr" if ln.amount > 0 else "Cr"
            who = f" member #{ln.member_id}" if ln.member_id else ""
            who += f" claim #{ln.claim_id}" if ln.claim_id else ""
            click.echo(f"          {side} {ln.account:<16} {format_minor(abs(ln.amount), currency):>16}{who}")


@ledger_group.command("adjust")
@click.argument("pool")
@click.option("--debit", "debits", multiple=True, required=True, metavar="ACCOUNT=AMOUNT")
@click.option("--credit", "credits", multiple=True, required=True, metavar="ACCOUNT=AMOUNT")
@click.option("--memo", required=True, help="What happened (kept in the entry).")
@click.option("--on", "on", metavar="YYYY-MM-DD", help="Day of the entry (default: today in the pool's time zone).")
@pass_state
def ledger_adjust(
    state: State, pool: str, debits: tuple[str, ...], credits: tuple[str, ...], memo: str, on: str | None
) -> None:
    """Record money paid out or in outside the pool's records (a benefit paid, the sponsor's payment)."""
    entry = state.app.adjust(pool, debit=pairs(debits, "--debit"), credit=pairs(credits, "--credit"), memo=memo, on=on)
    click.echo(f"posted adjustment as entry {entry.seq} [{entry.hash[:12]}]")


@ledger_group.command("reverse")
@click.argument("pool")
@click.argument("entry", type=int)
@click.option("--reason", required=True, help="Why the adjustment is reversed (kept in the entry).")
@pass_state
def ledger_reverse(state: State, pool: str, entry: int, reason: str) -> None:
    """Correct an adjustment by posting its exact opposite (entries are never edited or deleted)."""
    posted = state.app.reverse_entry(pool, entry, reason)
    click.echo(f"reversed entry {entry} with entry {posted.seq} [{posted.hash[:12]}]")
