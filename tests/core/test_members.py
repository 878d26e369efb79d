"""Members through the API and the CLI, on SQLite and PostgreSQL: joining (``member join``), list
and show, exits and deaths (``member exit``), attribute updates (``member update``), and two joins
of one person at once.

Every refused operation is checked to the exact message, and to leave the database as it was.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from support import plain_id_number

from mutualaid import ImportRowsError, IneligibleError, NotFoundError, StateError, ValidationError
from mutualaid.db.models import Charge, Claim, Member, Pool, SharingRun
from mutualaid.fields import parse_date
from mutualaid.keys import load_key
from mutualaid.members import end_membership, join_member, update_member
from mutualaid.members import importing as members_importing
from mutualaid.members import service as members_service
from mutualaid.privacy import mask_id_number
from mutualaid.testing import resident_id

POOL = "js-truckers"
JOINED = date(2026, 10, 1)
BORN = date(1980, 1, 1)
ID1 = resident_id(BORN, 1)  # 110105198001010016
MASKED1 = mask_id_number(ID1)  # 110*************16: what every listing shows
SHANGHAI = ZoneInfo("Asia/Shanghai")


# -- helpers ------------------------------------------------------------------------------------


def snapshot(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove that a refused operation changed nothing."""
    with app.transaction() as s:
        tables = [model.__table__ for model in (Pool, Member, Claim, SharingRun, Charge)]
        return {t.name: [tuple(r) for r in s.execute(select(t).order_by(*t.primary_key))] for t in tables}


def members(app: Any) -> list[tuple[Any, ...]]:
    """Every member's row, its ID number as stored decrypted (it is stored encrypted)."""
    with app.transaction() as s:
        return [
            (r[0], r[1], plain_id_number(r[1], r[2]), *r[3:])
            for r in s.execute(
                select(
                    Member.id,
                    Member.pool_id,
                    Member.id_cipher,
                    Member.name,
                    Member.birth_date,
                    Member.joined_on,
                    Member.waiting_until,
                    Member.status,
                    Member.ended_on,
                ).order_by(Member.id)
            )
        ]


@pytest.fixture
def pool(app, truckers_pool) -> str:
    app.create_pool(truckers_pool())
    return POOL


def attrs(**overrides: str) -> dict[str, str]:
    values = {
        "licence_class": "A2",
        "licence_number": "LIC000001",
        "licence_expires": "2031-12-31",
        "driving_proof": "ETC-000001",
    }
    values.update(overrides)
    return values


def join_args(
    id_number: str = ID1,
    *,
    name: str = "张三",
    birth_date: str = "1980-01-01",
    joined_on: str | None = "2026-10-01",
    **overrides: str,
) -> list[str]:
    args = ["member", "join", POOL, "--id-number", id_number, "--name", name, "--birth-date", birth_date]
    if joined_on is not None:
        args += ["--joined-on", joined_on]
    for key, value in attrs(**overrides).items():
        args += ["--attr", f"{key}={value}"]
    return args


def pool_today() -> date:
    return datetime.now(SHANGHAI).date()


#: "Today" for the tests of exits and deaths, which may not be dated in the future.
TODAY = date(2026, 11, 20)


@pytest.fixture
def frozen_today(monkeypatch) -> date:
    """Today in the pool's time zone is 2026-11-20 for the member services (the CLI's state column
    still uses the real today)."""
    monkeypatch.setattr(members_service, "pool_today", lambda definition, now=None: TODAY)
    return TODAY


# -- an eligible driver joins -------------------------------------------------------------------


def test_join_through_the_api_stores_the_member(app, pool):
    record = app.join(
        pool,
        id_number=ID1,
        name=" 张三 ",
        birth_date="1980-01-01",
        joined_on="2026-10-01",
        attributes=attrs(licence_class=" b2 "),
    )
    assert (record.id, record.pool_key, record.id_number, record.name) == (1, POOL, MASKED1, "张三")
    assert not record.revealed
    assert app.member(pool, 1, reveal=True).id_number == ID1
    assert (record.birth_date, record.joined_on, record.waiting_until) == (BORN, JOINED, date(2026, 12, 30))
    assert (record.status, record.ended_on) == ("active", None)
    assert record.attributes == {
        "licence_class": "B2",
        "licence_number": "LIC000001",
        "licence_expires": "2031-12-31",
        "driving_proof": "ETC-000001",
    }
    assert members(app) == [(1, 1, ID1, "张三", BORN, JOINED, date(2026, 12, 30), "active", None)]
    assert app.member(pool, 1) == record


@pytest.mark.parametrize(
    ("joined_on", "waiting_until"),
    [
        (date(2026, 10, 1), date(2026, 12, 30)),
        (date(2026, 11, 2), date(2027, 1, 31)),  # the README's example
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
        "id": 1,
        "pool": POOL,
        "id_number": MASKED1,
        "name": "张三",
        "birth_date": "1980-01-01",
        "joined_on": "2026-10-01",
        "waiting_until": "2026-12-30",
        "status": "active",
        "ended_on": None,
        "attributes": {
            "licence_class": "A2",
            "licence_number": "LIC000001",
            "licence_expires": "2031-12-31",
            "driving_proof": "ETC-000001",
        },
    }


@pytest.mark.real_clock
def test_joined_on_defaults_to_today_in_the_pool_time_zone(app, pool, invoke):
    result = invoke(*join_args(joined_on=None), "--json")
    assert result.exit_code == 0, result.output
    today = pool_today()
    data = json.loads(result.stdout)
    assert data["joined_on"] == today.isoformat()
    assert data["waiting_until"] == (today + timedelta(days=90)).isoformat()


@pytest.mark.real_clock
def test_member_state_is_waiting_then_active(app, pool, invoke):
    today = pool_today()
    app.join(
        pool,
        id_number=resident_id(BORN, 1),
        name="老会员",
        birth_date=BORN,
        joined_on=today - timedelta(days=91),
        attributes=attrs(),
    )  # waited 90 days until yesterday
    app.join(
        pool,
        id_number=resident_id(BORN, 2),
        name="等待中",
        birth_date=BORN,
        joined_on=today - timedelta(days=90),
        attributes=attrs(),
    )  # today is day 90: still waiting
    app.join(pool, id_number=resident_id(BORN, 3), name="新会员", birth_date=BORN, joined_on=today, attributes=attrs())
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
    result = invoke(
        *join_args(
            bad_check,
            name="李四",
            birth_date="2009-06-15",
            licence_class="C1",
            licence_expires="2026-09-30",
            driving_proof="",
        )
    )
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
        app.join(
            pool,
            id_number=resident_id(date(1965, 9, 30), 1),
            name="王五",
            birth_date="1965-09-30",
            joined_on=JOINED,
            attributes=attrs(licence_expires="2026-10-01"),
        )
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
        (date(2008, 10, 1), True),  # 18th birthday on the joining day
        (date(2008, 10, 2), False),  # 17 until tomorrow
        (date(1965, 10, 2), True),  # 61st birthday the day after joining: 60 on the day
        (date(1965, 10, 1), False),  # 61 on the joining day
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
        "Error: 张三丰 cannot join pool 'js-truckers': "
        f"this person (ID {MASKED1}) already holds live membership #2 in pool 'js-truckers'\n"
    )
    with pytest.raises(IneligibleError) as caught:
        app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    assert caught.value.problems == [
        f"this person (ID {MASKED1}) already holds live membership #2 in pool 'js-truckers'"
    ]
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
    assert caught.value.problems == [
        f"this person (ID 110*************8X) already holds live membership #{first.id} in pool 'js-truckers'"
    ]
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
        "Error: 张三 cannot join pool 'js-truckers': "
        "this person is recorded as deceased (member #1, died on 2026-10-20) in pool 'js-truckers'\n"
    )
    assert snapshot(app) == before


def test_a_member_who_left_may_join_again(app, pool, invoke, frozen_today):
    app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    app.exit_member(pool, ID1, on="2026-10-15")
    again = app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on="2026-11-01", attributes=attrs())
    assert again.id == 2
    assert [(m[0], m[7], m[8]) for m in members(app)] == [(1, "exited", date(2026, 10, 15)), (2, "active", None)]
    # by ID number, the live membership is shown first
    result = invoke("member", "show", POOL, ID1, "--json")
    assert result.exit_code == 0, result.output
    assert (json.loads(result.stdout)["id"], json.loads(result.stdout)["status"]) == (2, "active")


def test_the_database_allows_one_live_membership_per_person_and_pool(app, pool):
    """The partial unique index uq_members_live_person covers the live statuses only."""
    app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    with app.transaction() as s:  # the same person: the same keyed hash of the ID number
        sealed = dict(
            s.execute(select(Member.id_cipher, Member.id_hash, Member.id_masked, Member.identity_seal)).one()._mapping
        )
    row = {
        "pool_id": 1,
        **sealed,
        "name": "张三",
        "birth_date": BORN,
        "joined_on": JOINED,
        "waiting_until": JOINED,
        "ended_on": None,
        "attributes_json": "{}",
    }
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
        pytest.param(
            {"birth_date": "1980-13-01"},
            ["birth_date: '1980-13-01' is not a date; write it as YYYY-MM-DD"],
            id="bad-birth-date",
        ),
        pytest.param(
            {"birth_date": "1.1.1980"},
            ["birth_date: '1.1.1980' is not a date; write it as YYYY-MM-DD"],
            id="birth-date-not-iso",
        ),
        pytest.param(
            {"joined_on": "2026-02-30"},
            ["joined_on: '2026-02-30' is not a date; write it as YYYY-MM-DD"],
            id="bad-joining-day",
        ),
        pytest.param(
            {"birth_date": "2026-10-02"},
            ["birth_date: 2026-10-02 is after the joining day 2026-10-01"],
            id="born-after-joining",
        ),
        pytest.param(
            {"licence_expires": "soon"},
            ["licence_expires: must be a date written YYYY-MM-DD ('soon' given)"],
            id="bad-attribute-date",
        ),
        pytest.param(
            {"licence_class": "Z9"},
            [
                "licence_class: 'Z9' is not a Chinese driving licence class; use one of A1, A2, A3, B1, B2, C1, "
                "C2, C3, C4, C5, C6, D, E, F, M, N, P"
            ],
            id="unknown-licence-class",
        ),
        pytest.param({"name": "   "}, ["name: is required"], id="blank-name"),
        pytest.param(
            {"name": "张\n三"}, ["name: contains a line break or another control character"], id="name-with-line-break"
        ),
        pytest.param({"id_number": ""}, ["id_number: is required"], id="blank-id-number"),
        pytest.param({"id_number": "9" * 65}, ["id_number: is longer than 64 characters"], id="id-number-too-long"),
        pytest.param(
            {"bogus": "1"},
            [
                "bogus: unknown key (check its spelling; the known names are licence_class, licence_number, "
                "licence_expires, driving_proof)"
            ],
            id="unknown-attribute",
        ),
        pytest.param(
            {"licence_number": None, "licence_expires": None},
            ["licence_number: is required", "licence_expires: is required"],
            id="missing-attributes",
        ),
        pytest.param(
            {"birth_date": "1980-13-01", "joined_on": "x", "licence_class": None, "extra": "1"},
            [
                "birth_date: '1980-13-01' is not a date; write it as YYYY-MM-DD",
                "joined_on: 'x' is not a date; write it as YYYY-MM-DD",
                "licence_class: is required",
                "extra: unknown key (check its spelling; the known names are licence_class, licence_number, "
                "licence_expires, driving_proof)",
            ],
            id="all-problems-together",
        ),
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
        app.join(
            pool,
            id_number=resident_id(date(1980, 1, 2), 1),
            name="张三",
            birth_date=BORN,
            joined_on=JOINED,
            attributes=attrs(),
        )
    assert caught.value.problems == [
        "the birth date in the ID number (1980-01-02) is not the birth date given (1980-01-01)"
    ]
    assert members(app) == []


def test_other_identity_documents_are_accepted_as_given(app, pool):
    record = app.join(pool, id_number="E12345678", name="Li Si", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    assert record.id_number == "*******78"  # masked: at least half of it hidden
    assert app.member(pool, record.id, reveal=True).id_number == "E12345678"
    assert app.member(pool, "E12345678").id == record.id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--attr", "licence_class"], "Error: --attr 'licence_class' must look like key=value\n", id="no-equals-sign"
        ),
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
        "Error: 张三 cannot join pool 'js-truckers': "
        "licence_colour: unknown key (check its spelling; the known names are licence_class, licence_number, "
        "licence_expires, driving_proof)\n"
    )
    assert members(app) == []


def test_missing_attributes_through_the_cli(app, pool, invoke):
    result = invoke("member", "join", POOL, "--id-number", ID1, "--name", "张三", "--birth-date", "1980-01-01")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 张三 cannot join pool 'js-truckers':\n"
        "licence_class: is required\n"
        "licence_number: is required\n"
        "licence_expires: is required\n"
    )
    assert members(app) == []


def test_an_attribute_given_twice_through_the_cli_is_refused(app, pool, invoke):
    result = invoke(*join_args(), "--attr", "licence_class=B2")
    assert result.exit_code == 1
    assert result.stderr == "Error: --attr licence_class is given twice ('A2' and 'B2'); give it once\n"
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
    record = app.join(
        pool, id_number=ID1, name="张三", birth_date=datetime(1980, 1, 1, 12, 0), joined_on=JOINED, attributes=attrs()
    )
    assert record.birth_date == BORN and type(record.birth_date) is date


# -- list and show ------------------------------------------------------------------------------


@pytest.fixture
def three(app, pool) -> list[Any]:
    return [
        app.join(
            pool,
            id_number=resident_id(BORN, n),
            name=f"司机{n}",
            birth_date=BORN,
            joined_on=JOINED,
            attributes=attrs(licence_number=f"LIC{n:06d}"),
        )
        for n in (1, 2, 3)
    ]


@pytest.mark.real_clock
def test_member_list_json(app, three, invoke):
    result = invoke("member", "list", POOL, "--json")
    assert result.exit_code == 0, result.output
    today = pool_today()
    assert json.loads(result.stdout) == [
        {
            "id": n,
            "pool": POOL,
            "id_number": mask_id_number(resident_id(BORN, n)),
            "name": f"司机{n}",
            "birth_date": "1980-01-01",
            "joined_on": "2026-10-01",
            "waiting_until": "2026-12-30",
            "status": "active",
            "ended_on": None,
            "attributes": {
                "licence_class": "A2",
                "licence_number": f"LIC{n:06d}",
                "licence_expires": "2031-12-31",
                "driving_proof": "ETC-000001",
            },
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


@pytest.mark.real_clock
def test_member_list_table(app, three, invoke):
    result = invoke("member", "list", POOL, "--limit", "1")
    assert result.exit_code == 0, result.output
    state = "waiting" if pool_today() <= date(2026, 12, 30) else "active"
    assert result.stdout == (
        f"member  name   id number           born        joined      waiting until  {'state':<{len(state)}}".rstrip()
        + "\n------  -----  ------------------  ----------  ----------  -------------  "
        + "-" * len(state)
        + "\n"
        f"1       司机1  {MASKED1}  1980-01-01  2026-10-01  2026-12-30     {state}\n"
    )


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param("2", id="member-number"),
        pytest.param("#2", id="hash-number"),
        pytest.param(resident_id(BORN, 2), id="id-number"),
    ],
)
@pytest.mark.real_clock
def test_member_show(app, three, invoke, ref):
    result = invoke("member", "show", POOL, ref)
    assert result.exit_code == 0, result.output
    state = "waiting" if pool_today() <= date(2026, 12, 30) else "active"
    assert result.stdout == (
        "id: 2\n"
        "pool: js-truckers\n"
        f"id_number: {mask_id_number(resident_id(BORN, 2))}\n"
        "name: 司机2\n"
        "birth_date: 1980-01-01\n"
        "joined_on: 2026-10-01\n"
        "waiting_until: 2026-12-30\n"
        "status: active\n"
        "ended_on: -\n"
        f"state: {state}\n"
        "attributes:\n"
        "  licence_class: A2\n"
        "  licence_number: LIC000002\n"
        "  licence_expires: 2031-12-31\n"
        "  driving_proof: ETC-000001\n"
    )


@pytest.mark.real_clock
def test_member_show_state_is_waiting_through_the_last_day_of_waiting(app, pool, invoke):
    app.join(
        pool,
        id_number=ID1,
        name="张三",
        birth_date=BORN,
        joined_on=pool_today() - timedelta(days=90),
        attributes=attrs(),
    )
    app.join(
        pool,
        id_number=resident_id(BORN, 2),
        name="李四",
        birth_date=BORN,
        joined_on=pool_today() - timedelta(days=91),
        attributes=attrs(),
    )
    assert invoke("member", "show", POOL, "1").stdout.splitlines()[9] == "state: waiting"
    assert invoke("member", "show", POOL, "2").stdout.splitlines()[9] == "state: active"


def test_member_show_of_an_ended_membership(app, three, invoke, frozen_today):
    app.exit_member(POOL, 3, on="2026-11-05")
    result = invoke("member", "show", POOL, "3")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[7:11] == [
        "status: exited",
        "ended_on: 2026-11-05",
        "state: exited",
        "attributes:",
    ]


@pytest.mark.real_clock
def test_member_show_json(app, three, invoke):
    result = invoke("member", "show", POOL, "3", "--json")
    assert result.exit_code == 0, result.output
    state = "waiting" if pool_today() <= date(2026, 12, 30) else "active"
    assert json.loads(result.stdout) == {**three[2].as_dict(), "state": state}
    assert json.loads(result.stdout) == three[2].as_dict(pool_today())


@pytest.mark.parametrize("ref", ["99", resident_id(BORN, 99), "nobody"], ids=["number", "id-number", "text"])
def test_member_show_unknown(app, three, invoke, ref):
    result = invoke("member", "show", POOL, ref)
    assert result.exit_code == 1
    shown = f"'{ref}'" if ref.isdigit() and len(ref) < 12 else f"with ID number {mask_id_number(ref)}"
    assert result.stderr == f"Error: pool 'js-truckers' has no member {shown} (give a member number or an ID number)\n"
    assert resident_id(BORN, 99) not in result.output
    with pytest.raises(NotFoundError):
        app.member(POOL, ref)


def test_member_numbers_belong_to_their_pool(app, three, truckers_pool):
    app.create_pool(truckers_pool(key="zj-truckers", name="浙江卡友互助"))
    with pytest.raises(NotFoundError, match=r"^pool 'zj-truckers' has no member 1 "):
        app.member("zj-truckers", 1)


# -- dates are written YYYY-MM-DD ---------------------------------------------------------------


BAD_DATES = ["19800101", "1980-W01-2", "1980W012", "1980-1-1", "1980-01-01T00:00", "１９８０-01-01", "01/01/1980", ""]


@pytest.mark.parametrize("text", BAD_DATES[:-1])
def test_a_date_in_another_iso_form_is_refused(app, pool, invoke, text):
    with pytest.raises(IneligibleError) as caught:
        app.join(pool, id_number=ID1, name="张三", birth_date=text, joined_on=JOINED, attributes=attrs())
    assert caught.value.problems == [f"birth_date: {text!r} is not a date; write it as YYYY-MM-DD"]
    result = invoke(*join_args(joined_on=text.replace("1980", "2026")))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: 张三 cannot join pool 'js-truckers': joined_on: {text.replace('1980', '2026')!r} is not a date; "
        "write it as YYYY-MM-DD\n",
    )
    assert members(app) == []


@pytest.mark.parametrize("text", BAD_DATES)
def test_parse_date_takes_yyyy_mm_dd_only(text):
    with pytest.raises(ValueError) as caught:
        parse_date(text, "the day")
    assert str(caught.value) == f"the day {text!r} is not a date; write it as YYYY-MM-DD"


def test_parse_date(monkeypatch):
    assert parse_date(" 2026-10-01\t", "the day") == date(2026, 10, 1)
    assert parse_date(date(2026, 10, 1), "the day") == date(2026, 10, 1)
    assert type(parse_date(datetime(2026, 10, 1, 23, 59), "the day")) is date
    with pytest.raises(ValueError, match=r"^the day '2026-02-29' is not a date; write it as YYYY-MM-DD$"):
        parse_date("2026-02-29", "the day")


# -- ending a membership: exit and death --------------------------------------------------------


@pytest.fixture
def four(app, pool, frozen_today) -> list[Any]:
    """Drivers #1 to #4, joined 2026-10-01; today is 2026-11-20."""
    return [
        app.join(
            pool,
            id_number=resident_id(BORN, n),
            name=f"司机{n}",
            birth_date=BORN,
            joined_on=JOINED,
            attributes=attrs(licence_number=f"LIC{n:06d}"),
        )
        for n in (1, 2, 3, 4)
    ]


def approve_disability(app: Any, member: int, day: str) -> int:
    """File and approve a grade-10 disability (30,000.00) for ``member`` on ``day``."""
    claim = app.file_claim(
        POOL,
        member,
        event_kind="accidental_disability",
        event_date=day,
        filed_on=day,
        details={"disability_grade": "10"},
    )
    app.approve_claim(claim.id)
    return claim.id


def charged(app: Any, period: str) -> list[int]:
    """The members charged by a period's sharing run."""
    run = app.sharing_run(POOL, period)
    with app.transaction() as s:
        return list(s.scalars(select(Charge.member_id).where(Charge.run_id == run.run_id).order_by(Charge.member_id)))


def test_an_exit_ends_sharing_after_its_day(app, four):
    """Members are counted at 00:00 of the notice day: one who exits on the notice day (2026-11-07)
    still shares that period, whose cases were already in public notice; one who exits the day
    before does not, and neither shares a later period."""
    left = app.exit_member(POOL, 2, on="2026-11-07")
    assert (left.id, left.status, left.ended_on, left.state_on(TODAY)) == (2, "exited", date(2026, 11, 7), "exited")
    app.exit_member(POOL, resident_id(BORN, 3), on=date(2026, 11, 6))  # by ID number
    assert [(m[0], m[7], m[8]) for m in members(app)] == [
        (1, "active", None),
        (2, "exited", date(2026, 11, 7)),
        (3, "exited", date(2026, 11, 6)),
        (4, "active", None),
    ]
    approve_disability(app, 1, "2026-10-20")
    assert app.share(POOL, "2026-11").members == 3
    assert charged(app, "2026-11") == [1, 2, 4]
    approve_disability(app, 4, "2026-11-10")
    assert app.share(POOL, "2026-12").members == 2
    assert charged(app, "2026-12") == [1, 4]


def test_no_benefit_for_an_event_after_the_exit(app, four):
    app.exit_member(POOL, 2, on="2026-11-05")
    with pytest.raises(ValidationError) as caught:
        app.file_claim(
            POOL,
            2,
            event_kind="accidental_disability",
            event_date="2026-11-06",
            filed_on="2026-11-07",
            details={"disability_grade": "10"},
        )
    assert caught.value.problems == [
        "date: member #2's membership ended on 2026-11-05, before the event date 2026-11-06"
    ]
    # an event on the day of the exit was still covered
    on_the_day = app.file_claim(
        POOL,
        2,
        event_kind="accidental_disability",
        event_date="2026-11-05",
        filed_on="2026-11-07",
        details={"disability_grade": "10"},
    )
    assert app.approve_claim(on_the_day.id)[0].benefit == Decimal("30000.00")


def test_exit_through_the_cli(app, four, invoke):
    result = invoke("member", "exit", POOL, "2", "--on", "2026-11-07")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "member #2 司机2 left pool 'js-truckers' on 2026-11-07; they share no period whose notice day is after "
        "2026-11-07\n"
    )
    result = invoke("member", "exit", POOL, "#3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        **four[2].as_dict(),
        "status": "exited",
        "ended_on": TODAY.isoformat(),
        "state": "exited",
    }
    assert [(m[0], m[7], m[8]) for m in members(app)] == [
        (1, "active", None),
        (2, "exited", date(2026, 11, 7)),
        (3, "exited", TODAY),
        (4, "active", None),
    ]


@pytest.mark.real_clock
def test_exit_defaults_to_today_in_the_pool_time_zone(app, pool, invoke):
    today = pool_today()
    app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=today - timedelta(days=5), attributes=attrs())
    result = invoke("member", "exit", POOL, "1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ended_on"] == today.isoformat()
    assert members(app)[0][7:] == ("exited", today)


def test_a_member_may_exit_on_the_joining_day(app, four):
    assert app.exit_member(POOL, 1, on=JOINED).ended_on == JOINED


def test_a_frozen_member_can_exit(app, four):
    with app.transaction() as s:  # frozen: rights suspended (a prepaid balance that ran out)
        s.execute(update(Member).where(Member.id == 4).values(status="frozen"))
    assert (app.exit_member(POOL, 4, on="2026-11-10").status, members(app)[3][7:]) == (
        "exited",
        ("exited", date(2026, 11, 10)),
    )


def test_record_a_death_through_the_api(app, four):
    record = app.record_death(POOL, 1, "2026-11-01")
    assert (record.id, record.status, record.ended_on, record.state_on(TODAY)) == (
        1,
        "deceased",
        date(2026, 11, 1),
        "deceased",
    )
    with pytest.raises(IneligibleError) as caught:
        app.join(
            POOL,
            id_number=resident_id(BORN, 1),
            name="司机1",
            birth_date=BORN,
            joined_on="2026-11-15",
            attributes=attrs(),
        )
    assert caught.value.problems == [
        "this person is recorded as deceased (member #1, died on 2026-11-01) in pool 'js-truckers'"
    ]
    approve_disability(app, 2, "2026-10-20")
    app.share(POOL, "2026-11")
    assert charged(app, "2026-11") == [2, 3, 4]


def test_record_a_death_through_the_cli(app, four, invoke):
    result = invoke("member", "exit", POOL, resident_id(BORN, 2), "--deceased", "--on", "2026-11-02")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "member #2 司机2 is recorded as deceased in pool 'js-truckers' on 2026-11-02; they share no period whose "
        "notice day is after 2026-11-02\n"
    )
    assert members(app)[1][7:] == ("deceased", date(2026, 11, 2))


def test_a_death_needs_its_day(app, four, invoke):
    before = snapshot(app)
    result = invoke("member", "exit", POOL, "2", "--deceased")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        "Error: --on is required with --deceased: give the day of the death, e.g. --on 2026-10-20\n",
    )
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["2", "--on", "2026-09-30"],
            "Error: the exit of member #2 was not recorded: the exit date 2026-09-30 is before member #2 "
            "joined on 2026-10-01; give a day on or after the joining day\n",
            id="before-joining",
        ),
        pytest.param(
            ["2", "--deceased", "--on", "2026-09-30"],
            "Error: the death of member #2 was not recorded: the death date 2026-09-30 is before member #2 "
            "joined on 2026-10-01; give a day on or after the joining day\n",
            id="death-before-joining",
        ),
        pytest.param(
            ["2", "--on", "2026-11-21"],
            "Error: the exit of member #2 was not recorded: the exit date 2026-11-21 is in the future "
            "(today is 2026-11-20 in the pool's time zone); record the exit on or after the day it happens\n",
            id="in-the-future",
        ),
        pytest.param(
            ["2", "--deceased", "--on", "2027-01-01"],
            "Error: the death of member #2 was not recorded: the death date 2027-01-01 is in the future "
            "(today is 2026-11-20 in the pool's time zone); record the death on or after the day it happens\n",
            id="death-in-the-future",
        ),
        pytest.param(
            ["2", "--on", "2026-11-31"],
            "Error: the exit of member #2 was not recorded: the exit date '2026-11-31' is not a date; write "
            "it as YYYY-MM-DD\n",
            id="no-such-day",
        ),
        pytest.param(
            ["2", "--deceased", "--on", "20261101"],
            "Error: the death of member #2 was not recorded: the death date '20261101' is not a date; write "
            "it as YYYY-MM-DD\n",
            id="compact-date",
        ),
        pytest.param(
            ["2", "--on", "2026-W45-1"],
            "Error: the exit of member #2 was not recorded: the exit date '2026-W45-1' is not a date; write "
            "it as YYYY-MM-DD\n",
            id="week-date",
        ),
        pytest.param(
            ["9"],
            "Error: pool 'js-truckers' has no member '9' (give a member number or an ID number)\n",
            id="unknown-member",
        ),
    ],
)
def test_a_bad_exit_is_refused_and_changes_nothing(app, four, invoke, args, message):
    before = snapshot(app)
    result = invoke("member", "exit", POOL, *args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)
    assert snapshot(app) == before


def test_exit_from_an_unknown_pool(app, four, invoke):
    result = invoke("member", "exit", "nope", "1")
    assert (result.exit_code, result.stderr) == (1, "Error: no pool 'nope' (existing pools: js-truckers)\n")
    with pytest.raises(NotFoundError):
        app.record_death("nope", 1, "2026-11-01")


def test_an_exit_cannot_be_dated_before_a_paid_event(app, four, invoke):
    approve_disability(app, 2, "2026-11-10")
    before = snapshot(app)
    result = invoke("member", "exit", POOL, "2", "--on", "2026-09-30")
    assert (result.exit_code, result.stderr) == (
        1,
        (
            "Error: the exit of member #2 was not recorded:\n"
            "the exit date 2026-09-30 is before member #2 joined on 2026-10-01; give a day on or after the joining day\n"
            "claim #1 of this member was approved for an event on 2026-11-10, after the exit date 2026-09-30; check the "
            "date\n"
        ),
    )
    with pytest.raises(ValidationError) as caught:
        app.record_death(POOL, 2, "2026-11-09")
    assert caught.value.lines == [
        "the death of member #2 was not recorded:",
        "claim #1 of this member was approved for an event on 2026-11-10, after the death date 2026-11-09; check the "
        "date",
    ]
    assert snapshot(app) == before
    assert app.record_death(POOL, 2, "2026-11-10").ended_on == date(2026, 11, 10)  # the day of the event is fine


@pytest.mark.parametrize("deceased", [False, True], ids=["exit", "death"])
def test_only_a_live_membership_can_be_ended(app, four, invoke, deceased):
    app.exit_member(POOL, 1, on="2026-11-05")
    app.approve_claim(
        app.file_claim(POOL, 2, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25").id
    )
    with app.transaction() as s:  # lapsed (a share that could not be collected); no command sets it yet
        s.execute(update(Member).where(Member.id == 3).values(status="lapsed"))
    before = snapshot(app)
    refused = {
        "1": "member #1 of pool 'js-truckers' is already exited (ended on 2026-11-05); only a live (active or frozen) "
        "membership can be ended",
        "2": "member #2 of pool 'js-truckers' is already deceased (ended on 2026-10-20); only a live (active or "
        "frozen) membership can be ended",
        "3": "member #3 of pool 'js-truckers' is already lapsed; only a live (active or frozen) membership can be "
        "ended",
    }
    for ref, message in refused.items():
        result = invoke("member", "exit", POOL, ref, *(["--deceased"] if deceased else []), "--on", "2026-11-10")
        assert (result.exit_code, result.stderr) == (1, f"Error: {message}\n")
        with pytest.raises(StateError) as caught:
            if deceased:
                app.record_death(POOL, ref, "2026-11-10")
            else:
                app.exit_member(POOL, ref)
        assert str(caught.value) == message
    assert snapshot(app) == before


def test_end_membership_takes_exited_or_deceased(app, four):
    before = snapshot(app)
    with app.transaction() as s, pytest.raises(ValidationError) as caught:
        end_membership(s, app.plugins, POOL, 1, status="lapsed")
    assert caught.value.problems == ["status: 'lapsed' does not end a membership; use 'exited' or 'deceased'"]
    assert snapshot(app) == before


def test_member_services_leave_the_transaction_to_the_caller(app, four):
    before = snapshot(app)
    with Session(app.engine) as s:
        end_membership(s, app.plugins, POOL, 1, status="exited", on="2026-11-10")
        update_member(s, app.plugins, POOL, 2, {"licence_class": "B2"})
        s.flush()
        assert s.scalar(select(Member.status).where(Member.id == 1)) == "exited"
    # closed without a commit
    assert snapshot(app) == before


# -- updating a member's attributes -------------------------------------------------------------


def stored_attributes(app: Any, member_id: int) -> dict[str, Any]:
    with app.transaction() as s:
        return json.loads(s.scalar(select(Member.attributes_json).where(Member.id == member_id)))


def test_update_merges_revalidates_and_normalises(app, three):
    update_ = app.update_member(POOL, 2, {"licence_expires": "2036-05-31", "licence_class": " b2 "})
    assert update_.changes == {"licence_class": ("A2", "B2"), "licence_expires": ("2031-12-31", "2036-05-31")}
    expected = {
        "licence_class": "B2",
        "licence_number": "LIC000002",
        "licence_expires": "2036-05-31",
        "driving_proof": "ETC-000001",
    }
    assert update_.member.attributes == expected
    assert stored_attributes(app, 2) == expected
    assert app.member(POOL, 2) == update_.member
    assert stored_attributes(app, 1)["licence_expires"] == "2031-12-31"  # nobody else changed
    assert members(app) == [
        (n, 1, resident_id(BORN, n), f"司机{n}", BORN, JOINED, date(2026, 12, 30), "active", None) for n in (1, 2, 3)
    ]


def test_update_through_the_cli_prints_what_changed(app, three, invoke):
    result = invoke(
        "member",
        "update",
        POOL,
        resident_id(BORN, 2),
        "--attr",
        "licence_expires=2036-05-31",
        "--attr",
        "licence_number=LIC900002",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "updated member #2 司机2 of pool 'js-truckers':\n"
        "  licence_number: LIC000002 → LIC900002\n"
        "  licence_expires: 2031-12-31 → 2036-05-31\n"
    )
    result = invoke("member", "update", POOL, "2", "--attr", "driving_proof=", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["changes"] == {"driving_proof": {"old": "ETC-000001", "new": ""}}
    assert data["member"]["attributes"] == {
        "licence_class": "A2",
        "licence_number": "LIC900002",
        "licence_expires": "2036-05-31",
        "driving_proof": "",
    }
    assert data["member"]["state"] in ("waiting", "active")
    assert stored_attributes(app, 2) == data["member"]["attributes"]


def test_update_with_the_stored_values_changes_nothing(app, three, invoke):
    before = snapshot(app)
    result = invoke("member", "update", POOL, "2", "--attr", "licence_class=a2", "--attr", "licence_expires=2031-12-31")
    assert result.exit_code == 0, result.output
    assert result.stdout == "member #2 司机2: nothing changed (the values given are the ones stored)\n"
    assert snapshot(app) == before


def test_update_does_not_check_eligibility_again(app, three):
    """At joining, a licence that expired before the joining day and a missing driving proof are
    refused; a member keeps the membership whatever is recorded later."""
    update_ = app.update_member(POOL, 1, {"licence_expires": "2026-09-30", "driving_proof": ""})
    assert update_.changes == {"licence_expires": ("2031-12-31", "2026-09-30"), "driving_proof": ("ETC-000001", "")}
    assert (update_.member.status, update_.member.ended_on) == ("active", None)


KNOWN = "the known names are licence_class, licence_number, licence_expires, driving_proof"


@pytest.mark.parametrize(
    ("given", "problems"),
    [
        pytest.param(
            {"licence_colour": "red"}, [f"licence_colour: unknown key (check its spelling; {KNOWN})"], id="unknown-name"
        ),
        pytest.param(
            {"licence_expires": "soon"},
            ["licence_expires: must be a date written YYYY-MM-DD ('soon' given)"],
            id="bad-date",
        ),
        pytest.param({"licence_number": ""}, ["licence_number: is required"], id="required-removed"),
        pytest.param(
            {"name": "李四"},
            ["name: is part of the member's own record, not an attribute of cohort 'truckers'; it cannot be changed"],
            id="core-field",
        ),
        pytest.param(
            {"licence_class": "Z9", "licence_expires": "2036-02-30", "bogus": "1", "birth_date": "1981-01-01"},
            [
                "birth_date: is part of the member's own record, not an attribute of cohort 'truckers'; it "
                "cannot be changed",
                "licence_class: 'Z9' is not a Chinese driving licence class; use one of A1, A2, A3, B1, B2, C1, "
                "C2, C3, C4, C5, C6, D, E, F, M, N, P",
                "licence_expires: must be a date written YYYY-MM-DD ('2036-02-30' given)",
                f"bogus: unknown key (check its spelling; {KNOWN})",
            ],
            id="every-problem",
        ),
        pytest.param(
            {},
            [
                "no attribute was given; give NAME=VALUE for each one to change ('mutualaid cohorts show "
                "truckers' lists them)"
            ],
            id="nothing-given",
        ),
    ],
)
def test_a_bad_update_lists_every_problem_and_changes_nothing(app, three, given, problems):
    before = snapshot(app)
    with pytest.raises(ValidationError) as caught:
        app.update_member(POOL, 2, given)
    assert caught.value.summary == "member #2 of pool 'js-truckers' was not updated:"
    assert caught.value.problems == problems
    assert snapshot(app) == before


def test_a_bad_update_through_the_cli(app, three, invoke):
    before = snapshot(app)
    result = invoke("member", "update", POOL, "2", "--attr", "licence_colour=red", "--attr", "licence_class=Z9")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        (
            "Error: member #2 of pool 'js-truckers' was not updated:\n"
            "licence_class: 'Z9' is not a Chinese driving licence class; use one of A1, A2, A3, B1, B2, C1, C2, C3, C4, "
            "C5, C6, D, E, F, M, N, P\n"
            f"licence_colour: unknown key (check its spelling; {KNOWN})\n"
        ),
    )
    result = invoke("member", "update", POOL, "2", "--attr", "licence_class")
    assert (result.exit_code, result.stderr) == (1, "Error: --attr 'licence_class' must look like key=value\n")
    result = invoke("member", "update", POOL, "2")
    assert result.exit_code == 2
    assert "Error: Missing option '--attr'." in result.stderr
    result = invoke("member", "update", POOL, "99", "--attr", "licence_class=B2")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: pool 'js-truckers' has no member '99' (give a member number or an ID number)\n",
    )
    assert snapshot(app) == before


def test_a_stored_attribute_the_cohort_no_longer_knows(app, three):
    """The whole set is validated again: an attribute stored under an older version of the cohort
    is reported, and an empty value removes it."""
    with app.transaction() as s:
        s.execute(
            update(Member)
            .where(Member.id == 2)
            .values(
                attributes_json=json.dumps({**stored_attributes(app, 2), "truck_plate": "苏A12345"}, ensure_ascii=False)
            )
        )
    before = snapshot(app)
    with pytest.raises(ValidationError) as caught:
        app.update_member(POOL, 2, {"licence_class": "B2"})
    assert caught.value.problems == [f"truck_plate: unknown key (check its spelling; {KNOWN})"]
    assert snapshot(app) == before
    update_ = app.update_member(POOL, 2, {"licence_class": "B2", "truck_plate": ""})
    assert update_.changes == {"licence_class": ("A2", "B2"), "truck_plate": ("苏A12345", None)}
    assert "truck_plate" not in stored_attributes(app, 2)


def test_only_a_live_member_can_be_updated(app, three, invoke, frozen_today):
    app.exit_member(POOL, 2, on="2026-11-05")
    before = snapshot(app)
    message = (
        "member #2 of pool 'js-truckers' is already exited (ended on 2026-11-05); only a live (active or "
        "frozen) membership can be updated"
    )
    result = invoke("member", "update", POOL, "2", "--attr", "licence_class=B2")
    assert (result.exit_code, result.stderr) == (1, f"Error: {message}\n")
    with pytest.raises(StateError, match=f"^{re.escape(message)}$"):
        app.update_member(POOL, 2, {"licence_class": "B2"})
    assert snapshot(app) == before


def test_concurrent_updates_of_one_member_both_count(app, three, db_url, plugins):
    """The member's row is locked and read again: a second update waits for the first and merges
    into what it wrote, instead of overwriting it with what it read before."""
    if make_url(db_url).get_backend_name() != "postgresql":
        pytest.skip("row locks matter on PostgreSQL; SQLite lets one transaction write at a time")
    outcome: dict[str, Any] = {}

    def update_in_another_transaction() -> None:
        try:
            with app.transaction() as session:
                outcome["changes"] = update_member(session, plugins, POOL, 2, {"licence_expires": "2036-05-31"}).changes
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = repr(exc)

    with app.transaction() as session:
        update_member(session, plugins, POOL, 2, {"licence_class": "B2"})
        other = threading.Thread(target=update_in_another_transaction)
        other.start()
        other.join(0.5)
        assert other.is_alive(), outcome  # it waits for this transaction's lock
    other.join(10)
    assert outcome == {"changes": {"licence_expires": ("2031-12-31", "2036-05-31")}}
    assert stored_attributes(app, 2) == {
        "licence_class": "B2",
        "licence_number": "LIC000002",
        "licence_expires": "2036-05-31",
        "driving_proof": "ETC-000001",
    }


# -- the same person joining twice at once ------------------------------------------------------


def misses_once(monkeypatch: Any, name: str) -> list[Any]:
    """Make the first call of the pre-check ``<name>`` (of a join, or of an import) find nothing,
    as if another transaction had not yet committed the person's membership; returns the calls made."""
    module = members_service if name == "live_member_id" else members_importing
    real = getattr(module, name)
    calls: list[Any] = []

    def check(*args: Any) -> Any:
        calls.append(args[-1])
        return real(*args) if len(calls) > 1 else (None if name == "live_member_id" else iter(()))

    monkeypatch.setattr(module, name, check)
    return calls


def test_a_join_that_slips_past_the_check_is_refused_by_the_index(app, pool, monkeypatch):
    first = app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    before = snapshot(app)
    calls = misses_once(monkeypatch, "live_member_id")
    with pytest.raises(IneligibleError) as caught:
        app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on="2026-11-01", attributes=attrs())
    assert caught.value.lines == [
        "张三 cannot join pool 'js-truckers':",
        f"this person (ID {MASKED1}) already holds live membership #{first.id} in pool 'js-truckers'",
    ]
    keyed = load_key().lookup(ID1)  # looked up by the keyed hash of the ID number
    assert calls == [keyed, keyed]  # the check that missed it, then the look-up after the index refused the row
    assert snapshot(app) == before


def test_after_a_refused_duplicate_the_transaction_goes_on(app, pool, monkeypatch):
    """Only the savepoint around the insert is rolled back; the caller's transaction can go on."""
    app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    misses_once(monkeypatch, "live_member_id")
    with app.transaction() as session:
        with pytest.raises(IneligibleError):
            join_member(session, app.plugins, POOL, id_number=ID1, name="张三", birth_date=BORN, attributes=attrs())
        other = join_member(
            session,
            app.plugins,
            POOL,
            id_number=resident_id(BORN, 2),
            name="李四",
            birth_date=BORN,
            joined_on=JOINED,
            attributes=attrs(),
        )
    assert [(m[2], m[3], m[7]) for m in members(app)] == [
        (ID1, "张三", "active"),
        (resident_id(BORN, 2), "李四", "active"),
    ]
    assert members(app)[1][0] == other.id


def test_two_joins_of_the_same_person_at_once(app, pool, db_url, plugins):
    """Both check before either commits; the second insert waits on the unique index, then fails:
    it gets the same refusal as a join after the first one, not a database error."""
    if make_url(db_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time")
    outcome: dict[str, Any] = {}
    applicant = {"id_number": ID1, "name": "张三", "birth_date": BORN, "joined_on": JOINED, "attributes": attrs()}

    def join_in_another_transaction() -> None:
        try:
            with app.transaction() as session:
                join_member(session, plugins, POOL, **applicant)
            outcome["second"] = "joined"
        except IneligibleError as exc:
            outcome["second"] = exc.lines
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["second"] = repr(exc)

    with app.transaction() as session:
        first = join_member(session, plugins, POOL, **applicant)
        other = threading.Thread(target=join_in_another_transaction)
        other.start()
        other.join(0.5)
        assert other.is_alive(), outcome  # past its check, waiting on the index for this transaction
    other.join(10)
    assert outcome == {
        "second": [
            "张三 cannot join pool 'js-truckers':",
            f"this person (ID {MASKED1}) already holds live membership #{first.id} in pool 'js-truckers'",
        ]
    }
    assert [(m[0], m[2], m[7]) for m in members(app)] == [(first.id, ID1, "active")]


# -- member import: progress, and a join racing the import --------------------------------------


CSV_HEADER = "id_number,name,birth_date,licence_class,licence_number,licence_expires,driving_proof\n"


def test_import_reports_its_progress(app, pool, tmp_path, monkeypatch):
    monkeypatch.setattr(members_importing, "CHUNK_ROWS", 1000)
    path = tmp_path / "members.csv"
    rows = [f"P{n:07d},司机{n},1980-01-01,A2,LIC{n:06d},2031-12-31,ETC-{n}\n" for n in range(1, 2501)]
    rows.insert(1500, "P9999999,,1980-01-01,A2,LIC9,2031-12-31,ETC-9\n")  # no name: rejected
    path.write_text(CSV_HEADER + "".join(rows), encoding="utf-8")
    calls: list[tuple[Any, ...]] = []
    result = app.import_members(
        POOL, path, joined_on="2026-10-01", skip_invalid=True, progress=lambda *args: calls.append(args)
    )
    assert (result.imported, result.rejected) == (2500, 1)
    assert calls == [("importing", 1001, None), ("importing", 2001, None), ("importing", 2502, None)]


def test_an_import_that_races_a_join_is_refused_by_the_index(app, pool, monkeypatch, tmp_path):
    app.join(pool, id_number=ID1, name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    path = tmp_path / "members.csv"
    path.write_text(
        CSV_HEADER + f"{resident_id(BORN, 2)},李四,1980-01-01,A2,LIC2,2031-12-31,ETC-2\n"
        f"{ID1},张三,1980-01-01,A2,LIC1,2031-12-31,ETC-1\n",
        encoding="utf-8",
    )
    before = snapshot(app)
    calls = misses_once(monkeypatch, "live_members")
    with pytest.raises(ImportRowsError) as caught:
        app.import_members(POOL, path, joined_on="2026-10-01")
    assert caught.value.lines == [
        f"{path}: 1 of these people joined pool 'js-truckers' while the file was being checked; nothing was imported:",
        f"{path}:3: id_number: this person already holds live membership #1",
    ]
    assert len(calls) == 2
    assert snapshot(app) == before
