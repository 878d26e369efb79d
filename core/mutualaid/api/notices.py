"""The API's verbs of notices: render any kind, and the three the core sends."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..fields import parse_date
from ..vocabulary import Layout, NoticeFormat, NoticeKind
from .application import Application

if TYPE_CHECKING:
    from ..notices import RenderResult
    from ..notices.mail import SmtpSettings
    from ..notices.sending import SendResult

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
        jobs: int = 1,
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
        :param jobs: worker processes rendering contiguous ranges of members, each with its own
            engine (``0``: one per core; default 1, this process).
        """
        from .. import notices

        with self.reading() as session:
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
                jobs=jobs,
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

    def send_notices(
        self,
        pool: str,
        kind: NoticeKind | str,
        *,
        period: str | None = None,
        members: Sequence[int | str] = (),
        claims: Sequence[int] = (),
        locale: str | None = None,
        since: str | date | None = None,
        dry_run: bool = False,
        rate: float | None = None,
        smtp: SmtpSettings | Mapping[str, Any] | None = None,
        templates: str | Path | None = None,
        progress: Callable[[SendResult], None] | None = None,
    ) -> SendResult:
        """Send the notices of one kind by email, each member's as one message (plain text and HTML),
        to the members with an email address; the rest are counted.

        Each message is recorded in the send log before it goes to the server and marked sent (or
        failed) after, each in a short transaction of its own (not one for the verb), so that a send
        that stopped can be run again: notices sent are skipped, failed ones retried, and one left in
        doubt by a crash is sent again with the same ``Message-ID``.

        :param period, members, claims, locale, since, templates: what to send, as for
            :meth:`render_notices`.
        :param dry_run: render and report what would be sent (``SendResult.planned``); write nothing,
            contact no server.
        :param rate: at most this many messages a second (default: no limit).
        :param smtp: the server: :class:`~mutualaid.notices.sending.SmtpSettings`, or the settings to
            change (``host``, ``port``, ``tls``, ``user``, ``password``, ``sender``) of those of the
            ``MUTUALAID_SMTP_*`` environment variables (the default).
        :raises MailServerError: when the server cannot be reached (nothing is marked then).
        """
        from ..notices.mail import SmtpSettings
        from ..notices.sending import send_notices

        settings = smtp if isinstance(smtp, SmtpSettings) else SmtpSettings.from_env(overrides=smtp)
        return send_notices(
            self.transaction,
            self.plugins,
            pool,
            kind,
            settings=settings,
            period=period,
            members=members,
            claims=claims,
            locale=locale,
            since=parse_date(since, "since") if since is not None else None,
            dry_run=dry_run,
            rate=rate,
            templates=templates,
            progress=progress,
        )
