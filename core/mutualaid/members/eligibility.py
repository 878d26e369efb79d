"""Who may join: one applicant's core fields, the cohort's attributes and every eligibility rule,
and whether the person already holds a live membership or is recorded as deceased.

Used alike by a single join and by every row of an import.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..cohort import Applicant
from ..csvfiles import text_problem
from ..db.models import Member, SharingRun
from ..db.runs import live_run
from ..fields import field_validator, parse_date
from ..identity import upgrade_resident_id
from ..plugins import Plugins
from ..pools import PoolRecord, pool_today
from ..privacy import mask_id_number
from ..vocabulary import LIVE_STATUSES, MemberStatus
from .lifecycle import has_ended, is_live

__all__ = [
    "ApplicantCheck",
    "JoinWindow",
    "join_window",
    "CORE_COLUMNS",
    "OPTIONAL_CORE_COLUMNS",
    "already_live",
    "check_applicant",
    "deceased_member",
    "deceased_reason",
    "live_member_id",
    "live_members",
    "normalize_id_number",
]

#: Columns every member CSV has; other columns are the cohort's member attributes.
CORE_COLUMNS = ("id_number", "name", "birth_date")
OPTIONAL_CORE_COLUMNS = ("joined_on",)
CORE = frozenset(CORE_COLUMNS + OPTIONAL_CORE_COLUMNS)
#: At most this many texts of days are kept read by an :class:`ApplicantCheck` (a century of days).
_DAYS_KEPT = 40_000


def normalize_id_number(text: object) -> str:
    """An identity number as stored: NFKC (full-width digits become ASCII), trimmed, the check
    character ``x`` of an 18-character resident ID upper-cased, and an old 15-digit number in its
    18-character form -- so one person has one number."""
    number = str(text)
    if not number.isascii():  # NFKC leaves ASCII text as it is
        number = unicodedata.normalize("NFKC", number)
    number = number.strip()
    if len(number) == 18 and number[17] == "x" and number[:17].isascii() and number[:17].isdigit():
        number = number[:17] + "X"
    elif len(number) == 15 and number.isascii() and number.isdigit():
        number = upgrade_resident_id(number)
    return number


class ApplicantCheck:
    """:func:`check_applicant` for one pool, with everything that does not change from one
    applicant to the next looked up once: the cohort's attribute validator and rules, the pool's
    settings, the plugins' ``eligibility_problems`` and the joining window. An import checks every
    row with one of these (the same checks, the same messages, in a fraction of the time).

    :param checks: the plugins' ``eligibility_problems`` as :meth:`Plugins.collector` gives it
        (default: the hook).
    """

    __slots__ = (
        "_attributes",
        "_days",
        "_default_joined",
        "_eligibility",
        "_extra",
        "_pool_config",
        "_settings",
        "_window",
    )

    def __init__(
        self,
        plugins: Plugins,
        pool: PoolRecord,
        *,
        default_joined_on: date,
        checks: Callable[..., list[Any]] | None = None,
        window: JoinWindow | None = None,
    ) -> None:
        cohort = pool.cohort
        self._attributes = field_validator(cohort.member_model)
        self._eligibility = cohort.rules.eligibility_problems
        self._settings = pool.settings
        self._pool_config = pool.config
        self._extra = checks or plugins.hook.eligibility_problems
        self._default_joined = default_joined_on
        self._window = window
        #: Days already read, by their text: a million members were born on some 40,000 days.
        self._days: dict[str, date] = {}

    def __call__(self, raw: Mapping[str, Any]) -> tuple[Applicant | None, list[str]]:
        """The applicant of ``raw`` (text values by column), or ``None`` with every problem."""
        return self.check(
            raw.get("id_number"),
            raw.get("name"),
            raw.get("birth_date"),
            raw.get("joined_on"),
            {k: v for k, v in raw.items() if k not in CORE},
        )

    def check(
        self, id_text: Any, name_text: Any, born_text: Any, joined_text: Any, attributes_raw: Mapping[str, Any]
    ) -> tuple[Applicant | None, list[str]]:
        """The applicant of the core columns' values and the cohort's attribute columns
        (``attributes_raw``, by name; ``None`` or empty for a value not given), or ``None`` with
        every problem: what an import calls with a row's cells, without a mapping of the row."""
        problems: list[str] = []
        id_number = normalize_id_number(id_text or "")
        name = str(name_text or "").strip()
        if id_number:
            problem = text_problem(id_number, limit=64)
            if problem:
                problems.append(f"id_number: {problem}")
        else:
            problems.append("id_number: is required")
        if name:
            problem = text_problem(name, limit=200)
            if problem:
                problems.append(f"name: {problem}")
        else:
            problems.append("name: is required")
        birth: date | None = None
        joined: date | None = self._default_joined
        if not born_text:
            problems.append("birth_date: is required")
        else:
            birth = self._day(born_text, "birth_date", problems)
        if joined_text:
            joined = self._day(joined_text, "joined_on", problems)
        if birth is not None and joined is not None and birth > joined:
            problems.append(f"birth_date: {birth.isoformat()} is after the joining day {joined.isoformat()}")
        if joined is not None and self._window is not None:
            problems.extend(self._window.problems(joined))
        attributes, attribute_problems = self._attributes(attributes_raw)
        if attribute_problems:
            problems.extend(attribute_problems)
        if problems or birth is None or joined is None or attributes is None:
            return None, problems
        applicant = Applicant(id_number=id_number, name=name, birth_date=birth, joined_on=joined, attributes=attributes)
        problems.extend(self._eligibility(applicant, self._settings))
        for extra in self._extra(pool=self._pool_config, applicant=applicant):
            if extra:
                problems.extend(extra)
        return (None, problems) if problems else (applicant, [])

    def _day(self, value: Any, key: str, problems: list[str]) -> date | None:
        """The day ``value`` gives (see :func:`_date_field`), a text read once."""
        text = isinstance(value, str)
        if text:
            day = self._days.get(value)
            if day is not None:
                return day
        day = _date_field(value, key, problems)
        if text and day is not None and len(self._days) < _DAYS_KEPT:
            self._days[value] = day
        return day


def check_applicant(
    plugins: Plugins,
    pool: PoolRecord,
    raw: Mapping[str, Any],
    *,
    default_joined_on: date,
    checks: Callable[..., list[Any]] | None = None,
    window: JoinWindow | None = None,
) -> tuple[Applicant | None, list[str]]:
    """Validate one applicant's core fields and cohort attributes, then every eligibility rule
    (an :class:`ApplicantCheck` made for the one applicant).

    :param checks: the plugins' ``eligibility_problems`` as :meth:`Plugins.collector` gives it (an
        import makes it once for all its rows); default: the hook.
    :param window: the days a member may join on (see :func:`join_window`).
    :returns: the applicant, or ``None`` with every problem (``field: message`` or a sentence).
    """
    return ApplicantCheck(plugins, pool, default_joined_on=default_joined_on, checks=checks, window=window)(raw)


@dataclass(frozen=True, slots=True)
class JoinWindow:
    """The days a member may join on: not after today (a join is recorded on or after its day),
    and not before the notice day of the pool's last shared period (joining into a period already
    shared would make a member covered for events its members have already paid for, or not)."""

    today: date
    last_period: str | None = None
    last_notice: date | None = None

    def problems(self, joined: date) -> list[str]:
        if joined > self.today:
            return [
                f"joined_on: {joined.isoformat()} is after today ({self.today.isoformat()} in the pool's time zone); "
                "record a member on or after the day they join"
            ]
        if self.last_notice is not None and joined < self.last_notice:
            return [
                f"joined_on: {joined.isoformat()} is before the notice day of period {self.last_period} "
                f"({self.last_notice.isoformat()}), which is already shared; a member joins on or after it"
            ]
        return []


def join_window(session: Session, pool: PoolRecord) -> JoinWindow:
    """The pool's window of joining days now (one query: its last shared period)."""
    last = session.execute(
        select(SharingRun.period, SharingRun.notice_date)
        .where(SharingRun.pool_id == pool.id, live_run(SharingRun.id))
        .order_by(SharingRun.notice_date.desc(), SharingRun.id.desc())
        .limit(1)
    ).first()
    today = pool_today(pool.definition)
    return JoinWindow(today, last[0], last[1]) if last is not None else JoinWindow(today)


def _date_field(value: Any, key: str, problems: list[str]) -> date | None:
    try:
        return parse_date(value, key)
    except ValueError:
        problems.append(f"{key}: {value!r} is not a date; write it as YYYY-MM-DD")
        return None


def live_member_id(session: Session, pool_id: int, id_hash: str, *, besides: int | None = None) -> int | None:
    """The person's live membership in the pool, if any (other than member ``besides``), by the
    keyed hash of their ID number."""
    query = select(Member.id).where(Member.pool_id == pool_id, Member.id_hash == id_hash, is_live())
    if besides is not None:
        query = query.where(Member.id != besides)
    return session.scalar(query.limit(1))


#: The live memberships among a JSON array of keyed hashes, on SQLite: from the partial unique
#: index alone (it holds the pool, the hash and the member number), one probe per hash, named so
#: that the planner cannot take another index of the pool and read the table for each person.
_LIVE_SQLITE = text(
    "SELECT id_hash, id FROM members INDEXED BY uq_members_live_person "
    "WHERE pool_id = :pool_id AND id_hash IN (SELECT value FROM json_each(:hashes)) "
    f"AND status IN ({', '.join(repr(str(status)) for status in LIVE_STATUSES)})"
)


def live_members(session: Session, pool: PoolRecord, hashes: list[str]) -> Iterator[tuple[str, int]]:
    """``(id_hash, member_id)`` of the live memberships in ``pool`` among the keyed hashes of ID
    numbers ``hashes``: on SQLite one query for them all, the hashes given as one JSON array (an
    import asks for 10,000 at a time); elsewhere one query per 500."""
    if not hashes:
        return
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(_LIVE_SQLITE, {"pool_id": pool.id, "hashes": json.dumps(hashes)})
        yield from ((id_hash, member_id) for id_hash, member_id in rows)
        return
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        rows = session.execute(
            select(Member.id_hash, Member.id).where(Member.pool_id == pool.id, Member.id_hash.in_(chunk), is_live())
        )
        yield from ((id_hash, member_id) for id_hash, member_id in rows)


def deceased_member(
    session: Session, pool_id: int, id_hash: str, *, besides: int | None = None
) -> tuple[int, date | None] | None:
    """The person's membership recorded as deceased in the pool (number, day of death), if any
    (other than member ``besides``), by the keyed hash of their ID number."""
    query = select(Member.id, Member.ended_on).where(
        Member.pool_id == pool_id, Member.id_hash == id_hash, has_ended(), Member.status == MemberStatus.DECEASED
    )
    if besides is not None:
        query = query.where(Member.id != besides)
    row = session.execute(query.limit(1)).first()
    return (row.id, row.ended_on) if row is not None else None


def already_live(member_id: int, pool: PoolRecord, id_number: str | None = None) -> str:
    """The refusal of a second live membership; the ID number, when given, masked."""
    who = f"this person (ID {mask_id_number(id_number)})" if id_number else "this person"
    return f"{who} already holds live membership #{member_id} in pool {pool.key!r}"


def deceased_reason(member_id: int, ended_on: date | None) -> str:
    died = f", died on {ended_on.isoformat()}" if ended_on is not None else ""
    return f"this person is recorded as deceased (member #{member_id}{died})"
