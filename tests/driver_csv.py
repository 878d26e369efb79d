"""Member CSV files of eligible truck drivers, for the import tests: one line per driver ``n``
(a valid resident ID born 1980-01-01), with any cell changed, and fixtures for a pool and a file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mutualaid.testing import resident_id

#: What a test module takes with `from driver_csv import *`: the fixtures (helpers are imported by name).
__all__ = ["pool", "write"]

POOL = "js-truckers"
BORN = date(1980, 1, 1)
JOINED = date(2026, 10, 1)
HEADER = "id_number,name,birth_date,licence_class,licence_number,licence_expires,driving_proof"


def rid(n: int) -> str:
    return resident_id(BORN, n)


def row(n: int, **changes: str) -> str:
    """One CSV line (without its line break) for an eligible driver ``n``."""
    cells = {
        "id_number": rid(n),
        "name": f"司机{n}",
        "birth_date": "1980-01-01",
        "licence_class": "B2",
        "licence_number": f"LIC{n:06d}",
        "licence_expires": "2031-06-30",
        "driving_proof": f"ETC-{n:06d}",
    }
    cells.update(changes)
    return ",".join(cells.values())


@pytest.fixture
def pool(app: Any, truckers_pool: Any) -> str:
    app.create_pool(truckers_pool())
    return POOL


@pytest.fixture
def write(tmp_path: Path) -> Any:
    """Write a CSV file from lines (each ends with a line break) and return its path."""

    def make(*lines: str, name: str = "members.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes("".join(f"{line}\n" for line in lines).encode(encoding))
        return path

    return make
