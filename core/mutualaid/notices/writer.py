"""Where rendered notices go: one file per member, or one stream file per rendering (for scale),
written into a staging directory and moved into place only once every notice has rendered."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ValidationError
from ..vocabulary import Layout, values

__all__ = ["NoticeWriter"]


class NoticeWriter:
    """Writes notices as one file per member, or as one stream file (for scale).

    Everything is written into a staging directory inside ``out_dir`` and moved into place only
    when every notice has rendered: a rendering that fails half-way leaves no notices behind.
    """

    def __init__(self, out_dir: Path, stem: str, layout: str) -> None:
        if layout not in values(Layout):
            raise ValidationError([f"layout {layout!r} is not supported; use 'files' or 'stream'"])
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValidationError([f"cannot create the output directory {out_dir}: {exc.strerror}"]) from None
        self.out_dir, self.stem, self.layout = out_dir, stem, layout
        self._staging = Path(tempfile.mkdtemp(prefix=".rendering-", dir=out_dir))
        self._names: list[str] = []
        self._stream = None
        if layout == "stream":
            name = f"{stem}.txt"
            self._stream = (self._staging / name).open("w", encoding="utf-8")
            self._names.append(name)

    def write(self, member_id: int, text: str) -> None:
        if self._stream is not None:
            self._stream.write(f"=== member {member_id} ===\n{text}")
            if not text.endswith("\n"):
                self._stream.write("\n")
            return
        name = f"{self.stem}-{member_id}.txt"
        (self._staging / name).write_text(text, encoding="utf-8")
        self._names.append(name)

    def commit(self) -> list[Path]:
        """Move every notice into ``out_dir``; return their paths."""
        if self._stream is not None:
            self._stream.close()
        paths = []
        for name in self._names:
            target = self.out_dir / name
            os.replace(self._staging / name, target)
            paths.append(target)
        shutil.rmtree(self._staging, ignore_errors=True)
        return paths

    def abort(self) -> None:
        """Discard everything written."""
        if self._stream is not None:
            self._stream.close()
        shutil.rmtree(self._staging, ignore_errors=True)
