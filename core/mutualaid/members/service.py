"""Members: joining (eligibility checked by the cohort), finding and listing them, updating a
member's cohort attributes and contact fields, and ending a membership (the member exits, or died).

A person holds at most one live (active or frozen) membership per pool; an ended membership keeps
its row, with its status and the day it ended. Status changes are made by
:mod:`mutualaid.members.lifecycle`; this module checks what is asked and hands it over.
Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..contacts import CONTACT_FIELDS, check_contacts
from ..db.models import NOT_ACTIVE, Claim, Member
from ..errors import IneligibleError, NotFoundError, StateError, ValidationError
from ..fields import parse_date, validate_fields
from ..keys import IdentityKeys
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool, pool_today
from ..privacy import mask_id_number
from ..vocabulary import LIVE_STATUSES, ClaimStatus, MemberState, MemberStatus, values
from . import lifecycle
from .eligibility import (
    CORE,
    already_live,
    check_applicant,
    deceased_member,
    deceased_reason,
    join_window,
    live_member_id,
    normalize_id_number,
)
from .history import history
from .records import HistoryEntry, MemberRecord, MemberUpdate, record_of
from .sealing import database_keys, stored_check_value

__all__ = [
    "end_membership",
    "get_member",
    "join_member",
    "MemberRow",
    "list_member_rows",
    "list_members",
    "locked_member",
    "member_history",
    "member_number_bound",
    "update_member",
]

#: Claim statuses whose benefit was granted (approved, or approved and already shared).
#: Members read per query by :func:`list_members` (keyset pagination by member number).
LIST_BATCH = 2000
#: The largest member number the database can hold (a signed 64-bit integer).
_LARGEST_NUMBER = 2**63 - 1

_PAID_CLAIMS = (ClaimStatus.APPROVED, ClaimStatus.SHARED)
_WHAT = {MemberStatus.EXITED: "exit", MemberStatus.DECEASED: "death"}


def join_member(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    *,
    id_number: str,
    name: str,
    birth_date: str | date,
    attributes: Mapping[str, Any] | None = None,
    joined_on: str | date | None = None,
    contacts: Mapping[str, str | None] | None = None,
) -> MemberRecord:
    """Add one member after checking every eligibility rule.

    ``contacts`` are the member's optional contact fields (``email``, ``phone``, ``locale``,
    ``city``), checked and normalised by :mod:`mutualaid.contacts`; an empty one is not given.

    :raises IneligibleError: listing every reason the applicant may not join (and every bad contact).
    :raises ValidationError: listing every bad contact field of an applicant who may join.
    """
    pool = get_pool(session, plugins, pool_key)
    raw: dict[str, Any] = dict(attributes or {})
    raw.update(id_number=id_number, name=name, birth_date=birth_date)
    if joined_on is not None:
        raw["joined_on"] = joined_on
    applicant, problems = check_applicant(
        plugins, pool, raw, default_joined_on=pool_today(pool.definition), window=join_window(session, pool)
    )
    given, contact_problems = check_contacts(contacts or {})
    who = name.strip() or f"ID {mask_id_number(id_number)}"
    if applicant is None:
        problems = [*problems, *contact_problems]
    elif contact_problems:
        raise ValidationError(contact_problems, summary=f"{who} cannot join pool {pool.key!r}:")
    keys: IdentityKeys | None = None
    if applicant is not None:
        keys = database_keys(session, create=True, purpose="add a member")
        id_hash = keys.lookup(applicant.id_number)
        existing = live_member_id(session, pool.id, id_hash)
        deceased = deceased_member(session, pool.id, id_hash) if existing is None else None
        if existing is not None:
            problems = [already_live(existing, pool, applicant.id_number)]
            applicant = None
        elif deceased is not None:
            problems = [f"{deceased_reason(*deceased)} in pool {pool.key!r}"]
            applicant = None
    if applicant is None or keys is None:
        raise IneligibleError(problems, summary=f"{who} cannot join pool {pool.key!r}:")
    try:
        row = lifecycle.admit(
            session, plugins, pool, applicant, keys, {k: v for k, v in given.items() if v is not None}
        )
    except IntegrityError:
        # Another transaction gave this person a live membership between the check above and the
        # insert: the partial unique index uq_members_live_person refused the second one. The
        # savepoint was rolled back, so the session is still usable.
        existing = live_member_id(session, pool.id, keys.lookup(applicant.id_number))
        if existing is None:
            raise
        raise IneligibleError(
            [already_live(existing, pool, applicant.id_number)], summary=f"{who} cannot join pool {pool.key!r}:"
        ) from None
    return record_of(row, pool.key)


def get_member(session: Session, pool: PoolRecord, member: int | str, *, reveal: bool = False) -> MemberRecord:
    """A member of ``pool`` by member number (``12`` or ``#12``) or by ID number (live membership
    first), found by its keyed hash: that needs the operator's key, as does ``reveal`` (the ID
    number decrypted rather than masked)."""
    row = _find_member(session, pool, member)
    keys = database_keys(session, purpose="show members' ID numbers") if reveal else None
    return record_of(row, pool.key, keys)


def _find_member(session: Session, pool: PoolRecord, member: int | str) -> Member:
    text = str(member).strip().lstrip("#")
    row: Member | None = None
    number = text.isdecimal() and len(text) < 12
    if number:
        row = session.scalar(select(Member).where(Member.pool_id == pool.id, Member.id == int(text)))
    if row is None and (not number or stored_check_value(session) is not None):
        keys = database_keys(session, purpose="find a member by ID number")
        person = (Member.pool_id == pool.id, Member.id_hash == keys.lookup(normalize_id_number(member)))
        # The live membership, else the latest ended one: each from its partial index of the hashes.
        row = session.scalar(select(Member).where(*person, lifecycle.is_live()).limit(1)) or session.scalar(
            select(Member).where(*person, lifecycle.has_ended()).order_by(Member.id.desc()).limit(1)
        )
    if row is None:
        shown = repr(member) if number else f"with ID number {mask_id_number(normalize_id_number(member))}"
        raise NotFoundError(f"pool {pool.key!r} has no member {shown} (give a member number or an ID number)")
    return row


def list_members(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    *,
    status: str | None = None,
    limit: int | None = None,
    after: int | None = None,
    reveal: bool = False,
) -> Iterator[MemberRecord]:
    """Members of a pool in joining order (member number), streamed; ``status`` keeps one stored
    status, ``after`` starts after that member number (for paging: the last one of the previous
    page). ID numbers are masked, or decrypted with ``reveal`` (which needs the operator's key).

    The rows are read by member number in batches of :data:`LIST_BATCH` (one query each, in the
    caller's transaction, so one snapshot), and each batch is let go before the next is read: the
    memory held does not grow with the pool. Nothing is checked or read until the first member is
    asked for.

    :raises ValidationError: for a status that is not one of :class:`~mutualaid.vocabulary.MemberStatus`.
    """
    pool = get_pool(session, plugins, pool_key)
    query = _listing(select(Member), pool.id, status)
    keys = database_keys(session, purpose="show members' ID numbers") if reveal else None
    for rows in _batches(session, query, limit, after, entities=True):
        for row in rows:
            yield record_of(row, pool.key, keys)


#: What a row of :func:`list_member_rows` holds: member number, name, ID number (masked or
#: revealed), birth date, joining day, end of the waiting period, and the state on the day asked.
MemberRow = tuple[int, str, str, date, date, date, str]


def list_member_rows(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    on: date,
    *,
    status: str | None = None,
    limit: int | None = None,
    after: int | None = None,
    reveal: bool = False,
) -> Iterator[MemberRow]:
    """The members :func:`list_members` gives (same order, paging, checks and batches), as plain
    :data:`MemberRow` tuples with the state on ``on``: only the columns a listing prints are read,
    with no member object built and no attributes parsed, so a pool of millions lists quickly."""
    pool = get_pool(session, plugins, pool_key)
    columns = [Member.id, Member.name, Member.id_masked, Member.birth_date, Member.joined_on, Member.waiting_until]
    columns.append(Member.status)
    if reveal:
        columns.append(Member.id_cipher)
    query = _listing(select(*columns), pool.id, status)
    keys = database_keys(session, purpose="show members' ID numbers") if reveal else None
    active, waiting = MemberStatus.ACTIVE.value, MemberState.WAITING.value
    for rows in _batches(session, query, limit, after, entities=False):
        for number, name, masked, born, joined, until, stored, *cipher in rows:
            if keys is not None:  # one that does not decrypt (changed in the database) stays masked
                plain = keys.decrypt(pool.id, cipher[0])
                masked = plain if plain is not None else masked
            state = waiting if stored == active and on <= until else stored
            yield number, name, masked, born, joined, until, state


def _listing(query: Any, pool_id: int, status: str | None) -> Any:
    """``query`` kept to the pool's members (and one stored status), by member number.

    The pool is matched as ``pool_id + 0`` so that no index of ``pool_id`` is used: each batch is
    then a range of the primary key from the last member read, in order. A status other than
    ``active`` is listed from the partial index of such members instead (pool, status, number). Through the index of
    (pool, ID-number hash) every batch read all the pool's rows again and sorted them, which made
    a listing grow with the square of the pool (1,000,000 members: 500 reads of 1,000,000 rows).

    :raises ValidationError: for a status that is not one of :class:`~mutualaid.vocabulary.MemberStatus`.
    """
    if status:
        if status not in values(MemberStatus):
            hint = (
                " ('waiting' is a state of an active member: list --status active)"
                if status == MemberState.WAITING
                else ""
            )
            raise ValidationError(
                [f"--status: {status!r} is not a member status; use one of {', '.join(values(MemberStatus))}{hint}"]
            )
        if status != MemberStatus.ACTIVE:
            # The few members of a status other than active, by the partial index of them (its
            # condition repeated word for word, so that SQLite sees the query implies it).
            return query.where(Member.pool_id == pool_id, Member.status == status, text(NOT_ACTIVE)).order_by(Member.id)
        query = query.where(Member.status == status)
    return query.where(Member.pool_id + 0 == pool_id).order_by(Member.id)


def _batches(session: Session, query: Any, limit: int | None, after: int | None, *, entities: bool) -> Iterator[Any]:
    """The rows of ``query`` (ordered by member number) after member number ``after``, at most
    ``limit`` of them, in lists of at most :data:`LIST_BATCH`: one query each (keyset pagination),
    each list let go before the next is read. ``entities`` reads ORM objects, otherwise plain rows."""
    if after is not None and after >= _LARGEST_NUMBER:
        return  # no member number is larger (and the database cannot compare with a wider one)
    fetch = session.scalars if entities else session.execute
    last, left = after, limit
    while left is None or left > 0:
        size = LIST_BATCH if left is None else min(LIST_BATCH, left)
        page = query if last is None else query.where(Member.id > last)
        rows = fetch(page.limit(size)).all()
        if rows:
            yield rows
        if len(rows) < size:
            return
        last = rows[-1].id
        left = None if left is None else left - len(rows)
        del rows


def member_number_bound(session: Session, plugins: Plugins, pool_key: str) -> int:
    """The highest member number of the pool (0 when it has none): no listing of it needs a wider
    member column. Read from the primary key's index, not by reading the members."""
    pool = get_pool(session, plugins, pool_key)
    return session.scalar(select(func.max(Member.id)).where(Member.pool_id == pool.id)) or 0


def member_history(session: Session, pool: PoolRecord, member: int | str) -> tuple[MemberRecord, list[HistoryEntry]]:
    """A member and every change of their membership, oldest first."""
    record = get_member(session, pool, member)
    return record, history(session, record.id)


def locked_member(session: Session, pool: PoolRecord, member: int | str) -> Member:
    """The member's row, locked (FOR NO KEY UPDATE on PostgreSQL) until the transaction ends and re-read,
    so that two operators changing one member at once are served one after the other."""
    member_id = _find_member(session, pool, member).id
    return session.execute(
        select(Member)
        .where(Member.id == member_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()


def _require_live(row: Member, pool: PoolRecord, action: str) -> None:
    if row.status in LIVE_STATUSES:
        return
    ended = f" (ended on {row.ended_on.isoformat()})" if row.ended_on is not None else ""
    raise StateError(
        f"member #{row.id} of pool {pool.key!r} is already {row.status}{ended}; only a live (active or frozen) "
        f"membership can {action}"
    )


def end_membership(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    member: int | str,
    *,
    status: MemberStatus | str,
    on: str | date | None = None,
) -> MemberRecord:
    """End a live membership: the member exits (``status="exited"``) or died (``"deceased"``) on ``on``.

    ``on`` defaults to today in the pool's time zone; it may not be before the joining day, in the
    future, or before an event for which this member was granted a benefit. The member shares every
    period whose notice day is on or before ``on`` -- members are counted at 00:00 of the notice
    day, so a period whose cases were already in public notice is still owed -- and no later one.
    Shares already charged stand (nothing is refunded).

    :raises StateError: if the membership is not live (it has already ended, or lapsed).
    :raises ValidationError: for a bad ``on``, listing every problem.
    """
    if status not in _WHAT:
        raise ValidationError([f"status: {status!r} does not end a membership; use 'exited' or 'deceased'"])
    ending = MemberStatus(status)
    pool = get_pool(session, plugins, pool_key)
    row = locked_member(session, pool, member)
    _require_live(row, pool, "be ended")
    what = _WHAT[ending]
    summary = f"the {what} of member #{row.id} was not recorded:"
    today = pool_today(pool.definition)
    try:
        day = parse_date(on, f"the {what} date") if on is not None else today
    except ValueError as exc:
        raise ValidationError([str(exc)], summary=summary) from None
    problems = []
    if day < row.joined_on:
        problems.append(
            f"the {what} date {day.isoformat()} is before member #{row.id} joined on {row.joined_on.isoformat()}; "
            "give a day on or after the joining day"
        )
    if day > today:
        problems.append(
            f"the {what} date {day.isoformat()} is in the future (today is {today.isoformat()} in the pool's time "
            f"zone); record the {what} on or after the day it happens"
        )
    paid = session.execute(
        select(Claim.id, Claim.event_date)
        .where(Claim.member_id == row.id, Claim.status.in_(_PAID_CLAIMS), Claim.event_date > day)
        .order_by(Claim.event_date, Claim.id)
        .limit(1)
    ).first()
    if paid is not None:
        problems.append(
            f"claim #{paid.id} of this member was approved for an event on {paid.event_date.isoformat()}, after the "
            f"{what} date {day.isoformat()}; check the date"
        )
    if problems:
        raise ValidationError(problems, summary=summary)
    cause = "left the pool" if ending == MemberStatus.EXITED else "died (recorded by the operator)"
    lifecycle.end(session, plugins, pool, row, ending, day, cause)
    return record_of(row, pool.key)


def update_member(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    member: int | str,
    attributes: Mapping[str, Any] | None = None,
    *,
    contacts: Mapping[str, str | None] | None = None,
) -> MemberUpdate:
    """Change some of a live member's cohort attributes (a driver renews their licence, say) and
    contact fields.

    The values given are merged into the stored ones and the whole set is validated again with the
    cohort's member model, as at joining; an empty value removes an attribute (its default
    applies). Eligibility is not checked again: a member does not lose the membership by ageing or
    by what is recorded here. The member's name, ID number and dates are not attributes.

    ``contacts`` maps contact fields to change (``email``, ``phone``, ``locale``, ``city``) to their
    new values, checked by :mod:`mutualaid.contacts`; an empty value (or ``None``) clears the field.

    :raises StateError: if the membership is not live.
    :raises ValidationError: listing every problem (an unknown name, a bad value); nothing is changed.
    """
    pool = get_pool(session, plugins, pool_key)
    cohort = pool.cohort
    row = locked_member(session, pool, member)
    _require_live(row, pool, "be updated")
    summary = f"member #{row.id} of pool {pool.key!r} was not updated:"
    attributes = attributes or {}
    contacts = contacts or {}
    if not attributes and not contacts:
        raise ValidationError(
            [
                f"no attribute was given; give NAME=VALUE for each one to change ('mutualaid cohorts show {cohort.key}' "
                "lists them)"
            ],
            summary=summary,
        )
    problems = [
        f"{name}: is part of the member's own record, not an attribute of cohort {cohort.key!r}; it cannot be changed"
        for name in attributes
        if name in CORE
    ]
    own = cohort.member_model.model_fields
    problems += [
        f"{name}: is a contact field, not an attribute of cohort {cohort.key!r}; change it with --{name} (an empty "
        "value clears it)"
        for name in attributes
        if name in CONTACT_FIELDS and name not in own
    ]
    problems += [
        f"{name}: is not a contact field; the contact fields are {', '.join(CONTACT_FIELDS)}"
        for name in contacts
        if name not in CONTACT_FIELDS
    ]
    given, contact_problems = check_contacts(contacts)
    problems.extend(contact_problems)
    changes: dict[str, tuple[Any, Any]] = {}
    parsed = None
    if attributes:
        old = json.loads(row.attributes_json)
        merged = {
            **old,
            **{n: v for n, v in attributes.items() if n not in CORE and (n in own or n not in CONTACT_FIELDS)},
        }
        parsed, attribute_problems = validate_fields(cohort.member_model, merged)
        problems.extend(attribute_problems)
        if parsed is not None:
            new = parsed.model_dump(mode="json")
            names = [*new, *(name for name in old if name not in new)]
            changes = {name: (old.get(name), new.get(name)) for name in names if old.get(name) != new.get(name)}
    if problems:
        raise ValidationError(problems, summary=summary)
    if parsed is not None and changes:
        row.attributes_json = parsed.model_dump_json()
    for name, value in given.items():
        if getattr(row, name) != value:
            changes[name] = (getattr(row, name), value)
            setattr(row, name, value)
    if changes:
        session.flush()
    return MemberUpdate(record_of(row, pool.key), changes)
