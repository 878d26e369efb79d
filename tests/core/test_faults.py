"""Faults injected for real: the ``mutualaid`` command killed with SIGKILL at random points.

Each operation -- ``member import``, ``share run``, a correction (``share void``), ``payment
import``, ``notice render`` and ``notice send`` -- runs as a real ``mutualaid`` process on SQLite
and on PostgreSQL (when
``MUTUALAID_TEST_POSTGRES_URL`` is set), first once cleanly (which measures it: the pool is sized
so that the work takes a fraction of a second beyond starting the interpreter), then again and
again, each run killed after a seeded random delay (one in each of ``KILLS`` equal slices of the
time between opening the database and the clean run's end). After each kill: the database
opens, ``ledger verify`` passes, and the operation is wholly applied (exactly as the clean run
applied it, to the minor unit) or not at all. Killed runs follow one another on the same
database (each is the rerun of the one before); one that got through is compared with the clean
run and the database set back before the next. At the end a rerun completes the operation and
applies it exactly once; the run's charges sum to what ``share plan`` works out; a rendering's
output directory holds the old set or the complete new one, and no staging is left once the
next rendering has run; nobody is emailed twice, except the one message a kill left in doubt,
sent again with the same Message-ID, and nobody is skipped.

``MUTUALAID_FAULT_SEED`` picks another seed (the default is fixed, so a failure replays) and
``MUTUALAID_FAULT_KILLS`` another number of kills per operation (the harness: ``faults.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import stat
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from faults import KILLS, SEED, Command, Databases, Delays, kill_points

from mutualaid import MutualAid, MutualAidError
from mutualaid.testing import resident_id

pytestmark = pytest.mark.slow

POOL, PERIOD = "js-truckers", "2026-11"
MEMBERS = 3000  # an import, a run and a rendering each take a few tenths of a second
EMAILED = 24  # members with an email address: a send of about half a second
CLAIMS = ((1, "2026-10-20"), (2, "2026-10-21"), (3, "2026-10-22"))
POOL_FILE = """key = "js-truckers"
name = "江苏卡友互助"
cohort = "truckers"
currency = "CNY"
timezone = "Asia/Shanghai"
operator = "江苏卡友之家"
[sharing]
calendar = "monthly"
management_fee_rate = "0.08"
rounding = "round-up"
"""


# -- what the database holds, through the public API --------------------------------------------------


@contextmanager
def _app(url: str) -> Iterator[MutualAid]:
    app = MutualAid(url)
    try:
        yield app
    finally:
        app.close()


def verified(url: str) -> None:
    """The database opens and its ledger verifies."""
    with _app(url) as app:
        assert [p["key"] for p in app.pools()] == [POOL]
        report = app.verify_ledger(POOL)
        assert report.ok, report.problems


def members_of(url: str) -> tuple[Any, ...]:
    with _app(url) as app:
        return tuple(sorted((m.name, str(m.status), m.joined_on, m.waiting_until, m.email) for m in app.members(POOL)))


def sharing_of(url: str) -> tuple[Any, ...]:
    """What a run writes: the period's charges (member, minor units), the claims' statuses and
    the ledger's entries (kind, day, lines)."""
    with _app(url) as app:
        try:
            charges = tuple((p.member_id, p.charge_minor) for p in app.payments(POOL, PERIOD))
        except MutualAidError:  # not shared (or voided)
            charges = ()
        claims = tuple(sorted((c.id, str(c.status)) for c in app.claims(POOL)))
        entries = tuple(
            (str(e.kind), e.posted_on, tuple((str(line.account), line.amount, line.member_id) for line in e.lines))
            for e in app.ledger_entries(POOL)
        )
        return charges, claims, entries


def payments_of(url: str) -> tuple[Any, ...]:
    with _app(url) as app:
        return tuple(
            (p.member_id, p.state, p.paid_on, p.failed_attempts, p.last_attempt) for p in app.payments(POOL, PERIOD)
        )


# -- the world: a pool at each step, built once per backend -------------------------------------------


class World:
    """The states the operations start from: ``pool`` (created), ``members`` (imported, claims
    approved), ``shared`` (period 2026-11 shared); each step's clean run and its duration."""

    def __init__(self, backend: str, root: Path) -> None:
        self.root = root
        (root / "db").mkdir(exist_ok=True)
        self.dbs = Databases(backend, root / "db")
        self.cli = Command({**os.environ, "PYTHONUNBUFFERED": "1"})
        self.pool_file = root / "pool.toml"
        self.pool_file.write_text(POOL_FILE, encoding="utf-8")
        members_csv = root / "members.csv"
        members_csv.write_text(_members_csv(), encoding="utf-8")
        self.import_args = ("member", "import", POOL, str(members_csv))
        self.timings: dict[str, float] = {}
        self.clean: dict[str, Any] = {}

        url = self.dbs.new()
        self.cli.run(url, "pool", "create", str(self.pool_file))
        self.timings["open"] = self.cli.timed(url, "ledger", "verify", POOL)[1]
        self.dbs.save(url, "pool")
        self.clean["pool"] = members_of(url)
        self.timings["import"] = self.cli.timed(url, *self.import_args)[1]
        self.clean["import"] = members_of(url)
        with _app(url) as app:
            for member, day in CLAIMS:
                claim = app.file_claim(
                    POOL, member, event_kind="accidental_death", event_date=day, filed_on="2026-10-25"
                )
                app.approve_claim(claim.id)
        self.dbs.save(url, "members")
        self.clean["members"] = sharing_of(url)
        self.timings["share"] = self.cli.timed(url, *self.share_args)[1]
        self.clean["share"] = sharing_of(url)
        self.dbs.save(url, "shared")

    share_args = ("share", "run", POOL, "--period", PERIOD)


def _members_csv() -> str:
    lines = ["id_number,name,birth_date,joined_on,licence_class,licence_number,licence_expires,driving_proof,email"]
    for n in range(1, MEMBERS + 1):
        born = f"{1975 + n // 1000}-0{1 + n % 9}-1{n % 10}"
        number = resident_id(date.fromisoformat(born), n % 1000)
        email = f"m{n}@example.org" if n <= EMAILED + len(CLAIMS) else ""
        lines.append(f"{number},司机{n},{born},2026-10-01,A2,LIC{n:06d},2031-12-31,ETC-{n:06d},{email}")
    return "\n".join(lines) + "\n"


_worlds: dict[str, World] = {}


@pytest.fixture(scope="module")
def _world_roots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    roots = {b: tmp_path_factory.mktemp(f"faults-{b}") for b in ("sqlite", "postgresql")}
    yield roots
    for world in _worlds.values():
        world.dbs.close()
    _worlds.clear()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def world(request: pytest.FixtureRequest, _world_roots: dict[str, Path]) -> World:
    """Built on first use, inside a test, so that it sees the suite's environment (its today and
    key file)."""
    backend = request.param
    if backend not in _worlds:
        _worlds[backend] = World(backend, _world_roots[backend])
    return _worlds[backend]


def _chain(
    world: World,
    state: str,
    args: tuple[str, ...],
    took: float,
    snapshot: Callable[[str], Any],
    before: Any,
    after: Any,
    cli: Command | None = None,
) -> tuple[str, Counter[str]]:
    """Kill ``args`` at ``KILLS`` random points; after each, the database is whole and the
    operation applied wholly or not at all. Returns the database (not applied) and the tally."""
    rng = random.Random(f"{SEED}-{world.dbs.backend}-{args[:2]}")
    url, cli = world.dbs.clone(state), cli or world.cli
    tally: Counter[str] = Counter()
    delays = Delays(rng, world.timings["open"], took)
    for delay in delays:
        killed, ran = cli.killed(url, args, delay)
        if not killed:
            delays.finished(ran)
        verified(url)
        now = snapshot(url)
        assert now in (before, after), f"a run killed after {delay:.3f}s left a partial state"
        if now == after:  # it got through: set the database back for the next
            tally["applied"] += 1
            url = world.dbs.clone(state)
        else:
            tally["not applied"] += 1
        tally["killed" if killed else "finished"] += 1
    return url, tally


# -- the operations -------------------------------------------------------------------------------------


def test_member_import_killed(world):
    url, tally = _chain(
        world,
        "pool",
        world.import_args,
        world.timings["import"],
        members_of,
        world.clean["pool"],
        world.clean["import"],
    )
    assert tally["killed"] >= KILLS // 2
    world.cli.run(url, *world.import_args)  # the rerun applies it, once
    assert members_of(url) == world.clean["import"]
    again = world.cli.run(url, *world.import_args, ok=False)  # and a second rerun refuses it whole
    assert again.returncode == 1 and again.stderr.startswith("Error: ")
    assert members_of(url) == world.clean["import"]


def test_share_run_killed(world):
    clean = world.clean["share"]
    url, tally = _chain(
        world, "members", World.share_args, world.timings["share"], sharing_of, world.clean["members"], clean
    )
    assert tally["killed"] >= KILLS // 2
    world.cli.run(url, *World.share_args)
    assert sharing_of(url) == clean  # the same charges, to the fen, the same entry, the claims shared
    again = world.cli.run(url, *World.share_args, ok=False)
    assert again.returncode == 1 and "already" in again.stderr
    assert sharing_of(url) == clean
    assert world.cli.run(url, "ledger", "verify", POOL).returncode == 0
    # The charges sum to the plan worked out from the run's inputs alone.
    charges, claims, _ = clean
    plan = json.loads(
        world.cli.run(
            url, "share", "plan", "--pool", str(world.pool_file), "--aid", str(300_000 * len(CLAIMS)),
            "--members", str(len(charges)), "--claims", str(len(CLAIMS)), "--json",
        ).stdout
    )  # fmt: skip
    assert sum(minor for _, minor in charges) == int(Decimal(plan["charged"]) * 100)
    assert {minor for _, minor in charges} == {int(Decimal(plan["share"]) * 100)}
    assert [status for _, status in claims] == ["shared"] * len(CLAIMS)


def test_share_void_killed(world):
    """A correction killed: voiding the run (before its deduction day, 2026-11-14)."""
    cli = world.cli.on("2026-11-10")
    args = ("share", "void", POOL, "--period", PERIOD, "--reason", "claims filed in error")
    measured = world.dbs.clone("shared")
    took = cli.timed(measured, *args)[1]
    voided = sharing_of(measured)
    charges, claims, entries = voided
    assert [status for _, status in claims] == ["approved"] * len(CLAIMS)
    assert [kind for kind, _, _ in entries] == ["sharing", "void"]
    assert sorted(line[:2] for line in entries[1][2]) == sorted((a, -amount) for a, amount, _ in entries[0][2])
    url, tally = _chain(world, "shared", args, took, sharing_of, world.clean["share"], voided, cli)
    assert tally["killed"] >= KILLS // 2
    cli.run(url, *args)
    assert sharing_of(url) == voided  # voided once: one reversing entry
    again = cli.run(url, *args, ok=False)
    assert again.returncode == 1 and again.stderr.startswith("Error: ")
    assert sharing_of(url) == voided
    # The period is shareable again, and the new run charges what the voided one did.
    cli.run(url, *World.share_args)
    charges, claims, entries = sharing_of(url)
    assert charges == world.clean["share"][0]
    assert [kind for kind, _, _ in entries] == ["sharing", "void", "sharing"]
    assert cli.run(url, "ledger", "verify", POOL).returncode == 0


def _payments_csv(world: World) -> Path:
    path = world.root / "payments.csv"
    if not path.exists():
        charges = world.clean["share"][0]
        rows = ["member_id,period,result,date"]
        rows += [f"{m},{PERIOD},{'failed' if m % 7 == 0 else 'paid'},2026-11-14" for m, _ in charges]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_payment_import_killed(world):
    args = ("payment", "import", POOL, str(_payments_csv(world)))
    measured = world.dbs.clone("shared")
    before = payments_of(measured)
    took = world.cli.timed(measured, *args)[1]
    after = payments_of(measured)
    assert before != after and {p[1] for p in after} == {"paid", "unpaid"}
    url, tally = _chain(world, "shared", args, took, payments_of, before, after)
    assert tally["killed"] >= KILLS // 2
    world.cli.run(url, *args)
    assert payments_of(url) == after
    again = world.cli.run(url, *args, ok=False)
    assert again.returncode == 1 and "already imported" in again.stderr
    assert payments_of(url) == after
    assert sharing_of(url)[0] == world.clean["share"][0]


def _listing(directory: Path) -> dict[str, str] | None:
    """Each file's name and digest, or ``None`` if the directory is missing."""
    if not directory.exists():
        return None
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def _leftovers(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if ".rendering-" in p.name)


def test_notice_render_killed(world, tmp_path):
    url = world.dbs.clone("shared")
    render = ("notice", "render", POOL, "--kind", "statement", "--period", PERIOD, "--locale", "zh-CN")
    # The old set: the statements in one stream file; the new: one file per member, rendered by
    # two processes (their parts joined) or streamed again. One process renders the same files.
    variants = {"two jobs": ("--jobs", "2"), "stream": ("--layout", "stream")}
    out = tmp_path / "out"
    sets, took = {}, {}
    for name, options, where in (("stream", variants["stream"], out), ("two jobs", (), tmp_path / "one")):
        took[name] = world.cli.timed(url, *render, *options, "--out", str(where))[1]
        sets[name] = _listing(where)
    old = sets["stream"]
    assert list(old or ()) == [f"statements-{PERIOD}.zh-CN.txt"]
    assert len(sets["two jobs"] or ()) == MEMBERS - len(CLAIMS)

    rng = random.Random(f"{SEED}-{world.dbs.backend}-render")
    points = {name: kill_points(rng, world.timings["open"], took[name]) for name in variants}
    current, tally = old, Counter()
    for round_, name in [(r, name) for r in range(2) for name in variants]:  # early, then late
        delay = points[name][round_ * KILLS // 2 + rng.randrange(KILLS // 2)]
        killed, _ = world.cli.killed(url, (*render, *variants[name], "--out", str(out)), delay)
        tally["killed" if killed else "finished"] += 1
        now = _listing(out)
        assert now in (current, sets[name]), f"a {name} rendering killed after {delay:.3f}s left a mix"
        tally["new set" if now != current else "as before"] += 1
        current = now
        for leftover in _leftovers(tmp_path):  # a killed rendering's staging: its owner's only
            assert stat.S_IMODE(leftover.stat().st_mode) == 0o700, leftover
    assert tally["killed"] >= len(variants)
    world.cli.run(url, *render, *variants["two jobs"], "--out", str(out))
    assert _listing(out) == sets["two jobs"]  # byte for byte what one process renders
    assert _leftovers(tmp_path) == []  # every staging left by a kill is gone after the next rendering
    verified(url)


# -- sending, to a real SMTP server -----------------------------------------------------------------------


class _Sink:
    def __init__(self, delay: float) -> None:
        self.delay, self.messages = delay, []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        await asyncio.sleep(self.delay)
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[_Sink, int]]:
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    sink = _Sink(delay=0.01)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def test_notice_send_killed(world, smtp):
    sink, port = smtp
    url = world.dbs.clone("shared")
    send = (
        "notice", "send", POOL, "--kind", "statement", "--period", PERIOD, "--locale", "en",
        "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--from", "江苏卡友互助 <notices@example.org>",
    )  # fmt: skip
    expected = sorted(f"m{n}@example.org" for n in range(len(CLAIMS) + 1, len(CLAIMS) + EMAILED + 1))
    measured = world.dbs.clone("shared")
    took = world.cli.timed(measured, *send)[1]
    assert sorted(str(m["To"]) for m in sink.messages) == expected
    sink.messages.clear()

    rng = random.Random(f"{SEED}-{world.dbs.backend}-send")
    kills = 0
    delays = Delays(rng, world.timings["open"], took)
    for delay in delays:
        killed, ran = world.cli.killed(url, send, delay)
        if not killed:
            delays.finished(ran)
        kills += killed
        verified(url)
        received = Counter(str(m["To"]) for m in sink.messages)
        assert sum(received.values()) - len(received) <= kills  # a resend only for a kill's message in doubt
    assert kills >= KILLS // 2
    final = world.cli.run(url, *send).stdout
    assert final.startswith("sent ")
    by_address: dict[str, set[str]] = {}
    for message in sink.messages:
        by_address.setdefault(str(message["To"]), set()).add(str(message["Message-ID"]))
    assert sorted(by_address) == expected  # nobody skipped
    assert all(len(ids) == 1 for ids in by_address.values())  # a message sent again keeps its Message-ID
    duplicates = len(sink.messages) - len(by_address)
    assert duplicates <= kills
    count = len(sink.messages)
    again = world.cli.run(url, *send).stdout  # exactly once: a rerun sends nothing
    assert len(sink.messages) == count
    assert again.startswith(f"sent 0 statement notices to 0 members ({EMAILED} already sent"), again
    assert sharing_of(url) == world.clean["share"]
