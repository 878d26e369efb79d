"""The plugin manager: discovery through entry points, loading, and the cohort registry.

Nothing is loaded at import time: call :func:`load_plugins` (the CLI and :class:`~mutualaid.MutualAid`
do it once each). Plugins are the entry points of the ``mutualaid`` group; the core's own
behaviour is registered through the same manager as the default plugin ``mutualaid.builtin``.

Environment:

* ``MUTUALAID_PLUGINS`` -- comma-separated allow-list of entry-point names to load (unset: all);
* ``MUTUALAID_DISABLE_PLUGINS`` -- comma-separated entry-point names not to load;
* ``MUTUALAID_STRICT_PLUGINS=1`` -- a plugin that fails to load is fatal instead of skipped.

A plugin fails to load when importing it raises, when it implements a hook that does not exist (a
misspelt name) or with arguments the spec lacks, or when its ``register_cohorts`` hook raises or
registers something that is not a :class:`~mutualaid.Cohort`; it is then reported and skipped.
Two plugins registering the same cohort key, and two distributions with an entry point of the same
name, are always an error naming both: neither may silently take the other's place.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .cohort import Cohort
from .errors import NotFoundError, PluginError

__all__ = ["ENTRY_POINT_GROUP", "PluginFailure", "PluginInfo", "Plugins", "load_plugins"]

ENTRY_POINT_GROUP = "mutualaid"


@dataclass(frozen=True, slots=True)
class PluginFailure:
    """A plugin that was skipped, and why."""

    name: str
    reason: str


@dataclass(slots=True)
class PluginInfo:
    """What ``mutualaid plugins`` shows of one plugin."""

    name: str
    distribution: str | None
    version: str | None
    hooks: list[str]
    cohorts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": self.hooks,
            "cohorts": self.cohorts,
        }


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def strict_mode() -> bool:
    return os.environ.get("MUTUALAID_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}


def _warn_stderr(message: str) -> None:
    print(f"mutualaid: warning: {message}", file=sys.stderr)


class Plugins:
    """A loaded plugin manager and the cohorts its plugins registered."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._cohorts: dict[str, Cohort] = {}
        self._cohort_owner: dict[str, str] = {}
        self._dists: dict[str, tuple[str | None, str | None]] = {}
        self.failures: list[PluginFailure] = []

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def collector(self, name: str) -> Callable[..., list[Any]]:
        """A function calling every implementation of the hook ``name`` with keyword arguments and
        returning their results in pluggy's order (last registered first), ``None`` results left
        out: what ``hook.<name>(...)`` returns, for a hook called once per row of an import, without
        pluggy's per-call bookkeeping. With a wrapper among the implementations it is pluggy itself."""
        caller = getattr(self.pm.hook, name)
        impls = caller.get_hookimpls()
        if any(impl.hookwrapper or impl.wrapper for impl in impls):
            return lambda **kwargs: list(caller(**kwargs))
        functions = [(impl.function, tuple(impl.argnames)) for impl in reversed(impls)]
        if len(functions) == 1:  # the common case (the core's own check alone), at import speed
            only, names = functions[0]

            def collect_one(**kwargs: Any) -> list[Any]:
                result = only(*[kwargs[arg] for arg in names])
                return [] if result is None else [result]

            return collect_one

        def collect(**kwargs: Any) -> list[Any]:
            results = []
            for function, argnames in functions:
                result = function(*[kwargs[arg] for arg in argnames])
                if result is not None:
                    results.append(result)
            return results

        return collect

    # -- cohorts ---------------------------------------------------------------------------------

    @property
    def cohorts(self) -> Mapping[str, Cohort]:
        return dict(self._cohorts)

    def cohort(self, key: str) -> Cohort:
        """The cohort registered under ``key``; an unknown key is a :class:`NotFoundError`."""
        try:
            return self._cohorts[key]
        except KeyError:
            known = ", ".join(sorted(self._cohorts)) or "none"
            raise NotFoundError(
                f"no cohort {key!r} is installed (installed cohorts: {known}); "
                "install its plugin with 'mutualaid install PACKAGE' and check 'mutualaid plugins'"
            ) from None

    def cohort_owner(self, key: str) -> str:
        return self._cohort_owner[key]

    def _describe(self, name: str) -> str:
        dist, version = self._dists.get(name, (None, None))
        if dist:
            return f"plugin {name!r} ({dist} {version})"
        return f"plugin {name!r}"

    def _register_cohort(self, owner: str, cohort: object) -> None:
        if not isinstance(cohort, Cohort):
            raise PluginError(f"{self._describe(owner)} registered {cohort!r}, which is not a mutualaid.Cohort")
        if cohort.key in self._cohorts:
            first = self._cohort_owner[cohort.key]
            raise PluginError(
                f"cohort key {cohort.key!r} is registered by both {self._describe(first)} and "
                f"{self._describe(owner)}; uninstall one of them, or disable one with "
                f"MUTUALAID_DISABLE_PLUGINS={owner}"
            )
        self._cohorts[cohort.key] = cohort
        self._cohort_owner[cohort.key] = owner

    def _collect_cohorts(self, warn: Callable[[str], None], strict: bool) -> None:
        # Called per implementation so that every cohort is attributed to its plugin.
        for impl in reversed(self.pm.hook.register_cohorts.get_hookimpls()):
            owner = impl.plugin_name
            staged: list[object] = []
            try:
                impl.function(**{name: staged.append for name in impl.argnames})
            except Exception as exc:  # a broken plugin must not take the others down
                reason = f"its register_cohorts hook raised {type(exc).__name__}: {exc}"
                if strict:
                    raise PluginError(f"{self._describe(owner)} failed: {reason}") from exc
                warn(f"{self._describe(owner)} skipped: {reason}")
                self.failures.append(PluginFailure(owner, reason))
                self.pm.unregister(name=owner)
                continue
            wrong = [item for item in staged if not isinstance(item, Cohort)]
            if wrong:  # a broken plugin like any other: skipped, or fatal in strict mode
                reason = f"its register_cohorts hook registered {wrong[0]!r}, which is not a mutualaid.Cohort"
                if strict:
                    raise PluginError(f"{self._describe(owner)} failed: {reason}")
                warn(f"{self._describe(owner)} skipped: {reason}")
                self.failures.append(PluginFailure(owner, reason))
                self.pm.unregister(name=owner)
                continue
            for cohort in staged:
                self._register_cohort(owner, cohort)

    def add_commands(self, cli: Any, *, warn: Callable[[str], None] | None = None, strict: bool | None = None) -> None:
        """Let every plugin add its commands to ``cli`` (the ``register_commands`` hook).

        Each implementation is called on its own, so a plugin whose hook raises is reported and
        skipped (fatal in strict mode) and the others still add theirs.
        """
        warn = warn or _warn_stderr
        strict = strict_mode() if strict is None else strict
        for impl in reversed(self.pm.hook.register_commands.get_hookimpls()):
            try:
                impl.function(**{name: cli for name in impl.argnames})
            except Exception as exc:  # a broken plugin must not take the command line down
                reason = f"its register_commands hook raised {type(exc).__name__}: {exc}"
                if strict:
                    raise PluginError(f"{self._describe(impl.plugin_name)} failed: {reason}") from exc
                warn(f"{self._describe(impl.plugin_name)}: commands skipped: {reason}")
                self.failures.append(PluginFailure(impl.plugin_name, reason))

    # -- introspection ---------------------------------------------------------------------------

    def info(self) -> list[PluginInfo]:
        """Every registered plugin: name, distribution, version, hooks and cohorts."""
        result = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda item: item[0]):
            if plugin is None:
                continue
            hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])
            dist, version = self._dists.get(name, (None, None))
            cohorts = sorted(k for k, owner in self._cohort_owner.items() if owner == name)
            result.append(PluginInfo(name, dist, version, hooks, cohorts))
        return result


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def load_plugins(
    *,
    entry_points: bool = True,
    extra: Iterable[tuple[str, object]] = (),
    strict: bool | None = None,
    warn: Callable[[str], None] = _warn_stderr,
) -> Plugins:
    """Build a plugin manager, load the default and installed plugins, and collect cohorts.

    :param entry_points: discover plugins from the ``mutualaid`` entry-point group.
    :param extra: ``(name, plugin)`` pairs registered after the default plugin (for tests and
        embedding applications).
    :param strict: fail on the first broken plugin; defaults to ``MUTUALAID_STRICT_PLUGINS``.
    :param warn: where to report skipped plugins (stderr by default).
    """
    from . import builtin

    strict = strict_mode() if strict is None else strict
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    plugins = Plugins(pm)
    core_version = _version("mutualaid")
    pm.register(builtin, name="mutualaid.builtin")
    plugins._dists["mutualaid.builtin"] = ("mutualaid", core_version)

    def fail(name: str, reason: str, exc: BaseException | None = None) -> None:
        if strict:
            raise PluginError(f"plugin {name!r} failed to load: {reason}") from exc
        warn(f"plugin {name!r} failed to load and was skipped: {reason}")
        plugins.failures.append(PluginFailure(name, reason))

    def register(name: str, plugin: object) -> None:
        if pm.get_plugin(name) is not None or pm.is_blocked(name):
            fail(name, "another plugin is already registered under this name")
            return
        other = pm.get_name(plugin)
        if other is not None:
            fail(name, f"it is the same object as plugin {other!r}, which is already registered")
            return
        try:
            pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())  # one line
            fail(name, f"invalid hook implementation: {detail}", exc)

    for name, plugin in extra:
        register(name, plugin)

    if entry_points:
        _load_entry_points(plugins, register, fail)

    _drop_misspelt(pm, fail)
    plugins._collect_cohorts(warn, strict)
    return plugins


def _load_entry_points(plugins: Plugins, register: Callable[[str, object], None], fail: Callable[..., None]) -> None:
    """Import and register the plugins of the ``mutualaid`` entry-point group, as the environment
    allows (``MUTUALAID_PLUGINS``, ``MUTUALAID_DISABLE_PLUGINS``)."""
    allow = _env_list("MUTUALAID_PLUGINS")
    deny = _env_list("MUTUALAID_DISABLE_PLUGINS") or set()
    seen: dict[str, str] = {}
    for ep in sorted(_entry_points(), key=lambda e: e.name):
        if (allow is not None and ep.name not in allow) or ep.name in deny:
            continue
        dist = ep.dist
        provider = f"{dist.name} {dist.version}" if dist else ep.value
        if ep.name in seen:
            # Like a cohort key registered twice: never let one plugin take another's place.
            raise PluginError(
                f"two installed distributions provide a plugin named {ep.name!r}: {seen[ep.name]} and "
                f"{provider}; uninstall one of them"
            )
        seen[ep.name] = provider
        plugins._dists[ep.name] = (dist.name if dist else None, dist.version if dist else None)
        try:
            plugin = ep.load()
        except Exception as exc:  # report and skip: one broken plugin must not stop the rest
            fail(ep.name, f"importing {ep.value} raised {type(exc).__name__}: {exc}", exc)
            continue
        register(ep.name, plugin)


def _drop_misspelt(pm: pluggy.PluginManager, fail: Callable[..., None]) -> None:
    """A hook implementation whose name matches no spec is a typo: fail loudly for that plugin."""
    while True:
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            bad = exc.plugin
            name = pm.get_name(bad) or repr(bad)
            unknown = sorted(c.name for c in pm.get_hookcallers(bad) or [] if not c.has_spec())
            known = sorted(n for n in dir(hookspecs) if pm.parse_hookspec_opts(hookspecs, n) is not None)
            reason = (
                f"it implements {', '.join(map(repr, unknown))}, which is not a mutualaid hook (check the "
                f"spelling; the hooks are {', '.join(known)})"
                if unknown
                else str(exc)
            )
            fail(name, reason, exc)
            pm.unregister(bad)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
