"""Fixtures of the corrections tests (claims, voided runs, reversed top-ups): the engine tests'
weighted cohort alone, today 2027-12-10 (period 2027-12 counts its members on 12-07 and deducts
on 12-14, so its run can still be voided), an app and the command line on the test database.

A test module takes them with ``from weighted_pool import *`` (the fixtures are ``__all__``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support import weighted_plugins

from mutualaid import MutualAid, Plugins
from mutualaid.cli import State, cli

__all__ = ["app", "run_cli", "test_plugins", "today"]

TODAY = "2027-12-10"


@pytest.fixture(scope="module")
def test_plugins() -> Plugins:
    return weighted_plugins()


@pytest.fixture(autouse=True)
def today(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MUTUALAID_TODAY", TODAY)
    return TODAY


@pytest.fixture
def app(db_url: str, test_plugins: Plugins) -> Iterator[MutualAid]:
    application = MutualAid(db_url, plugins=test_plugins)
    yield application
    application.close()


@pytest.fixture
def run_cli(runner: Any, db_url: str, test_plugins: Plugins) -> Callable[..., Any]:
    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--database-url", db_url, *args], obj=State(plugins=test_plugins))

    return run
