"""The one notice pipeline: every kind of notice is rendered by :func:`render` from its spec.

For a rendering: the pool's context (its rules in words), the spec's batch context and the
plugins' ``notice_context`` values are built once; then the spec's recipients are streamed from
the database and each member's notice is rendered (sandboxed, strict) and written through a
:class:`~.writer.NoticeWriter`, which keeps everything in a staging directory until the last
notice has rendered. Context of every notice: ``pool``, ``member``, ``rules``, ``locale``,
``generated_on``, and what the kind adds (see :mod:`.kinds`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ..plugins import Plugins
from ..pools import PoolRecord
from ..vocabulary import Layout
from .context import member_context, plugin_context, pool_context
from .environment import check_locale, get_template, make_environment
from .environment import render as render_template
from .spec import NoticeRequest, NoticeSpec
from .writer import NoticeWriter

__all__ = ["RenderResult", "render"]


@dataclass(slots=True)
class RenderResult:
    """What a rendering wrote."""

    count: int
    paths: list[Path]


def render(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    spec: NoticeSpec,
    request: NoticeRequest,
    out_dir: str | Path,
    *,
    layout: str = Layout.FILES,
    templates: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> RenderResult:
    """Render the notices of one kind for its recipients into ``out_dir``.

    Files are named ``<file stem>-MEMBER.txt`` (layout ``files``), or every notice goes to
    ``<stream stem>.txt`` (layout ``stream``, for large pools), each headed ``=== member N ===``.
    ``progress(count)`` is called every 1,000 notices.

    :raises MutualAidError: for a request the kind refuses, an unknown locale, a missing or broken
        template, or a template that fails for a member; nothing is left in ``out_dir`` then.
    """
    spec.check(pool, request)
    check_locale(request.locale)
    batch = spec.batch(session, pool, request)
    env = make_environment(pool.cohort.templates, Path(templates) if templates else None)
    template = get_template(env, spec.kind, spec.template, request.locale)
    shared = pool_context(pool, request.locale)
    shared.update({key: value for key, value in batch.items() if not key.startswith("_")})
    shared.update(plugin_context(plugins, pool, spec.kind, request.locale, shared))
    values = {**shared, **batch}
    query = spec.recipients(session, pool, request, values)
    stem = spec.file_stem(request) if layout == Layout.FILES else spec.stream_stem(request)
    writer = NoticeWriter(Path(out_dir), stem, layout)
    count = 0
    try:
        for row in session.execute(query.execution_options(yield_per=2000)):
            member = row[0]
            context = dict(shared)
            context["member"] = member_context(member)
            context.update(spec.member(row, values))
            writer.write(member.id, render_template(template, context, f"member #{member.id}"))
            count += 1
            if progress and count % 1000 == 0:
                progress(count)
    except BaseException:
        writer.abort()
        raise
    return RenderResult(count=count, paths=writer.commit())
