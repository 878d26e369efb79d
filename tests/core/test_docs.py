"""The README stays true: its Python samples run, and it names every command and hook."""

from __future__ import annotations

import inspect
import re
import shutil
import types
from pathlib import Path

import pytest

from mutualaid import hookspecs, load_plugins
from mutualaid.cli import cli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _python_block(after_heading: str) -> str:
    section = README.split(after_heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block after {after_heading!r}"
    return match.group(1)


def test_the_python_api_sample_runs(tmp_path, monkeypatch):
    shutil.copy(ROOT / "plugins" / "truckers" / "examples" / "pool.toml", tmp_path / "pool.toml")
    monkeypatch.chdir(tmp_path)
    exec(compile(_python_block("## Python API"), "README.md", "exec"), {})  # noqa: S102 - our own README
    assert len(list((tmp_path / "notices").glob("statement-2026-12-*.txt"))) == 1


def test_the_plugin_sample_registers_a_working_cohort(tmp_path):
    module = types.ModuleType("readme_plugin")
    exec(compile(_python_block("## Writing a cohort plugin"), "README.md", "exec"), module.__dict__)  # noqa: S102
    plugins = load_plugins(entry_points=False, extra=[("readme", module)], strict=True)
    from mutualaid import MutualAid

    app = MutualAid(f"sqlite:///{tmp_path / 'c.db'}", plugins=plugins)
    app.create_pool({"key": "couriers", "name": "Couriers", "cohort": "couriers"})
    first = app.join("couriers", id_number="P1", name="A", birth_date="1990-01-01", joined_on="2026-10-01")
    app.join("couriers", id_number="P2", name="B", birth_date="1990-01-01", joined_on="2026-10-01")
    claim = app.file_claim("couriers", first.id, event_kind="death", event_date="2026-10-10", filed_on="2026-10-11")
    app.approve_claim(claim.id)
    assert app.share("couriers", "2026-11").share_minor == 10_800_000  # 100,000 + 8% over one survivor
    app.close()


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_in_the_readme(name):
    assert f"mutualaid {name}" in README


@pytest.mark.parametrize(
    "hook", sorted(n for n, f in vars(hookspecs).items() if inspect.isfunction(f) and hasattr(f, "mutualaid_spec"))
)
def test_every_hook_is_in_the_readme(hook):
    assert f"`{hook}" in README or f"{hook}`" in README
