"""The charges of one run: counting the members who share, planning what each owes, freezing
prepaid members a balance does not cover, and writing every charge in one ``INSERT ... SELECT``.

The charges table is designed for that write: a natural (run, member) key and no other index. The
amount each member pays is computed in the statement (their weight class's share, the extra minor
unit if the rotation gives them one, capped per period, per case and per year), so no member row
ever reaches Python. :func:`verify_written` then checks what the database holds against the plan
before anything is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..db.models import Charge, Member, SharingRun
from ..db.partitions import insert_run_charges
from ..db.runs import live_run
from ..errors import StateError, ValidationError
from ..ledger.digests import charge_figures
from ..members import lifecycle
from ..money import to_minor
from ..periods import Period
from ..plugins import Plugins
from ..pools import PoolRecord
from ..vocabulary import ShortfallPolicy, Weighting
from .plan import Funding, SharingPlan, fund, plan_sharing, uniform_cap
from .sharers import (
    Counts,
    by_weight,
    count_sharers,
    extra_condition,
    rotation_start,
    sharing_members_condition,
    weight_expr,
)

__all__ = ["Caps", "Covers", "RunCharges", "Written", "freeze_cause", "verify_written"]

#: Prepaid coverage, given by the payments domain: SQL that is true when a member's balance
#: covers the amount (an SQL expression over the member), told with ``least=`` the smallest value
#: that amount takes. ``None`` for a postpaid pool.
Covers = Callable[..., ColumnElement[bool]]


@dataclass(frozen=True, slots=True)
class Caps:
    """The caps that bind this period, in minor units."""

    uniform: int | None  # per case x claims, per period: the same for everyone
    per_year: int | None
    year_runs: tuple[int, ...]  # this calendar year's earlier runs, when the year's cap may bind


@dataclass(frozen=True, slots=True)
class Written:
    """What the charges of a run came to, counted in the database."""

    rows: int
    total: int
    largest: int
    digest: str  # SHA-256 of the charges (mutualaid.ledger.digests)
    capped: int
    extra_from: int
    extra_to: int


def _caps(session: Session, pool: PoolRecord, period: Period, claims: int, largest: int) -> Caps:
    caps = pool.config.sharing.caps
    uniform = uniform_cap(caps, pool.currency, claims)
    if caps.per_year is None:
        return Caps(uniform, None, ())
    year_cap = to_minor(caps.per_year, pool.currency)
    runs = session.execute(
        select(SharingRun.id, SharingRun.max_charge_minor).where(
            SharingRun.pool_id == pool.id,
            SharingRun.notice_date >= date(period.notice_date.year, 1, 1),
            SharingRun.notice_date < period.notice_date,
            live_run(SharingRun.id),
        )
    ).all()
    most_paid = sum(int(m) for _, m in runs)
    this_run = min(largest, uniform) if uniform is not None else largest
    if most_paid + this_run <= year_cap:
        # Nobody can reach the year's cap this period: no need to look at anyone's year so far.
        return Caps(uniform, None, ())
    return Caps(uniform, year_cap, tuple(int(r) for r, _ in runs))


def freeze_cause(period: str, run_id: int) -> str:
    """Why a prepaid run froze a member, as their history records it (naming the run)."""
    return f"balance too low for the share of period {period} (run #{run_id})"


def _least(a: Any, b: Any) -> Any:
    return case((a > b, b), else_=a)


class RunCharges:
    """The SQL side of one run: counting, freezing and charging the members of one period.

    :param covers: prepaid coverage (see :data:`Covers`), or ``None`` for a postpaid pool.
    """

    def __init__(
        self,
        session: Session,
        pool: PoolRecord,
        period: Period,
        *,
        aid: int,
        claims: int,
        surplus_in: int,
        carried_in: int,
        covers: Covers | None = None,
    ) -> None:
        self.session = session
        self.pool = pool
        self.period = period
        self.aid, self.claims, self.surplus_in, self.carried_in = aid, claims, surplus_in, carried_in
        sharing = pool.config.sharing
        weights = pool.cohort.rules.sharing_weights(pool.settings) if sharing.weights == Weighting.COHORT else None
        self.bands = tuple(w for _, w in weights.bands) if weights else (1,)
        self.weight = weight_expr(weights, period.notice_date)
        self.base_cond = sharing_members_condition(pool, period)
        self.covers = covers
        self.filters: list[ColumnElement[bool]] = []  # prepaid: the balance covers the share
        self.start = rotation_start(session, pool) if sharing.rounding == "exact" else None
        self.frozen = 0
        self._all_covered = False  # prepaid: every member covered has a balance that covers the share
        self._plan: SharingPlan | None = None
        self.caps = Caps(None, None, ())

    @property
    def cond(self) -> ColumnElement[bool]:
        """The members who share this period."""
        return and_(self.base_cond, *self.filters)

    @property
    def walk(self) -> ColumnElement[bool]:
        """The same members, for walking the sharing index from the rotation's starting point."""
        return and_(sharing_members_condition(self.pool, self.period, for_walk=True), *self.filters)

    def _make_plan(self, counts: Counts) -> SharingPlan:
        sharing = self.pool.config.sharing
        try:
            return plan_sharing(
                aid=self.aid,
                fee_rate=sharing.management_fee_rate,
                fee_policy=sharing.management_fee,
                fee_per_member=to_minor(sharing.management_fee_per_member, self.pool.currency),
                surplus_in=self.surplus_in,
                carried_in=self.carried_in,
                weights=counts.weights,
                counts=counts.counts,
                rounding=sharing.rounding,
            )
        except ValidationError as exc:
            raise ValidationError(
                [f"pool {self.pool.key!r}, period {self.period.key}: {p}" for p in exc.problems]
            ) from None

    def _required(self, plan: SharingPlan) -> dict[int, int]:
        """The most each weight's members could be asked for: what a prepaid balance must cover."""
        bump = 1 if plan.extra else 0
        required = {w: s + bump for w, s in zip(plan.weights, plan.shares, strict=True)}
        if self.caps.uniform is not None:
            required = {w: min(r, self.caps.uniform) for w, r in required.items()}
        return required

    def _covered(self, covers: Covers, required: dict[int, int]) -> ColumnElement[bool]:
        """Prepaid: the member's balance covers the most the period could ask of them. When every
        member is asked the same amount, that amount is the least, which lets :data:`Covers` pick
        a form the database can join rather than look up member by member."""
        amounts = set(required.values())
        least = next(iter(amounts)) if self.weight is None or len(amounts) == 1 else 0
        return covers(by_weight(self.weight, required), least=least)

    def plan(self) -> SharingPlan:
        """Count the members who share and plan the period; with prepaid coverage, only the members
        whose balance covers the most they could be asked for share. Fewer members raise the share,
        so the count is repeated until it settles (the share only ever rises)."""
        counts = count_sharers(self.session, self.cond, self.weight, self.bands)
        everyone = sum(counts.counts)
        plan = self._make_plan(counts)
        self.caps = _caps(self.session, self.pool, self.period, self.claims, plan.largest_charge)
        if self.covers is not None:
            for _ in range(64):
                required = self._required(plan)
                self.filters = [self._covered(self.covers, required)]
                covered = count_sharers(self.session, self.cond, self.weight, self.bands)
                self._all_covered = sum(covered.counts) == everyone
                new_plan = self._make_plan(covered)
                settled = self._required(new_plan) == required
                plan = new_plan
                # Nobody's balance covers the share: the period has no sharers (with a flat fee
                # and no aid, a share of nothing would otherwise let everyone back in, and the
                # count would swing between all and none).
                if settled or plan.members == 0:
                    break
            else:  # pragma: no cover - the share rises with every round and is bounded by the need
                raise StateError("prepaid balances did not settle; nothing was charged")
            if self._all_covered:
                # Every member the period covers has a balance that covers the share: the filter
                # would only read each member's balance again, in the walk and in the insert. (The
                # pool is locked for the run, so no balance changes in between.)
                self.filters = []
            # Fewer members share a larger part: whether the year's cap can bind is decided again on
            # the share they are actually asked for.
            self.caps = _caps(self.session, self.pool, self.period, self.claims, plan.largest_charge)
        self._plan = plan
        return plan

    def freeze_uncovered(self, plugins: Plugins, run_id: int) -> None:
        """Prepaid: freeze the covered members whose balance cannot cover their share. When the
        last count of those whose balance covers it found every member the period covers, there
        is nobody to freeze, and the two statements that would look for them over the whole pool
        (each member's balance read again) are not run."""
        if self.covers is None or self._all_covered:
            return
        cause = freeze_cause(self.period.key, run_id)
        uncovered = and_(self.base_cond, ~self.cond)
        self.frozen = lifecycle.freeze_where(
            self.session, plugins, self.pool, uncovered, self.period.notice_date, cause
        )

    def _amounts(self, plan: SharingPlan) -> tuple[Any, Any, int, int]:
        """SQL for what each member pays before caps, with the rotation's extra minor unit."""
        base = by_weight(self.weight, dict(zip(plan.weights, plan.shares, strict=True)))
        if not plan.extra:
            return base, base, 0, 0
        extra_cond, extra_to = extra_condition(self.session, self.walk, plan.extra, self.start, plan.members)
        extra_from = self.start[1] if self.start else 0
        amount = base + case((extra_cond, literal(1)), else_=literal(0))
        return amount, amount, extra_from, extra_to

    def write_charges(self, run_id: int) -> Written:
        """Write every charge of the run in one ``INSERT ... SELECT``, then count what was written."""
        plan = self._plan
        if plan is None:  # pragma: no cover - plan() always comes first
            raise RuntimeError("a run's charges were written before it was planned")
        session = self.session
        amount, uncapped, extra_from, extra_to = self._amounts(plan)
        if self.caps.uniform is not None and plan.largest_charge > self.caps.uniform:
            amount = _least(amount, literal(self.caps.uniform))
        members: Any = Member
        if self.caps.per_year is not None:
            year = (
                select(Charge.member_id, func.sum(Charge.amount_minor).label("paid"))
                .where(Charge.run_id.in_(self.caps.year_runs))
                .group_by(Charge.member_id)
                .subquery()
            )
            remaining = literal(self.caps.per_year) - func.coalesce(year.c.paid, 0)
            amount = _least(amount, case((remaining < 0, literal(0)), else_=remaining))
            members = Member.__table__.outerjoin(year, year.c.member_id == Member.id)
        source = select(literal(run_id), Member.id, amount.label("amount")).select_from(members).where(self.cond)
        if min(plan.shares) == 0 or self.caps.per_year is not None or self.caps.uniform == 0:
            source = source.where(amount > 0)  # nobody is charged 0
        insert_run_charges(session.connection(), run_id, source)
        figures = charge_figures(session, run_id)
        rows, total = figures.rows, figures.total
        largest = plan.largest_charge if rows else 0
        capped = 0
        if amount is not uncapped:
            largest = int(session.scalar(select(func.max(Charge.amount_minor)).where(Charge.run_id == run_id)) or 0)
            counted = select(func.count()).select_from(members).where(and_(self.cond, uncapped > amount))
            capped = int(session.scalar(counted) or 0)
        return Written(rows, total, largest, figures.digest, capped, extra_from, extra_to)

    def no_charges(self, run_id: int) -> Written:
        """What a run that charges nobody wrote: no rows, and the digest of none."""
        return Written(0, 0, 0, charge_figures(self.session, run_id).digest, 0, 0, 0)


def _expected_rows(plan: SharingPlan) -> int | None:
    """Rows an uncapped run writes: one per sharing member, but nobody is charged 0, so with a share
    of 0 only the members paying an extra minor unit. ``None`` when weights make it depend on which
    members the extra units fall to."""
    if plan.charged == 0:
        return 0
    if min(plan.shares) > 0:
        return plan.members
    if len(plan.counts) == 1:
        return plan.extra
    return None


def verify_written(run_id: int, plan: SharingPlan, written: Written, caps: Caps, pool: PoolRecord) -> Funding:
    """Check the charges the database holds against the plan, then work out what the period funds.

    Uncapped, the rows and their total must be exactly the plan's. Capped, nobody may pay more
    than the plan asked of them or than the cap, and the total can only be lower.

    :raises StateError: when they differ (the pool's members changed during the run): nothing is
        charged, as the caller's transaction rolls back.
    """
    capped = caps.uniform is not None or caps.per_year is not None
    problems = []
    if not capped or written.capped == 0:
        if written.total != plan.charged:
            problems.append(f"charges total {written.total}, planned {plan.charged}")
        expected = _expected_rows(plan)
        if not capped and expected is not None and written.rows != expected:
            problems.append(f"{written.rows} charges written, planned {expected}")
    else:
        if written.total > plan.charged:
            problems.append(f"capped charges total {written.total}, more than the uncapped plan's {plan.charged}")
        if caps.uniform is not None and written.largest > caps.uniform:
            problems.append(f"a member was charged {written.largest}, above the cap of {caps.uniform}")
    if written.rows > plan.members:
        problems.append(f"{written.rows} charges written for {plan.members} members")
    if problems:
        raise StateError(
            f"sharing run {run_id} does not reconcile ({'; '.join(problems)}); the pool's members probably "
            "changed during the run. Nothing was charged: run it again"
        )
    sharing = pool.config.sharing
    funding = fund(
        plan,
        written.total,
        policy=sharing.caps.shortfall if sharing.caps.any else ShortfallPolicy.SPONSOR,
        fee_policy=sharing.management_fee,
        fee_rate=sharing.management_fee_rate,
    )
    if not funding.balances(plan):  # pragma: no cover - an arithmetic bug, never a user mistake
        raise RuntimeError(f"sharing run {run_id} does not balance: {funding}")
    return funding
