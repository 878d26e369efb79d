"""What the command modules share: the application state, option decorators, and output helpers.

Every command module imports this one, and it imports none of them, so no module of the command
line has to import another half-built. The state holds the one :class:`~mutualaid.api.MutualAid`
of a command; the command line reaches the pools through it and nothing else.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click

from ..api import MutualAid
from ..errors import ValidationError
from ..fields import parse_pairs
from ..plugins import Plugins, load_plugins
from ..vocabulary import Layout, values

__all__ = [
    "State",
    "dump",
    "fmt_default",
    "fmt_value",
    "json_option",
    "layout_option",
    "pairs",
    "pass_state",
    "table",
    "templates_option",
    "text_width",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    """The application object shared by every command (``ctx.obj``)."""

    plugins: Plugins | None = None
    database_url: str | None = None
    _app: MutualAid | None = field(default=None, repr=False)

    def loaded_plugins(self) -> Plugins:
        if self.plugins is None:
            self.plugins = load_plugins()
        return self.plugins

    @property
    def app(self) -> MutualAid:
        if self._app is None:
            self._app = MutualAid(self.database_url, plugins=self.loaded_plugins())
        return self._app

    def close(self) -> None:
        """Release the database connections (called when the command ends)."""
        if self._app is not None:
            self._app.close()
            self._app = None


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
        type=click.Choice(values(Layout)),
        default=Layout.FILES.value,
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


def pairs(items: Iterable[str], option: str) -> dict[str, str]:
    """``NAME=VALUE`` options as a mapping; a malformed or repeated one is a user mistake."""
    try:
        return parse_pairs(items, option=option)
    except ValueError as exc:
        raise ValidationError([str(exc)]) from None


def fmt_value(value: Any) -> str:
    """A stored value as a person reads it: ``-`` for none, a list as ``a, b``."""
    if value is None or value == [] or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def fmt_default(value: Any) -> str:
    """A default as it is written in a pool's TOML file, so it can be pasted there."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Decimal, int)):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(fmt_default(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {fmt_default(v)}" for k, v in value.items()) + "}"
    return json.dumps(value if isinstance(value, str) else str(value), ensure_ascii=False)
