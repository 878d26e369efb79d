"""Members: who may join, joining one by one or from a CSV file, finding, listing and updating
members, and every change of a membership's status.

``service`` (join, get, list, update, end), ``eligibility`` (checking an applicant),
``importing`` (CSV files), ``lifecycle`` (the only writer of a member's status and identity:
history and hooks), ``history`` (reading it back), ``records`` (what the API returns),
``sealing`` (the operator's key checked against the database; ID numbers encrypted, hashed,
masked; identities sealed), ``corrections`` (correcting a member's identity) and ``integrity``
(identities checked against their seals, for ``ledger verify``).
"""

from __future__ import annotations

from .corrections import correct_member
from .eligibility import CORE_COLUMNS, check_applicant, normalize_id_number
from .history import frozen_spans, history, identity_corrections
from .importing import ImportProgress, ImportResult, import_members
from .integrity import IdentityMarks, IdentityReport, check_identities, verify_identities
from .records import HistoryEntry, IdentityCorrection, MemberRecord, MemberUpdate, member_state
from .sealing import database_keys
from .service import (
    end_membership,
    get_member,
    join_member,
    list_member_rows,
    list_members,
    locked_member,
    member_history,
    member_number_bound,
    update_member,
)

__all__ = [
    "CORE_COLUMNS",
    "HistoryEntry",
    "IdentityCorrection",
    "IdentityMarks",
    "IdentityReport",
    "ImportProgress",
    "ImportResult",
    "MemberRecord",
    "MemberUpdate",
    "check_applicant",
    "check_identities",
    "correct_member",
    "database_keys",
    "end_membership",
    "frozen_spans",
    "get_member",
    "history",
    "identity_corrections",
    "import_members",
    "join_member",
    "list_member_rows",
    "list_members",
    "locked_member",
    "member_history",
    "member_number_bound",
    "member_state",
    "normalize_id_number",
    "update_member",
    "verify_identities",
]
