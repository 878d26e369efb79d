"""On PostgreSQL each sharing run's charges are a partition of ``charges`` of their own: written
into a fresh table, keyed, checked to hold the run's rows only, and attached for the run's number.
Reading ``charges`` sees every run's rows; on SQLite ``charges`` is one table."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from mutualaid.db.partitions import attached_partitions, partition_name

POOL = "js-truckers"


@pytest.fixture
def shared(app, truckers_pool, make_driver):
    """Two runs: 5 members share one death, then 4 share another."""
    app.create_pool(truckers_pool())
    for n in range(1, 7):
        app.join(POOL, **make_driver(n))
    runs = []
    for member, died, period in ((1, "2026-10-20", "2026-11"), (2, "2026-11-20", "2026-12")):
        claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=died, filed_on=died)
        app.approve_claim(claim.id)
        runs.append(app.share(POOL, period))
    return app, runs


def test_each_run_writes_a_keyed_partition_of_its_own(shared):
    app, runs = shared
    with app.engine.connect() as conn:
        counted = conn.execute(
            text("SELECT run_id, count(*), sum(amount_minor) FROM charges GROUP BY run_id ORDER BY 1")
        )
        assert [tuple(r) for r in counted] == [(r.run_id, r.members, r.charged_minor) for r in runs]
        if app.engine.dialect.name == "sqlite":
            assert attached_partitions(conn) == []
            return
        names = [partition_name(r.run_id) for r in runs]
        assert attached_partitions(conn) == names
        for run, name in zip(runs, names, strict=True):
            bound = conn.execute(text(f"SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = '{name}'"))
            assert bound.scalar() == f"FOR VALUES IN ('{run.run_id}')"
            constraints = conn.execute(
                text(
                    f"SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '{name}'::regclass "
                    "ORDER BY conname"
                )
            )
            assert [tuple(c) for c in constraints] == [
                (f"ck_{name}_run", f"CHECK ((run_id = {run.run_id}))"),
                (f"pk_{name}", "PRIMARY KEY (run_id, member_id)"),
            ]
            rows = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar()
            assert rows == run.members


def test_a_partition_refuses_a_row_of_another_run(shared, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has no partitions")
    app, (first, second) = shared
    with app.engine.connect() as conn, pytest.raises(Exception, match="violates check constraint"):
        conn.execute(text(f"INSERT INTO {partition_name(first.run_id)} VALUES ({second.run_id}, 99, 1)"))
    with app.engine.connect() as conn:  # nor can a charge of a run without a partition be written
        with pytest.raises(Exception, match='no partition of relation "charges" found for row'):
            conn.execute(text("INSERT INTO charges VALUES (999, 1, 1)"))
    report = app.verify_ledger(POOL, full=True)
    assert report.ok, report.problems
