"""A run's charge digest is SHA-256 over exactly the bytes its format names, however it is read.

``charge_figures`` reads charges a slice at a time (SQLite: text parsed by numpy; PostgreSQL: a
server-side cursor). These tests compute the digest from its definition, one charge at a time in
plain Python, and compare; with slices of 3 charges the boundaries fall inside the run. A charge
edited into a value that is not an integer (SQLite keeps what it is given) changes the digest.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from mutualaid import MutualAid
from mutualaid.ledger import digests
from mutualaid.ledger.digests import charge_figures

POOL = "js-truckers"


def _shared(app: MutualAid, truckers_pool, make_driver, drivers: int = 11) -> int:
    app.create_pool(truckers_pool())
    for n in range(1, drivers + 1):
        app.join(POOL, **make_driver(n))
    claim = app.file_claim(POOL, 1, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)
    return app.share(POOL, "2026-11").run_id


def _by_definition(app: MutualAid, run_id: int) -> tuple[int, int, str]:
    """Rows, total and digest, from the format's definition, charge by charge."""
    digest = hashlib.sha256(b"mutualaid:charges:v1\n" + run_id.to_bytes(8, "big", signed=True))
    with app.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT member_id, amount_minor FROM charges WHERE run_id = :r ORDER BY member_id"), {"r": run_id}
        ).all()
    for member_id, amount in rows:
        digest.update(int(member_id).to_bytes(8, "big", signed=True) + int(amount).to_bytes(8, "big", signed=True))
    return len(rows), sum(int(a) for _, a in rows), digest.hexdigest()


@pytest.mark.parametrize("slice_size", [1, 3, 10, 1 << 20])
def test_digest_is_the_formats_bytes_whatever_the_slices(
    app: MutualAid, truckers_pool, make_driver, monkeypatch: pytest.MonkeyPatch, slice_size: int
) -> None:
    run_id = _shared(app, truckers_pool, make_driver)
    monkeypatch.setattr(digests, "CHARGE_SLICE", slice_size)
    monkeypatch.setattr(digests, "BATCH", slice_size)
    with Session(app.engine) as session:
        figures = charge_figures(session, run_id)
    rows, total, digest = _by_definition(app, run_id)
    assert (figures.rows, figures.total, figures.digest) == (rows, total, digest)
    # Drivers #2-#11 share: #1 died.
    assert rows == 10
    with Session(app.engine) as session:
        run_digest = session.execute(text("SELECT charge_digest FROM sharing_runs WHERE id = :r"), {"r": run_id})
        assert run_digest.scalar_one() == digest


def test_digest_of_no_charges(app: MutualAid, truckers_pool, make_driver) -> None:
    run_id = _shared(app, truckers_pool, make_driver)
    with Session(app.engine) as session:
        assert charge_figures(session, run_id + 1000) == digests.ChargeFigures(
            0, 0, hashlib.sha256(b"mutualaid:charges:v1\n" + (run_id + 1000).to_bytes(8, "big")).hexdigest()
        )


def test_a_charge_edited_to_text_changes_the_digest(
    sqlite_url: str, plugins, truckers_pool, make_driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite only: PostgreSQL refuses a text value in a bigint column."""
    app = MutualAid(sqlite_url, plugins=plugins)
    run_id = _shared(app, truckers_pool, make_driver)
    monkeypatch.setattr(digests, "CHARGE_SLICE", 4)
    with Session(app.engine) as session:
        before = charge_figures(session, run_id)
    with app.engine.begin() as conn:
        conn.execute(
            text("UPDATE charges SET amount_minor = 'lots' WHERE run_id = :r AND member_id = 5"), {"r": run_id}
        )
    with Session(app.engine) as session:
        after = charge_figures(session, run_id)
    assert after.rows == before.rows == 10
    assert after.digest != before.digest
    # The edited charge no longer counts in the total; the other nine do.
    assert before.total - after.total == before.total // 10
    app.close()
