"""a balance row of 0 for every member of a prepaid pool who has none

A member of a prepaid pool held a balance row from their first top-up; until then they held 0 by
the row's absence. To know who is below the low-balance level, every member was then looked up
in ``balances``: on a pool of 20M members where nobody was low, ``balance low`` took 14 s, and
every prepaid run counted its low balances the same way. From this revision a member of a prepaid
pool holds a row from the day they join (0), so the low balances are read from ``balances``
alone; this revision writes the rows of the members who joined before it (one ``INSERT ...
SELECT``; a pool's payment model is read from its stored configuration, as the API wrote it).

The downgrade deletes the rows of 0 of the members who never topped up: the revisions before
wrote none (a balance row came from a top-up), and read no row as a balance of 0.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 21:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

#: A pool's payment model in its stored configuration, per dialect.
_MODEL = {
    "sqlite": "json_extract(p.config_json, '$.payments.model')",
    "postgresql": "(CAST(p.config_json AS json) -> 'payments' ->> 'model')",
}


def upgrade() -> None:
    model = _MODEL[op.get_context().dialect.name]
    op.execute(
        "INSERT INTO balances (member_id, pool_id, balance_minor) "
        "SELECT m.id, m.pool_id, 0 FROM members m JOIN pools p ON p.id = m.pool_id "
        f"WHERE {model} = 'prepaid' AND NOT EXISTS (SELECT 1 FROM balances b WHERE b.member_id = m.id)"
    )


def downgrade() -> None:
    op.execute(
        "DELETE FROM balances WHERE balance_minor = 0 "
        "AND NOT EXISTS (SELECT 1 FROM top_ups t WHERE t.member_id = balances.member_id)"
    )
