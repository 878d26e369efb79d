"""An upgrade of a database made at schema revision 0002, with rows in every table, loses nothing.

``tests/fixtures/databases/revision-0002.json`` holds every row of a SQLite database that
mutualaid at schema revision 0002 (commit 12e0b66) built through its public API: a postpaid
truckers pool (deaths, a rejected claim, payments with failed attempts, a settlement that lapses
a member, an exit, an adjustment and its reversal), a prepaid truckers pool (top-ups, a run that
freezes members, a top-up that unfreezes one, a recorded death) and a critical-illness pool (a
denial that refunds the member's contributions, carried into the next period). Each test loads
those rows into a database upgraded to 0002, on SQLite and on PostgreSQL, then upgrades it to
head and checks that every row and value is still there, that the member and claim histories were
backfilled, that the vocabulary CHECK constraints and the append-only ledger triggers are in force,
that the application works on the data, and that a downgrade and a new upgrade lose nothing either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Date, DateTime, Engine, MetaData, Table, insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from support import plain_id_number

import mutualaid
from mutualaid import MutualAid
from mutualaid.db import current_revision, head_revision, upgrade
from mutualaid.db.models import Base
from mutualaid.db.partitions import not_a_partition
from mutualaid.ledger import charge_figures
from mutualaid.vocabulary import (
    Account,
    ClaimStatus,
    EntryKind,
    FeePolicy,
    MemberChange,
    MemberStatus,
    PaymentModel,
    PaymentResult,
    Rounding,
    ShortfallPolicy,
)

PG_ENV = "MUTUALAID_TEST_POSTGRES_URL"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "databases" / "revision-0002.json"
SNAPSHOT = json.loads(FIXTURE.read_text(encoding="utf-8"))
#: Every row of every table at revision 0002, by table, ordered by primary key.
OLD: dict[str, list[dict[str, Any]]] = SNAPSHOT["tables"]
OLD_IDS = {name: {row["id"] for row in rows} for name, rows in OLD.items() if rows and "id" in rows[0]}

POSTPAID, PREPAID, CI = "js-truckers", "js-prepaid", "healthy-critical-illness"
POOLS = {1: POSTPAID, 2: PREPAID, 3: CI}
DAY = timedelta(days=1)
REFUSAL = "ledger entries are append-only: post a reversing entry instead of changing or deleting one"
#: What each history row kept from before revision 0003 records (its status then was all there was).
KEPT_CHANGES = {"frozen": "frozen", "active": "unfrozen", "lapsed": "lapsed"}
#: Each vocabulary column: (table, column) -> (constraint name, the words it allows).
CHECKS: dict[tuple[str, str], tuple[str, type[StrEnum]]] = {
    ("members", "status"): ("ck_members_status", MemberStatus),
    ("claims", "status"): ("ck_claims_status", ClaimStatus),
    ("sharing_runs", "rounding"): ("ck_sharing_runs_rounding", Rounding),
    ("sharing_runs", "fee_policy"): ("ck_sharing_runs_fee_policy", FeePolicy),
    ("sharing_runs", "payment_model"): ("ck_sharing_runs_payment_model", PaymentModel),
    ("sharing_runs", "shortfall_policy"): ("ck_sharing_runs_shortfall_policy", ShortfallPolicy),
    ("payments", "result"): ("ck_payments_result", PaymentResult),
    ("ledger_entries", "kind"): ("ck_ledger_entries_kind", EntryKind),
    ("ledger_lines", "account"): ("ck_ledger_lines_account", Account),
    ("member_status_changes", "change"): ("ck_member_status_changes_change", MemberChange),
    ("member_status_changes", "status"): ("ck_member_status_changes_status", MemberStatus),
    ("claim_status_changes", "status"): ("ck_claim_status_changes_status", ClaimStatus),
}
LEDGER = ("ledger_entries", "ledger_lines")
#: Columns added after revision 0003: 0004's member contact fields, 0005's claims governance.
ADDED_COLUMNS = {
    "members": {"email", "phone", "locale", "city"},
    "claims": {"filed_by", "reviewed_by", "proposal_json", "notice_closes_on", "requested_minor"},
}
#: The tables of revision 0005 (claims governance), empty on an upgraded database.
NEW_TABLES = {"claim_notes", "claim_costs", "claim_objections", "juries", "jurors", "jury_qualifications"}
# Revision 0007 (member identity): its tables (the key's check value is written by the upgrade), and
# members' ID numbers encrypted in place (id_number becomes id_cipher) beside their keyed hashes,
# masked forms and identity seals: compared decrypted (see test_member_identity.py).
NEW_TABLES |= {"identity_keys", "member_identity_corrections"}
# Revision 0006 (corrections): amendments, voided runs and reversed top-ups; every run its period's
# first (attempt 0, checked below).
NEW_TABLES |= {"claim_amendments", "sharing_run_voids", "top_up_reversals"}
# Revision 0009 (ledger verifications): where verifications got to, empty on an upgraded database.
NEW_TABLES |= {"ledger_verifications"}
ENCRYPTED = {"members": ("id_number", "id_cipher")}
# Revision 0008 (ledger digests): each run's charges' SHA-256 digest, computed by the upgrade.
COMPUTED_COLUMNS = {"sharing_runs": {"charge_digest", "attempt"}}
SEALED_COLUMNS = {"id_hash", "id_masked", "identity_seal"}


# -- databases --------------------------------------------------------------------------------------


@dataclass
class Upgraded:
    """A database loaded with the fixture at revision 0002, then upgraded to head."""

    engine: Engine
    #: The schema at revision 0002, read before the rows were loaded.
    schema_0002: dict[str, Any]
    #: Every row as stored at revision 0002, read back before the upgrade.
    rows_0002: dict[str, list[tuple[Any, ...]]]

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def upgraded(empty_engine: Engine) -> Upgraded:
    schema = _load_0002(empty_engine)
    rows = _stored(empty_engine)
    assert upgrade(empty_engine) is True
    assert current_revision(empty_engine) == head_revision()
    return Upgraded(empty_engine, schema, rows)


def _alembic(conn: Any) -> Config:
    """An Alembic configuration for mutualaid's migrations, running on ``conn``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(mutualaid.__file__).parent / "db" / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


def _reflect(engine: Engine) -> dict[str, Table]:
    metadata = MetaData()
    metadata.reflect(
        engine, only=lambda name, _: not_a_partition(name, "table", None)
    )  # a run's charges are in charges
    return {table.name: table for table in metadata.sorted_tables if table.name != "alembic_version"}


def _from_json(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """A fixture row as Python values: ISO dates and datetimes (written in UTC) parsed by column type."""
    values = {}
    for name, value in row.items():
        kind = table.c[name].type if name in table.c else None  # (members.id_number: id_cipher since 0007)
        if value is not None and isinstance(kind, DateTime):
            moment = datetime.fromisoformat(value)
            value = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        elif value is not None and isinstance(kind, Date):
            value = date.fromisoformat(value)
        values[name] = value
    return values


def _plain(value: Any) -> Any:
    """A value read back, comparable across backends: an aware datetime as a naive one in UTC."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _load_0002(engine: Engine) -> dict[str, Any]:
    """Upgrade an empty database to 0002 and insert every row of the fixture; return the schema at 0002."""
    assert SNAPSHOT["revision"] == "0002"
    assert upgrade(engine, "0002") is True
    assert current_revision(engine) == "0002"
    schema = _schema(engine)
    tables = _reflect(engine)
    assert set(tables) == set(OLD)
    with engine.begin() as conn:
        for name, table in tables.items():  # parents first (foreign keys)
            conn.execute(insert(table), [_from_json(table, row) for row in OLD[name]])
        if conn.dialect.name == "postgresql":
            # Rows were written with their own numbers: move each sequence past them, as the
            # application's inserts would have.
            for name in OLD_IDS:
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
                )
    return schema


def _stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table as the driver hands it back (no type processing: SQLite's stored
    text), the 0002 columns only, ordered by primary key."""
    tables = _reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name, rows in OLD.items():
            columns = ", ".join(c for c in rows[0] if c != ENCRYPTED.get(name, ("",))[0])
            order = ", ".join(c.name for c in tables[name].primary_key.columns)
            ids = f" WHERE id <= {max(OLD_IDS[name])}" if name == "member_status_changes" else ""
            out[name] = [tuple(r) for r in conn.execute(text(f"SELECT {columns} FROM {name}{ids} ORDER BY {order}"))]
    return out


def _without_opened_balances(stored: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """:func:`_stored` at a revision from 0016, less the balance rows of 0 that revision opened for the
    prepaid members without one (checked to be those, and only those)."""
    had = {row["member_id"] for row in OLD["balances"]}
    prepaid = {m["id"] for m in OLD["members"] if POOLS[m["pool_id"]] == PREPAID}
    opened = [row for row in stored["balances"] if row[0] not in had]
    assert sorted(opened) == sorted((m, 2, 0) for m in prepaid - had)
    return {**stored, "balances": [row for row in stored["balances"] if row[0] in had]}


def _snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (all columns), ordered by primary key, values from :func:`_plain`."""
    out = {}
    with engine.connect() as conn:
        for name, table in _reflect(engine).items():
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            out[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return out


def _expected_0002(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """The fixture's rows as :func:`_snapshot` reads them."""
    tables = _reflect(engine)
    return {
        name: [{k: _plain(v) for k, v in _from_json(tables[name], row).items()} for row in rows]
        for name, rows in OLD.items()
    }


def _schema(engine: Engine) -> dict[str, Any]:
    """Tables, columns, keys, indexes and CHECK constraints, as reflected."""
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for name in sorted(insp.get_table_names()):
        out[name] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in insp.get_columns(name)
            ],
            "pk": insp.get_pk_constraint(name)["constrained_columns"],
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in insp.get_foreign_keys(name)
            ),
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(name)),
            "indexes": sorted(
                (
                    i["name"],
                    tuple(i["column_names"]),
                    bool(i["unique"]),
                    sorted((k, str(v)) for k, v in i.get("dialect_options", {}).items()),
                )
                for i in insp.get_indexes(name)
            ),
            "checks": sorted((c["name"], c["sqltext"]) for c in insp.get_check_constraints(name)),
        }
    return out


def _differences(engine: Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True, "include_name": not_a_partition}
        )
        return compare_metadata(context, Base.metadata)


def _by_key(rows: list[dict[str, Any]], key: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(row[k] for k in key): row for row in rows}


def _keys(engine: Engine) -> dict[str, tuple[str, ...]]:
    return {name: tuple(c.name for c in table.primary_key.columns) for name, table in _reflect(engine).items()}


def _without_backfilled_ids(snapshot: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The snapshot with the numbers of history rows written by the migration left out (a new
    upgrade numbers its rows afresh); their order is kept."""
    out = dict(snapshot)
    old = OLD_IDS["member_status_changes"]
    out["member_status_changes"] = [
        row if row["id"] in old else {k: v for k, v in row.items() if k != "id"}
        for row in snapshot["member_status_changes"]
    ]
    out["claim_status_changes"] = [
        {k: v for k, v in row.items() if k != "id"} for row in snapshot["claim_status_changes"]
    ]
    return out


def _unsealed(snapshot: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The snapshot with members' ID numbers decrypted (each encryption draws a fresh nonce) and the
    key's check value without the moment it was recorded."""
    out = dict(snapshot)
    out["members"] = [{**m, "id_cipher": plain_id_number(m["pool_id"], m["id_cipher"])} for m in snapshot["members"]]
    out["identity_keys"] = [{k: v for k, v in row.items() if k != "created_at"} for row in snapshot["identity_keys"]]
    return out


def _sqlite_is_sound(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []


# -- the fixture ----------------------------------------------------------------------------------


def test_the_fixture_has_rows_in_every_table_of_revision_0002_and_every_word(empty_engine):
    upgrade(empty_engine, "0002")
    tables = _reflect(empty_engine)
    assert (
        set(OLD)
        == set(tables)
        == set(Base.metadata.tables) - {"claim_status_changes", "notice_deliveries"} - NEW_TABLES
    )
    for name, table in tables.items():
        assert OLD[name], f"the fixture has no rows in {name}"
        assert all(list(row) == [c.name for c in table.columns] for row in OLD[name]), name
    # Every word the old code wrote, so the CHECK constraints are tried on real data.
    assert {m["status"] for m in OLD["members"]} == {"active", "frozen", "lapsed", "exited", "deceased"}
    assert {c["status"] for c in OLD["claims"]} == {"filed", "approved", "rejected", "shared"}
    later = {EntryKind.INVESTIGATION, EntryKind.VOID, EntryKind.TOP_UP_REVERSAL}  # 0005's and 0006's
    assert {e["kind"] for e in OLD["ledger_entries"]} == set(EntryKind) - later
    assert {p["result"] for p in OLD["payments"]} == {"paid", "failed"}
    assert {r["rounding"] for r in OLD["sharing_runs"]} == {"round-up", "exact"}
    assert {r["fee_policy"] for r in OLD["sharing_runs"]} == {"rate", "flat"}
    assert {r["payment_model"] for r in OLD["sharing_runs"]} == {"postpaid", "prepaid"}
    assert {r["shortfall_policy"] for r in OLD["sharing_runs"]} == {"none", "sponsor"}
    assert {s["status"] for s in OLD["member_status_changes"]} == set(KEPT_CHANGES)
    assert [e["reverses_id"] for e in OLD["ledger_entries"] if e["reverses_id"]] == [6]
    assert [c["refund_minor"] for c in OLD["claims"] if c["refund_minor"]] == [8_100_000]
    assert {line["account"] for line in OLD["ledger_lines"]} >= {
        "members_due",
        "member_balances",
        "cash",
        "aid_payable",
        "fee_income",
        "sponsor_due",
        "refunds_payable",
        "deficit",
    }


# -- nothing lost ---------------------------------------------------------------------------------


def test_every_row_of_revision_0002_keeps_every_value(upgraded):
    engine = upgraded.engine
    after = _snapshot(engine)
    assert set(after) == set(OLD) | {"claim_status_changes", "notice_deliveries"} | NEW_TABLES
    keys = _keys(engine)
    for name, rows in _expected_0002(engine).items():
        kept = _by_key(after[name], keys[name])
        old = _by_key(rows, keys[name])
        if name == "member_status_changes":
            assert set(old) <= set(kept)  # history rows are added, none removed
            assert all(set(row) == set(rows[0]) | {"change"} for row in after[name])
        elif name in COMPUTED_COLUMNS:  # columns of later revisions, computed from the rows by the upgrade
            assert set(kept) == set(old)
            assert all(set(row) == set(rows[0]) | COMPUTED_COLUMNS[name] for row in after[name]), name
            if name == "sharing_runs":
                assert {r["attempt"] for r in after[name]} == {0}
                with Session(engine) as session:
                    assert {r["id"]: r["charge_digest"] for r in after[name]} == {
                        r["id"]: charge_figures(session, r["id"]).digest for r in rows
                    }
        elif name == "balances":  # revision 0016: a row of 0 for each prepaid member who had none
            prepaid = {m["id"] for m in OLD["members"] if POOLS[m["pool_id"]] == PREPAID}
            assert set(old) <= set(kept)
            assert {key: kept[key] for key in set(kept) - set(old)} == {
                (m,): {"member_id": m, "pool_id": 2, "balance_minor": 0}
                for m in prepaid - {r["member_id"] for r in rows}
            }
            assert prepaid - {r["member_id"] for r in rows}  # the fixture has such members
        elif name in ADDED_COLUMNS:  # columns of later revisions, empty on every upgraded row
            assert set(kept) == set(old)
            added = ADDED_COLUMNS[name]
            if name in ENCRYPTED:  # the ID number encrypted in place, its hash, mask and seal beside it
                plain, cipher = ENCRYPTED[name]
                assert all(
                    set(row) == set(rows[0]) - {plain} | {cipher} | added | SEALED_COLUMNS for row in after[name]
                )
                assert {plain_id_number(row["pool_id"], row[cipher]) for row in after[name]} == {
                    row[plain] for row in rows
                }
                kept = {key: {**row, plain: plain_id_number(row["pool_id"], row[cipher])} for key, row in kept.items()}
            else:
                assert all(set(row) == set(rows[0]) | added for row in after[name])
            assert {row[c] for row in after[name] for c in added} == {None}
        else:
            assert set(kept) == set(old), name  # no row lost, none added
            assert all(set(row) == set(rows[0]) for row in after[name]), name  # the same columns
        for key, row in old.items():
            assert {column: kept[key][column] for column in row} == row, (name, key)
    # ... and as stored, byte for byte (SQLite: the text of dates and datetimes, copied with the tables)
    assert _without_opened_balances(_stored(engine)) == upgraded.rows_0002
    assert _differences(engine) == []  # the schema is the models' (indexes made again, partial one included)
    _sqlite_is_sound(engine)


def test_member_history_is_backfilled_from_the_members(upgraded):
    tables = _reflect(upgraded.engine)
    history = tables["member_status_changes"]
    with upgraded.engine.connect() as conn:
        rows = conn.execute(
            select(
                history.c.id, history.c.member_id, history.c.change, history.c.status, history.c.since, history.c.cause
            ).order_by(history.c.id)
        ).all()
    old_ids = OLD_IDS["member_status_changes"]

    # The rows kept from before: the same row, with what changed named.
    assert [tuple(r) for r in rows if r.id in old_ids] == [
        (r["id"], r["member_id"], KEPT_CHANGES[r["status"]], r["status"], date.fromisoformat(r["since"]), r["cause"])
        for r in OLD["member_status_changes"]
    ]
    # The rows added: each member's joining, the end of the waiting period when there is one, and
    # the end of an exited or deceased membership (the day after its last day).
    expected = []
    for m in OLD["members"]:
        joined, waiting = date.fromisoformat(m["joined_on"]), date.fromisoformat(m["waiting_until"])
        expected.append((m["id"], "joined", "active", joined, "joined"))
        if waiting > joined:
            expected.append((m["id"], "covered", "active", waiting + DAY, "the waiting period ends"))
        if m["status"] in ("exited", "deceased"):
            change = "died" if m["status"] == "deceased" else "exited"
            ended = date.fromisoformat(m["ended_on"]) + DAY
            expected.append((m["id"], change, m["status"], ended, "ended before the member history was kept"))
    added = [tuple(r)[1:] for r in rows if r.id not in old_ids]
    assert sorted(added) == sorted(expected)
    assert len(added) == 19 + 12 + 6  # 19 joinings, 12 waiting periods (the prepaid pool has none), 6 endings
    assert min(r.id for r in rows if r.id not in old_ids) > max(old_ids)  # after the old ones
    # Spot checks written out: a lapsed member, an unfrozen one, one refunded and exited in the waiting period.
    by_member: dict[int, list[tuple[Any, ...]]] = {}
    for r in sorted(rows, key=lambda r: (r.since, r.id)):
        by_member.setdefault(r.member_id, []).append((r.change, r.status, r.since))
    assert by_member[4] == [
        ("joined", "active", date(2026, 10, 1)),
        ("lapsed", "lapsed", date(2026, 11, 20)),
        ("covered", "active", date(2026, 12, 31)),
    ]
    assert by_member[12] == [
        ("joined", "active", date(2026, 10, 1)),
        ("frozen", "frozen", date(2026, 11, 7)),
        ("unfrozen", "active", date(2026, 11, 20)),
    ]
    assert by_member[18] == [
        ("joined", "active", date(2026, 7, 10)),
        ("covered", "active", date(2026, 10, 9)),
        ("exited", "exited", date(2026, 10, 9)),
    ]
    assert by_member[14] == [("joined", "active", date(2026, 10, 1)), ("died", "deceased", date(2026, 11, 27))]


def test_claim_history_is_backfilled_from_the_claims(upgraded):
    tables = _reflect(upgraded.engine)
    history = tables["claim_status_changes"]
    with upgraded.engine.connect() as conn:
        rows = conn.execute(
            select(history.c.claim_id, history.c.status, history.c.changed_at, history.c.cause).order_by(history.c.id)
        ).all()
    shared_at = {run["id"]: datetime.fromisoformat(run["created_at"]) for run in OLD["sharing_runs"]}
    periods = {run["id"]: run["period"] for run in OLD["sharing_runs"]}
    zones = {pool["id"]: ZoneInfo(json.loads(pool["config_json"])["timezone"]) for pool in OLD["pools"]}
    expected = []
    for claim in OLD["claims"]:
        # filed at 00:00 of the filing day in the pool's time zone (stored in UTC, naive on SQLite)
        local = datetime.combine(date.fromisoformat(claim["filed_on"]), time(0), tzinfo=zones[claim["pool_id"]])
        expected.append((claim["id"], "filed", local.astimezone(UTC).replace(tzinfo=None), "filed"))
        if claim["status"] != "filed":
            verdict = "rejected" if claim["status"] == "rejected" else "approved"
            reasons = "; ".join(json.loads(claim["reasons_json"]))
            expected.append(
                (claim["id"], verdict, datetime.fromisoformat(claim["decided_at"]), f"{verdict}: {reasons}")
            )
        if claim["status"] == "shared":
            run = claim["sharing_run_id"]
            expected.append((claim["id"], "shared", shared_at[run], f"shared in period {periods[run]} (run #{run})"))
    assert [(c, s, _plain(at), cause) for c, s, at, cause in rows] == expected
    assert [(c, s) for c, s, _, _ in rows] == [
        (1, "filed"), (1, "approved"), (1, "shared"),
        (2, "filed"), (2, "rejected"),
        (3, "filed"), (3, "approved"),
        (4, "filed"),
        (5, "filed"), (5, "approved"), (5, "shared"),
        (6, "filed"), (6, "approved"), (6, "shared"),
        (7, "filed"), (7, "rejected"),
    ]  # fmt: skip


# -- the vocabulary's CHECK constraints -----------------------------------------------------------


def test_every_vocabulary_column_has_its_check_constraint(upgraded):
    insp = inspect(upgraded.engine)
    for table in {t for t, _ in CHECKS}:
        found = {c["name"]: c["sqltext"] for c in insp.get_check_constraints(table)}
        wanted = {name: words for (t, _), (name, words) in CHECKS.items() if t == table}
        assert set(found) == set(wanted), table
        for name, words in wanted.items():
            for word in words:
                assert f"'{word.value}'" in found[name], (name, word)
            assert "'bogus'" not in found[name]


def _first(conn: Any, table: Table) -> dict[str, Any]:
    return dict(conn.execute(select(table).order_by(*table.primary_key.columns).limit(1)).mappings().one())


def _where(table: Table, row: dict[str, Any]) -> Any:
    return [c == row[c.name] for c in table.primary_key.columns]


def _try_word(engine: Engine, table: Table, column: str, word: str) -> None:
    """Write ``word`` into ``column`` in a transaction that is rolled back: an UPDATE of the first row,
    or, in the append-only ledger, an INSERT of a copy of it."""
    with engine.connect() as conn, conn.begin() as transaction:
        row = _first(conn, table)
        if table.name in LEDGER:
            if table.name == "ledger_entries":
                row |= {"id": 1000, "seq": 1000}
            else:
                row |= {"line_no": 1000}
            conn.execute(insert(table).values({**row, column: word}))
        else:
            assert conn.execute(update(table).where(*_where(table, row)).values({column: word})).rowcount == 1
        transaction.rollback()


@pytest.mark.parametrize(("table", "column"), list(CHECKS), ids=[f"{t}.{c}" for t, c in CHECKS])
def test_a_check_constraint_takes_every_word_and_refuses_any_other(upgraded, table, column):
    engine = upgraded.engine
    name, words = CHECKS[(table, column)]
    tables = _reflect(engine)
    before = _snapshot(engine)
    for word in words:  # each word of the vocabulary is taken ...
        _try_word(engine, tables[table], column, word.value)
    for bad in ("bogus", "bank", "Active", ""):  # ... and nothing else
        with pytest.raises(IntegrityError) as refused:
            _try_word(engine, tables[table], column, bad)
        assert name in str(refused.value)
    assert _snapshot(engine) == before


# -- the append-only ledger ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET memo = 'edited' WHERE id = 5",
        "UPDATE ledger_entries SET kind = 'bogus' WHERE id = 5",
        "UPDATE ledger_entries SET hash = prev_hash",
        "DELETE FROM ledger_entries WHERE id = 17",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_lines SET amount_minor = amount_minor + 1 WHERE entry_id = 1 AND line_no = 1",
        "UPDATE ledger_lines SET account = 'bank' WHERE entry_id = 5",
        "UPDATE ledger_lines SET member_id = NULL",
        "DELETE FROM ledger_lines WHERE entry_id = 7",
        "DELETE FROM ledger_lines",
    ],
)
def test_the_ledger_refuses_updates_and_deletes(upgraded, statement):
    before = _snapshot(upgraded.engine)
    with pytest.raises(IntegrityError) as refused:
        with upgraded.engine.begin() as conn:
            conn.execute(text(statement))
    assert REFUSAL in str(refused.value)
    assert _snapshot(upgraded.engine) == before


def test_the_ledger_still_takes_new_entries(upgraded):
    tables = _reflect(upgraded.engine)
    with upgraded.engine.connect() as conn, conn.begin() as transaction:
        entry = _first(conn, tables["ledger_entries"]) | {"id": 1000, "seq": 1000}
        conn.execute(insert(tables["ledger_entries"]).values(entry))
        line = _first(conn, tables["ledger_lines"]) | {"entry_id": 1000}
        conn.execute(insert(tables["ledger_lines"]).values(line))
        assert conn.execute(text("SELECT count(*) FROM ledger_lines WHERE entry_id = 1000")).scalar() == 1
        transaction.rollback()


# -- the application on the upgraded data ---------------------------------------------------------


def _books_ok(app: MutualAid, pool: str) -> None:
    report = app.verify_ledger(pool)
    assert report.ok, report.problems
    books = app.reconcile_books(pool)
    assert books.total == 0 and all(c.ok for c in books.checks), [c for c in books.checks if not c.ok]
    # Revision 0002 let adjustments pay out cash a pool did not hold (the first pool a benefit of
    # 300,000.00 out of 216,000.00, the third a refund of 81,000.00 out of none): the books reconcile
    # account by account but do not balance.
    assert books.overdrawn == {POOLS[1]: {"cash": -8_400_000}, POOLS[3]: {"cash": -8_100_000}}.get(pool, {})
    assert books.ok == (not books.overdrawn)


def _history(app: MutualAid, pool: str, member: int) -> list[tuple[str, str, date, str]]:
    _, entries = app.member_history(pool, member)
    return [(e.change.value, e.status.value, e.since, e.cause) for e in entries]


def test_the_application_works_on_the_upgraded_data(upgraded, plugins):
    app = MutualAid(upgraded.url, plugins=plugins)
    try:
        for pool in POOLS.values():
            _books_ok(app, pool)
        for run in OLD["sharing_runs"]:
            check = app.reconcile(POOLS[run["pool_id"]], run["period"])
            assert check.ok, (run["period"], check)

        # Members' histories, as the application tells them (a waiting period that ended after the
        # membership is left out).
        joined = ("joined", "active", date(2026, 10, 1), "joined")
        assert _history(app, POSTPAID, 2) == [
            joined,
            ("covered", "active", date(2026, 12, 31), "the waiting period ends"),
        ]
        assert _history(app, POSTPAID, 4) == [
            joined,
            (
                "lapsed",
                "lapsed",
                date(2026, 11, 20),
                "share of period 2026-11 (run #1) unpaid when its retry window closed on 2026-11-19",
            ),
        ]
        ended = "ended before the member history was kept"
        assert _history(app, POSTPAID, 5) == [joined, ("exited", "exited", date(2026, 11, 26), ended)]
        assert _history(app, POSTPAID, 1) == [joined, ("died", "deceased", date(2026, 10, 21), ended)]
        frozen = ("frozen", "frozen", date(2026, 11, 7), "balance too low for the share of period 2026-11 (run #2)")
        assert _history(app, PREPAID, 12) == [joined, frozen, ("unfrozen", "active", date(2026, 11, 20), "topped up")]
        assert _history(app, PREPAID, 13) == [joined, frozen]
        assert _history(app, CI, 18) == [
            ("joined", "active", date(2026, 7, 10), "joined"),
            ("exited", "exited", date(2026, 10, 9), ended),
        ]
        assert app.balance(PREPAID, 12).frozen_spans == ((date(2026, 11, 7), date(2026, 11, 19)),)
        assert app.balance(PREPAID, 13).frozen_spans == ((date(2026, 11, 7), None),)

        # Claims' histories.
        record, steps = app.claim_history(1)
        assert record.status == "shared"
        reasons = json.loads(next(c for c in OLD["claims"] if c["id"] == 1)["reasons_json"])
        assert [(s.status.value, s.cause) for s in steps] == [
            ("filed", "filed"),
            ("approved", "approved: " + "; ".join(reasons)),
            ("shared", "shared in period 2026-11 (run #1)"),
        ]
        assert steps[0].changed_at == datetime(2026, 10, 24, 16, tzinfo=UTC)  # 25 October, 00:00 in Shanghai
        _, steps = app.claim_history(7)
        refusal = json.loads(next(c for c in OLD["claims"] if c["id"] == 7)["reasons_json"])[0]
        assert [(s.status.value, s.cause) for s in steps] == [("filed", "filed"), ("rejected", f"rejected: {refusal}")]

        # New work on the old data: a frozen member tops up and is unfrozen ...
        assert app.top_up(PREPAID, 13, "100", "2026-12-01", "WX-0004").unfrozen
        assert app.balance(PREPAID, 13).frozen_spans == ((date(2026, 11, 7), date(2026, 11, 30)),)
        assert _history(app, PREPAID, 13)[-1] == ("unfrozen", "active", date(2026, 12, 1), "topped up")
        # ... and each pool shares its next period, the approved claim #3 included.
        next_periods = {POSTPAID: "2026-12", PREPAID: "2026-12", CI: "2026-11b"}
        for pool, period in next_periods.items():
            result = app.share(pool, period)
            assert result.run_id > max(OLD_IDS["sharing_runs"])
        assert app.sharing_run(POSTPAID, "2026-12").claims == 1
        record, steps = app.claim_history(3)
        assert record.status == "shared"
        assert [s.status.value for s in steps] == ["filed", "approved", "shared"]
        for pool, period in next_periods.items():
            assert app.reconcile(pool, period).ok, (pool, period)
            _books_ok(app, pool)
        for run in OLD["sharing_runs"]:
            assert app.reconcile(POOLS[run["pool_id"]], run["period"]).ok
    finally:
        app.close()

    # The old entries were appended to, never changed.
    after = _snapshot(upgraded.engine)
    expected = _expected_0002(upgraded.engine)
    for name in LEDGER:
        assert after[name][: len(expected[name])] == expected[name]
        assert len(after[name]) > len(expected[name])


# -- downgrade and upgrade again ----------------------------------------------------------------


def test_a_downgrade_to_0002_and_a_new_upgrade_lose_nothing(upgraded):
    engine = upgraded.engine
    first = _snapshot(engine)
    with engine.begin() as conn:
        command.downgrade(_alembic(conn), "0002")
    assert current_revision(engine) == "0002"
    # Exactly the schema and the rows of revision 0002: the history added by the upgrade is gone.
    assert _schema(engine) == upgraded.schema_0002
    assert _snapshot(engine) == _expected_0002(engine)
    assert _stored(engine) == upgraded.rows_0002
    _sqlite_is_sound(engine)
    with engine.connect() as conn, conn.begin() as transaction:  # the ledger guards are gone too
        assert conn.execute(text("UPDATE ledger_lines SET member_id = member_id")).rowcount == len(OLD["ledger_lines"])
        transaction.rollback()

    assert upgrade(engine) is True
    assert current_revision(engine) == head_revision()
    assert _unsealed(_without_backfilled_ids(_snapshot(engine))) == _unsealed(_without_backfilled_ids(first))
    assert _without_opened_balances(_stored(engine)) == upgraded.rows_0002
    assert _differences(engine) == []
    _sqlite_is_sound(engine)
    with pytest.raises(IntegrityError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger_lines"))


# -- the upgrade as an operator runs it -------------------------------------------------------------


def test_the_operator_is_told_to_upgrade_and_the_upgrade_keeps_a_copy_of_revision_0002(
    empty_engine, plugins, runner, tmp_path
):
    from mutualaid.cli import State, cli
    from mutualaid.db.engine import database_name
    from mutualaid.db.schema import HEAD

    _load_0002(empty_engine)
    rows = _stored(empty_engine)
    url, name = empty_engine.url.render_as_string(hide_password=False), database_name(empty_engine)
    sqlite = empty_engine.dialect.name == "sqlite"
    path = Path(name) if sqlite else None
    before = path.read_bytes() if path else None

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--database-url", url, *args], obj=State(plugins=plugins))

    # Any command, even one that only reads, is refused and changes nothing ...
    for args in (
        ["member", "list", POSTPAID],
        ["ledger", "verify", PREPAID],
        ["share", "run", CI, "--period", "2026-12a"],
    ):
        refused = run(*args)
        assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit), refused.output
        assert refused.output == (
            f"Error: the database {name} is at schema revision 0002 and this mutualaid needs {HEAD}; run `mutualaid "
            f"db upgrade` first (it shows what changes{' and backs the file up' if sqlite else ''}); nothing was changed\n"
        )
    if path:
        assert path.read_bytes() == before
    assert current_revision(empty_engine) == "0002"
    assert _stored(empty_engine) == rows

    # ... until the upgrade, which lists every migration from 0003 and keeps a copy of the file.
    upgraded = run("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    lines = upgraded.output.splitlines()
    assert lines[0] == f"the database {name} is at schema revision 0002; {int(HEAD) - 2} migrations to {HEAD}:"
    assert [line.split()[0] for line in lines[1 : int(HEAD) - 1]] == [f"{n:04d}" for n in range(3, int(HEAD) + 1)]
    assert lines[1] == "  0003  vocabulary checks, member and claim history, append-only ledger"
    assert lines[-1] == f"upgraded {name} from schema revision 0002 to {HEAD}"
    assert current_revision(empty_engine) == HEAD  # (what the rows became: the tests above)
    if path:
        copy = Path(lines[-2].removeprefix("backed up to "))
        assert copy.parent == path.parent and copy.name.startswith(f"{path.name}.before-0002-")
        # The file as it was, page for page (SQLite's backup counts a change in the header's first 100 bytes).
        assert before is not None and copy.read_bytes()[100:] == before[100:]
        backup = create_engine_for(copy)
        try:
            assert current_revision(backup) == "0002"
            assert _stored(backup) == rows
        finally:
            backup.dispose()
    # And now the application works on it.
    listed = run("ledger", "verify", PREPAID)
    assert listed.exit_code == 0, listed.output


def create_engine_for(path: Path) -> Engine:
    from mutualaid.db import make_engine

    return make_engine(f"sqlite:///{path}")
