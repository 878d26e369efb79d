"""Joining a pool (``member join``), through the API and the CLI, on SQLite and PostgreSQL.

Every refused join is checked to the exact message, and to leave the database as it was.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from mutualaid import IneligibleError, NotFoundError
from mutualaid.cli import State, cli
from mutualaid.models import Charge, Claim, Member, Pool, SharingRun
from mutualaid.testing import resident_id
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

POOL = "js-truckers"
JOINED = date(2026, 10, 1)
BORN = date(1980, 1, 1)
ID1 = resident_id(BORN, 1)  # 110105198001010016
SHANGHAI = ZoneInfo("Asia/Shanghai")


# -- helpers ------------------------------------------------------------------------------------


def snapshot(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove that a refused operation changed nothing."""
    with app.transaction() as s:
        tables = [model.__table__ for model in (Pool, Member, Claim, SharingRun, Charge)]
        return {t.name: [tuple(r) for r in s.execute(select(t).order_by(*t.primary_key))] for t in tables}


def members(app: Any) -> list[tuple[Any, ...]]:
    with app.transaction() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(Member.id, Member.pool_id, Member.id_number, Member.name, Member.birth_date, Member.joined_on,
                       Member.waiting_until, Member.status, Member.ended_on).order_by(Member.id)
            )
        ]


@pytest.fixture
def pool(app, truckers_pool) -> str:
    app.create_pool(truckers_pool())
    return POOL


@pytest.fixture
def invoke(runner, db_url, plugins):
    """Run ``mutualaid --database-url URL ARGS...`` (the command closes its engine when it ends)."""

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--database-url", db_url, *args], obj=State(plugins=plugins))

    return run


def attrs(**overrides: str) -> dict[str, str]:
    values = {"licence_class": "A2", "licence_number": "LIC000001", "licence_expires": "2031-12-31",
              "driving_proof": "ETC-000001"}
    values.update(overrides)
    return values


def join_args(id_number: str = ID1, *, name: str = "张三", birth_date: str = "1980-01-01",
              joined_on: str | None = "2026-10-01", **overrides: str) -> list[str]:
    args = ["member", "join", POOL, "--id-number", id_number, "--name", name, "--birth-date", birth_date]
    if joined_on is not None:
        args += ["--joined-on", joined_on]
    for key, value in attrs(**overrides).items():
        args += ["--attr", f"{key}={value}"]
    return args


def pool_today() -> date:
    return datetime.now(SHANGHAI).date()


# -- an eligible driver joins -------------------------------------------------------------------


def test_join_through_the_api_stores_the_member(app, pool):
    record = app.join(pool, id_number=ID1, name=" 张三 ", birth_date="1980-01-01", joined_on="2026-10-01",
                      attributes=attrs(licence_class=" b2 "))
    assert (record.id, record.pool_key, record.id_number, record.name) == (1, POOL, ID1, "张三")
    assert (record.birth_date, record.joined_on, record.waiting_until) == (BORN, JOINED, date(2026, 12, 30))
    assert (record.status, record.ended_on) == ("active", None)
    assert record.attributes == {"licence_class": "B2", "licence_number": "LIC000001",
                                 "licence_expires": "2031-12-31", "driving_proof": "ETC-000001"}
    assert members(app) == [(1, 1, ID1, "张三", BORN, JOINED, date(2026, 12, 30), "active", None)]
    assert app.member(pool, 1) == record


@pytest.mark.parametrize(
    ("joined_on", "waiting_until"),
    [
        (date(2026, 10, 1), date(2026, 12, 30)),
        (date(2026, 11, 2), date(2027, 1, 31)),   # the README's example
        (date(2026, 12, 31), date(2027, 3, 31)),  # through a 28-day February
        (date(2027, 12, 31), date(2028, 3, 30)),  # through 29 February 2028
    ],
    ids=["2026-10-01", "2026-11-02", "over-28-feb", "over-29-feb-leap-year"],
)
def test_waiting_period_is_90_days_counted_from_the_day_after_joining(app, pool, joined_on, waiting_until):
    record = app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=joined_on, attributes=attrs())
    assert record.waiting_until == waiting_until
    # day 1 is the day after joining; day 90 is the last day of waiting, included
    assert (record.waiting_until - joined_on).days == 90
    assert record.state_on(joined_on) == "waiting"
    assert record.state_on(waiting_until) == "waiting"
    assert record.state_on(waiting_until + timedelta(days=1)) == "active"


def test_waiting_period_follows_the_pool_setting(app, truckers_pool):
    app.create_pool(truckers_pool(settings={"illness_waiting_days": 0}))
    record = app.join(POOL, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    assert record.waiting_until == JOINED  # covered for illness from the day after joining
    assert record.state_on(JOINED) == "waiting"
    assert record.state_on(JOINED + timedelta(days=1)) == "active"


def test_join_through_the_cli(app, pool, invoke):
    result = invoke(*join_args())
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "member #1 张三 joined pool 'js-truckers' on 2026-10-01; waiting period until 2026-12-30 (that day included)\n"
        "welcome notice: mutualaid notice render js-truckers --kind welcome --member 1 --out DIR\n"
    )
    assert members(app) == [(1, 1, ID1, "张三", BORN, JOINED, date(2026, 12, 30), "active", None)]


def test_join_through_the_cli_as_json(app, pool, invoke):
    result = invoke(*join_args(), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "id": 1, "pool": POOL, "id_number": ID1, "name": "张三", "birth_date": "1980-01-01",
        "joined_on": "2026-10-01", "waiting_until": "2026-12-30", "status": "active", "ended_on": None,
        "attributes": {"licence_class": "A2", "licence_number": "LIC000001", "licence_expires": "2031-12-31",
                       "driving_proof": "ETC-000001"},
    }


def test_joined_on_defaults_to_today_in_the_pool_time_zone(app, pool, invoke):
    result = invoke(*join_args(joined_on=None), "--json")
    assert result.exit_code == 0, result.output
    today = pool_today()
    data = json.loads(result.stdout)
    assert data["joined_on"] == today.isoformat()
    assert data["waiting_until"] == (today + timedelta(days=90)).isoformat()


def test_member_state_is_waiting_then_active(app, pool, invoke):
    today = pool_today()
    app.join(pool, id_number=resident_id(BORN, 1), name="老会员", birth_date=BORN,
             joined_on=today - timedelta(days=91), attributes=attrs())  # waited 90 days until yesterday
    app.join(pool, id_number=resident_id(BORN, 2), name="等待中", birth_date=BORN,
             joined_on=today - timedelta(days=90), attributes=attrs())  # today is day 90: still waiting
    app.join(pool, id_number=resident_id(BORN, 3), name="新会员", birth_date=BORN, joined_on=today,
             attributes=attrs())
    result = invoke("member", "list", POOL, "--json")
    assert result.exit_code == 0, result.output
    assert [(m["name"], m["status"], m["state"]) for m in json.loads(result.stdout)] == [
        ("老会员", "active", "active"),
        ("等待中", "active", "waiting"),
        ("新会员", "active", "waiting"),
    ]


# -- an ineligible applicant: every reason, and nothing written --------------------------------


def test_ineligible_applicant_gets_every_reason_through_the_cli(app, pool, invoke):
    app.join(pool, id_number=resident_id(BORN, 9), name="已入会", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    before = snapshot(app)
    # 17 on the joining day; the ID number says 2009-06-14 and its check digit is wrong
    good = resident_id(date(2009, 6, 14), 5)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    result = invoke(*join_args(bad_check, name="李四", birth_date="2009-06-15", licence_class="C1",
                               licence_expires="2026-09-30", driving_proof=""))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: 李四 cannot join pool 'js-truckers':\n"
        "age 17 on the joining day 2026-10-01 is below the minimum of 18\n"
        "licence class C1 is not accepted; accepted classes: A1, A2, B1, B2\n"
        "the driving licence is valid only until 2026-09-30, before the joining day 2026-10-01; renew it before "
        "joining\n"
        "proof of active driving is required (a waybill, ETC or employer reference); give its reference as "
        "driving_proof\n"
        f"ID number 110105…{bad_check[-2:]} fails the resident-ID check digit; check it for a typo\n"
        "the birth date in the ID number (2009-06-14) is not the birth date given (2009-06-15)\n"
    )
    assert snapshot(app) == before


def test_ineligible_applicant_through_the_api_lists_the_problems(app, pool):
    with pytest.raises(IneligibleError) as caught:
        app.join(pool, id_number=resident_id(date(1965, 9, 30), 1), name="王五", birth_date="1965-09-30",
                 joined_on=JOINED, attributes=attrs(licence_expires="2026-10-01"))
    assert caught.value.summary == "王五 cannot join pool 'js-truckers':"
    assert caught.value.problems == [
        "age 61 on the joining day 2026-10-01 is above the maximum of 60",
        "the driving licence is valid only until the joining day 2026-10-01, so it has expired when cover starts "
        "on 2026-10-02; renew it before joining",
    ]
    assert members(app) == []


@pytest.mark.parametrize(
    ("born", "eligible"),
    [
        (date(2008, 10, 1), True),    # 18th birthday on the joining day
        (date(2008, 10, 2), False),   # 17 until tomorrow
        (date(1965, 10, 2), True),    # 61st birthday the day after joining: 60 on the day
        (date(1965, 10, 1), False),   # 61 on the joining day
    ],
    ids=["18-on-the-day", "17", "60-turning-61-tomorrow", "61-on-the-day"],
)
def test_age_limits_on_the_joining_day(app, pool, born, eligible):
    kwargs = dict(id_number=resident_id(born, 1), name="司机", birth_date=born, joined_on=JOINED, attributes=attrs())
    if eligible:
        assert app.join(pool, **kwargs).id == 1
    else:
        with pytest.raises(IneligibleError, match=r"^司机 cannot join pool 'js-truckers':$"):
            app.join(pool, **kwargs)
        assert members(app) == []


# -- one live membership per person and pool ----------------------------------------------------


def test_second_join_is_refused_naming_the_existing_member(app, pool, invoke):
    app.join(pool, id_number=resident_id(BORN, 7), name="别人", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    assert invoke(*join_args()).exit_code == 0  # member #2
    before = snapshot(app)
    result = invoke(*join_args(name="张三丰", joined_on="2026-11-01"))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 张三丰 cannot join pool 'js-truckers':\n"
        "this person already holds live membership #2 in pool 'js-truckers'\n"
    )
    with pytest.raises(IneligibleError) as caught:
        app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    assert caught.value.problems == ["this person already holds live membership #2 in pool 'js-truckers'"]
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda n: n.lower(), id="lower-case-x"),
        pytest.param(lambda n: f"  {n}\t", id="surrounding-blanks"),
        pytest.param(lambda n: n.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"}), id="full-width-digits"),
    ],
)
def test_the_same_id_number_written_differently_is_the_same_person(app, pool, variant):
    number = resident_id(BORN, 18)
    assert number == "11010519800101018X"
    first = app.join(pool, id_number=number, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    with pytest.raises(IneligibleError) as caught:
        app.join(pool, id_number=variant(number), name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    assert caught.value.problems == [f"this person already holds live membership #{first.id} in pool 'js-truckers'"]
    assert app.member(pool, variant(number)).id == first.id
    assert [m[2] for m in members(app)] == [number]


def test_the_same_person_may_join_another_pool(app, pool, truckers_pool):
    app.create_pool(truckers_pool(key="zj-truckers", name="浙江卡友互助"))
    first = app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    second = app.join("zj-truckers", id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    assert (first.id, first.pool_key, second.id, second.pool_key) == (1, POOL, 2, "zj-truckers")
    assert [(m[0], m[1], m[2], m[7]) for m in members(app)] == [(1, 1, ID1, "active"), (2, 2, ID1, "active")]


def test_a_deceased_member_cannot_join_again(app, pool, invoke):
    app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    claim = app.file_claim(pool, 1, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)
    assert members(app) == [(1, 1, ID1, "张三", BORN, JOINED, date(2026, 12, 30), "deceased", date(2026, 10, 20))]
    before = snapshot(app)
    result = invoke(*join_args(joined_on="2026-11-01"))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 张三 cannot join pool 'js-truckers':\n"
        "this person is recorded as deceased (member #1, died on 2026-10-20) in pool 'js-truckers'\n"
    )
    assert snapshot(app) == before


def test_a_member_who_left_may_join_again(app, pool, invoke):
    app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    with app.transaction() as s:  # there is no exit command yet: mark the membership exited
        s.execute(Member.__table__.update().values(status="exited", ended_on=date(2026, 10, 15)))
    again = app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on="2026-11-01", attributes=attrs())
    assert again.id == 2
    assert [(m[0], m[7]) for m in members(app)] == [(1, "exited"), (2, "active")]
    # by ID number, the live membership is shown first
    result = invoke("member", "show", POOL, ID1, "--json")
    assert result.exit_code == 0, result.output
    assert (json.loads(result.stdout)["id"], json.loads(result.stdout)["status"]) == (2, "active")


def test_the_database_allows_one_live_membership_per_person_and_pool(app, pool):
    """The partial unique index uq_members_live_person covers the live statuses only."""
    app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    row = {"pool_id": 1, "id_number": ID1, "name": "张三", "birth_date": BORN, "joined_on": JOINED,
           "waiting_until": JOINED, "ended_on": None, "attributes_json": "{}"}
    for status in ("exited", "lapsed", "deceased"):
        with app.transaction() as s:
            s.execute(insert(Member.__table__).values({**row, "status": status}))
    for status in ("active", "frozen"):
        with pytest.raises(IntegrityError), app.transaction() as s:
            s.execute(insert(Member.__table__).values({**row, "status": status}))
    assert [m[7] for m in members(app)] == ["active", "exited", "lapsed", "deceased"]


# -- bad input: exact messages, nothing written -------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        pytest.param({"birth_date": "1980-13-01"},
                     ["birth_date: '1980-13-01' is not a date; write it as YYYY-MM-DD"], id="bad-birth-date"),
        pytest.param({"birth_date": "1.1.1980"},
                     ["birth_date: '1.1.1980' is not a date; write it as YYYY-MM-DD"], id="birth-date-not-iso"),
        pytest.param({"joined_on": "2026-02-30"},
                     ["joined_on: '2026-02-30' is not a date; write it as YYYY-MM-DD"], id="bad-joining-day"),
        pytest.param({"birth_date": "2026-10-02"},
                     ["birth_date: 2026-10-02 is after the joining day 2026-10-01"], id="born-after-joining"),
        pytest.param({"licence_expires": "soon"},
                     ["licence_expires: Input should be a valid date or datetime, input is too short"],
                     id="bad-attribute-date"),
        pytest.param({"licence_class": "Z9"},
                     ["licence_class: 'Z9' is not a Chinese driving licence class; use one of A1, A2, A3, B1, B2, C1, "
                      "C2, C3, C4, C5, C6, D, E, F, M, N, P"], id="unknown-licence-class"),
        pytest.param({"name": "   "}, ["name: is required"], id="blank-name"),
        pytest.param({"name": "张\n三"}, ["name: contains a line break or another control character"],
                     id="name-with-line-break"),
        pytest.param({"id_number": ""}, ["id_number: is required"], id="blank-id-number"),
        pytest.param({"id_number": "9" * 65}, ["id_number: is longer than 64 characters"], id="id-number-too-long"),
        pytest.param({"bogus": "1"},
                     ["bogus: unknown key (check its spelling; the known names are licence_class, licence_number, "
                      "licence_expires, driving_proof)"], id="unknown-attribute"),
        pytest.param({"licence_number": None, "licence_expires": None},
                     ["licence_number: Field required", "licence_expires: Field required"], id="missing-attributes"),
        pytest.param({"birth_date": "1980-13-01", "joined_on": "x", "licence_class": None, "extra": "1"},
                     ["birth_date: '1980-13-01' is not a date; write it as YYYY-MM-DD",
                      "joined_on: 'x' is not a date; write it as YYYY-MM-DD",
                      "licence_class: Field required",
                      "extra: unknown key (check its spelling; the known names are licence_class, licence_number, "
                      "licence_expires, driving_proof)"], id="all-problems-together"),
    ],
)
def test_bad_input_is_refused_with_every_problem(app, pool, changes, problems):
    app.join(pool, id_number=resident_id(BORN, 9), name="已入会", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    before = snapshot(app)
    core = {"id_number": ID1, "name": "张三", "birth_date": "1980-01-01", "joined_on": "2026-10-01"}
    attributes = attrs()
    for key, value in changes.items():
        target = core if key in core else attributes
        if value is None:
            del target[key]
        else:
            target[key] = value
    with pytest.raises(IneligibleError) as caught:
        app.join(pool, attributes=attributes, **core)
    assert caught.value.problems == problems
    assert snapshot(app) == before


def test_resident_id_check_digit_is_checked(app, pool):
    good = resident_id(BORN, 1)
    bad = good[:17] + "9"
    assert good[17] != "9"
    with pytest.raises(IneligibleError) as caught:
        app.join(pool, id_number=bad, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    assert caught.value.problems == ["ID number 110105…19 fails the resident-ID check digit; check it for a typo"]
    assert members(app) == []


def test_resident_id_birth_date_must_be_the_birth_date_given(app, pool):
    with pytest.raises(IneligibleError) as caught:
        app.join(pool, id_number=resident_id(date(1980, 1, 2), 1), name="张三", birth_date=BORN, joined_on=JOINED,
                 attributes=attrs())
    assert caught.value.problems == [
        "the birth date in the ID number (1980-01-02) is not the birth date given (1980-01-01)"
    ]
    assert members(app) == []


def test_other_identity_documents_are_accepted_as_given(app, pool):
    record = app.join(pool, id_number="E12345678", name="Li Si", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    assert record.id_number == "E12345678"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--attr", "licence_class"], "Error: --attr 'licence_class' must look like key=value\n",
                     id="no-equals-sign"),
        pytest.param(["--attr", "=A2"], "Error: --attr '=A2' must look like key=value\n", id="no-key"),
    ],
)
def test_malformed_attr_is_refused(app, pool, invoke, args, message):
    before = snapshot(app)
    result = invoke(*join_args(), *args)
    assert result.exit_code == 1
    assert result.stderr == message
    assert snapshot(app) == before


def test_unknown_attr_through_the_cli(app, pool, invoke):
    result = invoke(*join_args(), "--attr", "licence_colour=red")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 张三 cannot join pool 'js-truckers':\n"
        "licence_colour: unknown key (check its spelling; the known names are licence_class, licence_number, "
        "licence_expires, driving_proof)\n"
    )
    assert members(app) == []


def test_missing_attributes_through_the_cli(app, pool, invoke):
    result = invoke("member", "join", POOL, "--id-number", ID1, "--name", "张三", "--birth-date", "1980-01-01")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 张三 cannot join pool 'js-truckers':\n"
        "licence_class: Field required\n"
        "licence_number: Field required\n"
        "licence_expires: Field required\n"
    )
    assert members(app) == []


def test_missing_required_option_is_a_usage_error(app, pool, invoke):
    result = invoke("member", "join", POOL, "--id-number", ID1, "--birth-date", "1980-01-01")
    assert result.exit_code == 2
    assert "Error: Missing option '--name'." in result.stderr
    assert members(app) == []


def test_unknown_pool(app, pool, invoke):
    result = invoke(*join_args()[:2], "no-such-pool", *join_args()[3:])
    assert result.exit_code == 1
    assert result.stderr == "Error: no pool 'no-such-pool' (existing pools: js-truckers)\n"


def test_a_datetime_birth_date_counts_as_its_date(app, pool):
    record = app.join(pool, id_number=ID1, name="张三", birth_date=datetime(1980, 1, 1, 12, 0), joined_on=JOINED,
                      attributes=attrs())
    assert record.birth_date == BORN and type(record.birth_date) is date


# -- list and show ------------------------------------------------------------------------------


@pytest.fixture
def three(app, pool) -> list[Any]:
    return [
        app.join(pool, id_number=resident_id(BORN, n), name=f"司机{n}", birth_date=BORN, joined_on=JOINED,
                 attributes=attrs(licence_number=f"LIC{n:06d}"))
        for n in (1, 2, 3)
    ]


def test_member_list_json(app, three, invoke):
    result = invoke("member", "list", POOL, "--json")
    assert result.exit_code == 0, result.output
    today = pool_today()
    assert json.loads(result.stdout) == [
        {
            "id": n, "pool": POOL, "id_number": resident_id(BORN, n), "name": f"司机{n}", "birth_date": "1980-01-01",
            "joined_on": "2026-10-01", "waiting_until": "2026-12-30", "status": "active", "ended_on": None,
            "attributes": {"licence_class": "A2", "licence_number": f"LIC{n:06d}", "licence_expires": "2031-12-31",
                           "driving_proof": "ETC-000001"},
            "state": "waiting" if today <= date(2026, 12, 30) else "active",
        }
        for n in (1, 2, 3)
    ]


def test_member_list_filters_and_limits(app, three, invoke):
    claim = app.file_claim(POOL, 2, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
    app.approve_claim(claim.id)
    result = invoke("member", "list", POOL, "--status", "deceased", "--json")
    assert [m["id"] for m in json.loads(result.stdout)] == [2]
    assert json.loads(result.stdout)[0]["ended_on"] == "2026-10-20"
    result = invoke("member", "list", POOL, "--status", "active", "--limit", "1", "--json")
    assert [m["id"] for m in json.loads(result.stdout)] == [1]


def test_member_list_table(app, three, invoke):
    result = invoke("member", "list", POOL, "--limit", "1")
    assert result.exit_code == 0, result.output
    state = "waiting" if pool_today() <= date(2026, 12, 30) else "active"
    assert result.stdout == (
        f"member  name   id number           born        joined      waiting until  {'state':<{len(state)}}".rstrip()
        + "\n------  -----  ------------------  ----------  ----------  -------------  " + "-" * len(state) + "\n"
        f"1       司机1  {resident_id(BORN, 1)}  1980-01-01  2026-10-01  2026-12-30     {state}\n"
    )


@pytest.mark.parametrize(
    "ref", [pytest.param("2", id="member-number"), pytest.param("#2", id="hash-number"),
            pytest.param(resident_id(BORN, 2), id="id-number")],
)
def test_member_show(app, three, invoke, ref):
    result = invoke("member", "show", POOL, ref)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "id: 2\n"
        "pool: js-truckers\n"
        f"id_number: {resident_id(BORN, 2)}\n"
        "name: 司机2\n"
        "birth_date: 1980-01-01\n"
        "joined_on: 2026-10-01\n"
        "waiting_until: 2026-12-30\n"
        "status: active\n"
        "ended_on: None\n"
        "attributes: {'licence_class': 'A2', 'licence_number': 'LIC000002', 'licence_expires': '2031-12-31', "
        "'driving_proof': 'ETC-000001'}\n"
    )


def test_member_show_json(app, three, invoke):
    result = invoke("member", "show", POOL, "3", "--json")
    assert json.loads(result.stdout) == three[2].as_dict()


@pytest.mark.parametrize("ref", ["99", resident_id(BORN, 99), "nobody"], ids=["number", "id-number", "text"])
def test_member_show_unknown(app, three, invoke, ref):
    result = invoke("member", "show", POOL, ref)
    assert result.exit_code == 1
    assert result.stderr == f"Error: pool 'js-truckers' has no member '{ref}' (give a member number or an ID number)\n"
    with pytest.raises(NotFoundError):
        app.member(POOL, ref)


def test_member_numbers_belong_to_their_pool(app, three, truckers_pool):
    app.create_pool(truckers_pool(key="zj-truckers", name="浙江卡友互助"))
    with pytest.raises(NotFoundError, match=r"^pool 'zj-truckers' has no member 1 "):
        app.member("zj-truckers", 1)
