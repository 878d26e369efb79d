"""The ``notice`` commands: render member notices."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ValidationError
from ..vocabulary import Layout, Locale, NoticeKind, values
from ..wording import plural
from .common import State, layout_option, pass_state, templates_option

__all__ = ["notice_group"]


@click.group("notice")
def notice_group() -> None:
    """Render member notices."""


@notice_group.command("render")
@click.argument("pool")
@click.option("--kind", type=click.Choice(values(NoticeKind)), required=True)
@click.option("--period", help="Period key (statements).")
@click.option(
    "--member", "members", multiple=True, help="Only this member (welcome and low-balance notices), repeatable."
)
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory."
)
@click.option("--locale", type=click.Choice(values(Locale)), help="Language (default: the pool's, zh-CN).")
@layout_option
@templates_option("<kind>.txt.j2")
@pass_state
def notice_render(
    state: State,
    pool: str,
    kind: str,
    period: str | None,
    members: tuple[str, ...],
    out_dir: Path,
    locale: str | None,
    layout: str,
    templates: Path | None,
) -> None:
    """Render notices: statements of a period, welcome notices, or low-balance reminders (prepaid pools)."""
    if kind == NoticeKind.STATEMENT and not period:
        raise ValidationError(["--period is required for statements, e.g. --period 2026-11"])
    if kind == NoticeKind.STATEMENT:
        members = ()  # a statement goes to every member the run charged
    result = state.app.render_notices(
        pool, kind, out_dir, period=period, members=members, locale=locale, layout=layout, templates=templates
    )
    where = result.paths[0] if layout == Layout.STREAM and result.paths else out_dir
    click.echo(f"rendered {plural(result.count, kind + ' notice')} into {where}")
