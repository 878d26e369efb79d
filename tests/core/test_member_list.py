"""``member list`` as a stream, on SQLite and PostgreSQL: the table and the JSON array printed as
the members are read (the same output as the list form), paging with ``--after`` and ``--limit``,
and the listing reading a bounded batch per query instead of every member at once.
"""

from __future__ import annotations

import gc
import json
import math
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert

from mutualaid.cli import common
from mutualaid.cli.common import stream_table, table
from mutualaid.db.models import Member
from mutualaid.members import service as members_service
from mutualaid.testing import resident_id

POOL = "js-truckers"
MEMBERS = 300
HEADER = "id_number,name,birth_date,joined_on,licence_class,licence_number,licence_expires,driving_proof"
COLUMNS = ("member", "name", "id number", "born", "joined", "waiting until", "state")


@pytest.fixture
def crowd(app: Any, truckers_pool: Any, tmp_path: Path) -> list[int]:
    """A pool of 300 members (one exited, one deceased); their member numbers in joining order."""
    app.create_pool(truckers_pool())
    born = date(1980, 1, 1)
    lines = [HEADER] + [
        f"{resident_id(born, n)},司机{n},1980-01-01,2026-10-01,A2,LIC{n:06d},2031-12-31,ETC-{n:06d}"
        for n in range(1, MEMBERS + 1)
    ]
    path = tmp_path / "crowd.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert app.import_members(POOL, path).imported == MEMBERS
    ids = [m.id for m in app.members(POOL)]
    app.exit_member(POOL, ids[10], on="2027-01-05")
    app.record_death(POOL, ids[20], on="2027-02-01")
    return ids


def list_form(app: Any, capsys: pytest.CaptureFixture[str], **filters: Any) -> str:
    """What the list form printed: :func:`table` over every member held at once."""
    today = app.today(POOL)
    capsys.readouterr()
    table(
        [
            (m.id, m.name, m.id_number, m.birth_date, m.joined_on, m.waiting_until, m.state_on(today))
            for m in app.members(POOL, **filters)
        ],
        COLUMNS,
    )
    return capsys.readouterr().out


# -- the same output as the list form -------------------------------------------------------------


def test_streamed_table_equals_the_list_form(app, crowd, invoke, capsys, monkeypatch):
    monkeypatch.setattr(members_service, "LIST_BATCH", 7)  # 43 batches, the last one short
    result = invoke("member", "list", POOL)
    assert result.exit_code == 0, result.output
    expected = list_form(app, capsys)
    assert result.stdout == expected
    lines = result.stdout.splitlines()
    assert len(lines) == MEMBERS + 2
    assert lines[1].startswith("------  -------  ")  # "member" is wider than 300; 司机100 sets the name column
    assert "exited" in lines[2 + 10] and "deceased" in lines[2 + 20]


def test_streamed_table_with_a_filter_equals_the_list_form(app, crowd, invoke, capsys):
    result = invoke("member", "list", POOL, "--status", "active", "--limit", "250")
    assert result.exit_code == 0, result.output
    assert result.stdout == list_form(app, capsys, status="active", limit=250)
    assert len(result.stdout.splitlines()) == 250 + 2


def test_streamed_json_equals_the_list_form(app, crowd, invoke, monkeypatch):
    monkeypatch.setattr(members_service, "LIST_BATCH", 11)
    result = invoke("member", "list", POOL, "--json")
    assert result.exit_code == 0, result.output
    today = app.today(POOL)
    everyone = [m.as_dict(today) for m in app.members(POOL)]
    assert len(everyone) == MEMBERS
    assert result.stdout == json.dumps(everyone, ensure_ascii=False, indent=2) + "\n"


def test_an_empty_listing_is_an_empty_array_and_a_bare_header(app, crowd, invoke):
    result = invoke("member", "list", POOL, "--status", "lapsed", "--json")
    assert (result.exit_code, result.stdout) == (0, "[]\n")
    result = invoke("member", "list", POOL, "--status", "frozen")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "member  name  id number  born  joined  waiting until  state\n"
        "------  ----  ---------  ----  ------  -------------  -----\n"
    )


def test_a_mistake_prints_nothing_but_its_line(app, crowd, invoke):
    for extra in ((), ("--json",)):
        result = invoke("member", "list", POOL, "--status", "waiting", *extra)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr == (
            "Error: --status: 'waiting' is not a member status; use one of active, frozen, lapsed, exited, deceased "
            "('waiting' is a state of an active member: list --status active)\n"
        )


# -- paging -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [37, 100, 300, 1000])
def test_after_and_limit_page_through_everyone_once(app, crowd, invoke, size):
    seen: list[int] = []
    pages = 0
    after = 0
    while True:
        result = invoke("member", "list", POOL, "--json", "--limit", str(size), "--after", str(after))
        assert result.exit_code == 0, result.output
        page = [m["id"] for m in json.loads(result.stdout)]
        if not page:
            break
        assert len(page) == min(size, MEMBERS - len(seen))
        pages += 1
        seen += page
        after = page[-1]
    assert seen == crowd
    assert pages == math.ceil(MEMBERS / size)


def test_after_in_the_table_and_beyond_the_last_member(app, crowd, invoke):
    result = invoke("member", "list", POOL, "--after", str(crowd[-3]))
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.stdout.splitlines()[2:]] == [str(n) for n in crowd[-2:]]
    for after in (str(crowd[-1]), str(2**63 - 1), "99999999999999999999"):
        result = invoke("member", "list", POOL, "--json", "--after", after)
        assert (result.exit_code, result.stdout) == (0, "[]\n"), after
    result = invoke("member", "list", POOL, "--after", "-1")
    assert result.exit_code == 2 and "Invalid value for '--after'" in result.output


def test_the_member_column_is_as_wide_as_the_pools_largest_number(app, crowd, invoke):
    with app.transaction() as session:  # a pool whose numbers reach eight digits
        session.execute(
            insert(Member).values(
                id=12_345_678, pool_id=session.get(Member, crowd[0]).pool_id, id_cipher="x", id_hash="x",
                id_masked="***", identity_seal="-", name="M", birth_date=date(1980, 1, 1),
                joined_on=date(2026, 10, 1), waiting_until=date(2026, 12, 30), status="active",
                attributes_json="{}",
            )
        )  # fmt: skip
    result = invoke("member", "list", POOL, "--limit", "2")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("member    name ")
    assert lines[1].startswith("--------  -----  ")
    assert lines[2].startswith(f"{crowd[0]:<8}  司机1  ")


# -- a bounded batch per query --------------------------------------------------------------------


def member_queries(app: Any) -> Iterator[list[tuple[str, Any]]]:
    """The SELECTs of the members table that ``app`` runs while the block runs."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "FROM members" in statement and "max(" not in statement.lower():
            seen.append((statement, parameters))

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", record)


def limits(parameters: Any) -> set[int]:
    values = parameters.values() if isinstance(parameters, dict) else parameters
    return {v for v in values if isinstance(v, int)}


def test_the_listing_reads_one_small_batch_at_a_time(app, crowd, monkeypatch):
    monkeypatch.setattr(members_service, "LIST_BATCH", 7)
    queries = member_queries(app)
    seen = next(queries)
    members = app.iter_members(POOL)
    assert seen == []  # nothing is read before the first member is asked for
    assert next(members).id == crowd[0]
    assert len(seen) == 1 and "LIMIT" in seen[0][0] and 7 in limits(seen[0][1])
    ids = [crowd[0]] + [m.id for m in members]
    assert ids == crowd
    assert len(seen) == math.ceil(MEMBERS / 7)  # 42 full batches and one short one: no extra query
    assert all("LIMIT" in statement and 7 in limits(parameters) for statement, parameters in seen)
    queries.close()


def test_a_limit_reads_no_more_than_it_needs(app, crowd, monkeypatch):
    monkeypatch.setattr(members_service, "LIST_BATCH", 7)
    queries = member_queries(app)
    seen = next(queries)
    assert [m.id for m in app.iter_members(POOL, limit=20, after=crowd[4])] == crowd[5:25]
    assert len(seen) == 3 and 6 in limits(seen[-1][1])  # 7 + 7 + the 6 still wanted
    queries.close()


def test_the_session_holds_at_most_one_batch(app, crowd, monkeypatch):
    monkeypatch.setattr(members_service, "LIST_BATCH", 7)
    held = []
    with app.reading() as session:
        for n, record in enumerate(members_service.list_members(session, app.plugins, POOL)):
            if n % 10 == 0:
                gc.collect()
                held.append(sum(isinstance(obj, Member) for obj in session.identity_map.values()))
            assert record.id == crowd[n]
    assert len(held) == MEMBERS // 10
    assert max(held) <= 7 and min(held) >= 1


# -- the streaming table helper -------------------------------------------------------------------


def test_stream_table_keeps_a_wide_cell_whole(capsys, monkeypatch):
    monkeypatch.setattr(common, "STREAM_SAMPLE", 2)
    rows = [(1, "short"), (2, "x" * 30), (3, "a name beyond the sample"), (4, "z")]
    assert stream_table(iter(rows), ("n", "name"), least=(3,), most=(None, 10)) == 4
    assert capsys.readouterr().out == (
        "n    name\n"
        "---  ----------\n"
        "1    short\n"
        f"2    {'x' * 30}\n"
        "3    a name beyond the sample\n"
        "4    z\n"
    )  # fmt: skip
    assert stream_table([], ("member", "name"), least=(9,)) == 0
    assert capsys.readouterr().out == "member     name\n---------  ----\n"


# -- the table's rows: only the columns printed, the same values as the records -------------------


def record_rows(app: Any, on: date, **filters: Any) -> list[tuple[Any, ...]]:
    """What the table printed for each member from the full records (the state as its value)."""
    return [
        (m.id, m.name, m.id_number, m.birth_date, m.joined_on, m.waiting_until, m.state_on(on).value)
        for m in app.iter_members(POOL, **filters)
    ]


@pytest.mark.parametrize("on", [date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)])
def test_the_table_rows_are_the_records_values_on_any_day(app, crowd, monkeypatch, on):
    monkeypatch.setattr(members_service, "LIST_BATCH", 7)
    waiting_until = app.member(POOL, crowd[0]).waiting_until
    assert waiting_until == date(2026, 12, 30)  # the days asked are before, on and after its end
    rows = list(app.iter_member_rows(POOL, on))
    assert rows == record_rows(app, on)
    states = [row[6] for row in rows]
    assert states[10] == "exited" and states[20] == "deceased"
    live = "waiting" if on <= waiting_until else "active"
    assert states.count(live) == MEMBERS - 2 and all(type(state) is str for state in states)
    assert list(app.iter_member_rows(POOL, on, status="active", limit=30, after=crowd[5])) == record_rows(
        app, on, status="active", limit=30, after=crowd[5]
    )
    assert list(app.iter_member_rows(POOL, on, status="exited")) == record_rows(app, on, status="exited")


def test_the_table_rows_reveal_as_the_records_do(app, crowd, monkeypatch):
    monkeypatch.setattr(members_service, "LIST_BATCH", 7)
    with app.engine.begin() as conn:  # an ID number changed in the database: it does not decrypt
        conn.execute(Member.__table__.update().where(Member.id == crowd[3]).values(id_cipher="v1:tampered"))
    on = app.today(POOL)
    rows = list(app.iter_member_rows(POOL, on, reveal=True))
    assert rows == record_rows(app, on, reveal=True)
    assert rows[0][2] == resident_id(date(1980, 1, 1), 1)  # revealed in full
    assert rows[3][2] == app.member(POOL, crowd[3]).id_number and "*" in rows[3][2]  # stays masked
    assert [row[2] for row in app.iter_member_rows(POOL, on)] == [m.id_number for m in app.members(POOL)]


def test_the_table_reads_only_the_printed_columns_a_batch_at_a_time(app, crowd, monkeypatch):
    monkeypatch.setattr(members_service, "LIST_BATCH", 7)
    queries = member_queries(app)
    seen = next(queries)
    rows = app.iter_member_rows(POOL, app.today(POOL))
    assert seen == []  # nothing is read before the first row is asked for
    assert [row[0] for row in rows] == crowd
    assert len(seen) == math.ceil(MEMBERS / 7)
    assert all("LIMIT" in statement and 7 in limits(parameters) for statement, parameters in seen)
    assert not any("attributes_json" in s or "email" in s or "id_cipher" in s for s, _ in seen)
    queries.close()


@pytest.mark.parametrize("text", ["", "abc 123", "司机12", "Ｆｕｌｌ", "é", "e\u0301", "🙂x", "한글", "\u3000", "ｶﾀ"])
def test_text_width_counts_wide_characters_twice(text):
    expected = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    assert common.text_width(text) == expected
    assert common.text_width(text) == expected  # and again, from the widths kept


def test_text_width_keeps_a_bounded_number_of_characters(monkeypatch):
    monkeypatch.setattr(common, "_WIDTHS_KEPT", 0)
    monkeypatch.setattr(common, "_CHAR_WIDTHS", common._CharWidths())
    assert common.text_width("互助ab") == 6
    assert len(common._CHAR_WIDTHS) == 0
