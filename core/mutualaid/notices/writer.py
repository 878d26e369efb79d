"""Where rendered notices go: one file per member and format, or one stream file per format (for
scale), written into a staging directory and moved into place only once every notice has rendered."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TextIO

from ..errors import ValidationError
from ..vocabulary import Layout, values
from .environment import EXTENSIONS

__all__ = ["NoticeWriter", "staging_directory"]

STAGING_PREFIX = ".rendering-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def staging_directory(out_dir: Path) -> Path:
    """A new hidden directory in ``out_dir`` to render into, named after this process
    (``.rendering-PID-XXXX``). The staging directories of renderings whose process is gone (killed
    before it could clean up: they hold finished notices, names and amounts) are removed first."""
    for stale in out_dir.glob(STAGING_PREFIX + "*"):
        pid = stale.name[len(STAGING_PREFIX) :].split("-", 1)[0]
        if stale.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out_dir))


class NoticeWriter:
    """Writes notices as one file per member and format, or as one stream file per format.

    Everything is written into a staging directory inside ``out_dir`` and moved into place only
    when every notice has rendered: a rendering that fails half-way leaves no notices behind.
    """

    def __init__(self, out_dir: Path, stem: str, layout: str, formats: tuple[str, ...] = ("text",)) -> None:
        if layout not in values(Layout):
            raise ValidationError([f"layout {layout!r} is not supported; use 'files' or 'stream'"])
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValidationError([f"cannot create the output directory {out_dir}: {exc.strerror}"]) from None
        self.out_dir, self.stem, self.layout, self.formats = out_dir, stem, layout, formats
        self._staging = staging_directory(out_dir)
        self._names: list[str] = []
        self._streams: dict[str, TextIO] = {}
        if layout == Layout.STREAM:
            for fmt in formats:
                name = f"{stem}.{EXTENSIONS[fmt]}"
                self._streams[fmt] = (self._staging / name).open("w", encoding="utf-8")
                self._names.append(name)

    def write(self, member_id: int | str, parts: dict[str, str]) -> None:
        """One notice: ``member_id`` names its file (or its heading in a stream); a kind named by
        reference passes the reference instead."""
        if self._streams:
            for fmt, text in parts.items():
                stream = self._streams[fmt]
                stream.write(
                    f"=== member {member_id} ===\n" if fmt == "text" else f"<!-- === member {member_id} === -->\n"
                )
                stream.write(text)
                if not text.endswith("\n"):
                    stream.write("\n")
            return
        for fmt, text in parts.items():
            name = f"{self.stem}-{member_id}.{EXTENSIONS[fmt]}"
            (self._staging / name).write_text(text, encoding="utf-8")
            self._names.append(name)

    def write_single(self, parts: dict[str, str]) -> list[Path]:
        """One notice for everyone (a public kind): ``<stem>.<ext>`` per format, committed."""
        for fmt, text in parts.items():
            name = f"{self.stem}.{EXTENSIONS[fmt]}"
            (self._staging / name).write_text(text, encoding="utf-8")
            self._names.append(name)
        return self.commit()

    def commit(self) -> list[Path]:
        """Move every notice into ``out_dir``; return their paths."""
        for stream in self._streams.values():
            stream.close()
        paths = []
        for name in self._names:
            target = self.out_dir / name
            os.replace(self._staging / name, target)
            paths.append(target)
        shutil.rmtree(self._staging, ignore_errors=True)
        return paths

    def abort(self) -> None:
        """Discard everything written."""
        for stream in self._streams.values():
            stream.close()
        shutil.rmtree(self._staging, ignore_errors=True)
