"""The chain anchored outside the database: published heads.

A hash chain proves that nothing changed *since* an entry only if that entry's hash is known from
somewhere the database's owner cannot rewrite. Every statement and public notice carries the head
of the ledger when it was rendered (entry number and hash, ``N:HASH``), and ``ledger head`` prints
it to publish. ``ledger verify --anchor N:HASH`` (or ``--anchors FILE``, one head a line) then
checks that entry N of the chain still has that hash: a chain recomputed from scratch after an edit
verifies on its own, but no longer holds the heads members were sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ..db.models import Pool
from ..errors import NotFoundError, ValidationError
from .chain import GENESIS

__all__ = ["Anchor", "LedgerHead", "ledger_head", "parse_anchor", "read_anchors"]

_ANCHOR = re.compile(r"(\d{1,18}):([0-9a-fA-F]{64})")


@dataclass(frozen=True, slots=True)
class LedgerHead:
    """The head of a pool's chain: its last entry's number and hash (0 and the genesis hash when
    the ledger is empty). ``anchor`` is the form to publish and to give ``--anchor``."""

    seq: int
    hash: str

    @property
    def anchor(self) -> str:
        return f"{self.seq}:{self.hash}"

    def as_dict(self) -> dict[str, object]:
        return {"seq": self.seq, "hash": self.hash, "anchor": self.anchor}


@dataclass(frozen=True, slots=True)
class Anchor:
    """A head published earlier: entry ``seq`` had hash ``hash``; ``where`` it was given."""

    seq: int
    hash: str
    where: str = "--anchor"

    @property
    def short(self) -> str:
        return f"{self.hash[:12]}…"


def ledger_head(session: Session, pool_id: int) -> LedgerHead:
    """The head the pool keeps (the last entry posted: its number and hash)."""
    pool = session.get(Pool, pool_id)
    if pool is None:
        raise NotFoundError(f"pool #{pool_id} does not exist")
    return LedgerHead(int(pool.ledger_seq or 0), pool.ledger_head or GENESIS)


def parse_anchor(text: str, where: str = "--anchor") -> Anchor:
    """``N:HASH`` (an entry's number, a colon, its 64 hexadecimal digits) as an :class:`Anchor`.

    :raises ValueError: naming ``where`` and the form expected.
    """
    match = _ANCHOR.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"{where}: {text.strip()!r} is not a published head; write it as N:HASH, the entry's number and "
            "its 64-digit hash, as 'mutualaid ledger head' and every statement print it"
        )
    return Anchor(int(match.group(1)), match.group(2).lower(), where)


def read_anchors(anchors: Iterable[str] = (), files: Iterable[str | Path] = ()) -> list[Anchor]:
    """Anchors given one by one and in files (one ``N:HASH`` a line; blank lines and ``#``
    comments ignored), in that order.

    :raises ValidationError: listing every bad anchor (``FILE:LINE: ...``) and unreadable file.
    """
    found: list[Anchor] = []
    problems: list[str] = []
    for text in anchors:
        try:
            found.append(parse_anchor(text))
        except ValueError as exc:
            problems.append(str(exc))
    for file in files:
        path = Path(file)
        try:
            content = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            problems.append(f"--anchors: {path} does not exist")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"--anchors: cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
            continue
        before = len(found)
        for number, line in enumerate(content.splitlines(), start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                found.append(parse_anchor(text, f"{path}:{number}"))
            except ValueError as exc:
                problems.append(str(exc))
        if len(found) == before and not problems:
            problems.append(f"--anchors: {path} holds no published head (one N:HASH a line)")
    if problems:
        raise ValidationError(problems)
    return found
