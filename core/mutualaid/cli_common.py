"""What the command modules share: option decorators, the state argument, and output helpers.

:mod:`mutualaid.cli` and :mod:`mutualaid.cli_payments` both import this module, and it imports
neither, so no module of the command line has to import another half-built.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["dump", "json_option", "layout_option", "pass_state", "table", "templates_option", "text_width"]

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """The ``--json`` flag, passed to the command as ``as_json``."""
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


def pass_state(func: F) -> F:
    """Pass the command line's :class:`~mutualaid.cli.State` (``ctx.obj``) as the first argument."""
    return click.pass_obj(func)  # type: ignore[return-value]


def layout_option(func: F) -> F:
    """``--layout files|stream`` of the commands that render notices."""
    return click.option(
        "--layout",
        type=click.Choice(["files", "stream"]),
        default="files",
        show_default=True,
        help="One file per member, or one stream file (for large pools).",
    )(func)


def templates_option(template: str) -> Callable[[F], F]:
    """``--templates DIR`` of the commands that render notices; ``template`` names the file looked for."""
    return click.option(
        "--templates",
        type=click.Path(file_okay=False, path_type=Path),
        help=f"Operator's template directory (<locale>/{template}), rendered sandboxed.",
    )


def dump(data: Any) -> None:
    """Print ``data`` as indented JSON, non-ASCII characters as they are."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def text_width(text: str) -> int:
    """The columns ``text`` takes in a terminal: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    """Print ``rows`` under ``header`` in aligned columns, a line of dashes under the header."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(text_width(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c + " " * (w - text_width(c)) for c, w in zip(row, widths, strict=False)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))
