"""Rendering notices on request: the pool, the period and the members named are looked up, then
the kind's spec runs through the pipeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..errors import ValidationError
from ..members.service import get_member
from ..periods import parse_period
from ..plugins import Plugins
from ..pools import get_pool
from ..vocabulary import Layout, NoticeKind
from .kinds import spec_for
from .pipeline import RenderResult, render
from .spec import NoticeRequest

__all__ = ["render_notices"]


def render_notices(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    kind: NoticeKind | str,
    out_dir: str | Path,
    *,
    period: str | None = None,
    members: Sequence[int | str] = (),
    threshold: Any = None,
    locale: str | None = None,
    layout: str = Layout.FILES,
    templates: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> RenderResult:
    """Render the notices of ``kind`` in pool ``pool_key`` into ``out_dir``.

    :param period: the period of a statement (required for one).
    :param members: member numbers or ID numbers; empty: the kind's own recipients.
    :param threshold: low-balance notices: remind balances below this (default the pool's).
    :param locale: ``zh-CN`` or ``en`` (default: the pool's).
    """
    spec = spec_for(kind)
    pool = get_pool(session, plugins, pool_key)
    resolved = parse_period(period, pool.config) if period is not None else None
    if spec.kind == NoticeKind.STATEMENT and resolved is None:
        raise ValidationError(["--period is required for statements, e.g. --period 2026-11"])
    ids = [get_member(session, pool, member).id for member in members]
    request = NoticeRequest(
        locale=locale or pool.config.locale, period=resolved, members=tuple(ids), threshold=threshold
    )
    return render(session, plugins, pool, spec, request, out_dir, layout=layout, templates=templates, progress=progress)
