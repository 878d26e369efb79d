"""The life of a membership: the only code that writes a member's status.

Every change goes through one function here, whoever asks for it, and each one writes the
member's history (``member_status_changes``: the change, the status it leaves and the day it
holds from) and fires the matching hook::

    change      status after   asked by                                 hook
    joined      active         member join, member import               member_joined
    covered     active         (recorded with the joining: the day the waiting period ends)
    frozen      frozen         a prepaid sharing run (balance too low)  member_frozen
    unfrozen    active         a top-up back to the pool's low_balance  member_unfrozen
    lapsed      lapsed         a postpaid settlement (share unpaid)     member_ended
    exited      exited         member exit; a claim the rules end on    member_ended
    died        deceased       member exit --deceased; a death claim    member_ended

The waiting period ends by the calendar, not by an operation, so its end is recorded when the
member joins (a ``covered`` row dated the first day of full cover) and a member's state on a day
(``waiting`` or ``active``) is read from the dates. An ending is dated the first day the person
is no longer a member (``ended_on`` + 1); ``ended_on`` is the last day of the membership.

Changes to many members at once (an import, a run's freezes, a settlement's lapses) are one
``INSERT ... SELECT`` and one ``UPDATE`` whatever their number; their per-member hooks are called
only when a plugin implements them (the numbers read back from the history in batches). Services
take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, case, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from ..cohort import Applicant, waiting_until
from ..db.bulk import bulk_insert, chunks, ids_in
from ..db.models import Member, MemberIdentityCorrection, MemberStatusChange
from ..keys import IdentityKeys, seal_encoding
from ..plugins import Plugins
from ..pools import PoolRecord
from ..vocabulary import LIVE_STATUSES, MemberChange, MemberStatus
from .sealing import correction_seal, member_seal, seal_id_number

__all__ = [
    "INSERT_COLUMNS",
    "admit",
    "admit_many",
    "allocate_ids",
    "correct_identity",
    "end",
    "freeze_where",
    "has_observers",
    "has_ended",
    "is_live",
    "lapse_where",
    "member_seal_tail",
    "new_member_row",
    "unfreeze",
]

_DAY = timedelta(days=1)
#: Member numbers read back per query when per-member hooks are called after a change of many.
_HOOK_BATCH = 10_000
#: The columns a new member's row fills, in the order of :func:`new_member_row`.
INSERT_COLUMNS = (
    "pool_id",
    "id_cipher",
    "id_hash",
    "id_masked",
    "name",
    "birth_date",
    "joined_on",
    "waiting_until",
    "status",
    "ended_on",
    "attributes_json",
)
_HISTORY_COLUMNS = ["member_id", "change", "status", "since", "cause"]
#: Where a row of :func:`new_member_row` holds what the identity seal covers.
_AT_NAME, _AT_BORN, _AT_JOINED, _AT_WAITING = (
    INSERT_COLUMNS.index(c) for c in ("name", "birth_date", "joined_on", "waiting_until")
)
_ENDINGS = {MemberStatus.EXITED: MemberChange.EXITED, MemberStatus.DECEASED: MemberChange.DIED}
#: Why the rows of joining say what they say.
_JOINED = "joined"
_COVERED = "the waiting period ends"


def _history() -> Table:
    return cast(Table, MemberStatusChange.__table__)


def _members() -> Table:
    return cast(Table, Member.__table__)


def is_live() -> ColumnElement[bool]:
    """SQL: the member holds a live (active or frozen) membership. The statuses are rendered as
    literals, not bound: only then can SQLite (and a generic PostgreSQL plan) prove that a query
    implies the WHERE of the partial unique index ``uq_members_live_person`` and use it."""
    return Member.status.in_(bindparam("live_statuses", list(LIVE_STATUSES), expanding=True, literal_execute=True))


def has_ended() -> ColumnElement[bool]:
    """SQL: the membership has ended: the condition of ``ix_members_ended_person``, as :func:`is_live`'s."""
    return Member.status.not_in(bindparam("live_statuses", list(LIVE_STATUSES), expanding=True, literal_execute=True))


def has_observers(plugins: Plugins, hook: str) -> bool:
    """Whether any plugin implements ``hook`` (a change of many members reads their numbers back
    for its per-member hooks only then)."""
    return bool(getattr(plugins.pm.hook, hook).get_hookimpls())


def _last_history_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(MemberStatusChange.id), 0))) or 0)


def _changed_members(session: Session, after_id: int, change: MemberChange, cause: str) -> Iterator[int]:
    """The members given a ``change`` with ``cause`` in history rows numbered above ``after_id``."""
    last = after_id
    while True:
        rows = session.execute(
            select(MemberStatusChange.id, MemberStatusChange.member_id)
            .where(MemberStatusChange.id > last, MemberStatusChange.change == change, MemberStatusChange.cause == cause)
            .order_by(MemberStatusChange.id)
            .limit(_HOOK_BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        yield from (int(member_id) for _, member_id in rows)


# -- joining ----------------------------------------------------------------------------------------


def new_member_row(pool: PoolRecord, applicant: Applicant, keys: IdentityKeys) -> tuple[Any, ...]:
    """A new member's row, in the order of :data:`INSERT_COLUMNS`: active from the joining day, the
    waiting period the cohort gives the applicant, the ID number encrypted, hashed and masked
    (its seal is added when the member's number is known: :func:`admit`, :func:`admit_many`)."""
    days = pool.cohort.rules.waiting_period_days(applicant, pool.settings)
    return (
        pool.id,
        *seal_id_number(keys, pool.id, applicant.id_number),
        applicant.name,
        applicant.birth_date,
        applicant.joined_on,
        waiting_until(applicant.joined_on, int(days)),
        MemberStatus.ACTIVE.value,
        None,
        applicant.attributes.model_dump_json(),
    )


def allocate_ids(session: Session, count: int) -> list[int]:
    """``count`` new member numbers, before the rows are written (their identity seals cover them):
    from the table's sequence on PostgreSQL, after the largest number on SQLite (whose single
    writer cannot be overtaken between the read and the write: a transaction that tried would fail
    with "database is locked" instead)."""
    if count <= 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return [
            int(n)
            for (n,) in connection.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('members', 'id')) FROM generate_series(1, %(count)s)",
                {"count": count},
            )
        ]
    first = int(session.scalar(select(func.coalesce(func.max(Member.id), 0))) or 0) + 1
    return list(range(first, first + count))


def admit(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    applicant: Applicant,
    keys: IdentityKeys,
    contacts: Mapping[str, str | None] | None = None,
) -> Member:
    """Insert one new member (status ``active``), write their history and fire ``member_joined``.
    ``contacts`` are the member's contact fields (``email``, ..., as :mod:`mutualaid.contacts`
    checked them), stored with the row; the identity is sealed with ``keys``.

    The insert runs in a savepoint: when the partial unique index refuses a second live membership
    of the person (another transaction got in first), :class:`sqlalchemy.exc.IntegrityError`
    propagates with the session still usable.
    """
    values = new_member_row(pool, applicant, keys)
    (member_id,) = allocate_ids(session, 1)
    seal = member_seal(
        keys, pool.id, member_id, applicant.name, applicant.id_number, applicant.birth_date, applicant.joined_on
    )
    row = Member(id=member_id, **dict(zip(INSERT_COLUMNS, values, strict=True)), identity_seal=seal, **(contacts or {}))
    with session.begin_nested():
        session.add(row)
        session.flush()
    active = MemberStatus.ACTIVE.value
    history = [(row.id, MemberChange.JOINED.value, active, row.joined_on, _JOINED)]
    if row.waiting_until > row.joined_on:
        history.append((row.id, MemberChange.COVERED.value, active, row.waiting_until + _DAY, _COVERED))
    bulk_insert(session.connection(), _history(), _HISTORY_COLUMNS, history)
    plugins.hook.member_joined(pool=pool.config, member_id=row.id, applicant=applicant)
    return row


def member_seal_tail(name: str, id_number: str, birth_date: str, joined_on: str) -> str:
    """What :func:`~mutualaid.members.sealing.member_seal` signs after the member number, encoded
    (:func:`~mutualaid.keys.seal_encoding`; the days as ISO text): known once a row is checked,
    before the member has a number. :func:`admit_many` seals the row with it. Written out, as
    :func:`~mutualaid.keys.seal_encoding` writes four texts: an import encodes one for every row."""
    return f"{len(name)}:{name}{len(id_number)}:{id_number}{len(birth_date)}:{birth_date}{len(joined_on)}:{joined_on}"


def admit_many(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    rows: Sequence[tuple[Any, ...]],
    keys: IdentityKeys,
    seal_tails: Sequence[str],
    *,
    applicants: Sequence[Applicant] | None = None,
    columns: Sequence[str] = INSERT_COLUMNS,
) -> list[int]:
    """Insert new members at once, write their history in one bulk write and, given their ``applicants``,
    fire ``member_joined`` for each in member-number order when a plugin observes it; returns the
    members' numbers, in the order of ``rows``.

    ``rows`` are the cells of ``columns`` (:data:`INSERT_COLUMNS`, then any other columns of the
    members table, the contact fields of an import), their days as ISO text; ``seal_tails`` are
    their :func:`member_seal_tail`. The member numbers are allocated first (:func:`allocate_ids`),
    then each row is written with its number and its seal (:func:`~mutualaid.db.bulk.bulk_insert`:
    ``COPY`` on PostgreSQL) on the session's connection. A person who already holds a live membership makes
    the partial unique index refuse the write (``IntegrityError``, from the driver when it came
    through ``COPY``).
    """
    if not rows:
        return []
    connection = session.connection()
    ids = allocate_ids(session, len(rows))
    seal = keys.seal_encoded
    head = seal_encoding(("member", pool.id))
    sealed = [
        (member_id, *row, seal(f"{head}{len(number := str(member_id))}:{number}{tail}"))
        for member_id, row, tail in zip(ids, rows, seal_tails, strict=True)
    ]
    bulk_insert(connection, _members(), ("id", *columns, "identity_seal"), sealed, days_as_text=True)
    del sealed
    _write_joining_history(session, pool, ids, rows)
    if applicants is not None and has_observers(plugins, "member_joined"):
        for member_id, applicant in sorted(zip(ids, applicants, strict=True), key=lambda pair: pair[0]):
            plugins.hook.member_joined(pool=pool.config, member_id=member_id, applicant=applicant)
    return ids


def _write_joining_history(
    session: Session, pool: PoolRecord, ids: Sequence[int], rows: Sequence[tuple[Any, ...]]
) -> None:
    """The joining rows of new members ``ids`` and the end of their waiting period (``rows`` are
    their cells of :data:`INSERT_COLUMNS`, days as ISO text), in one statement. SQLite (one writer,
    the numbers one block) selects the block back by its primary key, as ``pool_id + 0`` so that the
    pool's index is not walked; PostgreSQL writes them from ``rows`` with ``COPY``: another join may
    take a number in between, and a query over the newest numbers was planned as if they were one."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        _joining_history_of_block(connection, pool, min(ids), max(ids))
        return
    active = MemberStatus.ACTIVE.value
    joined, covered = MemberChange.JOINED.value, MemberChange.COVERED.value
    covered_from: dict[tuple[str, str], str | None] = {}
    history: list[tuple[Any, ...]] = []
    for member_id, row in zip(ids, rows, strict=True):
        on, waiting = row[_AT_JOINED], row[_AT_WAITING]
        history.append((member_id, joined, active, on, _JOINED))
        try:
            day = covered_from[on, waiting]
        except KeyError:
            last = date.fromisoformat(waiting)
            day = covered_from[on, waiting] = (last + _DAY).isoformat() if last > date.fromisoformat(on) else None
        if day is not None:
            history.append((member_id, covered, active, day, _COVERED))
    bulk_insert(connection, _history(), _HISTORY_COLUMNS, history, days_as_text=True)


def _joining_history_of_block(connection: Any, pool: PoolRecord, first: int, last: int) -> None:
    """SQLite: the joining history of the pool's members ``first`` to ``last``, just written."""
    changes = (
        select(literal(MemberChange.JOINED.value).label("change"), literal(_JOINED).label("cause"))
        .union_all(select(literal(MemberChange.COVERED.value), literal(_COVERED)))
        .subquery("changes")
    )
    joining = changes.c.change == MemberChange.JOINED.value
    connection.execute(
        insert(_history()).from_select(
            _HISTORY_COLUMNS,
            select(
                Member.id,
                changes.c.change,
                literal(MemberStatus.ACTIVE.value),
                case((joining, Member.joined_on), else_=func.date(Member.waiting_until, "+1 day")),
                changes.c.cause,
            )
            .select_from(Member)
            .join(changes, or_(joining, Member.waiting_until > Member.joined_on))
            .where((Member.pool_id + 0) == pool.id, Member.id >= first, Member.id <= last),
        )
    )


# -- freezing and unfreezing (prepaid) ---------------------------------------------------------------


def _change_where(
    session: Session,
    matching: ColumnElement[bool],
    change: MemberChange,
    status: MemberStatus,
    since: date,
    cause: str,
    **values: Any,
) -> tuple[int, int]:
    """Give every member ``matching`` the ``change``: their history rows (status ``status`` from
    ``since``), then the members' new status (and ``values``): one ``INSERT ... SELECT`` and one
    ``UPDATE``, Core statements on the session's connection (an ORM-enabled ``INSERT ... SELECT``
    reports no row count on PostgreSQL). The history first, while the members still match.
    Returns how many changed and the history's last id before (to read their numbers back)."""
    before = _last_history_id(session)
    connection = session.connection()
    connection.execute(
        insert(_history()).from_select(
            _HISTORY_COLUMNS,
            select(Member.id, literal(change.value), literal(status.value), literal(since), literal(cause))
            .where(matching)
            .order_by(Member.id),  # history rows, and the hooks fired from them, in member order
        )
    )
    changed = connection.execute(update(_members()).where(matching).values(status=status.value, **values)).rowcount
    return int(changed), before


def freeze_where(
    session: Session, plugins: Plugins, pool: PoolRecord, condition: ColumnElement[bool], on: date, cause: str
) -> int:
    """Freeze the active members of ``pool`` matching ``condition`` from ``on`` (their rights are
    suspended); one ``INSERT ... SELECT`` and one ``UPDATE``. Fires ``member_frozen`` per member
    when observed. Returns how many were frozen."""
    matching = and_(Member.pool_id == pool.id, Member.status == MemberStatus.ACTIVE.value, condition)
    frozen, before = _change_where(session, matching, MemberChange.FROZEN, MemberStatus.FROZEN, on, cause)
    if frozen and has_observers(plugins, "member_frozen"):
        for member_id in list(_changed_members(session, before, MemberChange.FROZEN, cause)):
            plugins.hook.member_frozen(pool=pool.config, member_id=member_id, on=on, cause=cause)
    return frozen


def unfreeze(
    session: Session, plugins: Plugins, pool: PoolRecord, members: Iterable[tuple[int, date]], *, cause: str
) -> int:
    """Unfreeze frozen members, each from its own day (``(member_id, day)`` pairs): status
    ``active`` again, a history row each, ``member_unfrozen`` per member. Returns how many."""
    pairs = sorted(members)
    if not pairs:
        return 0
    connection = session.connection()
    bulk_insert(
        connection,
        _history(),
        _HISTORY_COLUMNS,
        [(mid, MemberChange.UNFROZEN.value, MemberStatus.ACTIVE.value, day, cause) for mid, day in pairs],
    )
    for ids in chunks([mid for mid, _ in pairs]):
        connection.execute(
            update(_members())
            .where(ids_in(Member.id, ids), Member.status == MemberStatus.FROZEN.value)
            .values(status=MemberStatus.ACTIVE.value)
        )
    for mid, day in pairs:
        plugins.hook.member_unfrozen(pool=pool.config, member_id=mid, on=day)
    return len(pairs)


# -- endings ----------------------------------------------------------------------------------------


def end(
    session: Session, plugins: Plugins, pool: PoolRecord, row: Member, status: MemberStatus, on: date, cause: str
) -> None:
    """End one live membership: ``exited`` or ``deceased``, ``on`` its last day. Writes the history
    row (from the day after) and fires ``member_ended``. The caller has checked the day."""
    change = _ENDINGS.get(MemberStatus(status))
    if change is None:
        raise ValueError(f"a membership ends as exited or deceased here, not {status!r}")
    row.status = MemberStatus(status).value
    row.ended_on = on
    session.flush()
    bulk_insert(
        session.connection(),
        _history(),
        _HISTORY_COLUMNS,
        [(row.id, change.value, MemberStatus(status).value, on + _DAY, cause)],
    )
    plugins.hook.member_ended(pool=pool.config, member_id=row.id, status=MemberStatus(status).value, on=on)


def lapse_where(
    session: Session, plugins: Plugins, pool: PoolRecord, condition: ColumnElement[bool], last_day: date, cause: str
) -> int:
    """Lapse the live members of ``pool`` matching ``condition``: status ``lapsed``, the membership
    ending on ``last_day``; one ``INSERT ... SELECT`` and one ``UPDATE``. Fires ``member_ended``
    (status ``lapsed``) per member when observed. Returns how many lapsed."""
    lapsing = and_(Member.pool_id == pool.id, is_live(), condition)
    lapsed, before = _change_where(
        session, lapsing, MemberChange.LAPSED, MemberStatus.LAPSED, last_day + _DAY, cause, ended_on=last_day
    )
    if lapsed and has_observers(plugins, "member_ended"):
        for member_id in list(_changed_members(session, before, MemberChange.LAPSED, cause)):
            plugins.hook.member_ended(
                pool=pool.config, member_id=member_id, status=MemberStatus.LAPSED.value, on=last_day
            )
    return lapsed


# -- identity corrections ---------------------------------------------------------------------------


def correct_identity(
    session: Session,
    pool: PoolRecord,
    row: Member,
    keys: IdentityKeys,
    *,
    name: str,
    id_number: str,
    birth_date: date,
    old_id_number: str,
    by: str,
    reason: str,
) -> MemberIdentityCorrection:
    """Correct a member's identity to ``name``, ``id_number`` and ``birth_date`` (the caller has
    checked them as a joining is checked): the row's values, its seal renewed, and a row of
    ``member_identity_corrections`` with who, when, why and the values before and after (ID
    numbers encrypted and masked), sealed too. Runs in a savepoint: when the partial unique index
    refuses the new ID number (another membership got it meanwhile),
    :class:`sqlalchemy.exc.IntegrityError` propagates with the session still usable."""
    correction = MemberIdentityCorrection(
        member_id=row.id,
        corrected_at=datetime.now(UTC),
        corrected_by=by,
        reason=reason,
        old_name=row.name,
        new_name=name,
        old_id_cipher=row.id_cipher,
        old_id_masked=row.id_masked,
        old_birth_date=row.birth_date,
        new_birth_date=birth_date,
        seal=correction_seal(
            keys, row.id, by, reason, (row.name, name), (old_id_number, id_number), (row.birth_date, birth_date)
        ),
    )
    with session.begin_nested():
        if id_number != old_id_number:
            row.id_cipher, row.id_hash, row.id_masked = seal_id_number(keys, pool.id, id_number)
        row.name = name
        row.birth_date = birth_date
        row.identity_seal = member_seal(keys, pool.id, row.id, name, id_number, birth_date, row.joined_on)
        correction.new_id_cipher = row.id_cipher
        correction.new_id_masked = row.id_masked
        session.add(correction)
        session.flush()
    return correction
