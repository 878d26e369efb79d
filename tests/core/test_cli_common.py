"""The helpers every command module shares: one copy, in mutualaid.cli.common."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from mutualaid.cli import common as cli_common
from mutualaid.wording import plural

COMMAND_MODULES = [
    "balances",
    "claims",
    "database",
    "ledger",
    "members",
    "notices",
    "payments",
    "plugins",
    "pools",
    "sharing",
]


@pytest.mark.parametrize("module", COMMAND_MODULES)
@pytest.mark.parametrize("name", ["dump", "json_option", "pass_state", "table"])
def test_the_command_modules_use_the_one_copy_of_each_helper(module, name):
    commands = importlib.import_module(f"mutualaid.cli.{module}")
    helper = getattr(cli_common, name)
    assert getattr(commands, name, helper) is helper
    assert not hasattr(commands, f"_{name}")


@pytest.mark.parametrize("first", ["mutualaid.cli.payments", "mutualaid.cli.common", "mutualaid.cli"])
def test_any_command_module_can_be_imported_first(first):
    code = f"import {first}; import mutualaid.cli; print(sorted(mutualaid.cli.cli.commands)[:2])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['balance', 'claim']\n"


def test_a_table_aligns_wide_characters_by_the_columns_they_take():
    @click.command()
    def show() -> None:
        cli_common.table([(1, "司机一", "active"), (12, "Li", "frozen")], ("member", "name", "status"))

    assert CliRunner().invoke(show).output == (
        "member  name    status\n------  ------  ------\n1       司机一  active\n12      Li      frozen\n"
    )
    assert cli_common.text_width("司机 A") == 6


@pytest.mark.parametrize(
    ("count", "word", "many", "expected"),
    [
        (0, "claim", None, "0 claims"),
        (1, "claim", None, "1 claim"),
        (2, "member", None, "2 members"),
        (1_234, "share", None, "1,234 shares"),
        (1, "entry", "entries", "1 entry"),
        (3, "entry", "entries", "3 entries"),
    ],
)
def test_plural(count, word, many, expected):
    assert plural(count, word, many) == expected
