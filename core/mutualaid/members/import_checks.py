"""Checking the rows of a member import a chunk at a time, without the database.

:class:`RowChecker` checks each row of a chunk on its own -- the core fields, the cohort's
attributes and rules, the plugins' ``eligibility_problems`` (the resident-ID check among them) and
the contact columns -- and turns each valid row into the cells the members table stores (the ID
number encrypted, hashed and masked), less what needs the member's number. What needs the
database (a person already in the pool, or earlier in the file) is checked by
:mod:`mutualaid.members.importing` as it writes.

A chunk is given as the rows :class:`~mutualaid.csvfiles.CsvFile` read (``check``), or as the
text of whole records and the number of lines before it (``check_text``): what a worker process
checks while the importing process writes, reading the records with the same reader, so that
either way a file gives the same rows, the same problems and the same lines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..cohort import Applicant, waiting_until
from ..contacts import CONTACT_CHECKS, CONTACT_FIELDS
from ..csvfiles import CsvFile
from ..errors import ImportRowsError
from ..keys import IdentityKeys
from ..plugins import Plugins
from ..pools import PoolRecord
from ..privacy import mask_id_number
from ..vocabulary import MemberStatus
from .eligibility import CORE, CORE_COLUMNS, OPTIONAL_CORE_COLUMNS, ApplicantCheck, JoinWindow
from .lifecycle import member_seal_tail

__all__ = ["WORKER_CHECKER", "CheckedChunk", "RowChecker", "check_in_worker"]


@dataclass(slots=True)
class CheckedChunk:
    """A chunk of rows once checked.

    ``good`` holds each valid row as ``(line, cells, seal tail)``: the cells of
    :data:`~mutualaid.members.lifecycle.INSERT_COLUMNS` (days as ISO text), then those of the
    contact columns the file has, and the row's
    :func:`~mutualaid.members.lifecycle.member_seal_tail`; ``bad`` holds ``(line, cells, reason)``,
    both by line. ``applicants`` are the valid rows' applicants when asked for. ``unreadable`` is
    the error of a record that is not valid CSV (the chunk ends there and the import stops), as
    ``(problems, summary)``; ``lines`` is the physical lines read up to the chunk's end.
    """

    good: list[tuple[int, tuple[Any, ...], str]] = field(default_factory=list)
    bad: list[tuple[int, list[str], str]] = field(default_factory=list)
    applicants: list[Applicant] | None = None
    unreadable: tuple[list[str], str | None] | None = None
    lines: int = 0


class _Shifted:
    """A CSV reader whose ``line_num`` counts the lines before its text too: a chunk's records are
    read with the file's own line numbers."""

    __slots__ = ("_reader", "_before")

    def __init__(self, text: str, before: int) -> None:
        self._reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        self._before = before

    @property
    def line_num(self) -> int:
        return self._before + self._reader.line_num

    def __iter__(self) -> _Shifted:
        return self

    def __next__(self) -> list[str]:
        return next(self._reader)


class RowChecker:
    """Checks the rows of one file for one pool (see the module's docstring); made once per import,
    before any worker process is started, so that the workers have it as it is."""

    def __init__(
        self,
        plugins: Plugins,
        pool: PoolRecord,
        path: Path,
        header: list[str],
        keys: IdentityKeys,
        *,
        default_joined_on: date,
        window: JoinWindow | None,
        keep_applicants: bool,
    ) -> None:
        own = set(pool.cohort.member_model.model_fields)
        self.path = path
        self.header = header
        #: The contact columns the file has (not also a cohort attribute), in the table's order.
        self.contacts = tuple(name for name in CONTACT_FIELDS if name in header and name not in own)
        #: Where each core column is in a row (past its end when the file has no such column), and
        #: each column of the cohort's attributes: a row's values are read by place, not by name.
        self._core_at = tuple(
            header.index(name) if name in header else len(header) for name in (*CORE_COLUMNS, *OPTIONAL_CORE_COLUMNS)
        )
        self._contacts_at = tuple((header.index(name), CONTACT_CHECKS[name]) for name in self.contacts)
        self._attributes_at = tuple(
            (name, at) for at, name in enumerate(header) if name not in CORE and name not in self.contacts
        )
        self._shape = CsvFile(path, header, None)
        self._applicant = ApplicantCheck(
            plugins,
            pool,
            default_joined_on=default_joined_on,
            checks=plugins.collector("eligibility_problems"),
            window=window,
        )
        self._keep_applicants = keep_applicants
        self._pool_id = pool.id
        self._waiting_days = pool.cohort.rules.waiting_period_days
        self._settings = pool.settings
        self._keys = keys
        self._days: dict[tuple[date, int], tuple[str, str]] = {}
        #: ``model_dump_json`` of the cohort's attributes, less its wrapping.
        self._attributes_json = pool.cohort.member_model.__pydantic_serializer__.to_json

    def check_text(self, text: str, before: int) -> CheckedChunk:
        """Check the records of ``text``, whole records of the file after its first ``before`` lines."""
        shifted = _Shifted(text, before)
        source = CsvFile(self.path, self.header, shifted)
        checked = CheckedChunk()
        try:
            self.check(source.rows(), checked)
        except ImportRowsError as exc:  # a record that is not valid CSV: the import stops there
            checked.unreadable = (exc.problems, exc.summary)
        checked.lines = source.line
        return checked

    def read_text(self, text: str, before: int) -> Iterator[tuple[int, list[str]]]:
        """The ``(line, cells)`` records of ``text`` (see :meth:`check_text`), as the file's reader gives them."""
        return CsvFile(self.path, self.header, _Shifted(text, before)).rows()

    def check(self, records: Iterable[tuple[int, list[str]]], checked: CheckedChunk | None = None) -> CheckedChunk:
        """Check ``(line, cells)`` records, adding them to ``checked`` (a new chunk by default)."""
        checked = checked if checked is not None else CheckedChunk()
        if self._keep_applicants and checked.applicants is None:
            checked.applicants = []
        good, bad, applicants = checked.good.append, checked.bad.append, checked.applicants
        width = len(self.header)
        too_many = self._shape.too_many_cells
        contacts_at = self._contacts_at
        id_at, name_at, born_at, joined_at = self._core_at
        attributes_at = self._attributes_at
        check_applicant = self._applicant.check
        row_of = self._row
        contact_values: tuple[str | None, ...] = ()
        for line, cells in records:
            count = len(cells)
            if count > width:
                bad((line, cells, too_many(cells) or ""))
                continue
            contact_problems: list[str] = []
            if contacts_at:
                found = []
                for at, check in contacts_at:  # a short row: the missing cells are empty
                    value, problem = check(cells[at] if at < count else "")
                    found.append(value)
                    if problem is not None:
                        contact_problems.append(problem)
                contact_values = tuple(found)
            applicant, problems = check_applicant(
                cells[id_at] if id_at < count else None,
                cells[name_at] if name_at < count else None,
                cells[born_at] if born_at < count else None,
                cells[joined_at] if joined_at < count else None,
                {name: cells[at] for name, at in attributes_at if at < count},
            )
            if contact_problems:
                problems = [*problems, *contact_problems]
                applicant = None
            if applicant is None:
                bad((line, cells, "; ".join(problems)))
                continue
            row, tail = row_of(applicant)
            good((line, (*row, *contact_values) if contacts_at else row, tail))
            if applicants is not None:
                applicants.append(applicant)
        return checked

    def _row(self, applicant: Applicant) -> tuple[tuple[Any, ...], str]:
        """A valid applicant's cells of :data:`~mutualaid.members.lifecycle.INSERT_COLUMNS` and seal
        tail: what :func:`~mutualaid.members.lifecycle.new_member_row` gives, days as ISO text."""
        keys = self._keys
        number = applicant.id_number
        joined = applicant.joined_on
        days = int(self._waiting_days(applicant, self._settings))
        texts = self._days.get((joined, days))
        if texts is None:
            texts = self._days[joined, days] = (joined.isoformat(), waiting_until(joined, days).isoformat())
        born = applicant.birth_date.isoformat()
        row = (
            self._pool_id,
            keys.encrypt(self._pool_id, number),
            keys.lookup(number),
            mask_id_number(number),
            applicant.name,
            born,
            texts[0],
            texts[1],
            _ACTIVE,
            None,
            self._attributes_json(applicant.attributes).decode(),
        )
        return row, member_seal_tail(applicant.name, number, born, texts[0])


_ACTIVE = MemberStatus.ACTIVE.value


#: The checker a worker process checks its chunks with: set by the importing process just before
#: it forks its workers, which have it as it was (nothing of it is sent between processes).
WORKER_CHECKER: RowChecker | None = None


def check_in_worker(text: str, before: int) -> CheckedChunk:
    """Check a chunk's text in a worker process (see :meth:`RowChecker.check_text`)."""
    if WORKER_CHECKER is None:  # pragma: no cover - a worker is forked with it
        raise RuntimeError("a worker of a member import was started without its checker")
    return WORKER_CHECKER.check_text(text, before)
