"""Claims: filing, deciding (by the pool's own cohort), and the claim state machine.

``service`` (file, review, approve, reject, list, history), ``deciding`` (the facts handed to the
cohort and its answer checked), ``machine`` (the only writer of a claim's status: transitions and
history) and ``records`` (what the API returns).
"""

from __future__ import annotations

from .deciding import contributions, decide
from .records import ClaimHistoryEntry, ClaimRecord, Rejection
from .service import (
    approve_claim,
    claim_history,
    file_claim,
    get_claim,
    list_claims,
    reject_claim,
    review_claim,
)

__all__ = [
    "ClaimHistoryEntry",
    "ClaimRecord",
    "Rejection",
    "approve_claim",
    "claim_history",
    "contributions",
    "decide",
    "file_claim",
    "get_claim",
    "list_claims",
    "reject_claim",
    "review_claim",
]
