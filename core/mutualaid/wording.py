"""Counts in words, for messages, memos and command output: ``1 claim``, ``2 claims``."""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` (with thousands separators) and ``word``, or ``many`` (default ``word + "s"``) unless it is 1."""
    return f"{count:,} {word if count == 1 else (many if many is not None else word + 's')}"
