"""Members' optional contact fields -- email, phone, preferred locale, home city -- on SQLite and
PostgreSQL: checked and normalised in one place (:mod:`mutualaid.contacts`), given at ``member
join``, changed and cleared by ``member update``, shown by ``member show`` and read from the
optional columns of ``member import``.

Every refused value is checked to the exact message, and to leave the database as it was.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from mutualaid import ImportRowsError, IneligibleError, ValidationError
from mutualaid.contacts import (
    CONTACT_FIELDS,
    check_city,
    check_contacts,
    check_email,
    check_locale,
    check_phone,
)
from mutualaid.db.models import Member, MemberStatusChange, Pool
from mutualaid.testing import resident_id

POOL = "js-truckers"
BORN = date(1980, 1, 1)
JOINED = date(2026, 10, 1)
HEADER = "id_number,name,birth_date,licence_class,licence_number,licence_expires,driving_proof"
EMAIL_HINT = "write it like name@example.com"
PHONE_SHAPE = (
    "is not a phone number; write 6 to 20 digits, optionally after a +, with spaces or hyphens between them "
    "if you like (e.g. +86 138 0013 8000)"
)


# -- helpers ------------------------------------------------------------------------------------


def snapshot(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the pools, members and history tables, to prove that a refusal changed nothing."""
    with app.transaction() as s:
        tables = [model.__table__ for model in (Pool, Member, MemberStatusChange)]
        return {t.name: [tuple(r) for r in s.execute(select(t).order_by(*t.primary_key))] for t in tables}


def stored_contacts(app: Any) -> list[tuple[Any, ...]]:
    with app.transaction() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(Member.id, Member.email, Member.phone, Member.locale, Member.city).order_by(Member.id)
            )
        ]


@pytest.fixture
def pool(app, truckers_pool) -> str:
    app.create_pool(truckers_pool())
    return POOL


@pytest.fixture
def two(app, pool, make_driver) -> list[Any]:
    """Member 1 with every contact field, member 2 with none."""
    first = app.join(
        pool,
        **make_driver(1),
        email=" Zhang.San@Example.COM ",
        phone="+86 138-0013-8000",
        locale="zh_cn",
        city=" 南京 ",
    )
    second = app.join(pool, **make_driver(2))
    return [first, second]


def join_args(n: int, *extra: str) -> list[str]:
    args = ["member", "join", POOL, "--id-number", resident_id(BORN, n), "--name", f"司机{n}"]
    args += ["--birth-date", "1980-01-01", "--joined-on", "2026-10-01"]
    for key, value in (
        ("licence_class", "A2"),
        ("licence_number", f"LIC{n:06d}"),
        ("licence_expires", "2031-12-31"),
        ("driving_proof", f"ETC-{n:06d}"),
    ):
        args += ["--attr", f"{key}={value}"]
    return [*args, *extra]


# -- the checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "given", "stored"),
    [
        pytest.param(check_email, " Zhang.San@Example.COM ", "Zhang.San@example.com", id="email-domain-lowered"),
        pytest.param(check_email, "a+tag@sub.example.org", "a+tag@sub.example.org", id="email-plus-tag"),
        pytest.param(check_email, "张三@例子.中国", "张三@例子.中国", id="email-internationalised"),
        pytest.param(check_email, "a@xn--p1ai.com", "a@рф.com", id="email-punycode-domain"),
        pytest.param(check_phone, "+86 138-0013-8000", "+8613800138000", id="phone-spaces-hyphens"),
        pytest.param(check_phone, "138001", "138001", id="phone-6-digits"),
        pytest.param(check_phone, "+" + "1" * 20, "+" + "1" * 20, id="phone-20-digits"),
        pytest.param(check_phone, "１３８ ００１３ ８０００", "13800138000", id="phone-full-width"),
        pytest.param(check_locale, "zh-CN", "zh-CN", id="locale-zh"),
        pytest.param(check_locale, "zh_cn", "zh-CN", id="locale-any-case"),
        pytest.param(check_locale, " EN ", "en", id="locale-en"),
        pytest.param(check_city, "  南京 ", "南京", id="city-trimmed"),
        pytest.param(check_city, "x" * 100, "x" * 100, id="city-100"),
    ],
)
def test_a_good_value_is_stored_normalised(check, given, stored):
    assert check(given) == (stored, None)


@pytest.mark.parametrize("check", [check_email, check_phone, check_locale, check_city])
@pytest.mark.parametrize("given", [None, "", "   "])
def test_an_empty_value_is_not_given(check, given):
    assert check(given) == (None, None)


@pytest.mark.parametrize(
    ("check", "given", "problem"),
    [
        pytest.param(
            check_email,
            "zhang.example.com",
            f"email: 'zhang.example.com' is not a valid email address (An email address must have an @-sign); {EMAIL_HINT}",
            id="email-no-at",
        ),
        pytest.param(
            check_email,
            "zhang@",
            f"email: 'zhang@' is not a valid email address (There must be something after the @-sign); {EMAIL_HINT}",
            id="email-no-domain",
        ),
        pytest.param(
            check_email,
            "zhang@example",
            "email: 'zhang@example' is not a valid email address (The part after the @-sign is not valid. It "
            f"should have a period); {EMAIL_HINT}",
            id="email-no-dot",
        ),
        pytest.param(
            check_email,
            "zhang@mail.test",
            "email: 'zhang@mail.test' is not a valid email address (The part after the @-sign is a special-use or "
            f"reserved name that cannot be used with email); {EMAIL_HINT}",
            id="email-special-use",
        ),
        pytest.param(
            check_phone,
            "12345",
            "phone: '12345' has 5 digits; a phone number has 6 to 20, optionally after a + (e.g. +86 138 0013 8000)",
            id="phone-too-short",
        ),
        pytest.param(
            check_phone,
            "1" * 21,
            f"phone: '{'1' * 21}' has 21 digits; a phone number has 6 to 20, optionally after a + (e.g. +86 138 0013 8000)",
            id="phone-too-long",
        ),
        pytest.param(check_phone, "138 0013 800x", f"phone: '138 0013 800x' {PHONE_SHAPE}", id="phone-letter"),
        pytest.param(check_phone, "++8613800138000", f"phone: '++8613800138000' {PHONE_SHAPE}", id="phone-two-plus"),
        pytest.param(check_phone, "(025) 1234567", f"phone: '(025) 1234567' {PHONE_SHAPE}", id="phone-brackets"),
        pytest.param(check_locale, "fr", "locale: 'fr' is not a supported locale; use one of zh-CN, en", id="locale"),
        pytest.param(
            check_locale, "zh-TW", "locale: 'zh-TW' is not a supported locale; use one of zh-CN, en", id="locale-zh-tw"
        ),
        pytest.param(
            check_city,
            "南" * 101,
            f"city: '{'南' * 101}' is longer than 100 characters (101); shorten it",
            id="city-too-long",
        ),
        pytest.param(
            check_city,
            "南京\n鼓楼",
            "city: '南京\\n鼓楼' contains a line break or another control character; write it on one line",
            id="city-line-break",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_field_value_and_fix(check, given, problem):
    assert check(given) == (None, problem)
    assert "\n" not in problem


def test_check_contacts_checks_only_the_fields_given():
    assert check_contacts({"email": "A@B.CN", "city": "", "other": "x"}) == ({"email": "A@b.cn", "city": None}, [])
    assert check_contacts({"locale": "fr", "phone": "1"}) == (
        {},
        [
            "phone: '1' has 1 digit; a phone number has 6 to 20, optionally after a + (e.g. +86 138 0013 8000)",
            "locale: 'fr' is not a supported locale; use one of zh-CN, en",
        ],
    )
    assert CONTACT_FIELDS == ("email", "phone", "locale", "city")


@pytest.mark.parametrize(
    "given",
    [
        "ann@example.com",
        "Ann.Lee+x@Mail.Example.CO",
        "a@b.c",
        "a@x.c0m",
        "a@ab--cd.com",
        "a@x.LOCAL",
        "a@localhost.com",
        "a@x.123",
        "a..b@x.com",
        ".a@x.com",
        "a.@x.com",
        "a@-x.com",
        "a@x-.com",
        "a@x..com",
        "a@x.com.",
        "a" * 64 + "@x.com",
        "a" * 65 + "@x.com",
        "a@" + "b" * 63 + ".com",
        "a@" + "b" * 64 + ".com",
        "a@" + ("b" * 60 + ".") * 4 + "com",
        "o'brien@x.ie",
        "a_b@x_y.com",
        '"a b"@x.com',
        "a@[127.0.0.1]",
    ],
)
def test_the_fast_email_check_agrees_with_email_validator(given):
    """Addresses of the usual shape skip the library; whatever the path, the result is the library's."""
    try:
        expected = validate_email(given, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    assert check_email(given)[0] == expected


# -- joining --------------------------------------------------------------------------------------


def test_join_with_contacts_stores_them_normalised(app, two):
    first, second = two
    assert (first.email, first.phone, first.locale, first.city) == (
        "Zhang.San@example.com",
        "+8613800138000",
        "zh-CN",
        "南京",
    )
    assert first.contacts == {
        "email": "Zhang.San@example.com",
        "phone": "+8613800138000",
        "locale": "zh-CN",
        "city": "南京",
    }
    assert (second.email, second.phone, second.locale, second.city, second.contacts) == (None, None, None, None, {})
    assert stored_contacts(app) == [
        (1, "Zhang.San@example.com", "+8613800138000", "zh-CN", "南京"),
        (2, None, None, None, None),
    ]
    assert app.member(POOL, 1) == first


def test_join_with_empty_contacts_gives_none(app, pool, make_driver):
    record = app.join(pool, **make_driver(1), email="", phone="  ", locale="", city="")
    assert record.contacts == {}
    assert stored_contacts(app) == [(1, None, None, None, None)]


def test_join_through_the_cli_with_contacts(app, pool, invoke):
    result = invoke(
        *join_args(1, "--email", "Li.Si@Example.COM", "--phone", "139 0000 1234", "--locale", "en", "--city", "苏州"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {key: data[key] for key in CONTACT_FIELDS} == {
        "email": "Li.Si@example.com",
        "phone": "13900001234",
        "locale": "en",
        "city": "苏州",
    }
    assert stored_contacts(app) == [(1, "Li.Si@example.com", "13900001234", "en", "苏州")]


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        pytest.param(
            "email",
            "zhang.example.com",
            f"email: 'zhang.example.com' is not a valid email address (An email address must have an @-sign); {EMAIL_HINT}",
            id="email",
        ),
        pytest.param("phone", "12-ab-34", f"phone: '12-ab-34' {PHONE_SHAPE}", id="phone"),
        pytest.param("locale", "fr", "locale: 'fr' is not a supported locale; use one of zh-CN, en", id="locale"),
        pytest.param(
            "city",
            "南" * 101,
            f"city: '{'南' * 101}' is longer than 100 characters (101); shorten it",
            id="city",
        ),
    ],
)
def test_a_bad_contact_at_joining_is_refused_and_nothing_written(app, pool, make_driver, invoke, field, value, problem):
    before = snapshot(app)
    with pytest.raises(ValidationError) as caught:
        app.join(pool, **make_driver(1), **{field: value})
    assert not isinstance(caught.value, IneligibleError)
    assert caught.value.summary == "司机1 cannot join pool 'js-truckers':"
    assert caught.value.problems == [problem]
    assert snapshot(app) == before
    result = invoke(*join_args(1, f"--{field}", value))
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        f"Error: 司机1 cannot join pool 'js-truckers': {problem}\n",
    )
    assert snapshot(app) == before


def test_bad_contacts_are_listed_with_the_reasons_the_applicant_may_not_join(app, pool, make_driver):
    before = snapshot(app)
    with pytest.raises(IneligibleError) as caught:
        app.join(pool, **make_driver(1, licence_class="C1"), phone="123", locale="de")
    assert caught.value.problems[-2:] == [
        "phone: '123' has 3 digits; a phone number has 6 to 20, optionally after a + (e.g. +86 138 0013 8000)",
        "locale: 'de' is not a supported locale; use one of zh-CN, en",
    ]
    assert len(caught.value.problems) == 3  # the licence class, then the contacts
    assert snapshot(app) == before


# -- show ---------------------------------------------------------------------------------------


def test_member_show_json_gives_the_contacts(app, two, invoke):
    result = invoke("member", "show", POOL, "1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == two[0].as_dict(app.today(POOL))
    assert {key: data[key] for key in ("id", "email", "phone", "locale", "city")} == {
        "id": 1,
        "email": "Zhang.San@example.com",
        "phone": "+8613800138000",
        "locale": "zh-CN",
        "city": "南京",
    }
    # a member without contacts has no contact keys (as before the fields existed)
    data = json.loads(invoke("member", "show", POOL, "2", "--json").stdout)
    assert not set(CONTACT_FIELDS) & set(data)
    listed = json.loads(invoke("member", "list", POOL, "--json").stdout)
    assert [m.get("email") for m in listed] == ["Zhang.San@example.com", None]


def test_member_show_text_lists_the_contacts_after_the_attributes(app, two, invoke):
    result = invoke("member", "show", POOL, "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[10:] == [
        "attributes:",
        "  licence_class: A2",
        "  licence_number: LIC000001",
        "  licence_expires: 2031-12-31",
        "  driving_proof: ETC-000001",
        "contacts:",
        "  email: Zhang.San@example.com",
        "  phone: +8613800138000",
        "  locale: zh-CN",
        "  city: 南京",
    ]
    assert "contacts" not in invoke("member", "show", POOL, "2").stdout


# -- updating -------------------------------------------------------------------------------------


def test_update_sets_changes_and_clears_contacts(app, two):
    update_ = app.update_member(POOL, 1, email="", phone="025-8888 6666", city="南京")
    assert update_.changes == {
        "email": ("Zhang.San@example.com", None),
        "phone": ("+8613800138000", "02588886666"),
    }
    assert update_.member.contacts == {"phone": "02588886666", "locale": "zh-CN", "city": "南京"}
    update_ = app.update_member(POOL, 2, email="Wang@QQ.com", locale="en")
    assert update_.changes == {"email": (None, "Wang@qq.com"), "locale": (None, "en")}
    assert stored_contacts(app) == [
        (1, None, "02588886666", "zh-CN", "南京"),
        (2, "Wang@qq.com", None, "en", None),
    ]
    # attributes and contacts together
    update_ = app.update_member(POOL, 2, {"licence_class": "B2"}, city="无锡")
    assert update_.changes == {"licence_class": ("A2", "B2"), "city": (None, "无锡")}
    assert app.member(POOL, 2).attributes["licence_class"] == "B2"


def test_update_through_the_cli_sets_and_clears(app, two, invoke):
    result = invoke("member", "update", POOL, "1", "--email", "", "--phone", "139 0000 1234", "--locale", "en")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "updated member #1 司机1 of pool 'js-truckers':\n"
        "  email: Zhang.San@example.com → -\n"
        "  phone: +8613800138000 → 13900001234\n"
        "  locale: zh-CN → en\n"
    )
    result = invoke("member", "update", POOL, "1", "--city", "", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["changes"] == {"city": {"old": "南京", "new": None}}
    assert {key: data["member"].get(key) for key in CONTACT_FIELDS} == {
        "email": None,
        "phone": "13900001234",
        "locale": "en",
        "city": None,
    }
    result = invoke("member", "update", POOL, "1", "--phone", "139-0000-1234")
    assert result.stdout == "member #1 司机1: nothing changed (the values given are the ones stored)\n"
    assert stored_contacts(app)[0] == (1, None, "13900001234", "en", None)


@pytest.mark.parametrize(
    ("given", "problems"),
    [
        pytest.param(
            {"email": "a@b"},
            [
                "email: 'a@b' is not a valid email address (The part after the @-sign is not valid. It should have "
                f"a period); {EMAIL_HINT}"
            ],
            id="email",
        ),
        pytest.param({"phone": "+86 abc"}, [f"phone: '+86 abc' {PHONE_SHAPE}"], id="phone"),
        pytest.param(
            {"locale": "english"}, ["locale: 'english' is not a supported locale; use one of zh-CN, en"], id="locale"
        ),
        pytest.param(
            {"city": "南京\t鼓楼"},
            ["city: '南京\\t鼓楼' contains a line break or another control character; write it on one line"],
            id="city",
        ),
        pytest.param(
            {"email": "x", "locale": "fr", "city": "南京"},
            [
                f"email: 'x' is not a valid email address (An email address must have an @-sign); {EMAIL_HINT}",
                "locale: 'fr' is not a supported locale; use one of zh-CN, en",
            ],
            id="every-problem",
        ),
    ],
)
def test_a_bad_contact_update_changes_nothing(app, two, invoke, given, problems):
    before = snapshot(app)
    with pytest.raises(ValidationError) as caught:
        app.update_member(POOL, 1, **given)
    assert caught.value.summary == "member #1 of pool 'js-truckers' was not updated:"
    assert caught.value.problems == problems
    assert snapshot(app) == before
    args = [arg for name, value in given.items() for arg in (f"--{name}", value)]
    result = invoke("member", "update", POOL, "1", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        "Error: member #1 of pool 'js-truckers' was not updated:"
        + (f" {problems[0]}\n" if len(problems) == 1 else "\n" + "".join(f"{p}\n" for p in problems)),
    )
    assert snapshot(app) == before


def test_a_bad_contact_refuses_the_attributes_given_with_it(app, two):
    before = snapshot(app)
    with pytest.raises(ValidationError) as caught:
        app.update_member(POOL, 2, {"licence_class": "B2"}, phone="1")
    assert caught.value.problems == [
        "phone: '1' has 1 digit; a phone number has 6 to 20, optionally after a + (e.g. +86 138 0013 8000)"
    ]
    assert snapshot(app) == before


def test_a_contact_given_as_an_attribute_is_pointed_to_its_option(app, two):
    before = snapshot(app)
    with pytest.raises(ValidationError) as caught:
        app.update_member(POOL, 2, {"email": "wang@qq.com"})
    assert caught.value.problems == [
        "email: is a contact field, not an attribute of cohort 'truckers'; change it with --email (an empty value "
        "clears it)"
    ]
    assert snapshot(app) == before


def test_update_with_nothing_to_change(app, two, invoke):
    result = invoke("member", "update", POOL, "1")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Missing option '--attr'. Give --attr NAME=VALUE for an attribute to change, or a contact field: "
        "--email, --phone, --locale or --city"
    )


# -- importing ----------------------------------------------------------------------------------


def row(n: int, *contacts: str) -> str:
    cells = [resident_id(BORN, n), f"司机{n}", "1980-01-01", "B2", f"LIC{n:06d}", "2031-06-30", f"ETC-{n:06d}"]
    return ",".join([*cells, *contacts])


@pytest.fixture
def write(tmp_path):
    def make(*lines: str) -> Path:
        path = tmp_path / "members.csv"
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        return path

    return make


def test_import_reads_the_contact_columns(app, pool, write, invoke):
    path = write(
        HEADER + ",email,phone,locale,city",
        row(1, "Zhang.San@Example.COM", "+86 138-0013-8000", "zh_CN", " 南京 "),
        row(2, "", "", "", ""),
        row(3, "wang@qq.com", "02588886666", "en", '"Nanjing, Gulou"'),
    )
    result = invoke("member", "import", POOL, str(path), "--joined-on", "2026-10-01")
    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 3 members into pool 'js-truckers'\n"
    assert stored_contacts(app) == [
        (1, "Zhang.San@example.com", "+8613800138000", "zh-CN", "南京"),
        (2, None, None, None, None),
        (3, "wang@qq.com", "02588886666", "en", "Nanjing, Gulou"),
    ]
    assert json.loads(invoke("member", "show", POOL, "3", "--json").stdout)["city"] == "Nanjing, Gulou"
    # the contacts are not cohort attributes
    assert app.member(POOL, 1).attributes == {
        "licence_class": "B2",
        "licence_number": "LIC000001",
        "licence_expires": "2031-06-30",
        "driving_proof": "ETC-000001",
    }


def test_import_with_some_contact_columns_in_any_order(app, pool, write):
    path = write("city," + HEADER + ",phone", "苏州," + row(1, "139 0000 1234"), "," + row(2, ""))
    result = app.import_members(POOL, path, joined_on=JOINED)
    assert (result.imported, result.rejected) == (2, 0)
    assert stored_contacts(app) == [(1, None, "13900001234", None, "苏州"), (2, None, None, None, None)]


def test_a_bad_contact_is_a_row_problem_with_its_line(app, pool, write, invoke):
    path = write(
        HEADER + ",email,phone,locale,city",
        row(1, "zhang@example.com", "13800138000", "zh-CN", "南京"),
        row(2, "wang.example.com", "13800138000", "en", "南京"),
        row(3, "li@example.com", "123", "fr", "南京"),
    )
    before = snapshot(app)
    with pytest.raises(ImportRowsError) as caught:
        app.import_members(POOL, path, joined_on=JOINED)
    assert caught.value.summary == (
        f"{path}: 2 of 3 rows are invalid; nothing was imported (fix them, or use --skip-invalid to import the "
        "valid rows):"
    )
    assert caught.value.problems == [
        f"{path}:3: email: 'wang.example.com' is not a valid email address (An email address must have an "
        f"@-sign); {EMAIL_HINT}",
        f"{path}:4: phone: '123' has 3 digits; a phone number has 6 to 20, optionally after a + (e.g. +86 138 0013 "
        "8000); locale: 'fr' is not a supported locale; use one of zh-CN, en",
    ]
    assert snapshot(app) == before
    result = invoke("member", "import", POOL, str(path), "--joined-on", "2026-10-01", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert stored_contacts(app) == [(1, "zhang@example.com", "13800138000", "zh-CN", "南京")]
    rejects = path.with_suffix(".rejects.csv").read_text(encoding="utf-8").splitlines()
    assert rejects[0] == "line," + HEADER + ",email,phone,locale,city,reason"
    assert rejects[1].startswith("3," + row(2, "wang.example.com", "13800138000", "en", "南京") + ",")


def test_a_bad_contact_and_a_bad_attribute_are_reported_together(app, pool, write):
    path = write(HEADER + ",locale", row(1, "fr").replace(",B2,", ",C9,"))
    with pytest.raises(ImportRowsError) as caught:
        app.import_members(POOL, path, joined_on=JOINED)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}:2: licence_class: 'C9'")
    assert problem.endswith("; locale: 'fr' is not a supported locale; use one of zh-CN, en")


def test_an_unknown_column_still_names_the_known_ones(app, pool, write):
    path = write(HEADER + ",mail", row(1, "x@y.cn"))
    with pytest.raises(ImportRowsError) as caught:
        app.import_members(POOL, path, joined_on=JOINED)
    assert caught.value.problems[0].startswith(f"{path}:1: unknown column(s) 'mail'; the columns are ")
