"""The starting states of the bad-input corpus (``tests/badinput/``), built once per session.

Each state is built through the Python API on a migrated database; a case then runs on a copy of
the SQLite file (or, for the few cases also run on PostgreSQL, on the state rebuilt there), so
no case pays for building a pool. The states and what a case may rely on:

``empty``
    The schema, no pools.
``truckers``
    Pool ``js-truckers`` (truckers, CNY, postpaid, monthly: notice day the 7th, deduction the
    14th, fee 8%, round-up): drivers 1 to 6 joined on 2026-10-01 (member 1 born 1980-01-01 with
    the ID number :data:`ID1`); claim #1 (member 1's accidental death on 2026-10-20) approved and
    shared in period 2026-11 (notice day 2026-11-07; member 1 is deceased), the five others
    charged 64,800.00; payment batch #1 reports members 2 and 3 paid on 2026-11-14; claim #2
    (member 2's grade-5 disability on 2026-11-20) filed, not decided; member 6 exited on
    2026-11-30.
``prepaid``
    Pool ``pp-truckers``, the same but prepaid: drivers 1 to 3 joined on 2026-10-01, each topped
    up 100.00 on 2026-10-02 (references TU-1 to TU-3).
``public``
    Pool ``pub-truckers``, the same but claims governed in public (review, public notice of 3
    days, objections to a jury of 3 drawn from members of 0 days' tenure): drivers 1 to 5 joined
    on 2026-10-01; claim #1 (member 1's accidental death on 2026-10-20) investigated, proposed to
    be paid and published on the suite's today (2027-12-31, in notice until 2028-01-03); claim #2
    (member 2's grade-5 disability on 2026-11-20) the same, then objected to by member 3 (no jury
    drawn yet).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from mutualaid import MutualAid
from mutualaid.testing import resident_id

__all__ = ["BUILDERS", "ID1", "build", "driver"]

BORN = date(1980, 1, 1)
JOINED = date(2026, 10, 1)
#: Member 1's ID number in every state (born 1980-01-01, sequence 1).
ID1 = resident_id(BORN, 1)


def _pool(key: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": key,
        "name": "江苏卡友互助",
        "cohort": "truckers",
        "currency": "CNY",
        "timezone": "Asia/Shanghai",
        "operator": "江苏卡友之家",
        "sharing": {"calendar": "monthly", "management_fee_rate": "0.08", "rounding": "round-up"},
    }
    data.update(overrides)
    return data


def driver(n: int, **extra: Any) -> dict[str, Any]:
    """Keyword arguments of :meth:`MutualAid.join` for eligible driver ``n``, born 1980-01-01, joined 2026-10-01."""
    attributes = {
        "licence_class": "A2",
        "licence_number": f"LIC{n:06d}",
        "licence_expires": "2031-12-31",
        "driving_proof": f"ETC-{n:06d}",
    }
    return {
        "id_number": resident_id(BORN, n),
        "name": f"司机{n}",
        "birth_date": BORN,
        "joined_on": JOINED,
        "attributes": attributes,
        **extra,
    }


def _truckers(app: MutualAid, workdir: Path) -> None:
    pool = "js-truckers"
    app.create_pool(_pool(pool))
    for n in range(1, 7):
        app.join(pool, **driver(n, email=f"driver{n}@example.org"))
    claim = app.file_claim(pool, 1, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)
    app.share(pool, "2026-11")
    results = workdir / "payments-2026-11.csv"
    results.write_text("member_id,period,result,date\n2,2026-11,paid,2026-11-14\n3,2026-11,paid,2026-11-14\n")
    app.import_payments(pool, results)
    app.file_claim(
        pool,
        2,
        event_kind="accidental_disability",
        event_date="2026-11-20",
        filed_on="2026-11-25",
        details={"disability_grade": 5},
    )
    app.exit_member(pool, 6, on="2026-11-30")


def _prepaid(app: MutualAid, workdir: Path) -> None:
    pool = "pp-truckers"
    app.create_pool(_pool(pool, payments={"model": "prepaid"}))
    for n in range(1, 4):
        app.join(pool, **driver(n))
        app.top_up(pool, n, "100", on="2026-10-02", reference=f"TU-{n}")


def _public(app: MutualAid, workdir: Path) -> None:
    pool = "pub-truckers"
    claims = {"governance": "public", "objections": "jury", "jury": {"size": 3, "min_tenure_days": 0}}
    app.create_pool(_pool(pool, claims=claims))
    for n in range(1, 6):
        app.join(pool, **driver(n))
    death = app.file_claim(pool, 1, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    disability = app.file_claim(
        pool,
        2,
        event_kind="accidental_disability",
        event_date="2026-11-20",
        filed_on="2026-11-25",
        details={"disability_grade": 5},
    )
    for claim in (death, disability):
        app.investigate_claim(claim.id, by="审核员")
        app.propose_claim(claim.id, approve=True, by="审核员")
        app.publish_claim(claim.id, by="审核员")
    app.object_to_claim(disability.id, member=3, reason="事故发生时不在车上")


BUILDERS: dict[str, Callable[[MutualAid, Path], None]] = {
    "empty": lambda app, workdir: None,
    "truckers": _truckers,
    "prepaid": _prepaid,
    "public": _public,
}


def build(name: str, app: MutualAid, workdir: Path) -> None:
    """Build the state ``name`` on ``app``'s (migrated, empty) database; ``workdir`` takes its files."""
    BUILDERS[name](app, workdir)
