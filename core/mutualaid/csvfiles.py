"""The CSV import toolkit: reading the files the imports take (members, payment results, top-ups),
collecting the problems of their rows, and parsing the cells they share.

A file is UTF-8 (a byte-order mark is allowed) with a header row naming its columns. Problems
with the file as a whole stop the import at once, each as a whole sentence naming the file and
the physical line (the header is line 1; a quoted cell may span lines):

- a header with a missing, unknown or repeated column, or that is not valid CSV
  (:class:`ImportRowsError`);
- an empty file, or one that is not UTF-8 (:class:`ValidationError`, naming the first line that
  is not);
- a row that is not valid CSV (:class:`ImportRowsError`).

What a row's cells mean is the importer's business; what every import shares is here:
:meth:`CsvFile.too_many_cells` words the problem of a row of more cells than the header the same
way for all, :class:`RowProblems` collects each bad row's ``FILE:LINE: field: message`` and raises
them together (nothing is imported), :func:`read_records` gives each row as a mapping of trimmed
cells, :func:`file_digest` recognises a file imported before, and the cell parsers
(:func:`parse_member_number`, :func:`parse_amount`, :func:`text_problem`) word their problems alike.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from .errors import ImportRowsError, ValidationError
from .money import currency_exponent, is_exact, to_decimal, to_minor

__all__ = [
    "SHOWN_PROBLEMS",
    "CsvFile",
    "RowProblems",
    "check_file",
    "file_digest",
    "first_undecodable_line",
    "open_csv",
    "parse_amount",
    "parse_member_number",
    "read_columns",
    "read_records",
    "text_problem",
]

#: At most this many bad rows are listed in an error (its summary gives the full count).
SHOWN_PROBLEMS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(slots=True)
class CsvFile:
    """A CSV file being read: its header (cells trimmed), then :meth:`rows`."""

    path: Path
    header: list[str]
    _reader: Any

    @property
    def line(self) -> int:
        """The physical lines read so far."""
        return int(self._reader.line_num)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """``(line, cells)`` per record, ``line`` being the physical line it starts on; empty lines
        are skipped (a line of empty cells is not empty: it is yielded).

        :raises ImportRowsError: at the first row that is not valid CSV.
        """
        reader = self._reader
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportRowsError(
                    [
                        f"{self.path}:{start}: the row is not valid CSV ({exc}); a cell holding a comma, quote or "
                        "line break must be in double quotes, with its own quotes doubled"
                    ],
                    summary=f"{self.path}: cannot read the file; nothing was imported:",
                ) from None
            if cells:
                yield start, cells

    def too_many_cells(self, cells: Sequence[str]) -> str | None:
        """The problem of a row with more cells than the header, quoting the extra ones; else ``None``."""
        width = len(self.header)
        if len(cells) <= width:
            return None
        extra = ", ".join(repr(c) for c in cells[width:])
        return f"the row has {len(cells)} cells but the header has {width} (extra: {extra}); quote a cell that holds a comma"


@contextmanager
def open_csv(
    path: Path, required: Sequence[str], optional: Collection[str] = (), *, listing: str | None = None
) -> Iterator[CsvFile]:
    """Open ``path``, check its header and give the :class:`CsvFile` for the ``with`` block.

    The header must hold every ``required`` column, others only from ``optional``, each once.
    ``listing`` is how a header with an unknown column is told the columns (by default
    ``required`` in order, then ``and optionally`` the optional ones). Text that is not UTF-8,
    met anywhere in the block, is reported as a :class:`ValidationError` naming its line.

    :raises ImportRowsError: for a header that is wrong or not valid CSV, listing every problem.
    :raises ValidationError: for an empty file, or one that is not UTF-8.
    """
    if listing is None:
        listing = ", ".join(required) + (f" and optionally {', '.join(optional)}" if optional else "")
    known = {*required, *optional}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
            try:
                first = next(reader, None)
            except csv.Error as exc:
                raise ImportRowsError(
                    [f"{path}:1: the header row is not valid CSV ({exc})"],
                    summary=f"{path}: the header row is wrong; nothing was imported:",
                ) from None
            if not first or not any(cell.strip() for cell in first):
                raise ValidationError([f"{path}: the file is empty; it needs a header row with {', '.join(required)}"])
            header = [cell.strip() for cell in first]
            # A file saved twice with a byte-order mark has a second one, read as text: not part of a name.
            header[0] = header[0].lstrip("\ufeff").strip()
            missing = [c for c in required if c not in header]
            unknown = list(dict.fromkeys(c for c in header if c not in known))
            repeated = sorted({c for c in header if header.count(c) > 1})
            problems = []
            if missing:
                problems.append(f"{path}:1: missing column(s) {', '.join(missing)}")
            if unknown:
                problems.append(
                    f"{path}:1: unknown column(s) {', '.join(repr(c) for c in unknown)}; the columns are {listing}"
                )
            if repeated:
                problems.append(f"{path}:1: repeated column(s) {', '.join(repeated)}")
            if problems:
                raise ImportRowsError(problems, summary=f"{path}: the header row is wrong; nothing was imported:")
            yield CsvFile(path, header, reader)
    except UnicodeDecodeError:
        where = first_undecodable_line(path)
        at = f"{path}:{where}" if where else str(path)
        raise ValidationError(
            [f'{at}: the file is not UTF-8 text; save it as UTF-8 CSV (in Excel: "CSV UTF-8")']
        ) from None


def first_undecodable_line(path: Path) -> int | None:
    """The first line of ``path`` that is not UTF-8, or ``None`` when every line is."""
    # UTF-8 never uses the byte of "\n" inside a character, so the file can be split at it.
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


class RowProblems:
    """The bad rows of a file, each reported as ``FILE:LINE: field: message``, sorted by line.

    :param path: the file, as named in every problem.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[tuple[int, str]] = []
        self.lines: set[int] = set()
        #: Rows the reader could not split into the header's cells (reported, never yielded).
        self.unread = 0

    def add(self, line: int, message: str) -> None:
        self.items.append((line, message))
        self.lines.add(line)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_for(self, rows: int, what: str) -> None:
        """Raise :class:`ImportRowsError` listing the problems (the first :data:`SHOWN_PROBLEMS`) if
        there are any: ``FILE: 3 of 120 rows are invalid; no WHAT were imported:``."""
        if not self.items:
            return
        self.items.sort(key=lambda item: item[0])
        shown = [f"{self.path}:{line}: {message}" for line, message in self.items[:SHOWN_PROBLEMS]]
        if len(self.items) > SHOWN_PROBLEMS:
            shown.append(f"... and {len(self.items) - SHOWN_PROBLEMS:,} more problems")
        raise ImportRowsError(
            shown,
            summary=f"{self.path}: {len(self.lines):,} of {rows + self.unread:,} rows are invalid; no {what} were imported:",
        )


def check_file(path: Path, what: str) -> None:
    """A missing file is a :class:`ValidationError` saying what file was expected."""
    if not path.is_file():
        raise ValidationError([f"{path}: no such file; give the path of a CSV file of {what}"])


def file_digest(path: Path) -> str:
    """The SHA-256 of the file's bytes: the same file imported twice is recognised by it."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_records(
    path: Path, required: Sequence[str], optional: Sequence[str], problems: RowProblems
) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, {column: cell})`` for each record of a CSV file with a header row (see
    :func:`open_csv`), cells trimmed.

    Lines of blank cells are skipped. A wrong header, a file that is not UTF-8 or a row that is
    not valid CSV stops the import at once; a row with too many cells is reported in ``problems``
    and skipped.
    """
    with open_csv(path, required, optional) as source:
        header = source.header
        for line, cells in _trimmed(source, problems):
            yield line, dict(zip(header, cells, strict=False))


def read_columns(
    path: Path, required: Sequence[str], optional: Sequence[str], problems: RowProblems
) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` for each record, as :func:`read_records` reads them, the cells trimmed and
    in the order of ``required`` then ``optional`` whatever the file's order (an optional column the
    file does not have, or a short row's missing cell, reads as empty): a file of millions of rows
    without a mapping per row."""
    with open_csv(path, required, optional) as source:
        at = {name: i for i, name in enumerate(source.header)}
        places = [at.get(name, -1) for name in (*required, *optional)]
        width = len(source.header)
        in_order = places == list(range(width))  # the file's own order: the cells as they are
        for line, cells in _trimmed(source, problems):
            count = len(cells)
            if in_order:
                yield line, cells if count == width else cells + [""] * (width - count)
            else:
                yield line, [cells[i] if 0 <= i < count else "" for i in places]


def _trimmed(source: CsvFile, problems: RowProblems) -> Iterator[tuple[int, list[str]]]:
    """The records of ``source``, cells trimmed, that hold something and not too many cells (a row
    of too many is a problem, and not read)."""
    too_many_cells, width = source.too_many_cells, len(source.header)
    for line, cells in source.rows():
        trimmed = [cell.strip() for cell in cells]
        if not any(trimmed):
            continue
        if len(trimmed) > width:
            problems.add(line, cast(str, too_many_cells(cells)))
            problems.unread += 1
            continue
        yield line, trimmed


def parse_member_number(text: str) -> int | None:
    """A member number written ``12`` or ``#12``; ``None`` if it is not one."""
    number = text.strip().lstrip("#")
    if number.isdecimal() and len(number) < 19:  # not isdigit(): "²" is a digit int() refuses
        return int(number)
    return None


def parse_amount(text: object, currency: str) -> tuple[int | None, str | None]:
    """Minor units of a positive amount written in major units, or the problem with it (no field name)."""
    try:
        value = to_decimal(text)
    except (ValueError, TypeError):
        return None, f"{text!r} is not an amount; write it like 12.50"
    if not is_exact(value, currency):
        return None, f"{text!r} has more decimals than {currency} allows ({currency_exponent(currency)})"
    try:
        minor = to_minor(value, currency)
    except ValueError as exc:  # beyond the largest amount recorded
        return None, str(exc)
    if minor <= 0:
        return None, f"must be above 0 ({text!r} given)"
    return minor, None


def text_problem(value: str, *, limit: int) -> str | None:
    """The problem with a short text (a name, a reference): too long, or a control character in it."""
    if len(value) > limit:
        return f"is longer than {limit} characters"
    if _CONTROL.search(value):
        return "contains a line break or another control character"
    return None
