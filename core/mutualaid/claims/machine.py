"""The claim state machine: the only code that writes a claim's status.

Every transition is checked against :data:`TRANSITIONS` and recorded in the claim's history
(``claim_status_changes``: the status entered, when, and why)::

    filed ──approve──> approved ──share──> shared
      └────reject───> rejected

A claim is filed with :func:`file`; :func:`move` takes one claim to a new status (a decision);
:func:`share` marks the claims a sharing run funded. New states (a review, a public notice, an
objection, a jury) are a row of :data:`TRANSITIONS`, and their steps call :func:`move`.
Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from ..db.bulk import bulk_insert
from ..db.models import Claim, ClaimStatusChange
from ..errors import StateError
from ..vocabulary import ClaimStatus

__all__ = ["TRANSITIONS", "allowed", "file", "move", "require", "share"]

#: The statuses a claim may move to from each status.
TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.FILED: frozenset({ClaimStatus.APPROVED, ClaimStatus.REJECTED}),
    ClaimStatus.APPROVED: frozenset({ClaimStatus.SHARED}),
    ClaimStatus.REJECTED: frozenset(),
    ClaimStatus.SHARED: frozenset(),
}
_VERBS = {ClaimStatus.APPROVED: "approved", ClaimStatus.REJECTED: "rejected", ClaimStatus.SHARED: "shared"}
_COLUMNS = ("claim_id", "status", "changed_at", "cause")


def allowed(current: ClaimStatus | str, target: ClaimStatus | str) -> bool:
    return ClaimStatus(target) in TRANSITIONS[ClaimStatus(current)]


def _record(session: Session, rows: Sequence[tuple[int, ClaimStatus, datetime, str]]) -> None:
    bulk_insert(
        session.connection(),
        cast(Table, ClaimStatusChange.__table__),
        _COLUMNS,
        [(claim_id, status.value, at, cause) for claim_id, status, at, cause in rows],
    )


def file(session: Session, row: Claim, *, cause: str = "filed") -> Claim:
    """Store a new claim as ``filed`` and begin its history."""
    row.status = ClaimStatus.FILED.value
    session.add(row)
    session.flush()
    _record(session, [(row.id, ClaimStatus.FILED, datetime.now(UTC), cause)])
    return row


def require(row: Claim, target: ClaimStatus) -> None:
    """Refuse a move the claim's status does not lead to.

    :raises StateError: naming the claim's status and which claims can make the move (e.g.
        approving a rejected claim).
    """
    current = ClaimStatus(row.status)
    if not allowed(current, target):
        sources = [status.value for status, targets in TRANSITIONS.items() if target in targets]
        raise StateError(
            f"claim #{row.id} is already {current.value}; only a{'n' if sources[0][0] in 'aeiou' else ''} "
            f"{' or '.join(sources)} claim can be {_VERBS.get(target, target.value)}"
        )


def move(session: Session, row: Claim, target: ClaimStatus, *, cause: str, at: datetime | None = None) -> None:
    """Move one claim to ``target``, recording why (see :func:`require` for what is refused)."""
    require(row, target)
    row.status = target.value
    session.flush()
    _record(session, [(row.id, target, at or datetime.now(UTC), cause)])


def share(session: Session, funded: Sequence[tuple[int, int]], *, run_id: int, period: str) -> None:
    """Mark the approved claims a sharing run funded as ``shared``: ``funded`` is (claim, amount
    funded in minor units) pairs. A period funds few claims: one statement each."""
    at = datetime.now(UTC)
    for claim_id, amount in funded:
        updated = (
            session.connection()
            .execute(
                update(Claim)
                .where(Claim.id == claim_id, Claim.status == ClaimStatus.APPROVED.value)
                .values(status=ClaimStatus.SHARED.value, sharing_run_id=run_id, funded_minor=amount)
            )
            .rowcount
        )
        if updated != 1:  # pragma: no cover - the run locked the approved claims it funds
            raise StateError(f"claim #{claim_id} is no longer approved; the run was not recorded, run it again")
    cause = f"shared in period {period} (run #{run_id})"
    _record(session, [(claim_id, ClaimStatus.SHARED, at, cause) for claim_id, _ in funded])
