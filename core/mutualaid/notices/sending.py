"""Sending notices by email through an SMTP server, with a send log that makes a send idempotent
and resumable.

A send renders the kind for its recipients, in plain text and HTML, and hands each member's notice
to the server as one ``multipart/alternative`` message (the subject is the first line of the text).
Every message is recorded in ``notice_deliveries`` (one row per pool, kind, reference and member):

* the row is written ``sending`` and committed *before* the message goes to the server, then marked
  ``sent`` (the server accepted it) or ``failed`` (it refused it: the error is kept), each in a
  short transaction of its own;
* a later send skips the rows ``sent`` and retries the ``failed`` ones;
* a row still ``sending`` was left by a send that stopped (a crash, a kill) between the two
  commits: the message may or may not have reached the server, so it is *in doubt*, and is sent
  again with the same ``Message-ID`` (a receiver may drop the duplicate) and counted.

Reading and writing never overlap (a SQLite reader would block the writer): the recipients'
member numbers are read first (8 bytes each), then the notices are rendered in batches of
:data:`BATCH` members in a read transaction of their own, and each batch is sent and logged after
that transaction ended. A dry run renders and reports what would be sent; it writes nothing and
contacts no server.
The server, the messages and the connection are :mod:`.mail`'s: :class:`~.mail.SmtpSettings` (the
``MUTUALAID_SMTP_*`` environment variables, each overridable, ``notice send --smtp-host`` ...; the
password only from the environment), :func:`~.mail.build_message` and :func:`~.mail.connect`.
"""

from __future__ import annotations

import smtplib
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db.models import NoticeDelivery
from ..errors import MailServerError
from ..plugins import Plugins
from ..pools import PoolRecord
from ..vocabulary import DeliveryStatus, NoticeFormat
from .mail import (
    ENVIRONMENT,
    TLS_MODES,
    Pacer,
    SmtpSettings,
    build_message,
    connect,
    message_id,
    quietly_close,
    reason,
    subject_of,
)
from .pipeline import RenderedNotice, Renderer
from .service import prepare
from .spec import NoticeRequest, NoticeSpec

# The names of the server and the messages are :mod:`.mail`'s, also here as they were before.
__all__ = [
    "BATCH",
    "ENVIRONMENT",
    "TLS_MODES",
    "Failure",
    "MailServerError",
    "Pacer",
    "PlannedNotice",
    "SendResult",
    "SmtpSettings",
    "build_message",
    "message_id",
    "send_notices",
]

#: How many members' notices are rendered in one read transaction, then sent.
BATCH = 500
#: The failures kept in a :class:`SendResult` (all are counted, and each is in the send log).
_FAILURES_KEPT = 100

Transaction = Callable[[], AbstractContextManager[Session]]


# -- the result -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedNotice:
    """What a dry run would send: ``status`` is ``new``, ``retry`` (failed before) or ``in doubt``."""

    member_id: int
    address: str
    reference: str
    subject: str
    message_id: str
    status: str


@dataclass(frozen=True, slots=True)
class Failure:
    """A message the server refused (also in the send log, ``failed``)."""

    member_id: int
    address: str
    reference: str
    error: str


@dataclass(slots=True)
class SendResult:
    """What a send did (or, in a dry run, would do).

    :param sent: messages the server accepted (in a dry run: 0).
    :param members: the members they went to.
    :param skipped_already_sent: notices the send log has as sent: not sent again.
    :param no_address: recipients without an email address: skipped.
    :param failed: messages the server refused (recorded ``failed``; the next send retries them).
    :param retried: of the messages sent or failed, those that had failed before.
    :param in_doubt_resent: of the messages sent or failed, those a stopped send had left in doubt,
        sent again with the same ``Message-ID``.
    :param planned: a dry run: each message that would be sent.
    :param failures: the first failures, with the server's answer.
    """

    kind: str
    dry_run: bool = False
    sent: int = 0
    members: int = 0
    skipped_already_sent: int = 0
    no_address: int = 0
    failed: int = 0
    retried: int = 0
    in_doubt_resent: int = 0
    planned: list[PlannedNotice] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def would_send(self) -> int:
        return len(self.planned)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["would_send"] = self.would_send
        return data


# -- the send log -----------------------------------------------------------------------------------


def _log_row(session: Session, pool: PoolRecord, kind: str, reference: str, member_id: int) -> Any:
    """The send log's row of one notice (its id, status and Message-ID), or ``None``."""
    return session.execute(
        select(NoticeDelivery.id, NoticeDelivery.status, NoticeDelivery.message_id).where(
            NoticeDelivery.pool_id == pool.id,
            NoticeDelivery.kind == kind,
            NoticeDelivery.reference == reference,
            NoticeDelivery.member_id == member_id,
        )
    ).one_or_none()


def _statuses(session: Session, pool: PoolRecord, kind: str, member_ids: Sequence[int]) -> dict[tuple[str, int], str]:
    """The send log's status of these members' notices of ``kind``, by (reference, member)."""
    if not member_ids:
        return {}
    rows = session.execute(
        select(NoticeDelivery.reference, NoticeDelivery.member_id, NoticeDelivery.status).where(
            NoticeDelivery.pool_id == pool.id,
            NoticeDelivery.kind == kind,
            NoticeDelivery.member_id.in_(list(member_ids)),
        )
    )
    return {(reference, member_id): status for reference, member_id, status in rows}


@dataclass(frozen=True, slots=True)
class _Claim:
    """A notice written ``sending`` in the log: its row, the Message-ID to send it with, and the
    status it had (``None``: new; failed; sending: in doubt)."""

    row_id: int
    message_id: str
    previous: str | None


# The send log is written with UPDATE statements naming its columns: its ``status`` is a notice's,
# not a member's or a claim's (whose only writers are the lifecycle and the claims machine).


def _begin(
    transaction: Transaction, pool: PoolRecord, kind: str, notice: RenderedNotice, address: str
) -> _Claim | None:
    """Write the notice ``sending`` (committed); ``None`` when the log has it as sent already."""
    with transaction() as session:
        now = datetime.now(UTC)
        row = _log_row(session, pool, kind, notice.reference, notice.member_id)
        if row is None:
            msgid = message_id(pool, kind, notice.reference, notice.member_id)
            delivery = NoticeDelivery(
                pool_id=pool.id,
                kind=kind,
                reference=notice.reference,
                member_id=notice.member_id,
                address=address,
                status=DeliveryStatus.SENDING,
                attempts=1,
                message_id=msgid,
                updated_at=now,
            )
            session.add(delivery)
            session.flush()
            return _Claim(delivery.id, msgid, None)
        if row.status == DeliveryStatus.SENT:
            return None
        session.execute(
            update(NoticeDelivery)
            .where(NoticeDelivery.id == row.id)
            .values(
                {
                    NoticeDelivery.status: DeliveryStatus.SENDING,
                    NoticeDelivery.attempts: NoticeDelivery.attempts + 1,
                    NoticeDelivery.address: address,
                    NoticeDelivery.updated_at: now,
                }
            )
        )
        return _Claim(row.id, row.message_id, row.status)


def _finish(transaction: Transaction, claim: _Claim, error: str | None) -> None:
    """Mark the notice ``sent``, or ``failed`` with the server's answer (committed)."""
    changes: dict[Any, Any] = {
        NoticeDelivery.status: DeliveryStatus.FAILED if error else DeliveryStatus.SENT,
        NoticeDelivery.updated_at: datetime.now(UTC),
    }
    if error:
        changes[NoticeDelivery.last_error] = error[:2000]
    with transaction() as session:
        session.execute(update(NoticeDelivery).where(NoticeDelivery.id == claim.row_id).values(changes))


# -- the send ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    pool: PoolRecord
    spec: NoticeSpec
    request: NoticeRequest
    to_send: array[int]


def _plan(
    transaction: Transaction,
    plugins: Plugins,
    pool_key: str,
    kind: str,
    result: SendResult,
    *,
    period: str | None,
    members: Sequence[int | str],
    claims: Sequence[int],
    locale: str | None,
    since: date | None,
    templates: str | Path | None,
) -> _Plan:
    """Read who receives the kind: members without an address and notices already sent are
    counted, the others' member numbers kept (in member order), for the batches to render."""
    with transaction() as session:
        pool, spec, request = prepare(
            session, plugins, pool_key, kind, period=period, members=members, claims=claims, locale=locale, since=since
        )
        renderer = Renderer(session, plugins, pool, spec, request, formats=_FORMATS, templates=templates)
        values = renderer.language(renderer.default_locale).values
        query = spec.recipients(session, pool, request, values)
        to_send: array[int] = array("q")
        chunk: list[Any] = []

        def flush() -> None:
            statuses = _statuses(session, pool, spec.kind, [row.id for row in chunk])
            for row in chunk:
                if statuses.get((spec.reference(row, request), row.id)) == DeliveryStatus.SENT:
                    result.skipped_already_sent += 1
                elif not to_send or to_send[-1] != row.id:
                    to_send.append(row.id)
            chunk.clear()

        locales = {renderer.default_locale}
        for row in session.execute(query.execution_options(yield_per=2000)):
            if not (row.email or "").strip():
                result.no_address += 1
                continue
            locale = request.locale or row.locale or renderer.default_locale
            if locale not in locales:  # its templates checked before anything is sent
                renderer.language(locale)
                locales.add(locale)
            chunk.append(row)
            if len(chunk) >= BATCH:
                flush()
        flush()
    return _Plan(pool, spec, request, to_send)


_FORMATS = (NoticeFormat.TEXT.value, NoticeFormat.HTML.value)


def _batches(
    transaction: Transaction, plugins: Plugins, plan: _Plan, templates: str | Path | None, size: int
) -> Iterator[tuple[list[RenderedNotice], dict[tuple[str, int], str]]]:
    """The notices of ``size`` members at a time, each batch rendered in a read transaction that
    has ended when it is handed over, with the send log's statuses of its notices."""
    ids = plan.to_send
    for start in range(0, len(ids), size):
        batch = tuple(ids[start : start + size])
        with transaction() as session:
            request = replace(plan.request, members=batch)
            renderer = Renderer(session, plugins, plan.pool, plan.spec, request, formats=_FORMATS, templates=templates)
            notices = list(renderer.notices(batch_rows=size))
            statuses = _statuses(session, plan.pool, plan.spec.kind, batch)
        yield notices, statuses


def send_notices(
    transaction: Transaction,
    plugins: Plugins,
    pool_key: str,
    kind: str,
    *,
    settings: SmtpSettings | None = None,
    period: str | None = None,
    members: Sequence[int | str] = (),
    claims: Sequence[int] = (),
    locale: str | None = None,
    since: date | None = None,
    dry_run: bool = False,
    rate: float | None = None,
    templates: str | Path | None = None,
    batch_size: int = BATCH,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[SendResult], None] | None = None,
) -> SendResult:
    """Send the notices of ``kind`` in pool ``pool_key`` by email (see the module's description).

    :param transaction: opens a session in a transaction of its own, committed when the block ends
        (``MutualAid.transaction``): one to read each batch, one for each write to the send log.
    :param settings: the server; default :meth:`SmtpSettings.from_env`.
    :param period, members, claims, locale, since: what to send, as for rendering
        (:func:`~.service.render_notices`).
    :param dry_run: render and report what would be sent; write nothing, contact no server.
    :param rate: at most this many messages a second (default: no limit).
    :param progress: called with the result so far after each batch.
    :raises MailServerError: the server cannot be reached (before anything is marked), or drops
        the connection and cannot be reached again.
    :raises MutualAidError: for a request the kind refuses, or a missing or broken template.
    """
    result = SendResult(kind=str(kind), dry_run=dry_run)
    pacer = Pacer(rate, clock=clock, sleep=sleep)
    settings = settings if settings is not None else SmtpSettings.from_env()
    sender = envelope = ""
    if not dry_run:
        envelope = settings.envelope_sender()
        sender = settings.sender or envelope
    plan = _plan(
        transaction,
        plugins,
        pool_key,
        kind,
        result,
        period=period,
        members=members,
        claims=claims,
        locale=locale,
        since=since,
        templates=templates,
    )
    outbox = _Outbox(transaction, plan.pool, plan.spec.kind, settings, sender, envelope, pacer, result)
    try:
        for notices, statuses in _batches(transaction, plugins, plan, templates, max(1, batch_size)):
            for notice in notices:
                address = (notice.email or "").strip()
                if not address:  # the address was removed since the recipients were read
                    result.no_address += 1
                    continue
                status = statuses.get((notice.reference, notice.member_id))
                if status == DeliveryStatus.SENT:
                    result.skipped_already_sent += 1
                elif dry_run:
                    result.planned.append(_planned(plan.pool, plan.spec.kind, notice, address, status))
                else:
                    outbox.send(notice, address)
            if progress is not None:
                progress(result)
    finally:
        outbox.close()
    return result


def _planned(pool: PoolRecord, kind: str, notice: RenderedNotice, address: str, status: str | None) -> PlannedNotice:
    """What a dry run reports of one notice the send log has not as sent (``status``: its status there)."""
    msgid = message_id(pool, kind, notice.reference, notice.member_id)
    label = "new" if status is None else "retry" if status == DeliveryStatus.FAILED else "in doubt"
    subject = subject_of(notice.parts[NoticeFormat.TEXT])
    return PlannedNotice(notice.member_id, address, notice.reference, subject, msgid, label)


@dataclass(slots=True)
class _Outbox:
    """The sending side of one send: the connection to the server (opened before the first row is
    marked, and again after it was lost), the send log's writes, and the counts of ``result``."""

    transaction: Transaction
    pool: PoolRecord
    kind: str
    settings: SmtpSettings
    sender: str
    envelope: str
    pacer: Pacer
    result: SendResult
    server: smtplib.SMTP | None = None
    last_member: int | None = None

    def send(self, notice: RenderedNotice, address: str) -> None:
        """Write the notice ``sending``, hand it to the server, then mark it ``sent`` or ``failed``."""
        result = self.result
        if self.server is None:  # before the first row is marked, or after a connection was lost
            self.server = connect(self.settings, result.sent + result.failed)
        claim = _begin(self.transaction, self.pool, self.kind, notice, address)
        if claim is None:
            result.skipped_already_sent += 1
            return
        self.pacer.wait()
        error, lost = _send_one(
            self.server, notice, self.sender, self.envelope, address, claim.message_id, self.settings.where
        )
        _finish(self.transaction, claim, error)
        if lost:
            quietly_close(self.server)
            self.server = None
        self._count(notice, address, claim, error)

    def _count(self, notice: RenderedNotice, address: str, claim: _Claim, error: str | None) -> None:
        result = self.result
        if claim.previous == DeliveryStatus.FAILED:
            result.retried += 1
        elif claim.previous == DeliveryStatus.SENDING:
            result.in_doubt_resent += 1
        if error:
            result.failed += 1
            if len(result.failures) < _FAILURES_KEPT:
                result.failures.append(Failure(notice.member_id, address, notice.reference, error))
        else:
            result.sent += 1
            if notice.member_id != self.last_member:
                result.members += 1
                self.last_member = notice.member_id

    def close(self) -> None:
        """Close the connection, if one is open."""
        quietly_close(self.server)


def _send_one(
    server: smtplib.SMTP, notice: RenderedNotice, sender: str, envelope: str, address: str, msgid: str, where: str
) -> tuple[str | None, bool]:
    """Hand one message to the server: ``(error, lost)``, ``error`` ``None`` when it accepted it.

    A refusal (of the recipient, the sender, the data) is the message's failure and the send goes
    on. A dropped connection (``lost``) is the message's failure too; the caller connects again.
    """
    try:
        message = build_message(replace(notice, email=address), sender, msgid)
    except (ValueError, TypeError) as exc:
        return f"cannot build the message to {address!r}: {exc}", False
    try:
        server.send_message(message, from_addr=envelope, to_addrs=[address])
    except smtplib.SMTPServerDisconnected as exc:
        return f"the connection to {where} was lost: {reason(exc)}", True
    except smtplib.SMTPException as exc:  # a refusal: the connection goes on
        return reason(exc), False
    except OSError as exc:  # the socket failed (SMTPException is an OSError too: caught above)
        return f"the connection to {where} was lost: {reason(exc)}", True
    return None, False
