"""The ``member`` commands: join, import, list, show, update, correct, history, exit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import MutualAidError, ValidationError
from .common import (
    LIST_NAME_WIDTH,
    State,
    dump,
    dump_stream,
    fmt_value,
    json_option,
    pairs,
    pass_state,
    stream_table,
    table,
)

__all__ = ["member_group"]


@click.group("member")
def member_group() -> None:
    """Join, import, list, show, update and correct members; their history; record an exit or a death."""


#: ID numbers are masked in every listing unless the operator asks (and has the key).
_show_id_numbers = click.option(
    "--show-id-numbers",
    "reveal",
    is_flag=True,
    help="Show ID numbers in full (decrypted with the operator's key) instead of masked.",
)


#: The contact options of 'member join' and 'member update': (option, metavar, help).
_CONTACT_OPTIONS = (
    ("--email", "ADDRESS", "Email address (name@example.com); notices by email go to it."),
    ("--phone", "NUMBER", "Phone number: 6 to 20 digits, optionally after a +; spaces and hyphens are removed."),
    ("--locale", "LOCALE", "Preferred language of the member's notices: zh-CN or en (default: the pool's)."),
    ("--city", "CITY", "Home city, shown beside the member's masked name in public notices."),
)


def _contact_options(clearing: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The --email, --phone, --locale and --city options (for an update: an empty value clears one)."""

    def add(command: Callable[..., Any]) -> Callable[..., Any]:
        for option, metavar, help_text in reversed(_CONTACT_OPTIONS):
            text = f"{help_text} An empty value clears it." if clearing else help_text
            command = click.option(option, metavar=metavar, help=text)(command)
        return command

    return add


@member_group.command("join")
@click.argument("pool")
@click.option("--id-number", required=True, help="Identity document number (one live membership per person and pool).")
@click.option("--name", required=True, help="Full name.")
@click.option("--birth-date", required=True, metavar="YYYY-MM-DD")
@click.option("--joined-on", metavar="YYYY-MM-DD", help="Joining day (default: today in the pool's time zone).")
@click.option(
    "--attr",
    "attrs",
    multiple=True,
    metavar="NAME=VALUE",
    help="A cohort attribute, repeatable ('mutualaid cohorts show COHORT' lists them).",
)
@_contact_options(clearing=False)
@json_option
@pass_state
def member_join(
    state: State,
    pool: str,
    id_number: str,
    name: str,
    birth_date: str,
    joined_on: str | None,
    attrs: tuple[str, ...],
    email: str | None,
    phone: str | None,
    locale: str | None,
    city: str | None,
    as_json: bool,
) -> None:
    """Add a member after checking the cohort's eligibility rules (every failing reason is listed).

    The contact fields (--email, --phone, --locale, --city) are optional; each is checked and
    stored normalised (the email's domain in lower case, the phone number without spaces).
    """
    record = state.app.join(
        pool,
        id_number=id_number,
        name=name,
        birth_date=birth_date,
        attributes=pairs(attrs, "--attr"),
        joined_on=joined_on,
        email=email,
        phone=phone,
        locale=locale,
        city=city,
    )
    if as_json:
        dump(record.as_dict())
        return
    click.echo(
        f"member #{record.id} {record.name} joined pool {pool!r} on {record.joined_on}; "
        f"waiting period until {record.waiting_until} (that day included)"
    )
    click.echo(f"welcome notice: mutualaid notice render {pool} --kind welcome --member {record.id} --out DIR")


@member_group.command("import")
@click.argument("pool")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and write the invalid ones to a rejects CSV.")
@click.option(
    "--rejects", type=click.Path(path_type=Path), help="Where to write rejected rows (default: FILE.rejects.csv)."
)
@click.option("--joined-on", metavar="YYYY-MM-DD", help="Joining day for rows without a joined_on column.")
@json_option
@pass_state
def member_import(
    state: State, pool: str, file: Path, skip_invalid: bool, rejects: Path | None, joined_on: str | None, as_json: bool
) -> None:
    """Import members from a CSV file: columns id_number, name, birth_date, [joined_on], the
    cohort's attributes and, optionally, the contact fields email, phone, locale and city (checked
    as 'member join' checks them; an empty cell is not given). All or nothing unless --skip-invalid. On a terminal, a progress bar on
    stderr shows the rows being checked and written."""
    bars = _ImportBars(_count_lines(file)) if not as_json and _stderr_is_terminal() else None
    try:
        result = state.app.import_members(
            pool, file, skip_invalid=skip_invalid, rejects_path=rejects, joined_on=joined_on, progress=bars
        )
    except MutualAidError:
        if bars is not None:
            bars.close(completed=False)
        raise
    if bars is not None:
        bars.close(completed=True)
    if as_json:
        dump(
            {
                "imported": result.imported,
                "rejected": result.rejected,
                "rejects": str(result.rejects_path) if result.rejects_path else None,
            }
        )
        return
    click.echo(f"imported {result.imported:,} members into pool {pool!r}")
    if result.rejected:
        click.echo(
            f"skipped {result.rejected:,} invalid rows; they are in {result.rejects_path} with the reason for each"
        )


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False


def _count_lines(path: Path) -> int:
    """The number of lines of a file (0 if it cannot be read: the import reports that itself)."""
    count, last = 0, b"\n"
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                count += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return 0
    return count + (last != b"\n")


class _ImportBars:
    """The progress of 'member import' on stderr: a bar of the file's lines as its rows are checked
    and written (see ``mutualaid.members.ImportProgress``), one per stage were there several."""

    LABELS = {"importing": "importing rows"}

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self.stage: str | None = None
        self.bar: Any = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage != self.stage:
            self.close(completed=True)
            length = total if total is not None else self.lines
            self.bar = click.progressbar(length=max(length, 1), label=self.LABELS.get(stage, stage), file=sys.stderr)
            self.bar.__enter__()
            self.stage, self.done = stage, 0
        step = min(done, self.bar.length) - self.done
        if step > 0:
            self.bar.update(step)
            self.done += step

    def close(self, *, completed: bool) -> None:
        """End the current bar, filled if its stage completed."""
        if self.bar is None:
            return
        if completed and self.done < self.bar.length:
            self.bar.update(self.bar.length - self.done)
        self.bar.__exit__(None, None, None)
        self.bar = None


@member_group.command("list")
@click.argument("pool")
@click.option("--status", help="Only members with this status (active, frozen, lapsed, exited, deceased).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many members.")
@click.option(
    "--after",
    metavar="MEMBER",
    type=click.IntRange(min=0),
    help="Only members after this member number (for paging with --limit: the last one shown).",
)
@_show_id_numbers
@json_option
@pass_state
def member_list(
    state: State, pool: str, status: str | None, limit: int | None, after: int | None, reveal: bool, as_json: bool
) -> None:
    """List a pool's members in joining order (ID numbers masked unless --show-id-numbers).

    The members are printed as they are read, so a pool of millions lists in constant memory; the
    table's column widths are set by the pool's highest member number and the first rows (a name
    wider than 24 columns is printed whole), and --json prints one JSON array as it is read. Page
    with --limit N --after M, where M is the last member number of the previous page.
    """
    app = state.app
    today = app.today(pool)
    if as_json:
        members = app.iter_members(pool, status=status, limit=limit, after=after, reveal=reveal)
        dump_stream(m.as_dict(today) for m in members)
        return
    stream_table(
        app.iter_member_rows(pool, today, status=status, limit=limit, after=after, reveal=reveal),
        ("member", "name", "id number", "born", "joined", "waiting until", "state"),
        least=(len(str(app.member_number_bound(pool))),),
        most=(None, LIST_NAME_WIDTH),
    )


@member_group.command("show")
@click.argument("pool")
@click.argument("member")
@_show_id_numbers
@json_option
@pass_state
def member_show(state: State, pool: str, member: str, reveal: bool, as_json: bool) -> None:
    """Show a member and their state today (the ID number masked unless --show-id-numbers).

    MEMBER is a member number or an ID number (the live membership first).
    """
    app = state.app
    record = app.member(pool, member, reveal=reveal)
    data = record.as_dict(app.today(pool))
    if as_json:
        dump(data)
        return
    attributes = data.pop("attributes")
    contacts = {name: data.pop(name) for name in record.contacts}
    for key, value in data.items():
        click.echo(f"{key}: {fmt_value(value)}")
    click.echo("attributes:" if attributes else "attributes: -")
    for key, value in attributes.items():
        click.echo(f"  {key}: {fmt_value(value)}")
    if contacts:  # only those given; none, no section
        click.echo("contacts:")
        for key, value in contacts.items():
            click.echo(f"  {key}: {value}")


@member_group.command("update")
@click.argument("pool")
@click.argument("member")
@click.option(
    "--attr",
    "attrs",
    multiple=True,
    metavar="NAME=VALUE",
    help="A cohort attribute to change, repeatable; an empty VALUE removes it.",
)
@_contact_options(clearing=True)
@json_option
@pass_state
def member_update(
    state: State,
    pool: str,
    member: str,
    attrs: tuple[str, ...],
    email: str | None,
    phone: str | None,
    locale: str | None,
    city: str | None,
    as_json: bool,
) -> None:
    """Change a live member's cohort attributes (a renewed licence, say) and contact fields.

    For example: mutualaid member update POOL 12 --attr licence_expires=2036-05-31. The values are
    merged into the stored ones and the whole set is validated again, as at joining ('mutualaid
    cohorts show COHORT' lists the attributes); nothing changes if any is wrong. Eligibility is not
    checked again: a member does not lose the membership by ageing or by what is recorded here.
    Claims already filed keep the attributes recorded when they were filed and are decided on them.
    A contact field is changed with its option (--email new@example.com) and cleared with an empty
    value (--email ""). Prints each change as old → new.
    """
    contacts = {"email": email, "phone": phone, "locale": locale, "city": city}
    if not attrs and all(value is None for value in contacts.values()):
        raise click.MissingParameter(
            "Give --attr NAME=VALUE for an attribute to change, or a contact field: --email, --phone, --locale "
            "or --city",
            param_hint="'--attr'",
            param_type="option",
        )
    app = state.app
    update = app.update_member(pool, member, pairs(attrs, "--attr"), **contacts)
    if as_json:
        dump(update.as_dict(app.today(pool)))
        return
    record = update.member
    if not update.changes:
        click.echo(f"member #{record.id} {record.name}: nothing changed (the values given are the ones stored)")
        return
    click.echo(f"updated member #{record.id} {record.name} of pool {pool!r}:")
    for name, (old, new) in update.changes.items():
        click.echo(f"  {name}: {fmt_value(old)} → {fmt_value(new)}")


@member_group.command("history")
@click.argument("pool")
@click.argument("member")
@json_option
@pass_state
def member_history(state: State, pool: str, member: str, as_json: bool) -> None:
    """Show every change of a membership: joined, covered, frozen, unfrozen, lapsed, exited, died.

    MEMBER is a member number or an ID number. Each change is dated the first day it holds.
    """
    record, changes = state.app.member_history(pool, member)
    corrections = state.app.identity_corrections(pool, record.id)
    if as_json:
        dump(
            {
                "member": record.id,
                "pool": record.pool_key,
                "history": [c.as_dict() for c in changes],
                "identity_corrections": [c.as_dict() for c in corrections],
            }
        )
        return
    click.echo(f"member #{record.id} {record.name} of pool {pool!r}: {record.status}")
    table([(c.since, c.change, c.status, c.cause) for c in changes], ("from", "change", "status", "why"))
    if corrections:
        click.echo("identity corrections (ID numbers masked):")
        table(
            [
                (
                    c.corrected_at.strftime("%Y-%m-%d %H:%M"),
                    c.corrected_by,
                    "; ".join(f"{name} {old} → {new}" for name, (old, new) in c.changes.items()),
                    c.reason,
                )
                for c in corrections
            ],
            ("when (UTC)", "by", "what", "why"),
        )


@member_group.command("correct")
@click.argument("pool")
@click.argument("member")
@click.option("--reason", required=True, help="Why the identity is corrected (kept in the member's history).")
@click.option("--by", required=True, help="Who makes the correction (kept in the member's history).")
@click.option("--name", help="The corrected full name.")
@click.option("--id-number", help="The corrected identity document number.")
@click.option("--birth-date", metavar="YYYY-MM-DD", help="The corrected birth date.")
@json_option
@pass_state
def member_correct(
    state: State,
    pool: str,
    member: str,
    reason: str,
    by: str,
    name: str | None,
    id_number: str | None,
    birth_date: str | None,
    as_json: bool,
) -> None:
    """Correct a member's name, ID number or birth date, mistyped at joining.

    The corrected identity is checked as a joining is: the ID number valid (a 15-digit one is
    stored in its 18-character form), the birth date the one in it, the cohort's eligibility on the
    original joining day, and no other live membership of the person in the pool. The values
    before and after (ID numbers encrypted), who, when and why are kept: 'mutualaid member history'
    shows them. Nothing changes if anything is wrong.
    """
    record, correction = state.app.correct_member(
        pool, member, reason=reason, by=by, name=name, id_number=id_number, birth_date=birth_date
    )
    if as_json:
        dump(correction.as_dict())
        return
    click.echo(f"corrected member #{record.id} of pool {pool!r}:")
    for field, (old, new) in correction.changes.items():
        click.echo(f"  {field}: {old} → {new}")


@member_group.command("exit")
@click.argument("pool")
@click.argument("member")
@click.option(
    "--on",
    "on",
    metavar="YYYY-MM-DD",
    help="The day the membership ends (default: today in the pool's time zone; required with --deceased).",
)
@click.option("--deceased", is_flag=True, help="Record that the member died on that day, rather than left.")
@json_option
@pass_state
def member_exit(state: State, pool: str, member: str, on: str | None, deceased: bool, as_json: bool) -> None:
    """End a live membership: the member leaves, or died (--deceased).

    MEMBER is a member number or an ID number. A member may exit at any time. One who exits on day D still shares every period whose notice
    day is on or before D (members are counted at 00:00 of the notice day, so a period whose cases
    are already in public notice is still owed) and no period whose notice day is after D. Shares
    already charged are not refunded. A death claim that is approved, or rejected as not payable,
    records the death by itself.
    """
    app = state.app
    if deceased:
        if on is None:
            raise ValidationError(["--on is required with --deceased: give the day of the death, e.g. --on 2026-10-20"])
        record = app.record_death(pool, member, on)
    else:
        record = app.exit_member(pool, member, on)
    if as_json:
        dump(record.as_dict(app.today(pool)))
        return
    how = "left pool" if record.status == "exited" else "is recorded as deceased in pool"
    click.echo(
        f"member #{record.id} {record.name} {how} {pool!r} on {record.ended_on}; "
        f"they share no period whose notice day is after {record.ended_on}"
    )
