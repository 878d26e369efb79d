"""What top-ups ask the database: by reference and by entry, never every top-up of the pool.

A reference is recorded once, so each new top-up's reference is looked up among the pool's; and
``ledger verify`` reads each top-up entry's rows for its digest and counts the pool's top-ups that
no entry posted. Before migration 0013 each of those read the whole ``top_ups`` table (or every
top-up of the pool): a second file of 300,000 top-ups into a pool of a million members took three
times as long as the first. Every statement that reads ``top_ups`` while top-ups are recorded,
imported, reversed, shown and verified is searched by an index here (SQLite's plans; PostgreSQL's
with sequential scans off, as its tables are tiny).
"""

from __future__ import annotations

from sqlalchemy import Index, MetaData, Table
from support import statements_run

from mutualaid.ledger.digests import STORED_TOP_UPS
from mutualaid.payments.prepaid import _staged_columns

POOL = "js-truckers"


def _reads_top_ups(statement: str) -> bool:
    upper = " ".join(statement.upper().split())
    return upper.startswith("SELECT") and any(f"{word} TOP_UPS" in upper for word in ("FROM", "JOIN"))


def test_top_ups_are_searched_by_reference_and_by_entry(app, truckers_pool, make_driver, tmp_path):
    app.create_pool(truckers_pool(payments={"model": "prepaid"}))
    for n in range(1, 5):
        app.join(POOL, **make_driver(n))
    app.top_up(POOL, 1, "20", "2026-11-01", "R-OLD")
    path = tmp_path / "top-ups.csv"
    path.write_text("member_id,amount,date,reference\n2,10,2026-11-02,R-1\n3,10,2026-11-02,R-2\n", encoding="utf-8")

    def commands() -> None:
        top_up = app.top_up(POOL, 4, "5", "2026-11-03", "R-3")
        app.import_top_ups(POOL, path)
        app.reverse_top_up(POOL, top_up.id, reason="entered twice")
        app.balance(POOL, 4)
        assert app.verify_ledger(POOL, full=True).ok

    _, statements = statements_run(app.engine, commands, _reads_top_ups)
    # ledger verify reads each entry's top-ups for their digest through the driver's own cursor
    with app.engine.connect() as conn:
        entry_id = conn.exec_driver_sql("SELECT max(entry_id) FROM top_ups").scalar_one()
    statements.append((STORED_TOP_UPS, (1, entry_id)))
    searched = {
        "by reference": [s for s, _ in statements if "top_ups.reference IN" in s],
        # the import's rows, each probing the pool's references
        "staged by reference": [s for s, _ in statements if "top_ups.reference = mutualaid_top_up_rows.reference" in s],
        "by entry": [s for s, _ in statements if "top_ups.entry_id = " in s],
        "not posted": [s for s, _ in statements if "NOT IN" in s.upper() and "ENTRY_ID" in s.upper()],
    }
    assert all(searched.values()), searched
    with app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":  # no statistics: tiny tables' would rightly choose a scan
            conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat1")
    app.engine.dispose()  # connections that loaded the statistics are not reused
    with app.engine.begin() as conn:
        _staging_table(conn)
        if conn.dialect.name == "postgresql":  # tiny tables: with scans off, an index must serve each
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            for statement, parameters in statements:
                statement = statement.replace("?", "%s")
                plan = " | ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
                assert "Seq Scan on top_ups" not in plan and " on top_ups" in plan, (statement, plan)
            return
        plans = {
            statement: " | ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            for statement, parameters in statements
        }
    for statement, plan in plans.items():
        assert "SCAN top_ups" not in plan, (statement, plan)
        assert "SEARCH top_ups USING" in plan, (statement, plan)
    for statement in [*searched["by reference"], *searched["staged by reference"]]:
        assert "ix_top_ups_pool_id_reference (pool_id=? AND reference=?)" in plans[statement], plans[statement]
    for statement in [*searched["by entry"], STORED_TOP_UPS]:
        assert "ix_top_ups_pool_id_entry_id (pool_id=? AND entry_id=?)" in plans[statement], plans[statement]
    for statement in searched["not posted"]:  # the index alone, not the table
        assert "USING COVERING INDEX ix_top_ups_pool_id_entry_id (pool_id=?)" in plans[statement], plans[statement]


def _staging_table(conn) -> None:
    """The import's staging table as it stands while its rows are checked (temporary, with its two
    indexes), for the statements that read it to be explained once the import has dropped it."""
    table = Table("mutualaid_top_up_rows", MetaData(), *_staged_columns(), prefixes=["TEMPORARY"])
    table.create(conn)
    Index("ix_mutualaid_top_up_rows_reference", table.c.reference, table.c.line).create(conn)
    Index("ix_mutualaid_top_up_rows_member", table.c.member_id, table.c.line).create(conn)
