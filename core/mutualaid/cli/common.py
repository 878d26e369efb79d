"""What the command modules share: the application state, option decorators, and output helpers.

Every command module imports this one, and it imports none of them, so no module of the command
line has to import another half-built. The state holds the one :class:`~mutualaid.api.MutualAid`
of a command; the command line reaches the pools through it and nothing else.
"""

from __future__ import annotations

import itertools
import json
import textwrap
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
    "dump_stream",
    "fmt_default",
    "fmt_value",
    "json_option",
    "layout_option",
    "pairs",
    "pass_state",
    "stream_table",
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


def dump_stream(items: Iterable[Any]) -> int:
    """Print ``items`` as :func:`dump` prints a list of them, each as it is read (none held);
    returns how many. Nothing is printed before the first item is read, so a mistake found then
    leaves no half-written array."""
    iterator = iter(items)
    first = next(iterator, _NOTHING)
    if first is _NOTHING:
        click.echo("[]")
        return 0
    count = 0
    for item in itertools.chain((first,), iterator):
        text = textwrap.indent(json.dumps(item, ensure_ascii=False, indent=2, default=str), "  ")
        click.echo(("[\n" if count == 0 else ",\n") + text, nl=False)
        count += 1
    click.echo("\n]")
    return count


_NOTHING = object()


def text_width(text: str) -> int:
    """The columns ``text`` takes in a terminal: wide (CJK) characters take two."""
    if text.isascii():
        return len(text)
    return sum(map(_CHAR_WIDTHS.__getitem__, text))


class _CharWidths(dict[str, int]):
    """Each character's terminal width (2 for wide and fullwidth ones), looked up once and kept
    (up to :data:`_WIDTHS_KEPT` characters), so a listing of a million names does not ask
    :mod:`unicodedata` for every character of every name."""

    def __missing__(self, ch: str) -> int:
        width = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if len(self) < _WIDTHS_KEPT:
            self[ch] = width
        return width


#: Characters whose width :data:`_CHAR_WIDTHS` keeps (a name's script has a few thousand at most).
_WIDTHS_KEPT = 65536
_CHAR_WIDTHS = _CharWidths()


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    """Print ``rows`` under ``header`` in aligned columns, a line of dashes under the header."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(text_width(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c + " " * (w - text_width(c)) for c, w in zip(row, widths, strict=False)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))


#: The widest the name column of a streamed member listing grows (terminal columns); a longer name is printed whole.
LIST_NAME_WIDTH = 24

#: Rows :func:`stream_table` reads before it fixes the column widths.
STREAM_SAMPLE = 1000
#: Lines :func:`stream_table` writes at once.
_STREAM_CHUNK = 1000


def stream_table(
    rows: Iterable[Sequence[Any]],
    header: Sequence[str],
    *,
    least: Sequence[int] = (),
    most: Sequence[int | None] = (),
    sample: int | None = None,
) -> int:
    """Print ``rows`` as :func:`table` does, without holding them all: the column widths are fixed
    from the first ``sample`` rows (default :data:`STREAM_SAMPLE`), each at least ``least[i]``
    and, unless the header is wider, at most ``most[i]``; the later rows are printed as they are
    read. A cell wider than its column is printed whole (the rest of that line shifts right).
    Returns the number of rows. When every row is in the sample and no bound binds, the output is
    exactly :func:`table`'s; nothing is printed before the sample has been read.
    """
    iterator = iter(rows)
    head = [str(h) for h in header]
    first = [[str(c) for c in row] for row in itertools.islice(iterator, STREAM_SAMPLE if sample is None else sample)]
    widths = []
    for i, title in enumerate(head):
        widest = max((text_width(row[i]) for row in first), default=0)
        cap = most[i] if i < len(most) else None
        if cap is not None:
            widest = min(widest, cap)
        widths.append(max(text_width(title), least[i] if i < len(least) else 0, widest))

    def line(cells: Sequence[str]) -> str:
        return "  ".join([c + " " * (w - text_width(c)) for c, w in zip(cells, widths, strict=False)]).rstrip()

    lines = [line(head), "  ".join("-" * w for w in widths)] + [line(row) for row in first]
    count = len(first)
    del first
    for row in iterator:
        lines.append(line(list(map(str, row))))
        count += 1
        if len(lines) >= _STREAM_CHUNK:
            click.echo("\n".join(lines))
            lines.clear()
    if lines:
        click.echo("\n".join(lines))
    return count


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
