"""Pool configuration: a TOML file validated by pydantic, the ``[settings]`` table by the cohort.

A pool file looks like this (every key but ``key``, ``name`` and ``cohort`` has a default)::

    key = "jiangsu-truckers"
    name = "江苏卡友互助"
    cohort = "truckers"
    currency = "CNY"
    timezone = "Asia/Shanghai"
    locale = "zh-CN"

    [sharing]
    calendar = "monthly"            # or "semi-monthly"
    management_fee_rate = "0.08"    # of the aid amount
    rounding = "round-up"           # or "exact"

    [settings]                      # validated by the cohort's own settings model
    death_benefit = 300000

Problems are reported all at once, each as ``FILE: key.path: message``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .claims_config import ClaimsConfig, JuryConfig
from .cohort import Cohort
from .errors import ConfigError
from .money import CURRENCY_EXPONENTS, MAX_MINOR, format_minor, is_exact
from .vocabulary import (
    Bearer,
    Calendar,
    FeePolicy,
    Locale,
    PaymentModel,
    Rounding,
    ShortfallPolicy,
    Weighting,
    values,
)

__all__ = [
    "CapsConfig",
    "ClaimsConfig",
    "JuryConfig",
    "PaymentsConfig",
    "PoolConfig",
    "PoolDefinition",
    "SharingConfig",
    "format_validation_error",
    "load_pool_file",
    "validate_pool",
]

LOCALES = values(Locale)


def _older_bearer(value: Any) -> Any:
    # Before the vocabulary was one, [payments] refunds called "carry" "pool": both mean the cost
    # is added to the next period (the deficit). Stored pools and old files still say "pool".
    return Bearer.CARRY if value == "pool" else value


def _no_none_policy(value: Any) -> Any:
    # "none" is what a run of a pool without caps records, not a choice a pool file can make.
    if value == ShortfallPolicy.NONE:
        raise ValueError("must be one of 'sponsor', 'prorate' or 'carry' ('none' given)")
    return value


def _amount(value: Decimal | None) -> Decimal | None:
    if value is not None and value < 0:
        raise ValueError(f"must not be negative ({value} given)")
    return value


class CapsConfig(BaseModel):
    """What one member pays at most, and who bears the rest when a cap binds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_case: Decimal | None = Field(
        None,
        description="Most a member pays per claim funded in a period (Xianghubao's early rule: 0.10 CNY per patient).",
    )
    per_period: Decimal | None = Field(None, description="Most a member pays in one period.")
    per_year: Decimal | None = Field(
        None,
        description="Most a member pays in a calendar year, published before the year (Xianghubao: 188 CNY).",
    )
    shortfall: Annotated[ShortfallPolicy, BeforeValidator(_no_none_policy)] = Field(
        ShortfallPolicy.SPONSOR,
        description="When a cap binds: 'sponsor' (the operator pays the rest), 'prorate' (the period's "
        "benefits are paid in proportion to what was collected) or 'carry' (the rest is added to the next "
        "period). Always recorded in the run and the ledger.",
    )

    _non_negative = field_validator("per_case", "per_period", "per_year")(_amount)

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.per_case, self.per_period, self.per_year))


class PaymentsConfig(BaseModel):
    """How members pay their shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: PaymentModel = Field(
        PaymentModel.POSTPAID,
        description="'postpaid': each share is an amount due, collected after the run (results imported "
        "from a file); 'prepaid': members keep a balance and shares are deducted from it.",
    )
    retry_days: int = Field(
        5,
        ge=0,
        le=60,
        description="Postpaid: days after the deduction day during which a failed payment is retried; "
        "a share whose collection failed and was not paid within them lapses the member, one with no "
        "result reported stays due (Xianghubao: 5).",
    )
    unpaid: Bearer = Field(
        Bearer.SPONSOR,
        description="Postpaid: who bears a lapsed member's unpaid share: 'sponsor' (the operator) or "
        "'carry' (added to the next period's cost).",
    )
    low_balance: Decimal = Field(
        Decimal("5"),
        description="Prepaid: a balance below this after a deduction raises a low-balance notice (e.g. 5 CNY).",
    )
    refunds: Annotated[Bearer, BeforeValidator(_older_bearer)] = Field(
        Bearer.SPONSOR,
        description="Who funds contributions refunded on a denial: 'sponsor' (the operator) or 'carry' "
        "(added to the next period's cost; 'pool', the older spelling, means the same).",
    )

    _non_negative = field_validator("low_balance")(_amount)


class SharingConfig(BaseModel):
    """How a pool shares its costs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calendar: Calendar = Field(
        Calendar.MONTHLY,
        description="Sharing periods: 'monthly' (one period a month) or 'semi-monthly' (two, like Xianghubao).",
    )
    notice_days: tuple[int, ...] | None = Field(
        None,
        description="Day of the month of each period's public notice; members are counted at 00:00 "
        "of that day. Default: 7 (monthly) or 7 and 21 (semi-monthly).",
    )
    deduction_days: tuple[int, ...] | None = Field(
        None,
        description="Day of the month each period's shares are deducted. Default: 14 (monthly) or 14 and 28.",
    )
    management_fee: FeePolicy = Field(
        FeePolicy.RATE,
        description="The operator's fee: 'rate' (a fraction of the aid amount), 'flat' (an amount per "
        "member sharing) or 'none'.",
    )
    management_fee_per_member: Decimal = Field(
        Decimal(0), description="With management_fee = 'flat': the fee per member sharing, per period."
    )
    management_fee_rate: Decimal = Field(
        Decimal("0.08"),
        description="Operator's fee as a fraction of the aid amount, 0 to 0.5 (0.08 = 8%, as Xianghubao and "
        "Meituan charged).",
    )
    rounding: Rounding = Field(
        Rounding.ROUND_UP,
        description="'round-up': every member pays the same share rounded up to the minor unit and the "
        "excess is carried to the next period as surplus; 'exact': shares sum exactly to the need and "
        "some members pay one minor unit more; who pays it rotates through the members from period to period.",
    )
    weights: Weighting = Field(
        Weighting.EQUAL,
        description="'equal': every member pays the same share; 'cohort': shares in proportion to the "
        "weights the cohort gives by age band (e.g. older members pay more).",
    )
    caps: CapsConfig = Field(default_factory=lambda: CapsConfig())
    waiting_members_share: bool = Field(
        True,
        description="Whether members still in their waiting period share the period's cost.",
    )

    @field_validator("notice_days", "deduction_days")
    @classmethod
    def _day_list(cls, days: tuple[int, ...] | None, info: ValidationInfo) -> tuple[int, ...] | None:
        # Checks of one list are field checks, so they are reported with the other fields' problems.
        if days is None:
            return None
        calendar = info.data.get("calendar")
        if calendar is not None:
            count = 1 if calendar == "monthly" else 2
            if len(days) != count:
                raise ValueError(f"needs {count} day(s) for a {calendar} calendar, got {len(days)}")
        bad = [d for d in days if not 1 <= d <= 28]
        if bad:
            raise ValueError(f"must be days 1 to 28 (every month has them), not {', '.join(map(str, bad))}")
        if list(days) != sorted(set(days)):
            raise ValueError("must be in increasing order without repeats")
        return days

    @field_validator("management_fee_rate")
    @classmethod
    def _fee_rate(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError(f"must not be negative ({value} given)")
        if value > Decimal("0.5"):
            hint = f"; write {value / 100} for {value}%" if value >= 1 else ""
            raise ValueError(f"must be a fraction of the aid amount from 0 to 0.5 ({value} given{hint})")
        return value

    _fee_amount = field_validator("management_fee_per_member")(_amount)

    @model_validator(mode="after")
    def _fee_policy(self) -> SharingConfig:
        if self.management_fee == "flat" and self.management_fee_per_member <= 0:
            raise ValueError("management_fee = 'flat' needs management_fee_per_member above 0")
        if self.management_fee != "flat" and self.management_fee_per_member:
            raise ValueError(
                f"management_fee_per_member is set but management_fee is '{self.management_fee.value}'; "
                "set management_fee = 'flat' or remove management_fee_per_member"
            )
        return self

    @model_validator(mode="after")
    def _days(self) -> SharingConfig:
        count = 1 if self.calendar == "monthly" else 2
        notice = self.notice_days or ((7,) if count == 1 else (7, 21))
        deduction = self.deduction_days or ((14,) if count == 1 else (14, 28))
        if any(n >= d for n, d in zip(notice, deduction, strict=True)):
            raise ValueError(
                f"each notice day must come before its deduction day (notice days {_days_text(notice)}, "
                f"deduction days {_days_text(deduction)})"
            )
        if count == 2 and deduction[0] >= notice[1]:
            raise ValueError(
                f"the first period's deduction day ({deduction[0]}) must come before the second notice day "
                f"({notice[1]})"
            )
        object.__setattr__(self, "notice_days", tuple(notice))
        object.__setattr__(self, "deduction_days", tuple(deduction))
        return self


def _days_text(days: tuple[int, ...]) -> str:
    return ", ".join(map(str, days))


class PoolConfig(BaseModel):
    """A pool's configuration, as written in its TOML file (``settings`` still raw)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="Unique key of the pool, used on the command line.")
    name: str = Field(min_length=1, max_length=200, description="Name members see.")
    cohort: str = Field(description="Key of the cohort whose rules the pool follows.")
    currency: str = Field("CNY", description="ISO 4217 currency code.")
    timezone: str = Field("Asia/Shanghai", description="Time zone of the pool's calendar.")
    locale: Locale = Field(Locale.ZH_CN, description="Default language of notices.")
    operator: str = Field("", max_length=200, description="Who runs the pool, shown in notices.")
    sharing: SharingConfig = Field(default_factory=lambda: SharingConfig())
    payments: PaymentsConfig = Field(default_factory=lambda: PaymentsConfig())
    claims: ClaimsConfig = Field(default_factory=lambda: ClaimsConfig())
    settings: dict[str, Any] = Field(default_factory=dict, description="The cohort's own settings.")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", value):
            raise ValueError("must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if value not in CURRENCY_EXPONENTS:
            raise ValueError(f"unknown currency {value!r}; use one of {', '.join(sorted(CURRENCY_EXPONENTS))}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'Asia/Shanghai'") from None
        return value

    @model_validator(mode="after")
    def _exact_amounts(self) -> PoolConfig:
        """Every amount in the file must be exact in the pool's currency (no third decimal of CNY)."""
        exponent = CURRENCY_EXPONENTS.get(self.currency)
        if exponent is None:
            return self
        caps = self.sharing.caps
        amounts = {
            "sharing.management_fee_per_member": self.sharing.management_fee_per_member,
            "sharing.caps.per_case": caps.per_case,
            "sharing.caps.per_period": caps.per_period,
            "sharing.caps.per_year": caps.per_year,
            "payments.low_balance": self.payments.low_balance,
        }
        bad = [
            f"{key} = {value} has more decimals than {self.currency} allows ({exponent})"
            for key, value in amounts.items()
            if value is not None and not is_exact(value, self.currency)
        ]
        bad += [
            f"{key} = {value} is beyond the largest amount recorded "
            f"({format_minor(MAX_MINOR, self.currency)} {self.currency})"
            for key, value in amounts.items()
            if value is not None and value.copy_abs() > Decimal(MAX_MINOR).scaleb(-exponent)
        ]
        if bad:
            raise ValueError("; ".join(bad))
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class PoolDefinition:
    """A validated pool: its configuration, its cohort and the cohort's validated settings."""

    config: PoolConfig
    cohort: Cohort
    settings: BaseModel


def _loc(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def format_validation_error(
    exc: pydantic.ValidationError,
    prefix: tuple[str, ...] = (),
    *,
    unknown_key_hints: Mapping[tuple[str, ...], str] | None = None,
) -> list[str]:
    """Render a pydantic error as ``key.path: message`` lines.

    :param prefix: prepended to every error's key path (``("settings",)``).
    :param unknown_key_hints: for an unknown key, what to say after "check its spelling", by the
        path of the table holding it (``()`` for the top level, ``("sharing",)`` ...).
    """
    lines = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            table = tuple(str(part) for part in loc[:-1])
            hint = (unknown_key_hints or {}).get(table, "'mutualaid cohorts show COHORT' lists the settings")
            msg = f"unknown key (check its spelling; {hint})"
        else:
            msg = _plain_message(err)
        lines.append(f"{_loc(loc)}: {msg}")
    return lines


def _plain_message(err: Any) -> str:
    """pydantic's message for the common error types, as a sentence an operator reads."""
    kind, ctx, msg = err["type"], err.get("ctx") or {}, err["msg"]
    given = err.get("input")
    written = str(given) if isinstance(given, Decimal) else repr(given)  # nan, not Decimal('NaN')
    shown = f" ({written} given)" if isinstance(given, (str, int, Decimal)) and not isinstance(given, bool) else ""
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    if kind == "missing":
        return "is required"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}{shown}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}{shown}"
    if kind == "less_than":
        return f"must be below {ctx.get('lt')}{shown}"
    if kind == "greater_than":
        return f"must be above {ctx.get('gt')}{shown}"
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')}{shown}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number{shown}"
    if kind in ("decimal_parsing", "decimal_type"):
        return f"must be a number such as 0.08{shown}"
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return f"must be a date written YYYY-MM-DD{shown}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{shown}"
    if kind == "string_type":
        return f"must be text in quotes{shown}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long ({len(given)} given)"
    if kind == "string_too_short":
        least = ctx.get("min_length")
        return "must not be empty" if least == 1 else f"must be at least {least} characters long"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a table (a [section] of its own or { key = value, ... })"
    if kind == "finite_number":
        return f"must be a finite number such as 0.08{shown}"
    return msg


_POOL_KEY_HINTS: dict[tuple[str, ...], str] = {
    (): "the keys of a pool file are " + ", ".join(PoolConfig.model_fields),
    ("sharing",): "the keys of [sharing] are " + ", ".join(SharingConfig.model_fields),
    ("sharing", "caps"): "the keys of [sharing.caps] are " + ", ".join(CapsConfig.model_fields),
    ("payments",): "the keys of [payments] are " + ", ".join(PaymentsConfig.model_fields),
    ("claims",): "the keys of [claims] are " + ", ".join(ClaimsConfig.model_fields),
    ("claims", "jury"): "the keys of [claims.jury] are " + ", ".join(JuryConfig.model_fields),
}


def validate_pool(data: dict[str, Any], cohorts: Any, *, source: str = "<pool>") -> PoolDefinition:
    """Validate a pool mapping against the core model and its cohort's settings model.

    :param cohorts: the loaded :class:`~mutualaid.plugins.Plugins` (anything with ``cohorts``).
    :raises ConfigError: with every problem as ``SOURCE: key.path: message``.
    """
    problems: list[str] = []
    config: PoolConfig | None = None
    try:
        config = PoolConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        problems.extend(format_validation_error(exc, unknown_key_hints=_POOL_KEY_HINTS))
    cohort_key = data.get("cohort") if isinstance(data, dict) else None
    cohort = cohorts.cohorts.get(cohort_key) if isinstance(cohort_key, str) else None
    if isinstance(cohort_key, str) and cohort is None:
        known = ", ".join(sorted(cohorts.cohorts)) or "none"
        problems.append(
            f"cohort: no cohort {cohort_key!r} is installed (installed: {known}); "
            "install its plugin with 'mutualaid install PACKAGE'"
        )
    settings: BaseModel | None = None
    if cohort is not None:
        raw = data.get("settings", {})
        if isinstance(raw, dict):
            try:
                settings = cohort.settings_model.model_validate(raw)
            except pydantic.ValidationError as exc:
                hints: dict[tuple[str, ...], str] = {
                    ("settings",): f"'mutualaid cohorts show {cohort.key}' lists the settings"
                }
                problems.extend(format_validation_error(exc, ("settings",), unknown_key_hints=hints))
    if config is not None and cohort is not None and settings is not None and config.sharing.weights == "cohort":
        if cohort.rules.sharing_weights(settings) is None:
            problems.append(f'sharing.weights: cohort {cohort.key!r} gives no sharing weights; use weights = "equal"')
    if problems:
        raise ConfigError([f"{source}: {p}" for p in problems])
    if config is None or cohort is None or settings is None:  # unreachable: problems were reported
        raise ConfigError([f"{source}: invalid pool configuration"])
    return PoolDefinition(config=config, cohort=cohort, settings=settings)


def load_pool_file(path: str | Path, cohorts: Any) -> PoolDefinition:
    """Read and validate a pool's TOML file. Floats are read as Decimal, never float."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle, parse_float=Decimal)
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found; give the path of a pool's TOML file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a directory; give the path of a pool's TOML file"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not valid TOML: the file is not UTF-8 text"]) from None
    return validate_pool(data, cohorts, source=str(path))
