"""The API's verbs of notices: render any kind, and the three the core sends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from ..fields import parse_date
from ..vocabulary import Layout, NoticeFormat, NoticeKind
from .application import Application

if TYPE_CHECKING:
    from ..notices import RenderResult

__all__ = ["NoticeVerbs"]


class NoticeVerbs(Application):
    """Notices: rendering them through the one pipeline."""

    def render_notices(
        self,
        pool: str,
        kind: NoticeKind | str,
        out_dir: str | Path,
        *,
        period: str | None = None,
        members: Sequence[int | str] = (),
        claims: Sequence[int] = (),
        threshold: Decimal | str | int | None = None,
        locale: str | None = None,
        since: str | date | None = None,
        layout: str = Layout.FILES,
        formats: Sequence[str] = (NoticeFormat.TEXT,),
        templates: str | Path | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> RenderResult:
        """Render the notices of one kind into ``out_dir`` (the kinds: :data:`mutualaid.NoticeKind`,
        and those cohort plugins add).

        :param period: the period of the kinds about one (required for statements).
        :param members: only these members (member numbers or ID numbers); default: the kind's own
            recipients (a statement: every member the run charged; a welcome: every live member;
            a low-balance notice: every live member below ``threshold``; ...).
        :param claims: decision letters: only these claims (default: every decided claim).
        :param threshold: low-balance notices: balances below this (default the pool's ``low_balance``).
        :param locale: ``zh-CN`` or ``en`` for every notice; default: each member's preferred
            language, else the pool's.
        :param since: the kinds about an event (lapse, frozen, unfrozen, exit): events on or after this day.
        :param layout: ``files`` (one per member) or ``stream`` (one file per format, for large pools).
        :param formats: ``text``, ``html``, or both.
        :param templates: the operator's template directory, rendered sandboxed.
        """
        from .. import notices

        with self.transaction() as session:
            return notices.render_notices(
                session,
                self.plugins,
                pool,
                kind,
                out_dir,
                period=period,
                members=members,
                claims=claims,
                threshold=threshold,
                locale=locale,
                since=parse_date(since, "since") if since is not None else None,
                layout=layout,
                formats=tuple(formats),
                templates=templates,
                progress=progress,
            )

    def render_statements(
        self,
        pool: str,
        period: str,
        out_dir: str | Path,
        *,
        locale: str | None = None,
        layout: str = Layout.FILES,
        templates: str | Path | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> RenderResult:
        """Render the statement of every member charged in a period's run (see :meth:`render_notices`)."""
        return self.render_notices(
            pool,
            NoticeKind.STATEMENT,
            out_dir,
            period=period,
            locale=locale,
            layout=layout,
            templates=templates,
            progress=progress,
        )

    def render_welcome(
        self,
        pool: str,
        out_dir: str | Path,
        *,
        members: Sequence[int | str] | None = None,
        locale: str | None = None,
        layout: str = Layout.FILES,
        templates: str | Path | None = None,
    ) -> RenderResult:
        """Render the welcome notice of the given members (default: every live member)."""
        return self.render_notices(
            pool, NoticeKind.WELCOME, out_dir, members=members or (), locale=locale, layout=layout, templates=templates
        )

    def render_low_balance(
        self,
        pool: str,
        out_dir: str | Path,
        *,
        members: Sequence[int | str] | None = None,
        threshold: Decimal | str | int | None = None,
        locale: str | None = None,
        layout: str = Layout.FILES,
        templates: str | Path | None = None,
    ) -> RenderResult:
        """Render low-balance reminders of a prepaid pool (default: every member below the threshold)."""
        return self.render_notices(
            pool,
            NoticeKind.LOW_BALANCE,
            out_dir,
            members=members or (),
            threshold=threshold,
            locale=locale,
            layout=layout,
            templates=templates,
        )
