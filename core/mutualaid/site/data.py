"""What the public site shows, read as aggregates: one row per period shared, the claims each
funded (claimants masked), each period's ledger movements by account (``GROUP BY``), the books'
balances, the ledger's head from the pool's row. Never one row per member."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Claim, LedgerEntry, LedgerLine, Pool, SharingRun
from ..ledger import account_balances
from ..money import format_minor
from ..notices.kinds.common import claim_rows
from ..pools import PoolRecord

__all__ = ["PeriodRow", "SiteData", "read_site_data"]


@dataclass(frozen=True)
class PeriodRow:
    """One period shared: the run's figures (minor units) and what the site lists of it."""

    run_id: int
    period: str
    notice_date: str
    deduction_date: str
    members: int
    claims: int
    aid_minor: int
    fee_minor: int
    surplus_in_minor: int
    surplus_out_minor: int
    need_minor: int
    share_minor: int
    charged_minor: int
    charge_rows: int
    extra_count: int
    sponsor_minor: int
    cases: list[dict[str, Any]] = field(default_factory=list)
    books: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SiteData:
    """Everything the site shows that is read from the database."""

    periods: list[PeriodRow]
    balances: dict[str, int]
    ledger_seq: int
    ledger_head: str | None


def read_site_data(session: Session, pool: PoolRecord, locale: str) -> SiteData:
    runs = session.execute(
        select(
            SharingRun.id,
            SharingRun.period,
            SharingRun.notice_date,
            SharingRun.deduction_date,
            SharingRun.members_count,
            SharingRun.claims_count,
            SharingRun.aid_minor,
            SharingRun.fee_minor,
            SharingRun.surplus_in_minor,
            SharingRun.surplus_out_minor,
            SharingRun.need_minor,
            SharingRun.share_minor,
            SharingRun.charged_minor,
            SharingRun.charge_rows,
            SharingRun.extra_count,
            SharingRun.sponsor_minor,
        )
        .where(SharingRun.pool_id == pool.id)
        .order_by(SharingRun.notice_date, SharingRun.id)
    ).all()
    books: dict[int, dict[str, int]] = defaultdict(dict)
    for run_id, account, amount in session.execute(
        select(LedgerEntry.run_id, LedgerLine.account, func.sum(LedgerLine.amount_minor))
        .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
        .where(LedgerEntry.pool_id == pool.id, LedgerEntry.run_id.is_not(None))
        .group_by(LedgerEntry.run_id, LedgerLine.account)
    ).all():
        books[int(run_id or 0)][str(account)] = int(amount)
    cases: dict[int, list[dict[str, Any]]] = defaultdict(list)
    funded = claim_rows(session, pool, Claim.sharing_run_id.is_not(None), locale)
    run_of = dict(
        session.execute(
            select(Claim.id, Claim.sharing_run_id).where(Claim.pool_id == pool.id, Claim.sharing_run_id.is_not(None))
        ).all()
    )
    for row in funded:
        cases[int(run_of[row["id"]] or 0)].append(row)
    periods = [
        PeriodRow(
            run_id=r.id,
            period=r.period,
            notice_date=r.notice_date.isoformat(),
            deduction_date=r.deduction_date.isoformat(),
            members=int(r.members_count),
            claims=int(r.claims_count),
            aid_minor=int(r.aid_minor),
            fee_minor=int(r.fee_minor),
            surplus_in_minor=int(r.surplus_in_minor),
            surplus_out_minor=int(r.surplus_out_minor),
            need_minor=int(r.need_minor),
            share_minor=int(r.share_minor),
            charged_minor=int(r.charged_minor),
            charge_rows=int(r.charge_rows),
            extra_count=int(r.extra_count),
            sponsor_minor=int(r.sponsor_minor),
            cases=cases.get(r.id, []),
            books=dict(sorted(books.get(r.id, {}).items())),
        )
        for r in runs
    ]
    seq, head = session.execute(select(Pool.ledger_seq, Pool.ledger_head).where(Pool.id == pool.id)).one()
    return SiteData(periods, dict(sorted(account_balances(session, pool.id).items())), int(seq or 0), head)


def money(minor: int, currency: str) -> str:
    return format_minor(minor, currency)
