"""The notices of a claim's public life (``[claims] governance = "public"``): each step of
governance told to whom it concerns.

- ``objection-received``: to the claimant, their own letter -- a member objected to the decision
  proposed on their claim during its public notice: the objection's reason and what happens next
  (the claim reviewed again, or a member jury, as the pool's ``[claims] objections`` says). The
  objector is never named. One letter per objection (reference ``objection-N``); recipients: the
  objections of the claims asked for, or every open objection.
- ``jury-invitation``: to each juror of an open jury -- the case (claimant masked, the event, the
  benefit proposed, the objections' reasons), how to vote and by when, and that their vote is one
  of the jury's. One per juror and jury (reference ``jury-N-member-M``: a member may sit on two
  juries at once); recipients: the jurors of the open juries of the claims asked for, or of every
  open jury.
- ``jury-result``: a public kind, one notice for everyone -- each closed jury's claim (claimant
  masked), the tally (pay and reject of the votes cast), the quorum and threshold, the outcome.
  The juries of the claims asked for, or every closed one (decided, or closed without a quorum);
  reference ``jury-N`` (``jury-N-M`` for several).

Recipients read ``claim_objections``, ``juries`` and ``jurors`` directly. A pool that decides its
claims directly has none of these notices (refused in one line).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Select, literal, select
from sqlalchemy.orm import Session, aliased

from ...db.models import Claim, ClaimObjection, ClaimStatusChange, Juror, Jury, Member
from ...errors import StateError
from ...money import format_minor, format_percent
from ...pools import PoolRecord
from ...privacy import mask_name
from ...vocabulary import (
    LIVE_STATUSES,
    ClaimStatus,
    Governance,
    JuryStatus,
    JuryThreshold,
    NoticeKind,
    ObjectionKind,
    ObjectionStatus,
)
from ..context import member_columns
from ..spec import NoticeRequest, NoticeSpec
from .common import event_titles

__all__ = ["JURY_INVITATION", "JURY_RESULT", "OBJECTION_RECEIVED", "jury_outcome", "proposal_of"]


def _public_only(kind: str) -> Any:
    def check(pool: PoolRecord, request: NoticeRequest) -> None:
        if pool.config.claims.governance != Governance.PUBLIC:
            raise StateError(
                f'pool {pool.key!r} decides its claims directly (governance = "direct"): no decision is put in '
                f"public notice, objected to or sent to a jury, so it has no {kind} notices"
            )

    return check


def proposal_of(proposal_json: str | None, benefit_minor: int | None, currency: str) -> dict[str, Any]:
    """The decision proposed on a claim, as :func:`mutualaid.claims.governance.propose_claim` stores
    it (``decision``: ``approve`` or ``reject``; ``benefit_minor``; the rules' ``reasons``; a
    rejection's ``reason``): ``pay`` (whether it proposes to pay), ``benefit`` (formatted, when it
    pays; the claim's benefit when the proposal names none), ``benefit_minor`` and ``reasons``
    (never who proposed it)."""
    proposal = json.loads(proposal_json) if proposal_json else {}
    if not isinstance(proposal, dict):
        proposal = {}
    pay = proposal.get("decision") == "approve" if "decision" in proposal else bool(proposal.get("payable"))
    minor = proposal.get("benefit_minor", benefit_minor) if pay else None
    reasons = [str(r) for r in proposal.get("reasons") or ()]
    if proposal.get("reason"):
        reasons.append(str(proposal["reason"]))
    return {
        "pay": pay,
        "benefit": format_minor(int(minor), currency) if minor is not None else None,
        "benefit_minor": int(minor) if minor is not None else 0,
        "reasons": reasons,
    }


def jury_outcome(status: str, threshold: str, pay: int, reject: int, decided: str | None = None) -> str:
    """What a closed jury decided: ``pay``, ``reject``, ``overruled`` (the tally said pay but the
    pool's rules do not pay the claim, so it was rejected) or ``no-quorum`` (back to review).
    ``decided``: the status the jury moved the claim to, when its history records it."""
    if status == JuryStatus.NO_QUORUM:
        return "no-quorum"
    passed = JuryThreshold(threshold).reached(pay, pay + reject)
    if passed and decided == ClaimStatus.REJECTED:
        return "overruled"
    return "pay" if passed else "reject"


def _jury_rules(pool: PoolRecord) -> dict[str, Any]:
    jury = pool.config.claims.jury
    return {
        "size": jury.size,
        "voting_days": jury.voting_days,
        "threshold": jury.threshold.value,
        "quorum_percent": format_percent(jury.quorum),
    }


def _contact(pool: PoolRecord) -> str:
    return pool.config.operator or pool.config.name


# -- objection-received ----------------------------------------------------------------------------


def _objection_batch(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    claims = pool.config.claims
    return {
        "next": {"route": claims.objections.value, "jury": _jury_rules(pool), "window_days": claims.notice_window_days},
        "contact": _contact(pool),
        "_titles": event_titles(pool, locale),
        "_currency": pool.currency,
    }


def _objection_recipients(
    session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]
) -> Select[Any]:
    query = (
        select(
            *member_columns(),
            ClaimObjection.id.label("objection_id"),
            ClaimObjection.reason.label("objection_reason"),
            ClaimObjection.filed_on.label("objected_on"),
            ClaimObjection.status.label("objection_status"),
            Claim.id.label("claim_id"),
            Claim.event_kind,
            Claim.event_date,
            Claim.filed_on,
            Claim.proposal_json,
            Claim.benefit_minor,
            Claim.notice_closes_on,
        )
        .select_from(ClaimObjection)
        .join(Claim, Claim.id == ClaimObjection.claim_id)
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.pool_id == pool.id, ClaimObjection.kind == ObjectionKind.OBJECTION.value)
        .order_by(Member.id, ClaimObjection.id)
    )
    if request.claims:
        query = query.where(Claim.id.in_(list(request.claims)))
    else:
        query = query.where(ClaimObjection.status == ObjectionStatus.OPEN.value)
    if request.members:
        query = query.where(Member.id.in_(list(request.members)))
    return query


def _objection_member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    return {
        "claim": {
            "id": row.claim_id,
            "kind": batch["_titles"].get(row.event_kind, row.event_kind),
            "event_date": row.event_date.isoformat(),
            "filed_on": row.filed_on.isoformat(),
            "proposal": proposal_of(row.proposal_json, row.benefit_minor, batch["_currency"]),
            "notice_closes_on": row.notice_closes_on.isoformat() if row.notice_closes_on else None,
        },
        "objection": {
            "id": row.objection_id,
            "reason": row.objection_reason,
            "filed_on": row.objected_on.isoformat(),
            "open": row.objection_status == ObjectionStatus.OPEN,
        },
    }


OBJECTION_RECEIVED = NoticeSpec(
    kind=NoticeKind.OBJECTION_RECEIVED,
    template=NoticeKind.OBJECTION_RECEIVED,
    file_stem=lambda request: "objection-received",
    stream_stem=lambda request: "objections-received" + (f".{request.locale}" if request.locale else ""),
    batch=_objection_batch,
    recipients=_objection_recipients,
    member=_objection_member,
    reference=lambda row, request: f"objection-{row.objection_id}",
    check=_public_only(NoticeKind.OBJECTION_RECEIVED),
    by_reference=True,
    description="to a claimant: a member objected to the decision proposed on their claim, why, and what happens next",
)


# -- jury-invitation ----------------------------------------------------------------------------------


def _reasons(session: Session, claim_ids: Any) -> dict[int, list[dict[str, str]]]:
    """The objections (and disputes) of each claim, in order: their kind and reason, never who."""
    found: dict[int, list[dict[str, str]]] = defaultdict(list)
    for claim_id, kind, reason in session.execute(
        select(ClaimObjection.claim_id, ClaimObjection.kind, ClaimObjection.reason)
        .where(ClaimObjection.claim_id.in_(claim_ids))
        .order_by(ClaimObjection.claim_id, ClaimObjection.id)
    ):
        found[claim_id].append({"kind": kind, "reason": reason})
    return dict(found)


def _open_juries(pool: PoolRecord, request: NoticeRequest) -> Select[Any]:
    query = (
        select(Jury.id)
        .join(Claim, Claim.id == Jury.claim_id)
        .where(Claim.pool_id == pool.id, Jury.status == JuryStatus.OPEN.value)
    )
    if request.claims:
        query = query.where(Claim.id.in_(list(request.claims)))
    return query


def _invitation_batch(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    claim_ids = select(Jury.claim_id).where(Jury.id.in_(_open_juries(pool, request)))
    return {
        "contact": _contact(pool),
        "_titles": event_titles(pool, locale),
        "_currency": pool.currency,
        "_reasons": _reasons(session, claim_ids),
    }


_Claimant = aliased(Member, name="claimant")


def _invitation_recipients(
    session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]
) -> Select[Any]:
    query = (
        select(
            *member_columns(),
            Jury.id.label("jury_id"),
            Jury.size.label("jury_size"),
            Jury.quorum.label("jury_quorum"),
            Jury.threshold.label("jury_threshold"),
            Jury.opened_on.label("jury_opened_on"),
            Jury.closes_on.label("jury_closes_on"),
            Juror.vote.label("juror_vote"),
            Claim.id.label("claim_id"),
            Claim.event_kind,
            Claim.event_date,
            Claim.filed_on,
            Claim.proposal_json,
            Claim.benefit_minor,
            _Claimant.name.label("claimant_name"),
            _Claimant.city.label("claimant_city"),
        )
        .select_from(Juror)
        .join(Jury, Jury.id == Juror.jury_id)
        .join(Claim, Claim.id == Jury.claim_id)
        .join(Member, Member.id == Juror.member_id)
        .join(_Claimant, _Claimant.id == Claim.member_id)
        .where(Jury.id.in_(_open_juries(pool, request)))
        .order_by(Member.id, Jury.id)
    )
    if request.members:
        query = query.where(Member.id.in_(list(request.members)))
    return query


def _invitation_member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    return {
        "case": {
            "id": row.claim_id,
            "claimant": mask_name(row.claimant_name),
            "city": row.claimant_city,
            "kind": batch["_titles"].get(row.event_kind, row.event_kind),
            "event_date": row.event_date.isoformat(),
            "filed_on": row.filed_on.isoformat(),
            "proposal": proposal_of(row.proposal_json, row.benefit_minor, batch["_currency"]),
            "objections": batch["_reasons"].get(row.claim_id, []),
        },
        "jury": {
            "id": row.jury_id,
            "size": int(row.jury_size),
            "quorum": int(row.jury_quorum),
            "threshold": row.jury_threshold,
            "opened_on": row.jury_opened_on.isoformat(),
            "closes_on": row.jury_closes_on.isoformat(),
            "voted": row.juror_vote,
        },
    }


JURY_INVITATION = NoticeSpec(
    kind=NoticeKind.JURY_INVITATION,
    template=NoticeKind.JURY_INVITATION,
    file_stem=lambda request: "jury-invitation",
    stream_stem=lambda request: "jury-invitations" + (f".{request.locale}" if request.locale else ""),
    batch=_invitation_batch,
    recipients=_invitation_recipients,
    member=_invitation_member,
    reference=lambda row, request: f"jury-{row.jury_id}-member-{row.id}",
    check=_public_only(NoticeKind.JURY_INVITATION),
    by_reference=True,
    description="to each juror of an open jury: the case (claimant masked), how to vote and by when",
)


# -- jury-result ----------------------------------------------------------------------------------------


def _result_batch(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    query = (
        select(Jury, Claim, Member.name, Member.city)
        .join(Claim, Claim.id == Jury.claim_id)
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.pool_id == pool.id, Jury.status != JuryStatus.OPEN.value)
        .order_by(Jury.id)
    )
    if request.claims:
        query = query.where(Claim.id.in_(list(request.claims)))
    titles, currency = event_titles(pool, locale), pool.currency
    rows = session.execute(query).all()
    # The jury's own move of the claim (recorded with the jury as its actor): an approval, or a
    # rejection when the pool's rules do not pay what the jury voted to pay.
    actors = {f"jury #{jury.id}": jury.id for jury, *_ in rows}
    decided = {
        actors[str(actor)]: status
        for actor, status in session.execute(
            select(ClaimStatusChange.actor, ClaimStatusChange.status)
            .where(
                ClaimStatusChange.claim_id.in_([claim.id for _, claim, *_ in rows]),
                ClaimStatusChange.actor.in_(list(actors)),
            )
            .order_by(ClaimStatusChange.id)
        )
    }
    juries = []
    for jury, claim, name, city in rows:
        pay, reject = int(jury.votes_pay or 0), int(jury.votes_reject or 0)
        juries.append(
            {
                "id": jury.id,
                "claim": {
                    "id": claim.id,
                    "claimant": mask_name(name),
                    "city": city,
                    "kind": titles.get(claim.event_kind, claim.event_kind),
                    "event_date": claim.event_date.isoformat(),
                    "proposal": proposal_of(claim.proposal_json, claim.benefit_minor, currency),
                },
                "size": int(jury.size),
                "quorum": int(jury.quorum),
                "threshold": jury.threshold,
                "opened_on": jury.opened_on.isoformat(),
                "closes_on": jury.closes_on.isoformat(),
                "pay": pay,
                "reject": reject,
                "cast": pay + reject,
                "outcome": jury_outcome(jury.status, jury.threshold, pay, reject, decided.get(jury.id)),
            }
        )
    if not juries:
        asked = f" of claim {', '.join(f'#{c}' for c in request.claims)}" if request.claims else ""
        raise StateError(f"pool {pool.key!r} has no jury{asked} that has closed: there is no result to announce")
    return {"juries": juries, "contact": _contact(pool), "_reference": "jury-" + "-".join(str(j["id"]) for j in juries)}


def _result_recipients(
    session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]
) -> Select[Any]:
    """Every live member (or those asked for): the notice is the same for all."""
    query = (
        select(*member_columns(), literal(batch["_reference"]).label("result_reference"))
        .where(Member.pool_id == pool.id)
        .order_by(Member.id)
    )
    if request.members:
        return query.where(Member.id.in_(list(request.members)))
    return query.where(Member.status.in_(LIVE_STATUSES))


def _result_stem(request: NoticeRequest) -> str:
    claims = "".join(f"-claim-{c}" for c in request.claims)
    return f"jury-result{claims}" + (f".{request.locale}" if request.locale else "")


JURY_RESULT = NoticeSpec(
    kind=NoticeKind.JURY_RESULT,
    template=NoticeKind.JURY_RESULT,
    file_stem=_result_stem,
    stream_stem=_result_stem,
    batch=_result_batch,
    recipients=_result_recipients,
    member=lambda row, batch: {},
    reference=lambda row, request: str(row.result_reference),
    check=_public_only(NoticeKind.JURY_RESULT),
    public=True,
    description="for everyone: each closed jury's claim (claimant masked), its tally and outcome",
)
