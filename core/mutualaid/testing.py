"""Pytest fixtures for cohort-plugin authors (a pytest plugin, loaded automatically).

Fixtures:

* ``mutualaid_plugins`` -- the installed plugins, loaded strictly (a broken plugin fails the test);
* ``mutualaid_database_url`` -- the URL of a fresh SQLite file for the test (not created yet);
* ``mutualaid_app`` -- a :class:`~mutualaid.MutualAid` on that database, created at this
  mutualaid's schema revision (:meth:`~mutualaid.MutualAid.create_database`).

Helpers: :func:`resident_id` makes a valid 18-character resident ID number for a birth date, and
:func:`pool_data` a pool mapping for a cohort.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from .api import MutualAid
from .identity import make_resident_id
from .plugins import Plugins, load_plugins

__all__ = ["pool_data", "resident_id"]


def resident_id(birth_date: date, sequence: int = 1, region: str = "110105") -> str:
    """A valid resident ID number (GB 11643-1999) for ``birth_date``; ``sequence`` makes it unique (0-999)."""
    return make_resident_id(birth_date, sequence, region)


def pool_data(
    cohort: str, key: str = "test-pool", settings: dict[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    """A pool mapping for ``cohort`` with the core's defaults, for :meth:`MutualAid.create_pool`."""
    data: dict[str, Any] = {"key": key, "name": f"Test pool {key}", "cohort": cohort, "settings": settings or {}}
    data.update(overrides)
    return data


@pytest.fixture
def mutualaid_plugins() -> Plugins:
    return load_plugins(strict=True)


@pytest.fixture
def mutualaid_database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mutualaid-test.db'}"


@pytest.fixture
def mutualaid_app(mutualaid_database_url: str, mutualaid_plugins: Plugins) -> Iterator[MutualAid]:
    app = MutualAid(mutualaid_database_url, plugins=mutualaid_plugins)
    app.create_database()
    yield app
    app.close()
