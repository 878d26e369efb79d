"""Reading the CSV files the imports take (members, payment results, top-ups).

A file is UTF-8 (a byte-order mark is allowed) with a header row naming its columns. Problems
with the file as a whole stop the import at once, each as a whole sentence naming the file and
the physical line (the header is line 1; a quoted cell may span lines):

- a header with a missing, unknown or repeated column, or that is not valid CSV
  (:class:`ImportRowsError`);
- an empty file, or one that is not UTF-8 (:class:`ValidationError`, naming the first line that
  is not);
- a row that is not valid CSV (:class:`ImportRowsError`).

What a row's cells mean, and what to do with a row of more cells than the header, is the
importer's business: :meth:`CsvFile.too_many_cells` words the problem the same way for all.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ImportRowsError, ValidationError

__all__ = ["CsvFile", "first_undecodable_line", "open_csv"]


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
