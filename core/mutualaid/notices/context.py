"""The values every notice's template gets: the pool and its rules in words, the member (with a
masked name and ID number for what others may see), and what plugins add."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, cast

from ..cohort import covered_from
from ..db.models import Member
from ..errors import PluginError
from ..plugins import Plugins
from ..pools import PoolRecord, pool_today
from ..privacy import mask_name

__all__ = ["MEMBER_COLUMNS", "describe_rules", "member_columns", "member_context", "plugin_context", "pool_context"]

#: The member's columns every recipients query starts with (plain rows: no ORM objects are built
#: for millions of notices).
MEMBER_COLUMNS = (
    "id",
    "name",
    "id_masked",
    "birth_date",
    "joined_on",
    "waiting_until",
    "status",
    "ended_on",
    "email",
    "phone",
    "locale",
    "city",
)


def member_columns() -> list[Any]:
    """The columns of :data:`MEMBER_COLUMNS`, for ``select(*member_columns(), ...)``."""
    table = Member.__table__
    return [table.c[name] for name in MEMBER_COLUMNS]


def describe_rules(rules: Any, settings: Any, locale: str, currency: str) -> list[str]:
    """The cohort's rules in words, with the pool's currency when its ``describe_rules`` takes one
    (an implementation may leave the parameter out; see :meth:`CohortRules.describe_rules`)."""
    try:
        params = inspect.signature(rules.describe_rules).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - a callable without a signature
        params = None
    if params is not None and any(p.name == "currency" or p.kind is p.VAR_KEYWORD for p in params):
        return list(rules.describe_rules(settings, locale, currency=currency))
    return list(rules.describe_rules(settings, locale))


def pool_context(pool: PoolRecord, locale: str) -> dict[str, Any]:
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
        "rules": describe_rules(cohort.rules, pool.definition.settings, locale, config.currency),
        "locale": locale,
        "generated_on": pool_today(pool.definition).isoformat(),
    }


def plugin_context(plugins: Plugins, pool: PoolRecord, kind: str, locale: str, base: dict[str, Any]) -> dict[str, Any]:
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


def member_context(row: Any) -> dict[str, Any]:
    """The reader's own values (a row of :func:`member_columns`): their name in full for their own
    notice, masked forms for anything shown to others. The ID number is only ever masked (it is
    stored encrypted; see :mod:`mutualaid.keys`)."""
    return {
        "id": row.id,
        "name": row.name,
        "masked_name": mask_name(row.name),
        "masked_id_number": row.id_masked,
        "joined_on": row.joined_on.isoformat(),
        "waiting_until": row.waiting_until.isoformat(),
        "covered_from": covered_from(row.joined_on).isoformat(),
        "has_waiting_period": row.waiting_until > row.joined_on,
        "status": row.status,
        "ended_on": row.ended_on.isoformat() if row.ended_on else None,
        "email": row.email,
        "phone": row.phone,
        "city": row.city,
    }
