"""The harness of ``tests/core/test_faults.py`` (importable as ``faults``): databases saved and
cloned, the ``mutualaid`` command run whole or killed with SIGKILL after a delay, and the delays."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from mutualaid.db import make_engine

__all__ = ["KILLS", "SEED", "Command", "Databases", "Delays", "kill_points"]

KILLS = int(os.environ.get("MUTUALAID_FAULT_KILLS", "4"))  # per operation and database
SEED = int(os.environ.get("MUTUALAID_FAULT_SEED", "20271231"))


class Databases:
    """Databases of one backend: new empty ones, states saved by name and fresh copies of them."""

    def __init__(self, backend: str, root: Path) -> None:
        self.backend, self.root, self._made = backend, root, []
        self._token = uuid.uuid4().hex[:8]  # states of this process's databases
        self._admin = None
        if backend == "postgresql":
            base = os.environ.get("MUTUALAID_TEST_POSTGRES_URL")
            if not base:
                pytest.skip("MUTUALAID_TEST_POSTGRES_URL is not set")
            self._admin = make_engine(base, isolation_level="AUTOCOMMIT")

    @staticmethod
    def _name() -> str:
        return f"faults_{uuid.uuid4().hex[:12]}"

    def _url(self, name: str) -> str:
        if self._admin is None:
            return f"sqlite:///{self.root / name}.db"
        return self._admin.url.set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None = None) -> None:
        assert self._admin is not None
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        self._made.append(name)

    def new(self) -> str:
        """An empty database (none at all, for SQLite: ``pool create`` makes the file)."""
        name = self._name()
        if self._admin is not None:
            self._create(name)
        return self._url(name)

    def save(self, url: str, state: str) -> None:
        if self._admin is None:
            shutil.copyfile(url.removeprefix("sqlite:///"), self.root / f"{state}.db")
        else:
            self._create(f"faults_{self._token}_{state}", template=url.rsplit("/", 1)[1].split("?")[0])

    def clone(self, state: str) -> str:
        name = self._name()
        if self._admin is None:
            shutil.copyfile(self.root / f"{state}.db", self.root / f"{name}.db")
        else:
            self._create(name, template=f"faults_{self._token}_{state}")
        return self._url(name)

    def close(self) -> None:
        if self._admin is not None:
            with self._admin.connect() as conn:
                for name in reversed(self._made):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self._admin.dispose()


class Command:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def on(self, today: str) -> Command:
        """The same command on another day (``MUTUALAID_TODAY``)."""
        return Command({**self.env, "MUTUALAID_TODAY": today})

    def argv(self, url: str, *args: str) -> list[str]:
        return [sys.executable, "-m", "mutualaid.cli", "--database-url", url, *args]

    def run(self, url: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self.argv(url, *args), env=self.env, capture_output=True, text=True, timeout=300)
        assert "Traceback" not in done.stderr, done.stderr
        if ok:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def timed(self, url: str, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
        start = time.monotonic()
        done = self.run(url, *args)
        return done, time.monotonic() - start

    def killed(self, url: str, args: tuple[str, ...], delay: float) -> tuple[bool, float]:
        """Run, and SIGKILL it ``delay`` seconds after it started: (killed, seconds it ran)."""
        process = subprocess.Popen(
            self.argv(url, *args), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        start, killed = time.monotonic(), False
        while process.poll() is None:
            left = delay - (time.monotonic() - start)
            if left <= 0:
                process.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(min(left, 0.003))
        ran = time.monotonic() - start
        _, err = process.communicate(timeout=120)
        killed = killed and process.returncode == -signal.SIGKILL
        if not killed:
            assert "Traceback" not in err, err
        return killed, ran


class Delays:
    """The delays of the kills of a command whose clean run took ``took`` (:func:`kill_points`),
    shortened whenever a run finishes before its kill (the machine is faster than when measured)."""

    def __init__(self, rng: random.Random, start: float, took: float) -> None:
        self.points, self.took, self.scale = kill_points(rng, start, took), took, 1.0

    def __iter__(self) -> Iterator[float]:
        for point in self.points:
            yield point * self.scale

    def finished(self, ran: float) -> None:
        self.scale = min(self.scale, ran / self.took) * 0.9


def kill_points(rng: random.Random, start: float, end: float) -> list[float]:
    """``KILLS`` delays, one at random in each equal slice of ``[start, end]``: from the time a
    command takes to open the database to (nearly) the time the clean run took."""
    end *= 0.95
    start = min(start, end * 0.6)
    width = (end - start) / KILLS
    return [start + width * (i + rng.random()) for i in range(KILLS)]
