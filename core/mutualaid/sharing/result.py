"""What a sharing run gives back: its figures, the breakdown a person reads, and its
reconciliation with the charges the database holds."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from ..db.models import SharingRun
from ..money import Money, format_minor, format_percent, from_minor
from ..pools import PoolRecord
from ..vocabulary import FeePolicy, PaymentModel, Rounding, ShortfallPolicy

__all__ = ["Reconciliation", "SettledWindow", "SharingResult", "result_of"]


class SettledWindow(Protocol):
    """A postpaid retry window the API settled before a run, in the run's transaction (a
    :class:`mutualaid.payments.Settlement`)."""

    @property
    def period(self) -> str: ...

    @property
    def lapsed(self) -> int: ...

    def as_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class SharingResult:
    """A stored sharing run's figures and the claims it funded.

    Amounts are stored as integer minor units (``*_minor``) and read as :class:`~mutualaid.Money`
    through the properties of the same name without the suffix (``result.share`` is the share
    per member, ``result.share_minor`` the same in fen).
    """

    run_id: int
    pool_key: str
    period: str
    notice_date: date
    deduction_date: date
    currency: str
    rounding: Rounding
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
    fee_policy: FeePolicy = FeePolicy.RATE
    payment_model: PaymentModel = PaymentModel.POSTPAID
    aid_funded_minor: int = 0
    carried_in_minor: int = 0
    carried_out_minor: int = 0
    sponsor_minor: int = 0
    shortfall_minor: int = 0
    shortfall_policy: ShortfallPolicy = ShortfallPolicy.NONE
    capped_count: int = 0
    charge_rows: int = 0
    max_charge_minor: int = 0
    charge_digest: str = ""
    frozen_count: int = 0
    extra_from_id: int = 0
    extra_to_id: int = 0
    plan: dict[str, Any] = field(default_factory=dict)
    #: The runs of the period voided before this one (0: its first run).
    attempt: int = 0
    #: The postpaid retry windows the API settled before this run, in its transaction.
    settlements: tuple[SettledWindow, ...] = ()

    def _money(self, minor: int) -> Money:
        return Money.from_minor(minor, self.currency)

    @property
    def aid(self) -> Money:
        """The period's aid amount: the benefits of the claims it funds."""
        return self._money(self.aid_minor)

    @property
    def aid_funded(self) -> Money:
        """The aid actually funded (less than :attr:`aid` when a cap prorated it)."""
        return self._money(self.aid_funded_minor)

    @property
    def fee(self) -> Money:
        return self._money(self.fee_minor)

    @property
    def surplus_in(self) -> Money:
        return self._money(self.surplus_in_minor)

    @property
    def surplus_out(self) -> Money:
        return self._money(self.surplus_out_minor)

    @property
    def carried_in(self) -> Money:
        """The deficit carried in from earlier periods."""
        return self._money(self.carried_in_minor)

    @property
    def carried_out(self) -> Money:
        """The deficit carried out to the next period."""
        return self._money(self.carried_out_minor)

    @property
    def need(self) -> Money:
        """What the period asks of its members before caps."""
        return self._money(self.need_minor)

    @property
    def share(self) -> Money:
        """The share per member (of the lightest weight class), before caps."""
        return self._money(self.share_minor)

    @property
    def charged(self) -> Money:
        return self._money(self.charged_minor)

    @property
    def sponsor(self) -> Money:
        """What the sponsor pays of the period."""
        return self._money(self.sponsor_minor)

    @property
    def shortfall(self) -> Money:
        """What caps kept members from paying."""
        return self._money(self.shortfall_minor)

    @property
    def max_charge(self) -> Money:
        """The most one member was charged."""
        return self._money(self.max_charge_minor)

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
        settlements = data.pop("settlements")
        for key in list(data):
            if key.endswith("_minor"):
                data[key[: -len("_minor")]] = str(from_minor(data.pop(key), self.currency))
        data["notice_date"] = self.notice_date.isoformat()
        data["deduction_date"] = self.deduction_date.isoformat()
        data["created_at"] = self.created_at.isoformat()
        data["fee_rate"] = str(self.fee_rate)
        data["reconciles"] = self.reconciles()
        if settlements:
            data["settlements"] = [s.as_dict() for s in self.settlements]
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


def result_of(run: SharingRun, pool: PoolRecord) -> SharingResult:
    return SharingResult(
        run_id=run.id,
        pool_key=pool.key,
        period=run.period,
        notice_date=run.notice_date,
        deduction_date=run.deduction_date,
        currency=pool.currency,
        rounding=Rounding(run.rounding),
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
        fee_policy=FeePolicy(run.fee_policy),
        payment_model=PaymentModel(run.payment_model),
        aid_funded_minor=run.aid_funded_minor,
        carried_in_minor=run.carried_in_minor,
        carried_out_minor=run.carried_out_minor,
        sponsor_minor=run.sponsor_minor,
        shortfall_minor=run.shortfall_minor,
        shortfall_policy=ShortfallPolicy(run.shortfall_policy),
        capped_count=run.capped_count,
        charge_rows=run.charge_rows,
        max_charge_minor=run.max_charge_minor,
        charge_digest=run.charge_digest or "",
        frozen_count=run.frozen_count,
        extra_from_id=run.extra_from_id,
        extra_to_id=run.extra_to_id,
        plan=json.loads(run.plan_json or "{}"),
        attempt=int(run.attempt or 0),
    )


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """A stored run checked against its charge rows, recounted from the database."""

    run: SharingResult
    charge_rows: int
    charge_total_minor: int
    charge_digest: str = ""

    @property
    def ok(self) -> bool:
        """Rows, their sum and their SHA-256 digest (member, amount, run) match the run, and the run's
        formula holds, to the minor unit."""
        return (
            self.charge_rows == self.run.charge_rows
            and self.charge_total_minor == self.run.charged_minor
            and self.charge_digest == self.run.charge_digest
            and self.run.reconciles()
        )
