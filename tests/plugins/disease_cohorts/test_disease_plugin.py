"""The plugin as the core sees it: found only through its entry point, three valid cohorts, the
public API only, and packaged like any third-party plugin."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import mutualaid
import mutualaid_disease_cohorts
from mutualaid import Cohort, load_plugins

PLUGIN_DIR = Path(__file__).resolve().parents[3] / "plugins" / "disease_cohorts"
PACKAGE = Path(mutualaid_disease_cohorts.__file__).parent
KEYS = ["critical-illness", "cancer-patients", "disease-society"]


def test_entry_point_names_the_module():
    (ep,) = [ep for ep in metadata.entry_points(group="mutualaid") if ep.name == "disease_cohorts"]
    assert ep.value == "mutualaid_disease_cohorts"
    assert ep.load() is mutualaid_disease_cohorts
    assert ep.dist is not None and ep.dist.name == "mutualaid-disease-cohorts" and ep.dist.version == "0.1.0"


def test_the_core_registers_the_cohorts_from_the_entry_point(plugins):
    for key, cohort in zip(KEYS, mutualaid_disease_cohorts.COHORTS, strict=True):
        assert plugins.cohort(key) is cohort
        assert plugins.cohort_owner(key) == "disease_cohorts"


def test_the_cohorts_come_only_through_the_entry_point():
    bare = load_plugins(entry_points=False, strict=True)
    assert not set(KEYS) & set(bare.cohorts)


def test_register_cohorts_registers_three_cohorts():
    registered: list[Cohort] = []
    mutualaid_disease_cohorts.register_cohorts(registered.append)
    assert [c.key for c in registered] == KEYS


def test_the_cohorts():
    titles = [(c.key, c.title, c.title_for("zh-CN")) for c in mutualaid_disease_cohorts.COHORTS]
    assert titles == [
        ("critical-illness", "Critical illness society", "重疾互助社"),
        ("cancer-patients", "Cancer patients' society", "癌友互助社"),
        ("disease-society", "Disease society", "病友互助社"),
    ]
    kinds = {c.key: [(k.key, k.title_for("zh-CN")) for k in c.event_kinds] for c in mutualaid_disease_cohorts.COHORTS}
    assert kinds == {
        "critical-illness": [("critical_illness", "确诊重大疾病")],
        "cancer-patients": [("recurrence", "复发"), ("metastasis", "转移"), ("new_primary", "新发原发癌")],
        "disease-society": [("progression", "病情进展"), ("recurrence", "复发"), ("complication", "严重并发症")],
    }
    for cohort in mutualaid_disease_cohorts.COHORTS:
        assert cohort.templates is None  # the core's notices apply
        assert cohort.description


def _core_imports(package: Path) -> list[tuple[str, int, str, list[str]]]:
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [
                    (path.name, node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "mutualaid"
                ]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.split(".")[0] == "mutualaid":
                    found.append((path.name, node.lineno, node.module, [a.name for a in node.names]))
    return found


def test_the_plugin_imports_only_the_public_api():
    imports = _core_imports(PACKAGE)
    assert imports
    assert [f"{f}:{n}: {m}" for f, n, m, _ in imports if m != "mutualaid"] == []
    assert [f"{f}:{n}: {x}" for f, n, _, names in imports for x in names if x not in mutualaid.__all__] == []


def test_py_typed_is_installed_and_shipped():
    assert (PACKAGE / "py.typed").is_file()
    config = tomllib.loads((PLUGIN_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["mutualaid_disease_cohorts"]
    assert config["project"]["entry-points"]["mutualaid"] == {"disease_cohorts": "mutualaid_disease_cohorts"}


def test_the_only_top_level_package_is_its_own():
    dist = metadata.distribution("mutualaid-disease-cohorts")
    assert (dist.read_text("top_level.txt") or "").split() == ["mutualaid_disease_cohorts"]


def test_importable_outside_the_checkout(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    code = "import mutualaid_disease_cohorts as m; print(sorted(c.key for c in m.COHORTS))"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "['cancer-patients', 'critical-illness', 'disease-society']"


@pytest.mark.parametrize("name", [n for n in mutualaid_disease_cohorts.__all__ if n != "__version__"])
def test_everything_exported_exists(name):
    assert getattr(mutualaid_disease_cohorts, name) is not None


def test_the_makefile_installs_the_plugin_through_mutualaid_install():
    makefile = (PLUGIN_DIR.parents[1] / "Makefile").read_text(encoding="utf-8")
    truckers = makefile.index("$(BIN)/mutualaid install --quiet -e ./plugins/truckers\n")
    ours = makefile.index("$(BIN)/mutualaid install --quiet -e ./plugins/disease_cohorts\n")
    assert ours > truckers
    (rule,) = [line for line in makefile.splitlines() if line.startswith("$(STAMP):")]
    assert "plugins/disease_cohorts/pyproject.toml" in rule.split()
