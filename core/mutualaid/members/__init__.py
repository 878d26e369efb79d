"""Members: who may join, joining one by one or from a CSV file, finding, listing and updating
members, and every change of a membership's status.

``service`` (join, get, list, update, end), ``eligibility`` (checking an applicant),
``importing`` (CSV files), ``lifecycle`` (the only writer of a member's status: history and
hooks), ``history`` (reading it back) and ``records`` (what the API returns).
"""

from __future__ import annotations

from .eligibility import CORE_COLUMNS, check_applicant, normalize_id_number
from .history import frozen_spans, history
from .importing import ImportProgress, ImportResult, import_members
from .records import HistoryEntry, MemberRecord, MemberUpdate, member_state
from .service import (
    end_membership,
    get_member,
    join_member,
    list_members,
    locked_member,
    member_history,
    update_member,
)

__all__ = [
    "CORE_COLUMNS",
    "HistoryEntry",
    "ImportProgress",
    "ImportResult",
    "MemberRecord",
    "MemberUpdate",
    "check_applicant",
    "end_membership",
    "frozen_spans",
    "get_member",
    "history",
    "import_members",
    "join_member",
    "list_members",
    "locked_member",
    "member_history",
    "member_state",
    "normalize_id_number",
    "update_member",
]
