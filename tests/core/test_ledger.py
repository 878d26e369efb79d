"""The pool's books on a real database (SQLite, and PostgreSQL when configured).

The hash chain of two shared periods, and its verification against a database edited behind the
ledger's back (entries edited, deleted in the middle and at the end, charges altered, moved,
deleted and added); account balances and their reconciliation with the pool's records; operators'
adjustments and their reversals, and the bad input they refuse; the entries listing; a refund on
denial in the books; and ``share plan``, a period's figures from its inputs alone (DOMAIN.md's
Xianghubao formula). Every amount is checked to the fen, every refusal leaves the ledger's head
where it was.
"""

from __future__ import annotations

import hashlib
import json
import struct
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import func, select, text
from support import drop_ledger_guards, restore_ledger_guards

from mutualaid import MutualAid, NotFoundError, StateError, ValidationError
from mutualaid.cli import State, cli
from mutualaid.db.models import Charge, LedgerEntry, LedgerLine, Pool
from mutualaid.ledger import GENESIS, Line, entry_hash
from mutualaid.testing import resident_id
from mutualaid.vocabulary import EntryKind, values

POOL = "js-truckers"
#: 2026-11: drivers #2-#8 share 300,000.00 + 8% = 324,000.00, 46,285.72 each (rounded up), 0.04 over.
NOV_SHARE = 4_628_572
NOV_CHARGED = 7 * NOV_SHARE  # 32,400,004
#: 2026-12: #8 lapsed (collection failed), #2 died: #3-#7 share 324,000.00 - 0.04 = 64,800.00 each.
DEC_SHARE = 6_480_000
DEC_CHARGED = 5 * DEC_SHARE  # 32,400,000
PAID = 6 * NOV_SHARE  # #2-#7 paid November's share: 27,771,432
BENEFIT = 30_000_000
FEE = 2_400_000
ACCOUNT_LIST = (
    "members_due, member_balances, cash, aid_payable, fee_income, surplus, deficit, sponsor_due, refunds_payable"
)
ADJUSTABLE_LIST = "cash, aid_payable, refunds_payable, sponsor_due, fee_income"
#: What ledger verify notes of the members' identities it checked (the members domain seals them).
IDENTITIES = "8 of 8 members' identities match their seals"


# -- helpers ------------------------------------------------------------------------------------


def _death(app: MutualAid, member: int, day: str, filed: str) -> int:
    claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=day, filed_on=filed)
    app.approve_claim(claim.id)
    return claim.id


def _two_periods(app: MutualAid, truckers_pool, make_driver, tmp_path: Path) -> tuple[int, int]:
    """Drivers #1-#8 (postpaid). #1 dies in October: #2-#8 share 2026-11. #2-#7 pay, collecting
    #8's share fails. #2 dies in November: the 2026-12 run settles November first (#8 lapses,
    its share is written off to the sponsor), then #3-#7 share. Entries: 1 sharing, 2 payments,
    3 unpaid, 4 sharing. Returns the two runs' ids."""
    app.create_pool(truckers_pool())
    for n in range(1, 9):
        assert app.join(POOL, **make_driver(n)).id == n
    _death(app, 1, "2026-10-20", "2026-10-25")
    november = app.share(POOL, "2026-11")
    assert (november.members, november.share_minor, november.charged_minor) == (7, NOV_SHARE, NOV_CHARGED)
    rows = [f"{m},2026-11,paid,2026-11-14" for m in range(2, 8)] + ["8,2026-11,failed,2026-11-14"]
    path = tmp_path / "november.csv"
    path.write_text("\n".join(["member_id,period,result,date", *rows]) + "\n", encoding="utf-8")
    app.import_payments(POOL, path)
    _death(app, 2, "2026-11-20", "2026-11-25")
    december = app.share(POOL, "2026-12")
    assert (december.members, december.share_minor, december.charged_minor) == (5, DEC_SHARE, DEC_CHARGED)
    assert (december.surplus_in_minor, december.surplus_out_minor) == (4, 4)
    return november.run_id, december.run_id


#: The balances after _two_periods (debit +, credit -).
BALANCES = {
    "members_due": NOV_CHARGED - PAID - NOV_SHARE + DEC_CHARGED,
    "member_balances": 0,
    "cash": PAID,
    "aid_payable": -2 * BENEFIT,
    "fee_income": -2 * FEE,
    "surplus": -4,
    "deficit": 0,
    "sponsor_due": NOV_SHARE,
    "refunds_payable": 0,
}


def _sql(app: MutualAid, *statements: str) -> None:
    """Change the database behind the ledger's back, as its owner could: the append-only triggers
    are dropped first (the tests of the triggers themselves are in test_migrations)."""
    with app.engine.begin() as conn:
        drop_ledger_guards(conn)
        for statement in statements:
            conn.execute(text(statement))
        restore_ledger_guards(conn)  # PostgreSQL's tests share one database


def _digest(run_id: int, charges: list[tuple[int, int]]) -> str:
    """The SHA-256 digest of a run's charges, kind sha256-v1, from its definition."""
    body = b"mutualaid:charges:v1\n" + struct.pack(">q", run_id)
    body += b"".join(struct.pack(">qq", member, amount) for member, amount in sorted(charges))
    return hashlib.sha256(body).hexdigest()


def _fund_cash(app: MutualAid) -> None:
    """Entry 5: the sponsor pays the share it owes (46,285.72), so cash (324,000.04) covers a benefit."""
    app.adjust(
        POOL,
        debit={"cash": "46285.72"},
        credit={"sponsor_due": "46285.72"},
        memo="the sponsor paid the share written off",
        on="2026-11-29",
    )


def _pay_benefit(app: MutualAid) -> None:
    """Entry 6 (after :func:`_fund_cash`): claim #1's benefit paid out of cash."""
    app.adjust(POOL, debit={"aid_payable": "300000"}, credit={"cash": "300000"}, memo="claim #1 paid", on="2026-11-30")


#: The balances after _two_periods and _fund_cash.
FUNDED = {**BALANCES, "cash": PAID + NOV_SHARE, "sponsor_due": 0}


def _entry_id(seq: int) -> str:
    return f"(SELECT id FROM ledger_entries WHERE seq = {seq})"


def _head(app: MutualAid) -> tuple:
    """What a refused operation must leave alone: the pool's head and the rows of the ledger."""
    with app.transaction() as s:
        pool = s.scalar(select(Pool).where(Pool.key == POOL))
        return (
            pool.ledger_seq,
            pool.ledger_head,
            s.scalar(select(func.count()).select_from(LedgerEntry)),
            s.scalar(select(func.count()).select_from(LedgerLine)),
        )


def _lines(entry) -> list[tuple]:
    return [(ln.account, ln.amount, ln.member_id, ln.claim_id) for ln in entry.lines]


def _books_ok(app: MutualAid) -> dict[str, int]:
    books = app.reconcile_books(POOL)
    assert books.ok, [c for c in books.checks if not c.ok]
    assert all(c.ledger_minor == c.records_minor for c in books.checks)
    report = app.verify_ledger(POOL)
    assert report.ok, report.problems
    return books.balances


# -- the chain ----------------------------------------------------------------------------------


def test_two_shared_periods_make_a_chain_that_verifies(app, invoke, truckers_pool, make_driver, tmp_path):
    nov, dec = _two_periods(app, truckers_pool, make_driver, tmp_path)
    report = app.verify_ledger(POOL)
    assert (report.ok, report.entries, report.problems) == (True, 4, ())

    with app.transaction() as s:
        pool = s.scalar(select(Pool).where(Pool.key == POOL))
        entries = s.scalars(select(LedgerEntry).where(LedgerEntry.pool_id == pool.id).order_by(LedgerEntry.seq)).all()
        assert [e.seq for e in entries] == [1, 2, 3, 4]
        prev = GENESIS
        for entry in entries:
            lines = list(
                s.scalars(select(LedgerLine).where(LedgerLine.entry_id == entry.id).order_by(LedgerLine.line_no))
            )
            assert entry.prev_hash == prev  # linked to the entry before it (the first to the genesis)
            assert entry.hash == entry_hash(entry, lines, prev)  # the hash is over what the row holds
            assert sum(ln.amount_minor for ln in lines) == 0  # every entry balances
            assert [ln.line_no for ln in lines] == list(range(1, len(lines) + 1))
            prev = entry.hash
        assert (pool.ledger_seq, pool.ledger_head) == (4, prev) == (4, report.head)

    sharing_nov, payments, unpaid, sharing_dec = app.ledger_entries(POOL)
    assert [e.kind for e in (sharing_nov, payments, unpaid, sharing_dec)] == [
        "sharing",
        "payments",
        "unpaid",
        "sharing",
    ]
    assert [e.posted_on for e in (sharing_nov, payments, unpaid, sharing_dec)] == [
        date(2026, 11, 7),
        date(2026, 11, 14),
        date(2026, 11, 19),
        date(2026, 12, 7),
    ]
    assert (sharing_nov.run_id, unpaid.run_id, sharing_dec.run_id) == (nov, nov, dec)
    assert _lines(sharing_nov) == [
        ("members_due", NOV_CHARGED, None, None),
        ("aid_payable", -BENEFIT, None, 1),
        ("fee_income", -FEE, None, None),
        ("surplus", -4, None, None),
    ]
    assert _lines(payments) == [("cash", PAID, None, None), ("members_due", -PAID, None, None)]
    assert _lines(unpaid) == [("sponsor_due", NOV_SHARE, None, None), ("members_due", -NOV_SHARE, None, None)]
    assert _lines(sharing_dec) == [
        ("members_due", DEC_CHARGED, None, None),
        ("surplus", 4, None, None),
        ("aid_payable", -BENEFIT, None, 2),
        ("fee_income", -FEE, None, None),
        ("surplus", -4, None, None),
    ]
    # the run's entry records its charges: rows, total and their SHA-256 digest (member order, 8-byte
    # big-endian integers after a header naming the run), computed here independently
    assert {k: sharing_dec.facts[k] for k in ("charge_rows", "charged", "digest_kind", "charge_digest")} == {
        "charge_rows": 5,
        "charged": DEC_CHARGED,
        "digest_kind": "sha256-v1",
        "charge_digest": _digest(dec, [(m, DEC_SHARE) for m in range(3, 8)]),
    }
    assert sharing_nov.facts["charge_digest"] == _digest(nov, [(m, NOV_SHARE) for m in range(2, 9)])
    assert "charge_checksum" not in sharing_nov.facts
    # and the claims it funded: their digest, and each one's member, benefit and funded amount
    assert sharing_nov.facts["claim_figures"] == [[1, 1, BENEFIT, BENEFIT]]
    assert sharing_dec.facts["claim_figures"] == [[2, 2, BENEFIT, BENEFIT]]
    assert len(sharing_dec.facts["claims_digest"]) == 64 != sharing_nov.facts["claims_digest"]
    # a payment batch's entry: its rows' digest beside its totals
    assert {k: payments.facts[k] for k in ("rows", "paid_count", "paid", "failed_count")} == {
        "rows": 7,
        "paid_count": 6,
        "paid": PAID,
        "failed_count": 1,
    }
    assert len(payments.facts["rows_digest"]) == 64

    assert _books_ok(app) == BALANCES
    assert app.ledger_balances(POOL) == BALANCES
    assert sum(BALANCES.values()) == 0

    clean = invoke("ledger", "verify", "--full", POOL)
    assert clean.exit_code == 0, clean.output
    assert clean.output == (
        f"ledger of pool 'js-truckers': 4 entries, chain intact, every run's charges match\n  head {report.head}\n"
        f"  {IDENTITIES}\n"
    )
    as_json = invoke("ledger", "verify", "--full", POOL, "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.output) == {
        "ok": True,
        "entries": 4,
        "head": report.head,
        "head_seq": 4,
        "anchors": 0,
        "full": True,
        "first_seq": 1,
        "since": None,
        "problems": [],
        "notes": [IDENTITIES],
    }


def test_an_entry_posted_with_the_old_checksum_still_verifies_by_it(
    app, truckers_pool, make_driver, tmp_path, monkeypatch
):
    """Entries posted before digests (schema revision 0008) recorded sum(amount x (member mod 997)):
    they are verified by the kind they recorded, which still finds a fen moved between #3 and #4."""
    import mutualaid.sharing.posting as posting
    from mutualaid.ledger import post_entry
    from mutualaid.ledger.digests import legacy_checksum

    def old_post_entry(session, pool_id, **entry):
        facts = dict(entry.pop("facts"))
        for key in ("digest_kind", "charge_digest", "claims_digest", "claim_figures"):
            facts.pop(key)
        facts["charge_checksum"] = legacy_checksum(session, entry["run_id"])
        return post_entry(session, pool_id, facts=facts, **entry)

    with monkeypatch.context() as patched:  # only this patch is undone, not the suite's today
        patched.setattr(posting, "post_entry", old_post_entry)
        nov, dec = _two_periods(app, truckers_pool, make_driver, tmp_path)
    sharing_dec = app.ledger_entries(POOL, kind="sharing")[-1]
    assert sharing_dec.facts["charge_checksum"] == DEC_SHARE * (3 + 4 + 5 + 6 + 7)
    assert "charge_digest" not in sharing_dec.facts
    assert app.verify_ledger(POOL).ok
    _sql(
        app,
        f"UPDATE charges SET amount_minor = amount_minor - 1 WHERE run_id = {dec} AND member_id = 3",
        f"UPDATE charges SET amount_minor = amount_minor + 1 WHERE run_id = {dec} AND member_id = 4",
    )
    assert [str(p) for p in app.verify_ledger(POOL, full=True).problems] == [
        "entry 4: "
        + RUN_ALTERED.format(run=dec, period="2026-12", rows=5)
        + f"{DEC_CHARGED}, the database now has 5 rows totalling {DEC_CHARGED} with a different checksum"
    ]


def test_an_empty_ledger_verifies(app, invoke, truckers_pool):
    app.create_pool(truckers_pool())
    report = app.verify_ledger(POOL)
    assert (report.ok, report.entries, report.head) == (True, 0, GENESIS)
    assert app.ledger_balances(POOL) == dict.fromkeys(BALANCES, 0)
    assert invoke("ledger", "verify", POOL).exit_code == 0


RUN_ALTERED = "the charges of run #{run} (period {period}) were altered: the entry recorded {rows} rows totalling "


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET memo = 'nothing happened' WHERE seq = 1",
        "UPDATE ledger_entries SET hash = prev_hash",
        "DELETE FROM ledger_entries WHERE seq = (SELECT max(seq) FROM ledger_entries)",
        "UPDATE ledger_lines SET amount_minor = amount_minor + 1",
        "DELETE FROM ledger_lines",
    ],
    ids=["entry-edited", "hash-replaced", "last-entry-deleted", "line-edited", "lines-deleted"],
)
def test_the_database_refuses_to_change_a_posted_entry(app, truckers_pool, make_driver, tmp_path, statement):
    """The ledger is append-only in the database itself: UPDATE and DELETE are refused by triggers."""
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    before = [e.as_dict() for e in app.ledger_entries(POOL)]
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="ledger entries are append-only"):
        with app.engine.begin() as conn:
            conn.execute(text(statement))
    assert [e.as_dict() for e in app.ledger_entries(POOL)] == before
    assert app.verify_ledger(POOL).ok


@pytest.mark.parametrize(
    ("statements", "problems"),
    [
        pytest.param(
            ["UPDATE ledger_entries SET memo = 'sharing period 2026-11: 7 members, 0 claims' WHERE seq = 1"],
            ["entry 1: was edited: its contents no longer match its hash"],
            id="memo-edited",
        ),
        pytest.param(
            ["UPDATE ledger_entries SET posted_on = '2026-11-15' WHERE seq = 2"],
            ["entry 2: was edited: its contents no longer match its hash"],
            id="date-edited",
        ),
        pytest.param(
            ["UPDATE ledger_entries SET created_at = '2026-01-01 00:00:00' WHERE seq = 3"],
            ["entry 3: was edited: its contents no longer match its hash"],
            id="time-written-edited",
        ),
        pytest.param(
            ["UPDATE ledger_entries SET facts_json = replace(facts_json, '2026-11-19', '2026-11-20') WHERE seq = 3"],
            ["entry 3: was edited: its contents no longer match its hash"],
            id="facts-edited",
        ),
        pytest.param(
            [
                f"UPDATE ledger_lines SET amount_minor = amount_minor + 1 WHERE entry_id = {_entry_id(2)} AND line_no = 1"
            ],
            [
                "entry 2: was edited: its contents no longer match its hash",
                "entry 2: does not balance: its lines sum to 1",
            ],
            id="line-amount-edited",
        ),
        pytest.param(
            [
                f"UPDATE ledger_lines SET amount_minor = amount_minor - 100 WHERE entry_id = {_entry_id(2)} "
                "AND account = 'cash'",
                f"UPDATE ledger_lines SET amount_minor = amount_minor + 100 WHERE entry_id = {_entry_id(2)} "
                "AND account = 'members_due'",
            ],
            ["entry 2: was edited: its contents no longer match its hash"],
            id="both-lines-edited-still-balanced",
        ),
        pytest.param(
            [f"UPDATE ledger_lines SET account = 'fee_income' WHERE entry_id = {_entry_id(3)} AND line_no = 1"],
            ["entry 3: was edited: its contents no longer match its hash"],
            id="line-account-edited",
        ),
        pytest.param(
            [f"UPDATE ledger_lines SET member_id = 3 WHERE entry_id = {_entry_id(6)} AND line_no = 1"],
            ["entry 6: was edited: its contents no longer match its hash"],
            id="line-member-edited",
        ),
        pytest.param(
            [
                "INSERT INTO ledger_lines (entry_id, line_no, account, member_id, claim_id, amount_minor) "
                f"VALUES ({_entry_id(2)}, 3, 'cash', NULL, NULL, 0)"
            ],
            ["entry 2: was edited: its contents no longer match its hash"],
            id="line-inserted",
        ),
        pytest.param(
            [f"DELETE FROM ledger_lines WHERE entry_id = {_entry_id(3)}", "DELETE FROM ledger_entries WHERE seq = 3"],
            [
                "entry 4: entry 3 is missing (deleted?)",
                "entry 4: does not link to the entry before it (an entry was removed or replaced)",
            ],
            id="middle-entry-deleted",
        ),
        pytest.param(
            [
                "DELETE FROM ledger_lines WHERE entry_id IN (SELECT id FROM ledger_entries WHERE seq IN (2, 3))",
                "DELETE FROM ledger_entries WHERE seq IN (2, 3)",
            ],
            [
                "entry 4: entries 2 to 3 are missing (deleted?)",
                "entry 4: does not link to the entry before it (an entry was removed or replaced)",
                "payment batch #1 (november.csv) has no ledger entry: its entry was deleted or the batch inserted",
            ],
            id="two-entries-deleted",
        ),
        pytest.param(
            [f"DELETE FROM ledger_lines WHERE entry_id = {_entry_id(4)}", "DELETE FROM ledger_entries WHERE seq = 4"],
            [
                "entry 5: entry 4 is missing (deleted?)",
                "entry 5: does not link to the entry before it (an entry was removed or replaced)",
                "sharing run #{dec} (period 2026-12) has no ledger entry",
            ],
            id="a-run-entry-deleted",
        ),
        pytest.param(
            [f"DELETE FROM ledger_lines WHERE entry_id = {_entry_id(6)}", "DELETE FROM ledger_entries WHERE seq = 6"],
            [
                "the chain ends at entry 5 but the pool's head is entry 6: entries at the end were deleted or the "
                "head was altered"
            ],
            id="last-entry-deleted",
        ),
        pytest.param(
            [f"UPDATE pools SET ledger_head = '{'f' * 64}'"],
            [
                "the chain ends at entry 6 as the pool's head says, but its hash is not the head's: the last entry "
                "was replaced or the head was altered"
            ],
            id="head-altered",
        ),
        pytest.param(
            ["UPDATE charges SET amount_minor = amount_minor + 1 WHERE run_id = {dec} AND member_id = 4"],
            [
                "entry 4: "
                + RUN_ALTERED.format(run="{dec}", period="2026-12", rows=5)
                + f"{DEC_CHARGED}, the database now has 5 rows totalling {DEC_CHARGED + 1}"
            ],
            id="charge-altered",
        ),
        pytest.param(
            [
                # a fen from member #3 to #4: the rows and their sum stay, the digest does not
                "UPDATE charges SET amount_minor = amount_minor - 1 WHERE run_id = {dec} AND member_id = 3",
                "UPDATE charges SET amount_minor = amount_minor + 1 WHERE run_id = {dec} AND member_id = 4",
            ],
            [
                "entry 4: "
                + RUN_ALTERED.format(run="{dec}", period="2026-12", rows=5)
                + f"{DEC_CHARGED}, and the database has as many totalling as much, but their SHA-256 digest "
                "differs: a charge was moved to another member or amounts were shifted between members"
            ],
            id="minor-unit-moved",
        ),
        pytest.param(
            ["DELETE FROM charges WHERE run_id = {nov} AND member_id = 5"],
            [
                "entry 1: "
                + RUN_ALTERED.format(run="{nov}", period="2026-11", rows=7)
                + f"{NOV_CHARGED}, the database now has 6 rows totalling {NOV_CHARGED - NOV_SHARE}"
            ],
            id="charge-deleted",
        ),
        pytest.param(
            ["INSERT INTO charges (run_id, member_id, amount_minor) VALUES ({dec}, 8, 1)"],
            [
                "entry 4: "
                + RUN_ALTERED.format(run="{dec}", period="2026-12", rows=5)
                + f"{DEC_CHARGED}, the database now has 6 rows totalling {DEC_CHARGED + 1}"
            ],
            id="charge-added",
        ),
    ],
)
def test_an_edited_database_is_caught_by_verify(
    app, invoke, truckers_pool, make_driver, tmp_path, statements, problems
):
    nov, dec = _two_periods(app, truckers_pool, make_driver, tmp_path)
    # entries 5 and 6: the sponsor's payment, then a benefit paid out, so that the last entry is not a run's
    _fund_cash(app)
    _pay_benefit(app)
    assert app.verify_ledger(POOL).ok
    _sql(app, *(s.format(nov=nov, dec=dec) for s in statements))
    expected = [p.format(nov=nov, dec=dec) for p in problems]

    report = app.verify_ledger(POOL, full=True)
    assert not report.ok
    assert [str(p) for p in report.problems] == expected

    result = invoke("ledger", "verify", "--full", POOL)
    assert result.exit_code == 1
    entries = report.entries
    assert result.output == (
        f"ledger of pool 'js-truckers': {len(expected)} problem{'s' if len(expected) != 1 else ''} in {entries} entries:\n"
        + "".join(f"  {p}\n" for p in expected)
        + f"  {IDENTITIES}\n"
    )
    as_json = invoke("ledger", "verify", "--full", POOL, "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.output)["problems"] == expected


# -- balances and their reconciliation -----------------------------------------------------------

BALANCE_TABLE = """\
books of pool 'js-truckers' (CNY; debit +, credit -):
account          balance      what
---------------  -----------  -----------------------------------------------------
members_due      324,000.00   postpaid shares charged and not yet paid
member_balances  0.00         prepaid balances held for members
cash             277,714.32   money received
aid_payable      -600,000.00  benefits funded and owed to claimants
fee_income       -48,000.00   the operator's management fee
surplus          -0.04        collected beyond the need, carried to the next period
deficit          0.00         shortfall carried to the next period
sponsor_due      46,285.72    what the operator or sponsor pays
refunds_payable  0.00         contributions to be given back to members
sum of all accounts: 0.00 (balanced)
reconciliation with the pool's records:
  members_due      ledger       324,000.00  records       324,000.00  ok  (postpaid charges less payments received and unpaid shares written off)
  member_balances  ledger             0.00  records             0.00  ok  (prepaid balances held for members)
  aid_payable      ledger      -600,000.00  records      -600,000.00  ok  (benefits funded by sharing runs, less those paid out)
  refunds_payable  ledger             0.00  records             0.00  ok  (contributions refunded on denials, less those paid out)
  surplus          ledger            -0.04  records            -0.04  ok  (surplus carried out by the last run)
  cash             ledger       277,714.32  records       277,714.32  ok  (payments received and top-ups, less claims' investigation costs, with money paid out and in by adjustments)
the books balance to the fen
"""  # noqa: E501


def test_ledger_balance_prints_the_accounts_and_proves_the_books(app, invoke, truckers_pool, make_driver, tmp_path):
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    result = invoke("ledger", "balance", POOL)
    assert result.exit_code == 0, result.output
    assert result.output == BALANCE_TABLE

    as_json = invoke("ledger", "balance", POOL, "--json")
    assert as_json.exit_code == 0
    data = json.loads(as_json.output)
    assert (data["ok"], data["currency"], data["total"]) == (True, "CNY", "0.00")
    assert data["balances"] == {
        "members_due": "324000.00",
        "member_balances": "0.00",
        "cash": "277714.32",
        "aid_payable": "-600000.00",
        "fee_income": "-48000.00",
        "surplus": "-0.04",
        "deficit": "0.00",
        "sponsor_due": "46285.72",
        "refunds_payable": "0.00",
    }
    assert [(c["account"], c["ledger"], c["records"], c["ok"]) for c in data["checks"]] == [
        ("members_due", "324000.00", "324000.00", True),
        ("member_balances", "0.00", "0.00", True),
        ("aid_payable", "-600000.00", "-600000.00", True),
        ("refunds_payable", "0.00", "0.00", True),
        ("surplus", "-0.04", "-0.04", True),
        ("cash", "277714.32", "277714.32", True),
    ]


@pytest.mark.parametrize(
    ("statement", "total", "mismatches"),
    [
        pytest.param(
            "UPDATE claims SET funded_minor = NULL WHERE id = 1",
            "0.00",
            {"aid_payable": ("-600,000.00", "-300,000.00")},
            id="claim-funded-amount-deleted",
        ),
        pytest.param(
            "UPDATE payments SET result = 'paid' WHERE member_id = 8",
            "0.00",
            {"members_due": ("324,000.00", "277,714.28"), "cash": ("277,714.32", "324,000.04")},
            id="failed-payment-made-paid",
        ),
        pytest.param(
            "DELETE FROM charges WHERE member_id = 3",
            "0.00",
            {"members_due": ("324,000.00", "212,914.28")},
            id="charges-deleted",
        ),
        pytest.param(
            "UPDATE ledger_lines SET amount_minor = amount_minor + 1 WHERE account = 'cash'",
            "0.01",
            {"cash": ("277,714.33", "277,714.32")},
            id="ledger-line-edited",
        ),
    ],
)
def test_ledger_balance_fails_when_the_books_and_records_disagree(
    app, invoke, truckers_pool, make_driver, tmp_path, statement, total, mismatches
):
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    _sql(app, statement)
    books = app.reconcile_books(POOL)
    assert not books.ok
    assert {c.account for c in books.checks if not c.ok} == set(mismatches)

    result = invoke("ledger", "balance", POOL)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[-1] == "the books do NOT reconcile"
    assert f"sum of all accounts: {total} " + ("(balanced)" if total == "0.00" else "(NOT BALANCED)") in lines
    marked = [ln.split() for ln in lines if "MISMATCH" in ln]
    assert {m[0]: (m[2], m[4]) for m in marked} == mismatches

    as_json = json.loads(invoke("ledger", "balance", POOL, "--json").output)
    assert as_json["ok"] is False and as_json["total"] == total.replace(",", "")
    assert {c["account"] for c in as_json["checks"] if not c["ok"]} == set(mismatches)


# -- adjustments and reversals --------------------------------------------------------------------


def test_an_adjustment_records_a_benefit_paid_out(app, invoke, truckers_pool, make_driver, tmp_path):
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    # the API takes amounts in the pool's currency, several lines a side: the sponsor pays what it
    # owes and the operator takes half its fees
    record = app.adjust(
        POOL,
        debit={"cash": Decimal("46285.72"), "fee_income": 24000},
        credit={"sponsor_due": "46285.72", "cash": "24000.00"},
        memo="the sponsor paid the written-off share; the operator took half its fees",
        on="2026-11-29",
    )
    assert record.seq == 5
    assert _lines(record) == [
        ("cash", NOV_SHARE, None, None),
        ("fee_income", FEE, None, None),
        ("sponsor_due", -NOV_SHARE, None, None),
        ("cash", -FEE, None, None),
    ]
    funded = {**BALANCES, "cash": PAID + NOV_SHARE - FEE, "sponsor_due": 0, "fee_income": -FEE}
    assert funded["cash"] == 30_000_004  # 300,000.04: enough for a benefit
    assert _books_ok(app) == funded

    result = invoke(
        "ledger",
        "adjust",
        POOL,
        "--debit",
        "aid_payable=300000",
        "--credit",
        "cash=300000",
        "--memo",
        "  benefit of claim #1 paid to the family\n",
        "--on",
        "2026-11-30",
    )
    assert result.exit_code == 0, result.output
    entry = app.ledger_entries(POOL, kind="adjustment")[-1]
    assert result.output == f"posted adjustment as entry 6 [{entry.hash[:12]}]\n"
    assert (entry.seq, entry.kind, entry.posted_on, entry.memo) == (
        6,
        "adjustment",
        date(2026, 11, 30),
        "benefit of claim #1 paid to the family",
    )
    assert (entry.run_id, entry.claim_id, entry.batch_id, entry.reverses_id, entry.facts) == (
        None,
        None,
        None,
        None,
        {},
    )
    assert _lines(entry) == [("aid_payable", BENEFIT, None, None), ("cash", -BENEFIT, None, None)]
    assert _books_ok(app) == {**funded, "aid_payable": -BENEFIT, "cash": 4}
    assert app.verify_ledger(POOL).head == entry.hash


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--debit", "bogus=5", "--credit", "cash=5", "--memo", "m"],
            f"bogus: no such account; the accounts are {ACCOUNT_LIST}",
            id="unknown-account",
        ),
        pytest.param(
            ["--debit", "members_due=5", "--credit", "cash=5", "--memo", "m"],
            f"account 'members_due' moves only with the pool's records; adjust one of {ADJUSTABLE_LIST}",
            id="records-only-members-due",
        ),
        pytest.param(
            ["--debit", "cash=5", "--credit", "surplus=5", "--memo", "m"],
            f"account 'surplus' moves only with the pool's records; adjust one of {ADJUSTABLE_LIST}",
            id="records-only-surplus",
        ),
        pytest.param(
            ["--debit", "aid_payable=300000", "--credit", "cash=299999.99", "--memo", "m"],
            "the lines do not balance: the debits total 300,000.00 CNY and the credits 299,999.99 CNY",
            id="debits-exceed-credits",
        ),
        pytest.param(
            ["--debit", "aid_payable=1", "--credit", "cash=1.01", "--memo", "m"],
            "the lines do not balance: the debits total 1.00 CNY and the credits 1.01 CNY",
            id="credits-exceed-debits",
        ),
        pytest.param(
            ["--debit", "aid_payable=0", "--credit", "cash=5", "--memo", "m"],
            "aid_payable: amounts must be above 0 (0 given)",
            id="zero",
        ),
        pytest.param(
            ["--debit", "aid_payable=300000", "--credit", "cash=-300000", "--memo", "m"],
            "cash: amounts must be above 0 (-300000 given)",
            id="negative",
        ),
        pytest.param(
            ["--debit", "aid_payable=5", "--credit", "cash=5", "--memo", "   "],
            "memo: an adjustment needs a memo saying what happened",
            id="blank-memo",
        ),
        pytest.param(
            ["--debit", "aid_payable=1.005", "--credit", "cash=1.01", "--memo", "m"],
            "aid_payable: 1.005 CNY has more than 2 decimal places",
            id="three-decimals",
        ),
        pytest.param(
            ["--debit", "aid_payable=abc", "--credit", "cash=5", "--memo", "m"],
            "aid_payable: 'abc' is not an amount",
            id="not-an-amount",
        ),
        pytest.param(
            ["--debit", "aid_payable", "--credit", "cash=5", "--memo", "m"],
            "--debit 'aid_payable' must look like key=value",
            id="not-a-pair",
        ),
        pytest.param(
            ["--debit", "aid_payable=1", "--debit", "aid_payable=2", "--credit", "cash=3", "--memo", "m"],
            "--debit aid_payable is given twice ('1' and '2'); give it once",
            id="same-debit-twice",
        ),
        pytest.param(
            ["--debit", "aid_payable=2", "--credit", "cash=1", "--credit", "cash=1", "--memo", "m"],
            "--credit cash is given twice ('1' and '1'); give it once",
            id="same-credit-twice",
        ),
        pytest.param(
            ["--debit", "aid_payable=5", "--credit", "cash=5", "--memo", "m", "--on", "soon"],
            "--on: the adjustment's day 'soon' is not a date; write it as YYYY-MM-DD",
            id="bad-day",
        ),
    ],
)
def test_a_bad_adjustment_is_one_line_and_changes_nothing(
    app, invoke, truckers_pool, make_driver, tmp_path, args, message
):
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    before = _head(app)
    result = invoke("ledger", "adjust", POOL, *args)
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: {message}\n"
    assert _head(app) == before
    assert _books_ok(app) == BALANCES


def _overdraws(account: str, before: str, after: str, rule: str) -> str:
    return f"{account}: this entry would take its balance from {before} to {after} CNY; {account} {rule}. Nothing was posted"


CASH_RULE = "cannot go below 0: nothing is paid out of money the pool does not hold"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--debit", "aid_payable=300000", "--credit", "cash=300000"],
            _overdraws("cash", "277,714.32", "-22,285.68", CASH_RULE),
            id="cash-below-zero",
        ),
        pytest.param(
            ["--debit", "aid_payable=600000.01", "--credit", "fee_income=600000.01"],
            _overdraws(
                "aid_payable", "-600,000.00", "0.01", "cannot go above 0: no more benefit is paid out than was funded"
            ),
            id="aid-paid-beyond-what-is-owed",
        ),
        pytest.param(
            ["--debit", "refunds_payable=0.01", "--credit", "cash=0.01"],
            _overdraws("refunds_payable", "0.00", "0.01", "cannot go above 0: no more is given back than was refunded"),
            id="refund-never-owed",
        ),
        pytest.param(
            ["--debit", "fee_income=48000.01", "--credit", "cash=48000.01"],
            _overdraws(
                "fee_income",
                "-48,000.00",
                "0.01",
                "cannot go above 0: the operator cannot take more fee than it earned",
            ),
            id="fee-beyond-what-was-earned",
        ),
        pytest.param(
            ["--debit", "cash=46285.73", "--credit", "sponsor_due=46285.73"],
            _overdraws(
                "sponsor_due", "46,285.72", "-0.01", "cannot go below 0: the sponsor cannot pay in more than it owes"
            ),
            id="sponsor-pays-more-than-it-owes",
        ),
        pytest.param(
            ["--debit", "aid_payable=300000", "--debit", "fee_income=48000.01", "--credit", "cash=348000.01"],
            # one line per account, in the order of the lines
            _overdraws(
                "fee_income",
                "-48,000.00",
                "0.01",
                "cannot go above 0: the operator cannot take more fee than it earned",
            )
            + "\n"
            + _overdraws("cash", "277,714.32", "-70,285.69", CASH_RULE),
            id="two-accounts",
        ),
    ],
)
def test_an_adjustment_that_would_take_an_account_past_zero_is_refused(
    app, invoke, truckers_pool, make_driver, tmp_path, args, message
):
    """cash 277,714.32, aid_payable -600,000.00, fee_income -48,000.00, sponsor_due 46,285.72."""
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    before = _head(app)
    result = invoke("ledger", "adjust", POOL, *args, "--memo", "too much")
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")
    assert _head(app) == before
    assert _books_ok(app) == BALANCES


def test_an_adjustment_may_take_an_account_exactly_to_zero(app, truckers_pool, make_driver, tmp_path):
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    app.adjust(
        POOL, debit={"fee_income": "48000", "sponsor_due": "0.01"}, credit={"cash": "48000.01"}, memo="fees taken"
    )
    with pytest.raises(ValidationError) as caught:
        app.adjust(POOL, debit={"cash": "46285.74"}, credit={"sponsor_due": "46285.74"}, memo="the sponsor paid")
    assert caught.value.problems == [
        _overdraws(
            "sponsor_due", "46,285.73", "-0.01", "cannot go below 0: the sponsor cannot pay in more than it owes"
        )
    ]
    app.adjust(POOL, debit={"cash": "46285.73"}, credit={"sponsor_due": "46285.73"}, memo="the sponsor paid")
    balances = _books_ok(app)
    assert (balances["fee_income"], balances["sponsor_due"], balances["cash"]) == (0, 0, PAID - 4_800_001 + 4_628_573)


def test_ledger_balance_does_not_call_books_with_negative_cash_balanced(
    app, invoke, truckers_pool, make_driver, tmp_path
):
    """Cash driven below 0 behind the guard's back (the payments' entry turned round): the accounts
    still sum to 0, but the books do not balance."""
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    _sql(app, f"UPDATE ledger_lines SET amount_minor = -amount_minor WHERE entry_id = {_entry_id(2)}")
    result = invoke("ledger", "balance", POOL)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "sum of all accounts: 0.00 (balanced)" in lines
    assert (
        "OVERDRAWN: cash is -277,714.32 CNY; cash cannot go below 0: nothing is paid out of money the pool does "
        "not hold"
    ) in lines
    assert lines[-1] == "the books do NOT reconcile"
    data = json.loads(invoke("ledger", "balance", POOL, "--json").output)
    assert (data["ok"], data["overdrawn"]) == (False, {"cash": "-277714.32"})
    assert app.reconcile_books(POOL).overdrawn == {"cash": -PAID}


def test_an_adjustment_without_a_memo_is_a_usage_error(app, invoke, truckers_pool, make_driver, tmp_path):
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    before = _head(app)
    result = invoke("ledger", "adjust", POOL, "--debit", "aid_payable=5", "--credit", "cash=5")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "Error: Missing option '--memo'."
    assert _head(app) == before
    with pytest.raises(ValidationError) as caught:
        app.adjust(POOL, debit={"aid_payable": 5}, credit={"cash": 5}, memo="")
    assert caught.value.problems == ["memo: an adjustment needs a memo saying what happened"]
    with pytest.raises(ValidationError) as caught:
        app.adjust(POOL, debit={}, credit={}, memo="nothing")
    assert caught.value.problems == ["an adjustment needs at least one debit and one credit"]
    assert _head(app) == before


def test_a_reversal_undoes_an_adjustment_exactly(app, invoke, truckers_pool, make_driver, tmp_path):
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    _fund_cash(app)
    _pay_benefit(app)
    adjustment = app.ledger_entries(POOL, limit=1)[0]
    assert adjustment.seq == 6
    result = invoke("ledger", "reverse", POOL, "6", "--reason", "paid twice by mistake")
    assert result.exit_code == 0, result.output
    reversal = app.ledger_entries(POOL, limit=1)[0]
    assert result.output == f"reversed entry 6 with entry 7 [{reversal.hash[:12]}]\n"
    assert (reversal.seq, reversal.kind, reversal.memo, reversal.reverses_id) == (
        7,
        "adjustment",
        "paid twice by mistake",
        adjustment.id,
    )
    assert reversal.facts == {"reverses": "adjustment", "reverses_seq": 6}
    assert _lines(reversal) == [("aid_payable", -BENEFIT, None, None), ("cash", BENEFIT, None, None)]
    assert _books_ok(app) == FUNDED  # exactly as before the adjustment
    assert app.verify_ledger(POOL).head == reversal.hash


def test_a_reversal_that_would_overdraw_cash_is_refused(app, invoke, truckers_pool, make_driver, tmp_path):
    """Undoing money paid in overdraws as surely as paying out: the sponsor's payment (entry 5) went
    on a benefit (entry 6), so reversing it would leave cash at -22,285.68."""
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    _fund_cash(app)
    _pay_benefit(app)
    before, balances = _head(app), app.ledger_balances(POOL)
    message = (
        "cash: this entry would take its balance from 24,000.04 to -22,285.68 CNY; cash cannot go below 0: nothing "
        "is paid out of money the pool does not hold. Nothing was posted"
    )
    result = invoke("ledger", "reverse", POOL, "5", "--reason", "the sponsor's payment bounced")
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")
    with pytest.raises(ValidationError) as caught:
        app.reverse_entry(POOL, 5, "the sponsor's payment bounced")
    assert caught.value.problems == [message]
    assert (_head(app), app.ledger_balances(POOL)) == (before, balances)
    # once the benefit's payment is itself reversed, the sponsor's payment can be
    app.reverse_entry(POOL, 6, "the benefit was not paid after all")
    app.reverse_entry(POOL, 5, "the sponsor's payment bounced")
    assert _books_ok(app) == BALANCES


@pytest.mark.parametrize(
    ("seq", "reason", "error", "message"),
    [
        pytest.param("6", "again", StateError, "ledger entry 6 was already reversed by entry 7", id="reversed-twice"),
        pytest.param(
            "1",
            "wrong",
            StateError,
            "ledger entry 1 records a sharing and stays: it is tied to the pool's records. Only adjustments are "
            "reversed; post an adjustment to correct anything else",
            id="a-sharing-entry",
        ),
        pytest.param(
            "2",
            "wrong",
            StateError,
            "ledger entry 2 records a payments and stays: it is tied to the pool's records. Only adjustments are "
            "reversed; post an adjustment to correct anything else",
            id="a-payments-entry",
        ),
        pytest.param(
            "99",
            "wrong",
            NotFoundError,
            "the pool's ledger has no entry 99; 'mutualaid ledger entries POOL' lists them",
            id="no-such-entry",
        ),
        pytest.param("6", "  ", ValidationError, "reason: a reversal needs a reason", id="blank-reason"),
    ],
)
def test_a_refused_reversal_is_one_line_and_changes_nothing(
    app, invoke, truckers_pool, make_driver, tmp_path, seq, reason, error, message
):
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    _fund_cash(app)
    _pay_benefit(app)
    if seq == "6" and reason == "again":
        app.reverse_entry(POOL, 6, "paid twice by mistake")
    before = _head(app)
    balances = app.ledger_balances(POOL)
    result = invoke("ledger", "reverse", POOL, seq, "--reason", reason)
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n"
    assert _head(app) == before
    assert app.ledger_balances(POOL) == balances
    with pytest.raises(error) as caught:
        app.reverse_entry(POOL, int(seq), reason)
    assert caught.value.lines == [message]
    assert _head(app) == before


# -- the entries --------------------------------------------------------------------------------


def test_ledger_entries_lists_entries_with_their_debits_and_credits(app, invoke, truckers_pool, make_driver, tmp_path):
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    entries = app.ledger_entries(POOL)
    h = [e.hash[:12] for e in entries]
    result = invoke("ledger", "entries", POOL)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"     1  2026-11-07  sharing     sharing period 2026-11: 7 members, 1 claim  [{h[0]}]",
        "          Dr members_due            324,000.04",
        "          Cr aid_payable            300,000.00 claim #1",
        "          Cr fee_income              24,000.00",
        "          Cr surplus                      0.04",
        "     2  2026-11-14  payments    payments imported from november.csv: 6 paid (277,714.32 CNY), 1 failed  "
        f"[{h[1]}]",
        "          Dr cash                   277,714.32",
        "          Cr members_due            277,714.32",
        "     3  2026-11-19  unpaid      period 2026-11: retry window closed on 2026-11-19; 1 of 7 shares unpaid "
        f"(46,285.72 CNY, borne by the sponsor), 1 member lapsed  [{h[2]}]",
        "          Dr sponsor_due             46,285.72",
        "          Cr members_due             46,285.72",
        f"     4  2026-12-07  sharing     sharing period 2026-12: 5 members, 1 claim  [{h[3]}]",
        "          Dr members_due            324,000.00",
        "          Dr surplus                      0.04",
        "          Cr aid_payable            300,000.00 claim #2",
        "          Cr fee_income              24,000.00",
        "          Cr surplus                      0.04",
    ]

    kind = invoke("ledger", "entries", POOL, "--kind", "payments")
    assert kind.exit_code == 0
    assert kind.output.splitlines()[0].startswith("     2  2026-11-14  payments ")
    assert [ln.split()[0] for ln in kind.output.splitlines()] == ["2", "Dr", "Cr"]

    last = invoke("ledger", "entries", POOL, "--limit", "2")
    assert [ln.split()[0] for ln in last.output.splitlines() if not ln.startswith(" " * 10)] == ["3", "4"]
    last_sharing = invoke("ledger", "entries", POOL, "--kind", "sharing", "--limit", "1", "--json")
    assert [e["seq"] for e in json.loads(last_sharing.output)] == [4]

    as_json = invoke("ledger", "entries", POOL, "--json")
    assert as_json.exit_code == 0
    data = json.loads(as_json.output)
    assert data == [e.as_dict() for e in entries]
    assert data[1]["lines"] == [
        {"account": "cash", "amount_minor": PAID, "member_id": None, "claim_id": None},
        {"account": "members_due", "amount_minor": -PAID, "member_id": None, "claim_id": None},
    ]
    assert data[1]["facts"]["periods"] == {"2026-11": {"paid_count": 6, "paid": PAID, "failed_count": 1}}
    assert [e["kind"] for e in data] == ["sharing", "payments", "unpaid", "sharing"]

    assert [e.seq for e in app.ledger_entries(POOL, kind="sharing")] == [1, 4]
    assert [e.seq for e in app.ledger_entries(POOL, limit=3)] == [2, 3, 4]
    assert invoke("ledger", "entries", POOL, "--limit", "0").exit_code == 2


@pytest.mark.parametrize("kind", ["payout", "Sharing", ""], ids=["unknown", "capitalised", "empty"])
def test_ledger_entries_of_an_unknown_kind_is_one_line_listing_the_kinds(
    app, invoke, truckers_pool, make_driver, tmp_path, kind
):
    _two_periods(app, truckers_pool, make_driver, tmp_path)
    result = invoke("ledger", "entries", POOL, "--kind", kind)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: kind: {kind!r} is not a kind of ledger entry; the kinds are {', '.join(values(EntryKind))}\n"
    )
    with pytest.raises(ValidationError):
        app.ledger_entries(POOL, kind=kind)
    assert {e.kind for e in app.ledger_entries(POOL)} <= set(values(EntryKind))


# -- a refund on denial -------------------------------------------------------------------------

CRITICAL = Path(__file__).resolve().parents[2] / "plugins" / "disease_cohorts" / "examples" / "critical-illness.toml"
CI_POOL = "healthy-critical-illness"
CI_SHARE = 10_800_000  # 300,000.00 + 8% over 3 members


@pytest.mark.parametrize(("refunds", "payer"), [("sponsor", "sponsor_due"), ("pool", "deficit")])
def test_a_refund_on_denial_is_in_the_books(app, invoke, tmp_path, refunds, payer):
    pool_file = tmp_path / "critical-illness.toml"
    pool_file.write_text(
        CRITICAL.read_text(encoding="utf-8") + f'\n[payments]\nrefunds = "{refunds}"\n', encoding="utf-8"
    )
    app.create_pool(pool_file)
    members = [
        app.join(
            CI_POOL,
            id_number=resident_id(date.fromisoformat(born), n),
            name=name,
            birth_date=born,
            joined_on="2026-01-10",
            attributes={"declaration_confirmed": "true"},
        )
        for n, (born, name) in enumerate([("1990-06-01", "刘一"), ("1980-06-01", "刘二"), ("1995-06-01", "刘三")], 1)
    ]
    paid, _, early = members

    def claim(member, when, filed, illness):
        return app.file_claim(
            CI_POOL,
            member.id,
            event_kind="critical_illness",
            event_date=when,
            filed_on=filed,
            details={"illness": illness},
        )

    app.approve_claim(claim(paid, "2026-04-11", "2026-04-20", "malignant_tumour").id)
    first = app.share(CI_POOL, "2026-05a")
    assert (first.members, first.share_minor, first.charged_minor) == (3, CI_SHARE, 3 * CI_SHARE)

    # The early member paid their share (reported in the payment results); only what was paid is refunded.
    results = tmp_path / "payments.csv"
    results.write_text(f"member_id,period,result,date\n{early.id},2026-05a,paid,2026-05-15\n", encoding="utf-8")
    app.import_payments(CI_POOL, results)

    # diagnosed on the last day of the waiting period: refused, and what the member paid is refunded
    late = claim(early, "2026-04-10", "2026-05-10", "stroke_sequelae")
    _, decision = app.review_claim(late.id)
    assert not decision.payable and decision.refund_contributions
    if refunds == "sponsor":  # through the command line, as an operator would
        rejected = invoke("claim", "reject", str(late.id), "--reason", "diagnosed in the waiting period")
        assert rejected.exit_code == 0, rejected.output
        assert rejected.output.splitlines()[1:] == [
            f"refunded member #{early.id}'s contributions to the pool: 108,000.00 CNY (owed to the member; "
            f"see 'mutualaid ledger entries {CI_POOL} --kind refund')",
            f"member #{early.id} 刘三 has left the pool on 2026-04-10: under the pool's rules this event ends "
            "the membership",
        ]
        refund, status = app.claims(CI_POOL, status="rejected")[0].refund, app.member(CI_POOL, early.id).status
    else:
        rejection = app.reject_claim(late.id, "diagnosed in the waiting period")
        refund, status = rejection.refund, rejection.member.status
    assert status == "exited"  # an illness in the waiting period ends the membership
    with app.transaction() as s:
        charged = s.scalar(select(func.sum(Charge.amount_minor)).where(Charge.member_id == early.id))
    assert charged == CI_SHARE
    assert refund == Decimal("108000.00") == Decimal(charged) / 100
    assert app.claims(CI_POOL, status="rejected")[0].refund == Decimal("108000.00")
    (entry,) = app.ledger_entries(CI_POOL, kind="refund")
    assert entry.claim_id == late.id
    assert _lines(entry) == [(payer, CI_SHARE, None, None), ("refunds_payable", -CI_SHARE, early.id, late.id)]
    assert entry.facts == {"member_id": early.id, "refund": CI_SHARE, "funded_by": payer}
    books = app.reconcile_books(CI_POOL)
    assert books.ok
    assert (books.balances["refunds_payable"], books.balances[payer]) == (-CI_SHARE, CI_SHARE)
    listed = invoke("ledger", "entries", CI_POOL, "--kind", "refund")
    assert listed.output.splitlines()[1:] == [
        f"          Dr {payer:<16} {'108,000.00':>16}",
        f"          Cr refunds_payable  {'108,000.00':>16} member #{early.id} claim #{late.id}",
    ]

    # the next period: a refund the pool funds is collected as a deficit carried in, by the 2
    # members left (the refunded member has exited)
    second = app.share(CI_POOL, "2026-05b")
    if refunds == "pool":
        assert (second.members, second.carried_in_minor, second.charged_minor, second.share_minor) == (
            2,
            CI_SHARE,
            CI_SHARE,
            CI_SHARE // 2,
        )
    else:
        assert (second.carried_in_minor, second.charged_minor) == (0, 0)
    # the refund paid out to the member
    app.adjust(
        CI_POOL, debit={"refunds_payable": "108000"}, credit={"cash": "108000"}, memo="refund paid", on="2026-05-25"
    )
    balances = app.ledger_balances(CI_POOL)
    assert (balances["refunds_payable"], balances["deficit"]) == (0, 0)
    assert balances["sponsor_due"] == (CI_SHARE if refunds == "sponsor" else 0)
    assert app.reconcile_books(CI_POOL).ok
    assert app.verify_ledger(CI_POOL).ok


# -- share plan: a period's figures from its inputs ---------------------------------------------


@pytest.fixture
def plan(runner, plugins, tmp_path, monkeypatch):
    """Run ``mutualaid share plan ARGS`` with no database (and check none is created)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("MUTUALAID_HOME", str(home))
    monkeypatch.delenv("MUTUALAID_DATABASE_URL", raising=False)

    def run(*args: str):
        result = runner.invoke(cli, ["share", "plan", *args], obj=State(plugins=plugins))
        assert list(home.iterdir()) == []
        return result

    return run


def test_share_plan_reproduces_a_xianghubao_period(plan):
    # 1,000,000.00 of aid, 8% fee, 0.35 carried in, 50 million members: 1,079,999.65 to share, 0.0216
    # each, rounded UP to 0.03; what that collects beyond the need is the surplus carried out.
    result = plan("--aid", "1000000", "--members", "50000000", "--surplus-in", "0.35")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "  claims funded        1\n"
        "  aid amount           1,000,000.00\n"
        "  management fee       80,000.00 (8% of the aid amount)\n"
        "  surplus carried in   -0.35\n"
        "  to share             1,079,999.65\n"
        "  members sharing      50,000,000\n"
        "  share                0.03 per member (round-up)\n"
        "  charged in total     1,500,000.00\n"
        "  surplus carried out  420,000.35\n"
        "  reconciles           yes: charged = aid + fee - surplus in + surplus out\n"
    )
    data = json.loads(plan("--aid", "1000000", "--members", "50000000", "--surplus-in", "0.35", "--json").output)
    assert {k: data[k] for k in ("aid", "fee", "surplus_in", "need", "share", "charged", "surplus_out")} == {
        "aid": "1000000.00",
        "fee": "80000.00",
        "surplus_in": "0.35",
        "need": "1079999.65",
        "share": "0.03",
        "charged": "1500000.00",
        "surplus_out": "420000.35",
    }
    assert Decimal(data["surplus_out"]) == Decimal(data["charged"]) - Decimal(data["need"])
    assert (data["members"], data["claims"], data["rounding"], data["fee_rate"], data["currency"]) == (
        50_000_000,
        1,
        "round-up",
        "0.08",
        "CNY",
    )
    assert (data["sponsor"], data["shortfall"], data["extra_count"], data["reconciles"]) == ("0.00", "0.00", 0, True)


def test_share_plan_with_exact_rounding_and_a_first_phase_fee(plan):
    # 300,000.00 + 10% - 0.02 = 329,999.98 over 7: 47,142.85 each and 3 members pay one fen more
    result = plan(
        "--aid", "300000", "--members", "7", "--surplus-in", "0.02", "--rounding", "exact", "--fee-rate", "0.1"
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "  claims funded        1\n"
        "  aid amount           300,000.00\n"
        "  management fee       30,000.00 (10% of the aid amount)\n"
        "  surplus carried in   -0.02\n"
        "  to share             329,999.98\n"
        "  members sharing      7\n"
        "  share                47,142.85; 3 members pay 47,142.86 (exact apportionment, rotating)\n"
        "  charged in total     329,999.98\n"
        "  surplus carried out  0.00\n"
        "  reconciles           yes: charged = aid + fee - surplus in + surplus out\n"
    )
    data = json.loads(
        plan("--aid", "300000", "--members", "7", "--surplus-in", "0.05", "--rounding", "exact", "--json").output
    )
    # 8%: 323,999.95 over 7 = 46,285.70 and 5 members pay 46,285.71
    assert (data["need"], data["share"], data["extra_count"], data["charged"], data["surplus_out"]) == (
        "323999.95",
        "46285.70",
        5,
        "323999.95",
        "0.00",
    )
    assert 46_285_70 * 7 + 5 == 323_999_95


CAPPED_POOL = """\
key = "early-xhb"
name = "相互宝 (first phase)"
cohort = "truckers"
currency = "CNY"
timezone = "Asia/Shanghai"
operator = "operator"

[sharing]
calendar = "semi-monthly"
management_fee_rate = "0.10"
rounding = "round-up"

[sharing.caps]
per_case = "0.10"
shortfall = "sponsor"

[settings]
"""


def test_share_plan_with_a_cap_equal_to_the_share_shows_what_members_pay(plan, tmp_path):
    pool_file = tmp_path / "exact.toml"
    pool_file.write_text(
        CAPPED_POOL.replace('rounding = "round-up"', 'rounding = "exact"').replace(
            'per_case = "0.10"', 'per_case = "33.33"'
        ),
        encoding="utf-8",
    )
    # 100.00 with no fee over 3 members: 33.33, and one member 33.34, but at most 33.33 per case
    result = plan("--pool", str(pool_file), "--aid", "100", "--members", "3", "--fee-rate", "0")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  share                33.33 per member (capped from 33.33 or 33.34)" in lines
    assert "  capped members       1 paid less because of a cap" in lines
    assert "  charged in total     99.99" in lines
    # under the cap the exact apportionment is shown as before
    under = plan("--pool", str(pool_file), "--aid", "99", "--members", "3", "--fee-rate", "0")
    assert "  share                33.00 per member (exact)" in under.output.splitlines()


def test_share_plan_takes_the_fee_rounding_and_caps_from_a_pool_file(plan, tmp_path):
    pool_file = tmp_path / "early.toml"
    pool_file.write_text(CAPPED_POOL, encoding="utf-8")
    # two patients, 600,000.00 + 10% over 2 million members: 0.33 each, but at most 0.10 per patient
    result = plan("--pool", str(pool_file), "--aid", "600000", "--members", "2000000", "--claims", "2")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "  claims funded        2\n"
        "  aid amount           600,000.00\n"
        "  management fee       60,000.00 (10% of the aid amount)\n"
        "  surplus carried in   0.00\n"
        "  to share             660,000.00\n"
        "  members sharing      2,000,000\n"
        "  share                0.20 per member (capped from 0.33)\n"
        "  capped members       2,000,000 paid less because of a cap\n"
        "  shortfall            260,000.00 (sponsor)\n"
        "  paid by the sponsor  260,000.00\n"
        "  charged in total     400,000.00\n"
        "  surplus carried out  0.00\n"
        "  reconciles           yes: charged + surplus in + sponsor + deficit out = aid funded + fee + deficit in + "
        "surplus out\n"
    )
    data = json.loads(
        plan("--pool", str(pool_file), "--aid", "600000", "--members", "2000000", "--claims", "2", "--json").output
    )
    assert (data["max_charge"], data["charged"], data["sponsor"], data["aid_funded"], data["capped_count"]) == (
        "0.20",
        "400000.00",
        "260000.00",
        "600000.00",
        2_000_000,
    )
    assert (data["shortfall_policy"], data["fee_rate"], data["reconciles"]) == ("sponsor", "0.10", True)
    # under the cap nothing changes: 100,000.00 + 10% over 5 million is 0.022, rounded up to 0.03
    under = json.loads(plan("--pool", str(pool_file), "--aid", "100000", "--members", "5000000", "--json").output)
    assert (under["share"], under["max_charge"], under["charged"], under["surplus_out"], under["sponsor"]) == (
        "0.03",
        "0.03",
        "150000.00",
        "40000.00",
        "0.00",
    )
    # an option overrides the file
    exact = json.loads(
        plan(
            "--pool", str(pool_file), "--aid", "100000", "--members", "5000000", "--rounding", "exact", "--json"
        ).output
    )
    assert (exact["share"], exact["extra_count"], exact["charged"], exact["surplus_out"]) == (
        "0.02",
        1_000_000,
        "110000.00",
        "0.00",
    )


def _truckers_toml(sharing: dict[str, str], caps: dict[str, str]) -> str:
    lines = [
        'key = "js-truckers"',
        'name = "江苏卡友互助"',
        'cohort = "truckers"',
        'currency = "CNY"',
        'timezone = "Asia/Shanghai"',
        'operator = "江苏卡友之家"',
        "[sharing]",
        'calendar = "monthly"',
        *(f'{k} = "{v}"' for k, v in sharing.items()),
    ]
    if caps:
        lines += ["[sharing.caps]", *(f'{k} = "{v}"' for k, v in caps.items())]
    return "\n".join([*lines, "[settings]", ""])


@pytest.mark.parametrize(
    ("sharing", "caps"),
    [
        pytest.param({"management_fee_rate": "0.08", "rounding": "round-up"}, {}, id="round-up"),
        pytest.param({"management_fee_rate": "0.1", "rounding": "exact"}, {}, id="exact"),
        pytest.param({"management_fee": "flat", "management_fee_per_member": "1.50"}, {}, id="flat-fee"),
        pytest.param(
            {"management_fee_rate": "0.08", "rounding": "round-up"},
            {"per_case": "40000", "shortfall": "sponsor"},
            id="cap-sponsor",
        ),
        pytest.param(
            {"management_fee_rate": "0.08", "rounding": "exact"},
            {"per_case": "40000", "shortfall": "prorate"},
            id="cap-prorate",
        ),
        pytest.param(
            {"management_fee_rate": "0.08", "rounding": "round-up"},
            {"per_period": "45000", "shortfall": "carry"},
            id="cap-carry",
        ),
        pytest.param(
            # 300,000.00 over 7 is 42,857.14 and 2 members pay a fen more: the cap is the share, so only
            # those 2 pay less
            {"management_fee": "none", "rounding": "exact"},
            {"per_case": "42857.14", "shortfall": "sponsor"},
            id="cap-equal-to-the-share",
        ),
    ],
)
def test_share_plan_agrees_with_a_real_run(app, plugins, make_driver, tmp_path, sharing, caps):
    """What 'share plan' works out from a pool file is what sharing a period of that pool does."""
    pool_file = tmp_path / "pool.toml"
    pool_file.write_text(_truckers_toml(sharing, caps), encoding="utf-8")
    app.create_pool(pool_file)
    for n in range(1, 9):
        app.join(POOL, **make_driver(n))
    _death(app, 1, "2026-10-20", "2026-10-25")
    run = app.share(POOL, "2026-11")
    assert run.members == 7 and run.aid_minor == BENEFIT

    plan = app.plan_period(pool_file=pool_file, aid="300000", members=7, claims=1)
    fields = (
        "members",
        "aid_minor",
        "fee_minor",
        "need_minor",
        "share_minor",
        "extra_count",
        "charged_minor",
        "surplus_out_minor",
        "aid_funded_minor",
        "sponsor_minor",
        "carried_out_minor",
        "shortfall_minor",
        "shortfall_policy",
        "capped_count",
        "max_charge_minor",
        "charge_rows",
    )
    assert {f: getattr(plan, f) for f in fields} == {f: getattr(run, f) for f in fields}
    assert plan.reconciles() and run.reconciles()
    assert app.reconcile_books(POOL).ok and app.verify_ledger(POOL).ok


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--aid", "-5", "--members", "10"], "--aid: must not be negative (-5 given)", id="negative-aid"),
        pytest.param(
            ["--aid", "1.005", "--members", "10"], "--aid: 1.005 CNY has more than 2 decimal places", id="3-decimals"
        ),
        pytest.param(["--aid", "many", "--members", "10"], "--aid: 'many' is not an amount", id="aid-not-a-number"),
        pytest.param(
            ["--aid", "100", "--members", "10", "--surplus-in", "-0.01"],
            "--surplus-in: must not be negative (-0.01 given)",
            id="negative-surplus",
        ),
        pytest.param(
            ["--aid", "100", "--members", "10", "--fee-rate", "eight"],
            "--fee-rate: 'eight' is not a number such as 0.08",
            id="fee-rate-not-a-number",
        ),
        pytest.param(
            ["--aid", "100", "--members", "10", "--fee-rate", "8"],
            "sharing.management_fee_rate: must be a fraction of the aid amount from 0 to 0.5 (8 given; write 0.08 "
            "for 8%)",
            id="fee-rate-a-percentage",
        ),
        pytest.param(
            ["--aid", "100", "--members", "10", "--currency", "XYZ"],
            "--currency: unknown currency 'XYZ'; use one of CNY, EUR, GBP, HKD, IDR, INR, JPY, KRW, MYR, SGD, TWD, USD",
            id="unknown-currency",
        ),
        pytest.param(
            ["--aid", "100.5", "--members", "10", "--currency", "JPY"],
            "--aid: 100.5 JPY has more than 0 decimal places",
            id="yen-with-decimals",
        ),
        pytest.param(
            ["--aid", "100", "--members", "0"],
            "no member shares this period, so its cost of 10800 minor units cannot be shared; check the pool's "
            "members and the period",
            id="no-members",
        ),
    ],
)
def test_share_plan_bad_input_is_one_line(plan, args, message):
    result = plan(*args)
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: {message}\n"


def test_share_plan_with_a_missing_pool_file(plan, tmp_path):
    missing = tmp_path / "nope.toml"
    result = plan("--pool", str(missing), "--aid", "100", "--members", "10")
    assert result.exit_code == 1
    assert result.output == f"Error: {missing}: file not found; give the path of a pool's TOML file\n"


def test_line_amounts_are_integer_minor_units():
    with pytest.raises(TypeError):
        Line("cash", Decimal("1.00"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown ledger account 'bank'"):
        Line("bank", 100)
