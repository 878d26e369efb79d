"""The claim state machine: the only code that writes a claim's status.

Every transition is checked against :data:`TRANSITIONS` and recorded in the claim's history
(``claim_status_changes``: the status entered, when, why, and who made the change)::

    direct governance (the operator decides):

    filed ──approve──> approved ──share──> shared
      └────reject───> rejected

    public governance (as the communities that lasted ran it):

    filed ─review─> under-review ─propose─> proposed ─publish─> in-notice ─decide─> approved ─> shared
                        ^    ^                 │                   │   └──decide──> rejected
                        │    └──────withdraw───┘                   │                    │
                        │                                      object                dispute
                        │                                          v                    │
                        └──────────────review again─────────── objected <───────────────┘
                                                                   │
                                                                 jury
                                                                   v
                                                                at-jury ──tally──> approved / rejected
                                                                   └──no quorum──> under-review

Corrections (:mod:`mutualaid.claims.corrections`, :mod:`mutualaid.sharing.void`) add the moves
of :data:`CORRECTIONS`: a claim amended after it was decided or proposed goes back to be decided
again (``filed`` in a direct pool, ``under-review`` in a public one, so that it goes through its
notice window again); a claim not yet shared can be ``withdrawn`` (final); the claims of a voided
sharing run are ``approved`` again, for the next run to fund.

A claim is filed with :func:`file`; :func:`move` takes one claim to a new status (a decision);
:func:`share` marks the claims a sharing run funded, :func:`unshare` releases them when it is voided. New states (a review, a public notice, an
objection, a jury) are a row of :data:`TRANSITIONS`, and their steps call :func:`move`.
Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from ..db.bulk import bulk_insert
from ..db.models import Claim, ClaimStatusChange
from ..errors import StateError
from ..vocabulary import ClaimStatus

__all__ = [
    "CORRECTIONS",
    "TRANSITIONS",
    "WITHDRAWABLE",
    "allowed",
    "file",
    "move",
    "require",
    "share",
    "unshare",
    "verb",
]

#: The statuses a claim may move to from each status.
TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.FILED: frozenset({ClaimStatus.UNDER_REVIEW, ClaimStatus.APPROVED, ClaimStatus.REJECTED}),
    ClaimStatus.UNDER_REVIEW: frozenset({ClaimStatus.PROPOSED}),
    ClaimStatus.PROPOSED: frozenset({ClaimStatus.IN_NOTICE, ClaimStatus.UNDER_REVIEW}),
    ClaimStatus.IN_NOTICE: frozenset({ClaimStatus.OBJECTED, ClaimStatus.APPROVED, ClaimStatus.REJECTED}),
    ClaimStatus.OBJECTED: frozenset({ClaimStatus.UNDER_REVIEW, ClaimStatus.AT_JURY}),
    ClaimStatus.AT_JURY: frozenset({ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.UNDER_REVIEW}),
    ClaimStatus.APPROVED: frozenset({ClaimStatus.SHARED}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.OBJECTED}),
    ClaimStatus.SHARED: frozenset(),
    ClaimStatus.WITHDRAWN: frozenset(),
}
#: The statuses a claim can be withdrawn from: any before it is shared, but not while a jury
#: decides it, nor once rejected (a rejection is disputed).
WITHDRAWABLE = (
    ClaimStatus.FILED,
    ClaimStatus.UNDER_REVIEW,
    ClaimStatus.PROPOSED,
    ClaimStatus.IN_NOTICE,
    ClaimStatus.OBJECTED,
    ClaimStatus.APPROVED,
)
#: The moves only corrections make: an amended claim sent back to be decided again, a withdrawal,
#: and a voided run's claims approved again.
CORRECTIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    **{status: frozenset({ClaimStatus.WITHDRAWN}) for status in WITHDRAWABLE},
    ClaimStatus.APPROVED: frozenset({ClaimStatus.WITHDRAWN, ClaimStatus.FILED, ClaimStatus.UNDER_REVIEW}),
    ClaimStatus.IN_NOTICE: frozenset({ClaimStatus.WITHDRAWN, ClaimStatus.UNDER_REVIEW}),
    ClaimStatus.SHARED: frozenset({ClaimStatus.APPROVED}),
}
for _status, _targets in CORRECTIONS.items():
    TRANSITIONS[_status] = TRANSITIONS[_status] | _targets
_VERBS = {
    ClaimStatus.UNDER_REVIEW: "reviewed",
    ClaimStatus.PROPOSED: "proposed",
    ClaimStatus.IN_NOTICE: "published",
    ClaimStatus.OBJECTED: "objected to",
    ClaimStatus.AT_JURY: "sent to a jury",
    ClaimStatus.APPROVED: "approved",
    ClaimStatus.REJECTED: "rejected",
    ClaimStatus.SHARED: "shared",
    ClaimStatus.WITHDRAWN: "withdrawn",
}
_COLUMNS = ("claim_id", "status", "changed_at", "cause", "actor")


def allowed(current: ClaimStatus | str, target: ClaimStatus | str) -> bool:
    return ClaimStatus(target) in TRANSITIONS[ClaimStatus(current)]


def verb(status: ClaimStatus) -> str:
    """What a move to ``status`` is called in messages: ``approved``, ``sent to a jury``..."""
    return _VERBS.get(status, status.value)


def _record(session: Session, rows: Sequence[tuple[int, ClaimStatus, datetime, str, str | None]]) -> None:
    bulk_insert(
        session.connection(),
        cast(Table, ClaimStatusChange.__table__),
        _COLUMNS,
        [(claim_id, status.value, at, cause, actor) for claim_id, status, at, cause, actor in rows],
    )


def file(session: Session, row: Claim, *, cause: str = "filed", actor: str | None = None) -> Claim:
    """Store a new claim as ``filed`` and begin its history."""
    row.status = ClaimStatus.FILED.value
    session.add(row)
    session.flush()
    _record(session, [(row.id, ClaimStatus.FILED, datetime.now(UTC), cause, actor)])
    return row


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def require(row: Claim, target: ClaimStatus, sources: Sequence[ClaimStatus] | None = None) -> None:
    """Refuse a move the claim's status does not lead to.

    :param sources: the statuses this step takes the claim from (default: every status that
        leads to ``target``); a pool's governance narrows them (a direct pool approves only filed
        claims, a public one only claims whose notice window closed or that a jury decided).
    :raises StateError: naming the claim's status, which claims can make the move, and what the
        claim can do instead (e.g. approving a rejected claim).
    """
    current = ClaimStatus(row.status)
    froms = list(sources) if sources is not None else [s for s, targets in TRANSITIONS.items() if target in targets]
    if current in froms and allowed(current, target):
        return
    names = [s.value for s in froms]
    nexts = sorted(TRANSITIONS[current] - CORRECTIONS.get(current, frozenset()), key=list(ClaimStatus).index)
    instead = (
        f"; {_article(current.value)} {current.value} claim can be {' or '.join(verb(s) for s in nexts)}"
        if nexts and current not in (ClaimStatus.FILED, ClaimStatus.APPROVED, ClaimStatus.REJECTED)
        else ""
    )
    raise StateError(
        f"claim #{row.id} is already {current.value}; only {_article(names[0])} {' or '.join(names)} claim can "
        f"be {verb(target)}{instead}"
    )


def move(
    session: Session,
    row: Claim,
    target: ClaimStatus,
    *,
    cause: str,
    at: datetime | None = None,
    actor: str | None = None,
    sources: Sequence[ClaimStatus] | None = None,
) -> None:
    """Move one claim to ``target``, recording why and who (see :func:`require` for what is
    refused and what ``sources`` narrows)."""
    require(row, target, sources)
    row.status = target.value
    session.flush()
    _record(session, [(row.id, target, at or datetime.now(UTC), cause, actor)])


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
    _record(session, [(claim_id, ClaimStatus.SHARED, at, cause, None) for claim_id, _ in funded])


def unshare(session: Session, run_id: int, *, cause: str, actor: str | None = None) -> list[int]:
    """Release the claims a voided sharing run funded: ``shared`` -> ``approved`` again, no longer
    the run's nor funded, for the next run to fund. Returns their numbers, in order."""
    rows = session.scalars(
        select(Claim).where(Claim.sharing_run_id == run_id, Claim.status == ClaimStatus.SHARED.value).order_by(Claim.id)
    ).all()
    at = datetime.now(UTC)
    for row in rows:
        row.status = ClaimStatus.APPROVED.value
        row.sharing_run_id = None
        row.funded_minor = None
    session.flush()
    _record(session, [(row.id, ClaimStatus.APPROVED, at, cause, actor) for row in rows])
    return [row.id for row in rows]
