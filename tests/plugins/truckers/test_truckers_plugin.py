"""The plugin as the core sees it: found through its entry point, one valid cohort, templates that
extend the core's, and an example pool file that validates."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import SandboxedEnvironment

import mutualaid_truckers
from mutualaid import Cohort
from mutualaid.config import load_pool_file

PLUGIN_DIR = Path(__file__).resolve().parents[3] / "plugins" / "truckers"


def test_entry_point_names_the_module():
    (ep,) = [ep for ep in metadata.entry_points(group="mutualaid") if ep.name == "truckers"]
    assert ep.value == "mutualaid_truckers"
    assert ep.load() is mutualaid_truckers
    assert ep.dist is not None and ep.dist.name == "mutualaid-truckers" and ep.dist.version == "0.1.0"


def test_the_core_registers_the_cohort(mutualaid_plugins):
    cohort = mutualaid_plugins.cohort("truckers")
    assert cohort is mutualaid_truckers.COHORT
    assert mutualaid_plugins.cohort_owner("truckers") == "truckers"


def test_cohort():
    cohort = mutualaid_truckers.COHORT
    assert isinstance(cohort, Cohort)
    assert cohort.key == "truckers"
    assert cohort.title_for("en") == "Truck drivers"
    assert cohort.title_for("zh-CN") == "卡友互助"
    assert [(k.key, k.title, k.title_for("zh-CN")) for k in cohort.event_kinds] == [
        ("accidental_death", "Accidental death", "意外身故"),
        ("accidental_disability", "Accidental disability", "意外伤残"),
        ("illness_death", "Death from illness", "疾病身故"),
    ]
    assert cohort.default_settings() == mutualaid_truckers.TruckersSettings()


def test_register_cohorts_hook_registers_one_cohort():
    registered: list[Cohort] = []
    mutualaid_truckers.register_cohorts(registered.append)
    assert registered == [mutualaid_truckers.COHORT]


def test_package_data_is_installed():
    package = Path(mutualaid_truckers.__file__).parent
    assert (package / "py.typed").is_file()
    for locale in ("zh-CN", "en"):
        for kind in ("welcome", "statement"):
            assert (package / "templates" / locale / f"{kind}.txt.j2").is_file()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("kind", ["welcome", "statement"])
def test_templates_extend_the_core_and_keep_its_footer(locale, kind):
    """Rendered against a stand-in for the core template, the override adds its road-safety line
    before the core's footer and changes nothing else."""
    core = "HEAD\n{% block footer %}\ncore footer {{ pool.name }}\n{% endblock %}\n"
    env = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(str(mutualaid_truckers.TEMPLATES)),
                jinja2.PrefixLoader({"core": jinja2.DictLoader({f"{locale}/{kind}.txt.j2": core})}),
            ]
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    text = env.get_template(f"{locale}/{kind}.txt.j2").render(pool={"name": "P"})
    head, safety, footer = text.split("\n", 2)
    assert head == "HEAD"
    assert ("酒驾" if locale == "zh-CN" else "never drink and drive") in safety
    assert footer == "core footer P\n"


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("kind", ["welcome", "statement"])
def test_core_templates_have_the_overridden_block(locale, kind):
    from mutualaid.notices import make_environment

    env = make_environment(cohort_templates=mutualaid_truckers.TEMPLATES)
    assert "footer" in env.get_template(f"core/{locale}/{kind}.txt.j2").blocks
    assert env.get_template(f"{locale}/{kind}.txt.j2").filename == str(
        mutualaid_truckers.TEMPLATES / locale / f"{kind}.txt.j2"
    )


def test_example_pool_file_validates_with_the_defaults(mutualaid_plugins):
    pool = load_pool_file(PLUGIN_DIR / "examples" / "pool.toml", mutualaid_plugins)
    assert pool.config.key == "jiangsu-truckers"
    assert pool.config.cohort == "truckers"
    assert pool.cohort is mutualaid_truckers.COHORT
    assert pool.settings == mutualaid_truckers.TruckersSettings()


def test_bad_settings_in_a_pool_file_name_the_key(mutualaid_plugins, tmp_path):
    from mutualaid import ConfigError

    text = (PLUGIN_DIR / "examples" / "pool.toml").read_text(encoding="utf-8")
    bad = tmp_path / "pool.toml"
    bad.write_text(text.replace('"drunk_driving", "drugged_driving"', '"drunk_driving", "speeding"'), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_pool_file(bad, mutualaid_plugins)
    assert "settings.exclusions: unknown exclusion 'speeding'" in str(info.value)
