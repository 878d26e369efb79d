"""Where rendered notices go, and how they appear there: all at once, or not at all.

A rendering owns its output directory. Its notices are written into a staging directory beside
it (in its parent, so on the same filesystem), private to the operator (the directory ``0700``,
each file created ``0600``), and published in one atomic step: the staging directory becomes the
output directory by one rename (replacing an empty one), or is exchanged with the directory of
an earlier rendering (``renameat2(RENAME_EXCHANGE)``), whose notices are then removed. A reader
sees the old set or the new set, never a mix; a process killed at any instant leaves the old set
or the new one. The staging a killed rendering leaves (finished notices: names and amounts) is
named after its process, ``.OUT.rendering-PID-XXXXXXXX``, and removed by the next rendering
beside it once that process is gone.

A directory holding anything but notices (the database, a template, a subdirectory, a hidden
file) is never replaced: rendering into it is refused before anything renders.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from ..errors import ValidationError
from ..vocabulary import Layout, values
from .environment import EXTENSIONS

__all__ = ["NoticeFiles", "NoticeWriter", "Staging"]

#: What names a staging directory (``.OUT.rendering-PID-XXXXXXXX``; before, ``.rendering-PID-X``
#: inside the output directory).
STAGING_MARK = ".rendering-"
#: Inside a staging directory: the notices to publish, and an earlier set moved out of the way.
_NOTICES, _REPLACED = "notices", "replaced"
#: What a rendering publishes, and so what an output directory it may replace holds.
NOTICE_SUFFIXES = tuple(f".{extension}" for extension in EXTENSIONS.values())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _owner(name: str) -> int | None:
    """The process a staging directory's name says it belongs to; ``None`` for any other name."""
    if not name.startswith(".") or STAGING_MARK not in name:
        return None
    pid = name.rsplit(STAGING_MARK, 1)[1].split("-", 1)[0]
    return int(pid) if pid.isdecimal() else None


def _remove_stale(parent: Path, target: Path) -> None:
    """Remove the staging directories of renderings whose process is gone: beside ``target`` (and,
    of the layout before, inside it). One killed between the two renames of a swap without
    ``renameat2`` left ``target`` missing and the earlier set in its staging: that set is put back."""
    for place in (parent, target):
        try:
            entries = list(os.scandir(place))
        except OSError:
            continue
        for entry in entries:
            pid = _owner(entry.name)
            if pid is None or _alive(pid) or not entry.is_dir(follow_symlinks=False):
                continue
            replaced = Path(entry.path) / _REPLACED
            if place == parent and entry.name.startswith(f".{target.name}{STAGING_MARK}"):
                if replaced.is_dir() and not os.path.lexists(target):
                    os.rename(replaced, target)
            shutil.rmtree(entry.path, ignore_errors=True)


def _foreign(directory: Path) -> list[str]:
    """What in ``directory`` is not a notice a rendering published (sorted)."""
    found = []
    for entry in os.scandir(directory):
        notice = entry.is_file(follow_symlinks=False) and entry.name.endswith(NOTICE_SUFFIXES)
        if entry.name.startswith(".") or not notice:
            found.append(entry.name)
    return sorted(found)


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux's ``renameat2`` with ``RENAME_EXCHANGE``); ``False`` where
    the system or the filesystem cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_cwd, exchange = -100, 2
    if renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))


class Staging:
    """A rendering's staging directory beside ``out_dir``, and its publication there.

    Created: stale staging removed, ``out_dir`` created (empty) if missing, and refused if it
    holds anything but notices. :meth:`publish` makes :attr:`notices` the output directory in one
    step; :meth:`discard` removes everything staged. Other directories (a worker's part) may be
    made in :attr:`root`; they go with it.
    """

    def __init__(self, out_dir: Path) -> None:
        target = Path(os.path.abspath(out_dir))
        if target.is_symlink():  # publish where the link points; the link keeps pointing there
            target = target.resolve()
        _remove_stale(target.parent, target)
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValidationError([f"cannot create the output directory {out_dir}: {exc.strerror}"]) from None
        self._refuse_foreign(out_dir, target)
        try:
            root = tempfile.mkdtemp(prefix=f".{target.name}{STAGING_MARK}{os.getpid()}-", dir=target.parent)
        except OSError as exc:
            raise ValidationError(
                [f"cannot stage notices beside {out_dir} (in {target.parent}): {exc.strerror}; they are "
                 "published by a rename there, so that directory must be writable"]
            ) from None  # fmt: skip
        self.out_dir, self.target, self.root = out_dir, target, Path(root)
        self.notices = self.root / _NOTICES
        self.notices.mkdir(mode=0o700)

    @staticmethod
    def _refuse_foreign(out_dir: Path, target: Path) -> None:
        foreign = _foreign(target)
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise ValidationError(
                [f"the output directory {out_dir} holds more than notices ({shown}); a rendering replaces "
                 "its output directory whole, so name a new or empty one, or one holding only notices"]
            )  # fmt: skip

    def publish(self) -> None:
        """Make the staged notices the output directory, in one step; the earlier set goes."""
        try:
            mask = _umask()
            existing = self.target.stat().st_mode & 0o7777 if self.target.is_dir() else 0o777 & ~mask
            for entry in os.scandir(self.notices):  # as any new file would be, once published
                os.chmod(entry.path, 0o666 & ~mask)
            os.chmod(self.notices, existing)  # still unreachable: the staging root is 0700
            try:
                os.rename(self.notices, self.target)  # the target missing or empty: replaced at once
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                self._refuse_foreign(self.out_dir, self.target)
                if not _exchange(self.notices, self.target):
                    # Two renames: killed between them, the next rendering puts the earlier set back.
                    os.rename(self.target, self.root / _REPLACED)
                    os.rename(self.notices, self.target)
        except BaseException:
            self.discard()
            raise
        self.discard()  # what is left: the earlier set

    def discard(self) -> None:
        """Remove the staging directory and everything in it."""
        shutil.rmtree(self.root, ignore_errors=True)


def _private(path: Path) -> TextIO:
    """``path`` opened for writing text, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
    return open(fd, "w", encoding="utf-8")  # noqa: SIM115 (the caller closes it)


class NoticeFiles:
    """Notices written into an existing private directory: one file per member and format
    (layout ``files``), or one stream file per format (``stream``), each notice headed
    ``=== member N ===``. :meth:`close` returns the names written, in order."""

    def __init__(self, directory: Path, stem: str, layout: str, formats: tuple[str, ...] = ("text",)) -> None:
        if layout not in values(Layout):
            raise ValidationError([f"layout {layout!r} is not supported; use 'files' or 'stream'"])
        self.directory, self.stem, self.layout, self.formats = directory, stem, layout, formats
        self._names: dict[str, None] = {}
        self._streams: dict[str, TextIO] = {}
        if layout == Layout.STREAM:
            for fmt in formats:
                name = f"{stem}.{EXTENSIONS[fmt]}"
                self._streams[fmt] = _private(directory / name)
                self._names[name] = None

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
            self._file(f"{self.stem}-{member_id}.{EXTENSIONS[fmt]}", text)

    def write_single(self, parts: dict[str, str]) -> None:
        """One notice for everyone (a public kind): ``<stem>.<ext>`` per format."""
        for fmt, text in parts.items():
            self._file(f"{self.stem}.{EXTENSIONS[fmt]}", text)

    def _file(self, name: str, text: str) -> None:
        with _private(self.directory / name) as file:
            file.write(text)
        self._names[name] = None

    def close(self) -> list[str]:
        """Close the streams; the names of everything written."""
        for stream in self._streams.values():
            stream.close()
        return list(self._names)


class NoticeWriter:
    """Writes notices into a :class:`Staging` beside ``out_dir`` and publishes them there only
    when every notice has rendered (:meth:`commit`): a rendering that fails half-way, or is
    killed, leaves the output directory as it was."""

    def __init__(self, out_dir: Path, stem: str, layout: str, formats: tuple[str, ...] = ("text",)) -> None:
        if layout not in values(Layout):
            raise ValidationError([f"layout {layout!r} is not supported; use 'files' or 'stream'"])
        self.out_dir = out_dir
        self._staging = Staging(out_dir)
        try:
            self._files = NoticeFiles(self._staging.notices, stem, layout, formats)
        except BaseException:
            self._staging.discard()
            raise

    def write(self, member_id: int | str, parts: dict[str, str]) -> None:
        self._files.write(member_id, parts)

    def write_single(self, parts: dict[str, str]) -> list[Path]:
        """One notice for everyone (a public kind): ``<stem>.<ext>`` per format, committed."""
        try:
            self._files.write_single(parts)
        except BaseException:
            self.abort()
            raise
        return self.commit()

    def commit(self) -> list[Path]:
        """Publish every notice in ``out_dir`` at once; return their paths."""
        names = self._files.close()
        self._staging.publish()
        return [self.out_dir / name for name in names]

    def abort(self) -> None:
        """Discard everything written."""
        self._files.close()
        self._staging.discard()
