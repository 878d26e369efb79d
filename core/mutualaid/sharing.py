"""Sharing runs: what a period owes, and one charge per sharing member, exact to the minor unit.

A run is planned in Python (a handful of integers) and applied to the members in SQL: one
``INSERT ... SELECT`` over the members table writes every charge, whatever the pool's size.

    need          = aid amount + management fee - surplus carried in   (never below 0)
    charged total = need + surplus out

Rounding policies: ``round-up`` charges everyone the need divided by the members sharing, rounded
up to the minor unit, and carries the excess as surplus; ``exact`` charges ``need // members`` to
everyone and one minor unit more to the ``need % members`` members with the lowest member numbers,
so the charges sum exactly to the need. A period is shared at most once (a unique key on
pool and period makes a second or concurrent run fail).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from .errors import AlreadySharedError, NotFoundError, StateError, ValidationError
from .models import Charge, Claim, Member, SharingRun
from .money import format_minor, format_percent, from_minor, round_rate, split_exact, split_round_up
from .periods import Period, parse_period
from .plugins import Plugins
from .pools import PoolRecord, get_pool

__all__ = [
    "Reconciliation",
    "SharingPlan",
    "SharingResult",
    "get_run",
    "plan_sharing",
    "reconcile_run",
    "run_sharing",
    "sharing_members_condition",
]


@dataclass(frozen=True, slots=True)
class SharingPlan:
    """What one period owes and how it is split; all amounts in minor units."""

    members: int
    aid: int
    fee: int
    surplus_in: int
    need: int
    share: int
    extra: int
    surplus_out: int
    rounding: str

    @property
    def charged(self) -> int:
        return self.share * self.members + self.extra

    def reconciles(self) -> bool:
        """``charged == aid + fee - surplus_in + surplus_out``, to the minor unit."""
        return self.charged == self.aid + self.fee - self.surplus_in + self.surplus_out


def plan_sharing(*, aid: int, fee_rate: Decimal, surplus_in: int, members: int, rounding: str) -> SharingPlan:
    """Plan a period: the fee, the need, each share, the surplus carried out.

    A surplus larger than the period's cost pays all of it and the rest is carried on.
    With no members and nothing to share the plan is empty; with a need but no members it is a
    :class:`ValidationError`.
    """
    if aid < 0 or surplus_in < 0 or members < 0:
        raise ValueError("aid, surplus and member count cannot be negative")
    fee = round_rate(aid, fee_rate)
    cost = aid + fee
    need = max(cost - surplus_in, 0)
    left_over = max(surplus_in - cost, 0)
    if need == 0:
        return SharingPlan(members, aid, fee, surplus_in, 0, 0, 0, left_over, rounding)
    if members == 0:
        raise ValidationError(
            [
                "no member shares this period, so its cost of "
                f"{need} minor units cannot be shared; check the pool's members and the period"
            ]
        )
    if rounding == "round-up":
        up = split_round_up(need, members)
        return SharingPlan(members, aid, fee, surplus_in, need, up.share, 0, up.surplus + left_over, rounding)
    if rounding == "exact":
        ex = split_exact(need, members)
        return SharingPlan(members, aid, fee, surplus_in, need, ex.base, ex.extra, left_over, rounding)
    raise ValueError(f"unknown rounding policy {rounding!r}")


@dataclass(frozen=True, slots=True)
class SharingResult:
    """A stored sharing run's figures (minor units) and the claims it funded."""

    run_id: int
    pool_key: str
    period: str
    notice_date: date
    deduction_date: date
    currency: str
    rounding: str
    fee_rate: Decimal
    members: int
    claims: int
    aid_minor: int
    fee_minor: int
    surplus_in_minor: int
    surplus_out_minor: int
    need_minor: int
    share_minor: int
    extra_count: int
    charged_minor: int
    created_at: datetime

    def reconciles(self) -> bool:
        return self.charged_minor == self.aid_minor + self.fee_minor - self.surplus_in_minor + self.surplus_out_minor

    def amount(self, minor: int) -> Decimal:
        return from_minor(minor, self.currency)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in list(data):
            if key.endswith("_minor"):
                data[key[: -len("_minor")]] = str(from_minor(data.pop(key), self.currency))
        data["notice_date"] = self.notice_date.isoformat()
        data["deduction_date"] = self.deduction_date.isoformat()
        data["created_at"] = self.created_at.isoformat()
        data["fee_rate"] = str(self.fee_rate)
        data["reconciles"] = self.reconciles()
        return data

    def lines(self) -> list[tuple[str, str]]:
        fmt = lambda m: format_minor(m, self.currency)  # noqa: E731
        rows = [
            (
                "period",
                f"{self.period} (members counted at 00:00 on {self.notice_date}, deducted on {self.deduction_date})",
            ),
            ("claims funded", str(self.claims)),
            ("aid amount", fmt(self.aid_minor)),
            ("management fee", f"{fmt(self.fee_minor)} ({format_percent(self.fee_rate)}% of the aid amount)"),
            ("surplus carried in", ("-" if self.surplus_in_minor else "") + fmt(self.surplus_in_minor)),
            ("to share", fmt(self.need_minor)),
            ("members sharing", f"{self.members:,}"),
        ]
        if self.rounding == "exact" and self.extra_count:
            rows.append(
                (
                    "share",
                    f"{fmt(self.share_minor)}; {self.extra_count:,} members pay {fmt(self.share_minor + 1)} (exact apportionment)",
                )
            )
        else:
            rows.append(("share", f"{fmt(self.share_minor)} per member ({self.rounding})"))
        rows += [
            ("charged in total", fmt(self.charged_minor)),
            ("surplus carried out", fmt(self.surplus_out_minor)),
            ("reconciles", "yes: charged = aid + fee - surplus in + surplus out" if self.reconciles() else "NO"),
        ]
        return rows


def _result(run: SharingRun, pool: PoolRecord) -> SharingResult:
    return SharingResult(
        run_id=run.id,
        pool_key=pool.key,
        period=run.period,
        notice_date=run.notice_date,
        deduction_date=run.deduction_date,
        currency=pool.currency,
        rounding=run.rounding,
        fee_rate=Decimal(run.fee_rate),
        members=run.members_count,
        claims=run.claims_count,
        aid_minor=run.aid_minor,
        fee_minor=run.fee_minor,
        surplus_in_minor=run.surplus_in_minor,
        surplus_out_minor=run.surplus_out_minor,
        need_minor=run.need_minor,
        share_minor=run.share_minor,
        extra_count=run.extra_count,
        charged_minor=run.charged_minor,
        created_at=run.created_at if run.created_at.tzinfo else run.created_at.replace(tzinfo=UTC),
    )


def sharing_members_condition(pool: PoolRecord, period: Period) -> ColumnElement[bool]:
    """SQL condition for the members who share ``period``: covered at 00:00 on its notice day."""
    day = period.notice_date
    cond = and_(
        Member.pool_id == pool.id,
        Member.joined_on < day,
        or_(Member.ended_on.is_(None), Member.ended_on >= day),
        Member.status != "frozen",
    )
    if not pool.definition.config.sharing.waiting_members_share:
        cond = and_(cond, Member.waiting_until < day)
    return cond


def _existing(session: Session, pool: PoolRecord, period: str) -> SharingRun | None:
    return session.scalar(select(SharingRun).where(SharingRun.pool_id == pool.id, SharingRun.period == period))


def _refuse_twice(pool: PoolRecord, run: SharingRun) -> AlreadySharedError:
    return AlreadySharedError(
        f"period {run.period} of pool {pool.key!r} was already shared (run #{run.id}, {run.members_count:,} members "
        f"charged); nothing was charged again. See 'mutualaid share show {pool.key} --period {run.period}'"
    )


def run_sharing(session: Session, plugins: Plugins, pool_key: str, period_key: str) -> SharingResult:
    """Share a period's approved claims among the members covered at its cut-off.

    Atomic (inside the caller's transaction) and idempotent: a period already shared raises
    :class:`AlreadySharedError` and charges nothing.
    """
    pool = get_pool(session, plugins, pool_key)
    config = pool.definition.config
    period = parse_period(period_key, config)
    existing = _existing(session, pool, period.key)
    if existing is not None:
        raise _refuse_twice(pool, existing)
    last = session.scalar(
        select(SharingRun)
        .where(SharingRun.pool_id == pool.id)
        .order_by(SharingRun.notice_date.desc(), SharingRun.id.desc())
        .limit(1)
    )
    if last is not None and last.notice_date >= period.notice_date:
        raise StateError(
            f"period {period.key} comes before the last shared period {last.period} of pool {pool.key!r}; "
            "periods are shared in order"
        )
    # The claims this run funds, locked so that a claim approved meanwhile waits for the next run
    # instead of being marked shared without being in this run's aid. A period has few claims.
    funded = session.execute(
        select(Claim.id, Claim.benefit_minor)
        .where(Claim.pool_id == pool.id, Claim.status == "approved", Claim.sharing_run_id.is_(None))
        .order_by(Claim.id)
        .with_for_update()
    ).all()
    claim_ids = [claim_id for claim_id, _ in funded]
    aid = sum(int(benefit or 0) for _, benefit in funded)
    members_cond = sharing_members_condition(pool, period)
    members = int(session.scalar(select(func.count()).select_from(Member).where(members_cond)) or 0)
    try:
        plan = plan_sharing(
            aid=aid,
            fee_rate=config.sharing.management_fee_rate,
            surplus_in=last.surplus_out_minor if last is not None else 0,
            members=members,
            rounding=config.sharing.rounding,
        )
    except ValidationError as exc:
        raise ValidationError([f"pool {pool.key!r}, period {period.key}: {p}" for p in exc.problems]) from None

    run = SharingRun(
        pool_id=pool.id,
        period=period.key,
        notice_date=period.notice_date,
        deduction_date=period.deduction_date,
        rounding=plan.rounding,
        fee_rate=str(config.sharing.management_fee_rate),
        members_count=plan.members,
        claims_count=len(claim_ids),
        aid_minor=plan.aid,
        fee_minor=plan.fee,
        surplus_in_minor=plan.surplus_in,
        surplus_out_minor=plan.surplus_out,
        need_minor=plan.need,
        share_minor=plan.share,
        extra_count=plan.extra,
        charged_minor=plan.charged,
        created_at=datetime.now(UTC),
    )
    session.add(run)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Another process shared the same period between our check and our write.
        winner = _existing(session, pool, period.key)
        if winner is None:
            raise
        raise _refuse_twice(pool, winner) from None

    if plan.charged > 0:
        _write_charges(session, run.id, plan, members_cond)
    _verify(session, run.id, plan)
    if claim_ids:
        session.execute(update(Claim).where(Claim.id.in_(claim_ids)).values(status="shared", sharing_run_id=run.id))
    result = _result(run, pool)
    plugins.hook.sharing_completed(pool=config, result=result)
    return result


def _write_charges(session: Session, run_id: int, plan: SharingPlan, members_cond: ColumnElement[bool]) -> None:
    amount: Any = literal(plan.share)
    threshold: int | None = None
    if plan.extra:
        # The member number of the extra-th sharing member, found once; members up to it pay one more.
        threshold = session.scalar(
            select(Member.id).where(members_cond).order_by(Member.id).offset(plan.extra - 1).limit(1)
        )
        amount = case((Member.id <= threshold, literal(plan.share + 1)), else_=literal(plan.share))
    source = select(literal(run_id), Member.id, amount).where(members_cond)
    if plan.share == 0:
        source = source.where(Member.id <= threshold)  # only the members who pay one minor unit
    session.execute(insert(Charge).from_select(["run_id", "member_id", "amount_minor"], source))


def _expected_rows(members: int, share: int, extra: int) -> int:
    """How many charge rows a run writes: one per sharing member, or, when the share rounds to 0,
    one per member paying the extra minor unit (nobody is charged 0)."""
    return members if share > 0 else extra


def _count_charges(session: Session, run_id: int) -> tuple[int, int]:
    """(rows, total in minor units) of a run's charges, counted in the database."""
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(Charge.amount_minor), 0)).where(Charge.run_id == run_id)
    ).one()
    return int(count), int(total)


def _verify(session: Session, run_id: int, plan: SharingPlan) -> None:
    count, total = _count_charges(session, run_id)
    expected_rows = _expected_rows(plan.members, plan.share, plan.extra)
    if total != plan.charged or count != expected_rows or not plan.reconciles():
        raise RuntimeError(
            f"sharing run {run_id} does not reconcile: wrote {count} charges totalling {total}, "
            f"planned {expected_rows} totalling {plan.charged}; nothing was saved"
        )


def get_run(session: Session, plugins: Plugins, pool_key: str, period_key: str) -> SharingResult:
    """The stored run of a period; a period not yet shared is a :class:`NotFoundError`."""
    pool = get_pool(session, plugins, pool_key)
    period = parse_period(period_key, pool.definition.config)
    run = _existing(session, pool, period.key)
    if run is None:
        raise NotFoundError(
            f"period {period.key} of pool {pool.key!r} has not been shared; run 'mutualaid share run {pool.key} --period {period.key}'"
        )
    return _result(run, pool)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """A stored run checked against its charge rows, recounted from the database."""

    run: SharingResult
    charge_rows: int
    charge_total_minor: int

    @property
    def expected_rows(self) -> int:
        return _expected_rows(self.run.members, self.run.share_minor, self.run.extra_count)

    @property
    def ok(self) -> bool:
        """Rows and their sum match the run, and the run's formula holds, to the minor unit."""
        return (
            self.charge_rows == self.expected_rows
            and self.charge_total_minor == self.run.charged_minor
            and self.run.reconciles()
        )


def reconcile_run(session: Session, plugins: Plugins, pool_key: str, period_key: str) -> Reconciliation:
    """Recount a period's charges from the database and check them against the run's figures."""
    run = get_run(session, plugins, pool_key, period_key)
    count, total = _count_charges(session, run.run_id)
    return Reconciliation(run=run, charge_rows=count, charge_total_minor=total)
