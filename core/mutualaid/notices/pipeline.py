"""The one notice pipeline: every kind of notice is rendered from its spec by a :class:`Renderer`.

For a rendering: per language, the pool's context (its rules in words), the spec's batch context
and the plugins' ``notice_context`` values are built once; then the spec's recipients are streamed
from the database as plain rows and each member's notice is rendered (sandboxed, strict) in each
format asked for, in the member's language (the one asked for, else the member's preferred one,
else the pool's). What the notices become is the caller's: :func:`render` writes them through a
:class:`~.writer.NoticeWriter` (staged, published at once when all have rendered); sending by email
reads the same :meth:`Renderer.notices`.

Context of every notice: ``pool``, ``rules``, ``locale``, ``generated_on``, ``member`` (not in
public kinds), and what the kind adds (see :mod:`.kinds`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.orm import Session

from ..db.models import Member
from ..errors import ValidationError
from ..plugins import Plugins
from ..pools import PoolRecord
from ..vocabulary import Layout, NoticeFormat
from .context import member_context, plugin_context, pool_context
from .environment import check_formats, check_locale, get_template, make_environment
from .environment import render as render_template
from .parallel import render_parallel
from .spec import NoticeRequest, NoticeSpec
from .writer import NoticeWriter

__all__ = ["RenderResult", "RenderedNotice", "Renderer", "render"]


@dataclass(slots=True)
class RenderResult:
    """What a rendering wrote."""

    count: int
    paths: list[Path]


@dataclass(frozen=True, slots=True)
class RenderedNotice:
    """One member's notice, in each format asked for (``parts``: format -> text)."""

    member_id: int
    email: str | None
    locale: str
    reference: str
    parts: dict[str, str]


@dataclass(slots=True)
class _Language:
    shared: dict[str, Any]  # what every notice in this language gets
    values: dict[str, Any]  # the same with the batch's private values (``_``-prefixed), for the spec
    templates: dict[str, jinja2.Template]
    # per format: the template's globals and ``shared`` in one dict, copied for each member (what
    # ``Template.render`` would build from ``shared`` twice per notice)
    bases: dict[str, dict[str, Any]] = field(default_factory=dict)


#: What ``getattr`` finds on a plain dict: its methods and ``object``'s (a dict has no ``__dict__``).
_DICT_ATTRIBUTES = frozenset(dir(dict))


def _fast_dict_attributes(env: SandboxedEnvironment) -> None:
    """``{{ run.aid }}`` on a plain dict without the ``AttributeError`` the sandbox's ``getattr``
    raises and catches first (a quarter of a statement's rendering time): for a key that is not an
    attribute of ``dict``, the sandbox would return ``obj[key]`` (or an undefined) anyway. Anything
    else -- other objects, ``items``, ``__class__`` -- takes the sandbox's own way, checks and all."""
    sandboxed = type(env).getattr
    undefined = env.undefined

    def getattr(obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return undefined(obj=obj, name=attribute)
        return sandboxed(env, obj, attribute)

    env.getattr = getattr  # type: ignore[method-assign]


def _render_fast(template: jinja2.Template, base: dict[str, Any], member: dict[str, Any]) -> str:
    """``template.render(base | member)`` without its two copies of the context; the values are
    the same, so is the text. An exception is left to the caller (see :meth:`Renderer.notices`)."""
    context = base.copy()
    context.update(member)
    return "".join(template.root_render_func(template.new_context(context, shared=True)))


class Renderer:
    """A prepared rendering of one kind of notice for one request.

    :raises MutualAidError: for a request the kind refuses, an unknown locale or format, or a
        missing or broken template (before anything is rendered).
    """

    def __init__(
        self,
        session: Session,
        plugins: Plugins,
        pool: PoolRecord,
        spec: NoticeSpec,
        request: NoticeRequest,
        *,
        formats: tuple[str, ...] = (NoticeFormat.TEXT,),
        templates: str | Path | None = None,
    ) -> None:
        spec.check(pool, request)
        if request.locale is not None:
            check_locale(request.locale)
        check_formats(formats)
        self.session, self.plugins, self.pool, self.spec, self.request = session, plugins, pool, spec, request
        self.formats = tuple(dict.fromkeys(formats))
        self.env = make_environment(pool.cohort.templates, Path(templates) if templates else None)
        # A rendering is one batch: a template it extends is not checked on disk for each notice.
        self.env.auto_reload = False
        _fast_dict_attributes(self.env)
        self.default_locale = request.locale or str(pool.config.locale)
        self._languages: dict[str, _Language] = {}
        self._public: dict[str, dict[str, str]] = {}
        self.language(self.default_locale)  # templates and batch checked before anything renders

    def language(self, locale: str) -> _Language:
        """The templates and shared values of one language, built on first use."""
        found = self._languages.get(locale)
        if found is not None:
            return found
        spec, pool = self.spec, self.pool
        templates = {fmt: get_template(self.env, spec.kind, spec.template, locale, fmt) for fmt in self.formats}
        batch = spec.batch(self.session, pool, self.request, locale)
        shared = pool_context(pool, locale)
        shared.update({key: value for key, value in batch.items() if not key.startswith("_")})
        shared.update(plugin_context(self.plugins, pool, spec.kind, locale, shared))
        bases = {fmt: {**template.globals, **shared} for fmt, template in templates.items()}
        language = _Language(shared, {**shared, **batch}, templates, bases)
        self._languages[locale] = language
        return language

    def locale_of(self, row: Any) -> str:
        if self.request.locale is not None:
            return self.request.locale
        preferred = row.locale
        return preferred if preferred else self.default_locale

    def public(self, locale: str | None = None) -> dict[str, str]:
        """A public kind's one notice in ``locale`` (default: the rendering's), each format."""
        locale = locale or self.default_locale
        parts = self._public.get(locale)
        if parts is None:
            language = self.language(locale)
            what = f"the {self.spec.kind} notice"
            parts = {fmt: render_template(t, language.shared, what) for fmt, t in language.templates.items()}
            self._public[locale] = parts
        return parts

    def member_values(self, row: Any, language: _Language) -> dict[str, Any]:
        """What one recipient's notice adds to the shared values: ``member`` and the kind's own."""
        values = self.spec.member(row, language.values)
        if "member" not in values:
            values["member"] = member_context(row)
        return values

    def context_of(self, row: Any, language: _Language) -> dict[str, Any]:
        """The whole context of one recipient's notice (as :meth:`notices` renders it)."""
        return {**language.shared, **self.member_values(row, language)}

    def notices(self, *, batch_rows: int = 2000, between: tuple[int, int] | None = None) -> Iterator[RenderedNotice]:
        """Each recipient's notice, in member order, streamed from the database (``between``:
        only the members with ``low <= id < high``)."""
        spec, request = self.spec, self.request
        first = self.language(self.default_locale)
        query = spec.recipients(self.session, self.pool, request, first.values)
        if between is not None:
            member_id = Member.__table__.c.id
            query = query.where(member_id >= between[0], member_id < between[1])
        fixed_locale, default_locale = request.locale, self.default_locale
        for row in self.session.execute(query.execution_options(yield_per=batch_rows)):
            locale = fixed_locale or row.locale or default_locale
            reference = spec.reference(row, request)
            if spec.public:
                yield RenderedNotice(row.id, row.email, locale, reference, self.public(locale))
                continue
            language = first if locale == default_locale else self.language(locale)
            values = spec.member(row, language.values)
            if "member" not in values:  # a kind's own ``member`` wins, as it always has
                values["member"] = member_context(row)
            bases = language.bases
            parts = {}
            for fmt, template in language.templates.items():
                try:
                    parts[fmt] = _render_fast(template, bases[fmt], values)
                except Exception:
                    # The same rendering through the one error mapping: the same one-line error.
                    context = {**language.shared, **values}
                    parts[fmt] = render_template(template, context, f"member #{row.id}")
            yield RenderedNotice(row.id, row.email, locale, reference, parts)


def render(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    spec: NoticeSpec,
    request: NoticeRequest,
    out_dir: str | Path,
    *,
    layout: str = Layout.FILES,
    formats: tuple[str, ...] = (NoticeFormat.TEXT,),
    templates: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    jobs: int = 1,
) -> RenderResult:
    """Render the notices of one kind for its recipients into ``out_dir``.

    Files are named ``<file stem>-MEMBER.<txt|html>`` (layout ``files``), or every notice goes to
    ``<stream stem>.<txt|html>`` (layout ``stream``, for large pools), each headed
    ``=== member N ===``. A public kind is one file, ``<file stem>.<txt|html>``.
    ``progress(count)`` is called every 1,000 notices (with ``jobs``: about every quarter second).

    ``jobs``: worker processes (``0``: one per core): the recipients are split into as many
    contiguous ranges of member ids, each rendered by its own process and engine from the
    session's database URL (the committed data), joined in member order into the same files one
    process writes (see :mod:`.parallel`).

    :raises MutualAidError: for a request the kind refuses, an unknown locale, a missing or broken
        template, or a template that fails for a member; ``out_dir`` is left as it was then.

    The notices appear in ``out_dir`` all at once, replacing an earlier rendering's, or not at all
    (see :mod:`.writer`); an ``out_dir`` holding anything but notices is refused.
    """
    renderer = Renderer(session, plugins, pool, spec, request, formats=formats, templates=templates)
    if spec.public:
        parts = renderer.public()
        writer = NoticeWriter(Path(out_dir), spec.file_stem(request), Layout.FILES, renderer.formats)
        return RenderResult(count=1, paths=writer.write_single(parts))
    stem = spec.file_stem(request) if layout == Layout.FILES else spec.stream_stem(request)
    if jobs < 0:
        raise ValidationError([f"jobs must be 0 (one per core) or more, not {jobs}"])
    jobs = jobs or os.cpu_count() or 1
    if jobs > 1:
        query = spec.recipients(session, pool, request, renderer.language(renderer.default_locale).values)
        done = render_parallel(
            session, plugins, pool, spec, request, Path(out_dir), query=query, stem=stem, layout=layout,
            formats=renderer.formats, templates=templates, jobs=jobs, progress=progress,
        )  # fmt: skip
        if done is not None:
            return RenderResult(count=done[0], paths=done[1])
    writer = NoticeWriter(Path(out_dir), stem, layout, renderer.formats)
    count = 0
    try:
        for notice in renderer.notices():
            writer.write(notice.reference if spec.by_reference else notice.member_id, notice.parts)
            count += 1
            if progress and count % 1000 == 0:
                progress(count)
    except BaseException:
        writer.abort()
        raise
    return RenderResult(count=count, paths=writer.commit())
