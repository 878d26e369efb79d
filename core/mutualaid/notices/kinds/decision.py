"""The decision letter: to a claimant, the decision on their claim -- approved with the benefit
and the rules' reasoning (and, once shared, the period that funded it and what was funded), or
rejected with the reasons and any refund of contributions paid. The claimant's own letter: their
name in full, their ID number masked.

Recipients: the claims asked for, or every decided claim (approved, rejected, shared); one letter
per claim, files named ``decision-claim-N``. Context per letter: ``claim`` (``id``, ``kind``,
``event_date``, ``filed_on``, ``decided_on``, ``status``, ``approved``, ``benefit``, ``cap``,
``reasons``, ``funded``, ``prorated``, ``period`` that funded it, ``refund``), ``payments``.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ...db.models import Claim, Member, SharingRun
from ...money import format_minor
from ...pools import PoolRecord
from ...vocabulary import ClaimStatus, NoticeKind
from ..context import member_columns
from ..spec import NoticeRequest, NoticeSpec
from .common import event_titles, money_rules

__all__ = ["DECISION"]

DECIDED = (ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.SHARED)


def _batch(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    return {
        **money_rules(pool),
        "_titles": event_titles(pool, locale),
        "_currency": pool.currency,
        "_zone": pool.config.timezone,
    }


def _recipients(session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]) -> Select[Any]:
    query = (
        select(
            *member_columns(),
            Claim.id.label("claim_id"),
            Claim.event_kind,
            Claim.event_date,
            Claim.filed_on,
            Claim.status.label("claim_status"),
            Claim.benefit_minor,
            Claim.cap_minor,
            Claim.reasons_json,
            Claim.decided_at,
            Claim.funded_minor,
            Claim.refund_minor,
            SharingRun.period.label("funded_period"),
        )
        .select_from(Claim)
        .join(Member, Member.id == Claim.member_id)
        .outerjoin(SharingRun, SharingRun.id == Claim.sharing_run_id)
        .where(Claim.pool_id == pool.id, Claim.status.in_(DECIDED))
        .order_by(Claim.id)
    )
    if request.claims:
        query = query.where(Claim.id.in_(list(request.claims)))
    if request.members:
        query = query.where(Member.id.in_(list(request.members)))
    return query


def _member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    cur = batch["_currency"]
    fmt = lambda minor: format_minor(int(minor), cur) if minor is not None else None  # noqa: E731
    approved = row.claim_status in (ClaimStatus.APPROVED, ClaimStatus.SHARED)
    decided = row.decided_at
    if decided is not None:
        decided = (decided if decided.tzinfo else decided.replace(tzinfo=UTC)).astimezone(ZoneInfo(batch["_zone"]))
    benefit = int(row.benefit_minor or 0)
    return {
        "claim": {
            "id": row.claim_id,
            "kind": batch["_titles"].get(row.event_kind, row.event_kind),
            "event_date": row.event_date.isoformat(),
            "filed_on": row.filed_on.isoformat(),
            "decided_on": decided.date().isoformat() if decided is not None else None,
            "status": row.claim_status,
            "approved": approved,
            "benefit": fmt(benefit),
            "cap": fmt(row.cap_minor),
            "reasons": json.loads(row.reasons_json) if row.reasons_json else [],
            "funded": fmt(row.funded_minor),
            "prorated": row.funded_minor is not None and int(row.funded_minor) != benefit,
            "period": row.funded_period,
            "refund": fmt(row.refund_minor) if row.refund_minor else None,
        }
    }


DECISION = NoticeSpec(
    kind=NoticeKind.DECISION,
    template=NoticeKind.DECISION,
    file_stem=lambda request: "decision",
    stream_stem=lambda request: "decisions" + (f".{request.locale}" if request.locale else ""),
    batch=_batch,
    recipients=_recipients,
    member=_member,
    reference=lambda row, request: f"claim-{row.claim_id}",
    by_reference=True,
    description="to a claimant: the decision on their claim, with the reasons, the benefit or any refund",
)
