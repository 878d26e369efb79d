"""Tampering with the database behind the ledger's back, each edit caught by ``ledger verify``.

One scenario is built once per database (SQLite, and PostgreSQL when configured) and copied for
every test: a postpaid pool of 1,000 drivers (so that members #3 and #1000 have numbers equal
modulo 997, which fooled the old checksum), shared twice with exact apportionment (charges of
32,432 and 32,433 fen), a file of payments, two benefits paid out in part, a statement and a public
notice rendered on the way (the heads they carry are the anchors); and a prepaid pool with a
top-up and a file of top-ups. Each test makes one edit with plain SQL through a raw connection --
dropping the ledger's append-only triggers first where it must, as the database's owner could --
and asserts the exact problems ``ledger verify`` names.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from support import drop_ledger_guards, restore_ledger_guards

from mutualaid import MutualAid
from mutualaid.db import make_engine, scratch_database, upgrade
from mutualaid.db.models import Charge, LedgerEntry, Pool
from mutualaid.ledger import entry_hash
from mutualaid.ledger.posting import entry_lines
from mutualaid.testing import resident_id

POOL = "js-truckers"
PREPAID = "js-prepaid"
MEMBERS = 1000
#: What ledger verify notes of the members' identities it checked (the members domain seals them).
IDENTITIES = "1,000 of 1,000 members' identities match their seals"
HEAD_LINE = re.compile(r"Ledger head at this (?:statement|notice): (\d+):([0-9a-f]{64})")


def _driver_row(n: int) -> str:
    born = date(1970 + n // 500, 1, 1)
    return f"{resident_id(born, n % 500)},司机{n},{born.isoformat()},A2,LIC{n:06d},2031-12-31,ETC-{n:06d}"


@dataclass(frozen=True)
class Scenario:
    """The built scenario: where its database is, and what the tests need to know of it."""

    url: str  # a SQLite file to copy, or a PostgreSQL database to use as a template
    statement_head: tuple[int, str]  # the head a member's statement of 2026-12 carries
    notice_head: tuple[int, str]  # the head the public notice of 2026-12 carries (the last entry)
    nov: int
    dec: int
    batch: int


def _build(app: MutualAid, tmp: Path) -> Scenario:
    app.create_pool(
        {
            "key": POOL,
            "name": "江苏卡友互助",
            "cohort": "truckers",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "operator": "江苏卡友之家",
            "sharing": {"calendar": "monthly", "management_fee_rate": "0.08", "rounding": "exact"},
            "settings": {},
        }
    )
    members = tmp / "members.csv"
    members.write_text(
        "id_number,name,birth_date,licence_class,licence_number,licence_expires,driving_proof\n"
        + "\n".join(_driver_row(n) for n in range(1, MEMBERS + 1))
        + "\n",
        encoding="utf-8",
    )
    assert app.import_members(POOL, members, joined_on="2026-10-01").imported == MEMBERS

    def death(member: int, day: str, filed: str) -> None:
        claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=day, filed_on=filed)
        app.approve_claim(claim.id)

    death(1, "2026-10-20", "2026-10-25")
    nov = app.share(POOL, "2026-11")  # entry 1: #2-#1000 share 324,000.00, 32,432 or 32,433 fen each
    payments = tmp / "november.csv"
    payments.write_text(
        "member_id,period,result,date\n"
        + "".join(f"{m},2026-11,paid,2026-11-14\n" for m in range(2, 7))
        + "7,2026-11,failed,2026-11-14\n",
        encoding="utf-8",
    )
    batch = app.import_payments(POOL, payments).batch_id  # entry 2
    death(2, "2026-11-20", "2026-11-25")
    dec = app.share(POOL, "2026-12")  # entry 3: November settled (#7 lapses), entry 4: the run
    app.adjust(POOL, debit={"aid_payable": "1000"}, credit={"cash": "1000"}, memo="claim #1, part", on="2026-12-08")
    app.render_statements(POOL, "2026-12", tmp / "statements", locale="en")
    statement = (tmp / "statements" / "statement-2026-12-5.txt").read_text(encoding="utf-8")
    seq, head = HEAD_LINE.search(statement).groups()  # type: ignore[union-attr]
    app.adjust(POOL, debit={"aid_payable": "500"}, credit={"cash": "500"}, memo="claim #2, part", on="2026-12-09")
    app.render_notices(POOL, "public-notice", tmp / "notices", period="2026-12", locale="en")
    (notice_file,) = (tmp / "notices").glob("public-notice-2026-12*.txt")
    notice_seq, notice_head = HEAD_LINE.search(notice_file.read_text(encoding="utf-8")).groups()  # type: ignore[union-attr]

    app.create_pool(
        {
            "key": PREPAID,
            "name": "预付互助",
            "cohort": "truckers",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "sharing": {"calendar": "monthly", "management_fee_rate": "0.08"},
            "payments": {"model": "prepaid", "low_balance": "100"},
            "settings": {},
        }
    )
    prepaid = []
    for n in (2001, 2002, 2003):
        born = date(1985, 1, 1)
        prepaid.append(
            app.join(
                PREPAID,
                id_number=resident_id(born, n % 500),
                name=f"预付{n}",
                birth_date=born,
                joined_on="2026-10-01",
                attributes={
                    "licence_class": "A2",
                    "licence_number": f"LIC{n:06d}",
                    "licence_expires": "2031-12-31",
                    "driving_proof": f"ETC-{n:06d}",
                },
            ).id
        )
    app.top_up(PREPAID, prepaid[0], "500", "2026-10-05", "T-1")  # entry 1 of the prepaid pool
    top_ups = tmp / "top-ups.csv"
    top_ups.write_text(
        f"member_id,amount,date,reference\n{prepaid[1]},300.00,2026-10-06,T-2\n{prepaid[2]},200.00,2026-10-07,T-3\n",
        encoding="utf-8",
    )
    app.import_top_ups(PREPAID, top_ups)  # entry 2
    for pool in (POOL, PREPAID):
        report = app.verify_ledger(pool, full=True)
        assert report.ok, report.problems
    return Scenario(
        url="",
        statement_head=(int(seq), head),
        notice_head=(int(notice_seq), notice_head),
        nov=nov.run_id,
        dec=dec.run_id,
        batch=batch,
    )


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, plugins: Any
) -> Iterator[Scenario]:
    """The scenario, built once per database (the suite's "today" and key file set for the build)."""
    import os

    tmp = tmp_path_factory.mktemp(f"tamper-{request.param}")
    env = {"MUTUALAID_TODAY": "2027-12-31"}
    try:
        env["MUTUALAID_KEY_FILE"] = str(request.getfixturevalue("_identity_key"))
    except pytest.FixtureLookupError:
        pass
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        if request.param == "sqlite":
            path = tmp / "scenario.db"
            shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
            app = MutualAid(f"sqlite:///{path}", plugins=plugins)
            try:
                built = _build(app, tmp)
            finally:
                app.close()
            yield Scenario(**{**built.__dict__, "url": str(path)})
            return
        base = os.environ.get("MUTUALAID_TEST_POSTGRES_URL")
        if not base:
            pytest.skip("MUTUALAID_TEST_POSTGRES_URL is not set")
        with scratch_database(base, prefix="mutualaid_tamper") as url:
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            app = MutualAid(url, plugins=plugins)
            try:
                built = _build(app, tmp)
            finally:
                app.close()
            yield Scenario(**{**built.__dict__, "url": url})


@pytest.fixture
def world(scenario: Scenario, tmp_path: Path, plugins: Any) -> Iterator[MutualAid]:
    """A copy of the scenario's database for one test."""
    if not scenario.url.startswith("postgresql"):
        path = tmp_path / "tampered.db"
        shutil.copyfile(scenario.url, path)
        app = MutualAid(f"sqlite:///{path}", plugins=plugins)
        yield app
        app.close()
        return
    admin = make_engine(scenario.url, isolation_level="AUTOCOMMIT")
    template = admin.url.database
    name = f"{template}_{tmp_path.name[-20:]}".replace("-", "_").lower()[:60]
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    app = MutualAid(admin.url.set(database=name).render_as_string(hide_password=False), plugins=plugins)
    try:
        yield app
    finally:
        app.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _sql(app: MutualAid, *statements: str) -> None:
    """Edit the database as its owner could: the ledger's triggers dropped, then put back."""
    with app.engine.begin() as conn:
        drop_ledger_guards(conn)
        for statement in statements:
            conn.execute(text(statement))
        restore_ledger_guards(conn)


def _problems(app: MutualAid, pool: str = POOL, **anchors: Any) -> list[str]:
    report = app.verify_ledger(pool, full=True, **anchors)
    assert not report.ok
    return [str(p) for p in report.problems]


def _charge(app: MutualAid, run_id: int, member: int) -> int:
    with app.transaction() as s:
        return int(s.scalar(select(Charge.amount_minor).where(Charge.run_id == run_id, Charge.member_id == member)))


def _entry(seq: int, pool: str = POOL) -> str:
    return (
        f"(SELECT e.id FROM ledger_entries e JOIN pools p ON p.id = e.pool_id WHERE p.key = '{pool}' AND e.seq = {seq})"
    )


ALTERED = "the charges of run #{run} (period {period}) were altered: the entry recorded {rows} rows totalling {total}"
SHIFTED = (
    ", and the database has as many totalling as much, but their SHA-256 digest differs: a charge was moved to "
    "another member or amounts were shifted between members"
)


def _run_figures(app: MutualAid, run_id: int) -> tuple[int, int]:
    with app.transaction() as s:
        rows = s.execute(select(Charge.amount_minor).where(Charge.run_id == run_id)).scalars().all()
    return len(rows), sum(int(r) for r in rows)


# -- charges --------------------------------------------------------------------------------------


@pytest.mark.parametrize("moved", [1, 10_000], ids=["a-fen", "100.00"])
def test_money_moved_between_members_equal_modulo_997(world, scenario, moved):
    """#3 and #1000 are equal modulo 997: the old checksum sum(amount x (member mod 997)) did not move."""
    assert 1000 % 997 == 3
    rows, total = _run_figures(world, scenario.nov)
    _sql(
        world,
        f"UPDATE charges SET amount_minor = amount_minor - {moved} WHERE run_id = {scenario.nov} AND member_id = 3",
        f"UPDATE charges SET amount_minor = amount_minor + {moved} WHERE run_id = {scenario.nov} AND member_id = 1000",
    )
    assert _problems(world) == [
        "entry 1: " + ALTERED.format(run=scenario.nov, period="2026-11", rows=rows, total=total) + SHIFTED
    ]


def test_a_charge_moved_onto_a_deceased_member(world, scenario):
    """Member #1 died on 2026-10-20; #5's December charge moved onto them."""
    rows, total = _run_figures(world, scenario.dec)
    _sql(world, f"UPDATE charges SET member_id = 1 WHERE run_id = {scenario.dec} AND member_id = 5")
    assert _problems(world) == [
        "entry 4: "
        + ALTERED.format(run=scenario.dec, period="2026-12", rows=rows, total=total)
        + SHIFTED
        + " (member #1 is charged but had died on 2026-10-20, before the notice day)"
    ]


@pytest.mark.parametrize(
    ("statement", "rows", "total"),
    [
        pytest.param(
            "UPDATE charges SET amount_minor = amount_minor + 1 WHERE run_id = {run} AND member_id = 8",
            0,
            1,
            id="raised-a-fen",
        ),
        pytest.param(
            "UPDATE charges SET amount_minor = 0 WHERE run_id = {run} AND member_id = 8", 0, "-charge", id="zeroed"
        ),
        pytest.param("DELETE FROM charges WHERE run_id = {run} AND member_id = 8", -1, "-charge", id="deleted"),
        pytest.param(
            "INSERT INTO charges (run_id, member_id, amount_minor) VALUES ({run}, 1, 32432)", 1, 32432, id="added"
        ),
        pytest.param("DELETE FROM charges WHERE run_id = {run}", "-all", "-all", id="all-deleted"),
    ],
)
def test_a_charge_changed_added_or_deleted(world, scenario, statement, rows, total):
    run = scenario.dec
    before_rows, before_total = _run_figures(world, run)
    charge = _charge(world, run, 8)
    _sql(world, statement.format(run=run))
    now_rows = 0 if rows == "-all" else before_rows + rows
    now_total = 0 if total == "-all" else before_total - charge if total == "-charge" else before_total + total
    assert _problems(world) == [
        "entry 4: "
        + ALTERED.format(run=run, period="2026-12", rows=before_rows, total=before_total)
        + f", the database now has {now_rows} rows totalling {now_total}"
    ]


def test_amounts_swapped_between_two_members(world, scenario):
    """Exact apportionment: some pay 32,433 fen, the others 32,432; two swap."""
    with world.transaction() as s:
        low, high = (
            s.scalar(
                select(Charge.member_id).where(Charge.run_id == scenario.nov, Charge.amount_minor == amount).limit(1)
            )
            for amount in (32_432, 32_433)
        )
    rows, total = _run_figures(world, scenario.nov)
    _sql(
        world,
        f"UPDATE charges SET amount_minor = 32433 WHERE run_id = {scenario.nov} AND member_id = {low}",
        f"UPDATE charges SET amount_minor = 32432 WHERE run_id = {scenario.nov} AND member_id = {high}",
    )
    assert _problems(world) == [
        "entry 1: " + ALTERED.format(run=scenario.nov, period="2026-11", rows=rows, total=total) + SHIFTED
    ]


def test_a_charge_moved_to_another_run(world, scenario):
    """#1000's November charge becomes a second December one of #1000 (deleted from December first)."""
    nov_rows, nov_total = _run_figures(world, scenario.nov)
    dec_rows, dec_total = _run_figures(world, scenario.dec)
    nov_charge, dec_charge = _charge(world, scenario.nov, 1000), _charge(world, scenario.dec, 1000)
    _sql(
        world,
        f"DELETE FROM charges WHERE run_id = {scenario.dec} AND member_id = 1000",
        f"UPDATE charges SET run_id = {scenario.dec} WHERE run_id = {scenario.nov} AND member_id = 1000",
    )
    expected = [
        "entry 1: "
        + ALTERED.format(run=scenario.nov, period="2026-11", rows=nov_rows, total=nov_total)
        + f", the database now has {nov_rows - 1} rows totalling {nov_total - nov_charge}"
    ]
    if nov_charge != dec_charge:  # the same amount moved in: December's rows are as they were
        expected.append(
            "entry 4: "
            + ALTERED.format(run=scenario.dec, period="2026-12", rows=dec_rows, total=dec_total)
            + f", the database now has {dec_rows} rows totalling {dec_total - dec_charge + nov_charge}"
        )
    assert _problems(world) == expected


# -- the claims a run funded ----------------------------------------------------------------------

FUNDED_1 = "claim #1 funded by run #{run} (period 2026-11)"


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        pytest.param(
            "UPDATE claims SET benefit_minor = 40000000 WHERE id = 1",
            ": its benefit was 300,000.00 when shared, the database now says 400,000.00",
            id="benefit-raised",
        ),
        pytest.param(
            "UPDATE claims SET funded_minor = 29999999 WHERE id = 1",
            ": it was funded 300,000.00, the database now says 299,999.99",
            id="funded-amount-changed",
        ),
        pytest.param(
            "UPDATE claims SET member_id = 9 WHERE id = 1",
            ": its claimant was member #1, the database now says #9",
            id="claimant-changed",
        ),
        pytest.param(
            "UPDATE claims SET sharing_run_id = NULL WHERE id = 1",
            " no longer says so: it was deleted or moved to another run",
            id="unlinked",
        ),
        pytest.param(
            "DELETE FROM claims WHERE id = 1",
            " no longer says so: it was deleted or moved to another run",
            id="deleted",
        ),
    ],
)
def test_a_shared_claim_altered(world, scenario, statement, problem):
    _sql(world, statement)
    assert _problems(world) == ["entry 1: " + FUNDED_1.format(run=scenario.nov) + problem]


def test_a_shared_claims_event_date_changed(world, scenario):
    _sql(world, "UPDATE claims SET event_date = '2026-10-02' WHERE id = 1")
    assert _problems(world) == [
        f"entry 1: the claims funded by run #{scenario.nov} (period 2026-11) were altered: their SHA-256 digest "
        "differs from the entry's (an event, its kind or date, a status, a cap, a refund, the details or the "
        "attributes a claim was decided on)"
    ]


def test_another_claim_pointed_at_a_run(world, scenario):
    _sql(world, f"UPDATE claims SET sharing_run_id = {scenario.nov} WHERE id = 2")
    assert _problems(world) == [
        f"entry 1: claim #2 now says run #{scenario.nov} (period 2026-11) funded it, which the entry does not record",
        f"entry 4: claim #2 funded by run #{scenario.dec} (period 2026-12) no longer says so: it was deleted or "
        "moved to another run",
    ]


# -- payments -------------------------------------------------------------------------------------


def _batch_facts(app: MutualAid) -> dict[str, Any]:
    (entry,) = app.ledger_entries(POOL, kind="payments")
    return entry.facts


def _money(minor: int) -> str:
    from mutualaid.money import format_minor

    return format_minor(minor, "CNY")


def test_a_payment_batchs_total_altered(world, scenario):
    facts = _batch_facts(world)
    _sql(world, f"UPDATE payment_batches SET paid_minor = paid_minor + 10000 WHERE id = {scenario.batch}")
    assert _problems(world) == [
        f"entry 2: the totals of payment batch #{scenario.batch} (november.csv) were altered: the entry recorded 5 "
        f"paid totalling {_money(facts['paid'])} and 1 failed, the batch now says 5 paid totalling "
        f"{_money(facts['paid'] + 10000)} and 1 failed"
    ]


def test_a_payment_batchs_count_altered(world, scenario):
    facts = _batch_facts(world)
    _sql(world, f"UPDATE payment_batches SET paid_count = 6, failed_count = 0 WHERE id = {scenario.batch}")
    assert _problems(world) == [
        f"entry 2: the totals of payment batch #{scenario.batch} (november.csv) were altered: the entry recorded 5 "
        f"paid totalling {_money(facts['paid'])} and 1 failed, the batch now says 6 paid totalling "
        f"{_money(facts['paid'])} and 0 failed"
    ]


def _payments_altered(
    scenario: Scenario, facts: dict[str, Any], rows: int, paid_count: int, paid: int, failed: int
) -> str:
    return (
        f"entry 2: the payments of payment batch #{scenario.batch} (november.csv) were altered: the entry recorded 6 "
        f"rows, 5 paid totalling {_money(facts['paid'])} and 1 failed; the database now has {rows} rows, "
        f"{paid_count} paid totalling {_money(paid)} and {failed} failed"
    )


def test_a_payments_amount_altered(world, scenario):
    facts = _batch_facts(world)
    _sql(world, "UPDATE payments SET amount_minor = amount_minor + 10000 WHERE member_id = 3")
    assert _problems(world) == [_payments_altered(scenario, facts, 6, 5, facts["paid"] + 10000, 1)]


def test_a_failed_payment_made_paid(world, scenario):
    facts = _batch_facts(world)
    charge = _charge(world, scenario.nov, 7)
    _sql(world, "UPDATE payments SET result = 'paid' WHERE member_id = 7")
    assert _problems(world) == [_payments_altered(scenario, facts, 6, 6, facts["paid"] + charge, 0)]


def test_a_payment_deleted(world, scenario):
    facts = _batch_facts(world)
    charge = _charge(world, scenario.nov, 4)
    _sql(world, "DELETE FROM payments WHERE member_id = 4")
    assert _problems(world) == [_payments_altered(scenario, facts, 5, 4, facts["paid"] - charge, 1)]


def test_a_payment_moved_to_another_member(world, scenario):
    """Same amount, same totals: only the digest shows #3's payment now names #900."""
    amount = _charge(world, scenario.nov, 3)
    with world.transaction() as s:
        twin = s.scalar(
            select(Charge.member_id).where(
                Charge.run_id == scenario.nov, Charge.amount_minor == amount, Charge.member_id > 100
            )
        )
    _sql(world, f"UPDATE payments SET member_id = {twin} WHERE member_id = 3")
    assert _problems(world) == [
        f"entry 2: the payments of payment batch #{scenario.batch} (november.csv) were altered: as many rows with "
        "the same totals, but their SHA-256 digest differs: a payment's member, run, day or amounts between "
        "payments changed"
    ]


def test_a_payment_inserted_into_a_batch(world, scenario):
    facts = _batch_facts(world)
    _sql(
        world,
        "INSERT INTO payments (batch_id, run_id, member_id, result, attempted_on, amount_minor) "
        f"VALUES ({scenario.batch}, {scenario.nov}, 8, 'failed', '2026-11-14', 32432)",
    )
    assert _problems(world) == [_payments_altered(scenario, facts, 7, 5, facts["paid"], 2)]


def test_a_batch_with_its_payments_inserted(world, scenario):
    _sql(
        world,
        "INSERT INTO payment_batches (id, pool_id, source, digest, imported_at, paid_count, paid_minor, failed_count) "
        "VALUES (77, 1, 'forged.csv', 'x', '2026-11-20 00:00:00', 1, 32432, 0)",
        "INSERT INTO payments (batch_id, run_id, member_id, result, attempted_on, amount_minor) "
        f"VALUES (77, {scenario.nov}, 9, 'paid', '2026-11-20', 32432)",
    )
    assert _problems(world) == [
        "payment batch #77 (forged.csv) has no ledger entry: its entry was deleted or the batch inserted"
    ]


def test_payments_inserted_without_a_batch(world, scenario):
    _sql(
        world,
        "INSERT INTO payments (batch_id, run_id, member_id, result, attempted_on, amount_minor) "
        f"VALUES (99, {scenario.nov}, 9, 'paid', '2026-11-20', 32432)",
    )
    assert _problems(world) == [
        "1 payment of this pool's runs is in no payment batch: inserted behind the ledger's back"
    ]


def test_a_payment_batch_deleted(world, scenario):
    _sql(world, f"DELETE FROM payment_batches WHERE id = {scenario.batch}")
    assert _problems(world) == [
        f"entry 2: payment batch #{scenario.batch} (november.csv) is missing from the database: it was deleted",
        "6 payments of this pool's runs are in no payment batch: inserted behind the ledger's back",
    ]


# -- top-ups --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        pytest.param(
            "UPDATE top_ups SET amount_minor = 40000 WHERE reference = 'T-2'",
            "entry 2: the top-ups of this entry were altered: it recorded 2 totalling 500.00, the database now has "
            "2 totalling 600.00",
            id="amount-raised",
        ),
        pytest.param(
            "UPDATE top_ups SET amount_minor = 60000 WHERE reference = 'T-1'",
            "entry 1: the top-ups of this entry were altered: it recorded 1 totalling 500.00, the database now has "
            "1 totalling 600.00",
            id="single-top-up-raised",
        ),
        pytest.param(
            "DELETE FROM top_ups WHERE reference = 'T-3'",
            "entry 2: the top-ups of this entry were altered: it recorded 2 totalling 500.00, the database now has "
            "1 totalling 300.00",
            id="deleted",
        ),
        pytest.param(
            "UPDATE top_ups SET member_id = (SELECT member_id FROM top_ups WHERE reference = 'T-2') "
            "WHERE reference = 'T-3'",
            "entry 2: the top-ups of this entry were altered: as many totalling as much, but their SHA-256 digest "
            "differs: a top-up's member, day, reference or amounts between top-ups changed",
            id="member-changed",
        ),
        pytest.param(
            "UPDATE top_ups SET received_on = '2026-10-01' WHERE reference = 'T-3'",
            "entry 2: the top-ups of this entry were altered: as many totalling as much, but their SHA-256 digest "
            "differs: a top-up's member, day, reference or amounts between top-ups changed",
            id="day-changed",
        ),
        pytest.param(
            "INSERT INTO top_ups (pool_id, member_id, amount_minor, received_on, reference, entry_id) "
            "SELECT pool_id, member_id, 100000, received_on, 'T-9', NULL FROM top_ups WHERE reference = 'T-1'",
            "1 top-up of this pool is in no posted top-up entry: inserted behind the ledger's back",
            id="inserted",
        ),
    ],
)
def test_a_top_up_altered(world, statement, problem):
    _sql(world, statement)
    assert _problems(world, PREPAID) == [problem]


# -- the entries themselves -----------------------------------------------------------------------

EDITED = "was edited: its contents no longer match its hash"
UNLINKED = "does not link to the entry before it (an entry was removed or replaced)"


@pytest.mark.parametrize(
    ("statements", "problems"),
    [
        pytest.param(
            ["UPDATE ledger_entries SET memo = 'nothing' WHERE seq = 5 AND pool_id = 1"],
            [f"entry 5: {EDITED}"],
            id="memo",
        ),
        pytest.param(
            ["UPDATE ledger_entries SET posted_on = '2026-12-31' WHERE seq = 2 AND pool_id = 1"],
            [f"entry 2: {EDITED}"],
            id="day",
        ),
        pytest.param(
            ["UPDATE ledger_entries SET run_id = NULL WHERE seq = 3 AND pool_id = 1"],
            [f"entry 3: {EDITED}"],
            id="run-unlinked",
        ),
        pytest.param(
            ["UPDATE ledger_entries SET prev_hash = hash WHERE seq = 3 AND pool_id = 1"],
            [f"entry 3: {UNLINKED}", f"entry 3: {EDITED}"],
            id="prev-hash",
        ),
        pytest.param(
            [
                f"UPDATE ledger_lines SET amount_minor = amount_minor - 10000 WHERE entry_id = {_entry(6)} AND line_no = 1"
            ],
            [f"entry 6: {EDITED}", "entry 6: does not balance: its lines sum to -10000"],
            id="line-amount",
        ),
        pytest.param(
            [f"UPDATE ledger_lines SET account = 'fee_income' WHERE entry_id = {_entry(6)} AND line_no = 1"],
            [f"entry 6: {EDITED}"],
            id="line-account",
        ),
        pytest.param(
            [f"UPDATE ledger_lines SET claim_id = 2 WHERE entry_id = {_entry(1)} AND claim_id = 1"],
            [f"entry 1: {EDITED}"],
            id="line-claim",
        ),
        pytest.param(
            [f"DELETE FROM ledger_lines WHERE entry_id = {_entry(5)}"],
            [f"entry 5: {EDITED}"],
            id="lines-deleted",
        ),
        pytest.param(
            [f"UPDATE pools SET ledger_head = '{'e' * 64}' WHERE key = '{POOL}'"],
            [
                "the chain ends at entry 6 as the pool's head says, but its hash is not the head's: the last entry "
                "was replaced or the head was altered"
            ],
            id="head-hash",
        ),
    ],
)
def test_an_entry_edited(world, statements, problems):
    _sql(world, *statements)
    assert _problems(world) == problems


def test_an_entry_inserted_in_the_middle(world):
    """A copy of entry 5 slipped in as entry 6 (the last renumbered 7, the head moved on)."""
    _sql(
        world,
        "UPDATE ledger_entries SET seq = 7 WHERE seq = 6 AND pool_id = 1",
        "INSERT INTO ledger_entries (pool_id, seq, kind, posted_on, memo, run_id, claim_id, batch_id, reverses_id, "
        "facts_json, created_at, prev_hash, hash) SELECT pool_id, 6, kind, posted_on, memo, run_id, claim_id, "
        "batch_id, reverses_id, facts_json, created_at, hash, hash FROM ledger_entries WHERE seq = 5 AND pool_id = 1",
        f"UPDATE pools SET ledger_seq = 7 WHERE key = '{POOL}'",
    )
    # the copy links to entry 5 and the old last entry to the copy's (copied) hash: only the hashes show it
    assert _problems(world) == [f"entry 6: {EDITED}", f"entry 7: {EDITED}"]


def test_entries_reordered(world):
    _sql(
        world,
        "UPDATE ledger_entries SET seq = 100 WHERE seq = 5 AND pool_id = 1",
        "UPDATE ledger_entries SET seq = 5 WHERE seq = 6 AND pool_id = 1",
        "UPDATE ledger_entries SET seq = 6 WHERE seq = 100 AND pool_id = 1",
    )
    assert _problems(world) == [
        f"entry 5: {UNLINKED}",
        f"entry 5: {EDITED}",
        f"entry 6: {UNLINKED}",
        f"entry 6: {EDITED}",
        "the chain ends at entry 6 as the pool's head says, but its hash is not the head's: the last entry was "
        "replaced or the head was altered",
    ]


def test_a_run_and_its_entry_deleted_from_the_middle(world, scenario):
    _sql(
        world,
        f"DELETE FROM ledger_lines WHERE entry_id = {_entry(1)}",
        "DELETE FROM ledger_entries WHERE seq = 1 AND pool_id = 1",
    )
    assert _problems(world) == [
        "entry 2: entry 1 is missing (deleted?)",
        f"entry 2: {UNLINKED}",
        f"sharing run #{scenario.nov} (period 2026-11) has no ledger entry",
    ]


def test_a_sharing_run_deleted(world, scenario):
    _sql(
        world,
        f"UPDATE claims SET sharing_run_id = NULL WHERE sharing_run_id = {scenario.dec}",
        f"DELETE FROM charges WHERE run_id = {scenario.dec}",
        f"DELETE FROM sharing_runs WHERE id = {scenario.dec}",
    )
    assert _problems(world) == [
        f"entry 4: records sharing run #{scenario.dec} (period 2026-12) but the database has no such run: it was deleted"
    ]


def _head_back(app: MutualAid, seq: int) -> None:
    """Delete the entries after ``seq`` and move the pool's head back to entry ``seq``: a chain that is
    consistent on its own."""
    with app.transaction() as s:
        head = s.scalar(select(LedgerEntry.hash).where(LedgerEntry.pool_id == 1, LedgerEntry.seq == seq))
    _sql(
        app,
        f"DELETE FROM ledger_lines WHERE entry_id IN (SELECT id FROM ledger_entries WHERE pool_id = 1 AND seq > {seq})",
        f"DELETE FROM ledger_entries WHERE pool_id = 1 AND seq > {seq}",
        f"UPDATE pools SET ledger_seq = {seq}, ledger_head = '{head}' WHERE id = 1",
    )


def test_the_last_entry_deleted_with_the_head_moved_back(world, scenario, invoke_on):
    """On its own the shortened chain verifies; the public notice's head (entry 6) shows it."""
    _head_back(world, 5)
    assert world.verify_ledger(POOL, full=True).ok
    seq, head = scenario.notice_head
    assert seq == 6
    anchor = f"{seq}:{head}"
    problem = (
        f"published head of entry 6 ({head[:12]}…) is not in the chain, which ends at entry 5: entries published "
        "were deleted"
    )
    assert _problems(world, anchors=[anchor]) == [problem]
    result = invoke_on(world, "ledger", "verify", "--full", POOL, "--anchor", anchor)
    assert (result.exit_code, result.output) == (
        1,
        f"ledger of pool '{POOL}': 1 problem in 5 entries:\n  {problem}\n  {IDENTITIES}\n",
    )


def test_a_run_entry_deleted_at_the_end_with_the_head_moved_back(world, scenario):
    """The last two entries (adjustments) and the December run's entry gone, the head moved back to
    entry 3: the run left without its entry shows even without an anchor."""
    _head_back(world, 3)
    assert _problems(world) == [f"sharing run #{scenario.dec} (period 2026-12) has no ledger entry"]


def _rewrite_chain(app: MutualAid, seq: int, edit: Callable[[Session, LedgerEntry], None]) -> None:
    """Edit entry ``seq`` of the pool with ``edit`` and recompute every hash from it to the end and
    the pool's head: a chain consistent on its own, as whoever rewrote it meant it to be."""
    with app.engine.begin() as conn:
        drop_ledger_guards(conn)
        with Session(bind=conn) as session:
            entries = session.scalars(
                select(LedgerEntry).where(LedgerEntry.pool_id == 1, LedgerEntry.seq >= seq).order_by(LedgerEntry.seq)
            ).all()
            prev = entries[0].prev_hash
            edit(session, entries[0])
            session.flush()
            lines = entry_lines(session, [e.id for e in entries])
            for entry in entries:
                entry.prev_hash = prev
                entry.hash = prev = entry_hash(entry, lines[entry.id], prev)
            session.flush()
            session.execute(update(Pool).where(Pool.id == 1).values(ledger_head=prev))
            session.flush()
        restore_ledger_guards(conn)


def test_an_overcharge_with_the_chain_recomputed(world, scenario, invoke_on, tmp_path):
    """Member #5 charged 100.00 more in December, the run's entry rewritten to match (its charged
    figure, its digest, its members_due and fee lines) and every later hash recomputed: the chain
    verifies on its own. The head of the statement member #5 was sent (entry 5) does not."""
    from mutualaid.ledger import charge_figures

    _sql(
        world, f"UPDATE charges SET amount_minor = amount_minor + 10000 WHERE run_id = {scenario.dec} AND member_id = 5"
    )

    def overcharge(session: Session, entry: LedgerEntry) -> None:
        facts = json.loads(entry.facts_json)
        figures = charge_figures(session, scenario.dec)
        facts.update(charged=figures.total, charge_digest=figures.digest)
        entry.facts_json = json.dumps(facts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        session.execute(
            text(
                "UPDATE ledger_lines SET amount_minor = amount_minor + CASE account WHEN 'members_due' THEN 10000 "
                f"ELSE -10000 END WHERE entry_id = {entry.id} AND account IN ('members_due', 'fee_income')"
            )
        )

    _rewrite_chain(world, 4, overcharge)
    assert world.verify_ledger(POOL, full=True).ok  # the rewritten chain holds together
    seq, head = scenario.statement_head
    assert seq == 5
    anchor = f"{seq}:{head}"
    problem = (
        f"published head of entry 5 ({head[:12]}…) is not in the chain: the ledger was rewritten after it was published"
    )
    assert _problems(world, anchors=[anchor]) == [problem]

    anchors = tmp_path / "heads.txt"
    anchors.write_text(
        f"# heads from statements and notices\n\n3:{'0' * 64}  # a made-up one\n{anchor}\n", encoding="utf-8"
    )
    result = invoke_on(world, "ledger", "verify", "--full", POOL, "--anchors", str(anchors))
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        f"  published head of entry 3 ({'0' * 12}…) is not in the chain: the ledger was rewritten after it was published",
        f"  {problem}",
        f"  {IDENTITIES}",
    ]


def test_published_heads_in_an_untouched_chain(world, scenario, invoke_on, tmp_path):
    anchors = [
        f"{scenario.statement_head[0]}:{scenario.statement_head[1]}",
        f"{scenario.notice_head[0]}:{scenario.notice_head[1]}",
    ]
    report = world.verify_ledger(POOL, anchors=anchors, full=True)
    assert (report.ok, report.anchors, report.head_seq) == (True, 2, 6)
    head = world.ledger_head(POOL)
    assert (head.seq, head.anchor) == (6, anchors[1])
    printed = invoke_on(world, "ledger", "head", POOL)
    assert (printed.exit_code, printed.output) == (0, f"{anchors[1]}\n")
    assert json.loads(invoke_on(world, "ledger", "head", POOL, "--json").output) == {
        "seq": 6,
        "hash": scenario.notice_head[1],
        "anchor": anchors[1],
    }
    result = invoke_on(world, "ledger", "verify", "--full", POOL, "--anchor", anchors[0], "--anchor", anchors[1])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"ledger of pool '{POOL}': 6 entries, chain intact, every run's charges match, 2 published heads in the chain"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--anchor", "5:abc"],
            "--anchor: '5:abc' is not a published head; write it as N:HASH, the entry's number and its 64-digit "
            "hash, as 'mutualaid ledger head' and every statement print it",
            id="short-hash",
        ),
        pytest.param(
            ["--anchor", "x" * 64],
            f"--anchor: '{'x' * 64}' is not a published head; write it as N:HASH, the entry's number and its "
            "64-digit hash, as 'mutualaid ledger head' and every statement print it",
            id="no-number",
        ),
        pytest.param(["--anchors", "missing.txt"], "--anchors: missing.txt does not exist", id="missing-file"),
    ],
)
def test_a_bad_anchor_is_one_line(world, invoke_on, args, message, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    result = invoke_on(world, "ledger", "verify", "--full", POOL, *args)
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")


def test_a_bad_line_in_an_anchors_file_names_its_line(world, invoke_on, tmp_path):
    heads = tmp_path / "heads.txt"
    heads.write_text("# published\n5:nothex\n", encoding="utf-8")
    result = invoke_on(world, "ledger", "verify", "--full", POOL, "--anchors", str(heads))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {heads}:2: '5:nothex' is not a published head; write it as N:HASH, the entry's number and its "
        "64-digit hash, as 'mutualaid ledger head' and every statement print it\n"
    )


@pytest.fixture
def invoke_on(runner: Any, plugins: Any) -> Callable[..., Any]:
    """Run ``mutualaid --database-url URL ARGS...`` on an app's database."""
    from mutualaid.cli import State, cli

    def run(app: MutualAid, *args: str) -> Any:
        url = app.engine.url.render_as_string(hide_password=False)
        return runner.invoke(cli, ["--database-url", url, *args], obj=State(plugins=plugins))

    return run


# -- members' identities (sealed by the members domain, checked by ledger verify) ------------------

CHANGED = "it was changed in the database"


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        pytest.param(
            "UPDATE members SET name = '司机五' WHERE id = 5",
            f"member #5 (司机五): the name, ID number, birth date or joining day is not the one sealed; {CHANGED}",
            id="name",
        ),
        pytest.param(
            "UPDATE members SET birth_date = '1990-01-01' WHERE id = 6",
            f"member #6 (司机6): the name, ID number, birth date or joining day is not the one sealed; {CHANGED}",
            id="birth-date",
        ),
        pytest.param(
            "UPDATE members SET id_cipher = (SELECT id_cipher FROM members WHERE id = 8), "
            "id_hash = (SELECT id_hash FROM members WHERE id = 8), id_masked = (SELECT id_masked FROM members "
            "WHERE id = 8) WHERE id = 9",
            f"member #9 (司机9): the name, ID number, birth date or joining day is not the one sealed; {CHANGED}",
            id="id-number-copied-from-another-member",
        ),
    ],
)
def test_a_members_identity_changed(world, statement, problem):
    if "id_hash" in statement:  # one live person per ID number: member #8 leaves the unique index first
        _sql(world, "UPDATE members SET status = 'exited' WHERE id = 8")
    _sql(world, statement)
    assert _problems(world) == [problem]
