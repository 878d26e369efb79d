"""The layout of the core, enforced: what each layer may import, and who may write each state.

Read with docs/architecture.md, the map these tests keep true:

* the command line imports the API and the pure modules, never a domain or the database;
* domains import no click and no command line; only ``notices`` imports Jinja2; ``sharing``
  does not import ``payments``; dependencies between domains point one way (the table below);
* pure modules import no domain, no database layer, no SQLAlchemy or Jinja2;
* only ``members/lifecycle.py`` writes a member's status and history, only ``claims/machine.py``
  a claim's status and history, only ``ledger/posting.py`` the ledger's tables and the pool's head.

Each rule is checked on the source (AST), and each checker is shown to catch a violation.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core" / "mutualaid"

#: Modules at the top of the package that hold no state: no database, no templates.
PURE = {
    "benefits",
    "builtin",
    "claims_config",
    "cohort",
    "config",
    "contacts",
    "csvfiles",
    "errors",
    "fields",
    "hookspecs",
    "identity",
    "keys",
    "money",
    "periods",
    "plugins",
    "privacy",
    "vocabulary",
    "wording",
}
#: The domain packages, and the other packages each may import (besides the pure modules).
DOMAINS: dict[str, set[str]] = {
    "db": set(),
    "pools": {"db"},
    "ledger": {"db"},
    "members": {"db", "pools"},
    "claims": {"db", "pools", "members", "ledger"},
    "sharing": {"db", "pools", "members", "claims", "ledger"},
    "payments": {"db", "pools", "members", "ledger"},
    "notices": {"db", "pools", "members", "sharing", "payments", "health"},
    # a pool's health: its incidence, quotes and forecast (pure calculations beside the few
    # modules that read the database, see PURE_IN_HEALTH below)
    "health": {"db", "pools", "members", "claims", "sharing", "ledger"},
    # the public transparency site: aggregates of every domain, rendered with Jinja2
    "site": {"db", "pools", "members", "claims", "sharing", "ledger", "payments", "notices", "health"},
}
#: The pure calculations of ``health``: no database, no SQLAlchemy, no templates, no other domain.
PURE_IN_HEALTH = {"health.incidence", "health.credibility", "health.quote", "health.forecast", "health.backtest"}
#: The domains that render templates with Jinja2.
JINJA_DOMAINS = {"notices", "site"}
#: What the command line may import of the core: the API and the pure modules it prints with.
CLI_MAY_IMPORT = {"api", "errors", "fields", "money", "plugins", "vocabulary", "wording"}


def _modules() -> dict[str, Path]:
    """Every module of the core by dotted name relative to the package (``members.lifecycle``)."""
    found = {}
    for path in sorted(CORE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(CORE).with_suffix("").parts
        found[".".join(p for p in parts if p != "__init__") or "__init__"] = path
    return found


def _imports(path: Path, name: str) -> set[str]:
    """The modules ``path`` imports at run time: core modules as dotted names relative to the
    package (``members.lifecycle``), others by their top-level name (``sqlalchemy``). Imports under
    ``if TYPE_CHECKING:`` are not imports at run time and are left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")
                found.add(".".join(top[1:]) if top[0] == "mutualaid" else top[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = [*base, *(node.module.split(".") if node.module else [])]
                targets = [".".join(module)] if node.module else [".".join([*base, a.name]) for a in node.names]
                found.update(t for t in targets if t)
            elif node.module and node.module.split(".")[0] == "mutualaid":
                found.add(".".join(node.module.split(".")[1:]))
            elif node.module:
                found.add(node.module.split(".")[0])
    return found


def _package(module: str) -> str:
    return module.split(".")[0]


def _layer_problems(modules: dict[str, Path]) -> list[str]:
    problems = []
    for name, path in modules.items():
        top = _package(name)
        imported = _imports(path, name)
        core = {_package(m) for m in imported if _package(m) in PURE | set(DOMAINS) | {"api", "cli", "notices"}}
        outside = {m for m in imported if "." not in m and m not in PURE | set(DOMAINS) | {"api", "cli"}}
        if top == "cli":
            bad = {m for m in core if m not in CLI_MAY_IMPORT | {"cli"}} | ({"sqlalchemy", "jinja2"} & outside)
            problems += [f"cli module {name} imports {m}" for m in sorted(bad)]
        elif top in DOMAINS:
            allowed = PURE | DOMAINS[top] | {top}
            bad = {m for m in core if m not in allowed}
            bad |= {"click", "cli"} & (outside | core)
            if top not in JINJA_DOMAINS:
                bad |= {"jinja2"} & outside
            if name in PURE_IN_HEALTH:
                bad |= {m for m in core if m not in PURE | {"health"}}
                bad |= {"sqlalchemy", "jinja2"} & outside
                bad |= {m for m in imported if m.startswith("health.") and m not in PURE_IN_HEALTH}
            problems += [f"domain module {name} imports {m}" for m in sorted(bad)]
        elif top in PURE:
            bad = {m for m in core if m not in PURE} | ({"sqlalchemy", "jinja2", "alembic", "click"} & outside)
            problems += [f"pure module {name} imports {m}" for m in sorted(bad)]
    return problems


def test_every_module_is_in_a_layer():
    tops = {_package(name) for name in _modules()}
    assert tops - {"__init__", "api", "cli", "testing"} <= PURE | set(DOMAINS)


def test_each_layer_imports_only_what_is_below_it():
    assert _layer_problems(_modules()) == []


def test_the_pure_calculations_of_health_are_pure():
    modules = _modules()
    assert PURE_IN_HEALTH <= set(modules)
    problems = _layer_problems({name: modules[name] for name in PURE_IN_HEALTH})
    assert problems == []
    bad = {"health.quote": "from sqlalchemy import select\nfrom ..db.models import Member\nfrom .service import x\n"}
    assert _layer_problems_of_source(bad) == [
        "domain module health.quote imports db",
        "domain module health.quote imports health.service",
        "domain module health.quote imports sqlalchemy",
    ]


def _layer_problems_of_source(sources: dict[str, str]) -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for name, source in sources.items():
            path = Path(folder) / (name.replace(".", "_") + ".py")
            path.write_text(source, encoding="utf-8")
            paths[name] = path
        return sorted(_layer_problems(paths))


def test_sharing_does_not_import_payments():
    sharing = {name: path for name, path in _modules().items() if _package(name) == "sharing"}
    assert sharing
    assert [n for n, p in sharing.items() if any(_package(m) == "payments" for m in _imports(p, n))] == []


def test_the_layer_check_sees_a_violation(tmp_path):
    (tmp_path / "cli").mkdir()
    (tmp_path / "sharing").mkdir()
    (tmp_path / "money.py").write_text("import sqlalchemy\nfrom .members import service\n", encoding="utf-8")
    (tmp_path / "cli" / "x.py").write_text("from ..members import service\nfrom ..api import MutualAid\n")
    (tmp_path / "sharing" / "y.py").write_text(
        "import click\nfrom ..payments import balances\nfrom ..claims import machine\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..notices import kinds\n"
    )
    modules = {
        "money": tmp_path / "money.py",
        "cli.x": tmp_path / "cli" / "x.py",
        "sharing.y": tmp_path / "sharing" / "y.py",
    }
    assert sorted(_layer_problems(modules)) == [
        "cli module cli.x imports members",
        "domain module sharing.y imports click",
        "domain module sharing.y imports payments",
        "pure module money imports members",
        "pure module money imports sqlalchemy",
    ]


# -- one owner per state --------------------------------------------------------------------------------

#: Each protected state, its owner, and what counts as writing it.
OWNERS = {
    "a member's status and history": ("members.lifecycle", {"Member", "MemberStatusChange"}, {"status"}),
    "a claim's status and history": ("claims.machine", {"ClaimStatusChange"}, {"status"}),
    "the ledger's tables and head": ("ledger.posting", {"LedgerEntry", "LedgerLine"}, {"ledger_seq", "ledger_head"}),
    # Its status column shares the name of a member's, so only its table is looked for.
    "the notices' send log": ("notices.sending", {"NoticeDelivery"}, set()),
}
_WRITES = {"insert", "update", "delete", "bulk_insert", "from_select"}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _writes(path: Path, tables: set[str], columns: set[str]) -> list[str]:
    """Where ``path`` writes one of ``tables`` or assigns one of ``columns``: an INSERT, UPDATE or
    DELETE naming the table, a new row of it, an assignment ``x.column = ...``, or ``values(column=...)``."""
    found = []
    shown = path.relative_to(CORE.parent) if path.is_relative_to(CORE.parent) else path.name
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        where = f"{shown}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            mentioned = set().union(*(_names(a) for a in node.args)) if node.args else set()
            if name in _WRITES and mentioned & tables:
                found.append(f"{where}: {name}({', '.join(sorted(mentioned & tables))})")
            if name in tables:
                found.append(f"{where}: new {name} row")
            if name == "values" and {k.arg for k in node.keywords} & columns:
                found.append(f"{where}: values({', '.join(sorted({k.arg for k in node.keywords} & columns))}=...)")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in columns:
                    found.append(f"{where}: .{target.attr} = ...")
    return found


@pytest.mark.parametrize("state", sorted(OWNERS))
def test_only_the_owner_writes_each_state(state):
    owner, tables, columns = OWNERS[state]
    writers = {}
    for name, path in _modules().items():
        if name == owner or _package(name) == "db":
            continue
        found = _writes(path, tables, columns)
        if found:
            writers[name] = found
    # A claim's status column is also called "status", like a member's: the claims machine writes
    # claims' statuses and the lifecycle members' — each is the other's only allowed exception.
    if state == "a member's status and history":
        writers.pop("claims.machine", None)
    if state == "a claim's status and history":
        writers.pop("members.lifecycle", None)
    assert writers == {}


def test_the_owners_do_write_their_state():
    modules = _modules()
    for owner, tables, columns in OWNERS.values():
        assert _writes(modules[owner], tables, columns), f"{owner} writes nothing it owns?"


def test_the_write_check_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sqlalchemy import update\n"
        "def f(session, row):\n"
        "    row.status = 'active'\n"
        "    session.execute(update(Member).values(status='frozen'))\n"
        "    session.add(LedgerEntry(seq=1))\n"
        "    pool.ledger_head = 'x'\n",
        encoding="utf-8",
    )
    _, member_tables, member_columns = OWNERS["a member's status and history"]
    _, ledger_tables, ledger_columns = OWNERS["the ledger's tables and head"]
    assert sorted(_writes(bad, member_tables, member_columns)) == [
        "bad.py:3: .status = ...",
        "bad.py:4: update(Member)",
        "bad.py:4: values(status=...)",
    ]
    assert sorted(_writes(bad, ledger_tables, ledger_columns)) == [
        "bad.py:5: new LedgerEntry row",
        "bad.py:6: .ledger_head = ...",
    ]


# -- what a plugin and the command line pay at import -----------------------------------------------------


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return set(result.stdout.split())


def test_a_plugin_importing_the_cohort_api_loads_no_database_or_templates():
    loaded = _loaded_after("from mutualaid import Cohort, CohortRules, BenefitDecision, hookimpl, EventKind")
    assert not {m for m in loaded if m.split(".")[0] in ("sqlalchemy", "jinja2", "alembic", "click")}
    assert not {
        m for m in loaded if _package(m.removeprefix("mutualaid.")) in set(DOMAINS) and m.startswith("mutualaid.")
    }


def test_the_command_line_loads_no_database_until_a_command_needs_it():
    loaded = _loaded_after("import mutualaid.cli")
    assert not {m for m in loaded if m.split(".")[0] in ("sqlalchemy", "jinja2", "alembic")}


# -- the map ------------------------------------------------------------------------------------------------

ARCHITECTURE = CORE.parents[1] / "docs" / "architecture.md"


@pytest.mark.parametrize("module", sorted(m for m in _modules() if m not in ("__init__", "testing")))
def test_every_module_is_on_the_map(module):
    """docs/architecture.md names every package and every module of the core."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    leaf = module.split(".")[-1]
    assert f"`{leaf}" in text or f"{leaf}/" in text or f"{leaf}.py" in text, f"{module} is not on docs/architecture.md"


def test_the_map_names_no_module_that_does_not_exist():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_]+)/`|`([a-z_]+)\.py`", text))
    stems = {leaf for pair in named for leaf in pair if leaf}
    existing = {m.split(".")[-1] for m in _modules()} | {m.split(".")[0] for m in _modules()} | {"migrations"}
    assert stems - existing == set()
