"""What a kind of notice is: a spec the one pipeline runs (:func:`mutualaid.notices.pipeline.render`).

A spec says who receives the notice (its recipients query: rows whose first column is the
member), what the whole batch shares (a context built once), what each member adds, which
template renders it and what its files are called. A new kind is a spec and its templates
(``<locale>/<template>.txt.j2`` in the core, a cohort's or an operator's directory), nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from ..periods import Period
from ..pools import PoolRecord

__all__ = ["NoticeRequest", "NoticeSpec"]


@dataclass(frozen=True, slots=True)
class NoticeRequest:
    """What a rendering was asked for: the period (for notices of a period), the members chosen
    (their numbers; empty: the spec's own recipients), a threshold, and the language."""

    locale: str
    period: Period | None = None
    members: Sequence[int] = ()
    threshold: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NoticeSpec:
    """A kind of notice.

    :param kind: the kind's name, as ``notice render --kind`` and the ``notice_context`` hook see it.
    :param template: the template's name: ``<locale>/<template>.txt.j2``.
    :param file_stem: the name of one member's file without ``-MEMBER.txt`` (layout ``files``).
    :param stream_stem: the name of the stream file without ``.txt`` (layout ``stream``).
    :param batch: the values every notice of the rendering shares (built once).
    :param recipients: the query of who receives it: rows of ``(Member, *extra columns)`` in
        member order, streamed.
    :param member: the values one row adds (``member`` itself is added by the pipeline).
    :param check: refuses a request the kind cannot serve (raises a ``MutualAidError``).
    """

    kind: str
    template: str
    file_stem: Callable[[NoticeRequest], str]
    stream_stem: Callable[[NoticeRequest], str]
    batch: Callable[[Session, PoolRecord, NoticeRequest], dict[str, Any]]
    recipients: Callable[[Session, PoolRecord, NoticeRequest, dict[str, Any]], Select[Any]]
    member: Callable[[Any, dict[str, Any]], dict[str, Any]]
    check: Callable[[PoolRecord, NoticeRequest], None] = lambda pool, request: None
