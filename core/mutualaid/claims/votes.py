"""A file of jury votes imported at once (``jury import-votes``): all or nothing, every row checked
(a juror of this jury, ``pay`` or ``reject``, once, within the voting window), then bulk-inserted
into a temporary table and recorded by one ``UPDATE jurors ... FROM`` it -- set-based, so that a
quarter of a million votes (Xianghubao's jury cast ~250,000 in five hours) take seconds."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, cast

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, select, update
from sqlalchemy.orm import Session

from ..csvfiles import RowProblems, check_file, parse_member_number, read_records
from ..db.bulk import bulk_insert
from ..db.models import Juror, Jury
from ..errors import StateError, ValidationError
from ..fields import parse_date
from ..plugins import Plugins
from ..pools import PoolRecord
from ..vocabulary import Vote
from .jury import _VOTES, VOTE_COLUMNS, VOTE_OPTIONAL, Day, VoteImport, _day, _jury, _moment, _record, _window_problem

__all__ = ["import_votes"]


def _when(pool: PoolRecord, jury: Jury, text: str, default: datetime, store: Any) -> tuple[Any, str | None]:
    """A row's moment of voting as stored (``store``: the column's conversion), or its problem."""
    moment = default
    if text:
        try:
            moment = datetime.combine(parse_date(text, "voted_on"), time.min, tzinfo=pool.config.tz).astimezone(UTC)
        except ValueError:
            return None, f"voted_on: must be a date written YYYY-MM-DD ({text!r} given)"
    late = _window_problem(jury, moment.astimezone(pool.config.tz).date())
    return store(moment), f"voted_on: {late}" if late else None


def _read_votes(
    path: Path, jury: Jury, known: dict[int, str | None], when: Any, problems: RowProblems
) -> tuple[list[tuple[int, str, Any]], int]:
    """Each row checked against the jurors, the window and the rows before it (``when``: a row's
    ``voted_on`` cell to its stored moment and problem, worked out once per distinct cell)."""
    rows: list[tuple[int, str, Any]] = []
    seen: dict[int, int] = {}
    moments: dict[str, tuple[Any, str | None]] = {}
    count = 0
    for line, cells in read_records(path, VOTE_COLUMNS, VOTE_OPTIONAL, problems):
        count += 1
        wrong: list[str] = []
        member_id = parse_member_number(cells["member_id"])
        if member_id is None:
            wrong.append(f"member_id: {cells['member_id']!r} is not a member number")
        elif member_id not in known:
            wrong.append(f"member_id: member #{member_id} is not a juror of jury #{jury.id}")
        elif known[member_id] is not None:
            wrong.append(f"member_id: member #{member_id} already voted {known[member_id]}; a juror votes once")
        elif member_id in seen:
            wrong.append(f"member_id: member #{member_id} also votes on line {seen[member_id]}; a juror votes once")
        else:
            seen[member_id] = line
        vote = _VOTES.get(cells["vote"].lower())
        if vote is None:
            wrong.append(f"vote: must be {' or '.join(_VOTES)} ({cells['vote']!r} given)")
        text = cells.get("voted_on", "")
        if text not in moments:
            moments[text] = when(text)
        moment, late = moments[text]
        if late:
            wrong.append(late)
        for problem in wrong:
            problems.add(line, problem)
        if not wrong:
            rows.append((cast(int, member_id), cast(Vote, vote).value, moment))
    return rows, count


def _imported(dialect: Any) -> tuple[Table, Any]:
    """The temporary table of an import, and how a moment is stored in it: as the jurors' column
    stores it (SQLite: its text, converted once per distinct day, not per row)."""
    convert = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    moment = DateTime(timezone=True) if convert is None else String(32)
    table = Table(
        "jury_votes_import", MetaData(), Column("member_id", BigInteger, primary_key=True), Column("vote", String(8)),
        Column("voted_at", moment), prefixes=["TEMPORARY"],
    )  # fmt: skip
    return table, convert or (lambda value: value)


def import_votes(session: Session, plugins: Plugins, claim_id: int, path: str | Path, *, on: Day = None) -> VoteImport:
    """Record the votes of a CSV file (``member_id, vote[, voted_on]``; ``on``: the day of the rows
    without one, default today), all or nothing.

    :raises ImportRowsError: listing every bad row (line numbers); nothing is written.
    """
    claim, pool, jury = _jury(session, plugins, claim_id, "take votes")
    path = Path(path)
    check_file(path, "jury votes (member_id, vote and optionally voted_on)")
    default = _moment(pool, on, _day(pool, on))
    connection = session.connection()
    jurors = cast(Table, Juror.__table__)
    found = connection.execute(select(jurors.c.member_id, jurors.c.vote).where(jurors.c.jury_id == jury.id))
    known: dict[int, str | None] = {int(member): vote for member, vote in found}
    imported, store = _imported(connection.dialect)
    problems = RowProblems(path)
    rows, count = _read_votes(path, jury, known, lambda text: _when(pool, jury, text, default, store), problems)
    if count == 0 and not problems:
        raise ValidationError([f"{path}: the file has a header but no rows; nothing was imported"])
    problems.raise_for(count, "votes")
    imported.create(connection)
    bulk_insert(connection, imported, ("member_id", "vote", "voted_at"), rows)
    written = connection.execute(
        update(jurors)
        .where(jurors.c.jury_id == jury.id, jurors.c.member_id == imported.c.member_id, jurors.c.vote.is_(None))
        .values(vote=imported.c.vote, voted_at=imported.c.voted_at)
    ).rowcount
    imported.drop(connection)
    if written != len(rows):  # pragma: no cover - the jury's row is locked while the file is read
        raise StateError(f"{path}: {written:,} of {len(rows):,} votes could be recorded; nothing was imported")
    pay = sum(1 for _, vote, _ in rows if vote == Vote.PAY)
    return VoteImport(_record(session, pool, jury), path, len(rows), pay, len(rows) - pay)
