"""Explicit schema steps: a command runs only on a database at this mutualaid's revision.

A missing database (a SQLite path with no file, a PostgreSQL database without tables) is refused
and not created, except by ``pool create`` and ``db init``; an older one is refused with a line
naming ``mutualaid db upgrade`` and left byte for byte as it was; ``db upgrade`` backs a SQLite
file up, lists the migrations and applies them; ``--sql`` previews instead and changes nothing;
commands that only read leave the file as it was. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from mutualaid import DatabaseError, MutualAid
from mutualaid.cli import State, cli
from mutualaid.db import current_revision, make_engine, upgrade
from mutualaid.db.engine import database_name
from mutualaid.db.schema import HEAD, preview_sql, schema_status

POOL = "js-truckers"
CREATE_HINT = (
    "create one with `mutualaid pool create` or `mutualaid db init`, or check --database-url / MUTUALAID_DATABASE_URL"
)
#: Commands that need a database at the head; none may create, change or upgrade one.
COMMANDS = [
    ["pool", "list"],
    ["pool", "show", POOL],
    ["member", "list", POOL],
    ["ledger", "verify", POOL],
    ["share", "run", POOL, "--period", "2026-11"],
    ["member", "exit", POOL, "1", "--on", "2026-11-01"],
]
IDS = [" ".join(c[:2]) for c in COMMANDS]


def _run(runner, plugins, url: str, *args: str) -> Any:
    return runner.invoke(cli, ["--database-url", url, *args], obj=State(plugins=plugins))


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _fingerprint(engine: Engine) -> Any:
    """What must not change: a SQLite file's bytes and the files beside it; a PostgreSQL
    database's tables, revision and every table's row count."""
    path = engine.url.database
    if engine.dialect.name == "sqlite":
        assert path
        file = Path(path)
        digest = hashlib.sha256(file.read_bytes()).hexdigest() if file.exists() else None
        return digest, sorted(p.name for p in file.parent.iterdir())
    with engine.connect() as conn:
        tables = sorted(inspect(conn).get_table_names())
        counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}
        version = "alembic_version" in tables
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() if version else None
    return tables, counts, revision


def _pool_file(tmp_path: Path) -> Path:
    """A pool file, in a folder of its own (the database's folder is compared before and after)."""
    (tmp_path / "files").mkdir(exist_ok=True)
    path = tmp_path / "files" / "pool.toml"
    path.write_text(f'key = "{POOL}"\nname = "P"\ncohort = "truckers"\n', encoding="utf-8")
    return path


# -- a database that is not there -----------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [*COMMANDS, ["db", "upgrade"], ["db", "upgrade", "--sql"]], ids=[*IDS, "db upgrade", "db upgrade --sql"]
)
def test_a_wrong_sqlite_path_is_refused_and_nothing_is_created(runner, plugins, tmp_path, command):
    path = tmp_path / "typo" / "pools.db"
    line = _one_line_error(_run(runner, plugins, f"sqlite:///{path}", *command))
    assert line == f"Error: no mutualaid database at {path}; {CREATE_HINT}"
    assert list(tmp_path.iterdir()) == []  # neither the file nor its directory


def test_an_empty_sqlite_file_is_refused_and_left_empty(runner, plugins, tmp_path):
    path = tmp_path / "pools.db"
    path.touch()
    line = _one_line_error(_run(runner, plugins, f"sqlite:///{path}", "pool", "list"))
    assert line == f"Error: no mutualaid database at {path} (it is empty); {CREATE_HINT}"
    assert path.stat().st_size == 0


def test_an_empty_postgresql_database_is_refused(runner, plugins, empty_engine):
    if empty_engine.dialect.name != "postgresql":
        pytest.skip("the SQLite case is the missing file above")
    name = database_name(empty_engine)
    for command in COMMANDS:
        line = _one_line_error(_run(runner, plugins, _url(empty_engine), *command))
        assert line == f"Error: no mutualaid database at {name} (it is empty); {CREATE_HINT}"
    assert _fingerprint(empty_engine) == ([], {}, None)  # no alembic_version, no tables


def test_a_database_that_is_not_mutualaids_is_refused_even_by_db_init(runner, plugins, empty_engine, tmp_path):
    with empty_engine.begin() as conn:
        conn.execute(text("CREATE TABLE accounts (id INTEGER PRIMARY KEY)"))
    pool_file = str(_pool_file(tmp_path))
    before = _fingerprint(empty_engine)
    for command in (["pool", "list"], ["db", "init"], ["pool", "create", pool_file], ["db", "upgrade"]):
        line = _one_line_error(_run(runner, plugins, _url(empty_engine), *command))
        assert line == (
            f"Error: the database {database_name(empty_engine)} has tables but no mutualaid schema revision, so it "
            "is not a mutualaid database; check --database-url / MUTUALAID_DATABASE_URL"
        ), command
    assert _fingerprint(empty_engine) == before


# -- creating one ----------------------------------------------------------------------------------


def test_db_init_creates_the_database_at_the_head(runner, plugins, empty_engine):
    url = _url(empty_engine)
    name = database_name(empty_engine)
    created = _run(runner, plugins, url, "db", "init")
    assert created.exit_code == 0, created.output
    assert created.output == f"created the database {name} at schema revision {HEAD}\n"
    assert current_revision(empty_engine) == HEAD
    before = _fingerprint(empty_engine)
    again = _run(runner, plugins, url, "db", "init")
    assert again.output == f"the database {name} is already at schema revision {HEAD}; nothing to do\n"
    assert _fingerprint(empty_engine) == before
    listed = _run(runner, plugins, url, "pool", "list")
    assert listed.output == "no pools yet; create one with 'mutualaid pool create FILE'\n"


def test_pool_create_creates_the_database_of_a_first_pool(runner, plugins, empty_engine, tmp_path):
    url = _url(empty_engine)
    created = _run(runner, plugins, url, "pool", "create", str(_pool_file(tmp_path)))
    assert created.exit_code == 0, created.output
    assert created.output.startswith(f"created pool '{POOL}': P (cohort truckers")
    assert current_revision(empty_engine) == HEAD
    listed = _run(runner, plugins, url, "pool", "list", "--json")
    assert POOL in listed.output


def test_pool_create_makes_the_directory_of_a_new_sqlite_file(runner, plugins, tmp_path):
    path = tmp_path / "new" / "dir" / "pools.db"
    created = _run(runner, plugins, f"sqlite:///{path}", "pool", "create", str(_pool_file(tmp_path)))
    assert created.exit_code == 0, created.output
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT key FROM pools").fetchall() == [(POOL,)]


def test_a_refused_first_pool_leaves_no_database(runner, plugins, tmp_path):
    path = tmp_path / "pools.db"
    bad = tmp_path / "bad.toml"
    bad.write_text('key = "x"\nname = "X"\ncohort = "nobody"\n', encoding="utf-8")
    line = _one_line_error(_run(runner, plugins, f"sqlite:///{path}", "pool", "create", str(bad)))
    assert "no cohort 'nobody'" in line
    assert not path.exists()


def test_a_first_pool_refused_inside_its_transaction_removes_the_new_file(plugins, tmp_path):
    path = tmp_path / "pools.db"
    app = MutualAid(f"sqlite:///{path}", plugins=plugins)
    with pytest.raises(RuntimeError, match="refused"):
        with app.creating_database() as created:
            assert created and path.is_file()
            raise RuntimeError("refused")
    assert list(tmp_path.iterdir()) == []
    # A database that was already there is never removed.
    app.create_database()
    with pytest.raises(RuntimeError):
        with app.creating_database() as created:
            assert not created
            raise RuntimeError("refused")
    assert path.is_file()
    app.close()


# -- an older database -----------------------------------------------------------------------------


@pytest.fixture
def old_database(empty_engine, plugins) -> Engine:
    """A database at revision 0005 with a pool in it (written as that revision's columns allow)."""
    upgrade(empty_engine, "0005")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO pools (id, key, name, cohort, currency, config_json, created_at) "
                f"VALUES (1, '{POOL}', 'P', 'truckers', 'CNY', '{{}}', '2026-01-01 00:00:00')"
            )
        )
    return empty_engine


def _old_schema_line(engine: Engine) -> str:
    return (
        f"Error: the database {database_name(engine)} is at schema revision 0005 and this mutualaid needs {HEAD}; "
        f"run `mutualaid db upgrade` first (it shows what changes"
        f"{' and backs the file up' if engine.dialect.name == 'sqlite' else ''}); nothing was changed"
    )


@pytest.mark.parametrize("command", [*COMMANDS, ["db", "init"]], ids=[*IDS, "db init"])
def test_an_older_schema_is_refused_and_left_as_it_was(runner, plugins, old_database, command):
    before = _fingerprint(old_database)
    line = _one_line_error(_run(runner, plugins, _url(old_database), *command))
    assert line == _old_schema_line(old_database)
    assert _fingerprint(old_database) == before  # byte for byte on SQLite; no alembic step on PostgreSQL


def test_pool_create_on_an_older_schema_is_refused(runner, plugins, old_database, tmp_path):
    pool_file = str(_pool_file(tmp_path))
    before = _fingerprint(old_database)
    line = _one_line_error(_run(runner, plugins, _url(old_database), "pool", "create", pool_file))
    assert line == _old_schema_line(old_database)
    assert _fingerprint(old_database) == before


def test_the_python_api_refuses_an_older_schema_too(plugins, old_database):
    before = _fingerprint(old_database)
    app = MutualAid(_url(old_database), plugins=plugins)
    with pytest.raises(DatabaseError) as refused:
        app.pools()
    assert f"Error: {refused.value}" == _old_schema_line(old_database)
    app.close()
    assert _fingerprint(old_database) == before


def test_db_current_names_the_revision_and_the_step(runner, plugins, old_database):
    before = _fingerprint(old_database)
    shown = _run(runner, plugins, _url(old_database), "db", "current")
    assert shown.output == f"0005 (this mutualaid's head is {HEAD}: run `mutualaid db upgrade`)\n"
    assert _fingerprint(old_database) == before


def test_db_upgrade_backs_up_lists_and_applies(runner, plugins, old_database):
    url, name = _url(old_database), database_name(old_database)
    sqlite = old_database.dialect.name == "sqlite"
    before = _fingerprint(old_database)
    status = schema_status(old_database)
    assert [r.id for r in status.pending] == [f"{n:04d}" for n in range(6, int(HEAD) + 1)]
    result = _run(runner, plugins, url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    steps = len(status.pending)
    assert lines[0] == f"the database {name} is at schema revision 0005; {steps} migrations to {HEAD}:"
    assert lines[1 : 1 + steps] == [f"  {r.id}  {r.title}" for r in status.pending]
    assert all(r.title and "\n" not in r.title for r in status.pending)
    assert lines[1].startswith("  0006  corrections")
    if sqlite:
        backup = re.fullmatch(rf"backed up to ({re.escape(name)}\.before-0005-\d{{8}}T\d{{6}}Z\.bak)", lines[-2])
        assert backup, lines[-2]
        copy = Path(backup.group(1))
        # The backup is the database as it was: it opens, at the old revision, with its rows.
        with sqlite3.connect(copy) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0005",)]
            assert conn.execute("SELECT key FROM pools").fetchall() == [(POOL,)]
        backup_engine = make_engine(f"sqlite:///{copy}")
        assert schema_status(backup_engine).revision == "0005"
        backup_engine.dispose()
        assert before[1] + [copy.name] == sorted(p.name for p in copy.parent.iterdir())
    else:
        assert lines[-2] == "no file to back up (use pg_dump for a copy); the migrations run in one transaction"
    assert lines[-1] == f"upgraded {name} from schema revision 0005 to {HEAD}"
    assert len(lines) == steps + 3
    assert current_revision(old_database) == HEAD
    listed = _run(runner, plugins, url, "pool", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert POOL in listed.output
    again = _run(runner, plugins, url, "db", "upgrade")
    assert again.output == f"the database {name} is at schema revision {HEAD}, the head; nothing to do\n"


def test_db_upgrade_sql_previews_and_changes_nothing(runner, plugins, old_database):
    before = _fingerprint(old_database)
    result = _run(runner, plugins, _url(old_database), "db", "upgrade", "--sql")
    if result.exit_code == 0:  # every migration could be written out offline
        assert f"UPDATE alembic_version SET version_num='{HEAD}'" in result.output
    else:
        # A migration that needs the live database (SQLite's table copies, a backfill computed in
        # Python) is named in one line, and nothing is printed of the others.
        line = _one_line_error(result)
        match = re.fullmatch(r"Error: the SQL of revision (\d{4}) cannot be previewed without the database: .+", line)
        assert match and "0005" < match.group(1) <= HEAD, line
        assert "`mutualaid db upgrade` without --sql lists the revisions" in line
    assert _fingerprint(old_database) == before


def test_the_sql_of_migrations_that_need_no_database_is_written_out(postgres_or_sqlite_at):
    engine = postgres_or_sqlite_at("0003")
    before = _fingerprint(engine)
    status = schema_status(engine)
    if engine.dialect.name == "sqlite":
        # 0005 copies the claims table on SQLite (batch mode), which needs the live table.
        with pytest.raises(DatabaseError) as refused:
            preview_sql(engine, status, "0005")
        assert str(refused.value).startswith(
            "the SQL of revision 0005 cannot be previewed without the database: it copies tables (Alembic's batch "
            "mode on SQLite), which needs the live tables; `mutualaid db upgrade` without --sql lists the revisions, "
            "backs the file up and applies them"
        )
    else:
        sql = preview_sql(engine, status, "0005")
        assert "-- Running upgrade 0003 -> 0004" in sql and "-- Running upgrade 0004 -> 0005" in sql
        assert "ALTER TABLE members ADD COLUMN email" in sql
        assert "CREATE TABLE claim_objections" in sql
        assert "UPDATE alembic_version SET version_num='0005' WHERE alembic_version.version_num = '0004'" in sql
    assert _fingerprint(engine) == before


@pytest.fixture
def postgres_or_sqlite_at(empty_engine):
    def make(revision: str) -> Engine:
        upgrade(empty_engine, revision)
        return empty_engine

    return make


def test_a_newer_database_is_refused_by_every_command(runner, plugins, empty_engine, tmp_path):
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    pool_file = str(_pool_file(tmp_path))
    before = _fingerprint(empty_engine)
    for command in (*COMMANDS, ["db", "upgrade"], ["db", "init"], ["pool", "create", pool_file]):
        line = _one_line_error(_run(runner, plugins, _url(empty_engine), *command))
        assert line == (
            f"Error: the database {database_name(empty_engine)} is at schema revision '9999', which this version "
            "of mutualaid does not know; upgrade mutualaid"
        )
    assert _fingerprint(empty_engine) == before


# -- commands that only read -----------------------------------------------------------------------


READERS = [
    ["pool", "list"],
    ["pool", "show", POOL],
    ["member", "list", POOL],
    ["member", "show", POOL, "2"],
    ["claim", "list", POOL],
    ["share", "show", POOL, "--period", "2026-11"],
    # not ``ledger verify``: it checks read-only, then records where it got to (test_verify_incremental.py)
    ["ledger", "balance", POOL],
    ["ledger", "entries", POOL],
    ["db", "current"],
    ["db", "upgrade"],
    ["db", "upgrade", "--sql"],
    ["db", "init"],
]


def test_commands_that_only_read_leave_the_database_as_it_was(runner, plugins, app, db_url, truckers_pool, make_driver):
    app.create_pool(truckers_pool())
    for n in (1, 2, 3):
        app.join(POOL, **make_driver(n))
    claim = app.file_claim(POOL, 1, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)
    app.share(POOL, "2026-11")
    app.close()
    engine = make_engine(db_url)
    try:
        before = _fingerprint(engine)
        for command in READERS:
            result = _run(runner, plugins, db_url, *command)
            assert result.exit_code == 0, (command, result.output)
            assert _fingerprint(engine) == before, command
    finally:
        engine.dispose()


def test_a_read_only_transaction_cannot_write(app, truckers_pool):
    app.create_pool(truckers_pool())
    with pytest.raises(Exception) as refused:
        with app.reading() as session:
            session.execute(text("UPDATE pools SET name = 'changed'"))
    assert re.search(r"readonly database|read-only transaction", str(refused.value)), refused.value
    assert app.pool(POOL).definition.config.name == truckers_pool()["name"]


def test_a_connection_goes_back_to_the_pool_writable(sqlite_url):
    from mutualaid.db import reading

    engine = make_engine(sqlite_url)
    try:
        with reading(engine) as session:
            assert session.execute(text("PRAGMA query_only")).scalar() == 1
        raw = engine.raw_connection()  # the same connection, taken without a transaction (a VACUUM, a backup)
        try:
            assert raw.driver_connection.execute("PRAGMA query_only").fetchone() == (0,)
        finally:
            raw.close()
    finally:
        engine.dispose()
