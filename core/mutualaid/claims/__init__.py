"""Claims: filing, deciding (by the pool's own cohort), and the claim state machine.

``service`` (file, review, approve, reject, list, history), ``governance`` (a claim decided in
public: investigation, notes and costs, proposal, public notice, objections and disputes, the
decision; the only writer of objections), ``deciding`` (the facts handed to the cohort and its
answer checked), ``machine`` (the only writer of a claim's status: transitions and history),
``corrections`` (amending or withdrawing a claim before it is shared) and ``records`` (what the API
returns).
"""

from __future__ import annotations

from .corrections import amend_claim, amendments, withdraw_claim
from .deciding import contributions, decide
from .governance import (
    decide_claim,
    dispute_claim,
    object_to_claim,
    propose_claim,
    publish_claim,
    reinvestigate_claim,
    resolve_objections,
    show_claim,
    withdraw_proposal,
)
from .investigation import add_cost, add_note, investigate_claim
from .jury import (
    JuryClosing,
    JuryDraw,
    JuryRecord,
    Qualification,
    VoteImport,
    cast_vote,
    close_jury,
    draw_jury,
    get_jury,
    qualify_jurors,
)
from .records import (
    Amendment,
    ClaimDetail,
    ClaimHistoryEntry,
    ClaimRecord,
    InvestigationCost,
    InvestigationNote,
    Objection,
    Rejection,
)
from .service import (
    approve_claim,
    claim_history,
    file_claim,
    get_claim,
    list_claims,
    reject_claim,
    review_claim,
)
from .votes import import_votes

__all__ = [
    "Amendment",
    "ClaimDetail",
    "ClaimHistoryEntry",
    "ClaimRecord",
    "InvestigationCost",
    "InvestigationNote",
    "JuryClosing",
    "JuryDraw",
    "JuryRecord",
    "Objection",
    "Qualification",
    "Rejection",
    "VoteImport",
    "add_cost",
    "add_note",
    "amend_claim",
    "amendments",
    "approve_claim",
    "cast_vote",
    "claim_history",
    "close_jury",
    "contributions",
    "decide",
    "decide_claim",
    "dispute_claim",
    "draw_jury",
    "file_claim",
    "get_claim",
    "get_jury",
    "import_votes",
    "investigate_claim",
    "list_claims",
    "object_to_claim",
    "propose_claim",
    "publish_claim",
    "qualify_jurors",
    "reinvestigate_claim",
    "reject_claim",
    "resolve_objections",
    "review_claim",
    "show_claim",
    "withdraw_claim",
    "withdraw_proposal",
]
