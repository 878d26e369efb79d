"""The ``notice`` commands: render member notices."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import NotFoundError
from ..fields import is_record_number
from ..vocabulary import Layout, Locale, NoticeFormat, NoticeKind, SmtpSecurity, values
from ..wording import plural
from .common import F, State, dump, json_option, layout_option, pass_state, templates_option

__all__ = ["format_option", "notice_group"]

FORMAT_CHOICES = (*values(NoticeFormat), "both")


def formats_of(choice: str) -> tuple[str, ...]:
    return values(NoticeFormat) if choice == "both" else (choice,)


def format_option(func: F) -> F:
    """``--format text|html|both`` of the commands that render notices."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMAT_CHOICES),
        default=NoticeFormat.TEXT.value,
        show_default=True,
        help="Plain text, HTML (readable on a phone, printable), or both.",
    )(func)


def _claim_numbers(ctx: click.Context, param: click.Parameter, value: tuple[int, ...]) -> tuple[int, ...]:
    """Claim numbers the database could hold; any other names no claim (and would overflow a query)."""
    for number in value:
        if not is_record_number(number):
            raise NotFoundError(f"no claim #{number}; 'mutualaid claim list POOL' shows the claims")
    return value


def selection_options(func: F) -> F:
    """Which notices a command renders or sends: ``--kind`` and what picks the recipients
    (``--period``, ``--member``, ``--claim``, ``--since``) and their language (``--locale``)."""
    for option in reversed(
        (
            click.option(
                "--kind",
                required=True,
                metavar="KIND",
                help=f"The kind of notice: {', '.join(values(NoticeKind))}, or one a cohort plugin adds.",
            ),
            click.option("--period", help="Period key (statements, public notices, payment-failed notices)."),
            click.option("--member", "members", multiple=True, help="Only this member; repeatable."),
            click.option(
                "--claim",
                "claims",
                multiple=True,
                type=int,
                callback=_claim_numbers,
                help="Decision letters: only this claim; repeatable.",
            ),
            click.option(
                "--since", metavar="YYYY-MM-DD", help="Lapse, frozen, unfrozen and exit notices: events from this day."
            ),
            click.option(
                "--locale",
                type=click.Choice(values(Locale)),
                help="Language of every notice (default: each member's preferred language, else the pool's).",
            ),
        )
    ):
        func = option(func)
    return func


@click.group("notice")
def notice_group() -> None:
    """Render member notices, and send them by email."""


@notice_group.command("render")
@click.argument("pool")
@selection_options
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory."
)
@format_option
@layout_option
@templates_option("<kind>.txt.j2 and <kind>.html.j2")
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Worker processes, each rendering a range of members (0: one per core).",
)
@pass_state
def notice_render(
    state: State,
    pool: str,
    kind: str,
    period: str | None,
    members: tuple[str, ...],
    claims: tuple[int, ...],
    since: str | None,
    out_dir: Path,
    locale: str | None,
    fmt: str,
    layout: str,
    templates: Path | None,
    jobs: int,
) -> None:
    """Render notices of one kind: welcome, statements of a period, the public notice of a period's
    cases, decision letters, payment-failed, lapse, frozen, unfrozen, low-balance and exit notices.

    On a terminal, a line on stderr shows how many have rendered so far, updated every second."""
    import sys
    import time

    progress = None
    started = last = time.monotonic()
    if sys.stderr.isatty():

        def progress(count: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= 1:
                last = now
                rate = count / max(now - started, 1e-9)
                click.echo(f"\rrendered {count:,} {kind} notices ({rate:,.0f}/s)", nl=False, err=True)

    try:
        result = state.app.render_notices(
            pool,
            kind,
            out_dir,
            period=period,
            members=members,
            claims=claims,
            since=since,
            locale=locale,
            layout=layout,
            formats=formats_of(fmt),
            templates=templates,
            progress=progress,
            jobs=jobs,
        )
    finally:
        if progress is not None and last > started:
            click.echo("", err=True)  # end the progress line
    where = result.paths[0].parent if result.paths else out_dir
    if layout == Layout.STREAM and result.paths:
        where = result.paths[0]
    click.echo(f"rendered {plural(result.count, kind + ' notice')} into {where}")


@notice_group.command("send")
@click.argument("pool")
@selection_options
@click.option("--dry-run", is_flag=True, help="Render and show who would get what; send nothing, record nothing.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), metavar="N", help="At most N messages a second.")
@click.option("--smtp-host", metavar="HOST", help="Mail server (default $MUTUALAID_SMTP_HOST, else localhost).")
@click.option(
    "--smtp-port",
    type=click.IntRange(1, 65535),
    metavar="N",
    help="Its port (default $MUTUALAID_SMTP_PORT, else 25; 587 with STARTTLS, 465 with SSL).",
)
@click.option(
    "--smtp-tls",
    type=click.Choice(values(SmtpSecurity)),
    help="How the connection is secured (default $MUTUALAID_SMTP_TLS, else none).",
)
@click.option(
    "--smtp-user",
    metavar="USER",
    help="Login (default $MUTUALAID_SMTP_USER); the password only from $MUTUALAID_SMTP_PASSWORD.",
)
@click.option("--from", "sender", metavar="ADDR", help="The From address (default $MUTUALAID_SMTP_FROM).")
@templates_option("<kind>.txt.j2 and <kind>.html.j2")
@json_option
@pass_state
def notice_send(
    state: State,
    pool: str,
    kind: str,
    period: str | None,
    members: tuple[str, ...],
    claims: tuple[int, ...],
    since: str | None,
    locale: str | None,
    dry_run: bool,
    rate: float | None,
    smtp_host: str | None,
    smtp_port: int | None,
    smtp_tls: str | None,
    smtp_user: str | None,
    sender: str | None,
    templates: Path | None,
    as_json: bool,
) -> None:
    """Send notices of one kind by email, text and HTML, to the members with an email address.

    Every message is recorded in the send log before it goes to the server: run the same send again
    after a failure or a crash and it sends only what was not sent (refused messages are retried; one
    left in doubt by a crash is sent again with the same Message-ID). The server comes from the
    MUTUALAID_SMTP_HOST, _PORT, _TLS, _USER, _PASSWORD and _FROM environment variables, or the options.
    """
    result = state.app.send_notices(
        pool,
        kind,
        period=period,
        members=members,
        claims=claims,
        since=since,
        locale=locale,
        dry_run=dry_run,
        rate=rate,
        smtp={"host": smtp_host, "port": smtp_port, "tls": smtp_tls, "user": smtp_user, "sender": sender},
        templates=templates,
    )
    if as_json:
        dump(result.as_dict())
        return
    notices = plural(result.would_send if dry_run else result.sent, kind + " notice")
    skipped = f"{result.skipped_already_sent:,} already sent, {result.no_address:,} without an email address"
    if dry_run:
        for planned in result.planned:
            status = "" if planned.status == "new" else f"  ({planned.status})"
            click.echo(f"member {planned.member_id}  {planned.address}  {planned.subject}{status}")
        members_count = len({planned.member_id for planned in result.planned})
        click.echo(f"would send {notices} to {plural(members_count, 'member')} ({skipped}); dry run: nothing sent")
        return
    line = f"sent {notices} to {plural(result.members, 'member')} ({skipped}, {result.failed:,} failed)"
    if result.in_doubt_resent:
        line += f"; {result.in_doubt_resent:,} left in doubt by an earlier send sent again with the same Message-ID"
    click.echo(line)
    for failure in result.failures:
        click.echo(f"failed: member {failure.member_id} <{failure.address}>: {failure.error}", err=True)
    if result.failed > len(result.failures):
        click.echo(f"... and {result.failed - len(result.failures):,} more failed (see the send log)", err=True)
