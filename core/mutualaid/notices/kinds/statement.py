"""The statement: after a sharing run, to every member it charged -- what they were charged and
why, figure by figure, from the run, its charges and the pool's rules.

Context: ``period``; ``run`` (the period's accounts: aid and what was funded of it, the fee by the
pool's policy, surplus and deficit in and out, the need, the share or the shares by weight, what
caps kept members from paying and who bore it); ``claims`` (claimants masked); ``fee``, ``caps``,
``payments`` (the pool's rules, :func:`~.common.money_rules`). Per member: ``charge``;
``before_caps`` (what the run asked of them before caps); ``capped`` and ``cap_by`` (``period``:
the cap per case or per period, ``year``: the year's cap); ``weight``; ``extra_unit`` (they paid
the rotation's extra minor unit); ``ytd`` (the year so far: ``total``, the year's ``cap`` and
what ``remaining`` of it); ``balance`` (prepaid pools: the balance as of the notice's date).
``ledger`` (the head of the pool's books when the statement was rendered: ``seq``, ``hash`` and
``anchor``, ``N:HASH``; members keep it, and ``ledger verify --anchor`` proves the books were not
rewritten after it, :func:`ledger_head`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, literal, select
from sqlalchemy.orm import Session, aliased

from ...db.models import Balance, Charge, Claim, Member, Pool, SharingRun
from ...db.runs import live_run
from ...money import format_minor, format_percent, to_minor
from ...pools import PoolRecord
from ...sharing.lookup import run_of, run_reference
from ...sharing.result import SharingResult
from ...sharing.sharers import planned_charge, weight_expr
from ...vocabulary import NoticeKind, PaymentModel, Weighting
from ..context import member_columns
from ..spec import NoticeRequest, NoticeSpec
from .common import claim_rows, money_rules, period_context

__all__ = ["STATEMENT", "ledger_head"]


def ledger_head(session: Session, pool: PoolRecord) -> dict[str, Any]:
    """The head of the pool's books now (the last entry's number and hash), for a notice to carry:
    published that way, it anchors the chain outside the database."""
    seq, head = session.execute(select(Pool.ledger_seq, Pool.ledger_head).where(Pool.id == pool.id)).one()
    seq, head = int(seq or 0), head or "0" * 64
    return {"seq": seq, "hash": head, "anchor": f"{seq}:{head}"}


def _run_figures(run: SharingResult, weighted: bool) -> dict[str, Any]:
    cur = run.currency
    fmt = lambda m: format_minor(m, cur)  # noqa: E731
    classes = run.plan.get("classes") or []
    uniform = (run.plan.get("caps") or {}).get("uniform")
    return {
        "members": f"{run.members:,}",
        "claims_count": run.claims,
        "aid": fmt(run.aid_minor),
        "aid_funded": fmt(run.aid_funded_minor),
        "prorated": run.aid_funded_minor != run.aid_minor,
        "fee": fmt(run.fee_minor),
        "fee_policy": run.fee_policy.value,
        "fee_rate_percent": format_percent(run.fee_rate),
        "surplus_in": fmt(run.surplus_in_minor),
        "surplus_in_signed": ("-" if run.surplus_in_minor else "") + fmt(run.surplus_in_minor),
        "surplus_out": fmt(run.surplus_out_minor),
        "carried_in": fmt(run.carried_in_minor) if run.carried_in_minor else None,
        "carried_out": fmt(run.carried_out_minor) if run.carried_out_minor else None,
        "need": fmt(run.need_minor),
        "share": fmt(run.share_minor),
        "rounding": run.rounding.value,
        "extra_count": f"{run.extra_count:,}" if run.extra_count else None,
        "weighted": weighted,
        "classes": [
            {"weight": c["weight"], "share": fmt(int(c["share"])), "count": f"{int(c['count']):,}"}
            for c in classes
            if int(c["count"])
        ],
        "charged": fmt(run.charged_minor),
        "capped_count": f"{run.capped_count:,}" if run.capped_count else None,
        "period_cap": fmt(int(uniform)) if uniform is not None else None,
        "shortfall": fmt(run.shortfall_minor) if run.shortfall_minor else None,
        "shortfall_policy": run.shortfall_policy.value,
        "sponsor": fmt(run.sponsor_minor) if run.sponsor_minor else None,
        "payment_model": run.payment_model.value,
    }


def _batch(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    if request.period is None:  # pragma: no cover - the service asks for a period first
        raise ValueError("a statement needs a period")
    run = run_of(session, pool, request.period)
    weighted = len(run.plan.get("classes") or []) > 1 and pool.config.sharing.weights == Weighting.COHORT
    claims = claim_rows(session, pool, Claim.sharing_run_id == run.run_id, locale)
    year_cap = pool.config.sharing.caps.per_year
    return {
        "period": period_context(request.period),
        "run": _run_figures(run, weighted),
        "claims": claims,
        **money_rules(pool),
        "ledger": ledger_head(session, pool),
        "_run": run,
        "_uniform": (run.plan.get("caps") or {}).get("uniform"),
        "_year_cap": to_minor(year_cap, pool.currency) if year_cap is not None else None,
        "_shares": _class_shares(run),
        "_money": _money_formatter(run.currency),
    }


def _class_shares(run: SharingResult) -> dict[Any, int]:
    """Each weight's share (the first class of a weight, as the plan lists them)."""
    shares: dict[Any, int] = {}
    for c in run.plan.get("classes") or []:
        shares.setdefault(c["weight"], int(c["share"]))
    return shares


def _money_formatter(currency: str) -> Any:
    """``format_minor(minor, currency)``, remembered: a run's charges take a handful of values."""
    known: dict[int, str] = {}

    def money(minor: int) -> str:
        text = known.get(minor)
        if text is None:
            if len(known) > 100_000:
                known.clear()
            text = known[minor] = format_minor(minor, currency)
        return text

    return money


def _recipients(session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]) -> Select[Any]:
    """Every member the run charged (or those of them asked for), with their charge, what the run
    asked of them before caps, their total of the year so far and, prepaid, their balance."""
    run: SharingResult = batch["_run"]
    row = session.get(SharingRun, run.run_id)
    earlier = [
        int(r)
        for r in session.scalars(
            select(SharingRun.id).where(
                SharingRun.pool_id == pool.id,
                SharingRun.notice_date >= date(run.notice_date.year, 1, 1),
                SharingRun.notice_date <= run.notice_date,
                SharingRun.id != run.run_id,
                live_run(SharingRun.id),
            )
        )
    ]
    # The year so far: this run's charge plus the member's charges of the year's earlier runs, each
    # a look-up of the charges' key (run, member) -- per member, so a range of members (one worker
    # of a parallel rendering) reads only its own charges.
    ytd: Any = Charge.amount_minor
    if earlier:
        before = aliased(Charge)
        ytd = Charge.amount_minor + (
            select(func.coalesce(func.sum(before.amount_minor), 0))
            .where(before.run_id.in_(earlier), before.member_id == Member.id)
            .scalar_subquery()
        )
    planned = planned_charge(session, pool, row) if row is not None else literal(0)
    weight = literal(1)
    if batch["run"]["weighted"]:
        weight = weight_expr(pool.cohort.rules.sharing_weights(pool.settings), run.notice_date)
    balance: Any = literal(None)
    if run.payment_model == PaymentModel.PREPAID:
        balance = select(Balance.balance_minor).where(Balance.member_id == Member.id).scalar_subquery()
    query = (
        select(
            *member_columns(),
            Charge.amount_minor.label("charge"),
            ytd.label("ytd"),
            planned.label("planned"),
            weight.label("weight"),
            balance.label("balance"),
            literal(run_reference(run)).label("notice_reference"),
        )
        .join(Charge, and_(Charge.member_id == Member.id, Charge.run_id == run.run_id))
        .order_by(Member.id)
    )
    if request.members:
        query = query.where(Member.id.in_(list(request.members)))
    return query


def _member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    run: SharingResult = batch["_run"]
    money = batch["_money"]
    charge, planned, total = int(row.charge), int(row.planned), int(row.ytd)
    capped = charge < planned
    cap_by = None
    if capped:
        uniform = batch["_uniform"]
        cap_by = "period" if uniform is not None and charge == min(planned, int(uniform)) else "year"
    year_cap = batch["_year_cap"]
    share = batch["_shares"].get(row.weight, run.share_minor)
    return {
        "charge": money(charge),
        "before_caps": money(planned),
        "capped": capped,
        "cap_by": cap_by,
        "weight": int(row.weight),
        "extra_unit": planned == share + 1 and not capped,
        "ytd": {
            "year": run.notice_date.year,
            "total": money(total),
            "cap": money(year_cap) if year_cap is not None else None,
            "remaining": money(max(year_cap - total, 0)) if year_cap is not None else None,
        },
        "balance": money(int(row.balance)) if row.balance is not None else None,
    }


def _reference(row: Any, request: NoticeRequest) -> str:
    """The period; for a period shared again after a void, the period and the run (a new statement)."""
    return str(row.notice_reference)


STATEMENT = NoticeSpec(
    kind=NoticeKind.STATEMENT,
    template=NoticeKind.STATEMENT,
    file_stem=lambda request: f"statement-{request.period.key if request.period else ''}",
    stream_stem=lambda request: (
        f"statements-{request.period.key if request.period else ''}" + (f".{request.locale}" if request.locale else "")
    ),
    batch=_batch,
    recipients=_recipients,
    member=_member,
    reference=_reference,
    needs_period=True,
    description="after a sharing run, to every member it charged: the charge and why",
)
