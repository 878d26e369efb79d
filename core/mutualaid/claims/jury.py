"""Member juries (评议团): an objected claim of a pool with ``[claims] objections = "jury"`` decided by members.

- **Draw** (:func:`draw_jury`): the eligible members are the pool's live members who joined at least
  ``min_tenure_days`` before the draw day, neither the claimant nor an objector of the claim, and
  (``exam_required``) who passed the jurors' exam by the draw day. Their member numbers, ascending,
  are ``ids``; the jurors are ``random.Random(seed).sample(ids, size)`` (CPython's Mersenne Twister),
  so anyone can draw them again with the seed stored in the jury's row. The default seed is
  ``int.from_bytes(sha256(f"claim {claim_id} jury {YYYY-MM-DD}").digest()[:8]) >> 1`` of the draw day.
- **Votes** (:func:`cast_vote`, and :func:`.votes.import_votes` for a file of them): ``pay`` or
  ``reject``, once per juror, from ``opened_on`` to ``closes_on``.
- **Close** (:func:`close_jury`), after ``closes_on``: fewer votes than the quorum (``ceil(size x
  quorum)``) send the claim back to review; else it is paid when the pay votes reach the threshold
  share of the votes cast (majority: more than half; two-thirds, three-quarters: at least that;
  integer arithmetic). A jury cannot pay what the pool's rules do not: it is rejected with their reasons.

Claim statuses change only through :mod:`.machine` (and the service's approve and reject), objections
are resolved by :func:`.governance.resolve_objections`; a jury's row is written with UPDATEs naming its
columns (its ``status`` is a jury's). Services take a session and never commit.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from ..cohort import BenefitDecision
from ..csvfiles import text_problem
from ..db.bulk import bulk_insert, chunks, ids_in
from ..db.engine import ROW_LOCK
from ..db.models import Claim, ClaimObjection, Juror, Jury, JuryQualification, Member, Pool
from ..errors import NotFoundError, StateError, ValidationError
from ..fields import is_record_number, parse_date
from ..members.service import get_member
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool, pool_today
from ..vocabulary import LIVE_STATUSES, ClaimStatus, JuryStatus, JuryThreshold, ObjectionRoute, Vote, values
from . import governance, machine
from .records import ClaimRecord, record_of, utc
from .service import approve_claim, reject_claim, review_claim

__all__ = [
    "JuryClosing", "JuryDraw", "JuryRecord", "Qualification", "VoteImport", "cast_vote", "close_jury",
    "default_seed", "draw_jury", "get_jury", "pays", "qualify_jurors",
]  # fmt: skip

_MAX_SEED = 2**63 - 1
Day = str | date | None
VOTE_COLUMNS = ("member_id", "vote")
VOTE_OPTIONAL = ("voted_on",)
# The rows of an import, written set-based: bulk-inserted here, then one UPDATE of the jurors.
_VOTES = {vote.value: vote for vote in Vote}


@dataclass(frozen=True, slots=True)
class JuryRecord:
    """A jury as the API returns it; the tally is the votes so far while it is open."""

    id: int
    claim_id: int
    pool_key: str
    seed: int
    size: int
    quorum: int
    threshold: JuryThreshold
    opened_on: date
    closes_on: date
    status: JuryStatus
    votes_pay: int
    votes_reject: int
    closed_at: datetime | None = None

    @property
    def cast(self) -> int:
        return self.votes_pay + self.votes_reject

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data.update(votes_cast=self.cast, not_voted=self.size - self.cast)
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}


@dataclass(frozen=True, slots=True)
class JuryDraw:
    jury: JuryRecord
    eligible: int  # the members the jurors were drawn from


@dataclass(frozen=True, slots=True)
class VoteImport:
    jury: JuryRecord
    path: Path
    imported: int
    pay: int
    reject: int


@dataclass(frozen=True, slots=True)
class JuryClosing:
    """A closed jury and what became of its claim: ``approved``, ``rejected`` or ``no-quorum``
    (back to review). ``overruled``: the cohort's reasons when the jury voted to pay a claim the
    pool's rules do not pay (it was rejected with them)."""

    jury: JuryRecord
    claim: ClaimRecord
    outcome: str
    resolved: int
    decision: BenefitDecision | None = None
    overruled: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Qualification:
    pool_key: str
    passed_on: date
    qualified: list[int]
    already: list[tuple[int, date]]  # members who had passed before, and when


def default_seed(claim_id: int, day: date) -> int:
    """The seed of a draw made without one: 63 bits of a hash of the claim and the draw day."""
    digest = hashlib.sha256(f"claim {claim_id} jury {day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def pays(threshold: JuryThreshold | str, pay: int, cast: int) -> bool:
    """Whether ``pay`` votes of ``cast`` reach the threshold (see :meth:`JuryThreshold.reached`)."""
    return JuryThreshold(threshold).reached(pay, cast)


# -- loading ------------------------------------------------------------------------------------------


def _claim(session: Session, plugins: Plugins, claim_id: int, *, lock: bool = False) -> tuple[Claim, PoolRecord]:
    row = (
        session.get(Claim, claim_id, with_for_update=ROW_LOCK if lock else None) if is_record_number(claim_id) else None
    )
    if row is None:
        raise NotFoundError(f"no claim #{claim_id}; 'mutualaid claim list POOL' shows the claims")
    key = session.scalar(select(Pool.key).where(Pool.id == row.pool_id))
    return row, get_pool(session, plugins, str(key))


def _latest(session: Session, claim_id: int, *, lock: bool = False) -> Jury | None:
    query = select(Jury).where(Jury.claim_id == claim_id).order_by(Jury.id.desc()).limit(1)
    return session.scalar(query.with_for_update(key_share=True) if lock else query)


def _jury(session: Session, plugins: Plugins, claim_id: int, doing: str) -> tuple[Claim, PoolRecord, Jury]:
    """The claim's open jury, locked (votes and the close of one jury go one at a time)."""
    claim, pool = _claim(session, plugins, claim_id)
    jury = _latest(session, claim.id, lock=True)
    if jury is None:
        raise StateError(f"claim #{claim.id} has no jury; draw one with 'mutualaid jury draw {claim.id} --by NAME'")
    if jury.status != JuryStatus.OPEN:
        closed = utc(jury.decided_at)
        when = f" on {closed.astimezone(pool.config.tz).date().isoformat()}" if closed else ""
        raise StateError(
            f"jury #{jury.id} of claim #{claim.id} was closed{when} ({jury.status}); it can no longer {doing}"
        )
    return claim, pool, jury


def _day(pool: PoolRecord, on: Day, what: str = "--on") -> date:
    """The day a step is taken (``--on``, default today in the pool): never in the future, or a
    jury could be closed before its window has really run out."""
    today = pool_today(pool.definition)
    if on is None or on == "":
        return today
    try:
        day = parse_date(on, what)
    except ValueError as exc:
        raise ValidationError([str(exc)]) from None
    if day > today:
        raise ValidationError(
            [f"{what}: {day.isoformat()} is in the future (today is {today.isoformat()} in the pool's time zone)"]
        )
    return day


def _moment(pool: PoolRecord, on: Day, day: date) -> datetime:
    """When a vote was cast: now, or the start of the day given (in the pool's time zone)."""
    if on is None or on == "":
        return datetime.now(UTC)
    return datetime.combine(day, time.min, tzinfo=pool.config.tz).astimezone(UTC)


def _actor(by: str) -> str:
    by = (by or "").strip()
    problem = "is required: who takes this step" if not by else text_problem(by, limit=100)
    if problem:
        raise ValidationError([f"--by: {problem}"])
    return by


def _tally(session: Session, jury_id: int) -> tuple[int, int]:
    query = (
        select(Juror.vote, func.count()).where(Juror.jury_id == jury_id, Juror.vote.is_not(None)).group_by(Juror.vote)
    )
    counts = {vote: int(n) for vote, n in session.execute(query)}
    return int(counts.get(Vote.PAY.value, 0)), int(counts.get(Vote.REJECT.value, 0))


def _record(session: Session, pool: PoolRecord, jury: Jury) -> JuryRecord:
    if jury.status == JuryStatus.OPEN:
        pay, reject = _tally(session, jury.id)
    else:
        pay, reject = jury.votes_pay, jury.votes_reject
    return JuryRecord(
        jury.id, jury.claim_id, pool.key, int(jury.seed), int(jury.size), int(jury.quorum),
        JuryThreshold(jury.threshold), jury.opened_on, jury.closes_on, JuryStatus(jury.status),
        int(pay), int(reject), utc(jury.decided_at),
    )  # fmt: skip


def get_jury(session: Session, plugins: Plugins, claim_id: int) -> JuryRecord:
    """The claim's jury (its latest, if a jury without a quorum was followed by another)."""
    claim, pool = _claim(session, plugins, claim_id)
    jury = _latest(session, claim.id)
    if jury is None:
        raise NotFoundError(f"claim #{claim.id} has no jury; 'mutualaid claim history {claim.id}' shows its steps")
    return _record(session, pool, jury)


# -- the draw -----------------------------------------------------------------------------------------


def _eligible(session: Session, pool: PoolRecord, claim: Claim, day: date) -> list[int]:
    """The member numbers a jury of ``claim`` is drawn from on ``day``, ascending."""
    rules = pool.config.claims.jury
    query = select(Member.id).where(
        Member.pool_id == pool.id,
        Member.status.in_([s.value for s in LIVE_STATUSES]),
        Member.joined_on <= day - timedelta(days=rules.min_tenure_days),
        Member.id != claim.member_id,
        Member.id.not_in(select(ClaimObjection.member_id).where(ClaimObjection.claim_id == claim.id)),
    )
    if rules.exam_required:
        passed = select(JuryQualification.member_id).where(
            JuryQualification.pool_id == pool.id, JuryQualification.passed_on <= day
        )
        query = query.where(Member.id.in_(passed))
    return list(session.connection().execute(query.order_by(Member.id)).scalars())


def draw_jury(
    session: Session, plugins: Plugins, claim_id: int, *, by: str, seed: int | None = None, on: Day = None
) -> JuryDraw:
    """Draw the jury of an objected claim and send the claim to it (see the module's docstring)."""
    by = _actor(by)
    claim, pool = _claim(session, plugins, claim_id, lock=True)
    if pool.config.claims.objections != ObjectionRoute.JURY:
        raise StateError(
            f"pool {pool.key!r} sends objected claims back to review ([claims] objections = "
            f'"{pool.config.claims.objections}"), not to a jury'
        )
    earlier = _latest(session, claim.id)
    if earlier is not None and earlier.status == JuryStatus.OPEN:
        raise StateError(
            f"claim #{claim.id} already has a jury (#{earlier.id}, drawn on {earlier.opened_on.isoformat()}, voting "
            f"until {earlier.closes_on.isoformat()}); 'mutualaid jury show {claim.id}' shows it"
        )
    machine.require(claim, ClaimStatus.AT_JURY, (ClaimStatus.OBJECTED,))
    if seed is not None and not 0 <= seed <= _MAX_SEED:
        raise ValidationError([f"--seed: must be a whole number from 0 to {_MAX_SEED} ({seed} given)"])
    day = _day(pool, on)
    rules = pool.config.claims.jury
    ids = _eligible(session, pool, claim, day)
    if len(ids) < rules.size:
        raise StateError(
            f"claim #{claim.id} needs a jury of {rules.size:,} but only {len(ids):,} members of pool {pool.key!r} "
            f"can sit on it on {day.isoformat()}; nothing was drawn"
        )
    seed = default_seed(claim.id, day) if seed is None else seed
    jurors = sorted(random.Random(seed).sample(ids, rules.size))
    jury = Jury(
        claim_id=claim.id, seed=seed, size=rules.size, quorum=math.ceil(rules.size * rules.quorum),
        threshold=rules.threshold.value, opened_on=day, closes_on=day + timedelta(days=rules.voting_days),
        status=JuryStatus.OPEN.value,
    )  # fmt: skip
    session.add(jury)
    session.flush()
    bulk_insert(
        session.connection(), cast(Table, Juror.__table__), ("jury_id", "member_id"), [(jury.id, m) for m in jurors]
    )
    cause = f"jury #{jury.id} of {rules.size:,} drawn from {len(ids):,} members (seed {seed}); voting until {jury.closes_on.isoformat()}"
    machine.move(session, claim, ClaimStatus.AT_JURY, cause=cause, actor=by, sources=(ClaimStatus.OBJECTED,))
    return JuryDraw(_record(session, pool, jury), len(ids))


# -- the votes ----------------------------------------------------------------------------------------


def _window_problem(jury: Jury, day: date) -> str | None:
    if day < jury.opened_on:
        return f"{day.isoformat()} is before jury #{jury.id} opened on {jury.opened_on.isoformat()}"
    if day > jury.closes_on:
        return f"{day.isoformat()} is after jury #{jury.id}'s voting closed on {jury.closes_on.isoformat()}"
    return None


def _vote_of(text: str) -> Vote | None:
    return _VOTES.get(text.strip().lower())


def cast_vote(
    session: Session, plugins: Plugins, claim_id: int, member: int | str, vote: str, *, on: Day = None
) -> JuryRecord:
    """Record one juror's vote (``pay`` or ``reject``), once, within the jury's window."""
    claim, pool, jury = _jury(session, plugins, claim_id, "take votes")
    choice = _vote_of(vote)
    if choice is None:
        raise ValidationError([f"--vote: must be {' or '.join(values(Vote))} ({vote!r} given)"])
    day = _day(pool, on)
    late = _window_problem(jury, day)
    if late:
        raise StateError(f"a vote on {late}; nothing was recorded")
    member_id = get_member(session, pool, member).id
    row = session.execute(
        select(Juror.vote, Juror.voted_at).where(Juror.jury_id == jury.id, Juror.member_id == member_id)
    ).first()
    if row is None:
        raise StateError(f"member #{member_id} is not a juror of jury #{jury.id} (claim #{claim.id}); only jurors vote")
    if row.vote is not None:
        raise StateError(f"member #{member_id} already voted {row.vote} in jury #{jury.id}; a juror votes once")
    session.connection().execute(
        update(cast(Table, Juror.__table__))
        .where(Juror.jury_id == jury.id, Juror.member_id == member_id, Juror.vote.is_(None))
        .values(vote=choice.value, voted_at=_moment(pool, on, day))
    )
    return _record(session, pool, jury)


# -- the close ----------------------------------------------------------------------------------------


def _store(session: Session, jury: Jury, status: JuryStatus, pay: int, reject: int) -> None:
    session.execute(
        update(Jury)
        .where(Jury.id == jury.id)
        .values({Jury.status: status.value, Jury.votes_pay: pay, Jury.votes_reject: reject, Jury.decided_at: datetime.now(UTC)})
    )  # fmt: skip
    session.refresh(jury)


def close_jury(session: Session, plugins: Plugins, claim_id: int, *, by: str, on: Day = None) -> JuryClosing:
    """Close a jury after its window: tally it and decide the claim, or send it back to review."""
    by = _actor(by)
    claim, pool, jury = _jury(session, plugins, claim_id, "be closed")
    day = _day(pool, on)
    if day <= jury.closes_on:
        raise StateError(
            f"jury #{jury.id} of claim #{claim.id} votes until {jury.closes_on.isoformat()}; it can be closed from "
            f"{(jury.closes_on + timedelta(days=1)).isoformat()}"
        )
    pay, reject = _tally(session, jury.id)
    cast_votes = pay + reject
    if cast_votes < jury.quorum:
        cause = f"jury #{jury.id} had no quorum: {cast_votes:,} of {jury.size:,} jurors voted, {jury.quorum:,} needed"
        machine.move(session, claim, ClaimStatus.UNDER_REVIEW, cause=cause, actor=by, sources=(ClaimStatus.AT_JURY,))
        resolution = (
            f"the jury had no quorum: {cast_votes:,} votes, {jury.quorum:,} needed; the claim is reviewed again"
        )
        resolved = governance.resolve_objections(session, claim, resolution)
        _store(session, jury, JuryStatus.NO_QUORUM, pay, reject)
        return JuryClosing(_record(session, pool, jury), record_of(claim, pool), JuryStatus.NO_QUORUM.value, resolved)
    return _decide(session, plugins, claim, pool, jury, (pay, reject), by)


def _decide(
    session: Session, plugins: Plugins, claim: Claim, pool: PoolRecord, jury: Jury, tally: tuple[int, int], by: str
) -> JuryClosing:
    """The tally decides: approve through the service, or reject (also when the jury voted to pay
    a claim the cohort does not find payable: with the cohort's reasons)."""
    pay, reject = tally
    total = pay + reject
    actor, sources = f"jury #{jury.id}", (ClaimStatus.AT_JURY,)
    cause = f"decided by jury #{jury.id}: {pay:,} of {total:,} votes to pay"
    paid = pays(jury.threshold, pay, total)
    decision = review_claim(session, plugins, claim.id)[1]
    overruled = list(decision.reasons) if paid and not decision.payable else []
    if paid and not overruled:
        record, decision = approve_claim(session, plugins, claim.id, actor=actor, sources=sources, cause=cause)
    else:
        reason = (
            f"the member jury voted {pay:,} of {total:,} to pay, but the pool's rules do not pay this claim: "
            + "; ".join(overruled)
            if overruled
            else f"the member jury voted {reject:,} of {total:,} against paying"
        )
        rejection = reject_claim(session, plugins, claim.id, reason, actor=actor, sources=sources, cause=cause)
        record, decision = rejection.claim, rejection.decision
    outcome = record.status.value
    resolved = governance.resolve_objections(session, claim, f"{cause}; the claim was {outcome} (closed by {by})")
    _store(session, jury, JuryStatus.DECIDED, pay, reject)
    return JuryClosing(_record(session, pool, jury), record, outcome, resolved, decision, overruled)


# -- the jurors' exam ---------------------------------------------------------------------------------


def qualify_jurors(
    session: Session, plugins: Plugins, pool_key: str, members: Sequence[int | str], *, on: Day = None
) -> Qualification:
    """Record that live members of the pool passed the jurors' exam on ``on`` (a member who had
    passed before keeps their first pass)."""
    pool = get_pool(session, plugins, pool_key)
    day = _day(pool, on)
    if not members:
        raise ValidationError(["give the members who passed the jurors' exam (member numbers or ID numbers)"])
    ids: list[int] = []
    problems: list[str] = []
    for member in members:
        try:
            record = get_member(session, pool, member)
        except NotFoundError as exc:
            problems.append(str(exc))
            continue
        if not record.status.live:
            problems.append(
                f"member #{record.id} has left pool {pool.key!r} ({record.status.value}); only a live member can sit on a jury"
            )
        elif record.id not in ids:
            ids.append(record.id)
    if problems:
        raise ValidationError(problems, summary="nobody was qualified:")
    already: dict[int, date] = {}
    for chunk in chunks(sorted(ids)):
        query = select(JuryQualification.member_id, JuryQualification.passed_on)
        already.update(
            {
                member: passed
                for member, passed in session.execute(query.where(ids_in(JuryQualification.member_id, chunk)))
            }
        )
    new = [m for m in ids if m not in already]
    bulk_insert(
        session.connection(),
        cast(Table, JuryQualification.__table__),
        ("member_id", "pool_id", "passed_on"),
        [(m, pool.id, day) for m in new],
    )
    return Qualification(pool.key, day, new, sorted(already.items()))
