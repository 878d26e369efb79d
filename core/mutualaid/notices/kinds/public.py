"""The public notice (公示) of a period's cases: one notice for everyone, before the cases are
shared -- each case with the claimant's name masked (never an ID number), the event, the
claimant's home city when known, the benefit, and how to object and until when.

A public kind: rendered without any member's values, written as one file, and sent alike to every
live member. The cases are those the period's run funded, or, before the run, the approved claims
waiting to be shared (the ones the run will fund). In a pool with ``[claims] governance =
"public"`` the cases are instead the claims in public notice (status ``in-notice``), each with the
decision proposed (``proposal``: ``pay``, ``benefit``) and the day its own notice window closes
(``objections_until``), the last day to object to it.

Context: ``period``, ``governance`` (``direct`` or ``public``), ``claims`` (see
:func:`~.common.claim_rows`), ``cases`` (the count and ``total``: of the aid funded, or in a public
pool of the aid proposed), ``objections`` (``until``: the day before the deduction day;
``contact``), ``shared`` (whether the period has been shared), ``fee`` (the pool's fee rule),
``ledger`` (the head of the pool's books when the notice was rendered, ``anchor``: ``N:HASH``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Select, literal, select
from sqlalchemy.orm import Session

from ...db.models import Claim, Member, SharingRun
from ...db.runs import live_run
from ...money import format_minor
from ...pools import PoolRecord
from ...sharing.lookup import run_reference
from ...vocabulary import LIVE_STATUSES, ClaimStatus, Governance, NoticeKind
from ..context import member_columns
from ..spec import NoticeRequest, NoticeSpec
from .common import claim_rows, money_rules, period_context
from .governance import proposal_of
from .statement import ledger_head

__all__ = ["PUBLIC_NOTICE"]


def _in_notice(session: Session, pool: PoolRecord, locale: str) -> tuple[list[dict[str, Any]], int]:
    """A public pool's claims in public notice: each with the decision proposed and the last day to
    object to it (its notice window's end); and the aid proposed in total, in minor units."""
    condition = Claim.status == ClaimStatus.IN_NOTICE
    claims = claim_rows(session, pool, condition, locale)
    proposals = {
        claim_id: (proposal_of(proposal_json, benefit, pool.currency), closes_on)
        for claim_id, proposal_json, benefit, closes_on in session.execute(
            select(Claim.id, Claim.proposal_json, Claim.benefit_minor, Claim.notice_closes_on).where(
                Claim.pool_id == pool.id, condition
            )
        )
    }
    for claim in claims:
        proposal, closes_on = proposals[claim["id"]]
        claim["proposal"] = proposal
        claim["benefit"] = proposal["benefit"] or format_minor(0, pool.currency)
        claim["objections_until"] = closes_on.isoformat() if closes_on else None
    return claims, sum(p["benefit_minor"] for p, _ in proposals.values())


def _batch(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    period = request.period
    if period is None:  # pragma: no cover - the service asks for a period first
        raise ValueError("a public notice needs a period")
    run = session.scalar(
        select(SharingRun).where(
            SharingRun.pool_id == pool.id, SharingRun.period == period.key, live_run(SharingRun.id)
        )
    )
    run_id = run.id if run is not None else None
    governance = pool.config.claims.governance
    if governance == Governance.PUBLIC:
        claims, total = _in_notice(session, pool, locale)
    else:
        if run_id is not None:
            condition = Claim.sharing_run_id == run_id
        else:
            # the claims the period's run will fund: approved, not shared, events by its notice day
            condition = (
                (Claim.status == ClaimStatus.APPROVED)
                & Claim.sharing_run_id.is_(None)
                & (Claim.event_date <= period.notice_date)
            )
        claims = claim_rows(session, pool, condition, locale)
        total = sum(
            int(b or 0) for b in session.scalars(select(Claim.benefit_minor).where(Claim.pool_id == pool.id, condition))
        )
    rules = money_rules(pool)
    return {
        "period": period_context(period),
        "governance": governance.value,
        "claims": claims,
        "cases": {"count": len(claims), "total": format_minor(total, pool.currency)},
        "objections": {
            "until": (period.deduction_date - timedelta(days=1)).isoformat(),
            "contact": pool.config.operator or pool.config.name,
        },
        "shared": run_id is not None,
        # What the send log knows this notice by: the period, or after a void and a new run, the
        # period and that run -- so the notice of the new run's cases is sent too.
        "reference": run_reference(run) if run is not None else period.key,
        "fee": rules["fee"],
        "ledger": ledger_head(session, pool),
    }


def _recipients(session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]) -> Select[Any]:
    """Every live member (or those asked for): the notice is the same for all."""
    query = (
        select(*member_columns(), literal(batch["reference"]).label("notice_reference"))
        .where(Member.pool_id == pool.id)
        .order_by(Member.id)
    )
    if request.members:
        return query.where(Member.id.in_(list(request.members)))
    return query.where(Member.status.in_(LIVE_STATUSES))


PUBLIC_NOTICE = NoticeSpec(
    kind=NoticeKind.PUBLIC_NOTICE,
    template=NoticeKind.PUBLIC_NOTICE,
    file_stem=lambda request: (
        f"public-notice-{request.period.key if request.period else ''}"
        + (f".{request.locale}" if request.locale else "")
    ),
    stream_stem=lambda request: f"public-notice-{request.period.key if request.period else ''}",
    batch=_batch,
    recipients=_recipients,
    member=lambda row, batch: {},
    reference=lambda row, request: str(row.notice_reference),
    public=True,
    needs_period=True,
    description="the period's cases, for everyone: claimants masked, how to object and until when",
)
