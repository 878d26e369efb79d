"""Shared fixtures: plugins, a database on SQLite and (when configured) PostgreSQL, an app, a CLI runner.

``db_url`` is parametrized: every test that uses it runs on SQLite, and on PostgreSQL when
``MUTUALAID_TEST_POSTGRES_URL`` is set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test).
The PostgreSQL tests get a database of their own, created for the session and dropped after it;
tables are emptied between tests. When the variable is set and the server cannot be reached the
tests fail rather than skip.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from mutualaid import MutualAid, load_plugins
from mutualaid.cli import State, cli
from mutualaid.db import make_engine, scratch_database, upgrade
from mutualaid.db.models import Base
from mutualaid.db.partitions import attached_partitions
from mutualaid.plugins import Plugins
from mutualaid.testing import resident_id

PG_ENV = "MUTUALAID_TEST_POSTGRES_URL"
# Every table of the schema, emptied between PostgreSQL tests.
TABLES = tuple(table.name for table in reversed(Base.metadata.sorted_tables))

_pg_results = {"passed": 0, "skipped": 0, "failed": 0}


def pytest_configure(config: pytest.Config) -> None:
    """No test reads or writes the operator's own mutualaid home (the default database and key
    file): the run gets a home of its own, removed at its end, which a test may replace. (A
    module-wide fixture, built before the autouse fixture that names the run's key, once wrote a
    key into the real one.)"""
    home = tempfile.mkdtemp(prefix="mutualaid-test-home-")
    os.environ["MUTUALAID_HOME"] = home
    atexit.register(shutil.rmtree, home, ignore_errors=True)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "[postgresql" not in report.nodeid:
        return
    if report.when == "call" and report.passed:
        _pg_results["passed"] += 1
    elif report.skipped:
        _pg_results["skipped"] += 1
    elif report.failed:
        _pg_results["failed"] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        f"mutualaid: PostgreSQL tests passed: {_pg_results['passed']}, skipped: {_pg_results['skipped']}, "
        f"failed: {_pg_results['failed']}"
    )


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    """The installed plugins, loaded strictly (the truckers plugin must be pip-installed)."""
    return load_plugins(strict=True)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    with scratch_database(base, prefix="mutualaid_test") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no tables at all: a new SQLite file, or a new PostgreSQL
    database (dropped afterwards), for the tests of the schema's migrations."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    with scratch_database(base, prefix="mutualaid_migrations") as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        for name in attached_partitions(conn):  # the runs' charges, whose numbers start again at 1
            conn.execute(text(f"DROP TABLE {name}"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "mutualaid.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("_postgres_url")
        _empty_postgres(url)
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """A migrated, empty SQLite database (for tests that need only one backend)."""
    path = tmp_path / "mutualaid.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(db_url: str, plugins: Plugins) -> Iterator[MutualAid]:
    application = MutualAid(db_url, plugins=plugins)
    yield application
    application.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner, db_url: str, plugins: Plugins) -> Callable[..., Any]:
    """Run ``mutualaid --database-url DB_URL ARGS...`` in-process (the command closes its engine)."""

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--database-url", db_url, *args], obj=State(plugins=plugins))

    return run


TRUCKERS_POOL: dict[str, Any] = {
    "key": "js-truckers",
    "name": "江苏卡友互助",
    "cohort": "truckers",
    "currency": "CNY",
    "timezone": "Asia/Shanghai",
    "operator": "江苏卡友之家",
    "sharing": {"calendar": "monthly", "management_fee_rate": "0.08", "rounding": "round-up"},
    "settings": {},
}


@pytest.fixture
def truckers_pool() -> Callable[..., dict[str, Any]]:
    """A truckers pool mapping; keyword arguments override top-level keys, ``sharing`` is merged."""

    def make(**overrides: Any) -> dict[str, Any]:
        data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in TRUCKERS_POOL.items()}
        sharing = overrides.pop("sharing", {})
        data["sharing"].update(sharing)
        data.update(overrides)
        return data

    return make


def driver(
    n: int, *, born: date = date(1980, 1, 1), joined_on: date | str = date(2026, 10, 1), **attrs: Any
) -> dict[str, Any]:
    """Keyword arguments for ``MutualAid.join`` of an eligible driver number ``n`` (n < 1000 per birth date)."""
    attributes = {
        "licence_class": "A2",
        "licence_number": f"LIC{n:06d}",
        "licence_expires": "2031-12-31",
        "driving_proof": f"ETC-{n:06d}",
    }
    attributes.update({k: str(v) for k, v in attrs.items()})
    return {
        "id_number": resident_id(born, n % 1000),
        "name": f"司机{n}",
        "birth_date": born,
        "joined_on": joined_on,
        "attributes": attributes,
    }


@pytest.fixture
def make_driver() -> Callable[..., dict[str, Any]]:
    return driver


#: The suite's today: every test's periods, joins and claims are dated before it.
SUITE_TODAY = "2027-12-31"


@pytest.fixture(scope="session")
def _identity_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The operator's key of the test run (members' ID numbers are encrypted under it)."""
    from mutualaid.keys import create_key

    path = tmp_path_factory.mktemp("keys") / "mutualaid.key"
    create_key(path, announce=False)
    return path


@pytest.fixture(autouse=True)
def _key_file(_identity_key: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test uses the run's key file (``MUTUALAID_KEY_FILE``), never one in the user's home;
    a test of a missing or another key sets its own."""
    monkeypatch.setenv("MUTUALAID_KEY_FILE", str(_identity_key))


@pytest.fixture(autouse=True)
def _today(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs on the same "today" (``MUTUALAID_TODAY``), whatever the clock says, so that
    the guards against days in the future hold the same next year; a test may set its own, and one
    marked ``real_clock`` (the defaults that are "today in the pool's time zone") runs on the clock."""
    if request.node.get_closest_marker("real_clock"):
        monkeypatch.delenv("MUTUALAID_TODAY", raising=False)
    else:
        monkeypatch.setenv("MUTUALAID_TODAY", SUITE_TODAY)
