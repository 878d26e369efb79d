"""Rendering notices on request: the pool, the period, the members and claims named are looked
up, then the kind's spec runs through the pipeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..errors import ValidationError
from ..members.service import get_member
from ..periods import parse_period
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool
from ..vocabulary import Layout, NoticeFormat
from .kinds import spec_for
from .pipeline import RenderResult, render
from .spec import NoticeRequest, NoticeSpec

__all__ = ["prepare", "render_notices"]


def prepare(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    kind: str,
    *,
    period: str | None = None,
    members: Sequence[int | str] = (),
    claims: Sequence[int] = (),
    threshold: Any = None,
    locale: str | None = None,
    since: date | None = None,
) -> tuple[PoolRecord, NoticeSpec, NoticeRequest]:
    """The pool, the kind's spec and the request, with every name looked up and checked."""
    spec = spec_for(kind, plugins)
    pool = get_pool(session, plugins, pool_key)
    resolved = parse_period(period, pool.config) if period is not None else None
    if spec.needs_period and resolved is None:
        raise ValidationError([f"--period is required for {spec.kind} notices, e.g. --period 2026-11"])
    ids = [get_member(session, pool, member).id for member in members]
    request = NoticeRequest(
        locale=locale,
        period=resolved,
        members=tuple(ids),
        claims=tuple(int(c) for c in claims),
        threshold=threshold,
        since=since,
    )
    if spec.prepare is not None:
        request = replace(request, extra={**request.extra, **spec.prepare(session, plugins, pool, request)})
    return pool, spec, request


def render_notices(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    kind: str,
    out_dir: str | Path,
    *,
    period: str | None = None,
    members: Sequence[int | str] = (),
    claims: Sequence[int] = (),
    threshold: Any = None,
    locale: str | None = None,
    since: date | None = None,
    layout: str = Layout.FILES,
    formats: tuple[str, ...] = (NoticeFormat.TEXT,),
    templates: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    jobs: int = 1,
) -> RenderResult:
    """Render the notices of ``kind`` in pool ``pool_key`` into ``out_dir``: published there all at
    once, replacing an earlier rendering's, or not at all (see :mod:`.writer`).

    :param period: the period of the kinds about one (required for a statement).
    :param members: member numbers or ID numbers; empty: the kind's own recipients.
    :param claims: decision letters: these claims; empty: every decided claim.
    :param threshold: low-balance notices: remind balances below this (default the pool's).
    :param locale: ``zh-CN`` or ``en`` for every notice; default: each member's preferred
        language, else the pool's.
    :param since: the kinds about an event: only events on or after this day.
    :param formats: ``text``, ``html`` or both.
    :param jobs: worker processes (``0``: one per core); see :func:`~.pipeline.render`.
    """
    pool, spec, request = prepare(
        session,
        plugins,
        pool_key,
        kind,
        period=period,
        members=members,
        claims=claims,
        threshold=threshold,
        locale=locale,
        since=since,
    )
    return render(
        session,
        plugins,
        pool,
        spec,
        request,
        out_dir,
        layout=layout,
        formats=formats,
        templates=templates,
        progress=progress,
        jobs=jobs,
    )
