"""The upgrade of a database made before revision 0007 (plain ID numbers) encrypts them in place:
the members are found by ID number afterwards, their identities verify, and the SQLite file (free
pages included) or the PostgreSQL rows hold no plain ID number -- on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, MetaData, event, insert, inspect, text
from support import plain_id_number

from mutualaid import MutualAid
from mutualaid.db import upgrade
from mutualaid.privacy import mask_id_number
from mutualaid.testing import resident_id

# -- the upgrade of a database made before revision 0007 -------------------------------------------

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "databases" / "revision-0002.json"


def _load_0002(engine: Any) -> dict[str, list[dict[str, Any]]]:
    """A database at revision 0002 holding every row of the fixture (plain ID numbers); its rows."""
    tables = json.loads(FIXTURE.read_text(encoding="utf-8"))["tables"]
    upgrade(engine, "0002")
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = []
            for row in tables[table.name]:
                values = dict(row)
                for name, value in row.items():
                    kind = table.c[name].type
                    if value is not None and isinstance(kind, DateTime):
                        moment = datetime.fromisoformat(value)
                        values[name] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                    elif value is not None and isinstance(kind, Date):
                        values[name] = date.fromisoformat(value)
                rows.append(values)
            conn.execute(insert(table), rows)
            if conn.dialect.name == "postgresql" and "id" in table.c:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"
                    )
                )
    return tables


def _typed(table: Any, name: str, value: Any) -> Any:
    kind = table.c[name].type
    return date.fromisoformat(value) if value is not None and isinstance(kind, Date) else value


def _raw_members(engine: Any) -> bytes:
    """What the members' storage holds: the SQLite file's bytes (free pages included), or every page
    of the PostgreSQL members table, its TOAST table and its indexes (dead row versions included),
    read through the buffer cache (pageinspect)."""
    if engine.dialect.name == "sqlite":
        engine.dispose()
        return Path(engine.url.database).read_bytes()
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        relations = conn.execute(
            text(
                "SELECT c.oid::regclass::text, pg_relation_size(c.oid) / current_setting('block_size')::int "
                "FROM pg_class c WHERE c.oid = 'members'::regclass "
                "OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = 'members'::regclass) "
                "OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'members'::regclass)"
            )
        ).all()
        return b"".join(
            bytes(page)
            for name, blocks in relations
            for (page,) in conn.execute(
                text("SELECT get_raw_page(:name, 'main', n::int) FROM generate_series(0, :last) n"),
                {"name": name, "last": blocks - 1},
            )
        )


def test_an_old_database_is_upgraded_with_its_id_numbers_encrypted(empty_engine, plugins, monkeypatch, tmp_path, capfd):
    key = tmp_path / "keys" / "mutualaid.key"  # none yet: the upgrade makes it
    monkeypatch.setenv("MUTUALAID_KEY_FILE", str(key))
    old = _load_0002(empty_engine)["members"]
    # Enough members besides the fixture's that the pages the upgrade frees are not all reused by
    # what it writes afterwards: a plain number left in a free page would show in the file.
    extra = [
        {
            **old[0],
            "id": 1000 + n,
            "id_number": resident_id(date(1975, 1, 1) + timedelta(days=n // 900), n % 900 + 100),
            "status": "exited",
        }  # fmt: skip
        for n in range(3000)
    ]
    with empty_engine.begin() as conn:
        members = MetaData()
        members.reflect(conn, only=["members"])
        table = members.tables["members"]
        conn.execute(insert(table), [{**m, **{k: _typed(table, k, v) for k, v in m.items()}} for m in extra])
    fixture, old = old, old + extra
    numbers = {m["id"]: m["id_number"] for m in old}
    if empty_engine.dialect.name == "sqlite":  # as a SQLite built without SECURE_DELETE (Debian's has it)
        empty_engine.dispose()
        event.listen(empty_engine, "connect", lambda conn, _: conn.execute("PRAGMA secure_delete = OFF"))
    before = _raw_members(empty_engine)
    assert len(set(numbers.values())) >= 15 and all(n.encode() in before for n in numbers.values())
    assert upgrade(empty_engine, "0007") is True
    assert f"created the key for members' ID numbers in {key}" in capfd.readouterr().err
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    if empty_engine.dialect.name == "sqlite":  # the file's bytes, free pages included
        stored = _raw_members(empty_engine)
    else:  # every row and column of the members' tables (VACUUM FULL removes the dead row versions,
        # but not while another transaction of the database still sees them: not asserted here)
        with empty_engine.connect() as conn:
            stored = "\n".join(conn.execute(text("SELECT m::text FROM members m")).scalars()).encode()
    for number in numbers.values():
        assert number.encode() not in stored and number[6:17].encode() not in stored
    with empty_engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("members")}
        rows = conn.execute(text("SELECT id, pool_id, id_cipher, id_masked FROM members ORDER BY id")).all()
    assert "id_number" not in columns and {"id_cipher", "id_hash", "id_masked", "identity_seal"} <= columns
    assert {r.id: plain_id_number(r.pool_id, r.id_cipher) for r in rows} == numbers
    assert {r.id: r.id_masked for r in rows} == {n: mask_id_number(v) for n, v in numbers.items()}

    upgrade(empty_engine)
    app = MutualAid(empty_engine.url.render_as_string(hide_password=False), plugins=plugins)
    try:
        with empty_engine.connect() as conn:
            pools = {pool_id: key for pool_id, key in conn.execute(text("SELECT id, key FROM pools"))}
        for member in fixture + extra[::300]:  # found by ID number, the live membership first
            found = app.member(pools[member["pool_id"]], member["id_number"])
            assert found.id == member["id"] or found.status in ("active", "frozen")
            assert app.member(pools[member["pool_id"]], member["id"], reveal=True).id_number == member["id_number"]
        for key_ in pools.values():
            report = app.verify_identities(key_)
            assert report.checked and report.problems == () and report.members > 0
    finally:
        app.close()
