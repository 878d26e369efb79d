"""Talking to a mail server: the SMTP settings, one notice as a message, and the connection.

The server comes from :class:`SmtpSettings`: the ``MUTUALAID_SMTP_*`` environment variables, each
overridable (``notice send --smtp-host`` ...); the password only from the environment. A message
has the same ``Message-ID`` every time it is sent (:func:`message_id`), so that a receiver may drop
a duplicate. :mod:`.sending` keeps the send log and drives the send.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

from ..errors import MailServerError, ValidationError
from ..pools import PoolRecord
from ..vocabulary import NoticeFormat, SmtpSecurity, values
from .pipeline import RenderedNotice

__all__ = [
    "ENVIRONMENT",
    "TLS_MODES",
    "MailServerError",
    "Pacer",
    "SmtpSettings",
    "answer",
    "build_message",
    "connect",
    "message_id",
    "quietly_close",
    "reason",
    "subject_of",
]

#: How the connection to the server is secured.
TLS_MODES = values(SmtpSecurity)
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}

#: The environment variable of each setting.
ENVIRONMENT = {
    "host": "MUTUALAID_SMTP_HOST",
    "port": "MUTUALAID_SMTP_PORT",
    "tls": "MUTUALAID_SMTP_TLS",
    "user": "MUTUALAID_SMTP_USER",
    "password": "MUTUALAID_SMTP_PASSWORD",
    "sender": "MUTUALAID_SMTP_FROM",
}


# -- settings ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how notices are sent.

    :param host: the server (``MUTUALAID_SMTP_HOST``, default ``localhost``).
    :param port: its port (``MUTUALAID_SMTP_PORT``; default 25, 587 with STARTTLS, 465 with SSL).
    :param tls: ``none``, ``starttls`` or ``ssl`` (``MUTUALAID_SMTP_TLS``, default ``none``).
    :param user: the login, if the server wants one (``MUTUALAID_SMTP_USER``).
    :param password: its password (``MUTUALAID_SMTP_PASSWORD``; only from the environment on the
        command line).
    :param sender: the ``From`` address, e.g. ``江苏卡友互助 <notices@example.org>``
        (``MUTUALAID_SMTP_FROM``).
    :param timeout: seconds to wait for the server.
    """

    host: str = "localhost"
    port: int | None = None
    tls: str = "none"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
    ) -> SmtpSettings:
        """The settings of the ``MUTUALAID_SMTP_*`` variables, then ``overrides`` (those not ``None``).

        :raises ValidationError: for a port that is not a number or an unknown TLS mode.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, variable in ENVIRONMENT.items():
            value = environ.get(variable)
            if value:
                values[name] = value
        unknown = set(overrides or {}) - set(cls.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown SMTP settings: {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        if "port" in values:
            try:
                values["port"] = int(values["port"])
            except ValueError:
                raise ValidationError(
                    [f"SMTP port {values['port']!r} is not a number (MUTUALAID_SMTP_PORT or --smtp-port)"]
                ) from None
        if "timeout" in values:
            values["timeout"] = float(values["timeout"])
        settings = cls(**values)
        settings.check()
        return settings

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else _DEFAULT_PORTS.get(self.tls, 25)

    @property
    def where(self) -> str:
        """``host:port``, as messages name the server."""
        return f"{self.host}:{self.effective_port}"

    def check(self) -> None:
        problems = []
        if self.tls not in TLS_MODES:
            problems.append(f"SMTP TLS mode {self.tls!r} is not one of {', '.join(TLS_MODES)} (MUTUALAID_SMTP_TLS)")
        if self.port is not None and not 0 < self.port < 65536:
            problems.append(f"SMTP port {self.port} is not a port number (1-65535)")
        if not self.host:
            problems.append("no SMTP server: set MUTUALAID_SMTP_HOST or --smtp-host")
        if problems:
            raise ValidationError(problems)

    def envelope_sender(self) -> str:
        """The sender's bare address (the ``MAIL FROM`` of the envelope).

        :raises ValidationError: when no ``From`` address is set, or it is not an address.
        """
        if not self.sender:
            raise ValidationError(["no sender address: set MUTUALAID_SMTP_FROM or --from, e.g. notices@example.org"])
        address = parseaddr(self.sender)[1]
        if "@" not in address:
            raise ValidationError([f"sender {self.sender!r} is not an email address (MUTUALAID_SMTP_FROM or --from)"])
        return address


# -- messages ---------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _safe(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-")[:40] or "none"


def message_id(pool: PoolRecord, kind: str, reference: str, member_id: int) -> str:
    """The ``Message-ID`` of one notice: the same every time it is sent (so that a receiver can
    drop a duplicate), readable, and unique (a digest of the exact values, which ``_safe`` may
    have shortened)."""
    digest = hashlib.sha256(f"{pool.id}\x1f{kind}\x1f{reference}\x1f{member_id}".encode()).hexdigest()[:12]
    return f"<{_safe(kind)}.{_safe(reference)}.{member_id}.{_safe(pool.key)}.{digest}@mutualaid>"


def subject_of(text: str) -> str:
    """The first line of a text notice that is not blank."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def build_message(notice: RenderedNotice, sender: str, msgid: str) -> EmailMessage:
    """One member's notice as a ``multipart/alternative`` message (text, then HTML), UTF-8."""
    text = notice.parts[NoticeFormat.TEXT]
    msg = EmailMessage()
    msg["Subject"] = subject_of(text)
    msg["From"] = sender
    msg["To"] = notice.email or ""
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = msgid
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, charset="utf-8")
    html = notice.parts.get(NoticeFormat.HTML)
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


# -- pacing -----------------------------------------------------------------------------------------


class Pacer:
    """At most ``rate`` messages a second (``None``: no limit), by sleeping before a message that
    would come too early. ``clock`` and ``sleep`` are injectable for tests."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and not rate > 0:
            raise ValidationError([f"rate {rate} is not a positive number of messages per second"])
        self.interval = 1.0 / rate if rate else 0.0
        self.clock, self.sleep = clock, sleep
        self._next: float | None = None

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        if self._next is not None and now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


# -- the server -------------------------------------------------------------------------------------


def connect(settings: SmtpSettings, handed: int = 0) -> smtplib.SMTP:
    """A connection to the server, secured and logged in as the settings say (``handed``: how
    many messages this send has handed to a server already, for the message).

    :raises MailServerError: naming ``host:port`` when it cannot be reached or refuses.
    """
    outcome = (
        "nothing was sent"
        if not handed
        else f"the send stopped after {handed:,} messages (see the send log); run it again to send the rest"
    )
    host, port, timeout = settings.host, settings.effective_port, settings.timeout
    server: smtplib.SMTP | None = None
    try:
        if settings.tls == "ssl":
            server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(host, port, timeout=timeout)
            if settings.tls == "starttls":
                server.ehlo()
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
        if settings.user:
            server.login(settings.user, settings.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        quietly_close(server)
        raise MailServerError(
            f"the mail server {settings.where} refused the login of {settings.user!r}: {answer(exc)}; "
            f"check MUTUALAID_SMTP_USER and MUTUALAID_SMTP_PASSWORD; {outcome}"
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        quietly_close(server)
        raise MailServerError(
            f"cannot connect to the mail server {settings.where} (TLS: {settings.tls}): {reason(exc)}; "
            "check MUTUALAID_SMTP_HOST, MUTUALAID_SMTP_PORT and MUTUALAID_SMTP_TLS (or --smtp-host, --smtp-port, "
            f"--smtp-tls); {outcome}"
        ) from None
    return server


def quietly_close(server: smtplib.SMTP | None) -> None:
    """Say goodbye to the server (``None``: none), or just close the socket if it does not answer."""
    if server is None:
        return
    try:
        server.quit()
    except (OSError, smtplib.SMTPException):
        server.close()


def answer(exc: smtplib.SMTPResponseException) -> str:
    """The server's answer of ``exc``: its code and text, on one line."""
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {' '.join(text.split())}"


def reason(exc: BaseException) -> str:
    """Why the server or the connection failed, in a few words (the server's answers, if any)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = [
            f"{code} {(text.decode('utf-8', 'replace') if isinstance(text, bytes) else str(text)).strip()}"
            for code, text in exc.recipients.values()
        ]
        return "; ".join(answers) or "recipient refused"
    if isinstance(exc, smtplib.SMTPResponseException):
        return answer(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
