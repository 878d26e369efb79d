"""Member notices: Jinja2 templates from the core, overridden by the cohort and by the operator.

Templates are looked up as ``<locale>/<kind>.txt.j2`` in, first, the operator's directory (if
given), then the cohort's ``templates`` directory, then the core's; the core's are also reachable
as ``core/<locale>/<kind>.txt.j2`` so an override can ``{% extends %}`` one and replace a block.
Rendering is sandboxed (operators' templates are untrusted) with ``StrictUndefined`` (a missing
value is an error, never a blank). Plain-text notices are not autoescaped.

Kinds: ``welcome`` (on joining: the rules, the waiting period's end, the member's obligations),
``statement`` (after a sharing run: the amount charged, the claims it funded with claimants
masked, the fee, the year-to-date total) and ``low-balance`` (prepaid pools: a balance below the
pool's threshold; its templates are ``<locale>/low_balance.txt.j2``). Context of every notice:
``pool``, ``member``, ``rules``, ``locale``, ``generated_on``; a statement adds ``period``, ``run``,
``charge``, ``claims``, ``ytd``; a welcome adds ``sharing``; a low-balance notice adds ``payments``,
``balance``, ``low``, ``frozen``, ``last_share``. Plugins add values through the ``notice_context`` hook.
"""

from __future__ import annotations

import inspect
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from .cohort import covered_from
from .errors import NotFoundError, PluginError, StateError, ValidationError
from .members import get_member
from .models import Balance, Charge, Claim, Member, SharingRun
from .money import format_minor, format_percent, to_minor
from .payments import low_balance_select
from .plugins import Plugins
from .pools import PoolRecord, get_pool, pool_today
from .privacy import mask_id_number, mask_name
from .sharing import SharingResult, get_run

__all__ = [
    "KINDS",
    "LOCALES",
    "RenderResult",
    "make_environment",
    "render_low_balance",
    "render_statements",
    "render_welcome",
]

KINDS = ("statement", "welcome", "low-balance")
LOCALES = ("zh-CN", "en")
CORE_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(slots=True)
class RenderResult:
    """What a rendering wrote."""

    count: int
    paths: list[Path]


def make_environment(
    cohort_templates: Path | None = None, operator_templates: Path | None = None
) -> SandboxedEnvironment:
    """The sandboxed, strict Jinja2 environment notices are rendered in."""
    search: list[jinja2.BaseLoader] = []
    if operator_templates is not None:
        if not Path(operator_templates).is_dir():
            raise ValidationError([f"templates directory {operator_templates} does not exist"])
        search.append(jinja2.FileSystemLoader(str(operator_templates)))
    if cohort_templates is not None:
        search.append(jinja2.FileSystemLoader(str(cohort_templates)))
    core = jinja2.FileSystemLoader(str(CORE_TEMPLATES))
    search.append(jinja2.PrefixLoader({"core": core}))
    search.append(core)
    env = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(search),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm"), default_for_string=False, default=False
        ),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _check_locale(locale: str) -> None:
    if locale not in LOCALES:
        raise ValidationError([f"locale {locale!r} is not supported; use one of {', '.join(LOCALES)}"])


def _template(env: SandboxedEnvironment, kind: str, locale: str) -> jinja2.Template:
    name = f"{locale}/{kind}.txt.j2"
    try:
        return env.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError([f"template {exc.filename or name}:{exc.lineno}: {exc.message}"]) from None
    except jinja2.TemplateNotFound:
        raise NotFoundError(f"no template {name} for notices of kind {kind!r}") from None


def _describe_rules(rules: Any, settings: Any, locale: str, currency: str) -> list[str]:
    """The cohort's rules in words, with the pool's currency when its ``describe_rules`` takes one
    (an implementation may leave the parameter out; see :meth:`CohortRules.describe_rules`)."""
    try:
        params = inspect.signature(rules.describe_rules).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - a callable without a signature
        params = None
    if params is not None and any(p.name == "currency" or p.kind is p.VAR_KEYWORD for p in params):
        return list(rules.describe_rules(settings, locale, currency=currency))
    return list(rules.describe_rules(settings, locale))


def _pool_context(pool: PoolRecord, locale: str) -> dict[str, Any]:
    config = pool.definition.config
    cohort = pool.definition.cohort
    return {
        "pool": {
            "key": config.key,
            "name": config.name,
            "operator": config.operator,
            "currency": config.currency,
            "cohort": cohort.key,
            "cohort_title": cohort.title_for(locale),
        },
        "rules": _describe_rules(cohort.rules, pool.definition.settings, locale, config.currency),
        "locale": locale,
        "generated_on": pool_today(pool.definition).isoformat(),
    }


def _plugin_context(plugins: Plugins, pool: PoolRecord, kind: str, locale: str, base: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    owner: dict[str, str] = {}
    # Each implementation is called on its own so that a clash can name the plugins concerned.
    for impl in reversed(plugins.pm.hook.notice_context.get_hookimpls()):
        arguments = {"pool": pool.definition.config, "kind": kind, "locale": locale}
        result = cast("Mapping[str, Any] | None", impl.function(**{name: arguments[name] for name in impl.argnames}))
        for key, value in dict(result or {}).items():
            if key in base:
                raise PluginError(
                    f"plugin {impl.plugin_name!r} sets the notice value {key!r}, which the core already sets; "
                    "rename it in the plugin"
                )
            if key in extra:
                raise PluginError(
                    f"plugins {owner[key]!r} and {impl.plugin_name!r} both set the notice value {key!r}; "
                    "rename it in one of them, or disable one with MUTUALAID_DISABLE_PLUGINS"
                )
            extra[key] = value
            owner[key] = impl.plugin_name
    return extra


def _member_context(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "masked_name": mask_name(row.name),
        "masked_id_number": mask_id_number(row.id_number),
        "joined_on": row.joined_on.isoformat(),
        "waiting_until": row.waiting_until.isoformat(),
        "covered_from": covered_from(row.joined_on).isoformat(),
        "has_waiting_period": row.waiting_until > row.joined_on,
        "status": row.status,
    }


class _Writer:
    """Writes notices as one file per member, or as one stream file (for scale).

    Everything is written into a staging directory inside ``out_dir`` and moved into place only
    when every notice has rendered: a rendering that fails half-way leaves no notices behind.
    """

    def __init__(self, out_dir: Path, stem: str, layout: str) -> None:
        if layout not in ("files", "stream"):
            raise ValidationError([f"layout {layout!r} is not supported; use 'files' or 'stream'"])
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValidationError([f"cannot create the output directory {out_dir}: {exc.strerror}"]) from None
        self.out_dir, self.stem, self.layout = out_dir, stem, layout
        self._staging = Path(tempfile.mkdtemp(prefix=".rendering-", dir=out_dir))
        self._names: list[str] = []
        self._stream = None
        if layout == "stream":
            name = f"{stem}.txt"
            self._stream = (self._staging / name).open("w", encoding="utf-8")
            self._names.append(name)

    def write(self, member_id: int, text: str) -> None:
        if self._stream is not None:
            self._stream.write(f"=== member {member_id} ===\n{text}")
            if not text.endswith("\n"):
                self._stream.write("\n")
            return
        name = f"{self.stem}-{member_id}.txt"
        (self._staging / name).write_text(text, encoding="utf-8")
        self._names.append(name)

    def commit(self) -> list[Path]:
        """Move every notice into ``out_dir``; return their paths."""
        if self._stream is not None:
            self._stream.close()
        paths = []
        for name in self._names:
            target = self.out_dir / name
            os.replace(self._staging / name, target)
            paths.append(target)
        shutil.rmtree(self._staging, ignore_errors=True)
        return paths

    def abort(self) -> None:
        """Discard everything written."""
        if self._stream is not None:
            self._stream.close()
        shutil.rmtree(self._staging, ignore_errors=True)


def _render(template: jinja2.Template, context: Mapping[str, Any], what: str) -> str:
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        raise ValidationError([f"template {template.name} for {what}: {exc.message}"]) from None
    except jinja2.exceptions.SecurityError as exc:
        raise ValidationError([f"template {template.name} is not allowed to do that: {exc}"]) from None
    # A template it extends or includes is looked up, and parsed, only when it is rendered.
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError([f"template {exc.filename or exc.name}:{exc.lineno}: {exc.message}"]) from None
    except jinja2.TemplateNotFound as exc:
        raise ValidationError(
            [f"template {template.name} uses the template {exc.name!r}, which is in no template directory"]
        ) from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        # An expression in the template failed ({{ 1/0 }}, {{ charge + 1 }}): the template's fault.
        raise ValidationError(
            [f"template {template.name} failed for {what}: {type(exc).__name__}: {exc}; fix the template"]
        ) from None


def render_statements(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    period_key: str,
    out_dir: str | Path,
    *,
    locale: str | None = None,
    layout: str = "files",
    templates: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> RenderResult:
    """Render the statement of every member charged in a period's sharing run.

    Files are named ``statement-PERIOD-MEMBER.txt`` (layout ``files``), or all statements go to
    ``statements-PERIOD.LOCALE.txt`` (layout ``stream``, for large pools).
    """
    pool = get_pool(session, plugins, pool_key)
    locale = locale or pool.definition.config.locale
    _check_locale(locale)
    run = get_run(session, plugins, pool_key, period_key)
    env = make_environment(pool.definition.cohort.templates, Path(templates) if templates else None)
    template = _template(env, "statement", locale)
    base = _pool_context(pool, locale)
    base.update(_statement_run_context(session, pool, run, locale))
    base.update(_plugin_context(plugins, pool, "statement", locale, base))

    cur = pool.currency
    ytd_runs = select(SharingRun.id).where(
        SharingRun.pool_id == pool.id,
        SharingRun.notice_date >= date(run.notice_date.year, 1, 1),
        SharingRun.notice_date <= run.notice_date,
    )
    ytd = (
        select(Charge.member_id, func.sum(Charge.amount_minor).label("total"))
        .where(Charge.run_id.in_(ytd_runs))
        .group_by(Charge.member_id)
        .subquery()
    )
    query = (
        select(Member, Charge.amount_minor, ytd.c.total)
        .join(Charge, and_(Charge.member_id == Member.id, Charge.run_id == run.run_id))
        .join(ytd, ytd.c.member_id == Member.id)
        .order_by(Member.id)
        .execution_options(yield_per=2000)
    )
    stem = f"statement-{run.period}" if layout == "files" else f"statements-{run.period}.{locale}"
    writer = _Writer(Path(out_dir), stem, layout)
    count = 0
    try:
        for member, amount, total in session.execute(query):
            context = dict(base)
            context["member"] = _member_context(member)
            context["charge"] = format_minor(int(amount), cur)
            context["ytd"] = {"year": run.notice_date.year, "total": format_minor(int(total), cur)}
            writer.write(member.id, _render(template, context, f"member #{member.id}"))
            count += 1
            if progress and count % 1000 == 0:
                progress(count)
    except BaseException:
        writer.abort()
        raise
    return RenderResult(count=count, paths=writer.commit())


def _statement_run_context(session: Session, pool: PoolRecord, run: SharingResult, locale: str) -> dict[str, Any]:
    cur = pool.currency
    cohort = pool.definition.cohort
    claims = []
    rows = session.execute(
        select(Claim, Member.name)
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.sharing_run_id == run.run_id)
        .order_by(Claim.id)
    ).all()
    for claim, name in rows:
        kind = cohort.event_kind(claim.event_kind)
        claims.append(
            {
                "id": claim.id,
                "claimant": mask_name(name),
                "kind": kind.title_for(locale) if kind else claim.event_kind,
                "event_date": claim.event_date.isoformat(),
                "benefit": format_minor(claim.benefit_minor or 0, cur),
            }
        )
    fmt = lambda m: format_minor(m, cur)  # noqa: E731
    return {
        "period": {
            "key": run.period,
            "notice_date": run.notice_date.isoformat(),
            "deduction_date": run.deduction_date.isoformat(),
        },
        "run": {
            "members": f"{run.members:,}",
            "claims_count": run.claims,
            "aid": fmt(run.aid_minor),
            "fee": fmt(run.fee_minor),
            "fee_rate_percent": format_percent(run.fee_rate),
            "surplus_in": fmt(run.surplus_in_minor),
            "surplus_in_signed": ("-" if run.surplus_in_minor else "") + fmt(run.surplus_in_minor),
            "surplus_out": fmt(run.surplus_out_minor),
            "need": fmt(run.need_minor),
            "share": fmt(run.share_minor),
            "rounding": run.rounding,
            "charged": fmt(run.charged_minor),
        },
        "claims": claims,
    }


def render_welcome(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    out_dir: str | Path,
    *,
    members: list[int | str] | None = None,
    locale: str | None = None,
    layout: str = "files",
    templates: str | Path | None = None,
) -> RenderResult:
    """Render the welcome notice of the given members (default: every live member)."""
    pool = get_pool(session, plugins, pool_key)
    locale = locale or pool.definition.config.locale
    _check_locale(locale)
    env = make_environment(pool.definition.cohort.templates, Path(templates) if templates else None)
    template = _template(env, "welcome", locale)
    sharing = pool.definition.config.sharing
    base = _pool_context(pool, locale)
    base["sharing"] = {
        "calendar": sharing.calendar,
        "notice_days": list(sharing.notice_days or ()),
        "deduction_days": list(sharing.deduction_days or ()),
        "fee_rate_percent": format_percent(sharing.management_fee_rate),
        "rounding": sharing.rounding,
    }
    base.update(_plugin_context(plugins, pool, "welcome", locale, base))
    if members:
        ids = [get_member(session, pool, m).id for m in members]
        query = select(Member).where(Member.id.in_(ids)).order_by(Member.id)
    else:
        query = select(Member).where(Member.pool_id == pool.id, Member.ended_on.is_(None)).order_by(Member.id)
    writer = _Writer(Path(out_dir), "welcome" if layout == "files" else f"welcome.{locale}", layout)
    count = 0
    try:
        for member in session.scalars(query.execution_options(yield_per=2000)):
            context = dict(base)
            context["member"] = _member_context(member)
            writer.write(member.id, _render(template, context, f"member #{member.id}"))
            count += 1
    except BaseException:
        writer.abort()
        raise
    return RenderResult(count=count, paths=writer.commit())


def render_low_balance(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    out_dir: str | Path,
    *,
    members: list[int | str] | None = None,
    threshold: Any = None,
    locale: str | None = None,
    layout: str = "files",
    templates: str | Path | None = None,
) -> RenderResult:
    """Render the low-balance reminder (kind ``low-balance``) of a prepaid pool's members.

    By default every live member whose balance is below ``threshold`` (default ``[payments]
    low_balance``); with ``members``, those members whatever their balance. The context adds
    ``payments`` (``low_balance``) and, per member, ``balance``, ``low`` (below the level), ``frozen``
    and ``last_share`` (what the pool's last prepaid run deducted from them, or ``None``). Files are named
    ``low-balance-MEMBER.txt`` (layout ``files``) or all go to ``low-balance.LOCALE.txt``.
    """
    pool = get_pool(session, plugins, pool_key)
    if pool.definition.config.payments.model != "prepaid":
        raise StateError(
            f"pool {pool.key!r} is postpaid: its members keep no balance, so it has no low-balance notices"
        )
    locale = locale or pool.definition.config.locale
    _check_locale(locale)
    env = make_environment(pool.definition.cohort.templates, Path(templates) if templates else None)
    template = _template(env, "low_balance", locale)
    cur = pool.currency
    query = low_balance_select(pool, threshold)
    if members:
        ids = [get_member(session, pool, m).id for m in members]
        query = (
            select(Member, func.coalesce(Balance.balance_minor, 0))
            .outerjoin(Balance, Balance.member_id == Member.id)
            .where(Member.id.in_(ids))
            .order_by(Member.id)
        )
    last_run = session.scalar(
        select(SharingRun.id)
        .where(SharingRun.pool_id == pool.id, SharingRun.payment_model == "prepaid")
        .order_by(SharingRun.notice_date.desc(), SharingRun.id.desc())
        .limit(1)
    )
    share = (
        select(Charge.amount_minor)
        .where(Charge.run_id == last_run, Charge.member_id == Member.id)
        .scalar_subquery()
        .label("last_share")
    )
    base = _pool_context(pool, locale)
    level = to_minor(pool.definition.config.payments.low_balance if threshold is None else threshold, cur)
    base["payments"] = {"low_balance": format_minor(level, cur)}
    base.update(_plugin_context(plugins, pool, "low-balance", locale, base))
    writer = _Writer(Path(out_dir), "low-balance" if layout == "files" else f"low-balance.{locale}", layout)
    count = 0
    try:
        for member, held, last_share in session.execute(query.add_columns(share).execution_options(yield_per=2000)):
            context = dict(base)
            context["member"] = _member_context(member)
            context["balance"] = format_minor(int(held), cur)
            context["low"] = int(held) < level
            context["frozen"] = member.status == "frozen"
            context["last_share"] = format_minor(int(last_share), cur) if last_share is not None else None
            writer.write(member.id, _render(template, context, f"member #{member.id}"))
            count += 1
    except BaseException:
        writer.abort()
        raise
    return RenderResult(count=count, paths=writer.commit())
