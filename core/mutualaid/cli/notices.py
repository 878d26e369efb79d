"""The ``notice`` commands: render member notices."""

from __future__ import annotations

from pathlib import Path

import click

from ..vocabulary import Layout, Locale, NoticeFormat, NoticeKind, values
from ..wording import plural
from .common import F, State, layout_option, pass_state, templates_option

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


@click.group("notice")
def notice_group() -> None:
    """Render member notices, and send them by email."""


@notice_group.command("render")
@click.argument("pool")
@click.option(
    "--kind",
    required=True,
    metavar="KIND",
    help=f"The kind of notice: {', '.join(values(NoticeKind))}, or one a cohort plugin adds.",
)
@click.option("--period", help="Period key (statements, public notices, payment-failed notices).")
@click.option("--member", "members", multiple=True, help="Only this member; repeatable.")
@click.option("--claim", "claims", multiple=True, type=int, help="Decision letters: only this claim; repeatable.")
@click.option("--since", metavar="YYYY-MM-DD", help="Lapse, frozen, unfrozen and exit notices: events from this day.")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory."
)
@click.option(
    "--locale",
    type=click.Choice(values(Locale)),
    help="Language of every notice (default: each member's preferred language, else the pool's).",
)
@format_option
@layout_option
@templates_option("<kind>.txt.j2 and <kind>.html.j2")
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
) -> None:
    """Render notices of one kind: welcome, statements of a period, the public notice of a period's
    cases, decision letters, payment-failed, lapse, frozen, unfrozen, low-balance and exit notices."""
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
    )
    where = result.paths[0].parent if result.paths else out_dir
    if layout == Layout.STREAM and result.paths:
        where = result.paths[0]
    click.echo(f"rendered {plural(result.count, kind + ' notice')} into {where}")
