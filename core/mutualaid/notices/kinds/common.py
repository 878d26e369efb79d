"""What several kinds of notice show alike: a period, a pool's rules of money (fee, caps,
shortfall, payments) from its configuration, and claims with the claimant masked."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import Claim, Member
from ...money import format_minor, format_percent, to_minor
from ...periods import Period
from ...pools import PoolRecord
from ...privacy import mask_name
from ...vocabulary import FeePolicy

__all__ = ["claim_rows", "event_titles", "money_rules", "period_context"]


def period_context(period: Period) -> dict[str, Any]:
    return {
        "key": period.key,
        "notice_date": period.notice_date.isoformat(),
        "deduction_date": period.deduction_date.isoformat(),
    }


def _amount(value: Decimal | None, currency: str) -> str | None:
    return None if value is None else format_minor(to_minor(value, currency), currency)


def money_rules(pool: PoolRecord) -> dict[str, Any]:
    """The pool's rules of money as its configuration has them now, for ``fee``, ``caps`` and
    ``payments``: a rule the pool does not have is ``None`` (or ``False``), so a template states
    only what is true."""
    config = pool.config
    sharing, payments, currency = config.sharing, config.payments, config.currency
    caps = sharing.caps
    return {
        "fee": {
            "policy": sharing.management_fee.value,
            "rate_percent": format_percent(sharing.management_fee_rate)
            if sharing.management_fee == FeePolicy.RATE
            else None,
            "per_member": _amount(sharing.management_fee_per_member, currency)
            if sharing.management_fee == FeePolicy.FLAT
            else None,
        },
        "caps": {
            "any": caps.any,
            "per_case": _amount(caps.per_case, currency),
            "per_period": _amount(caps.per_period, currency),
            "per_year": _amount(caps.per_year, currency),
            "shortfall": caps.shortfall.value if caps.any else None,
        },
        "payments": {
            "model": payments.model.value,
            "retry_days": payments.retry_days,
            "unpaid": payments.unpaid.value,
            "low_balance": format_minor(to_minor(payments.low_balance, currency), currency),
            "refunds": payments.refunds.value,
        },
        "sharing": {
            "calendar": sharing.calendar.value,
            "notice_days": list(sharing.notice_days or ()),
            "deduction_days": list(sharing.deduction_days or ()),
            "rounding": sharing.rounding.value,
            "weights": sharing.weights.value,
            "waiting_members_share": sharing.waiting_members_share,
        },
    }


def event_titles(pool: PoolRecord, locale: str) -> dict[str, str]:
    """The cohort's event kinds by key, titled in ``locale`` (a claim's ``kind`` in a notice)."""
    return {kind.key: kind.title_for(locale) for kind in pool.cohort.event_kinds}


def claim_rows(session: Session, pool: PoolRecord, condition: Any, locale: str) -> list[dict[str, Any]]:
    """Claims for others to read: the claimant's name masked, never their ID number; the event,
    the claimant's home city (when known), the benefit and what was funded of it."""
    currency, cohort = pool.currency, pool.cohort
    rows: Iterable[Any] = session.execute(
        select(Claim, Member.name, Member.city)
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.pool_id == pool.id, condition)
        .order_by(Claim.id)
    ).all()
    out = []
    for claim, name, city in rows:
        kind = cohort.event_kind(claim.event_kind)
        benefit = claim.benefit_minor or 0
        funded = claim.funded_minor if claim.funded_minor is not None else benefit
        out.append(
            {
                "id": claim.id,
                "claimant": mask_name(name),
                "city": city,
                "kind": kind.title_for(locale) if kind else claim.event_kind,
                "event_date": claim.event_date.isoformat(),
                "filed_on": claim.filed_on.isoformat(),
                "benefit": format_minor(benefit, currency),
                "funded": format_minor(funded, currency),
                "prorated": funded != benefit,
            }
        )
    return out
