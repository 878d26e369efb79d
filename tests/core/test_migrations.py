"""Alembic migrations: an empty database upgraded to head has exactly the models' schema, on
SQLite and PostgreSQL; upgrades are idempotent, reversible, and refuse a schema they do not know."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

import mutualaid
from mutualaid import DatabaseError
from mutualaid.db import current_revision, head_revision, scratch_database, upgrade
from mutualaid.db.engine import database_name
from mutualaid.db.models import Base
from mutualaid.db.partitions import PARTITION_PREFIX, attached_partitions, not_a_partition

PG_ENV = "MUTUALAID_TEST_POSTGRES_URL"
TABLES = {
    "pools",
    "members",
    "claims",
    "sharing_runs",
    "charges",
    "ledger_entries",
    "ledger_lines",
    "member_status_changes",
    "notice_deliveries",
    "claim_notes",
    "claim_costs",
    "claim_objections",
    "juries",
    "jurors",
    "jury_qualifications",
    "balances",
    "top_ups",
    "payment_batches",
    "payments",
    "claim_status_changes",
    "claim_amendments",
    "sharing_run_voids",
    "top_up_reversals",
    "identity_keys",
    "member_identity_corrections",
    "ledger_verifications",
}


def _differences(engine: Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True, "include_name": not_a_partition}
        )
        return compare_metadata(context, Base.metadata)


def _alembic(conn) -> Config:
    """An Alembic configuration for mutualaid's migrations, running on ``conn``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(mutualaid.__file__).parent / "db" / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_of_an_empty_database_gives_exactly_the_models_schema(empty_engine):
    assert current_revision(empty_engine) is None
    assert _tables(empty_engine) == set()
    assert upgrade(empty_engine) is True
    assert current_revision(empty_engine) == head_revision() == "0018"
    assert _tables(empty_engine) == TABLES == set(Base.metadata.tables)
    assert _differences(empty_engine) == []


def test_the_head_written_out_is_alembics():
    # db.schema.HEAD spares every command Alembic when the database is already at the head.
    from mutualaid.db.schema import HEAD

    assert HEAD == head_revision()


def test_the_comparison_would_notice_a_difference(empty_engine):
    # Guard against a vacuous comparison: a schema that differs from the models is reported.
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_members_ended_person"))
    differences = _differences(empty_engine)
    assert [(d[0], d[1].name) for d in differences] == [("add_index", "ix_members_ended_person")]


def test_the_live_membership_index_is_partial_and_unique(empty_engine):
    upgrade(empty_engine)
    (index,) = [i for i in inspect(empty_engine).get_indexes("members") if i["name"] == "uq_members_live_person"]
    assert index["unique"]
    assert index["column_names"] == ["pool_id", "id_hash"]  # the keyed hash of the ID number (revision 0007)
    where = str(index["dialect_options"][f"{empty_engine.dialect.name}_where"])
    assert "status" in where and "'active'" in where and "'frozen'" in where


def test_upgrade_is_idempotent(empty_engine):
    assert upgrade(empty_engine) is True
    assert upgrade(empty_engine) is False
    assert upgrade(empty_engine) is False
    assert current_revision(empty_engine) == "0018"
    assert _differences(empty_engine) == []


def test_upgrade_keeps_the_data(empty_engine, plugins, truckers_pool, make_driver):
    upgrade(empty_engine)
    app = mutualaid.MutualAid(empty_engine.url.render_as_string(hide_password=False), plugins=plugins)
    try:
        app.create_pool(truckers_pool())
        app.join("js-truckers", **make_driver(1))
    finally:
        app.close()
    assert upgrade(empty_engine) is False
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT key FROM pools")).scalars().all() == ["js-truckers"]
        assert conn.execute(text("SELECT count(*) FROM members")).scalar() == 1


def test_a_database_at_an_unknown_revision_is_refused(empty_engine):
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'abc123future'"))
    with pytest.raises(DatabaseError) as info:
        upgrade(empty_engine)
    message = str(info.value)
    assert message.endswith(
        " is at schema revision 'abc123future', which this version of mutualaid does not know; upgrade mutualaid"
    )
    assert message.startswith(f"the database {database_name(empty_engine)} ")
    with empty_engine.connect() as conn:  # nothing was changed
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "abc123future"


def test_downgrade_to_base_then_upgrade_again(empty_engine):
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        command.downgrade(_alembic(conn), "base")
    assert current_revision(empty_engine) is None
    assert _tables(empty_engine) == set()
    assert upgrade(empty_engine) is True
    assert current_revision(empty_engine) == "0018"
    assert _differences(empty_engine) == []


def test_upgrade_to_an_explicit_revision(empty_engine):
    assert upgrade(empty_engine, "0001") is True
    assert current_revision(empty_engine) == "0001"
    assert upgrade(empty_engine, "0001") is False
    assert upgrade(empty_engine) is True
    assert current_revision(empty_engine) == "0018"


def test_0002_backfills_runs_shared_before_it(empty_engine):
    # A pool shared under revision 0001 (written with that revision's columns), then upgraded.
    upgrade(empty_engine, "0001")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO pools (id, key, name, cohort, currency, config_json, created_at) "
                "VALUES (1, 'old', 'Old pool', 'truckers', 'CNY', '{}', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO sharing_runs (id, pool_id, period, notice_date, deduction_date, rounding, fee_rate, "
                "members_count, claims_count, aid_minor, fee_minor, surplus_in_minor, surplus_out_minor, need_minor, "
                "share_minor, extra_count, charged_minor, created_at) VALUES (1, 1, '2026-01', '2026-01-07', "
                "'2026-01-14', 'exact', '0.08', 3, 1, 1000, 80, 0, 0, 1080, 360, 0, 1080, '2026-01-07 00:00:00')"
            )
        )
        conn.execute(text("INSERT INTO charges VALUES (1, 10, 360), (1, 11, 360), (1, 1000, 360)"))
    assert upgrade(empty_engine) is True
    with empty_engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT aid_funded_minor, charge_rows, max_charge_minor, charge_checksum, fee_policy, payment_model "
                "FROM sharing_runs"
            )
        ).one()
    assert tuple(row) == (1000, 3, 360, 360 * (10 + 11 + 1000 % 997), "rate", "postpaid")


def _share(app: mutualaid.MutualAid, member: int, died: str, period: str) -> None:
    claim = app.file_claim("js-truckers", member, event_kind="accidental_death", event_date=died, filed_on=died)
    app.approve_claim(claim.id)
    app.share("js-truckers", period)


#: The deaths shared one period after another: (member, day of death, period).
_DEATHS = [(1, "2026-10-20", "2026-11"), (2, "2026-11-20", "2026-12"), (3, "2026-12-20", "2027-01")]


def _shared_at_head(engine: Engine, plugins: Any, pool: Any, drivers: list[dict[str, Any]], periods: int) -> str:
    """Upgrade to the head, make the truckers pool with ``drivers``, share the first ``periods`` of
    :data:`_DEATHS`; the database's URL."""
    upgrade(engine)
    url = engine.url.render_as_string(hide_password=False)
    app = mutualaid.MutualAid(url, plugins=plugins)
    try:
        app.create_pool(pool)
        for driver in drivers:
            app.join("js-truckers", **driver)
        for member, died, period in _DEATHS[:periods]:
            _share(app, member, died, period)
    finally:
        app.close()
    return url


def _charges(engine: Engine) -> tuple[list[tuple[int, int, int]], str | None]:
    """Every charge, and on SQLite the table's DDL."""
    with engine.connect() as conn:
        rows = [
            tuple(r) for r in conn.execute(text("SELECT run_id, member_id, amount_minor FROM charges ORDER BY 1, 2"))
        ]
        ddl = None
        if engine.dialect.name == "sqlite":
            ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'charges'")).scalar_one()
    return rows, ddl


def test_0010_keeps_every_charge_and_clusters_them_by_key_on_sqlite(empty_engine, plugins, truckers_pool, make_driver):
    # A pool shared at the head; down to 0009 and up again: the same charges each way, a ledger
    # that still verifies; on SQLite the charges live in their key's B-tree alone at 0010.
    url = _shared_at_head(empty_engine, plugins, truckers_pool(), [make_driver(n) for n in range(1, 6)], 1)
    shared, clustered = _charges(empty_engine)
    assert len(shared) == 4
    with empty_engine.begin() as conn:
        command.downgrade(_alembic(conn), "0009")
    assert current_revision(empty_engine) == "0009"
    rows, ddl = _charges(empty_engine)
    assert rows == shared
    if empty_engine.dialect.name == "sqlite":
        assert clustered is not None and clustered.endswith("WITHOUT ROWID")
        assert ddl is not None and "WITHOUT ROWID" not in ddl
    assert upgrade(empty_engine) is True
    rows, ddl = _charges(empty_engine)
    assert (rows, ddl) == (shared, clustered)
    if empty_engine.dialect.name == "sqlite":
        with empty_engine.connect() as conn:  # no index beside the table: the table is the key's B-tree
            indexes = conn.execute(
                text("SELECT count(*) FROM sqlite_master WHERE tbl_name = 'charges' AND type = 'index'")
            )
            assert indexes.scalar() == 0
    assert _differences(empty_engine) == []
    app = mutualaid.MutualAid(url, plugins=plugins)
    try:
        report = app.verify_ledger("js-truckers", full=True)
        assert report.ok, report.problems
    finally:
        app.close()


def test_a_scratch_database_needs_postgresql(tmp_path):
    with pytest.raises(ValueError, match=r"a scratch database needs a PostgreSQL URL, not 'sqlite:///"):
        with scratch_database(f"sqlite:///{tmp_path / 'x.db'}"):
            pass


def _partitions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return attached_partitions(conn)


def test_0011_gives_each_runs_charges_a_partition_on_postgresql(empty_engine, plugins, truckers_pool, make_driver):
    # Two runs at the head; down to 0010 (one ordinary table on PostgreSQL) and up again (a partition
    # per run, the same rows); a run after the upgrade writes a partition of its own. SQLite is the
    # same table throughout.
    url = _shared_at_head(empty_engine, plugins, truckers_pool(), [make_driver(n) for n in range(1, 8)], 2)
    postgresql = empty_engine.dialect.name == "postgresql"
    shared, ddl = _charges(empty_engine)
    assert [r[0] for r in shared] == [1] * 6 + [2] * 5
    assert _partitions(empty_engine) == (["charges_run_1", "charges_run_2"] if postgresql else [])
    with empty_engine.begin() as conn:
        command.downgrade(_alembic(conn), "0010")
        kind = (
            conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'charges'")).scalar()
            if postgresql
            else None
        )
    assert kind in (None, "r")  # an ordinary table again
    assert _partitions(empty_engine) == []
    assert _charges(empty_engine) == (shared, ddl)
    if postgresql:
        with empty_engine.connect() as conn:  # no table of a run's charges is left behind
            left = conn.execute(text(f"SELECT count(*) FROM pg_class WHERE relname LIKE '{PARTITION_PREFIX}%'"))
            assert left.scalar() == 0
    assert upgrade(empty_engine) is True
    assert _charges(empty_engine) == (shared, ddl)
    assert _partitions(empty_engine) == (["charges_run_1", "charges_run_2"] if postgresql else [])
    assert _differences(empty_engine) == []
    app = mutualaid.MutualAid(url, plugins=plugins)
    try:
        report = app.verify_ledger("js-truckers", full=True)
        assert report.ok, report.problems
        _share(app, *_DEATHS[2])
        assert app.reconcile("js-truckers", "2027-01").ok
    finally:
        app.close()
    rows, _ = _charges(empty_engine)
    assert rows[: len(shared)] == shared and [r[0] for r in rows[len(shared) :]] == [3] * 4
    assert _partitions(empty_engine) == (["charges_run_1", "charges_run_2", "charges_run_3"] if postgresql else [])


def _hash_indexes(engine: Engine) -> dict[str, tuple[list[str], str | None]]:
    """The members table's indexes of the keyed hash: their columns and partial condition."""
    found = {}
    for index in inspect(engine).get_indexes("members"):
        if "id_hash" in index["column_names"]:
            where = index.get("dialect_options", {}).get(f"{engine.dialect.name}_where")
            found[index["name"]] = (index["column_names"], None if where is None else str(where))
    return found


def test_0012_indexes_the_hashes_of_the_live_and_the_ended_apart(empty_engine, plugins, truckers_pool, make_driver):
    # At the head a member joining writes one index of the hash: the live people's, or (once ended)
    # the ended people's; down at 0011 every member was in ix_members_pool_id_id_hash as well.
    drivers = [make_driver(n) for n in range(1, 5)]
    url = _shared_at_head(empty_engine, plugins, truckers_pool(), drivers, 1)  # member 1 died
    app = mutualaid.MutualAid(url, plugins=plugins)
    try:
        app.exit_member("js-truckers", 2, on="2026-10-20")
    finally:
        app.close()
    at_head = _hash_indexes(empty_engine)
    assert sorted(at_head) == ["ix_members_ended_person", "uq_members_live_person"]
    columns, where = at_head["ix_members_ended_person"]
    assert columns == ["pool_id", "id_hash"]
    assert where is not None and "'active'" in where and "'frozen'" in where
    assert ("NOT IN" if empty_engine.dialect.name == "sqlite" else "<> ALL") in where.upper()
    with empty_engine.begin() as conn:
        command.downgrade(_alembic(conn), "0011")
    assert sorted(_hash_indexes(empty_engine)) == ["ix_members_pool_id_id_hash", "uq_members_live_person"]
    assert upgrade(empty_engine) is True
    assert _hash_indexes(empty_engine) == at_head
    assert _differences(empty_engine) == []
    app = mutualaid.MutualAid(url, plugins=plugins)
    try:  # each person is found by ID number in any status, through the rebuilt index
        found = [app.member("js-truckers", driver["id_number"]) for driver in drivers]
        assert [(m.id, m.status) for m in found] == [(1, "deceased"), (2, "exited"), (3, "active"), (4, "active")]
    finally:
        app.close()


def _top_up_indexes(engine: Engine) -> dict[str, list[str]]:
    return {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("top_ups")}


def test_0013_indexes_a_pools_top_ups_by_reference_and_by_entry(empty_engine, plugins, truckers_pool, make_driver):
    # A prepaid pool with top-ups at the head; down to 0012 (the pool's top-ups indexed by pool
    # alone) and up again: the same indexes, a ledger that verifies, a reference still refused.
    url = _shared_at_head(empty_engine, plugins, truckers_pool(payments={"model": "prepaid"}), [], 0)
    app = mutualaid.MutualAid(url, plugins=plugins)
    try:
        for n in range(1, 4):
            app.join("js-truckers", **make_driver(n))
            app.top_up("js-truckers", n, "20", "2026-11-01", f"R-{n}")
    finally:
        app.close()
    at_head = _top_up_indexes(empty_engine)
    assert at_head == {
        "ix_top_ups_member_id": ["member_id"],
        "ix_top_ups_pool_id_entry_id": ["pool_id", "entry_id"],
        "ix_top_ups_pool_id_reference": ["pool_id", "reference"],
    }
    with empty_engine.begin() as conn:
        command.downgrade(_alembic(conn), "0012")
    assert _top_up_indexes(empty_engine) == {"ix_top_ups_member_id": ["member_id"], "ix_top_ups_pool_id": ["pool_id"]}
    assert upgrade(empty_engine) is True
    assert _top_up_indexes(empty_engine) == at_head
    assert _differences(empty_engine) == []
    app = mutualaid.MutualAid(url, plugins=plugins)
    try:
        assert app.verify_ledger("js-truckers", full=True).ok
        with pytest.raises(mutualaid.ValidationError) as refused:
            app.top_up("js-truckers", 3, "5", "2026-11-02", "R-2")
        assert refused.value.problems == [
            "reference: 'R-2' was already recorded (top-up #2 of member #2 on 2026-11-01); a top-up is recorded once"
        ]
        assert app.balance("js-truckers", 3).balance_minor == 2000
    finally:
        app.close()


def _balances_options(engine: Engine) -> list[str] | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'balances'")).scalar_one()


def test_0014_fills_the_balances_pages_to_half_on_postgresql(empty_engine, plugins, truckers_pool, make_driver):
    # A prepaid pool whose run deducts every balance, at the head, down to 0013 and up again: the
    # same balances each way; on PostgreSQL the pages filled to half at the head only.
    pool = truckers_pool(payments={"model": "prepaid"}, settings={"accidental_death_benefit": 300})
    url = _shared_at_head(empty_engine, plugins, pool, [], 0)
    app = mutualaid.MutualAid(url, plugins=plugins)
    try:
        for n in range(1, 4):
            app.join("js-truckers", **make_driver(n))
            app.top_up("js-truckers", n, "200", "2026-10-05", f"R-{n}")
        _share(app, *_DEATHS[0])
    finally:
        app.close()
    postgresql = empty_engine.dialect.name == "postgresql"

    def balances() -> list[tuple[int, int]]:
        with empty_engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT member_id, balance_minor FROM balances ORDER BY 1"))]

    deducted = balances()
    assert deducted == [(1, 20000), (2, 3800), (3, 3800)]  # 324.00 over #2 and #3: 162.00 each
    if postgresql:
        assert _balances_options(empty_engine) == ["fillfactor=50"]
    with empty_engine.begin() as conn:
        command.downgrade(_alembic(conn), "0013")
    if postgresql:
        assert _balances_options(empty_engine) is None
    assert upgrade(empty_engine) is True
    assert balances() == deducted
    if postgresql:
        assert _balances_options(empty_engine) == ["fillfactor=50"]
    assert _differences(empty_engine) == []
