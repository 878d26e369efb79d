"""The kinds of notice, each a :class:`~mutualaid.notices.NoticeSpec` of the one pipeline.

The core's (see each module): ``welcome``, ``statement``, ``public-notice``, ``decision``,
``payment-failed``, ``lapse``, ``frozen``, ``unfrozen``, ``low-balance``, ``exit``, ``run-voided``
(a sharing run voided: the charge withdrawn), and the steps of governance: ``objection-received``, ``jury-invitation`` and ``jury-result``. A cohort
plugin adds its own with the ``register_notice_kinds`` hook; a plugin's kind cannot take a
core kind's name.
"""

from __future__ import annotations

from ...errors import PluginError, ValidationError
from ...plugins import Plugins
from ..spec import NoticeSpec
from .balances import LOW_BALANCE
from .decision import DECISION
from .governance import JURY_INVITATION, JURY_RESULT, OBJECTION_RECEIVED
from .lifecycle import EXIT, FROZEN, LAPSE, PAYMENT_FAILED, UNFROZEN
from .public import PUBLIC_NOTICE
from .statement import STATEMENT
from .voided import RUN_VOIDED
from .welcome import WELCOME

__all__ = [
    "DECISION",
    "EXIT",
    "FROZEN",
    "JURY_INVITATION",
    "JURY_RESULT",
    "KINDS",
    "LAPSE",
    "LOW_BALANCE",
    "OBJECTION_RECEIVED",
    "PAYMENT_FAILED",
    "PUBLIC_NOTICE",
    "RUN_VOIDED",
    "STATEMENT",
    "UNFROZEN",
    "WELCOME",
    "all_kinds",
    "spec_for",
]

#: The core's kinds of notice, by name.
KINDS: dict[str, NoticeSpec] = {
    spec.kind: spec
    for spec in (
        WELCOME,
        STATEMENT,
        PUBLIC_NOTICE,
        DECISION,
        PAYMENT_FAILED,
        LAPSE,
        FROZEN,
        UNFROZEN,
        LOW_BALANCE,
        EXIT,
        RUN_VOIDED,
        OBJECTION_RECEIVED,
        JURY_INVITATION,
        JURY_RESULT,
    )
}


def all_kinds(plugins: Plugins | None = None) -> dict[str, NoticeSpec]:
    """The core's kinds and those the plugins register, by name."""
    kinds = dict(KINDS)
    if plugins is None:
        return kinds
    owners: dict[str, str] = {}
    for impl in plugins.pm.hook.register_notice_kinds.get_hookimpls():

        def register(spec: NoticeSpec, _plugin: str = impl.plugin_name) -> None:
            if not isinstance(spec, NoticeSpec):
                raise PluginError(f"plugin {_plugin!r} registered {spec!r} as a kind of notice; give a NoticeSpec")
            if spec.kind in KINDS:
                raise PluginError(
                    f"plugin {_plugin!r} registers the notice kind {spec.kind!r}, which is the core's; rename it"
                )
            if spec.kind in kinds:
                raise PluginError(
                    f"plugins {owners[spec.kind]!r} and {_plugin!r} both register the notice kind {spec.kind!r}"
                )
            kinds[spec.kind] = spec
            owners[spec.kind] = _plugin

        impl.function(register=register)
    return kinds


def spec_for(kind: str, plugins: Plugins | None = None) -> NoticeSpec:
    """The spec of a kind of notice; an unknown kind is a :class:`ValidationError`."""
    kinds = all_kinds(plugins)
    spec = kinds.get(kind)
    if spec is None:
        raise ValidationError([f"kind: {kind!r} is not a kind of notice; the kinds are {', '.join(kinds)}"])
    return spec
