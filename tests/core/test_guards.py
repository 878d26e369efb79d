"""Guards: inputs that cannot be right are refused in one line, and nothing is changed.

Amounts beyond what mutualaid records (10^15 minor units) are refused before any arithmetic, on
every path that takes one (a what-if plan, a ledger adjustment, a top-up); a database URL naming a
file that is not a SQLite database, or a directory, is refused before SQLite reads it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from mutualaid.cli import State, cli

POOL = "js-truckers"
BEYOND = "is beyond the largest amount recorded (10,000,000,000,000.00)"


def _rows(app) -> dict[str, list[tuple]]:
    with app.transaction() as s:
        return {
            table: [tuple(r) for r in s.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
            for table in ("members", "ledger_entries", "ledger_lines", "balances", "top_ups")
        }


@pytest.fixture
def prepaid(app, truckers_pool, make_driver):
    app.create_pool(truckers_pool(payments={"model": "prepaid"}))
    app.join(POOL, **make_driver(1))
    app.top_up(POOL, 1, "100", on="2026-10-02")
    return app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("share", "plan", "--aid", "1e40", "--members", "10"), f"Error: --aid: 1E+40 CNY {BEYOND}\n"),
        (
            ("share", "plan", "--aid", "100000000000000", "--members", "10"),
            f"Error: --aid: 100000000000000 CNY {BEYOND}\n",
        ),
        (
            ("ledger", "adjust", POOL, "--memo", "x", "--debit", "cash=1e20", "--credit", "aid_payable=1e20"),
            f"Error: cash: 1E+20 CNY {BEYOND}\naid_payable: 1E+20 CNY {BEYOND}\n",
        ),
    ],
    ids=["plan-1e40", "plan-1e14", "adjust-1e20"],
)
def test_an_amount_beyond_what_is_recorded_is_one_error_and_changes_nothing(prepaid, invoke, args, message):
    before = _rows(prepaid)
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.output == message
    assert _rows(prepaid) == before


def test_a_top_up_beyond_what_is_recorded_is_refused(prepaid, invoke):
    before = _rows(prepaid)
    result = invoke("balance", "topup", POOL, "1", "1e17", "--on", "2026-10-05")
    assert result.exit_code == 1
    assert result.output.endswith(f"1E+17 CNY {BEYOND}\n"), result.output
    assert len(result.output.strip().splitlines()) <= 2
    assert _rows(prepaid) == before


@pytest.mark.parametrize("content", [b"hello, not a database\n", b"\x00" * 100], ids=["text", "zeros"])
def test_a_database_url_naming_a_file_that_is_not_sqlite_is_refused_untouched(runner, plugins, tmp_path, content):
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    result = runner.invoke(cli, ["--database-url", f"sqlite:///{path}", "pool", "list"], obj=State(plugins=plugins))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path} is not a SQLite database (it does not start with SQLite's header); check --database-url\n"
    )
    assert path.read_bytes() == content


def test_a_database_url_naming_a_directory_is_refused(runner, plugins, tmp_path):
    result = runner.invoke(cli, ["--database-url", f"sqlite:///{tmp_path}", "pool", "list"], obj=State(plugins=plugins))
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path} is a directory, not a database file; check --database-url\n"


def test_mutualaid_today_sets_the_pools_today_and_a_bad_one_is_one_line(
    app, invoke, truckers_pool, make_driver, monkeypatch
):
    app.create_pool(truckers_pool())
    driver = make_driver(1)
    args = ["member", "join", POOL, "--id-number", driver["id_number"], "--name", driver["name"]]
    args += ["--birth-date", driver["birth_date"].isoformat()]
    for name, value in driver["attributes"].items():
        args += ["--attr", f"{name}={value}"]
    monkeypatch.setenv("MUTUALAID_TODAY", "2026-10-3")
    bad = invoke(*args)
    assert bad.exit_code == 1
    assert bad.output == "Error: MUTUALAID_TODAY='2026-10-3' is not a day; write it as YYYY-MM-DD, or unset it\n"
    assert app.members(POOL) == []
    monkeypatch.setenv("MUTUALAID_TODAY", "2026-10-03")
    joined = invoke(*args)
    assert joined.exit_code == 0, joined.output
    assert [str(m.joined_on) for m in app.members(POOL)] == ["2026-10-03"]


# -- resident ID numbers of every length ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_number", "born", "problems"),
    [
        pytest.param("110105198001010016", "1980-01-01", [], id="18-valid"),
        pytest.param(
            "110105198001010017",
            "1980-01-01",
            ["ID number 110105…17 fails the resident-ID check digit; check it for a typo"],
            id="18-check-digit",
        ),
        pytest.param("110105800101001", "1980-01-01", [], id="15-old-form"),
        pytest.param(
            "110105800101001",
            "1981-01-01",
            ["the birth date in the 15-digit ID number (1980-01-01) is not the birth date given (1981-01-01)"],
            id="15-birth-date",
        ),
        pytest.param(
            "11010519800101001",
            "1980-01-01",
            [
                "ID number 110…01 has 17 characters; a resident ID number has 18 (or 15 in the old form); check it "
                "for a missing or extra digit"
            ],
            id="17-digits",
        ),
        pytest.param(
            "1101051980010100166",
            "1980-01-01",
            [
                "ID number 110…66 has 19 characters; a resident ID number has 18 (or 15 in the old form); check it "
                "for a missing or extra digit"
            ],
            id="19-digits",
        ),
        pytest.param(
            "11010580010100X",
            "1980-01-01",
            [
                "ID number 110…0X has 15 characters; a resident ID number has 18 (or 15 in the old form); check it "
                "for a missing or extra digit"
            ],
            id="15-with-an-x",
        ),
        pytest.param("E12345678", "1980-01-01", [], id="a-passport-is-not-checked"),
    ],
)
def test_resident_id_numbers_of_every_length_are_checked(id_number, born, problems):
    from datetime import date

    from mutualaid.identity import resident_id_problems

    assert resident_id_problems(id_number, date.fromisoformat(born)) == problems


def test_a_17_digit_id_number_cannot_join(app, invoke, truckers_pool, make_driver):
    app.create_pool(truckers_pool())
    driver = make_driver(1)
    args = ["member", "join", POOL, "--id-number", driver["id_number"][:17], "--name", driver["name"]]
    args += ["--birth-date", driver["birth_date"].isoformat(), "--joined-on", "2026-10-01"]
    for name, value in driver["attributes"].items():
        args += ["--attr", f"{name}={value}"]
    result = invoke(*args)
    assert result.exit_code == 1
    short = driver["id_number"][:17]
    assert result.output == (
        f"Error: {driver['name']} cannot join pool '{POOL}': "
        f"ID number {short[:3]}…{short[-2:]} has 17 characters; a resident ID number has 18 (or 15 in the old "
        "form); check it for a missing or extra digit\n"
    )
    assert app.members(POOL) == []


# -- periods ---------------------------------------------------------------------------------------------


def test_a_period_is_shared_only_once_its_notice_day_has_come(app, invoke, truckers_pool, make_driver, monkeypatch):
    """``share run --period 2062-11`` was accepted, and from then on every real period was refused as
    "before the last shared period"."""
    monkeypatch.setenv("MUTUALAID_TODAY", "2026-11-06")
    app.create_pool(truckers_pool())
    app.join(POOL, **make_driver(1))
    before = _rows(app)
    for period, notice in (("2062-11", "2062-11-07"), ("2026-11", "2026-11-07")):
        result = invoke("share", "run", POOL, "--period", period)
        assert result.exit_code == 1
        assert result.output == (
            f"Error: period {period} cannot be shared before its notice day {notice} (today is 2026-11-06 in the "
            "pool's time zone): its members are counted at 00:00 that day\n"
        )
    assert _rows(app) == before
    with app.transaction() as s:
        assert s.execute(text("SELECT count(*) FROM sharing_runs")).scalar() == 0
    monkeypatch.setenv("MUTUALAID_TODAY", "2026-11-07")  # the notice day: members counted at 00:00 of it
    assert invoke("share", "run", POOL, "--period", "2026-11").exit_code == 0


# -- joining days -------------------------------------------------------------------------------------


def _join_args(driver, joined_on: str) -> list[str]:
    args = ["member", "join", POOL, "--id-number", driver["id_number"], "--name", driver["name"]]
    args += ["--birth-date", driver["birth_date"].isoformat(), "--joined-on", joined_on]
    for name, value in driver["attributes"].items():
        args += ["--attr", f"{name}={value}"]
    return args


def test_a_join_is_refused_in_the_future_and_before_a_shared_period(
    app, invoke, truckers_pool, make_driver, monkeypatch, tmp_path
):
    """A member backdated before a period already shared could claim for an event its members had
    paid for without them (adverse selection by the back door); one joining in 2030 was accepted."""
    monkeypatch.setenv("MUTUALAID_TODAY", "2026-11-20")
    app.create_pool(truckers_pool())
    app.join(POOL, **make_driver(1))
    app.share(POOL, "2026-11")  # notice day 2026-11-07
    before = _rows(app)
    late = make_driver(2)
    future = invoke(*_join_args(late, "2030-01-01"))
    assert future.exit_code == 1
    [line] = future.output.splitlines()  # one line: the summary and its one problem
    assert line.endswith(
        "joined_on: 2030-01-01 is after today (2026-11-20 in the pool's time zone); record a member on or after the "
        "day they join"
    )
    backdated = invoke(*_join_args(late, "2026-10-01"))
    assert backdated.exit_code == 1
    [line] = backdated.output.splitlines()  # one line: the summary and its one problem
    assert line.endswith(
        "joined_on: 2026-10-01 is before the notice day of period 2026-11 (2026-11-07), which is already shared; a "
        "member joins on or after it"
    )
    rows = tmp_path / "late.csv"
    attrs = late["attributes"]
    rows.write_text(
        "id_number,name,birth_date,joined_on," + ",".join(attrs) + "\n"
        f"{late['id_number']},{late['name']},{late['birth_date'].isoformat()},2026-11-01,"
        + ",".join(attrs.values())
        + "\n",
        encoding="utf-8",
    )
    imported = invoke("member", "import", POOL, str(rows))
    assert imported.exit_code == 1
    assert (
        f"{rows}:2: joined_on: 2026-11-01 is before the notice day of period 2026-11 (2026-11-07), which is already "
        "shared; a member joins on or after it"
    ) in imported.output
    assert _rows(app) == before
    assert invoke(*_join_args(late, "2026-11-07")).exit_code == 0  # on the notice day itself: allowed


# -- claims ---------------------------------------------------------------------------------------------


def test_the_same_claim_twice_is_refused_naming_the_earlier_one(app, invoke, truckers_pool, make_driver):
    app.create_pool(truckers_pool())
    for n in (1, 2, 3):
        app.join(POOL, **make_driver(n))
    args = (
        "claim",
        "file",
        POOL,
        "2",
        "--kind",
        "accidental_death",
        "--date",
        "2026-10-20",
        "--filed-on",
        "2026-10-22",
    )
    assert invoke(*args).exit_code == 0
    invoke("claim", "approve", "1")
    before = _rows(app)
    again = invoke(*args)
    assert again.exit_code == 1
    assert again.output == (
        "Error: the claim for member #2 was not filed: "
        "date: member #2 already has claim #1 (approved) for accidental_death on 2026-10-20; the same event is "
        "claimed once (see 'mutualaid claim show 1')\n"
    )
    assert _rows(app) == before
    assert [c.id for c in app.claims(POOL)] == [1]


def test_a_claim_for_an_event_after_the_notice_day_waits_for_the_next_period(
    app, truckers_pool, make_driver, monkeypatch
):
    """Period 2026-03a (notice day 7 March) funded claims for events in May; an event after the
    notice day is the next period's."""
    monkeypatch.setenv("MUTUALAID_TODAY", "2026-11-30")
    app.create_pool(truckers_pool())
    for n in (1, 2, 3):
        app.join(POOL, **make_driver(n))
    early = app.file_claim(POOL, 2, event_kind="accidental_death", event_date="2026-11-06", filed_on="2026-11-06")
    late = app.file_claim(POOL, 3, event_kind="accidental_death", event_date="2026-11-08", filed_on="2026-11-09")
    app.approve_claim(early.id)
    app.approve_claim(late.id)
    november = app.share(POOL, "2026-11")  # notice day 2026-11-07
    assert (november.claims, november.aid_minor) == (1, 30_000_000)
    assert {c.id: c.status for c in app.claims(POOL)} == {early.id: "shared", late.id: "approved"}
    monkeypatch.setenv("MUTUALAID_TODAY", "2026-12-07")
    december = app.share(POOL, "2026-12")
    assert (december.claims, december.aid_minor) == (1, 30_000_000)
    assert {c.id: c.status for c in app.claims(POOL)} == {early.id: "shared", late.id: "shared"}


def test_an_old_15_digit_number_is_stored_in_its_18_character_form(app, invoke, truckers_pool, make_driver):
    """One person, one number: the first-generation 15-digit number of 110105198001010016 is
    110105800101001 (no century, no check digit); a member joined with it is found, and refused a
    second membership, by either form."""
    app.create_pool(truckers_pool())
    driver = make_driver(1)
    assert driver["id_number"] == "110105198001010016"
    member = app.join(POOL, **{**driver, "id_number": "110105800101001"})
    assert app.member(POOL, member.id, reveal=True).id_number == "110105198001010016"
    assert app.member(POOL, "110105800101001").id == member.id
    before = _rows(app)
    again = invoke(*_join_args(driver, "2026-10-01"))
    assert again.exit_code == 1
    assert again.output == (
        f"Error: {driver['name']} cannot join pool '{POOL}': "
        f"this person (ID 110*************16) already holds live membership #{member.id} in pool '{POOL}'\n"
    )
    assert _rows(app) == before
