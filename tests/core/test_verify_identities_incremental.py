"""``ledger verify`` checks the identities of the members added or corrected since its last
verification; ``--full`` (and a pool's first verification) every member's.

Drivers #1-#8 join and the pool is verified. Then #9 and #10 join and #3's name is corrected: the
next verification checks those three. A name edited in the database on an old member (#2) is
beyond an incremental check and found by ``--full``; one edited on a member added since (#11) is
found by the incremental check. Edits are plain SQL, as the database's owner could make them.
"""

from __future__ import annotations

import os

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mutualaid import MutualAid
from mutualaid.db.models import LedgerVerification

POOL = "js-truckers"
SINCE = "members added or corrected since the last verification match their seals (--full checks every member's)"


def _pool(app: MutualAid, truckers_pool, make_driver, drivers: int = 8) -> None:
    app.create_pool(truckers_pool())
    for n in range(1, drivers + 1):
        app.join(POOL, **make_driver(n))


def _marks(app: MutualAid) -> list[tuple[int | None, int | None]]:
    """How far each verification checked identities (the pool has no ledger entries, so each
    verification of its books is a full one: only its identities are checked incrementally)."""
    with Session(app.engine) as session:
        rows = session.scalars(select(LedgerVerification).order_by(LedgerVerification.id)).all()
        return [(r.members_through, r.corrections_through) for r in rows]


def _identity_note(report) -> str:
    (note,) = [n for n in report.notes if "identit" in n or "seals" in n]
    return note


def _rename(app: MutualAid, member: int, name: str) -> None:
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE members SET name = :name WHERE id = :id"), {"name": name, "id": member})


def test_only_members_added_or_corrected_since_are_checked(app, truckers_pool, make_driver):
    _pool(app, truckers_pool, make_driver)
    first = app.verify_ledger(POOL)
    assert first.ok
    assert _identity_note(first) == "8 of 8 members' identities match their seals"
    assert _marks(app) == [(8, 0)]

    app.join(POOL, **make_driver(9))
    app.join(POOL, **make_driver(10))
    app.correct_member(POOL, 3, name="王三改", reason="typo on the form", by="operator")
    second = app.verify_ledger(POOL)
    assert second.ok, second.problems
    assert _identity_note(second) == f"3 of the 3 {SINCE}"
    assert _marks(app)[-1] == (10, 1)

    nothing = app.verify_ledger(POOL)
    assert _identity_note(nothing) == f"0 of the 0 {SINCE}"

    full = app.verify_ledger(POOL, full=True)
    assert _identity_note(full) == "10 of 10 members' identities match their seals"
    assert _marks(app)[-1] == (10, 1)


def test_an_old_member_edited_is_found_by_a_full_check_a_new_one_by_any(app, truckers_pool, make_driver):
    _pool(app, truckers_pool, make_driver)
    assert app.verify_ledger(POOL).ok
    _rename(app, 2, "冒名")
    # Member #2 was checked at the last verification and not corrected since: not rechecked.
    assert app.verify_ledger(POOL).ok
    full = app.verify_ledger(POOL, full=True)
    assert [str(p) for p in full.problems] == [
        "member #2 (冒名): the name, ID number, birth date or joining day is not the one sealed; it was changed in the "
        "database"
    ]
    checkpoints = _marks(app)
    # A member added since and edited is found by the incremental check, which records no checkpoint.
    app.join(POOL, **make_driver(11))
    _rename(app, 9, "冒名顶替")
    incremental = app.verify_ledger(POOL)
    assert [str(p) for p in incremental.problems] == [
        "member #9 (冒名顶替): the name, ID number, birth date or joining day is not the one sealed; it was changed in "
        "the database"
    ]
    assert _marks(app) == checkpoints


def test_a_verification_without_the_key_leaves_every_identity_to_the_next(
    app, truckers_pool, make_driver, monkeypatch, tmp_path
):
    _pool(app, truckers_pool, make_driver)
    key_file = os.environ["MUTUALAID_KEY_FILE"]
    monkeypatch.setenv("MUTUALAID_KEY_FILE", str(tmp_path / "elsewhere.key"))
    blind = app.verify_ledger(POOL)
    assert blind.ok
    assert _identity_note(blind).startswith("members' identities were not checked: ")
    assert _marks(app) == [(None, None)]
    monkeypatch.setenv("MUTUALAID_KEY_FILE", key_file)
    app.join(POOL, **make_driver(9))
    # The last verification checked no identity: every member's is checked now.
    seen = app.verify_ledger(POOL)
    assert seen.ok
    assert _identity_note(seen) == "9 of 9 members' identities match their seals"
    assert _marks(app)[-1] == (9, 0)
