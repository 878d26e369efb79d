"""Watching PostgreSQL's locks from a test: work started in a thread, and whether its session
ends up waiting for a lock (and which locks it holds meanwhile), found in ``pg_stat_activity`` and
``pg_locks`` rather than guessed from timing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from mutualaid.db import make_engine

__all__ = ["held_locks", "in_a_thread", "rows", "until_done_or_waiting"]


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows ``sql`` returns, read through an engine of its own (outside any test's transaction)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def in_a_thread(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``work`` in a thread; its outcome lands in the dict as ``result`` or ``error``."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except Exception as exc:  # noqa: BLE001 - reported by the test's assertions
            outcome["error"] = repr(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def until_done_or_waiting(thread: threading.Thread, url: str, timeout: float = 60.0) -> int | None:
    """Wait until ``thread`` ends, or a session of the database other than the watcher's waits for
    a lock; the waiting session's process id (``None`` when the thread ended without waiting)."""
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        waiting = rows(
            url,
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND wait_event_type = 'Lock'",
        )
        if waiting:
            return int(waiting[0][0])
        thread.join(0.02)
    assert not thread.is_alive(), f"the thread neither ended nor waited for a lock in {timeout:g} s"
    return None


def held_locks(url: str, pid: int, table: str) -> set[str]:
    """The modes of the locks session ``pid`` holds on ``table``."""
    return {
        mode
        for (mode,) in rows(
            url, f"SELECT mode FROM pg_locks WHERE pid = {pid} AND relation = '{table}'::regclass AND granted"
        )
    }
