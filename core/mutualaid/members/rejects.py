"""The rejects file of a member import (``--skip-invalid``): the rejected rows with their line and
reason, written as they are found into a file next to the target, which takes the target's name
only when the import succeeds -- a failed import leaves no rejects file, and an earlier one stays."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from ..errors import ValidationError

__all__ = ["RejectsFile"]


class RejectsFile:
    """The rejects file being written to ``target``; its first row is ``line``, the header, ``reason``."""

    def __init__(self, target: Path, header: list[str]) -> None:
        self.target = target
        self.header = header
        self._width = len(header)
        self._handle: IO[str] | None = None
        self._writer: Any = None
        self._temporary: Path | None = None

    def write(self, line: int, cells: list[str], reason: str) -> None:
        """A rejected row, padded or cut to the header's width (the reason of a row with too many
        cells quotes the extra ones)."""
        if self._writer is None:
            self._open()
        width = self._width
        try:
            self._writer.writerow([line, *(cells + [""] * width)[:width], reason])
        except OSError as exc:
            self._refuse(exc)

    def finish(self) -> None:
        """Give the file its name (replacing an earlier one)."""
        if self._handle is None or self._temporary is None:
            return
        try:
            self._handle.close()
            os.replace(self._temporary, self.target)
        except OSError as exc:
            self._refuse(exc)
        self._handle = self._temporary = None

    def discard(self) -> None:
        """Remove what was written (the import failed)."""
        if self._handle is not None:
            self._handle.close()
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)
        self._handle = self._temporary = self._writer = None

    def _open(self) -> None:
        try:
            descriptor, name = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".tmp")
        except OSError as exc:
            self._refuse(exc)
        self._temporary = Path(name)
        self._handle = os.fdopen(descriptor, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(["line", *self.header, "reason"])

    def _refuse(self, exc: OSError) -> None:
        self.discard()
        raise ValidationError(
            [f"{self.target}: cannot write the rejects file ({exc.strerror or exc}); nothing was imported"]
        ) from None
