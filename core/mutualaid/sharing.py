"""Sharing runs: what a period owes, and one charge per sharing member, exact to the minor unit.

A run is planned in Python (a handful of integers) and applied to the members in SQL: one
``INSERT ... SELECT`` over the members table writes every charge, whatever the pool's size.

    cost          = aid amount + management fee + deficit carried in
    need          = cost - surplus carried in                          (never below 0)
    charged       = need + surplus out - shortfall

and the run's ledger entry proves, to the minor unit::

    charged + surplus in + sponsor + deficit out = aid funded + fee + deficit in + surplus out

Policies, each a pool setting (``[sharing]``):

- rounding ``round-up``: everyone pays their part rounded up to the minor unit, the excess is
  carried to the next period as surplus (Xianghubao). ``exact``: parts are rounded down and the
  minor units left over go one each to that many members, in member-number order starting where
  the previous run stopped and wrapping round, so over the periods every member pays them in turn.
- management fee: a rate of the aid amount, a flat amount per member sharing, or none.
- weights: equal shares, or the cohort's weights by age band (apportioned exactly).
- caps per member: per claim funded, per period and per calendar year. When a cap binds, the
  shortfall is paid by the sponsor, carried to the next period, or the period's benefits are
  prorated -- always recorded in the run and in the ledger.
- payments: in a prepaid pool only members whose balance covers the most the period could ask of
  them share; the others are frozen (rights suspended) and the charges are deducted from balances.

A period is shared at most once and in order; the run is atomic (inside the caller's transaction)
and serialised per pool (the pool row is locked, and on PostgreSQL the members table is locked
against writes for the run's few seconds, so the count and the charges see the same members).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic
from sqlalchemy import and_, case, func, insert, literal, or_, select, text, true, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from .cohort import SharingWeights
from .config import CapsConfig, PoolConfig, SharingConfig, format_validation_error, load_pool_file
from .errors import AlreadySharedError, NotFoundError, StateError, ValidationError
from .ledger import Line, account_balances, charge_figures, post_entry
from .models import Balance, Charge, Claim, LedgerEntry, Member, MemberStatusChange, Pool, SharingRun
from .money import (
    apportion,
    format_minor,
    format_percent,
    from_minor,
    largest_aid_within,
    round_rate,
    split_weighted,
    to_minor,
)
from .payments import after_deduction, settle_payments
from .periods import Period, parse_period
from .plugins import Plugins
from .pools import PoolRecord, get_pool
from .wording import plural

__all__ = [
    "Reconciliation",
    "SharingPlan",
    "SharingResult",
    "backfill_ledger",
    "get_run",
    "plan_from_inputs",
    "plan_sharing",
    "reconcile_run",
    "run_sharing",
    "settle_shortfall",
    "sharing_members_condition",
]


@dataclass(frozen=True, slots=True)
class SharingPlan:
    """What one period owes and how it is split, before caps; all amounts in minor units.

    ``weights``/``counts``/``shares`` describe the classes of members (one class of weight 1
    without weights); with exact rounding ``extra`` members pay one minor unit more.
    """

    aid: int
    fee: int
    surplus_in: int
    carried_in: int
    need: int
    left_over: int
    rounding: str
    weights: tuple[int, ...] = (1,)
    counts: tuple[int, ...] = (0,)
    shares: tuple[int, ...] = (0,)
    extra: int = 0

    @property
    def members(self) -> int:
        return sum(self.counts)

    @property
    def share(self) -> int:
        """The share of the lightest class (everyone's share without weights)."""
        return self.shares[0]

    @property
    def charged(self) -> int:
        return sum(c * s for c, s in zip(self.counts, self.shares, strict=True)) + self.extra

    @property
    def surplus_out(self) -> int:
        return self.charged - self.need + self.left_over

    @property
    def total_weight(self) -> int:
        return sum(c * w for c, w in zip(self.counts, self.weights, strict=True))

    @property
    def largest_charge(self) -> int:
        """The most any one member is asked for (before caps)."""
        populated = [s for s, c in zip(self.shares, self.counts, strict=True) if c]
        if not populated:
            return 0
        return max(populated) + (1 if self.extra else 0)

    def reconciles(self) -> bool:
        """``charged == aid + fee + carried in - surplus in + surplus out``, to the minor unit."""
        return self.charged == self.aid + self.fee + self.carried_in - self.surplus_in + self.surplus_out


def _fee(aid: int, members: int, config_fee: str, rate: Decimal, per_member: int) -> int:
    if config_fee == "rate":
        return round_rate(aid, rate)
    if config_fee == "flat":
        return per_member * members if (aid or members) else 0
    return 0


def plan_sharing(
    *,
    aid: int,
    fee_rate: Decimal,
    surplus_in: int,
    members: int | None = None,
    rounding: str,
    weights: tuple[int, ...] = (1,),
    counts: tuple[int, ...] | None = None,
    fee_policy: str = "rate",
    fee_per_member: int = 0,
    carried_in: int = 0,
) -> SharingPlan:
    """Plan a period: the fee, the need, each class's share, the surplus carried out.

    Give ``members`` for equal shares, or ``weights`` and ``counts`` (members per weight) for
    weighted shares. A surplus larger than the period's cost pays all of it and the rest is
    carried on. With a need but no members it is a :class:`ValidationError`.
    """
    if counts is None:
        counts = (members or 0,)
        weights = (1,)
    if aid < 0 or surplus_in < 0 or carried_in < 0 or any(c < 0 for c in counts):
        raise ValueError("aid, surplus, deficit and member counts cannot be negative")
    if rounding not in ("round-up", "exact"):
        raise ValueError(f"unknown rounding policy {rounding!r}")
    total_members = sum(counts)
    fee = _fee(aid, total_members, fee_policy, fee_rate, fee_per_member) if aid or fee_policy == "flat" else 0
    if fee_policy == "flat" and total_members == 0:
        fee = 0
    cost = aid + fee + carried_in
    need = max(cost - surplus_in, 0)
    left_over = max(surplus_in - cost, 0)
    if need == 0:
        return SharingPlan(
            aid,
            fee,
            surplus_in,
            carried_in,
            0,
            left_over,
            rounding,
            weights=weights,
            counts=counts,
            shares=tuple(0 for _ in counts),
        )
    if total_members == 0:
        raise ValidationError(
            [
                "no member shares this period, so its cost of "
                f"{need} minor units cannot be shared; check the pool's members and the period"
            ]
        )
    split = split_weighted(need, tuple(weights), tuple(counts), exact=rounding == "exact")
    return SharingPlan(
        aid,
        fee,
        surplus_in,
        carried_in,
        need,
        left_over,
        rounding,
        weights=tuple(weights),
        counts=tuple(counts),
        shares=split.shares,
        extra=split.extra,
    )


@dataclass(frozen=True, slots=True)
class Settlement:
    """A period's final figures once the charges are written (caps may have bound)."""

    charged: int
    aid_funded: int
    fee: int
    surplus_out: int
    sponsor: int
    carried_out: int
    shortfall: int

    def balances(self, plan: SharingPlan) -> bool:
        return (
            self.charged + plan.surplus_in + self.sponsor + self.carried_out
            == self.aid_funded + self.fee + plan.carried_in + self.surplus_out
        )


def settle_shortfall(plan: SharingPlan, charged: int, *, policy: str, fee_policy: str, fee_rate: Decimal) -> Settlement:
    """Who bears what caps kept members from paying (``plan.need + surplus - charged``).

    ``sponsor``: the sponsor pays it. ``carry``: it is owed by the next period. ``prorate``: the
    period funds less aid (and, with a fee rate, a fee on the aid actually funded); a fee or a
    deficit that still cannot be met is carried.
    """
    delta = charged - plan.need
    if delta >= 0:
        return Settlement(charged, plan.aid, plan.fee, delta + plan.left_over, 0, 0, 0)
    shortfall = -delta
    if policy == "sponsor":
        return Settlement(charged, plan.aid, plan.fee, 0, shortfall, 0, shortfall)
    if policy == "carry":
        return Settlement(charged, plan.aid, plan.fee, 0, 0, shortfall, shortfall)
    if policy != "prorate":
        raise ValueError(f"unknown shortfall policy {policy!r}")
    # What this period can fund: what members paid plus the surplus carried in, less the deficit.
    budget = charged + plan.surplus_in - plan.carried_in
    if fee_policy == "rate":
        aid = min(largest_aid_within(budget, fee_rate), plan.aid)
        fee = round_rate(aid, fee_rate)
    else:
        fee = min(plan.fee, max(budget, 0))
        aid = min(max(budget - fee, 0), plan.aid)
    left = budget - aid - fee  # a minor unit the rounding of the fee could not use, or a deficit
    if left >= 0:
        return Settlement(charged, aid, fee, left, 0, 0, shortfall)
    return Settlement(charged, aid, fee, 0, 0, -left, shortfall)


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
    fee_policy: str = "rate"
    payment_model: str = "postpaid"
    aid_funded_minor: int = 0
    carried_in_minor: int = 0
    carried_out_minor: int = 0
    sponsor_minor: int = 0
    shortfall_minor: int = 0
    shortfall_policy: str = "none"
    capped_count: int = 0
    charge_rows: int = 0
    max_charge_minor: int = 0
    charge_checksum: int = 0
    frozen_count: int = 0
    extra_from_id: int = 0
    extra_to_id: int = 0
    plan: dict[str, Any] = field(default_factory=dict)

    def reconciles(self) -> bool:
        """charged + surplus in + sponsor + deficit out = aid funded + fee + deficit in + surplus out."""
        return (
            self.charged_minor + self.surplus_in_minor + self.sponsor_minor + self.carried_out_minor
            == self.aid_funded_minor + self.fee_minor + self.carried_in_minor + self.surplus_out_minor
        )

    @property
    def uniformly_capped(self) -> bool:
        """Whether a cap bound and every member paid the same capped amount (``max_charge_minor``),
        less than the planned share (or than the share plus its extra minor unit)."""
        planned_top = self.share_minor + (1 if self.extra_count else 0)
        return (
            self.capped_count > 0
            and self.members > 0
            and self.max_charge_minor < planned_top
            and self.charged_minor == self.max_charge_minor * self.members
        )

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
        if self.run_id == 0:  # a plan worked out from inputs: no period, no dates
            head: list[tuple[str, str]] = []
        else:
            head = [
                (
                    "period",
                    f"{self.period} (members counted at 00:00 on {self.notice_date}, deducted on {self.deduction_date})",
                )
            ]
        if self.fee_policy == "rate":
            fee = f"{fmt(self.fee_minor)} ({format_percent(self.fee_rate)}% of the aid amount)"
        elif self.fee_policy == "flat":
            fee = f"{fmt(self.fee_minor)} (flat, per member sharing)"
        else:
            fee = f"{fmt(self.fee_minor)} (no fee)"
        rows = [
            *head,
            ("claims funded", str(self.claims)),
            ("aid amount", fmt(self.aid_minor)),
            ("management fee", fee),
        ]
        if self.carried_in_minor:
            rows.append(("deficit carried in", fmt(self.carried_in_minor)))
        rows += [
            ("surplus carried in", ("-" if self.surplus_in_minor else "") + fmt(self.surplus_in_minor)),
            ("to share", fmt(self.need_minor)),
            ("members sharing", f"{self.members:,}"),
        ]
        classes = self.plan.get("classes") or []
        if len(classes) > 1:
            parts = [f"weight {c['weight']}: {fmt(c['share'])} x {c['count']:,}" for c in classes]
            rows.append(("shares by weight", "; ".join(parts)))
            if self.extra_count:
                rows.append(("extra minor units", f"{self.extra_count:,} members pay one more (rotating)"))
        elif self.uniformly_capped:
            planned = fmt(self.share_minor) + (f" or {fmt(self.share_minor + 1)}" if self.extra_count else "")
            rows.append(("share", f"{fmt(self.max_charge_minor)} per member (capped from {planned})"))
        elif self.rounding == "exact" and self.extra_count:
            rows.append(
                (
                    "share",
                    f"{fmt(self.share_minor)}; {self.extra_count:,} members pay {fmt(self.share_minor + 1)} "
                    "(exact apportionment, rotating)",
                )
            )
        else:
            rows.append(("share", f"{fmt(self.share_minor)} per member ({self.rounding})"))
        if self.capped_count or self.shortfall_minor:
            rows.append(("capped members", f"{self.capped_count:,} paid less because of a cap"))
            rows.append(("shortfall", f"{fmt(self.shortfall_minor)} ({self.shortfall_policy})"))
        if self.sponsor_minor:
            rows.append(("paid by the sponsor", fmt(self.sponsor_minor)))
        if self.aid_funded_minor != self.aid_minor:
            rows.append(("aid funded (prorated)", fmt(self.aid_funded_minor)))
        if self.carried_out_minor:
            rows.append(("deficit carried out", fmt(self.carried_out_minor)))
        if self.frozen_count:
            rows.append(("members frozen", f"{self.frozen_count:,} (balance too low to cover the share)"))
        rows += [
            ("charged in total", fmt(self.charged_minor)),
            ("surplus carried out", fmt(self.surplus_out_minor)),
            ("reconciles", f"yes: {self._formula()}" if self.reconciles() else "NO"),
        ]
        return rows

    def _formula(self) -> str:
        simple = not (self.sponsor_minor or self.carried_in_minor or self.carried_out_minor)
        if simple and self.aid_funded_minor == self.aid_minor:
            return "charged = aid + fee - surplus in + surplus out"
        return "charged + surplus in + sponsor + deficit out = aid funded + fee + deficit in + surplus out"


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
        fee_policy=run.fee_policy,
        payment_model=run.payment_model,
        aid_funded_minor=run.aid_funded_minor,
        carried_in_minor=run.carried_in_minor,
        carried_out_minor=run.carried_out_minor,
        sponsor_minor=run.sponsor_minor,
        shortfall_minor=run.shortfall_minor,
        shortfall_policy=run.shortfall_policy,
        capped_count=run.capped_count,
        charge_rows=run.charge_rows,
        max_charge_minor=run.max_charge_minor,
        charge_checksum=run.charge_checksum,
        frozen_count=run.frozen_count,
        extra_from_id=run.extra_from_id,
        extra_to_id=run.extra_to_id,
        plan=json.loads(run.plan_json or "{}"),
    )


def sharing_members_condition(pool: PoolRecord, period: Period, *, for_walk: bool = False) -> ColumnElement[bool]:
    """SQL condition for the members covered at 00:00 on ``period``'s notice day (not frozen).

    ``for_walk`` writes the upper bound on the joining day in a form no index uses, so that a walk
    of the sharing index can start at a given (joining day, member number) instead.
    """
    day = period.notice_date
    joined = func.coalesce(Member.joined_on, Member.joined_on) if for_walk else Member.joined_on
    cond = and_(
        Member.pool_id == pool.id,
        joined < day,
        or_(Member.ended_on.is_(None), Member.ended_on >= day),
        Member.status != "frozen",
    )
    if not pool.definition.config.sharing.waiting_members_share:
        cond = and_(cond, Member.waiting_until < day)
    return cond


def _born_by(day: date, age: int) -> date:
    """The latest birth date of someone aged at least ``age`` on ``day`` (see cohort.age_on)."""
    try:
        return day.replace(year=day.year - age)
    except ValueError:  # 29 February in a year that has none: born by 28 February
        return day.replace(year=day.year - age, day=28)


def _weight_expr(weights: SharingWeights | None, day: date) -> Any:
    """SQL for a member's weight on ``day``, from their birth date; ``None`` without weights."""
    if weights is None or len(weights.bands) == 1:
        return None
    whens = [(Member.birth_date <= _born_by(day, age), literal(w)) for age, w in reversed(weights.bands[1:])]
    return case(*whens, else_=literal(weights.bands[0][1]))


def _by_weight(weight_expr: Any, values: dict[int, int]) -> Any:
    """SQL choosing ``values[weight]`` for each member (a literal when all are equal)."""
    distinct = set(values.values())
    if weight_expr is None or len(distinct) == 1:
        return literal(next(iter(distinct)))
    return case(*[(weight_expr == literal(w), literal(v)) for w, v in values.items()], else_=literal(0))


def _existing(session: Session, pool: PoolRecord, period: str) -> SharingRun | None:
    return session.scalar(select(SharingRun).where(SharingRun.pool_id == pool.id, SharingRun.period == period))


def _refuse_twice(pool: PoolRecord, run: SharingRun) -> AlreadySharedError:
    return AlreadySharedError(
        f"period {run.period} of pool {pool.key!r} was already shared (run #{run.id}, {run.members_count:,} members "
        f"charged); nothing was charged again. See 'mutualaid share show {pool.key} --period {run.period}'"
    )


@dataclass(frozen=True, slots=True)
class _Counts:
    weights: tuple[int, ...]
    counts: tuple[int, ...]


def _after(key: tuple[date, int] | None) -> ColumnElement[bool]:
    """Members after ``key`` in rotation order: by joining day, then member number. It is the order
    of the sharing index, so the n-th member is found by walking the index from ``key``."""
    if key is None:
        return true()
    return tuple_(Member.joined_on, Member.id) > tuple_(literal(key[0]), literal(key[1]))


def _count(session: Session, cond: ColumnElement[bool], weight_expr: Any, bands: tuple[int, ...]) -> _Counts:
    """Members sharing, per weight: one scan of the sharing index (one sum per weight rather than a
    GROUP BY, which would sort every member)."""
    weights = tuple(sorted(set(bands)))
    columns: list[Any] = [func.count()]
    if weight_expr is not None:
        columns += [func.coalesce(func.sum(case((weight_expr == w, 1), else_=0)), 0) for w in weights[1:]]
    row = [int(v) for v in session.execute(select(*columns).where(cond)).one()]
    counts = (row[0] - sum(row[1:]), *row[1:]) if weight_expr is not None else (row[0],)
    return _Counts(weights, tuple(counts))


def _nth(
    session: Session, cond: ColumnElement[bool], n: int, after: tuple[date, int] | None
) -> tuple[date, int] | None:
    """The (joining day, member number) of the ``n``-th sharing member after ``after``, if any."""
    found = session.execute(
        select(Member.joined_on, Member.id)
        .where(cond, _after(after))
        .order_by(Member.joined_on, Member.id)
        .offset(n - 1)
        .limit(1)
    ).first()
    return (found[0], int(found[1])) if found is not None else None


@dataclass(frozen=True, slots=True)
class _Caps:
    uniform: int | None  # per case x claims, per period: the same for everyone
    per_year: int | None
    year_runs: tuple[int, ...]  # this calendar year's earlier runs, when the year's cap may bind


def _uniform_cap(caps: CapsConfig, currency: str, claims: int) -> int | None:
    """The most any member pays this period under the caps that are the same for everyone (per
    period, and per claim times the claims funded), in minor units; ``None`` without such caps."""
    bounds = []
    if caps.per_period is not None:
        bounds.append(to_minor(caps.per_period, currency))
    if caps.per_case is not None and claims:
        bounds.append(to_minor(caps.per_case, currency) * claims)
    return min(bounds) if bounds else None


def _caps(session: Session, pool: PoolRecord, period: Period, claims: int, largest: int) -> _Caps:
    caps = pool.definition.config.sharing.caps
    currency = pool.currency
    uniform = _uniform_cap(caps, currency, claims)
    if caps.per_year is None:
        return _Caps(uniform, None, ())
    year_cap = to_minor(caps.per_year, currency)
    runs = session.execute(
        select(SharingRun.id, SharingRun.max_charge_minor).where(
            SharingRun.pool_id == pool.id,
            SharingRun.notice_date >= date(period.notice_date.year, 1, 1),
            SharingRun.notice_date < period.notice_date,
        )
    ).all()
    most_paid = sum(int(m) for _, m in runs)
    this_run = min(largest, uniform) if uniform is not None else largest
    if most_paid + this_run <= year_cap:
        # Nobody can reach the year's cap this period: no need to look at anyone's year so far.
        return _Caps(uniform, None, ())
    return _Caps(uniform, year_cap, tuple(int(r) for r, _ in runs))


def _least(a: Any, b: Any) -> Any:
    return case((a > b, b), else_=a)


def _rotation_start(session: Session, pool: PoolRecord) -> tuple[date, int] | None:
    """Where the extra minor units start this run: after the member who paid the last one of the
    previous run (``None``: from the first member)."""
    last = session.scalar(
        select(SharingRun.extra_to_id)
        .where(SharingRun.pool_id == pool.id, SharingRun.extra_to_id > 0)
        .order_by(SharingRun.notice_date.desc(), SharingRun.id.desc())
        .limit(1)
    )
    if not last:
        return None
    joined = session.scalar(select(Member.joined_on).where(Member.id == last))
    return (joined, int(last)) if joined is not None else None


def _extra_condition(
    session: Session, walk: ColumnElement[bool], extra: int, after: tuple[date, int] | None
) -> tuple[ColumnElement[bool], int]:
    """Who pays the extra minor units: the ``extra`` members after the previous run's last one, in
    rotation order, wrapping round to the first.

    ``walk`` is the sharing condition written for walking the index (see ``_Run.walk``). Returns the
    condition and the number of the last member given one (the next run starts after it). Walks
    ``extra`` entries of the sharing index, plus the rest of the order when it wraps.
    """
    last = _nth(session, walk, extra, after)
    if last is not None:
        return and_(_after(after), ~_after(last)), last[1]
    after_start = int(session.scalar(select(func.count()).select_from(Member).where(walk, _after(after))) or 0)
    wrapped = _nth(session, walk, extra - after_start, None)
    if wrapped is None:  # pragma: no cover - counted under the same lock
        raise StateError("the pool's members changed during the run; nothing was charged, run it again")
    return or_(_after(after), ~_after(wrapped)), wrapped[1]


def _lock_for_run(session: Session, pool: PoolRecord) -> None:
    """Serialise runs of a pool, and keep the members still while they are counted and charged."""
    session.get(Pool, pool.id, with_for_update=True)
    if session.get_bind().dialect.name == "postgresql":
        # Joins, exits and imports wait for the run (seconds); reads go on. Self-conflicting, so two
        # runs cannot both hold it and then deadlock on the members they freeze.
        session.execute(text("LOCK TABLE members IN SHARE ROW EXCLUSIVE MODE"))


def run_sharing(session: Session, plugins: Plugins, pool_key: str, period_key: str) -> SharingResult:
    """Share a period's approved claims among the members covered at its cut-off.

    Atomic (inside the caller's transaction) and idempotent: a period already shared raises
    :class:`AlreadySharedError` and charges nothing.
    """
    pool = get_pool(session, plugins, pool_key)
    config = pool.definition.config
    period = parse_period(period_key, config)
    _lock_for_run(session, pool)
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
    if config.payments.model == "postpaid":
        # Members whose retry window closed unpaid before this notice day lapse first.
        settle_payments(session, plugins, pool, period.notice_date)
    # The claims this run funds, locked so that a claim approved meanwhile waits for the next run
    # instead of being marked shared without being in this run's aid. A period has few claims.
    funded = session.execute(
        select(Claim.id, Claim.benefit_minor)
        .where(Claim.pool_id == pool.id, Claim.status == "approved", Claim.sharing_run_id.is_(None))
        .order_by(Claim.id)
        .with_for_update()
    ).all()
    claim_ids = [claim_id for claim_id, _ in funded]
    benefits = [int(benefit or 0) for _, benefit in funded]
    aid = sum(benefits)
    carried_in = max(account_balances(session, pool.id)["deficit"], 0)
    surplus_in = last.surplus_out_minor if last is not None else 0
    run_ = _Run(session, pool, period, aid=aid, claims=len(claim_ids), surplus_in=surplus_in, carried_in=carried_in)
    plan = run_.plan()

    settlement_policy = config.sharing.caps.shortfall if config.sharing.caps.any else "none"
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
        fee_policy=config.sharing.management_fee,
        payment_model=config.payments.model,
        total_weight=plan.total_weight,
        carried_in_minor=carried_in,
        shortfall_policy=settlement_policy,
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

    run_.freeze_uncovered(run.id)
    written = run_.write_charges(run.id) if plan.charged > 0 else _Written(0, 0, 0, 0, 0, 0, 0)
    settlement = _verify(run.id, plan, written, run_.caps, settlement_policy, config)
    funded_by_claim = apportion(settlement.aid_funded, benefits) if settlement.aid_funded != aid else list(benefits)
    run.charged_minor = settlement.charged
    run.fee_minor = settlement.fee
    run.surplus_out_minor = settlement.surplus_out
    run.aid_funded_minor = settlement.aid_funded
    run.sponsor_minor = settlement.sponsor
    run.carried_out_minor = settlement.carried_out
    run.shortfall_minor = settlement.shortfall
    run.capped_count = written.capped
    run.charge_rows = written.rows
    run.max_charge_minor = written.largest
    run.charge_checksum = written.checksum
    run.frozen_count = run_.frozen
    run.extra_from_id, run.extra_to_id = written.extra_from, written.extra_to
    if not plan.extra:  # the rotation stays where it was
        run.extra_from_id, run.extra_to_id = 0, run_.start[1] if run_.start else 0
    run.plan_json = json.dumps(
        {
            "classes": [
                {"weight": w, "count": c, "share": s}
                for w, c, s in zip(plan.weights, plan.counts, plan.shares, strict=True)
            ],
            "caps": {"uniform": run_.caps.uniform, "per_year": run_.caps.per_year},
            "funded": dict(zip(map(str, claim_ids), funded_by_claim, strict=True)),
        },
        sort_keys=True,
    )
    if claim_ids:
        for claim_id, amount in zip(claim_ids, funded_by_claim, strict=True):
            session.execute(
                update(Claim)
                .where(Claim.id == claim_id)
                .values(status="shared", sharing_run_id=run.id, funded_minor=amount)
            )
    if config.payments.model == "prepaid" and written.rows:
        _deduct(session, run.id)
    session.flush()
    _post(session, pool, run, settlement, plan, claim_ids, funded_by_claim)
    result = _result(run, pool)
    if config.payments.model == "prepaid":
        after_deduction(session, plugins, pool, result)
    plugins.hook.sharing_completed(pool=config, result=result)
    return result


@dataclass(frozen=True, slots=True)
class _Written:
    rows: int
    total: int
    largest: int
    checksum: int
    capped: int
    extra_from: int
    extra_to: int


class _Run:
    """The SQL side of one run: counting, freezing and charging the members of one period."""

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
    ) -> None:
        self.session = session
        self.pool = pool
        self.period = period
        self.config: PoolConfig = pool.definition.config
        self.aid, self.claims, self.surplus_in, self.carried_in = aid, claims, surplus_in, carried_in
        sharing = self.config.sharing
        self.weights = (
            pool.definition.cohort.rules.sharing_weights(pool.definition.settings)
            if sharing.weights == "cohort"
            else None
        )
        self.bands = tuple(w for _, w in self.weights.bands) if self.weights else (1,)
        self.weight_expr = _weight_expr(self.weights, period.notice_date)
        self.base_cond = sharing_members_condition(pool, period)
        self.filters: list[ColumnElement[bool]] = []  # prepaid: the balance covers the share
        self.start = _rotation_start(session, pool) if sharing.rounding == "exact" else None
        self.prepaid = self.config.payments.model == "prepaid"
        self.frozen = 0
        self._plan: SharingPlan | None = None
        self._counts: _Counts | None = None
        self.caps = _Caps(None, None, ())

    @property
    def cond(self) -> ColumnElement[bool]:
        """The members who share this period."""
        return and_(self.base_cond, *self.filters)

    @property
    def walk(self) -> ColumnElement[bool]:
        """The same members, for walking the sharing index from the rotation's starting point."""
        return and_(sharing_members_condition(self.pool, self.period, for_walk=True), *self.filters)

    def _make_plan(self, counts: _Counts) -> SharingPlan:
        sharing = self.config.sharing
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

    def plan(self) -> SharingPlan:
        counts = _count(self.session, self.cond, self.weight_expr, self.bands)
        plan = self._make_plan(counts)
        self.caps = _caps(self.session, self.pool, self.period, self.claims, plan.largest_charge)
        if self.prepaid:
            # Only members whose balance covers the most they could be asked for share; fewer
            # members raise the share, so recount until it settles (it only ever rises).
            balance = select(Balance.balance_minor).where(Balance.member_id == Member.id).scalar_subquery()
            for _ in range(64):
                required = self._required(plan)
                self.filters = [func.coalesce(balance, 0) >= _by_weight(self.weight_expr, required)]
                counts = _count(self.session, self.cond, self.weight_expr, self.bands)
                new_plan = self._make_plan(counts)
                if self._required(new_plan) == required:
                    plan = new_plan
                    break
                plan = new_plan
            else:  # pragma: no cover - the share rises with every round and is bounded by the need
                raise StateError("prepaid balances did not settle; nothing was charged")
        self._plan, self._counts = plan, counts
        return plan

    def freeze_uncovered(self, run_id: int) -> None:
        """Prepaid: freeze the covered members whose balance cannot cover their share."""
        if not self.prepaid:
            return
        uncovered = and_(self.base_cond, ~self.cond)
        day = self.period.notice_date
        cause = f"balance too low for the share of period {self.period.key} (run #{run_id})"
        self.frozen = int(self.session.scalar(select(func.count()).select_from(Member).where(uncovered)) or 0)
        if self.frozen:
            self.session.execute(
                insert(MemberStatusChange).from_select(
                    ["member_id", "status", "since", "cause"],
                    select(Member.id, literal("frozen"), literal(day), literal(cause)).where(uncovered),
                )
            )
            self.session.execute(
                update(Member).where(uncovered).values(status="frozen").execution_options(synchronize_session=False)
            )

    def write_charges(self, run_id: int) -> _Written:
        plan, counts = self._plan, self._counts
        if plan is None or counts is None:  # pragma: no cover - plan() always comes first
            raise RuntimeError("a run's charges were written before it was planned")
        session = self.session
        base = _by_weight(self.weight_expr, dict(zip(plan.weights, plan.shares, strict=True)))
        amount: Any = base
        extra_from = extra_to = 0
        if plan.extra:
            extra_cond, extra_to = _extra_condition(session, self.walk, plan.extra, self.start)
            extra_from = self.start[1] if self.start else 0
            amount = base + case((extra_cond, literal(1)), else_=literal(0))
        uncapped = amount
        if self.caps.uniform is not None and plan.largest_charge > self.caps.uniform:
            amount = _least(amount, literal(self.caps.uniform))
        source = select(literal(run_id), Member.id, amount.label("amount")).where(self.cond)
        if self.caps.per_year is not None:
            year = (
                select(Charge.member_id, func.sum(Charge.amount_minor).label("paid"))
                .where(Charge.run_id.in_(self.caps.year_runs))
                .group_by(Charge.member_id)
                .subquery()
            )
            remaining = literal(self.caps.per_year) - func.coalesce(year.c.paid, 0)
            remaining = case((remaining < 0, literal(0)), else_=remaining)
            amount = _least(amount, remaining)
            source = (
                select(literal(run_id), Member.id, amount.label("amount"))
                .select_from(Member)
                .outerjoin(year, year.c.member_id == Member.id)
                .where(self.cond)
            )
        if min(plan.shares) == 0 or self.caps.per_year is not None or self.caps.uniform == 0:
            source = source.where(amount > 0)  # nobody is charged 0
        session.execute(insert(Charge).from_select(["run_id", "member_id", "amount_minor"], source))
        rows, total, checksum = charge_figures(session, run_id)
        largest = plan.largest_charge if rows else 0
        capped = 0
        if amount is not uncapped:
            largest = int(session.scalar(select(func.max(Charge.amount_minor)).where(Charge.run_id == run_id)) or 0)
            capped_cond = and_(self.cond, uncapped > amount)
            if self.caps.per_year is not None:
                capped = int(
                    session.scalar(
                        select(func.count())
                        .select_from(Member)
                        .outerjoin(year, year.c.member_id == Member.id)
                        .where(capped_cond)
                    )
                    or 0
                )
            else:
                capped = int(session.scalar(select(func.count()).select_from(Member).where(capped_cond)) or 0)
        return _Written(rows, total, largest, checksum, capped, extra_from, extra_to)


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


def _verify(
    run_id: int, plan: SharingPlan, written: _Written, caps: _Caps, policy: str, config: PoolConfig
) -> Settlement:
    """Check the charges the database holds against the plan, then settle any shortfall.

    Uncapped, the rows and their total must be exactly the plan's. Capped, nobody may pay more
    than the plan asked of them or than the cap, and the total can only be lower.
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
    settlement = settle_shortfall(
        plan,
        written.total,
        policy=policy if policy != "none" else "sponsor",
        fee_policy=config.sharing.management_fee,
        fee_rate=config.sharing.management_fee_rate,
    )
    if not settlement.balances(plan):  # pragma: no cover - an arithmetic bug, never a user mistake
        raise RuntimeError(f"sharing run {run_id} does not balance: {settlement}")
    return settlement


def _deduct(session: Session, run_id: int) -> None:
    """Prepaid: take every charge of the run off its member's balance (one statement)."""
    session.execute(
        update(Balance)
        .where(Balance.member_id == Charge.member_id, Charge.run_id == run_id)
        .values(balance_minor=Balance.balance_minor - Charge.amount_minor)
        .execution_options(synchronize_session=False)
    )


def _post(
    session: Session,
    pool: PoolRecord,
    run: SharingRun,
    settlement: Settlement,
    plan: SharingPlan,
    claim_ids: list[int],
    funded: list[int],
) -> None:
    """The run's ledger entry: members' charges and what they paid for, balanced to the minor unit."""
    members_account = "member_balances" if run.payment_model == "prepaid" else "members_due"
    lines = [
        Line(members_account, settlement.charged),
        Line("surplus", plan.surplus_in),
        Line("sponsor_due", settlement.sponsor),
        Line("deficit", settlement.carried_out),
        Line("deficit", -plan.carried_in),
        *[Line("aid_payable", -amount, claim_id=cid) for cid, amount in zip(claim_ids, funded, strict=True)],
        Line("fee_income", -settlement.fee),
        Line("surplus", -settlement.surplus_out),
    ]
    post_entry(
        session,
        pool.id,
        kind="sharing",
        posted_on=run.notice_date,
        memo=f"sharing period {run.period}: {plural(run.members_count, 'member')}, {plural(len(claim_ids), 'claim')}",
        lines=lines,
        run_id=run.id,
        facts={
            "period": run.period,
            "members": run.members_count,
            "charged": settlement.charged,
            "charge_rows": run.charge_rows,
            "charge_checksum": run.charge_checksum,
            "max_charge": run.max_charge_minor,
            "aid": plan.aid,
            "aid_funded": settlement.aid_funded,
            "fee": settlement.fee,
            "surplus_in": plan.surplus_in,
            "surplus_out": settlement.surplus_out,
            "deficit_in": plan.carried_in,
            "deficit_out": settlement.carried_out,
            "sponsor": settlement.sponsor,
            "shortfall": settlement.shortfall,
            "frozen": run.frozen_count,
        },
    )


def plan_from_inputs(
    plugins: Plugins,
    *,
    aid: str | Decimal,
    members: int,
    claims: int = 1,
    surplus_in: str | Decimal = "0",
    pool_file: str | Path | None = None,
    fee_rate: str | Decimal | None = None,
    rounding: str | None = None,
    currency: str | None = None,
) -> SharingResult:
    """A period's figures worked out from its inputs alone, with no database: to reproduce a
    published period (aid amount, members sharing, surplus carried in) or to see what one would cost.

    The sharing settings come from ``pool_file`` when given (fee policy, rounding, per-case and
    per-period caps), else the defaults; ``fee_rate`` and ``rounding`` override them. The figures
    are those the run would produce with equal shares (no weights, no year's cap: those depend on
    each member).
    """
    sharing = SharingConfig()
    if pool_file is not None:
        definition = load_pool_file(pool_file, plugins)
        sharing = definition.config.sharing
        currency = currency or definition.config.currency
    currency = currency or "CNY"
    updates: dict[str, Any] = {}
    problems = []
    if fee_rate is not None:
        try:
            updates["management_fee_rate"] = Decimal(str(fee_rate))
            updates["management_fee"] = "rate"
        except ArithmeticError:
            problems.append(f"--fee-rate: {fee_rate!r} is not a number such as 0.08")
    if rounding is not None:
        updates["rounding"] = rounding
    amounts: dict[str, int] = {}
    for name, value in (("--aid", aid), ("--surplus-in", surplus_in)):
        try:
            amounts[name] = to_minor(value, currency)
        except (ValueError, ArithmeticError) as exc:
            problems.append(f"{name}: {exc}")
        else:
            if amounts[name] < 0:
                problems.append(f"{name}: must not be negative ({value} given)")
    if problems:
        raise ValidationError(problems)
    if updates:
        try:
            sharing = SharingConfig.model_validate({**sharing.model_dump(), **updates})
        except pydantic.ValidationError as exc:
            raise ValidationError(format_validation_error(exc, ("sharing",))) from None
    plan = plan_sharing(
        aid=amounts["--aid"],
        fee_rate=sharing.management_fee_rate,
        fee_policy=sharing.management_fee,
        fee_per_member=to_minor(sharing.management_fee_per_member, currency),
        surplus_in=amounts["--surplus-in"],
        members=members,
        rounding=sharing.rounding,
    )
    cap = _uniform_cap(sharing.caps, currency, claims)
    charged, capped = plan.charged, 0
    if cap is not None and plan.largest_charge > cap:
        share = min(plan.share, cap)
        extra = plan.extra if plan.share + 1 <= cap else 0
        charged = share * plan.members + extra
        # With a share equal to the cap only the members paying an extra minor unit pay less.
        capped = plan.members if plan.share > cap else plan.extra
    policy = sharing.caps.shortfall if sharing.caps.any else "none"
    settled = settle_shortfall(
        plan,
        charged,
        policy=policy if policy != "none" else "sponsor",
        fee_policy=sharing.management_fee,
        fee_rate=sharing.management_fee_rate,
    )
    return SharingResult(
        run_id=0,
        pool_key="(plan)",
        period="(plan)",
        notice_date=date.min,
        deduction_date=date.min,
        currency=currency,
        rounding=sharing.rounding,
        fee_rate=sharing.management_fee_rate,
        members=plan.members,
        claims=claims,
        aid_minor=plan.aid,
        fee_minor=settled.fee,
        surplus_in_minor=plan.surplus_in,
        surplus_out_minor=settled.surplus_out,
        need_minor=plan.need,
        share_minor=plan.share,
        extra_count=plan.extra,
        charged_minor=settled.charged,
        created_at=datetime.now(UTC),
        fee_policy=sharing.management_fee,
        aid_funded_minor=settled.aid_funded,
        sponsor_minor=settled.sponsor,
        carried_out_minor=settled.carried_out,
        shortfall_minor=settled.shortfall,
        shortfall_policy=policy,
        capped_count=capped,
        charge_rows=plan.members,
        max_charge_minor=min(plan.largest_charge, cap) if cap is not None else plan.largest_charge,
    )


def backfill_ledger(session: Session, plugins: Plugins, pool_key: str) -> list[str]:
    """Post the ledger entries of runs shared before the ledger existed (schema revision 0001), in
    period order, from their stored figures. Returns the periods posted (none the second time)."""
    pool = get_pool(session, plugins, pool_key)
    posted = select(LedgerEntry.run_id).where(
        LedgerEntry.pool_id == pool.id, LedgerEntry.kind == "sharing", LedgerEntry.run_id.is_not(None)
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
        settlement = Settlement(
            run.charged_minor,
            run.aid_funded_minor or run.aid_minor,
            run.fee_minor,
            run.surplus_out_minor,
            run.sponsor_minor,
            run.carried_out_minor,
            run.shortfall_minor,
        )
        _post(session, pool, run, settlement, plan, [c for c, _ in funded], [int(a) for _, a in funded])
        periods.append(run.period)
    return periods


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
    charge_checksum: int = 0

    @property
    def expected_rows(self) -> int:
        return self.run.charge_rows

    @property
    def ok(self) -> bool:
        """Rows, their sum and their checksum over member and amount match the run, and the run's
        formula holds, to the minor unit."""
        return (
            self.charge_rows == self.run.charge_rows
            and self.charge_total_minor == self.run.charged_minor
            and self.charge_checksum == self.run.charge_checksum
            and self.run.reconciles()
        )


def reconcile_run(session: Session, plugins: Plugins, pool_key: str, period_key: str) -> Reconciliation:
    """Recount a period's charges from the database and check them against the run's figures."""
    run = get_run(session, plugins, pool_key, period_key)
    rows, total, checksum = charge_figures(session, run.run_id)
    return Reconciliation(run=run, charge_rows=rows, charge_total_minor=total, charge_checksum=checksum)
