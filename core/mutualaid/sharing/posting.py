"""A run's ledger entry: what members were charged and what it paid for, balanced to the minor
unit, with the figures that let ``ledger verify`` recount its charges and recheck its claims: the
charges' rows, total and SHA-256 digest, and the funded claims' digest and figures (member,
benefit, funded amount). Posted by the run itself, and by ``ledger backfill`` for runs shared
before the ledger existed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Claim, LedgerEntry, SharingRun
from ..ledger.digests import DIGEST_KIND, charge_figures, claim_rows, claims_digest
from ..ledger.posting import Line, post_entry
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool
from ..vocabulary import Account, EntryKind, PaymentModel
from ..wording import plural
from .plan import Funding, SharingPlan

__all__ = ["backfill_ledger", "post_run"]


def post_run(
    session: Session,
    pool: PoolRecord,
    run: SharingRun,
    funding: Funding,
    plan: SharingPlan,
    claim_ids: list[int],
    funded: list[int],
) -> None:
    """The run's ledger entry: members' charges and what they paid for, balanced to the minor unit.

    The run's claims must already be marked shared by it (their digest is taken from the database)."""
    members_account = Account.MEMBER_BALANCES if run.payment_model == PaymentModel.PREPAID else Account.MEMBERS_DUE
    lines = [
        Line(members_account, funding.charged),
        Line(Account.SURPLUS, plan.surplus_in),
        Line(Account.SPONSOR_DUE, funding.sponsor),
        Line(Account.DEFICIT, funding.carried_out),
        Line(Account.DEFICIT, -plan.carried_in),
        *[Line(Account.AID_PAYABLE, -amount, claim_id=cid) for cid, amount in zip(claim_ids, funded, strict=True)],
        Line(Account.FEE_INCOME, -funding.fee),
        Line(Account.SURPLUS, -funding.surplus_out),
    ]
    claims = claim_rows(session, run.id)
    post_entry(
        session,
        pool.id,
        kind=EntryKind.SHARING,
        posted_on=run.notice_date,
        memo=f"sharing period {run.period}: {plural(run.members_count, 'member')}, {plural(len(claim_ids), 'claim')}",
        lines=lines,
        run_id=run.id,
        facts={
            "period": run.period,
            "members": run.members_count,
            "charged": funding.charged,
            "charge_rows": run.charge_rows,
            "digest_kind": DIGEST_KIND,
            "charge_digest": run.charge_digest or charge_figures(session, run.id).digest,
            "claims_digest": claims_digest(claims),
            # per claim: number, member, benefit, funded -- so that verify can name what changed
            "claim_figures": [[c[0], c[2], c[6], c[8]] for c in claims],
            "max_charge": run.max_charge_minor,
            "aid": plan.aid,
            "aid_funded": funding.aid_funded,
            "fee": funding.fee,
            "surplus_in": plan.surplus_in,
            "surplus_out": funding.surplus_out,
            "deficit_in": plan.carried_in,
            "deficit_out": funding.carried_out,
            "sponsor": funding.sponsor,
            "shortfall": funding.shortfall,
            "frozen": run.frozen_count,
        },
    )


def backfill_ledger(session: Session, plugins: Plugins, pool_key: str) -> list[str]:
    """Post the ledger entries of runs shared before the ledger existed (schema revision 0001), in
    period order, from their stored figures. Returns the periods posted (none the second time)."""
    pool = get_pool(session, plugins, pool_key)
    posted = select(LedgerEntry.run_id).where(
        LedgerEntry.pool_id == pool.id, LedgerEntry.kind == EntryKind.SHARING, LedgerEntry.run_id.is_not(None)
    )
    runs = session.scalars(
        select(SharingRun)
        .where(SharingRun.pool_id == pool.id, SharingRun.id.not_in(posted))
        .order_by(SharingRun.notice_date, SharingRun.id)
    ).all()
    periods = []
    for run in runs:
        funded = session.execute(
            select(Claim.id, func.coalesce(Claim.funded_minor, Claim.benefit_minor, 0))
            .where(Claim.sharing_run_id == run.id)
            .order_by(Claim.id)
        ).all()
        plan = SharingPlan(
            aid=run.aid_minor,
            fee=run.fee_minor,
            surplus_in=run.surplus_in_minor,
            carried_in=run.carried_in_minor,
            need=run.need_minor,
            left_over=0,
            rounding=run.rounding,
        )
        funding = Funding(
            run.charged_minor,
            run.aid_funded_minor or run.aid_minor,
            run.fee_minor,
            run.surplus_out_minor,
            run.sponsor_minor,
            run.carried_out_minor,
            run.shortfall_minor,
        )
        post_run(session, pool, run, funding, plan, [c for c, _ in funded], [int(a) for _, a in funded])
        periods.append(run.period)
    return periods
