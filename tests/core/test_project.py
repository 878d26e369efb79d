"""Tests about the project: the public API, the hookspecs' documentation, how plugins import the core,
the package layout."""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata, resources
from pathlib import Path
from types import ModuleType

import pluggy
import pytest

import mutualaid
import mutualaid_truckers
from mutualaid import hookspecs

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
CORE = ROOT / "core" / "mutualaid"
TRUCKERS = Path(mutualaid_truckers.__file__).parent
EXTERNAL_COHORT = TESTS / "fixtures" / "plugins" / "external_cohort" / "mutualaid_bike_couriers"


def hookspec_functions() -> dict[str, object]:
    pm = pluggy.PluginManager("mutualaid")
    return {
        name: getattr(hookspecs, name) for name in dir(hookspecs) if pm.parse_hookspec_opts(hookspecs, name) is not None
    }


HOOKSPECS = hookspec_functions()


# -- the public API ---------------------------------------------------------------------------------


def test_all_is_sorted_and_unique():
    assert mutualaid.__all__ == sorted(set(mutualaid.__all__))


def test_every_name_in_all_imports():
    namespace: dict[str, object] = {}
    exec("from mutualaid import *", namespace)  # noqa: S102 - the star import is what is tested
    missing = [name for name in mutualaid.__all__ if name not in namespace]
    assert missing == []


def test_all_is_complete():
    # The names are loaded when first used: what the package offers is what dir() lists.
    public = {
        name
        for name in dir(mutualaid)
        if not name.startswith("_") and not isinstance(getattr(mutualaid, name), ModuleType) and name != "annotations"
    }
    assert public == set(mutualaid.__all__) - {"__version__"}


def test_the_version_is_the_distributions():
    assert mutualaid.__version__ == metadata.version("mutualaid")


@pytest.mark.parametrize("name", [n for n in mutualaid.__all__ if n != "__version__"])
def test_every_public_class_and_function_is_documented(name):
    obj = getattr(mutualaid, name)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        assert (obj.__doc__ or "").strip(), f"mutualaid.{name} has no docstring"


# -- the hookspecs ----------------------------------------------------------------------------------


def test_the_hooks():
    assert sorted(HOOKSPECS) == [
        "balances_low",
        "claim_decided",
        "eligibility_problems",
        "member_ended",
        "member_frozen",
        "member_joined",
        "member_unfrozen",
        "notice_context",
        "register_cohorts",
        "register_commands",
        "register_incidence",
        "register_notice_kinds",
        "sharing_completed",
    ]


@pytest.mark.parametrize("name", sorted(HOOKSPECS))
def test_every_hookspec_is_typed_and_documented(name):
    spec = HOOKSPECS[name]
    doc = inspect.getdoc(spec)
    assert doc, f"hookspec {name} has no docstring"
    summary = doc.splitlines()[0]
    assert summary.endswith(")") or summary.endswith("."), f"{name}: the first line is a one-line summary"
    signature = inspect.signature(spec)
    for parameter in signature.parameters.values():
        assert parameter.annotation is not inspect.Parameter.empty, f"{name}({parameter.name}) is not typed"
        assert re.search(rf"^:param {parameter.name}: \S", doc, re.MULTILINE), f"{name}: no :param {parameter.name}:"
    documented = re.findall(r"^:param (\w+):", doc, re.MULTILINE)
    assert documented == list(signature.parameters), f"{name}: :param entries differ from the arguments"
    assert signature.return_annotation is not inspect.Signature.empty, f"{name} has no return type"
    returns = re.search(r"^:returns: (.+?)(?=^:|\Z)", doc, re.MULTILINE | re.DOTALL)
    assert returns, f"hookspec {name} has no :returns:"
    # and one sentence on how the results of several implementations combine
    assert "implementation" in returns.group(1), f"{name}: :returns: does not say how results combine"


def _test_sources() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in TESTS.rglob("*.py")}


@pytest.mark.parametrize("name", sorted(HOOKSPECS))
def test_every_hook_is_implemented_or_called_in_the_tests(name):
    used = re.compile(rf"(\bdef |\.hook\.){name}\(")
    assert any(used.search(text) for text in _test_sources().values()), f"no test implements or calls the hook {name}"


def test_the_core_calls_hooks_with_keyword_arguments_only():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in HOOKSPECS
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "hook"
                and node.args
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


# -- plugins use the public API only ------------------------------------------------------------


def _core_imports(package: Path) -> list[tuple[str, int, str, list[str]]]:
    """Every import of the core in ``package``: (file, line, module, imported names)."""
    found: list[tuple[str, int, str, list[str]]] = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "mutualaid":
                        found.append((path.name, node.lineno, alias.name, []))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.split(".")[0] == "mutualaid":
                    found.append((path.name, node.lineno, node.module, [a.name for a in node.names]))
    return found


@pytest.mark.parametrize(
    "package",
    [pytest.param(TRUCKERS, id="truckers"), pytest.param(EXTERNAL_COHORT, id="external-cohort-fixture")],
)
def test_plugins_import_only_the_public_mutualaid_package(package):
    imports = _core_imports(package)
    assert imports, "the plugin does not import mutualaid at all?"
    private = [f"{file}:{line}: {module}" for file, line, module, _ in imports if module != "mutualaid"]
    assert private == [], "plugins must import from 'mutualaid' only"
    unlisted = [
        f"{file}:{line}: {name}" for file, line, _, names in imports for name in names if name not in mutualaid.__all__
    ]
    assert unlisted == [], "plugins must import only names in mutualaid.__all__"


def test_the_import_check_sees_private_imports(tmp_path):
    (tmp_path / "bad.py").write_text(
        "import mutualaid.cli\nfrom mutualaid.config import load_pool_file\nfrom mutualaid import Cohort\n"
        "from mutualaid_truckers import COHORT\nfrom . import sibling\n",
        encoding="utf-8",
    )
    assert _core_imports(tmp_path) == [
        ("bad.py", 1, "mutualaid.cli", []),
        ("bad.py", 2, "mutualaid.config", ["load_pool_file"]),
        ("bad.py", 3, "mutualaid", ["Cohort"]),
    ]


# -- layout and packaging -----------------------------------------------------------------------


@pytest.mark.parametrize("distribution", ["mutualaid", "mutualaid-truckers"])
def test_no_top_level_package_is_named_core_or_plugins(distribution):
    dist = metadata.distribution(distribution)
    top_level = (dist.read_text("top_level.txt") or "").split()
    assert top_level, f"{distribution} declares no top-level packages"
    assert not {"core", "plugins"} & set(top_level)
    assert top_level == [distribution.replace("-", "_")]


def test_no_installed_distribution_provides_core_or_plugins():
    providers = metadata.packages_distributions()
    assert providers.get("core") is None and providers.get("plugins") is None


def test_core_and_plugins_cannot_be_imported(tmp_path):
    # In a fresh interpreter started outside the repository (pytest's own sys.path holds the checkout).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    code = (
        "import importlib.util\n"
        "for name in ('core', 'plugins', 'mutualaid', 'mutualaid_truckers'):\n"
        "    print(name, importlib.util.find_spec(name) is not None)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert proc.stdout.splitlines() == ["core False", "plugins False", "mutualaid True", "mutualaid_truckers True"]


@pytest.mark.parametrize(
    ("package", "pyproject"),
    [
        pytest.param("mutualaid", ROOT / "pyproject.toml", id="mutualaid"),
        pytest.param("mutualaid_truckers", ROOT / "plugins" / "truckers" / "pyproject.toml", id="mutualaid_truckers"),
    ],
)
def test_py_typed_exists_and_is_shipped(package, pyproject):
    assert (resources.files(package) / "py.typed").is_file()
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"][package]


def test_no_assert_statements_in_the_core():
    # Validation by assert disappears under python -O; the core raises instead.
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted(CORE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


def test_the_plugin_manager_is_not_built_at_import():
    from mutualaid import plugins

    managers = [v for v in vars(plugins).values() if isinstance(v, pluggy.PluginManager)]
    assert managers == []
