"""Sending notices by email (``notice send``) through a real SMTP server on localhost (aiosmtpd).

The pool is the one of test_notices.py: eight drivers, member 1 dies and member 2 is disabled in
October, and period 2026-11 charges the seven survivors (members 2-8) 50,914.29 CNY each. Members
2-6 have an email address, 7 and 8 have none. Statements are sent in English (the HTML template).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from mutualaid import MailServerError, MutualAid
from mutualaid.cli import State, cli
from mutualaid.notices.mail import Pacer, SmtpSettings, message_id
from mutualaid.notices.sending import send_notices
from mutualaid.pools import get_pool

POOL = "js-truckers"
SENDER = "江苏卡友互助 <notices@example.org>"
WITH_EMAIL = (2, 3, 4, 5, 6)
SUBJECT = "江苏卡友互助 - sharing statement, period 2026-11"
SHARE = "50,914.29"


def address(member: int) -> str:
    return f"m{member}@example.org"


# -- the SMTP server --------------------------------------------------------------------------------


class Sink:
    """An SMTP handler that keeps every message it accepts; refuses the addresses in ``refuse``
    (``550``) and waits ``delay`` seconds before accepting each message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.delay = 0.0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self) -> list[str]:
        return [str(m["To"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp(monkeypatch):
    """A running SMTP server on a free port: ``(sink, port)``; no MUTUALAID_SMTP_* variable is set."""
    for name in ("HOST", "PORT", "TLS", "USER", "PASSWORD", "FROM"):
        monkeypatch.delenv(f"MUTUALAID_SMTP_{name}", raising=False)
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield sink, controller.port
    finally:
        controller.stop()


def settings(port: int) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "sender": SENDER}


# -- the pool ---------------------------------------------------------------------------------------


def _claim(app, member: int, kind: str, day: str, *, grade: int | None = None) -> None:
    details = {"disability_grade": str(grade)} if grade else {}
    claim = app.file_claim(POOL, member, event_kind=kind, event_date=day, details=details, filed_on=day[:-2] + "25")
    app.approve_claim(claim.id)


def set_emails(app: MutualAid, members: Any) -> None:
    with app.transaction() as session:
        for member in members:
            session.execute(text("UPDATE members SET email = :e WHERE id = :m"), {"e": address(member), "m": member})


def deliveries(app: MutualAid) -> dict[int, dict[str, Any]]:
    with app.transaction() as session:
        rows = session.execute(
            text(
                "SELECT member_id, kind, reference, address, status, attempts, message_id, last_error "
                "FROM notice_deliveries ORDER BY member_id"
            )
        ).mappings()
        return {row["member_id"]: dict(row) for row in rows}


@pytest.fixture
def pool(app, truckers_pool, make_driver):
    """The pool with period 2026-11 shared and members 2-6 given an email address; returns the app."""
    app.create_pool(truckers_pool(operator="江苏卡友之家"))
    for n in range(1, 9):
        app.join(POOL, **make_driver(n))
    _claim(app, 1, "accidental_death", "2026-10-20")
    _claim(app, 2, "accidental_disability", "2026-10-20", grade=10)
    assert app.share(POOL, "2026-11").share_minor == 5_091_429
    set_emails(app, WITH_EMAIL)
    return app


def send(app: MutualAid, port: int, **kwargs: Any):
    kwargs.setdefault("smtp", settings(port))
    return app.send_notices(POOL, "statement", period="2026-11", locale="en", **kwargs)


def _part(message: EmailMessage, subtype: str) -> str:
    """The decoded text of the message's ``text/<subtype>`` part (its lines end in CRLF on the wire)."""
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None and part.get_content_type() == f"text/{subtype}"
    assert part.get_content_charset() == "utf-8"
    return str(part.get_content()).replace("\r\n", "\n")


# -- sending ----------------------------------------------------------------------------------------


def test_statements_are_sent_as_text_and_html(pool, smtp):
    sink, port = smtp
    result = send(pool, port)
    assert (result.sent, result.members, result.no_address, result.failed) == (5, 5, 2, 0)
    assert (result.skipped_already_sent, result.in_doubt_resent, result.retried) == (0, 0, 0)
    assert sorted(sink.to()) == sorted(address(m) for m in WITH_EMAIL)
    logged = deliveries(pool)
    assert sorted(logged) == list(WITH_EMAIL)
    for message in sink.messages:
        member = int(re.fullmatch(r"m(\d+)@example.org", str(message["To"])).group(1))
        assert message["Subject"] == SUBJECT
        assert message["From"] == SENDER
        assert message.get_content_type() == "multipart/alternative"
        plain, html = _part(message, "plain"), _part(message, "html")
        assert plain.startswith(SUBJECT + "\n")
        assert f"Your share this period: {SHARE} CNY\n" in plain
        assert f"(member #{member})" in plain
        assert html.lstrip().lower().startswith("<!doctype html")
        assert f"{SHARE} CNY" in html
        assert message["Message-ID"] == logged[member]["message_id"]
        assert re.fullmatch(r"<statement\.2026-11\.\d+\.js-truckers\.[0-9a-f]{12}@mutualaid>", message["Message-ID"])
        assert logged[member] | {"message_id": None} == {
            "member_id": member,
            "kind": "statement",
            "reference": "2026-11",
            "address": address(member),
            "status": "sent",
            "attempts": 1,
            "message_id": None,
            "last_error": None,
        }
    assert len({m["Message-ID"] for m in sink.messages}) == 5


def test_each_member_gets_the_notice_in_their_own_language(pool, smtp):
    sink, port = smtp
    with pool.transaction() as session:
        session.execute(text("UPDATE members SET locale = 'en' WHERE id = 3"))
    result = pool.send_notices(POOL, "statement", period="2026-11", smtp=settings(port))
    assert result.sent == 5
    subjects = {str(m["To"]): str(m["Subject"]) for m in sink.messages}
    assert subjects.pop(address(3)) == SUBJECT
    assert set(subjects.values()) == {"江苏卡友互助 · 分摊通知（2026-11 期）"}
    chinese = next(m for m in sink.messages if m["To"] == address(2))
    assert f"本期您的分摊金额：{SHARE} CNY" in _part(chinese, "plain")
    assert SHARE in _part(chinese, "html")


def test_a_rerun_sends_nothing_new_and_needs_no_server(pool, smtp):
    sink, port = smtp
    send(pool, port)
    again = send(pool, port)
    assert (again.sent, again.skipped_already_sent, again.no_address) == (0, 5, 2)
    assert len(sink.messages) == 5
    # nothing left to send: the server is not even contacted
    nowhere = send(pool, free_port())
    assert (nowhere.sent, nowhere.skipped_already_sent) == (0, 5)


def test_a_member_given_an_address_later_gets_the_notice_on_the_next_send(pool, smtp):
    sink, port = smtp
    send(pool, port)
    set_emails(pool, [7])
    result = send(pool, port)
    assert (result.sent, result.skipped_already_sent, result.no_address) == (1, 5, 1)
    assert sink.to()[-1] == address(7)


def test_a_refused_recipient_is_recorded_failed_and_only_it_is_retried(pool, smtp):
    sink, port = smtp
    sink.refuse = {address(4)}
    result = send(pool, port)
    assert (result.sent, result.failed, result.members) == (4, 1, 4)
    assert [(f.member_id, f.address) for f in result.failures] == [(4, address(4))]
    assert result.failures[0].error.startswith("550 5.1.1")
    row = deliveries(pool)[4]
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "mailbox unavailable" in row["last_error"]
    assert address(4) not in sink.to()

    sink.refuse = set()
    retry = send(pool, port)
    assert (retry.sent, retry.retried, retry.failed, retry.skipped_already_sent) == (1, 1, 0, 4)
    assert sink.to()[4:] == [address(4)]
    row = deliveries(pool)[4]
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert "mailbox unavailable" in row["last_error"]  # the last error is kept
    assert sink.messages[-1]["Message-ID"] == row["message_id"]


def test_a_notice_left_in_doubt_is_sent_again_with_the_same_message_id(pool, smtp):
    sink, port = smtp
    send(pool, port)
    with pool.transaction() as session:  # as a send killed between handing it over and marking it sent
        session.execute(text("UPDATE notice_deliveries SET status = 'sending' WHERE member_id = 3"))
    result = send(pool, port)
    assert (result.sent, result.in_doubt_resent, result.skipped_already_sent) == (1, 1, 4)
    ids = [m["Message-ID"] for m in sink.messages if m["To"] == address(3)]
    assert len(ids) == 2 and ids[0] == ids[1] == deliveries(pool)[3]["message_id"]
    assert deliveries(pool)[3]["attempts"] == 2


def test_a_dry_run_renders_but_sends_and_records_nothing(pool, smtp):
    sink, port = smtp
    result = send(pool, free_port(), dry_run=True)  # no server there: it is not contacted
    assert (result.dry_run, result.sent, result.would_send, result.no_address) == (True, 0, 5, 2)
    assert [(p.member_id, p.address, p.subject, p.status) for p in result.planned] == [
        (m, address(m), SUBJECT, "new") for m in WITH_EMAIL
    ]
    assert deliveries(pool) == {}
    assert sink.messages == []
    # after a send with a refusal, a dry run shows what is left to send
    sink.refuse = {address(5)}
    send(pool, port)
    after = send(pool, port, dry_run=True)
    assert [(p.member_id, p.status) for p in after.planned] == [(5, "retry")]
    assert after.skipped_already_sent == 4


def test_an_unreachable_server_is_one_error_and_nothing_is_marked(pool, smtp):
    port = free_port()
    with pytest.raises(MailServerError) as caught:
        send(pool, port)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert len(caught.value.lines) == 1 and "\n" not in str(caught.value)
    assert "nothing was sent" in str(caught.value)
    assert deliveries(pool) == {}


def test_the_rate_limit_paces_messages_by_an_injectable_clock(pool, smtp):
    sink, port = smtp
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    result = send_notices(
        pool.transaction,
        pool.plugins,
        POOL,
        "statement",
        settings=SmtpSettings.from_env({}, settings(port)),
        period="2026-11",
        locale="en",
        rate=50,
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert result.sent == 5
    assert sleeps == pytest.approx([0.02] * 4)  # none before the first message


def test_pacer():
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    pacer = Pacer(4, clock=lambda: now[0], sleep=sleep)
    pacer.wait()
    pacer.wait()
    now[0] += 1.0  # slow: no sleep, and no burst to catch up
    pacer.wait()
    pacer.wait()
    assert sleeps == [0.25, 0.25]
    unlimited = Pacer(None, clock=lambda: 0.0, sleep=sleep)
    for _ in range(3):
        unlimited.wait()
    assert len(sleeps) == 2
    with pytest.raises(Exception, match="not a positive number"):
        Pacer(0)


def test_batches_send_every_notice(pool, smtp):
    sink, port = smtp
    result = send_notices(
        pool.transaction,
        pool.plugins,
        POOL,
        "statement",
        settings=SmtpSettings.from_env({}, settings(port)),
        period="2026-11",
        locale="en",
        batch_size=2,
    )
    assert (result.sent, result.members) == (5, 5)
    assert sink.to() == [address(m) for m in WITH_EMAIL]


def test_only_the_members_asked_for(pool, smtp):
    sink, port = smtp
    result = send(pool, port, members=[3, 7])
    assert (result.sent, result.no_address) == (1, 1)
    assert sink.to() == [address(3)]


# -- settings and Message-IDs -----------------------------------------------------------------------


def test_settings_from_the_environment_and_overrides():
    environ = {
        "MUTUALAID_SMTP_HOST": "mail.example.org",
        "MUTUALAID_SMTP_PORT": "2525",
        "MUTUALAID_SMTP_TLS": "starttls",
        "MUTUALAID_SMTP_USER": "notices",
        "MUTUALAID_SMTP_PASSWORD": "secret",
        "MUTUALAID_SMTP_FROM": "notices@example.org",
    }
    found = SmtpSettings.from_env(environ)
    assert (found.host, found.port, found.tls, found.user, found.password, found.sender) == (
        "mail.example.org",
        2525,
        "starttls",
        "notices",
        "secret",
        "notices@example.org",
    )
    assert "secret" not in repr(found)
    changed = SmtpSettings.from_env(environ, {"host": "other", "port": None, "tls": "ssl"})
    assert (changed.host, changed.port, changed.tls, changed.where) == ("other", 2525, "ssl", "other:2525")
    assert SmtpSettings.from_env({}).where == "localhost:25"
    assert SmtpSettings.from_env({"MUTUALAID_SMTP_TLS": "ssl"}).where == "localhost:465"
    with pytest.raises(Exception, match="not a number"):
        SmtpSettings.from_env({"MUTUALAID_SMTP_PORT": "smtp"})
    with pytest.raises(Exception, match="TLS mode 'tls'"):
        SmtpSettings.from_env({"MUTUALAID_SMTP_TLS": "tls"})
    with pytest.raises(Exception, match="MUTUALAID_SMTP_FROM"):
        SmtpSettings.from_env({}).envelope_sender()
    assert SmtpSettings(sender=SENDER).envelope_sender() == "notices@example.org"


def test_message_ids_are_deterministic_and_safe(pool):
    with pool.transaction() as session:
        record = get_pool(session, pool.plugins, POOL)
    first = message_id(record, "statement", "2026-11", 3)
    assert first == message_id(record, "statement", "2026-11", 3)
    assert first != message_id(record, "statement", "2026-11", 4)
    odd = message_id(record, "welcome", "", 3)
    weird = message_id(record, "x y", "a<b>@c", 3)
    for value in (first, odd, weird):
        assert re.fullmatch(r"<[A-Za-z0-9_.-]+@mutualaid>", value), value
        assert ".." not in value


# -- the command line -------------------------------------------------------------------------------


def _invoke(runner, plugins, db_url, *args):
    return runner.invoke(cli, ["--database-url", db_url, *args], obj=State(plugins=plugins), prog_name="mutualaid")


SEND = ("notice", "send", POOL, "--kind", "statement", "--period", "2026-11", "--locale", "en")


def test_cli_send_and_rerun(pool, smtp, runner, plugins, db_url, monkeypatch):
    sink, port = smtp
    monkeypatch.setenv("MUTUALAID_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MUTUALAID_SMTP_PORT", str(port))
    monkeypatch.setenv("MUTUALAID_SMTP_FROM", SENDER)
    result = _invoke(runner, plugins, db_url, *SEND)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "sent 5 statement notices to 5 members (0 already sent, 2 without an email address, 0 failed)\n"
    )
    again = _invoke(runner, plugins, db_url, *SEND)
    assert (
        again.output == "sent 0 statement notices to 0 members (5 already sent, 2 without an email address, 0 failed)\n"
    )
    assert len(sink.messages) == 5


def test_cli_options_json_and_failures(pool, smtp, runner, plugins, db_url):
    sink, port = smtp
    sink.refuse = {address(6)}
    options = ("--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--smtp-tls", "none", "--from", SENDER)
    result = _invoke(runner, plugins, db_url, *SEND, *options, "--rate", "1000", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {k: data[k] for k in ("kind", "sent", "members", "no_address", "failed", "dry_run")} == {
        "kind": "statement",
        "sent": 4,
        "members": 4,
        "no_address": 2,
        "failed": 1,
        "dry_run": False,
    }
    assert data["failures"][0]["member_id"] == 6 and data["failures"][0]["error"].startswith("550")
    sink.refuse = set()
    retry = _invoke(runner, plugins, db_url, *SEND, *options)
    assert (
        retry.stdout == "sent 1 statement notice to 1 member (4 already sent, 2 without an email address, 0 failed)\n"
    )


def test_cli_reports_a_refusal_on_stderr(pool, smtp, runner, plugins, db_url):
    sink, port = smtp
    sink.refuse = {address(2)}
    result = _invoke(
        runner, plugins, db_url, *SEND, "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--from", SENDER
    )
    assert result.exit_code == 0
    assert (
        "sent 4 statement notices to 4 members (0 already sent, 2 without an email address, 1 failed)" in result.stdout
    )
    assert f"failed: member 2 <{address(2)}>: 550 5.1.1" in result.stderr


def test_cli_dry_run(pool, smtp, runner, plugins, db_url):
    sink, _ = smtp
    result = _invoke(runner, plugins, db_url, *SEND, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:5] == [f"member {m}  {address(m)}  {SUBJECT}" for m in WITH_EMAIL]
    assert lines[5] == (
        "would send 5 statement notices to 5 members (0 already sent, 2 without an email address); dry run: nothing sent"
    )
    assert sink.messages == [] and deliveries(pool) == {}


def test_cli_unreachable_server_and_missing_sender(pool, smtp, runner, plugins, db_url):
    port = free_port()
    result = _invoke(
        runner, plugins, db_url, *SEND, "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--from", SENDER
    )
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot connect to the mail server 127.0.0.1:{port} (TLS: none): ")
    assert result.output.count("\n") == 1
    assert deliveries(pool) == {}
    missing = _invoke(runner, plugins, db_url, *SEND, "--smtp-host", "127.0.0.1")
    assert missing.exit_code == 1
    assert missing.output == ("Error: no sender address: set MUTUALAID_SMTP_FROM or --from, e.g. notices@example.org\n")


def test_cli_has_no_password_option(runner, plugins):
    result = runner.invoke(cli, ["notice", "send", "--help"], obj=State(plugins=plugins))
    assert result.exit_code == 0
    assert (
        "--smtp-user" in result.output and "--password" not in result.output and "--smtp-password" not in result.output
    )


# -- a send killed with SIGKILL, then run again -----------------------------------------------------

MEMBERS = 300


def test_a_killed_send_resumes_and_each_member_gets_one_message_id(
    sqlite_url, plugins, truckers_pool, make_driver, smtp, tmp_path
):
    sink, port = smtp
    columns = ("licence_class", "licence_number", "licence_expires", "driving_proof")
    lines = ["id_number,name,birth_date," + ",".join(columns)]
    for n in range(1, MEMBERS + 1):
        given = make_driver(n)
        cells = [given["id_number"], given["name"], str(given["birth_date"])]
        lines.append(",".join(cells + [given["attributes"][c] for c in columns]))
    members_csv = tmp_path / "members.csv"
    members_csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    app = MutualAid(sqlite_url, plugins=plugins)
    try:
        app.create_pool(truckers_pool())
        assert app.import_members(POOL, members_csv, joined_on="2026-10-01").imported == MEMBERS
        _claim(app, 1, "accidental_death", "2026-10-20")
        app.share(POOL, "2026-11")
        set_emails(app, range(1, MEMBERS + 1))
    finally:
        app.close()
    charged = [address(m) for m in range(2, MEMBERS + 1)]  # member 1 died: not charged

    sink.delay = 0.005
    env = {
        **os.environ,
        "MUTUALAID_SMTP_HOST": "127.0.0.1",
        "MUTUALAID_SMTP_PORT": str(port),
        "MUTUALAID_SMTP_FROM": SENDER,
    }
    command = [sys.executable, "-m", "mutualaid.cli", "--database-url", sqlite_url, *SEND]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(sink.messages) < 60:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the send did not get going"
            time.sleep(0.002)
        first.send_signal(signal.SIGKILL)
    finally:
        first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL
    received_before = len(sink.messages)
    assert 60 <= received_before < len(charged)

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    match = re.match(
        r"sent (\d+) statement notices to (\d+) members \((\d+) already sent, 0 without an email address, 0 failed\)",
        second.stdout,
    )
    assert match, second.stdout
    sent, _, already = map(int, match.groups())
    assert sent + already == len(charged)

    by_address: dict[str, set[str]] = {}
    for message in sink.messages:
        by_address.setdefault(str(message["To"]), set()).add(str(message["Message-ID"]))
    assert sorted(by_address) == sorted(charged)  # nobody skipped
    assert all(len(ids) == 1 for ids in by_address.values())  # one Message-ID each
    duplicates = sum(n - 1 for n in Counter(str(m["To"]) for m in sink.messages).values())
    assert duplicates <= 1  # only a message in doubt at the kill is sent again
    if duplicates:
        assert "sent again with the same Message-ID" in second.stdout

    app = MutualAid(sqlite_url, plugins=plugins)
    try:
        rows = deliveries(app)
    finally:
        app.close()
    assert len(rows) == len(charged) and {row["status"] for row in rows.values()} == {"sent"}
    assert Path(sqlite_url.removeprefix("sqlite:///")).exists()
