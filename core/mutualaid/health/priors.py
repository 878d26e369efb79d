"""The cohorts' prior incidence, as their plugins register it (the ``register_incidence`` hook).

Each implementation is called on its own, so that a cohort key registered twice names both
plugins, and a plugin that raises or supplies something invalid is named in the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import PoolDefinition
from ..errors import PluginError, StateError
from ..plugins import Plugins
from .incidence import IncidenceTable, table_problems

__all__ = ["incidence_providers", "prior_table"]

Provider = Callable[[Any], IncidenceTable | None]


def incidence_providers(plugins: Plugins) -> dict[str, tuple[str, Provider]]:
    """``{cohort key: (plugin name, rates)}`` of every registration."""
    found: dict[str, tuple[str, Provider]] = {}
    for impl in reversed(plugins.pm.hook.register_incidence.get_hookimpls()):
        owner = impl.plugin_name
        staged: list[tuple[Any, Any]] = []

        def register(key: Any, rates: Any, _staged: list[tuple[Any, Any]] = staged) -> None:
            _staged.append((key, rates))

        try:
            impl.function(**{name: register for name in impl.argnames})
        except Exception as exc:  # a plugin's bug, reported as such
            raise PluginError(
                f"plugin {owner!r}: its register_incidence hook raised {type(exc).__name__}: {exc}"
            ) from exc
        for key, rates in staged:
            if not isinstance(key, str) or not callable(rates):
                raise PluginError(
                    f"plugin {owner!r} registered incidence ({key!r}, {rates!r}); register(cohort_key, rates) takes a "
                    "cohort key and a function of the pool's settings"
                )
            if key in found:
                raise PluginError(
                    f"the incidence of cohort {key!r} is registered by both plugin {found[key][0]!r} and plugin "
                    f"{owner!r}; disable one of them with MUTUALAID_DISABLE_PLUGINS"
                )
            found[key] = (owner, rates)
    return found


def prior_table(plugins: Plugins, definition: PoolDefinition) -> IncidenceTable:
    """The prior incidence of the pool of ``definition``, checked against its cohort.

    :raises StateError: when neither the cohort's plugin nor the pool file gives any.
    :raises PluginError: when the plugin's table is invalid.
    """
    cohort = definition.cohort
    key = definition.config.key
    registered = incidence_providers(plugins).get(cohort.key)
    table = None
    if registered is not None:
        owner, rates = registered
        try:
            table = rates(definition.settings)
        except Exception as exc:  # a plugin's bug, reported as such
            raise PluginError(f"plugin {owner!r}: its incidence of cohort {cohort.key!r} raised {exc}") from exc
        if table is not None:
            problems = table_problems(table, [k.key for k in cohort.event_kinds])
            if problems:
                raise PluginError(f"plugin {owner!r}: its incidence of cohort {cohort.key!r} " + "; ".join(problems))
    if table is None:
        raise StateError(
            f"pool {key!r} has no incidence to work from: its cohort {cohort.key!r} gives no prior rates for it; "
            "write its rates in the pool file (see the cohort plugin's README, 'incidence') or install a plugin "
            "that registers them"
        )
    return table
