"""Members' identities: ID numbers encrypted at rest under the operator's key with a keyed hash for
look-ups and uniqueness, masked in every listing unless asked for, the key missing or wrong told in
one line, identity corrections with their history, and identities sealed so that ``ledger verify``
names a member changed in the database -- on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from mutualaid import IneligibleError, NotFoundError, ValidationError
from mutualaid.db.models import Member, MemberIdentityCorrection, MemberStatusChange, Pool
from mutualaid.errors import KeyFileError, StateError
from mutualaid.keys import create_key, load_key
from mutualaid.privacy import mask_id_number
from mutualaid.testing import resident_id

POOL = "js-truckers"
BORN = date(1980, 1, 1)
JOINED = date(2026, 10, 1)
IDS = [resident_id(BORN, n) for n in (1, 2, 3)]
ID4 = resident_id(BORN, 4)


def attrs(n: int = 1) -> dict[str, str]:
    return {
        "licence_class": "A2",
        "licence_number": f"LIC{n:06d}",
        "licence_expires": "2031-12-31",
        "driving_proof": f"ETC-{n:06d}",
    }


@pytest.fixture
def pool(app, truckers_pool) -> str:
    app.create_pool(truckers_pool())
    for n, number in enumerate(IDS, 1):
        app.join(POOL, id_number=number, name=f"司机{n}", birth_date=BORN, joined_on=JOINED, attributes=attrs(n))
    return POOL


def snapshot(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    with app.transaction() as s:
        tables = [m.__table__ for m in (Pool, Member, MemberStatusChange, MemberIdentityCorrection)]
        return {t.name: [tuple(r) for r in s.execute(select(t).order_by(*t.primary_key))] for t in tables}


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def stored_text(app: Any, db_url: str) -> bytes:
    """Everything the database holds of its members: the SQLite file's raw bytes (free pages
    included), or on PostgreSQL every row of the members' tables as text."""
    if is_sqlite(db_url):
        app.close()
        return Path(make_url(db_url).database or "").read_bytes()
    with app.transaction() as s:
        rows = s.execute(
            text("SELECT m::text FROM members m UNION ALL SELECT c::text FROM member_identity_corrections c")
        )
        return "\n".join(r[0] for r in rows).encode()


# -- encrypted at rest, found by the keyed hash -------------------------------------------------------


def test_no_plain_id_number_is_stored(app, pool, db_url, tmp_path):
    path = tmp_path / "more.csv"
    path.write_text(
        "id_number,name,birth_date,licence_class,licence_number,licence_expires,driving_proof\n"
        + f"{ID4},司机4,1980-01-01,B2,L4,2031-06-30,P4\n",
        encoding="utf-8",
    )
    assert app.import_members(POOL, path, joined_on=JOINED).imported == 1
    app.correct_member(POOL, 1, reason="typo at joining", by="admin", id_number=resident_id(BORN, 5))
    with app.transaction() as s:
        rows = s.execute(select(Member.id_cipher, Member.id_hash, Member.id_masked)).all()
    assert len(rows) == 4 and all(len(cipher) > 40 and len(keyed) == 32 for cipher, keyed, _ in rows)
    assert sorted(masked for _, _, masked in rows) == sorted(
        mask_id_number(n) for n in [*IDS[1:], ID4, resident_id(BORN, 5)]
    )
    stored = stored_text(app, db_url)
    for number in [*IDS, ID4, resident_id(BORN, 5)]:  # the old number of the correction too
        assert number.encode() not in stored
        assert number[6:17].encode() not in stored  # not even its middle


@pytest.mark.parametrize(
    "written",
    [
        pytest.param(lambda n: n, id="as-given"),
        pytest.param(lambda n: n.lower(), id="lower-case-x"),
        pytest.param(lambda n: n.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"}), id="full-width"),
        pytest.param(lambda n: n[:6] + n[8:17], id="old-15-digit-form"),
    ],
)
def test_a_member_is_found_by_id_number(app, truckers_pool, written):
    app.create_pool(truckers_pool())
    number = resident_id(date(1970, 5, 6), 18)  # 19xx: it has an old 15-digit form; ends in X
    assert number.endswith("X")
    member = app.join(
        POOL, id_number=number, name="张三", birth_date="1970-05-06", joined_on=JOINED, attributes=attrs()
    )
    assert app.member(POOL, written(number)).id == member.id
    other = resident_id(date(1970, 5, 6), 1)
    with pytest.raises(NotFoundError) as missing:
        app.member(POOL, other)
    assert str(missing.value) == (
        f"pool 'js-truckers' has no member with ID number {mask_id_number(other)} (give a member number or an ID number)"
    )


def test_a_second_membership_is_refused_by_the_keyed_hash_with_the_number_masked(app, pool, invoke, tmp_path):
    before = snapshot(app)
    result = invoke("member", "join", POOL, "--id-number", IDS[1].lower(), "--name", "又一个", "--birth-date",
                    "1980-01-01", "--joined-on", "2026-10-01", *[f"--attr={k}={v}" for k, v in attrs().items()])  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 又一个 cannot join pool 'js-truckers':")
    assert (
        f"this person (ID {mask_id_number(IDS[1])}) already holds live membership #2 in pool 'js-truckers'\n"
        in result.stderr
    )
    assert IDS[1] not in result.output
    path = tmp_path / "again.csv"
    path.write_text(
        "id_number,name,birth_date,licence_class,licence_number,licence_expires,driving_proof\n"
        + f"{IDS[2]},司机3,1980-01-01,B2,L3,2031-06-30,P3\n",
        encoding="utf-8",
    )
    result = invoke("member", "import", POOL, str(path))
    assert result.exit_code == 1
    assert f"{path}:2: id_number: this person already holds live membership #3" in result.stderr
    assert IDS[2] not in result.output
    assert snapshot(app) == before


# -- masked unless asked ---------------------------------------------------------------------------


def test_listings_mask_id_numbers_unless_asked(app, pool, invoke):
    listed = invoke("member", "list", POOL)
    assert listed.exit_code == 0, listed.output
    shown = invoke("member", "show", POOL, "2")
    as_json = json.loads(invoke("member", "list", POOL, "--json").stdout)
    history = invoke("member", "history", POOL, IDS[1])
    for output in (listed.stdout, shown.stdout, history.stdout, json.dumps(as_json)):
        assert not any(number in output for number in IDS)
    assert [m["id_number"] for m in as_json] == [mask_id_number(n) for n in IDS]
    assert f"id_number: {mask_id_number(IDS[1])}\n" in shown.stdout
    assert all(mask_id_number(n) in listed.stdout for n in IDS)

    revealed = invoke("member", "list", POOL, "--show-id-numbers")
    assert revealed.exit_code == 0, revealed.output
    assert all(number in revealed.stdout for number in IDS)
    shown = invoke("member", "show", POOL, "2", "--show-id-numbers", "--json")
    assert json.loads(shown.stdout)["id_number"] == IDS[1]
    assert app.member(POOL, 2, reveal=True).revealed and not app.member(POOL, 2).revealed


# -- the key --------------------------------------------------------------------------------------


def test_without_the_key_ids_cannot_be_read_or_written_in_one_line(app, pool, invoke, monkeypatch, tmp_path):
    missing = tmp_path / "nowhere" / "mutualaid.key"
    monkeypatch.setenv("MUTUALAID_KEY_FILE", str(missing))
    before = snapshot(app)
    listed = invoke("member", "list", POOL)  # masked listings need no key
    assert listed.exit_code == 0 and mask_id_number(IDS[0]) in listed.stdout
    refusal = (
        f"there is no key file at {missing}; restore it from your backup (or set MUTUALAID_KEY_FILE to where it is)"
    )
    for args, what in [
        (("member", "show", POOL, IDS[0]), "cannot find a member by ID number: the key file"),
        (("member", "list", POOL, "--show-id-numbers"), "cannot show members' ID numbers: the key file"),
        (
            (
                "member",
                "join",
                POOL,
                "--id-number",
                ID4,
                "--name",
                "新",
                "--birth-date",
                "1980-01-01",
                *[f"--attr={k}={v}" for k, v in attrs().items()],
            ),
            "cannot add a member: the key file",
        ),  # fmt: skip
        (
            ("member", "correct", POOL, "1", "--name", "新", "--reason", "typo", "--by", "admin"),
            "cannot correct a member's identity: the key file",
        ),  # fmt: skip
    ]:
        result = invoke(*args)
        assert result.exit_code == 1, args
        assert result.stderr == (
            f"Error: {what} {missing} is missing, and this database's ID numbers are encrypted under it; "
            "restore it from your backup (or set MUTUALAID_KEY_FILE to where it is)\n"
        ), args
    assert not missing.exists()  # a database with encrypted numbers never gets a new key
    assert snapshot(app) == before
    assert "is missing" not in refusal  # (the wording of a database without numbers yet, below)

    other = tmp_path / "other.key"
    create_key(other, announce=False)
    monkeypatch.setenv("MUTUALAID_KEY_FILE", str(other))
    result = invoke("member", "show", POOL, IDS[0])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot find a member by ID number: the key in {other} is not the key this database's ID numbers "
        "were encrypted with; restore the right key file from your backup (or set MUTUALAID_KEY_FILE to it)\n"
    )


def test_a_new_database_makes_its_key_at_the_first_join_and_says_so_once(
    app, truckers_pool, monkeypatch, tmp_path, capsys
):
    path = tmp_path / "home" / "keys" / "mutualaid.key"
    monkeypatch.delenv("MUTUALAID_KEY_FILE")
    monkeypatch.setenv("MUTUALAID_HOME", str(tmp_path / "home"))
    app.create_pool(truckers_pool())
    with pytest.raises(KeyFileError, match=f"there is no key file at {path};"):
        app.member(POOL, IDS[0])
    assert not path.exists()
    app.join(POOL, id_number=IDS[0], name="张三", birth_date=BORN, joined_on=JOINED, attributes=attrs())
    app.join(POOL, id_number=IDS[1], name="李四", birth_date=BORN, joined_on=JOINED, attributes=attrs(2))
    told = capsys.readouterr().err
    assert told == (
        f"mutualaid: created the key for members' ID numbers in {path} (readable by you only); back it up now, "
        "apart from the database: without it the ID numbers cannot be read\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert app.member(POOL, IDS[1]).id == 2


def test_a_key_file_that_holds_no_key_is_one_line(tmp_path):
    path = tmp_path / "bad.key"
    path.write_text("# a comment\nnot base64 at all\n", encoding="ascii")
    with pytest.raises(KeyFileError) as refused:
        load_key(path)
    assert str(refused.value) == f"the key file {path} does not hold a mutualaid key (32 bytes in base64)"


# -- corrections ------------------------------------------------------------------------------------


def test_a_correction_is_checked_written_and_kept_in_the_history(app, pool, invoke):
    new_born = date(1980, 1, 2)
    new_id = resident_id(new_born, 7)
    old15 = new_id[:6] + new_id[8:17]  # given in the old 15-digit form
    result = invoke("member", "correct", POOL, "2", "--name", "司机二", "--id-number", old15, "--birth-date",
                    "1980-01-02", "--reason", "ID card misread", "--by", "admin")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "corrected member #2 of pool 'js-truckers':\n"
        "  name: 司机2 → 司机二\n"
        f"  id_number: {mask_id_number(IDS[1])} → {mask_id_number(new_id)}\n"
        "  birth_date: 1980-01-01 → 1980-01-02\n"
    )
    record = app.member(POOL, new_id, reveal=True)
    assert (record.id, record.name, record.id_number, record.birth_date) == (2, "司机二", new_id, new_born)
    with pytest.raises(NotFoundError):
        app.member(POOL, IDS[1])
    (correction,) = app.identity_corrections(POOL, 2)
    assert (correction.corrected_by, correction.reason, correction.changes) == (
        "admin",
        "ID card misread",
        {
            "name": ("司机2", "司机二"),
            "id_number": (mask_id_number(IDS[1]), mask_id_number(new_id)),
            "birth_date": ("1980-01-01", "1980-01-02"),
        },
    )
    history = invoke("member", "history", POOL, "2")
    assert "identity corrections (ID numbers masked):" in history.stdout
    assert f"name 司机2 → 司机二; id_number {mask_id_number(IDS[1])} → {mask_id_number(new_id)}" in history.stdout
    assert IDS[1] not in history.stdout and new_id not in history.stdout
    assert app.verify_identities(POOL).problems == ()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        pytest.param({"name": "司机2"}, "nothing to correct; the values given are the ones stored", id="no-change"),
        pytest.param({"reason": " ", "name": "新"}, "give the reason for the correction (--reason)", id="no-reason"),
        pytest.param({}, "give what to correct: --name, --id-number or --birth-date", id="nothing-given"),
        pytest.param(
            {"id_number": IDS[1][:17] + "0"},
            "ID number 110105…20 fails the resident-ID check digit; check it for a typo",
            id="check-digit",
        ),  # fmt: skip
        pytest.param(
            {"id_number": IDS[1][:-1]},
            "ID number 110…02 has 17 characters; a resident ID number has 18 "
            "(or 15 in the old form); check it for a missing or extra digit",
            id="17-digits",
        ),  # fmt: skip
        pytest.param(
            {"birth_date": "1980-01-03"},
            "the birth date in the ID number (1980-01-01) is not the birth date given (1980-01-03)",
            id="birth-date-not-the-id-numbers",
        ),  # fmt: skip
        pytest.param(
            {"birth_date": "1980-02-30"},
            "birth_date: '1980-02-30' is not a date; write it as YYYY-MM-DD",
            id="not-a-date",
        ),  # fmt: skip
        pytest.param(
            {"id_number": IDS[0]},
            f"id_number: this person (ID {mask_id_number(IDS[0])}) already holds "
            "live membership #1 in pool 'js-truckers'",
            id="another-members-number",
        ),  # fmt: skip
    ],
)
def test_a_refused_correction_is_one_line_and_changes_nothing(app, pool, invoke, changes, problem):
    before = snapshot(app)
    args = {"reason": "typo", **changes}
    with pytest.raises(ValidationError) as refused:
        app.correct_member(POOL, 2, by="admin", **args)
    assert refused.value.lines == [f"member #2 of pool 'js-truckers' was not corrected: {problem}"]
    assert snapshot(app) == before


def test_a_correction_is_checked_against_the_cohort_on_the_joining_day(app, pool):
    before = snapshot(app)
    old = date(1960, 1, 1)  # 66 on the joining day: the truckers' pool takes drivers up to 60
    with pytest.raises(ValidationError) as refused:
        app.correct_member(POOL, 3, reason="typo", by="admin", id_number=resident_id(old, 3), birth_date=old)
    (line,) = refused.value.lines
    assert line.startswith("member #3 of pool 'js-truckers' was not corrected: ") and "60" in line
    assert snapshot(app) == before


def test_a_member_changed_in_the_database_is_not_corrected(app, pool, db_url):
    with app.transaction() as s:
        s.execute(text("UPDATE members SET name = '冒名' WHERE id = 2"))
    before = snapshot(app)
    with pytest.raises(StateError, match=r"^member #2 of pool 'js-truckers' was not corrected: the stored identity"):
        app.correct_member(POOL, 2, reason="typo", by="admin", name="司机二")
    assert snapshot(app) == before


# -- tamper evidence ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE members SET name = '冒名' WHERE id = 2", "member #2 (冒名): the name, ID number, birth date"),
        ("UPDATE members SET birth_date = '1981-01-01' WHERE id = 2", "member #2 (司机2): the name, ID number, birth"),
        ("UPDATE members SET joined_on = '2026-09-01' WHERE id = 2", "member #2 (司机2): the name, ID number, birth"),
        (
            "UPDATE members SET id_cipher = (SELECT id_cipher FROM members WHERE id = 3), "
            "id_hash = (SELECT id_hash FROM members WHERE id = 3), id_masked = (SELECT id_masked FROM members WHERE "
            "id = 3) WHERE id = 2",
            "member #2 (司机2): the name, ID number, birth date or joining day is not the one sealed",
        ),
        ("UPDATE members SET id_cipher = 'x' || id_cipher WHERE id = 2", "member #2 (司机2): the encrypted ID number"),
        (
            "UPDATE members SET id_hash = (SELECT id_hash FROM members WHERE id = 1) WHERE id = 2",
            "member #2 (司机2): the ID number's keyed hash or masked form",
        ),  # fmt: skip
    ],
    ids=["name", "birth-date", "joining-day", "id-number-of-another", "id-number-garbled", "keyed-hash"],
)
def test_an_identity_changed_in_the_database_is_named_by_ledger_verify(app, pool, invoke, db_url, statement, named):
    if "SELECT id_hash" in statement:  # the unique index stands in the way of a live copy: end the other member
        app.exit_member(POOL, 1 if "id = 1" in statement else 3, on="2026-10-02")
    assert app.verify_identities(POOL).problems == ()
    with app.transaction() as s:
        s.execute(text(statement))
    report = app.verify_identities(POOL)
    assert report.members == 3 and len(report.problems) == 1 and report.problems[0].startswith(named)
    result = invoke("ledger", "verify", POOL)
    assert result.exit_code == 1
    assert named in result.stdout


def test_a_changed_correction_record_is_named(app, pool):
    app.correct_member(POOL, 2, reason="typo", by="admin", name="司机二")
    with app.transaction() as s:
        s.execute(text("UPDATE member_identity_corrections SET old_name = '别人'"))
    assert app.verify_identities(POOL).problems == (
        "identity correction #1 of member #2: its record is not the one sealed; it was changed in the database",
    )


def test_without_the_key_verify_says_identities_were_not_checked(app, pool, invoke, monkeypatch, tmp_path):
    monkeypatch.setenv("MUTUALAID_KEY_FILE", str(tmp_path / "none.key"))
    result = invoke("ledger", "verify", POOL)
    assert result.exit_code == 0, result.output
    assert (
        f"members' identities were not checked: cannot check members' identities: the key file {tmp_path / 'none.key'} "
        "is missing" in result.stdout
    )
    assert not app.verify_identities(POOL).checked


def test_ineligible_join_makes_no_key(app, truckers_pool, monkeypatch, tmp_path):
    path = tmp_path / "k" / "mutualaid.key"
    monkeypatch.setenv("MUTUALAID_KEY_FILE", str(path))
    app.create_pool(truckers_pool())
    with pytest.raises(IneligibleError):
        app.join(POOL, id_number=IDS[0], name="张三", birth_date="1980-01-02", joined_on=JOINED, attributes=attrs())
    assert not path.exists()
