"""What a kind of notice is: a spec the one pipeline runs (:mod:`mutualaid.notices.pipeline`).

A spec says who receives the notice (its recipients query: the member's columns first, see
:func:`~.context.member_columns`, then whatever the kind adds), what the whole batch shares (a
context built once per language), what each member adds, which templates render it, what its
files are called and which occasion it is about (its reference, so that a notice sent by email is
sent once). A new kind is a spec and its templates (``<locale>/<template>.txt.j2`` and
``<locale>/<template>.html.j2`` in the core, a cohort's or an operator's directory), nothing else;
a cohort registers its own kinds with the ``register_notice_kinds`` hook.

A *public* kind (the public notice of the cases to be shared) is one notice for everyone: it is
rendered without any member's values (its templates cannot name the reader), written as one file,
and sent alike to each recipient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from ..periods import Period
from ..plugins import Plugins
from ..pools import PoolRecord

__all__ = ["NoticeRequest", "NoticeSpec"]


@dataclass(frozen=True, slots=True)
class NoticeRequest:
    """What a rendering was asked for.

    :param locale: the language of every notice; ``None``: each member's own (their preferred
        language, else the pool's).
    :param period: the period, for the kinds about one.
    :param members: the members chosen (their numbers); empty: the kind's own recipients.
    :param claims: the claims chosen (decision letters); empty: the kind's own.
    :param threshold: low-balance notices: the level below which a balance is low.
    :param since: the kinds about an event (lapse, frozen, unfrozen, exit): only events on or
        after this day.
    """

    locale: str | None = None
    period: Period | None = None
    members: Sequence[int] = ()
    claims: Sequence[int] = ()
    threshold: Any = None
    since: date | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _no_reference(row: Any, request: NoticeRequest) -> str:
    return ""


def _accept(pool: PoolRecord, request: NoticeRequest) -> None:
    return None


@dataclass(frozen=True, slots=True)
class NoticeSpec:
    """A kind of notice.

    :param kind: the kind's name, as ``notice render --kind`` and the ``notice_context`` hook see it.
    :param template: the templates' name: ``<locale>/<template>.txt.j2`` and ``.html.j2``.
    :param file_stem: the name of one member's file without ``-MEMBER.<ext>`` (layout ``files``;
        a public kind's one file without ``.<ext>``).
    :param stream_stem: the name of the stream file without ``.<ext>`` (layout ``stream``).
    :param batch: the values every notice of the rendering shares (built once per language).
    :param recipients: the query of who receives it: the member's columns
        (:func:`~.context.member_columns`), then the kind's own, in member order, streamed.
    :param member: the values one row adds (``member`` itself is added by the pipeline).
    :param reference: the occasion a row's notice is about (a period, a claim, a change of
        status), which with the kind and the member names one notice in the send log.
    :param check: refuses a request the kind cannot serve (raises a ``MutualAidError``).
    :param public: one notice for everyone, rendered without any member's values.
    :param needs_period: the kind is about one period (``--period`` is required).
    :param by_reference: files are named by the reference rather than the member number (a
        member may get several: decision letters, one per claim).
    :param prepare: values the kind needs from the plugins before rendering (a welcome notice's
        expected cost by age), computed once when the notices are asked for and kept in the
        request's ``extra`` (plain values: they go to the worker processes of a parallel rendering).
    """

    kind: str
    template: str
    file_stem: Callable[[NoticeRequest], str]
    stream_stem: Callable[[NoticeRequest], str]
    batch: Callable[[Session, PoolRecord, NoticeRequest, str], dict[str, Any]]
    recipients: Callable[[Session, PoolRecord, NoticeRequest, dict[str, Any]], Select[Any]]
    member: Callable[[Any, dict[str, Any]], dict[str, Any]]
    reference: Callable[[Any, NoticeRequest], str] = _no_reference
    check: Callable[[PoolRecord, NoticeRequest], None] = _accept
    public: bool = False
    needs_period: bool = False
    by_reference: bool = False
    description: str = ""
    prepare: Callable[[Session, Plugins, PoolRecord, NoticeRequest], Mapping[str, Any]] | None = None
