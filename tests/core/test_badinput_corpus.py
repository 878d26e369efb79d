"""The bad-input corpus: every case of ``tests/badinput/*.toml`` is refused in one line, changing nothing.

Each case names a starting state (``tests/badinput_fixtures.py``: ``empty``, ``truckers``,
``prepaid``, ``public``), the files it writes into its own directory, the command line, and the
message expected (``expect``, a part of the line, or ``expect_re``, a regular expression searched
in it). The command runs in-process through click's runner on a copy of the state's SQLite file;
it must exit with code 1 and print exactly one line, ``Error: ...``, holding the message, and
leave the case's directory -- the database file byte for byte, the input files, and no new file
(no new database, no half-written notices) -- as it was. A case with ``postgres = true`` runs on
PostgreSQL too (when ``MUTUALAID_TEST_POSTGRES_URL`` is set), where every table's rows are
compared before and after. ``tests/badinput/README.md`` describes the format.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tomllib
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from badinput_fixtures import ID1, build
from click.testing import CliRunner
from sqlalchemy import text

from mutualaid import MutualAid
from mutualaid.cli import State, cli
from mutualaid.db import make_engine, scratch_database, upgrade
from mutualaid.db.models import Base
from mutualaid.plugins import Plugins

CORPUS = Path(__file__).resolve().parent.parent / "badinput"
CASE_KEYS = {"id", "fixture", "args", "files", "expect", "expect_re", "env", "xfail", "postgres", "database_url"}
FIXTURES = ("empty", "truckers", "prepaid", "public")
PG_ENV = "MUTUALAID_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class Case:
    area: str
    id: str
    fixture: str
    args: tuple[str, ...]
    expect: str | None = None
    expect_re: str | None = None
    files: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    xfail: str | None = None
    postgres: bool = False
    database_url: str | None = None

    @property
    def name(self) -> str:
        return f"{self.area}:{self.id}"


def _case(area: str, raw: dict[str, Any]) -> Case:
    unknown = set(raw) - CASE_KEYS
    where = f"{area}.toml case {raw.get('id', '?')!r}"
    assert not unknown, f"{where}: unknown keys {sorted(unknown)}"
    assert raw.get("fixture") in FIXTURES, f"{where}: fixture must be one of {FIXTURES}"
    assert ("expect" in raw) != ("expect_re" in raw), f"{where}: give expect or expect_re, not both"
    assert isinstance(raw.get("args"), list) and all(isinstance(a, str) for a in raw["args"]), f"{where}: args"
    message = raw.get("expect") or raw.get("expect_re")
    assert isinstance(message, str) and len(message) >= 12, f"{where}: the message must be specific"
    return Case(
        area=area,
        id=raw["id"],
        fixture=raw["fixture"],
        args=tuple(raw["args"]),
        expect=raw.get("expect"),
        expect_re=raw.get("expect_re"),
        files=raw.get("files", {}),
        env=raw.get("env", {}),
        xfail=raw.get("xfail"),
        postgres=raw.get("postgres", False),
        database_url=raw.get("database_url"),
    )


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CORPUS.glob("*.toml")):
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        assert set(data) <= {"case"}, f"{path.name}: only [[case]] tables"
        cases.extend(_case(path.stem, raw) for raw in data["case"])
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case ids repeat: " + ", ".join(n for n in names if names.count(n) > 1)
    return cases


CASES = load_cases()


def _params() -> Iterator[Any]:
    for case in CASES:
        marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
        yield pytest.param(case, "sqlite", id=case.name, marks=marks)
        if case.postgres:
            yield pytest.param(
                case, "postgresql", id=case.name + "[postgresql]", marks=[*marks, pytest.mark.postgresql]
            )


def _content(name: str, spec: Any) -> bytes:
    if isinstance(spec, str):
        return spec.encode()
    assert isinstance(spec, dict) and set(spec) <= {"text", "encoding", "bom", "hex"}, f"file {name}: {spec!r}"
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    data = spec["text"].encode(spec.get("encoding", "utf-8"))
    return (b"\xef\xbb\xbf" if spec.get("bom") else b"") + data


def _fill(value: str, workdir: Path) -> str:
    return value.replace("{dir}", str(workdir)).replace("{id1}", ID1)


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (but SQLite's transient journal) with the SHA-256 of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith("-journal")
    }


def _rows(url: str) -> dict[str, list[str]]:
    """Every row of every table, as sorted text: what a PostgreSQL case compares before and after."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: sorted(repr(tuple(r)) for r in conn.execute(text(f"SELECT * FROM {t.name}")))
                for t in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _states(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path, plugins: Plugins) -> Any:
    """The SQLite file of each starting state, built the first time a case asks for it."""
    built: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("badinput-states")

    def get(name: str) -> Path:
        if name not in built:
            path = root / f"{name}.db"
            shutil.copyfile(_sqlite_template, path)
            app = MutualAid(f"sqlite:///{path}", plugins=plugins)
            try:
                with pytest.MonkeyPatch.context() as mp:
                    mp.setenv("MUTUALAID_TODAY", "2027-12-31")
                    build(name, app, root)
            finally:
                app.close()
            built[name] = path
        return built[name]

    return get


@pytest.fixture(scope="session")
def _pg_server() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    return url


def _error_line(result: Any) -> str:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        shown = "".join(traceback.format_exception(*result.exc_info))
        pytest.fail(f"a traceback instead of a one-line error:\n{shown}")
    assert "Traceback" not in result.output
    assert result.exit_code == 1, f"exit code {result.exit_code}; output:\n{result.output}"
    lines = result.output.splitlines()
    assert len(lines) == 1, f"the error is not one line:\n{result.output}"
    assert lines[0].startswith("Error: "), lines[0]
    return lines[0][len("Error: ") :]


def _check_message(case: Case, line: str, workdir: Path) -> None:
    if case.expect is not None:
        expected = _fill(case.expect, workdir)
        assert expected in line, f"expected {expected!r} in {line!r}"
    else:
        assert case.expect_re is not None
        pattern = case.expect_re.replace("{dir}", re.escape(str(workdir)))
        assert re.search(pattern, line), f"expected /{pattern}/ in {line!r}"


@pytest.mark.parametrize(("case", "backend"), list(_params()))
def test_bad_input_is_one_line_and_changes_nothing(
    case: Case,
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    plugins: Plugins,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, spec in case.files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_content(name, spec))
    for name, value in case.env.items():
        monkeypatch.setenv(name, _fill(value, tmp_path))
    args = [_fill(a, tmp_path) for a in case.args]
    if backend == "sqlite":
        shutil.copyfile(request.getfixturevalue("_states")(case.fixture), tmp_path / "state.db")
        url = _fill(case.database_url, tmp_path) if case.database_url else f"sqlite:///{tmp_path / 'state.db'}"
        before = _snapshot(tmp_path)
        result = CliRunner().invoke(cli, ["--database-url", url, *args], obj=State(plugins=plugins))
        _check_message(case, _error_line(result), tmp_path)
        assert _snapshot(tmp_path) == before
        return
    with scratch_database(request.getfixturevalue("_pg_server"), prefix="mutualaid_badinput") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        app = MutualAid(url, plugins=plugins)
        (tmp_path / "build").mkdir()
        try:
            build(case.fixture, app, tmp_path / "build")
        finally:
            app.close()
        rows, files = _rows(url), _snapshot(tmp_path)
        result = CliRunner().invoke(cli, ["--database-url", url, *args], obj=State(plugins=plugins))
        _check_message(case, _error_line(result), tmp_path)
        assert _rows(url) == rows
        assert _snapshot(tmp_path) == files


def test_the_corpus_is_wide_enough() -> None:
    """At least 150 cases, from every area the corpus promises, each on a known starting state."""
    assert len(CASES) >= 150
    areas = {c.area for c in CASES}
    assert areas >= {"configs", "members_csv", "cli_args", "claims", "payments", "topups", "templates"}
