"""The plugin system: discovery through entry points, real pip installs, broken plugins, registration.

Two kinds of tests:

* in-process, with ``load_plugins(entry_points=False, extra=[...])`` and small plugin objects, for
  what the core does with what plugins register;
* in a subprocess, with the fixture distributions of ``tests/fixtures/plugins`` installed for real
  by ``mutualaid install --target DIR`` (pip in mutualaid's own interpreter) and put on
  ``PYTHONPATH``, so they are discovered through ``importlib.metadata`` exactly as an installed
  third-party plugin is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import pytest
from filelock import FileLock
from pydantic import BaseModel

import mutualaid
import mutualaid_truckers
from mutualaid import (
    Applicant,
    BenefitDecision,
    ClaimFacts,
    Cohort,
    CohortRules,
    EventKind,
    IneligibleError,
    MutualAid,
    NoFields,
    PluginError,
    StateError,
    ValidationError,
    hookimpl,
    load_plugins,
    mask_name,
)
from mutualaid.cli import State, cli
from mutualaid.plugins import PluginFailure
from mutualaid.testing import resident_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"
MUTUALAID = Path(sys.executable).parent / "mutualaid"
HOOKS = (
    "balances_low, claim_decided, eligibility_problems, member_ended, member_frozen, member_joined, member_unfrozen, "
    "notice_context, register_cohorts, register_commands, register_incidence, register_notice_kinds, sharing_completed"
)
TRUCKERS_VERSION = metadata.version("mutualaid-truckers")


# -- small plugins written in the tests ---------------------------------------------------------


class PaysNothing(CohortRules[NoFields]):
    def eligibility_problems(self, applicant: Applicant, settings: NoFields) -> list[str]:
        return []

    def decide_benefit(self, claim: ClaimFacts, settings: NoFields) -> BenefitDecision:
        return BenefitDecision.deny(["this test cohort pays nothing"])


def make_cohort(**overrides: Any) -> Cohort:
    values: dict[str, Any] = {
        "key": "test-cohort",
        "title": "Test cohort",
        "settings_model": NoFields,
        "rules": PaysNothing(),
        "event_kinds": (EventKind("death", "Death"),),
    }
    values.update(overrides)
    return Cohort(**values)


class Registers:
    """A plugin whose register_cohorts hook registers the given objects."""

    def __init__(self, *objects: object) -> None:
        self.objects = objects

    @hookimpl
    def register_cohorts(self, register: Callable[[object], None]) -> None:
        for obj in self.objects:
            register(obj)


class Raises:
    @hookimpl
    def register_cohorts(self, register: Callable[[Cohort], None]) -> None:
        raise RuntimeError("the cohort's data file is missing")


class BuildsInvalidCohort:
    @hookimpl
    def register_cohorts(self, register: Callable[[Cohort], None]) -> None:
        register(make_cohort(key="Bike Couriers"))


class Typo:
    @hookimpl
    def register_cohort(self, register: Callable[[Cohort], None]) -> None:  # the hook is register_cohorts
        register(make_cohort(key="typo-cohort"))


class ExtraArgument:
    @hookimpl
    def eligibility_problems(self, pool: Any, applicant: Applicant, session: Any) -> list[str]:  # no 'session'
        return []


def load(*extra: tuple[str, object], strict: bool = False) -> tuple[mutualaid.Plugins, list[str]]:
    """Load only the core's default plugin and ``extra``, collecting warnings."""
    warnings: list[str] = []
    return load_plugins(entry_points=False, extra=extra, strict=strict, warn=warnings.append), warnings


def names(plugins: mutualaid.Plugins) -> list[str]:
    return [info.name for info in plugins.info()]


# -- discovery of the installed truckers plugin -------------------------------------------------


def test_truckers_is_found_through_its_entry_point():
    found = {ep.name: ep for ep in metadata.entry_points(group="mutualaid")}
    assert "truckers" in found
    ep = found["truckers"]
    assert ep.value == "mutualaid_truckers"
    assert ep.dist is not None and ep.dist.name == "mutualaid-truckers"
    assert ep.load() is mutualaid_truckers


def test_load_plugins_lists_truckers_with_its_hooks_and_cohort():
    plugins = load_plugins(strict=True, warn=pytest.fail)
    infos = {info.name: info for info in plugins.info()}
    truckers = infos["truckers"]
    assert (truckers.distribution, truckers.version) == ("mutualaid-truckers", TRUCKERS_VERSION)
    assert "register_cohorts" in truckers.hooks
    assert truckers.hooks == sorted(truckers.hooks)
    assert set(truckers.hooks) <= set(HOOKS.split(", "))
    assert truckers.cohorts == ["truckers"]
    assert plugins.cohort("truckers") is mutualaid_truckers.COHORT
    assert plugins.cohort_owner("truckers") == "truckers"
    builtin = infos["mutualaid.builtin"]
    assert builtin.as_dict() == {
        "name": "mutualaid.builtin",
        "distribution": "mutualaid",
        "version": mutualaid.__version__,
        "hooks": ["eligibility_problems"],
        "cohorts": [],
    }
    assert plugins.failures == []


def test_each_load_builds_a_new_plugin_manager():
    first, second = load_plugins(strict=True), load_plugins(strict=True)
    assert first.pm is not second.pm
    assert first.cohort("truckers") is second.cohort("truckers")


def test_plugins_command_json_and_table(runner, plugins):
    result = runner.invoke(cli, ["plugins", "--json"], obj=State(plugins=plugins))
    assert result.exit_code == 0, result.output
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    truckers = listed["truckers"]
    assert set(truckers) == {"name", "distribution", "version", "hooks", "cohorts"}
    assert (truckers["distribution"], truckers["version"], truckers["cohorts"]) == (
        "mutualaid-truckers",
        TRUCKERS_VERSION,
        ["truckers"],
    )
    assert "register_cohorts" in truckers["hooks"]
    assert listed["mutualaid.builtin"]["hooks"] == ["eligibility_problems"]

    table = runner.invoke(cli, ["plugins"], obj=State(plugins=plugins))
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["plugin", "distribution", "hooks", "cohorts"]
    row = next(line for line in lines if line.startswith("truckers "))
    assert f"mutualaid-truckers {TRUCKERS_VERSION}" in row
    assert row.split()[-1] == "truckers"


# -- what plugins register (in-process) ---------------------------------------------------------


def test_a_register_cohorts_hook_that_raises_is_skipped_with_a_warning():
    plugins, warnings = load(("raising", Raises()), ("good", Registers(make_cohort())))
    reason = "its register_cohorts hook raised RuntimeError: the cohort's data file is missing"
    assert warnings == [f"plugin 'raising' skipped: {reason}"]
    assert plugins.failures == [PluginFailure("raising", reason)]
    assert names(plugins) == ["good", "mutualaid.builtin"]
    assert list(plugins.cohorts) == ["test-cohort"]  # the other plugin is unaffected


def test_a_register_cohorts_hook_that_raises_is_fatal_in_strict_mode():
    with pytest.raises(PluginError) as info:
        load(("raising", Raises()), strict=True)
    assert str(info.value) == (
        "plugin 'raising' failed: its register_cohorts hook raised RuntimeError: the cohort's data file is missing"
    )


def test_strict_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("MUTUALAID_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match=r"^plugin 'raising' failed: "):
        load_plugins(entry_points=False, extra=[("raising", Raises())])
    monkeypatch.setenv("MUTUALAID_STRICT_PLUGINS", "0")
    plugins = load_plugins(entry_points=False, extra=[("raising", Raises())], warn=lambda message: None)
    assert [f.name for f in plugins.failures] == ["raising"]


@pytest.mark.parametrize(
    "registered",
    [
        pytest.param({"key": "couriers", "title": "Couriers"}, id="a-dict"),
        pytest.param("couriers", id="a-string"),
        pytest.param(Cohort, id="the-Cohort-class"),
    ],
)
def test_registering_something_that_is_not_a_cohort(registered):
    good = make_cohort()
    plugins, warnings = load(("wrong", Registers(good, registered)))
    reason = f"its register_cohorts hook registered {registered!r}, which is not a mutualaid.Cohort"
    assert warnings == [f"plugin 'wrong' skipped: {reason}"]
    assert plugins.failures == [PluginFailure("wrong", reason)]
    assert plugins.cohorts == {}  # nothing of the plugin is kept, not even its valid cohort
    assert "wrong" not in names(plugins)

    with pytest.raises(PluginError) as info:
        load(("wrong", Registers(registered)), strict=True)
    assert str(info.value) == f"plugin 'wrong' failed: {reason}"


def test_an_invalid_cohort_built_in_the_hook_skips_the_plugin():
    plugins, warnings = load(("couriers", BuildsInvalidCohort()))
    assert warnings == [
        "plugin 'couriers' skipped: its register_cohorts hook raised ValueError: invalid cohort 'Bike Couriers': "
        "key 'Bike Couriers' must be lower-case letters, digits, '_' or '-'"
    ]
    assert plugins.cohorts == {}


class _Settings(BaseModel):
    limit: int = 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"key": "Bike Couriers"},
            "invalid cohort 'Bike Couriers': key 'Bike Couriers' must be lower-case letters, digits, '_' or '-'",
            id="key-with-capitals-and-space",
        ),
        pytest.param(
            {"key": "9lives"},
            "invalid cohort '9lives': key '9lives' must be lower-case letters, digits, '_' or '-'",
            id="key-starting-with-a-digit",
        ),
        pytest.param(
            {"key": ""}, "invalid cohort '': key '' must be lower-case letters, digits, '_' or '-'", id="empty-key"
        ),
        pytest.param(
            {"event_kinds": ()},
            "invalid cohort 'test-cohort': at least one event kind is required",
            id="no-event-kinds",
        ),
        pytest.param(
            {"event_kinds": (EventKind("death", "Death"), EventKind("death", "Death at work"))},
            "invalid cohort 'test-cohort': event kind keys must be unique",
            id="duplicate-event-kind-keys",
        ),
        pytest.param(
            {"event_kinds": ("death",)},
            "invalid cohort 'test-cohort': event_kinds must be EventKind objects",
            id="event-kind-as-a-string",
        ),
        pytest.param(
            {"settings_model": dict},
            "invalid cohort 'test-cohort': settings_model must be a pydantic BaseModel subclass, not <class 'dict'>",
            id="settings-model-not-a-basemodel",
        ),
        pytest.param(
            {"settings_model": _Settings()},
            "invalid cohort 'test-cohort': settings_model must be a pydantic BaseModel subclass, "
            "not _Settings(limit=1)",
            id="settings-model-an-instance",
        ),
        pytest.param(
            {"claim_model": list},
            "invalid cohort 'test-cohort': claim_model must be a pydantic BaseModel subclass, not <class 'list'>",
            id="claim-model-not-a-basemodel",
        ),
        pytest.param(
            {"rules": object()},
            "invalid cohort 'test-cohort': rules must be an instance of a mutualaid.CohortRules subclass",
            id="rules-not-cohortrules",
        ),
        pytest.param(
            {"templates": "/nonexistent/templates"},
            "invalid cohort 'test-cohort': templates directory /nonexistent/templates does not exist",
            id="missing-templates-directory",
        ),
        pytest.param(
            {"key": "X", "event_kinds": (), "rules": None},
            "invalid cohort 'X': key 'X' must be lower-case letters, digits, '_' or '-'; rules must be an instance "
            "of a mutualaid.CohortRules subclass; at least one event kind is required",
            id="every-problem-at-once",
        ),
    ],
)
def test_cohort_validation(overrides, message):
    with pytest.raises(ValueError) as info:
        make_cohort(**overrides)
    assert str(info.value) == message


def test_event_kind_key_validation():
    with pytest.raises(ValueError) as info:
        EventKind("Accidental Death", "Accidental death")
    assert str(info.value) == "event kind key 'Accidental Death' must be lower-case letters, digits, '_' or '-'"


def test_a_valid_cohort_is_registered_and_attributed_to_its_plugin():
    cohort = make_cohort(settings_model=_Settings, local_titles={"zh-CN": "测试"})
    plugins, warnings = load(("tester", Registers(cohort)), strict=True)
    assert warnings == []
    assert plugins.cohort("test-cohort") is cohort
    assert plugins.cohort_owner("test-cohort") == "tester"
    assert {i.name: i.cohorts for i in plugins.info()} == {"mutualaid.builtin": [], "tester": ["test-cohort"]}
    assert cohort.title_for("zh-CN") == "测试" and cohort.title_for("en") == "Test cohort"


@pytest.mark.parametrize("strict", [False, True], ids=["normal", "strict"])
def test_a_cohort_key_registered_twice_is_an_error_naming_both_plugins(strict):
    with pytest.raises(PluginError) as info:
        load(("first", Registers(make_cohort())), ("second", Registers(make_cohort(title="Another"))), strict=strict)
    # pluggy calls the last registered plugin first, so 'second' registers the key first
    assert str(info.value) == (
        "cohort key 'test-cohort' is registered by both plugin 'second' and plugin 'first'; uninstall one of them, "
        "or disable one with MUTUALAID_DISABLE_PLUGINS=first"
    )


def test_an_unknown_cohort_names_the_installed_ones():
    plugins, _ = load(("tester", Registers(make_cohort())))
    with pytest.raises(mutualaid.NotFoundError) as info:
        plugins.cohort("couriers")
    assert str(info.value) == (
        "no cohort 'couriers' is installed (installed cohorts: test-cohort); "
        "install its plugin with 'mutualaid install PACKAGE' and check 'mutualaid plugins'"
    )


def test_a_misspelt_hook_is_reported_and_the_plugin_skipped():
    plugins, warnings = load(("typo", Typo()), ("good", Registers(make_cohort())))
    reason = (
        f"it implements 'register_cohort', which is not a mutualaid hook (check the spelling; the hooks are {HOOKS})"
    )
    assert warnings == [f"plugin 'typo' failed to load and was skipped: {reason}"]
    assert plugins.failures == [PluginFailure("typo", reason)]
    assert names(plugins) == ["good", "mutualaid.builtin"]
    assert list(plugins.cohorts) == ["test-cohort"]

    with pytest.raises(PluginError) as info:
        load(("typo", Typo()), strict=True)
    assert str(info.value) == f"plugin 'typo' failed to load: {reason}"


def test_an_implementation_with_an_argument_the_spec_lacks_is_refused():
    plugins, warnings = load(("extra-arg", ExtraArgument()))
    assert len(warnings) == 1
    (warning,) = warnings
    assert warning.startswith(
        "plugin 'extra-arg' failed to load and was skipped: invalid hook implementation: "
        "Plugin 'extra-arg' for hook 'eligibility_problems'; "
    )
    assert warning.endswith("Argument(s) {'session'} are declared in the hookimpl but can not be found in the hookspec")
    assert "\n" not in warning  # one line, as every message on the terminal
    assert "extra-arg" not in names(plugins)
    with pytest.raises(PluginError, match=r"^plugin 'extra-arg' failed to load: invalid hook implementation: "):
        load(("extra-arg", ExtraArgument()), strict=True)


def test_two_plugins_under_one_name_or_one_plugin_under_two_names():
    same = Registers(make_cohort())
    plugins, warnings = load(("a", same), ("b", same), ("mutualaid.builtin", Registers()))
    assert warnings == [
        "plugin 'b' failed to load and was skipped: it is the same object as plugin 'a', which is already registered",
        "plugin 'mutualaid.builtin' failed to load and was skipped: another plugin is already registered under this "
        "name",
    ]
    assert names(plugins) == ["a", "mutualaid.builtin"]
    assert list(plugins.cohorts) == ["test-cohort"]


# -- hooks taking fewer arguments than the spec; notice context ---------------------------------


class Sanctions:
    """A KYC-style plugin implementing eligibility_problems with fewer arguments than the spec."""

    def __init__(self, refused: str) -> None:
        self.refused = refused

    @hookimpl
    def eligibility_problems(self, applicant: Applicant) -> list[str]:
        if applicant.id_number == self.refused:
            return [f"{applicant.name} is on the operator's sanctions list"]
        return []


class Hotline:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    @hookimpl
    def notice_context(self, kind: str) -> dict[str, Any] | None:
        return self.values if kind == "welcome" else None


def _app(url: str, *extra: tuple[str, object]) -> MutualAid:
    plugins = load_plugins(entry_points=False, extra=[("truckers", mutualaid_truckers), *extra], strict=True)
    return MutualAid(url, plugins=plugins)


def test_a_hook_implemented_with_fewer_arguments_is_called(sqlite_url, truckers_pool, make_driver):
    refused = make_driver(13)
    app = _app(sqlite_url, ("sanctions", Sanctions(refused["id_number"])))
    try:
        assert app.plugins.failures == []
        app.create_pool(truckers_pool())
        app.join("js-truckers", **make_driver(1))
        with pytest.raises(IneligibleError) as info:
            app.join("js-truckers", **refused)
        assert info.value.lines == [
            "司机13 cannot join pool 'js-truckers':",
            "司机13 is on the operator's sanctions list",
        ]
        assert [m.name for m in app.members("js-truckers")] == ["司机1"]
    finally:
        app.close()


def _welcome_templates(tmp_path: Path) -> Path:
    templates = tmp_path / "templates"
    (templates / "en").mkdir(parents=True)
    (templates / "en" / "welcome.txt.j2").write_text("{{ member.name }}: call {{ hotline }}\n", encoding="utf-8")
    return templates


def test_notice_context_from_a_plugin_reaches_the_templates(sqlite_url, tmp_path, truckers_pool, make_driver):
    app = _app(sqlite_url, ("hotline", Hotline({"hotline": "400-800-1234"})))
    try:
        app.create_pool(truckers_pool())
        member = app.join("js-truckers", **make_driver(1))
        result = app.render_welcome(
            "js-truckers", tmp_path / "out", locale="en", templates=_welcome_templates(tmp_path)
        )
        assert result.count == 1
        assert result.paths[0].read_text(encoding="utf-8") == "司机1: call 400-800-1234\n"
        assert result.paths[0].name == f"welcome-{member.id}.txt"
    finally:
        app.close()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(
            (("clash", Hotline({"pool": "mine"})),),
            "plugin 'clash' sets the notice value 'pool', which the core already sets; rename it in the plugin",
            id="a-core-key",
        ),
        pytest.param(
            (("hotline", Hotline({"hotline": "400-800-1234"})), ("other", Hotline({"hotline": "110"}))),
            "plugins 'other' and 'hotline' both set the notice value 'hotline'; rename it in one of them, or "
            "disable one with MUTUALAID_DISABLE_PLUGINS",
            id="a-key-of-another-plugin",
        ),
    ],
)
def test_notice_context_key_collision_is_a_plugin_error(
    sqlite_url, tmp_path, truckers_pool, make_driver, extra, message
):
    app = _app(sqlite_url, *extra)
    try:
        app.create_pool(truckers_pool())
        app.join("js-truckers", **make_driver(1))
        out = tmp_path / "out"
        with pytest.raises(PluginError) as info:
            app.render_welcome("js-truckers", out, locale="en", templates=_welcome_templates(tmp_path))
        assert str(info.value) == message
        assert not out.exists()  # nothing was written
    finally:
        app.close()


class Birthdays:
    """A cohort's own kind of notice: a birthday greeting to the members born in a month."""

    def __init__(self, kind: str = "birthday") -> None:
        self.kind = kind

    @hookimpl
    def register_notice_kinds(self, register: Any) -> None:
        from sqlalchemy import extract, select

        from mutualaid.db.models import Member
        from mutualaid.notices import NoticeSpec, member_columns

        register(
            NoticeSpec(
                kind=self.kind,
                template="birthday",
                file_stem=lambda request: "birthday",
                stream_stem=lambda request: "birthdays",
                batch=lambda session, pool, request, locale: {"month": int(request.extra.get("month", 1))},
                recipients=lambda session, pool, request, batch: (
                    select(*member_columns())
                    .where(Member.pool_id == pool.id, extract("month", Member.birth_date) == batch["month"])
                    .order_by(Member.id)
                ),
                member=lambda row, batch: {"born": row.birth_date.isoformat()},
            )
        )


def _birthday_templates(tmp_path: Path) -> Path:
    templates = tmp_path / "templates"
    (templates / "en").mkdir(parents=True)
    (templates / "en" / "birthday.txt.j2").write_text("Happy birthday, {{ member.name }} ({{ born }})\n", "utf-8")
    (templates / "en" / "birthday.html.j2").write_text("<p>Happy birthday, {{ member.name }}</p>\n", "utf-8")
    return templates


def test_a_cohort_adds_its_own_kind_of_notice(sqlite_url, tmp_path, truckers_pool, make_driver):
    app = _app(sqlite_url, ("birthdays", Birthdays()))
    try:
        app.create_pool(truckers_pool())
        born = {n: app.join("js-truckers", **make_driver(n)) for n in (1, 2)}
        month = born[2].birth_date.month
        from mutualaid.notices import all_kinds

        assert "birthday" in all_kinds(app.plugins)
        result = app.render_notices(
            "js-truckers",
            "birthday",
            tmp_path / "out",
            locale="en",
            formats=("text", "html"),
            templates=_birthday_templates(tmp_path),
        )
        # The request's month defaults to January: render again for the month of driver 2.
        assert result.count == sum(1 for m in born.values() if m.birth_date.month == 1)
        with app.transaction() as session:
            from mutualaid.notices import NoticeRequest, render, spec_for
            from mutualaid.pools import get_pool

            pool = get_pool(session, app.plugins, "js-truckers")
            spec = spec_for("birthday", app.plugins)
            request = NoticeRequest(locale="en", extra={"month": month})
            again = render(
                session,
                app.plugins,
                pool,
                spec,
                request,
                tmp_path / "may",
                formats=("text", "html"),
                templates=_birthday_templates(tmp_path / "t2"),
            )
        expected = [m for m in born.values() if m.birth_date.month == month]
        assert again.count == len(expected)
        member = expected[0]
        text = (tmp_path / "may" / f"birthday-{member.id}.txt").read_text("utf-8")
        assert text == f"Happy birthday, {member.name} ({member.birth_date.isoformat()})\n"
        html = (tmp_path / "may" / f"birthday-{member.id}.html").read_text("utf-8")
        assert html == f"<p>Happy birthday, {member.name}</p>\n"
    finally:
        app.close()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(
            (("mine", Birthdays("statement")),),
            "plugin 'mine' registers the notice kind 'statement', which is the core's; rename it",
            id="a-core-kind",
        ),
        pytest.param(
            (("one", Birthdays()), ("two", Birthdays())),
            "plugins 'one' and 'two' both register the notice kind 'birthday'",
            id="two-plugins",
        ),
    ],
)
def test_a_kind_of_notice_that_clashes_is_a_plugin_error(sqlite_url, tmp_path, truckers_pool, extra, message):
    app = _app(sqlite_url, *extra)
    try:
        app.create_pool(truckers_pool())
        with pytest.raises(PluginError) as info:
            app.render_notices("js-truckers", "birthday", tmp_path / "out", locale="en")
        assert str(info.value) == message
        assert not (tmp_path / "out").exists()
    finally:
        app.close()


# -- observers: called inside the operation's transaction ---------------------------------------


class Recorder:
    """Implements every observer hook and records what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    @hookimpl
    def member_joined(self, pool: Any, member_id: int, applicant: Applicant) -> None:
        self.calls.append(("member_joined", pool.key, member_id, applicant.name))

    @hookimpl
    def claim_decided(self, pool: Any, claim_id: int, decision: BenefitDecision, approved: bool) -> None:
        self.calls.append(("claim_decided", pool.key, claim_id, decision.payable, decision.amount, approved))

    @hookimpl
    def sharing_completed(self, pool: Any, result: Any) -> None:
        self.calls.append(("sharing_completed", pool.key, result.period, result.members, result.charged_minor))


def _death(app: MutualAid, member: int, day: str = "2026-10-20") -> int:
    claim = app.file_claim("js-truckers", member, event_kind="accidental_death", event_date=day, filed_on="2026-10-25")
    return claim.id


def test_observers_see_joins_decisions_and_sharing_runs(db_url, truckers_pool, make_driver):
    recorder = Recorder()
    app = _app(db_url, ("recorder", recorder))
    try:
        app.create_pool(truckers_pool())
        for n in (1, 2, 3):
            app.join("js-truckers", **make_driver(n))
        app.approve_claim(_death(app, 1))
        app.reject_claim(_death(app, 2), "the death certificate is not legible; please file again")
        app.share("js-truckers", "2026-11")
    finally:
        app.close()
    # 300,000 + 8% fee = 324,000.00 shared by members 2 and 3 (member 1 died before the notice day)
    assert recorder.calls == [
        ("member_joined", "js-truckers", 1, "司机1"),
        ("member_joined", "js-truckers", 2, "司机2"),
        ("member_joined", "js-truckers", 3, "司机3"),
        ("claim_decided", "js-truckers", 1, True, Decimal("300000"), True),
        ("claim_decided", "js-truckers", 2, True, Decimal("300000"), False),
        ("sharing_completed", "js-truckers", "2026-11", 2, 32_400_000),
    ]


class RefusesJoining:
    @hookimpl
    def member_joined(self, member_id: int) -> None:
        raise ValidationError([f"the KYC service refused member #{member_id}"])


class FailsOnDecision:
    @hookimpl
    def claim_decided(self, claim_id: int) -> None:
        raise StateError(f"the payout system did not accept claim #{claim_id}")


class FailsAfterSharing:
    @hookimpl
    def sharing_completed(self, result: Any) -> None:
        raise StateError(f"the payment provider is down; period {result.period} was not shared")


def test_an_observer_that_raises_in_member_joined_rolls_the_join_back(db_url, truckers_pool, make_driver):
    app = _app(db_url, ("kyc", RefusesJoining()))
    try:
        app.create_pool(truckers_pool())
        with pytest.raises(ValidationError) as info:
            app.join("js-truckers", **make_driver(1))
        assert info.value.lines == ["the KYC service refused member #1"]
        assert app.members("js-truckers") == []
    finally:
        app.close()


def test_an_observer_that_raises_in_claim_decided_rolls_the_decision_back(db_url, truckers_pool, make_driver):
    app = _app(db_url, ("payout", FailsOnDecision()))
    try:
        app.create_pool(truckers_pool())
        app.join("js-truckers", **make_driver(1))
        claim_id = _death(app, 1)
        with pytest.raises(StateError, match=r"^the payout system did not accept claim #1$"):
            app.approve_claim(claim_id)
        (claim,) = app.claims("js-truckers")
        assert (claim.status, claim.benefit) == ("filed", None)
        assert app.member("js-truckers", 1).status == "active"  # the death did not end the membership
    finally:
        app.close()


def test_an_observer_that_raises_in_sharing_completed_rolls_the_run_back(db_url, truckers_pool, make_driver):
    from sqlalchemy import func, select

    from mutualaid.db.models import Charge, SharingRun

    app = _app(db_url, ("payments", FailsAfterSharing()))
    try:
        app.create_pool(truckers_pool())
        for n in (1, 2, 3):
            app.join("js-truckers", **make_driver(n))
        app.approve_claim(_death(app, 1))
        with pytest.raises(StateError, match=r"^the payment provider is down; period 2026-11 was not shared$"):
            app.share("js-truckers", "2026-11")
        with app.transaction() as session:
            assert session.scalar(select(func.count()).select_from(SharingRun)) == 0
            assert session.scalar(select(func.count()).select_from(Charge)) == 0
        assert [c.status for c in app.claims("js-truckers")] == ["approved"]
    finally:
        app.close()


# -- cohorts show ---------------------------------------------------------------------------------


def test_cohorts_show_truckers_prints_every_setting_with_description_and_default(runner, plugins):
    result = runner.invoke(cli, ["cohorts", "show", "truckers"], obj=State(plugins=plugins))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "truckers: Truck drivers (卡友互助)"
    assert "plugin: truckers" in lines
    start = lines.index("settings  ([settings] table of a pool file):")
    end = lines.index("member attributes  (member join --attr NAME=VALUE, or CSV columns):")
    settings_lines = [line for line in lines[start + 1 : end] if line]
    model = mutualaid_truckers.TruckersSettings
    expected: list[str] = []
    for name, field in model.model_fields.items():
        expected.append(f"  {name}  [default: {_shown_default(field.default)}]")
        expected.append(f"      {field.description}")
    assert settings_lines == expected
    # spot checks of the default column, written out as an operator reads them
    assert "  min_age  [default: 18]" in lines
    assert "  accidental_death_benefit  [default: 300000]" in lines
    assert "  require_driving_proof  [default: true]" in lines
    assert '  accepted_licence_classes  [default: ["A1", "A2", "B1", "B2"]]' in lines
    assert "  disability_grade_percent  [default: [100, 90, 80, 70, 60, 50, 40, 30, 20, 10]]" in lines


def _shown_default(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(_shown_default(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value + '"'
    return str(value)


def test_cohorts_show_truckers_json(runner, plugins):
    result = runner.invoke(cli, ["cohorts", "show", "truckers", "--json"], obj=State(plugins=plugins))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["key"], data["title"], data["titles"], data["plugin"]) == (
        "truckers",
        "Truck drivers",
        {"zh-CN": "卡友互助"},
        "truckers",
    )
    model = mutualaid_truckers.TruckersSettings
    defaults = model().model_dump(mode="json")
    assert [s["name"] for s in data["settings"]] == list(model.model_fields)
    for setting in data["settings"]:
        assert setting["required"] is False
        assert setting["default"] == defaults[setting["name"]], setting["name"]
        assert setting["description"] == model.model_fields[setting["name"]].description
    assert [e["key"] for e in data["events"]] == [k.key for k in mutualaid_truckers.COHORT.event_kinds]
    assert {a["name"] for a in data["member_attributes"]} == set(mutualaid_truckers.TruckerAttributes.model_fields)


def test_cohorts_show_an_unknown_cohort(runner, plugins):
    result = runner.invoke(cli, ["cohorts", "show", "taxi"], obj=State(plugins=plugins))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: no cohort 'taxi' is installed (installed cohorts: ")
    assert result.stderr.endswith("install its plugin with 'mutualaid install PACKAGE' and check 'mutualaid plugins'\n")


# -- real installs of the fixture distributions, run in a subprocess ----------------------------


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUTUALAID_", "PYTHONPATH", "PIP_"))}
    env.update(
        PYTHONIOENCODING="utf-8",
        PYTHONDONTWRITEBYTECODE="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INDEX="1",
        PIP_NO_INPUT="1",
    )
    env.update(extra)
    return env


def run_mutualaid(
    *args: str, sites: Iterable[Path] = (), env: dict[str, str] | None = None, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``mutualaid`` console script with ``sites`` (install targets) on ``PYTHONPATH``."""
    extra = dict(env or {})
    extra["PYTHONPATH"] = os.pathsep.join(str(s) for s in sites)
    if home is not None:
        extra["MUTUALAID_HOME"] = str(home)
    if "MUTUALAID_KEY_FILE" in os.environ:  # the test run's key (a new one would be announced on stderr)
        extra.setdefault("MUTUALAID_KEY_FILE", os.environ["MUTUALAID_KEY_FILE"])
    return subprocess.run(
        [str(MUTUALAID), *args],
        env=_clean_env(**extra),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )


def _copy_fixture(name: str, where: Path) -> Path:
    source = where / name
    shutil.copytree(FIXTURES / name, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return source


class Installs:
    """``installed(name)``: the target directory where fixture ``name`` was installed by
    ``mutualaid install --target``; a test puts on ``PYTHONPATH`` the directories of exactly the
    plugins it wants installed. ``installed.log(name)``: that install's command line and output.

    Each fixture is installed once per test run, into a directory shared by every xdist worker:
    the first worker that needs it installs it under a file lock while the others wait, and the
    log, written last, tells them it is done (a half-done install, of a worker that died, is
    started again)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sites: dict[str, Path] = {}

    def __call__(self, name: str) -> Path:
        if name not in self.sites:
            where = self.root / name
            self.root.mkdir(parents=True, exist_ok=True)
            with FileLock(self.root / f"{name}.lock"):
                if not (where / "install.json").is_file():
                    self._install(name, where)
            self.sites[name] = where / "site"
        return self.sites[name]

    def log(self, name: str) -> dict[str, Any]:
        return json.loads((self(name).parent / "install.json").read_text(encoding="utf-8"))

    @staticmethod
    def _install(name: str, where: Path) -> None:
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir()
        source = _copy_fixture(name, where)
        args = ["install", "--no-deps", "--no-build-isolation", "--target", str(where / "site"), str(source)]
        proc = run_mutualaid(*args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        log = {"args": args, "stdout": proc.stdout, "stderr": proc.stderr}
        (where / "install.json.tmp").write_text(json.dumps(log), encoding="utf-8")
        os.replace(where / "install.json.tmp", where / "install.json")


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installs:
    basetemp = tmp_path_factory.getbasetemp()
    # under xdist each worker's basetemp is <run>/popen-gwN: the run's directory is shared by the
    # workers and by nothing else; without xdist the basetemp is the run's own directory
    run_dir = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    return Installs(run_dir / "plugin-installs")


def _listed(proc: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in json.loads(proc.stdout)}


BROKEN_WARNING = (
    "mutualaid: warning: plugin 'broken' failed to load and was skipped: importing mutualaid_fixture_broken raised "
    "ModuleNotFoundError: No module named 'mutualaid_fixture_missing_dependency'"
)
TYPO_REASON = (
    f"it implements 'register_cohort', which is not a mutualaid hook (check the spelling; the hooks are {HOOKS})"
)


def test_install_runs_pip_in_mutualaids_own_interpreter(installed):
    # the install that every test of an external cohort uses, done once per run by 'installed'
    site = installed("external_cohort")
    log = installed.log("external_cohort")
    source = str(site.parent / "external_cohort")  # the copy of the fixture that was built
    assert log["args"] == ["install", "--no-deps", "--no-build-isolation", "--target", str(site), source]
    first = log["stderr"].splitlines()[0]
    match = re.fullmatch(r"running: (\S+) -m pip install --no-deps --no-build-isolation --target (\S+) (\S+)", first)
    assert match, first
    # the interpreter of mutualaid's own environment (not resolved: a venv's python is a symlink)
    assert Path(match[1]).parent == MUTUALAID.parent
    assert Path(match[1]).name.startswith("python")
    assert (match[2], match[3]) == (str(site), source)
    dist = metadata.Distribution.at(site / "mutualaid_bike_couriers-0.3.1.dist-info")
    assert dist.metadata["Name"] == "mutualaid-bike-couriers"
    assert [(ep.group, ep.name, ep.value) for ep in dist.entry_points] == [
        ("mutualaid", "couriers", "mutualaid_bike_couriers")
    ]
    assert (site / "mutualaid_bike_couriers" / "py.typed").is_file()
    # the build happened in the copy: nothing was written next to the fixtures
    assert not list(FIXTURES.rglob("*.egg-info")) and not list(FIXTURES.rglob("build"))


def test_install_reports_pips_failure(tmp_path):
    missing = tmp_path / "no-such-plugin"
    proc = run_mutualaid("install", "--no-deps", "--target", str(tmp_path / "site"), str(missing))
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        f"Error: pip install --no-deps --target {tmp_path / 'site'} {missing} failed with exit code 1; "
        "see pip's output above"
    )
    assert not (tmp_path / "site").exists()


def test_installed_plugins_are_listed_with_name_distribution_version_hooks_cohorts(installed, tmp_path):
    proc = run_mutualaid("plugins", "--json", sites=[installed("external_cohort")], home=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    listed = _listed(proc)
    assert listed["couriers"] == {
        "name": "couriers",
        "distribution": "mutualaid-bike-couriers",
        "version": "0.3.1",
        "hooks": ["register_cohorts"],
        "cohorts": ["bike-couriers"],
    }
    assert listed["truckers"]["cohorts"] == ["truckers"]


def test_a_broken_plugin_is_reported_and_skipped(installed, tmp_path):
    sites = [installed("broken"), installed("external_cohort")]
    proc = run_mutualaid("plugins", "--json", sites=sites, home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [BROKEN_WARNING]
    listed = _listed(proc)
    assert "broken" not in listed
    assert listed["couriers"]["cohorts"] == ["bike-couriers"]  # the other plugins still work
    assert listed["truckers"]["cohorts"] == ["truckers"]
    assert listed["disease_cohorts"]["cohorts"] == ["cancer-patients", "critical-illness", "disease-society"]

    cohorts = run_mutualaid("cohorts", "list", "--json", sites=sites, home=tmp_path)
    assert cohorts.returncode == 0
    assert [c["key"] for c in json.loads(cohorts.stdout)] == [
        "bike-couriers",
        "cancer-patients",
        "critical-illness",
        "disease-society",
        "truckers",
    ]


def test_a_broken_plugin_is_fatal_in_strict_mode(installed, tmp_path):
    sites = [installed("broken"), installed("external_cohort")]
    proc = run_mutualaid("plugins", "--json", sites=sites, home=tmp_path, env={"MUTUALAID_STRICT_PLUGINS": "1"})
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        "Error: plugin 'broken' failed to load: importing mutualaid_fixture_broken raised ModuleNotFoundError: "
        "No module named 'mutualaid_fixture_missing_dependency'\n"
    )


@pytest.mark.parametrize("strict", ["0", "1"], ids=["normal", "strict"])
def test_a_duplicate_cohort_key_is_an_error_naming_both_plugins(installed, tmp_path, strict):
    proc = run_mutualaid(
        "plugins", "--json", sites=[installed("dupe")], home=tmp_path, env={"MUTUALAID_STRICT_PLUGINS": strict}
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        f"Error: cohort key 'truckers' is registered by both plugin 'truckers' (mutualaid-truckers {TRUCKERS_VERSION}) "
        "and plugin 'dupe' (mutualaid-fixture-dupe 0.2.0); uninstall one of them, or disable one with "
        "MUTUALAID_DISABLE_PLUGINS=dupe\n"
    )
    # the way out the message gives works
    fixed = run_mutualaid(
        "plugins", "--json", sites=[installed("dupe")], home=tmp_path, env={"MUTUALAID_DISABLE_PLUGINS": "dupe"}
    )
    assert (fixed.returncode, fixed.stderr) == (0, "")
    assert _listed(fixed)["truckers"]["cohorts"] == ["truckers"]


def test_a_misspelt_hook_skips_the_plugin(installed, tmp_path):
    sites = [installed("typo")]
    proc = run_mutualaid("plugins", "--json", sites=sites, home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        f"mutualaid: warning: plugin 'typo' failed to load and was skipped: {TYPO_REASON}"
    ]
    assert "typo" not in _listed(proc)
    cohorts = run_mutualaid("cohorts", "list", "--json", sites=sites, home=tmp_path)
    assert "typo-cohort" not in [c["key"] for c in json.loads(cohorts.stdout)]


def test_a_misspelt_hook_is_fatal_in_strict_mode(installed, tmp_path):
    proc = run_mutualaid(
        "plugins", "--json", sites=[installed("typo")], home=tmp_path, env={"MUTUALAID_STRICT_PLUGINS": "1"}
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == f"Error: plugin 'typo' failed to load: {TYPO_REASON}\n"


@pytest.mark.parametrize(
    ("fixtures", "env", "expected"),
    [
        pytest.param(
            ["broken", "external_cohort"],
            {"MUTUALAID_DISABLE_PLUGINS": "broken"},
            ["couriers", "disease_cohorts", "mutualaid.builtin", "truckers"],
            id="disable-broken",
        ),
        pytest.param(
            ["broken", "typo", "external_cohort"],
            {"MUTUALAID_DISABLE_PLUGINS": "broken,typo"},
            ["couriers", "disease_cohorts", "mutualaid.builtin", "truckers"],
            id="disable-broken-and-typo",
        ),
        pytest.param(
            ["broken", "typo", "external_cohort"],
            {"MUTUALAID_PLUGINS": "truckers"},
            ["mutualaid.builtin", "truckers"],
            id="allow-only-truckers",
        ),
        pytest.param(
            ["broken", "typo", "external_cohort"],
            {"MUTUALAID_PLUGINS": " couriers , truckers ", "MUTUALAID_DISABLE_PLUGINS": "truckers"},
            ["couriers", "mutualaid.builtin"],
            id="allow-two-disable-one",
        ),
    ],
)
def test_allow_and_disable_lists(installed, tmp_path, fixtures, env, expected):
    sites = [installed(name) for name in fixtures]
    # strict, so a left-out plugin that were imported anyway would fail the command
    proc = run_mutualaid("plugins", "--json", sites=sites, home=tmp_path, env={**env, "MUTUALAID_STRICT_PLUGINS": "1"})
    assert (proc.returncode, proc.stderr) == (0, "")
    assert sorted(_listed(proc)) == expected


def test_two_distributions_with_the_same_plugin_name_are_an_error(installed, tmp_path):
    proc = run_mutualaid("plugins", "--json", sites=[installed("impostor")], home=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        "Error: two installed distributions provide a plugin named 'truckers': mutualaid-fixture-impostor 0.1.0 and "
        f"mutualaid-truckers {TRUCKERS_VERSION}; uninstall one of them\n"
    )


# -- an external cohort, end to end through the command line ------------------------------------

COURIERS_POOL = """\
key = "sh-couriers"
name = "上海骑手互助"
cohort = "bike-couriers"
locale = "en"
operator = "上海骑手之家"

[sharing]
management_fee_rate = 0.1
rounding = "round-up"

[settings]
hospital_cap = 2000
death_benefit = 50000
"""

RIDERS = [
    # (name, birth date, attributes)
    ("张三", date(1995, 3, 4), ["platform=meituan", "rider_id=MT-0001", "vehicle=e-bike", "e_bike_plate=沪A12345"]),
    ("李四", date(1990, 7, 1), ["platform=eleme", "rider_id=EL-0002"]),
    ("Wang Wu", date(2000, 1, 31), ["platform=sf-express", "rider_id=SF-0003"]),
    ("赵六", date(1988, 12, 12), ["platform=independent", "rider_id=IN-0004", "vehicle=bicycle"]),
]


@pytest.mark.slow
def test_an_external_cohort_end_to_end(installed, tmp_path, db_url):
    sites = [installed("external_cohort")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = run_mutualaid("--database-url", db_url, *args, sites=sites, home=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        return proc

    def run_json(*args: str) -> Any:
        return json.loads(run(*args, "--json").stdout)

    pool_file = tmp_path / "couriers.toml"
    pool_file.write_text(COURIERS_POOL, encoding="utf-8")
    assert run("pool", "create", str(pool_file)).stdout == (
        "created pool 'sh-couriers': 上海骑手互助 (cohort bike-couriers, CNY, monthly sharing, fee 10%, "
        "rounding round-up)\n"
    )
    shown = run_json("pool", "show", "sh-couriers")
    assert shown["sharing"]["management_fee_rate"] == "0.1"
    assert shown["settings"] == {
        "min_age": 18,
        "max_age": 55,
        "platforms": ["meituan", "eleme", "sf-express", "independent"],
        "daily_allowance": "200",
        "min_hospital_days": 2,
        "hospital_cap": "2000",
        "death_benefit": "50000",
    }

    for n, (name, born, attrs) in enumerate(RIDERS, start=1):
        options = [arg for attr in attrs for arg in ("--attr", attr)]
        member = run_json(
            "member", "join", "sh-couriers", "--id-number", resident_id(born, n), "--name", name,
            "--birth-date", born.isoformat(), "--joined-on", "2026-10-01", *options,
        )  # fmt: skip
        assert (member["id"], member["name"], member["status"]) == (n, name, "active")

    # the cohort's eligibility rules, every reason at once
    refused = run_mutualaid(
        "--database-url", db_url, "member", "join", "sh-couriers", "--id-number", "E12345678", "--name", "钱七",
        "--birth-date", "1960-05-05", "--joined-on", "2026-10-01",
        "--attr", "platform=dada", "--attr", "rider_id=DD-0005", "--attr", "vehicle=e-bike",
        sites=sites, home=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr == (
        "Error: 钱七 cannot join pool 'sh-couriers':\n"
        "age 66 on the joining day is outside 18 to 55\n"
        "platform 'dada' is not accepted by this pool; accepted: meituan, eleme, sf-express, independent\n"
        "an e-bike must be registered: give its plate number as e_bike_plate\n"
    )

    # a hospital stay: 12 days at 200 is 2,400, capped at 2,000
    claim = run_json(
        "claim", "file", "sh-couriers", "1", "--kind", "accident-hospital", "--date", "2026-10-10",
        "--detail", "hospital_days=12", "--filed-on", "2026-10-12",
    )  # fmt: skip
    assert (claim["id"], claim["status"], claim["details"]) == (1, "filed", {"hospital_days": 12})
    approved = run_json("claim", "approve", "1")
    assert approved["decision"] == {
        "payable": True,
        "amount": "2000",
        "cap": "2000",
        "reasons": ["12 days in hospital at 200 a day: 2,400", "capped at 2,000 per hospital stay"],
        "ends_membership": False,
        "refund_contributions": False,
    }
    assert approved["claim"]["benefit"] == "2000.00"

    # an accidental death: a lump sum of 50,000 that ends the membership
    run("claim", "file", "sh-couriers", "2", "--kind", "accidental-death", "--date", "2026-10-20",
        "--filed-on", "2026-10-21")  # fmt: skip
    death = run_json("claim", "approve", "2")
    assert (death["decision"]["amount"], death["decision"]["ends_membership"]) == ("50000", True)
    assert run_json("member", "show", "sh-couriers", "2")["status"] == "deceased"

    # a stay too short is not payable and cannot be approved
    run("claim", "file", "sh-couriers", "3", "--kind", "accident-hospital", "--date", "2026-10-22",
        "--detail", "hospital_days=1", "--filed-on", "2026-10-23")  # fmt: skip
    short = run_mutualaid("--database-url", db_url, "claim", "approve", "3", sites=sites, home=tmp_path)
    assert short.returncode == 1
    assert short.stderr == (
        "Error: claim #3 cannot be approved: 1 day(s) in hospital is less than the 2 days a stay must last\n"
    )

    # period 2026-11: aid 52,000.00 + fee 5,200.00 = 57,200.00 over the 3 living members,
    # 19,066.67 each rounded up, 0.01 carried as surplus
    result = run_json("share", "run", "sh-couriers", "--period", "2026-11")
    assert {k: result[k] for k in ("members", "claims", "aid", "fee", "need", "share", "charged", "surplus_out")} == {
        "members": 3,
        "claims": 2,
        "aid": "52000.00",
        "fee": "5200.00",
        "need": "57200.00",
        "share": "19066.67",
        "charged": "57200.01",
        "surplus_out": "0.01",
    }
    assert result["reconciles"] is True

    out = tmp_path / "statements"
    rendered = run("notice", "render", "sh-couriers", "--kind", "statement", "--period", "2026-11", "--out", str(out))
    assert rendered.stdout == f"rendered 3 statement notices into {out}\n"
    assert sorted(p.name for p in out.iterdir()) == [
        "statement-2026-11-1.txt",
        "statement-2026-11-3.txt",
        "statement-2026-11-4.txt",
    ]
    statement = (out / "statement-2026-11-3.txt").read_text(encoding="utf-8")
    assert "Dear Wang Wu (member #3)," in statement
    assert "Your share this period: 19,066.67 CNY" in statement
    # (the layout of the core's template may change; the words and amounts may not)
    claimant1, claimant2 = re.escape(mask_name("张三")), re.escape(mask_name("李四"))
    assert re.search(rf"case #1\s+{claimant1}\s+Accident hospitalisation \(2026-10-10\)\s+aid 2,000\.00 CNY", statement)
    assert re.search(rf"case #2\s+{claimant2}\s+Accidental death \(2026-10-20\)\s+aid 50,000\.00 CNY", statement)
    assert re.search(r"^\s*charged in total\s+57,200\.01$", statement, re.MULTILINE)
    assert re.search(r"^\s*members sharing\s+3$", statement, re.MULTILINE)

    welcome_dir = tmp_path / "welcome"
    run("notice", "render", "sh-couriers", "--kind", "welcome", "--member", "4", "--out", str(welcome_dir),
        "--locale", "zh-CN")  # fmt: skip
    welcome = (welcome_dir / "welcome-4.txt").read_text(encoding="utf-8")
    assert (
        "  1. 年满 18 至 55 周岁、在以下平台接单的骑手可以加入：meituan, eleme, sf-express, independent。\n"
        "  2. 骑电动车的骑手须已上牌。\n"
        "  3. 意外住院满 2 天，每天补助 200，每次住院最多 2,000。\n"
        "  4. 意外身故：一次性互助金 50,000。\n"
    ) in welcome
    welcome_en = tmp_path / "welcome-en"
    run("notice", "render", "sh-couriers", "--kind", "welcome", "--member", "4", "--out", str(welcome_en))
    assert "  4. Accidental death pays a lump sum of 50,000.\n" in (welcome_en / "welcome-4.txt").read_text(
        encoding="utf-8"
    )


def test_an_external_cohorts_settings_are_described(installed, tmp_path):
    proc = run_mutualaid(
        "cohorts", "show", "bike-couriers", "--json", sites=[installed("external_cohort")], home=tmp_path
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    data = json.loads(proc.stdout)
    assert (data["key"], data["plugin"], data["titles"]) == ("bike-couriers", "couriers", {"zh-CN": "骑手互助"})
    assert {s["name"]: s["default"] for s in data["settings"]} == {
        "min_age": 18,
        "max_age": 55,
        "platforms": ["meituan", "eleme", "sf-express", "independent"],
        "daily_allowance": "200",
        "min_hospital_days": 2,
        "hospital_cap": "20000",
        "death_benefit": "100000",
    }
    assert [(a["name"], a["required"]) for a in data["member_attributes"]] == [
        ("platform", True),
        ("rider_id", True),
        ("vehicle", False),
        ("e_bike_plate", False),
    ]
    assert [e["key"] for e in data["events"]] == ["accident-hospital", "accidental-death"]


# -- register_commands ----------------------------------------------------------------------------


class _CommandsPlugin:
    @hookimpl
    def register_commands(self, cli):
        @cli.command("hello-cohort")
        def hello() -> None:
            """Say hello."""
            click.echo("hello from a plugin command")


class _RaisingCommandsPlugin:
    @hookimpl
    def register_commands(self, cli):
        raise RuntimeError("no commands today")


def test_a_plugin_adds_commands_and_a_raising_one_is_skipped(runner):
    group = click.Group("test-cli")
    loaded = load_plugins(entry_points=False, extra=[("adds", _CommandsPlugin()), ("raises", _RaisingCommandsPlugin())])
    warnings: list[str] = []
    loaded.add_commands(group, warn=warnings.append, strict=False)
    assert warnings == [
        "plugin 'raises': commands skipped: its register_commands hook raised RuntimeError: no commands today"
    ]
    result = runner.invoke(group, ["hello-cohort"])
    assert (result.exit_code, result.output) == (0, "hello from a plugin command\n")
    with pytest.raises(PluginError, match="plugin 'raises' failed: its register_commands hook raised RuntimeError"):
        loaded.add_commands(click.Group("strict-cli"), strict=True)


# -- member_ended ---------------------------------------------------------------------------------


class _Endings:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int, str, str]] = []

    @hookimpl
    def member_ended(self, pool, member_id, status, on):
        self.seen.append((pool.key, member_id, status, on.isoformat()))


class _RefusesEndings:
    @hookimpl
    def member_ended(self, member_id):
        raise RuntimeError(f"member #{member_id} may not leave today")


def test_member_ended_observes_exits_recorded_deaths_and_death_claims(sqlite_url, truckers_pool, make_driver):
    endings = _Endings()
    app = _app(sqlite_url, ("endings", endings))
    try:
        app.create_pool(truckers_pool())
        for n in range(1, 5):
            app.join("js-truckers", **make_driver(n))
        app.exit_member("js-truckers", 1, on="2026-10-10")
        app.record_death("js-truckers", 2, on="2026-10-11")
        approved = app.file_claim(
            "js-truckers", 3, event_kind="accidental_death", event_date="2026-10-12", filed_on="2026-10-13"
        )
        app.approve_claim(approved.id)
        excluded = app.file_claim(
            "js-truckers", 4, event_kind="accidental_death", event_date="2026-10-14", filed_on="2026-10-15",
            details={"circumstances": "drunk_driving"},
        )  # fmt: skip
        app.reject_claim(excluded.id, "drunk driving is not covered")
        assert endings.seen == [
            ("js-truckers", 1, "exited", "2026-10-10"),
            ("js-truckers", 2, "deceased", "2026-10-11"),
            ("js-truckers", 3, "deceased", "2026-10-12"),
            ("js-truckers", 4, "deceased", "2026-10-14"),
        ]
    finally:
        app.close()


def test_a_member_ended_observer_that_raises_rolls_the_exit_back(sqlite_url, truckers_pool, make_driver):
    app = _app(sqlite_url, ("refuses", _RefusesEndings()))
    try:
        app.create_pool(truckers_pool())
        app.join("js-truckers", **make_driver(1))
        with pytest.raises(RuntimeError, match="member #1 may not leave today"):
            app.exit_member("js-truckers", 1, on="2026-10-10")
        member = app.member("js-truckers", 1)
        assert (member.status, member.ended_on) == ("active", None)
    finally:
        app.close()


def test_a_collector_calls_a_hook_as_pluggy_does():
    """``Plugins.collector`` (an import's per-row call of eligibility_problems) gives what calling the
    hook gives: every implementation, last registered first, ``None`` left out; a wrapper among the
    implementations leaves the call to pluggy."""

    class First:
        @hookimpl
        def eligibility_problems(self, applicant):  # fewer arguments than the spec
            return [f"first: {applicant}"]

    class Silent:
        @hookimpl
        def eligibility_problems(self, pool, applicant):
            return None

    class Last:
        @hookimpl
        def eligibility_problems(self, pool, applicant):
            return [f"last: {pool}", "and another"]

    applicant = SimpleNamespace(id_number="E1234567", birth_date=date(1980, 1, 1), __str__=lambda self: "A")
    plugins = load_plugins(entry_points=False, extra=[("first", First()), ("silent", Silent()), ("last", Last())])
    expected = [r for r in plugins.hook.eligibility_problems(pool="P", applicant=applicant) if r is not None]
    assert plugins.collector("eligibility_problems")(pool="P", applicant=applicant) == expected
    # last registered first; the core's own check (a passport number: nothing to check) comes last
    assert expected == [["last: P", "and another"], [f"first: {applicant}"], []]

    class Wrapper:
        @hookimpl(wrapper=True)
        def eligibility_problems(self, pool, applicant):
            problems = yield
            return [*problems, ["wrapped"]]

    # the core's check alone: called directly, with what the hook gives
    alone = load_plugins(entry_points=False)
    assert len(alone.pm.hook.eligibility_problems.get_hookimpls()) == 1
    good = resident_id(date(1980, 1, 1), 1)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    got = {}
    for number in (good, wrong, "E1234567"):
        person = SimpleNamespace(id_number=number, birth_date=date(1980, 1, 1))
        got[number] = alone.collector("eligibility_problems")(pool="P", applicant=person)
        assert got[number] == alone.hook.eligibility_problems(pool="P", applicant=person)
    assert got[good] == got["E1234567"] == [[]]
    assert len(got[wrong]) == 1 and "fails the resident-ID check digit" in got[wrong][0][0]

    wrapped = load_plugins(entry_points=False, extra=[("first", First()), ("wrapper", Wrapper())])
    assert wrapped.collector("eligibility_problems")(pool="P", applicant=applicant) == [
        [f"first: {applicant}"],
        [],
        ["wrapped"],
    ]
