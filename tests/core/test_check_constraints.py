"""The vocabulary's CHECK constraints written as equalities (revision 0015): on SQLite a CHECK of an
``IN`` list of three values or more builds a table of the list for every row written, so no table
at the head has one; the revision rewrites them in place (no table copied) and back, keeps every
row, and refuses a schema whose constraint it does not recognise, changing nothing."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import CheckConstraint, Engine, text
from sqlalchemy.exc import IntegrityError

import mutualaid
from mutualaid.db import current_revision, upgrade
from mutualaid.db.engine import make_engine
from mutualaid.db.models import Base
from mutualaid.vocabulary import MemberStatus, check_values

MIGRATIONS = Path(mutualaid.__file__).parent / "db" / "migrations"


def _revision_0015() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "revision_0015", MIGRATIONS / "versions" / "0015_checks_as_equalities.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REVISION = _revision_0015()


def _alembic(conn: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _definitions(engine: Engine) -> dict[str, tuple[str, int]]:
    """SQLite: each table's definition and root page (the page its rows start from: a table copied
    gets another)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, sql, rootpage FROM sqlite_master WHERE type = 'table'"))
        return {name: (sql, rootpage) for name, sql, rootpage in rows}


def _schema_version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA schema_version").scalar_one())


def _pg_checks(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c'"))
        return {name: definition for name, definition in rows}


def _lists(sql: str) -> list[str]:
    """The CHECK constraints of a table's definition that test a value against a list of three values
    or more (SQLite compares a value with two as equalities)."""
    bodies = re.findall(r"CHECK \((.*?)\)(?:,|\s*\n|\s*\)$)", sql)
    return [body for body in bodies if " IN (" in body.upper() and len(re.findall(r"'[^']*'", body)) >= 3]


def _rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        members = conn.execute(text("SELECT id, status, ended_on FROM members ORDER BY id")).all()
        history = conn.execute(
            text("SELECT member_id, change, status, since FROM member_status_changes ORDER BY id")
        ).all()
    return [tuple(r) for r in members] + [tuple(r) for r in history]


def _refused(url: str, status: str) -> str:
    """The message of writing ``status`` into a member through a connection of its own (which reads
    the schema afresh), rolled back."""
    engine = make_engine(url)
    try:
        with pytest.raises(IntegrityError) as refused, engine.begin() as conn:
            conn.execute(text("UPDATE members SET status = :status WHERE id = 1"), {"status": status})
        return str(refused.value)
    finally:
        engine.dispose()


def test_the_vocabulary_is_checked_as_equalities():
    assert check_values("status", MemberStatus) == (
        "status = 'active' OR status = 'frozen' OR status = 'lapsed' OR status = 'exited' OR status = 'deceased'"
    )
    assert check_values("kind", ("it's", "x")) == "kind = 'it''s' OR kind = 'x'"


def test_the_models_check_what_the_head_checks():
    # the models' constraints are equalities of the revision's words (the head's schema on SQLite;
    # the words in the vocabulary's order, which for a few is not the order the schema has them in)
    for table, column, values in REVISION.CHECKS:
        constraints = Base.metadata.tables[table].constraints
        checks = {str(c.sqltext).split(" = ")[0]: str(c.sqltext) for c in constraints if isinstance(c, CheckConstraint)}
        words = checks[column].split(" OR ")
        assert sorted(words) == sorted(f"{column} = '{value}'" for value in values)


def test_0015_rewrites_the_checks_in_place_and_back(empty_engine, plugins, truckers_pool, make_driver):
    upgrade(empty_engine)
    url = empty_engine.url.render_as_string(hide_password=False)
    app = mutualaid.MutualAid(url, plugins=plugins)
    try:
        app.create_pool(truckers_pool())
        for n in range(1, 4):
            app.join("js-truckers", **make_driver(n))
        app.exit_member("js-truckers", 2, on="2026-10-20")
    finally:
        app.close()
    rows = _rows(empty_engine)
    assert len(rows) == 3 + 6 + 1  # three members, each joined and covered, one exited
    sqlite = empty_engine.dialect.name == "sqlite"
    at_head = _definitions(empty_engine) if sqlite else _pg_checks(empty_engine)
    if sqlite:
        assert {name: _lists(sql) for name, (sql, _) in at_head.items() if _lists(sql)} == {}
        for table, column, values in REVISION.CHECKS:
            assert REVISION.as_equalities(column, values) in at_head[table][0]
    with empty_engine.begin() as conn:
        command.downgrade(_alembic(conn), "0014")
    assert current_revision(empty_engine) == "0014"
    assert _rows(empty_engine) == rows
    if sqlite:
        down = _definitions(empty_engine)
        for table, column, values in REVISION.CHECKS:
            assert REVISION.as_list(column, values) in down[table][0]
            assert down[table][1] == at_head[table][1]  # rewritten in place: the same root page
        assert {name for name, (sql, _) in down.items() if _lists(sql)} == {t for t, _, _ in REVISION.CHECKS}
    else:
        assert _pg_checks(empty_engine) == at_head
    assert "ck_members_status" in _refused(url, "bogus")
    version = _schema_version(empty_engine) if sqlite else 0
    assert upgrade(empty_engine) is True
    if sqlite:  # moved on, so that a connection that had read the tables reads them again
        assert _schema_version(empty_engine) > version
    assert (_definitions(empty_engine) if sqlite else _pg_checks(empty_engine)) == at_head
    assert _rows(empty_engine) == rows
    for bad in ("bogus", "Active", ""):
        assert "ck_members_status" in _refused(url, bad)
    app = mutualaid.MutualAid(url, plugins=plugins)
    try:  # every word is still taken
        app.join("js-truckers", **make_driver(4))
        app.exit_member("js-truckers", 4, on="2026-10-21")
        assert [(m.id, m.status) for m in app.members("js-truckers")] == [
            (1, "active"), (2, "exited"), (3, "active"), (4, "exited")
        ]  # fmt: skip
    finally:
        app.close()


def test_0015_changes_nothing_in_a_schema_it_does_not_recognise(tmp_path):
    # SQLite's only: on PostgreSQL the revision changes nothing (the test above)
    empty_engine = make_engine(f"sqlite:///{tmp_path / 'edited.db'}")
    upgrade(empty_engine, "0014")
    written = "CHECK (status IN ('active', 'frozen', 'lapsed', 'exited', 'deceased'))"
    edited = "CHECK (status IN ('active','frozen','lapsed','exited','deceased'))"
    with empty_engine.begin() as conn:  # the members' constraint written otherwise, by hand
        conn.exec_driver_sql("PRAGMA writable_schema = ON")
        conn.execute(
            text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) WHERE name = 'members'"),
            {"old": written, "new": edited},
        )
        version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
        conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    before = _definitions(empty_engine)
    with pytest.raises(RuntimeError) as refused:
        upgrade(empty_engine)
    assert str(refused.value) == (
        "table members: its CHECK constraint on status is not as revision 0014 wrote it; nothing was changed "
        "(the migration is rolled back)"
    )
    assert current_revision(empty_engine) == "0014"
    assert _definitions(empty_engine) == before
    empty_engine.dispose()
