"""``member import`` streams the file a chunk of rows at a time: the same rows, problems and lines
whatever the chunks, whether the rows are checked here or by worker processes.

Every test makes chunks of a few rows (``CHUNK_ROWS``) so that a file of a few hundred rows
crosses many of them; the workers are forced on or off with ``MUTUALAID_IMPORT_WORKERS``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from driver_csv import *  # noqa: F403 (its fixtures: pool, write)
from driver_csv import HEADER, JOINED, POOL, rid, row
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, select

import mutualaid_truckers
from mutualaid import ImportRowsError, MutualAid, load_plugins
from mutualaid.db.models import Member, MemberStatusChange
from mutualaid.hookspecs import hookimpl
from mutualaid.keys import load_key, seal_encoding
from mutualaid.members import importing, lifecycle
from mutualaid.members.sealing import member_seal

BAD_CLASS = "licence class C1 is not accepted; accepted classes: A1, A2, B1, B2"


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "CHUNK_ROWS", 7)


@pytest.fixture(params=["0", "2"], ids=["here", "workers"])
def workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(importing.WORKERS_ENV, request.param)
    return str(request.param)


def table(app: MutualAid) -> list[tuple[Any, ...]]:
    """Every member row and history row, to prove a refused import wrote nothing."""
    with app.transaction() as s:
        members = [tuple(r) for r in s.execute(select(Member.__table__).order_by(Member.id))]
        history = [tuple(r) for r in s.execute(select(MemberStatusChange.__table__).order_by(MemberStatusChange.id))]
    return members + history


def imported(app: MutualAid) -> list[tuple[int, str, str]]:
    with app.transaction() as s:
        return [tuple(r) for r in s.execute(select(Member.id, Member.name, Member.status).order_by(Member.id))]  # type: ignore[misc]


def test_a_person_met_again_in_a_later_chunk_is_named_with_the_first_line(app, pool, write, workers):
    lines = [HEADER, *(row(n) for n in range(1, 31))]
    lines.insert(12, row(9, name="同一块"))  # line 13, in the chunk of line 10
    lines.insert(25, row(3, name="又一个"))  # line 26, chunks after line 4
    path = write(*lines, row(3, name="第三次"))  # line 34
    before = table(app)
    with pytest.raises(ImportRowsError) as caught:
        app.import_members(POOL, path, joined_on=JOINED)
    assert caught.value.problems == [
        f"{path}:13: id_number: the same person is already on line 10",
        f"{path}:26: id_number: the same person is already on line 4",
        f"{path}:34: id_number: the same person is already on line 4",
    ]
    assert caught.value.summary == (
        f"{path}: 3 of 33 rows are invalid; nothing was imported (fix them, or use --skip-invalid to import the "
        "valid rows):"
    )
    assert table(app) == before


def test_people_in_the_pool_or_deceased_are_refused_on_every_line(app, pool, write, workers):
    app.import_members(POOL, write(HEADER, row(900), row(901), name="first.csv"), joined_on=JOINED)
    claim = app.file_claim(POOL, 2, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)
    lines = [HEADER, *(row(n) for n in range(1, 21))]
    lines[10] = row(900)  # line 11: live member #1
    lines[18] = row(901)  # line 19: died
    path = write(*lines, row(900, name="再来"))  # line 22: #1 again
    before = table(app)
    with pytest.raises(ImportRowsError) as caught:
        app.import_members(POOL, path, joined_on="2026-11-01")
    assert caught.value.problems == [
        f"{path}:11: id_number: this person already holds live membership #1",
        f"{path}:19: id_number: this person is recorded as deceased (member #2, died on 2026-10-20)",
        f"{path}:22: id_number: this person already holds live membership #1",
    ]
    assert table(app) == before


def test_a_bad_row_in_the_last_chunk_writes_nothing(app, pool, write, workers):
    app.import_members(POOL, write(HEADER, row(999), name="first.csv"), joined_on=JOINED)
    before = table(app)
    path = write(HEADER, *(row(n) for n in range(1, 300)), row(300, licence_class="C1"))
    with pytest.raises(ImportRowsError) as caught:
        app.import_members(POOL, path, joined_on=JOINED)
    assert caught.value.lines == [
        f"{path}: 1 of 300 rows are invalid; nothing was imported (fix them, or use --skip-invalid to import the "
        "valid rows):",
        f"{path}:301: {BAD_CLASS}",
    ]
    assert table(app) == before
    assert not path.with_suffix(".rejects.csv").exists()
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_skip_invalid_with_bad_rows_in_many_chunks(app, pool, write, workers):
    lines = [HEADER]
    bad: list[tuple[int, str]] = []
    for n in range(1, 101):
        if n % 9 == 0:
            lines.append(row(n, licence_class="C1"))
            bad.append((len(lines), BAD_CLASS))
        elif n % 13 == 0:
            lines.append(row(1))  # the person of line 2
            bad.append((len(lines), "id_number: the same person is already on line 2"))
        else:
            lines.append(row(n))
    path = write(*lines)
    result = app.import_members(POOL, path, joined_on=JOINED, skip_invalid=True)
    assert (result.imported, result.rejected) == (100 - len(bad), len(bad))
    assert result.problems == [f"{path}:{line}: {reason}" for line, reason in bad]
    rejects = path.with_suffix(".rejects.csv").read_text(encoding="utf-8").splitlines()
    assert rejects[0] == f"line,{HEADER},reason"
    assert [int(r.split(",", 1)[0]) for r in rejects[1:]] == [line for line, _ in bad]
    assert rejects[1] == f'10,{row(9, licence_class="C1")},"{BAD_CLASS}"'
    assert rejects[2] == f"14,{row(1)},id_number: the same person is already on line 2"
    assert [name for _, name, _ in imported(app)] == [f"司机{n}" for n in range(1, 101) if n % 9 and n % 13]
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_serial_and_parallel_checks_give_the_same_import(app, pool, write, monkeypatch, tmp_path):
    lines = [HEADER]
    for n in range(1, 120):
        if n % 11 == 0:
            lines.append(row(n, birth_date="1980-02-30"))
        elif n % 17 == 0:
            lines.append(row(n, name='"张\n三"'))  # a quoted cell over two lines
        elif n % 23 == 0:
            lines.append(row(n - 5))
        else:
            lines.append(row(n))
    path = write(*lines)
    outcomes = []
    for workers_set in ("0", "1", "2"):
        monkeypatch.setenv(importing.WORKERS_ENV, workers_set)
        with pytest.raises(ImportRowsError) as caught:
            app.import_members(POOL, path, joined_on=JOINED)
        rejects = tmp_path / f"rejects-{workers_set}.csv"
        result = app.import_members(POOL, path, joined_on=JOINED, skip_invalid=True, rejects_path=rejects)
        with app.transaction() as s:
            written = [
                (r.name, r.birth_date, r.attributes_json, r.waiting_until)
                for r in s.execute(select(Member).where(Member.status == "active").order_by(Member.id)).scalars()
            ]
            s.execute(MemberStatusChange.__table__.delete())
            s.execute(Member.__table__.delete())
        outcomes.append((caught.value.lines, result.imported, result.problems, rejects.read_bytes(), written))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    # 119 rows: 10 bad birth dates, 7 names with a line break, 4 people met again (the fifth,
    # person 110, was refused on their own line for the birth date, so is new on line 116)
    assert outcomes[0][1] == 98
    assert len(outcomes[0][0]) == 1 + 21


def test_the_observers_are_told_in_member_order_chunk_by_chunk(db_url, truckers_pool, write, workers):
    seen: list[tuple[int, str]] = []

    class Observer:
        @hookimpl
        def member_joined(self, pool: Any, member_id: int, applicant: Any) -> None:
            seen.append((member_id, applicant.name))

    plugins = load_plugins(
        entry_points=False, extra=[("truckers", mutualaid_truckers), ("observer", Observer())], strict=True
    )
    app = MutualAid(db_url, plugins=plugins)
    try:
        app.create_pool(truckers_pool())
        app.import_members(POOL, write(HEADER, *(row(n) for n in range(1, 24))), joined_on=JOINED)
    finally:
        app.close()
    assert seen == [(n, f"司机{n}") for n in range(1, 24)]


def test_a_problem_count_above_the_kept_bound_is_told_truly(app, pool, write, workers, monkeypatch):
    monkeypatch.setattr(importing, "KEPT_PROBLEMS", 20)
    path = write(HEADER, *(row(n, licence_class="C1") for n in range(1, 61)), row(61))
    with pytest.raises(ImportRowsError) as caught:
        app.import_members(POOL, path, joined_on=JOINED)
    error = caught.value
    assert len(error.problems) == 20
    assert error.total == 60
    assert error.lines[0] == (
        f"{path}: 60 of 61 rows are invalid; nothing was imported (fix them, or use --skip-invalid to import "
        "the valid rows):"
    )
    assert error.lines[1:] == [f"{path}:{n}: {BAD_CLASS}" for n in range(2, 22)] + ["... and 40 more"]
    result = app.import_members(POOL, path, joined_on=JOINED, skip_invalid=True)
    assert (result.imported, result.rejected, len(result.problems)) == (1, 60, 20)
    assert len(path.with_suffix(".rejects.csv").read_text(encoding="utf-8").splitlines()) == 61


def test_each_member_is_sealed_with_its_number(app, pool, write, workers):
    app.import_members(POOL, write(HEADER, *(row(n) for n in range(1, 16))), joined_on=JOINED)
    keys = load_key()
    assert keys is not None
    with app.transaction() as s:
        rows = s.execute(select(Member).order_by(Member.id)).scalars().all()
        for member in rows:
            number = keys.decrypt(member.pool_id, member.id_cipher)
            assert number == rid(member.id)
            assert member.identity_seal == member_seal(
                keys, member.pool_id, member.id, member.name, number, member.birth_date, member.joined_on
            )
    assert len(rows) == 15


def test_a_row_that_is_not_csv_in_a_later_chunk_stops_the_import(app, pool, write, workers):
    path = write(HEADER, *(row(n) for n in range(1, 20)), f'{rid(20)},"司机"20,1980-01-01,B2,L,2031-06-30,E', row(21))
    before = table(app)
    with pytest.raises(ImportRowsError) as caught:
        app.import_members(POOL, path, joined_on=JOINED)
    assert caught.value.lines == [
        f"{path}: cannot read the file; nothing was imported:",
        f"{path}:21: the row is not valid CSV (',' expected after '\"'); a cell holding a comma, quote or line "
        "break must be in double quotes, with its own quotes doubled",
    ]
    assert table(app) == before


@pytest.mark.parametrize("remembered", [1000, 5], ids=["remembered", "written-past-the-bound"])
def test_an_import_bound_to_fail_still_names_the_first_line(app, pool, write, workers, monkeypatch, remembered):
    """Once a row is bad, the valid rows are remembered instead of written, up to a bound; past it
    they are written (and rolled back) so that memory stays bounded: the same problems either way."""
    monkeypatch.setattr(importing, "_UNWRITTEN", remembered)
    before = table(app)
    path = write(HEADER, row(1, licence_class="C1"), *(row(n) for n in range(2, 40)), row(5), row(33))
    with pytest.raises(ImportRowsError) as caught:
        app.import_members(POOL, path, joined_on=JOINED)
    assert caught.value.problems == [
        f"{path}:2: {BAD_CLASS}",
        f"{path}:41: id_number: the same person is already on line 6",
        f"{path}:42: id_number: the same person is already on line 34",
    ]
    assert caught.value.summary is not None and caught.value.summary.startswith(f"{path}: 3 of 41 rows are invalid")
    assert table(app) == before


# -- the lines of the rows written -----------------------------------------------------------------


@given(
    st.lists(
        st.tuples(st.integers(1, 3), st.integers(1, 3)),  # steps of the member number and of the line
        min_size=1,
        max_size=300,
    ),
    st.integers(1, 50),  # rows per chunk
)
def test_the_written_lines_name_every_members_line(steps, per_chunk):
    written: dict[int, int] = {}
    member_id, line = 0, 1
    for id_step, line_step in steps:
        member_id, line = member_id + id_step, line + line_step
        written[member_id] = line
    lines = importing.WrittenLines()
    pairs = list(written.items())
    for at in range(0, len(pairs), per_chunk):
        chunk = pairs[at : at + per_chunk]
        lines.add([m for m, _ in chunk], [n for _, n in chunk])
    for member_id in range(0, max(written) + 3):
        assert lines.line_of(member_id) == written.get(member_id)
    # A run per stretch where both go up by one: as many as the steps that are not (1, 1), plus one.
    assert len(lines.starts) == 1 + sum(1 for step in steps[1:] if step != (1, 1))


def test_a_clean_file_is_one_run_of_lines_however_long():
    lines = importing.WrittenLines()
    for first in range(1, 1_000_001, 10_000):  # a million rows, written 10,000 at a time
        lines.add(range(first + 100, first + 10_100), range(first + 1, first + 10_001))  # line 1 is the header
    assert (list(lines.starts), list(lines.first_lines), list(lines.counts)) == ([101], [2], [1_000_000])
    assert lines.line_of(101) == 2 and lines.line_of(1_000_100) == 1_000_001 and lines.line_of(1_000_101) is None


def test_numbers_handed_out_of_order_are_still_found():
    lines = importing.WrittenLines()
    lines.add([10, 11, 12], [2, 3, 4])
    lines.add([5, 6], [5, 6])  # another chunk given lower numbers (PostgreSQL sequences may)
    assert [lines.line_of(n) for n in (5, 6, 7, 10, 12, 13)] == [5, 6, None, 2, 4, None]


def test_each_chunks_joining_history_is_written_without_walking_the_pool(app, pool, write):
    """The joining history of a chunk's members: on SQLite selected back by their block of numbers,
    by the primary key (planned by the pool's index, it walked every member of the pool for each
    chunk); on PostgreSQL written from the chunk's rows (statistics never know the newest numbers,
    and a query over their range looped over the history for each new member). Either way an
    import's time grew with the square of its rows."""
    statements: list[tuple[str, str]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "MEMBER_STATUS_CHANGES" in statement.upper():
            plan = ""
            if conn.dialect.name == "sqlite" and " SELECT " in statement:
                rows = cursor.connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
                plan = " | ".join(detail for *_, detail in rows)
            statements.append((" ".join(statement.upper().split()), plan))

    event.listen(app.engine, "before_cursor_execute", keep)
    try:
        app.import_members(POOL, write(HEADER, *(row(n) for n in range(20))), joined_on=JOINED)
    finally:
        event.remove(app.engine, "before_cursor_execute", keep)
    if app.engine.dialect.name == "sqlite":
        plans = [plan for statement, plan in statements if statement.startswith("INSERT INTO MEMBER_STATUS_CHANGES")]
        assert len(plans) == 3  # 20 rows in chunks of 7
        for plan in plans:
            assert "SEARCH members USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in plan, plan
            assert "ix_members_sharing" not in plan, plan
    else:  # a COPY, through the driver's own cursor: no query of the history or the members
        assert statements == []
    with app.transaction() as s:
        history = s.execute(
            select(MemberStatusChange.member_id, MemberStatusChange.change, MemberStatusChange.since).order_by(
                MemberStatusChange.id
            )
        ).all()
        days = {member.id: (member.joined_on, member.waiting_until) for member in s.scalars(select(Member))}
    expected = []
    for n in range(1, 21):
        joined_on, waiting_until = days[n]
        expected += [(n, "joined", joined_on), (n, "covered", waiting_until + timedelta(days=1))]
    assert sorted(history) == sorted(expected)


def test_postgresql_statistics_are_gathered_as_the_rows_written_double(app, pool, write, monkeypatch):
    """Inside the import's transaction, PostgreSQL's statistics of the members table are gathered
    again each time the rows written have doubled (with those of a smaller pool it searched the
    pool's index by the pool alone for each look-up), and once at the end; SQLite's at the end only
    (its look-ups are planned well without)."""
    monkeypatch.setattr(importing, "_ANALYZE_AFTER", 7)
    analysed: list[str] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if statement.strip().upper() == "ANALYZE MEMBERS":
            analysed.append(statement)

    event.listen(app.engine, "before_cursor_execute", keep)
    try:
        result = app.import_members(POOL, write(HEADER, *(row(n) for n in range(60))), joined_on=JOINED)
    finally:
        event.remove(app.engine, "before_cursor_execute", keep)
    assert result.imported == 60
    # chunks of 7: after 7, 14, 28 and 56 rows written, then at the end (60); SQLite's once, at the end
    assert len(analysed) == (5 if app.engine.dialect.name == "postgresql" else 1)
    assert len(imported(app)) == 60


def test_the_pools_people_are_found_among_a_whole_chunk_by_the_live_index(app, pool, write, monkeypatch):
    """A chunk's people are looked up in the pool all at once (on SQLite one query for the chunk,
    from the partial unique index of live memberships alone): a live or frozen member anywhere in a
    chunk of 990 rows (past the 500 of one look-up elsewhere) is refused, one who has exited may join
    again."""
    monkeypatch.setattr(importing, "CHUNK_ROWS", 1200)
    app.import_members(POOL, write(HEADER, *(row(n) for n in range(990, 994)), name="first.csv"), joined_on=JOINED)
    app.exit_member(POOL, 3, on="2026-10-15")  # #3 (992) has exited
    with app.transaction() as s:  # #4 (993) frozen: still a live membership
        s.execute(Member.__table__.update().where(Member.id == 4).values(status="frozen"))
    lines = [HEADER, *(row(n) for n in range(990))]
    lines[3], lines[700], lines[899], lines[950] = row(990), row(993), row(992), row(991)
    plans: list[str] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if conn.dialect.name == "sqlite" and " ".join(statement.split()).startswith("SELECT id_hash, id FROM members"):
            rows = cursor.connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plans.append(" | ".join(detail for *_, detail in rows))

    event.listen(app.engine, "before_cursor_execute", keep)
    try:
        with pytest.raises(ImportRowsError) as caught:
            app.import_members(POOL, write(*lines), joined_on="2026-11-01")
    finally:
        event.remove(app.engine, "before_cursor_execute", keep)
    path = caught.value.problems[0].split(":", 1)[0]
    assert caught.value.problems == [
        f"{path}:4: id_number: this person already holds live membership #1",
        f"{path}:701: id_number: this person already holds live membership #4",
        f"{path}:951: id_number: this person already holds live membership #2",
    ]
    if app.engine.dialect.name == "sqlite":
        assert len(plans) == 1, plans
        assert "SEARCH members USING INDEX uq_members_live_person (pool_id=? AND id_hash=?)" in plans[0]
        assert "ix_members_sharing" not in plans[0]


@given(st.lists(st.text(max_size=30), min_size=4, max_size=4))
def test_a_rows_seal_tail_is_the_seal_encoding_of_its_four_texts(texts):
    assert lifecycle.member_seal_tail(*texts) == seal_encoding(texts)
