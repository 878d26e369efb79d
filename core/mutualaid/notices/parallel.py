"""Rendering across processes: the recipients split into contiguous ranges of member ids, one
worker process per range, each with its own engine, renderer and part files; the parts joined in
member order into the very files one process would have written.

The boundaries come from the recipients query itself, reduced to the member ids: one count, then
one query for the ids at the quantiles (row numbers over the id, which the query orders by), so
each worker gets as many recipients as the others whatever gaps the ids have. Workers are started
with ``spawn`` (no inherited connections, the same on every platform), read the committed
database, and write each its part in the rendering's staging directory (beside ``out_dir``, see
:mod:`.writer`); the parts are joined there (the first part becomes the file, the others are
appended with ``copy_file_range`` where the system has it) and the whole set is published in one
step only when every worker has finished. A worker's error is raised in the parent as the same
one-line error, and ``out_dir`` is left as it was. A worker dies with the parent (Linux's
``PR_SET_PDEATHSIG``): a rendering killed leaves no process writing into its staging.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Member
from ..errors import MutualAidError, PluginError, ValidationError
from ..plugins import Plugins
from ..pools import PoolRecord
from ..vocabulary import Layout, values
from .spec import NoticeRequest, NoticeSpec
from .writer import NoticeFiles, Staging

__all__ = ["boundaries", "render_parallel"]

#: How often a worker publishes its count (notices), and the parent reports progress (seconds).
_PUBLISH_EVERY = 500
_POLL_SECONDS = 0.25


def boundaries(session: Session, query: Any, jobs: int) -> tuple[int, list[int]]:
    """The number of recipients of ``query`` and the member ids that split them into ``jobs``
    ranges of (nearly) equal size: ``[first id of range 2, ..., first id of range N]``."""
    member_id = Member.__table__.c.id
    ids = query.with_only_columns(member_id).order_by(None).subquery()
    count = session.execute(select(func.count()).select_from(ids)).scalar_one()
    if jobs <= 1 or count < 2:
        return count, []
    wanted = sorted({count * k // jobs for k in range(1, jobs)} - {0})
    numbered = select(ids.c.id, func.row_number().over(order_by=ids.c.id).label("n")).subquery()
    rows = session.execute(
        select(numbered.c.id).where((numbered.c.n - 1).in_(wanted)).order_by(numbered.c.id)
    ).scalars()
    return count, [int(i) for i in rows]


@dataclass(frozen=True, slots=True)
class _Job:
    """What one worker renders: everything it needs to rebuild the rendering on its own."""

    index: int
    url: str
    plugin_names: tuple[str, ...]
    pool_key: str
    kind: str
    request: NoticeRequest
    formats: tuple[str, ...]
    templates: str | None
    layout: str
    stem: str
    by_reference: bool
    low: int
    high: int
    part_dir: str


# In a worker: the shared counters (one per worker, then the parent's stop flag).
_counters: Any = None


def _init_worker(counters: Any, parent: int) -> None:
    global _counters
    _counters = counters
    _die_with(parent)


def _die_with(parent: int) -> None:
    """Have the system kill this worker when its parent dies (Linux), so that a rendering killed
    with SIGKILL leaves no worker writing on; a parent already gone: exit now."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)


def _worker_plugins(names: tuple[str, ...]) -> Plugins:
    from ..plugins import load_plugins

    plugins = load_plugins(warn=lambda message: None)
    loaded = {name for name, _ in plugins.pm.list_name_plugin()}
    missing = sorted(set(names) - loaded)
    if missing:
        raise PluginError(
            f"the plugins {', '.join(map(repr, missing))} are registered in this process only, so worker "
            "processes cannot load them; render with one job"
        )
    for name in loaded - set(names):  # disabled in the parent: disabled here too
        plugins.pm.unregister(name=name)
    return plugins


#: A worker's answer: (notices rendered, file names written, its error as (class, args, state)).
_Result = tuple[int, list[str], tuple[type[BaseException], tuple[Any, ...], dict[str, Any]] | None]


def _render_part(job: _Job) -> _Result:
    """A worker: render the members ``low <= id < high`` into ``part_dir``. A user's error (a
    template failing for a member) is handed back whole, to be raised as is in the parent."""
    try:
        count, names = _render_range(job)
    except MutualAidError as exc:
        _counters[len(_counters) - 1] = 1  # the others stop
        return 0, [], (type(exc), exc.args, dict(exc.__dict__))
    return count, names, None


def _render_range(job: _Job) -> tuple[int, list[str]]:
    from ..db import make_engine, reading
    from ..pools import get_pool
    from .kinds import spec_for
    from .pipeline import Renderer

    counters, slot = _counters, job.index
    engine = make_engine(job.url)
    try:
        plugins = _worker_plugins(job.plugin_names)
        with reading(engine) as session:
            spec = spec_for(job.kind, plugins)
            pool = get_pool(session, plugins, job.pool_key)
            renderer = Renderer(session, plugins, pool, spec, job.request, formats=job.formats, templates=job.templates)
            # The part's directory was made by the parent: gone (the parent killed, its staging
            # removed), writing fails rather than making it again.
            files = NoticeFiles(Path(job.part_dir), job.stem, job.layout, renderer.formats)
            count = 0
            try:
                for notice in renderer.notices(between=(job.low, job.high)):
                    files.write(notice.reference if job.by_reference else notice.member_id, notice.parts)
                    count += 1
                    if count % _PUBLISH_EVERY == 0:
                        counters[slot] = count
                        if counters[len(counters) - 1]:  # another worker failed: stop here
                            break
            finally:
                names = files.close()
            counters[slot] = count
            return count, names
    finally:
        engine.dispose()


def _append(target: Path, source: Path) -> None:
    """Append ``source`` to ``target`` (in the kernel where it can), then remove ``source``."""
    with source.open("rb") as src, target.open("ab") as dst:
        size = os.fstat(src.fileno()).st_size
        copy_range = getattr(os, "copy_file_range", None)
        done = 0
        if copy_range is not None:
            try:
                while done < size:
                    sent = copy_range(src.fileno(), dst.fileno(), size - done)
                    if sent == 0:
                        break
                    done += sent
            except OSError:
                pass
        if done < size:
            src.seek(done)
            dst.seek(0, os.SEEK_END)
            shutil.copyfileobj(src, dst, 1 << 20)
    source.unlink()


def render_parallel(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    spec: NoticeSpec,
    request: NoticeRequest,
    out_dir: Path,
    *,
    query: Any,
    stem: str,
    layout: str,
    formats: tuple[str, ...],
    templates: str | Path | None,
    jobs: int,
    progress: Callable[[int], None] | None,
) -> tuple[int, list[Path]] | None:
    """Render ``query``'s recipients in ``jobs`` worker processes into ``out_dir``; (count,
    paths), or ``None`` when the recipients are too few to split (the caller renders them)."""
    count, cuts = boundaries(session, query, jobs)
    if not cuts:
        return None
    ranges = list(zip([0, *cuts], [*cuts, 2**62], strict=True))
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    names = tuple(name for name, _ in plugins.pm.list_name_plugin())
    # The same checks and the same directory handling as one process (nothing rendered yet).
    if layout not in values(Layout):
        raise ValidationError([f"layout {layout!r} is not supported; use 'files' or 'stream'"])
    staging = Staging(out_dir)
    context = multiprocessing.get_context("spawn")
    counters = context.Array("q", len(ranges) + 1, lock=False)
    jobs_list = [
        _Job(
            index=i,
            url=url,
            plugin_names=names,
            pool_key=pool.key,
            kind=spec.kind,
            request=request,
            formats=formats,
            templates=str(templates) if templates is not None else None,
            layout=layout,
            stem=stem,
            by_reference=spec.by_reference,
            low=low,
            high=high,
            part_dir=str(staging.root / f"part-{i}"),
        )
        for i, (low, high) in enumerate(ranges)
    ]
    try:
        for job in jobs_list:
            Path(job.part_dir).mkdir(mode=0o700)
        with ProcessPoolExecutor(
            max_workers=len(jobs_list),
            mp_context=context,
            initializer=_init_worker,
            initargs=(counters, os.getpid()),
        ) as executor:
            futures: list[Future[_Result]] = [executor.submit(_render_part, job) for job in jobs_list]
            _wait(futures, counters, progress)
            results = [future.result() for future in futures]
        for _, _, error in results:
            if error is not None:
                raise _rebuild(error)
        published = _assemble(staging.notices, layout, jobs_list, results)
    except BrokenProcessPool:
        staging.discard()
        raise ValidationError(["a worker process rendering notices died; nothing was written"]) from None
    except BaseException:
        counters[len(ranges)] = 1
        staging.discard()
        raise
    staging.publish()
    return sum(done for done, _, _ in results), [out_dir / name for name in published]


def _wait(futures: list[Future[Any]], counters: Any, progress: Callable[[int], None] | None) -> None:
    """Wait for every worker; stop the others at the first failure; report progress."""
    last, reported = time.monotonic(), 0
    while True:
        done, pending = wait(futures, timeout=_POLL_SECONDS, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed or any(f.result()[2] is not None for f in done if f.exception() is None):
            counters[len(futures)] = 1  # tell the others to stop
            for future in pending:
                future.cancel()
            wait(futures)
            if failed:
                raise _reraise(failed[0].exception())
            return
        if progress is not None:
            total = sum(counters[i] for i in range(len(futures)))
            now = time.monotonic()
            if total != reported and (now - last >= _POLL_SECONDS or not pending):
                progress(total)
                last, reported = now, total
        if not pending:
            return


def _rebuild(error: tuple[type[BaseException], tuple[Any, ...], dict[str, Any]]) -> BaseException:
    """A worker's error, the same object again (an exception with keyword-only state does not
    survive pickling through its ``args`` alone)."""
    cls, args, state = error
    exc = cls.__new__(cls)
    BaseException.__init__(exc, *args)
    exc.__dict__.update(state)
    return exc


def _reraise(exc: BaseException | None) -> BaseException:
    if isinstance(exc, MutualAidError):
        return exc
    return ValidationError([f"a worker rendering notices failed: {type(exc).__name__}: {exc}"])


def _assemble(notices: Path, layout: str, jobs: list[_Job], results: list[_Result]) -> list[str]:
    """Join the parts in member order into ``notices`` (the staged set); the names, in order."""
    names: list[str] = []
    if layout == Layout.STREAM:
        first = Path(jobs[0].part_dir)
        for name in results[0][1]:
            whole = notices / name
            os.replace(first / name, whole)
            for job in jobs[1:]:
                _append(whole, Path(job.part_dir) / name)
            names.append(name)
    else:
        for job, (_, written, _) in zip(jobs, results, strict=True):
            for name in written:
                os.replace(Path(job.part_dir) / name, notices / name)
            names.extend(written)
    return names
