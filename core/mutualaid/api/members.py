"""The API's verbs of members: join, import, list, show, update, correct, history, exit, death."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..vocabulary import MemberStatus
from .application import Application

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ..ledger import VerifyReport
    from ..members import (
        HistoryEntry,
        IdentityCorrection,
        IdentityMarks,
        IdentityReport,
        ImportProgress,
        ImportResult,
        MemberRecord,
        MemberUpdate,
    )

__all__ = ["MemberVerbs", "with_identities"]


class MemberVerbs(Application):
    """Members: joining, importing, finding, updating and ending memberships."""

    def join(
        self,
        pool: str,
        *,
        id_number: str,
        name: str,
        birth_date: str | date,
        attributes: Mapping[str, Any] | None = None,
        joined_on: str | date | None = None,
        email: str | None = None,
        phone: str | None = None,
        locale: str | None = None,
        city: str | None = None,
    ) -> MemberRecord:
        """Add a member after the cohort's eligibility checks (:class:`IneligibleError` lists every reason).

        ``email``, ``phone``, ``locale`` and ``city`` are optional contact fields, checked and
        normalised (:mod:`mutualaid.contacts`); ``None`` or an empty text is not given."""
        from .. import members, payments, pools

        with self.transaction() as session:
            record = members.join_member(
                session,
                self.plugins,
                pool,
                id_number=id_number,
                name=name,
                birth_date=birth_date,
                attributes=attributes,
                joined_on=joined_on,
                contacts=_contacts(email=email, phone=phone, locale=locale, city=city),
            )
            # a prepaid pool's member holds a balance (0) from joining
            payments.open_balances(session, pools.get_pool(session, self.plugins, pool), after=record.id - 1)
            return record

    def import_members(
        self,
        pool: str,
        path: str | Path,
        *,
        skip_invalid: bool = False,
        rejects_path: str | Path | None = None,
        joined_on: str | date | None = None,
        progress: ImportProgress | None = None,
    ) -> ImportResult:
        """Import a CSV of members (``id_number,name,birth_date[,joined_on]``, the cohort's
        attributes and optionally ``email``, ``phone``, ``locale``, ``city``), all or nothing; with ``skip_invalid`` the valid rows, the others written to
        ``rejects_path`` (default ``FILE.rejects.csv``). ``joined_on`` is the joining day of rows
        without one (default today); ``progress`` is told of the rows checked, then written."""
        from .. import members, payments, pools

        with self.transaction() as session:
            before = members.member_number_bound(session, self.plugins, pool)
            result = members.import_members(
                session,
                self.plugins,
                pool,
                path,
                skip_invalid=skip_invalid,
                rejects_path=rejects_path,
                joined_on=joined_on,
                progress=progress,
            )
            if result.imported:  # a prepaid pool's members hold a balance (0) from joining
                payments.open_balances(session, pools.get_pool(session, self.plugins, pool), after=before)
            return result

    def members(
        self, pool: str, *, status: str | None = None, limit: int | None = None, reveal: bool = False
    ) -> list[MemberRecord]:
        """A pool's members in joining order; ``status`` keeps one stored status (active, frozen,
        lapsed, exited, deceased). ID numbers are masked unless ``reveal`` (which needs the
        operator's key: :class:`KeyFileError` without it)."""
        from .. import members

        with self.reading() as session:
            return list(members.list_members(session, self.plugins, pool, status=status, limit=limit, reveal=reveal))

    def iter_members(
        self,
        pool: str,
        *,
        status: str | None = None,
        limit: int | None = None,
        after: int | None = None,
        reveal: bool = False,
    ) -> Iterator[MemberRecord]:
        """:meth:`members` as it is read, for pools of any size: the members after member number
        ``after`` (if given) in joining order, read in batches in one read transaction that stays
        open until the iterator is exhausted or closed. The memory held does not grow with the pool.
        Nothing is read, and no mistake raised, until the first member is asked for."""
        from .. import members

        with self.reading() as session:
            yield from members.list_members(
                session, self.plugins, pool, status=status, limit=limit, after=after, reveal=reveal
            )

    def iter_member_rows(
        self,
        pool: str,
        on: date,
        *,
        status: str | None = None,
        limit: int | None = None,
        after: int | None = None,
        reveal: bool = False,
    ) -> Iterator[tuple[int, str, str, date, date, date, str]]:
        """The members :meth:`iter_members` gives, as the plain values a listing prints: member
        number, name, ID number, birth date, joining day, end of the waiting period, and the state
        on ``on``. Only those columns are read (no member objects, no attributes), for listing
        pools of millions quickly; same order, paging, checks and transaction as :meth:`iter_members`."""
        from .. import members

        with self.reading() as session:
            yield from members.list_member_rows(
                session, self.plugins, pool, on, status=status, limit=limit, after=after, reveal=reveal
            )

    def member_number_bound(self, pool: str) -> int:
        """The pool's highest member number (0 when it has none): how wide a listing's member
        column must be to hold every member number of the pool."""
        from .. import members

        with self.reading() as session:
            return members.member_number_bound(session, self.plugins, pool)

    def member(self, pool: str, member: int | str, *, reveal: bool = False) -> MemberRecord:
        """A member by member number or ID number (the live membership first; finding one by ID
        number needs the operator's key), its ID number masked unless ``reveal``."""
        from .. import members, pools

        with self.reading() as session:
            return members.get_member(session, pools.get_pool(session, self.plugins, pool), member, reveal=reveal)

    def correct_member(
        self,
        pool: str,
        member: int | str,
        *,
        reason: str,
        by: str,
        name: str | None = None,
        id_number: str | None = None,
        birth_date: str | date | None = None,
    ) -> tuple[MemberRecord, IdentityCorrection]:
        """Correct a member's name, ID number or birth date (those given), checked as a joining is
        (the ID number valid and the birth date in it, the cohort's eligibility on the original
        joining day, one live membership per person); ``by`` and ``reason`` are recorded with the
        values before and after. :class:`ValidationError` (one line) and nothing changed otherwise."""
        from .. import members

        with self.transaction() as session:
            return members.correct_member(
                session,
                self.plugins,
                pool,
                member,
                reason=reason,
                by=by,
                name=name,
                id_number=id_number,
                birth_date=birth_date,
            )

    def identity_corrections(self, pool: str, member: int | str) -> list[IdentityCorrection]:
        """The corrections of a member's identity, oldest first (ID numbers masked)."""
        from .. import members, pools

        with self.reading() as session:
            record = members.get_member(session, pools.get_pool(session, self.plugins, pool), member)
            return members.identity_corrections(session, record.id)

    def verify_identities(self, pool: str) -> IdentityReport:
        """Every member's identity of the pool checked against its seal (with the operator's key;
        without it the report says they were not checked)."""
        from .. import members, pools

        with self.reading() as session:
            return members.check_identities(session, pools.get_pool(session, self.plugins, pool).id)

    def member_history(self, pool: str, member: int | str) -> tuple[MemberRecord, list[HistoryEntry]]:
        """A member and every change of their membership (joined, covered, frozen, ...), oldest first."""
        from .. import members, pools

        with self.reading() as session:
            return members.member_history(session, pools.get_pool(session, self.plugins, pool), member)

    def update_member(
        self,
        pool: str,
        member: int | str,
        attributes: Mapping[str, Any] | None = None,
        *,
        email: str | None = None,
        phone: str | None = None,
        locale: str | None = None,
        city: str | None = None,
    ) -> MemberUpdate:
        """Change some of a live member's cohort attributes and contact fields; the whole set of
        attributes is validated again, eligibility is not (:class:`ValidationError` lists every
        problem). A contact field left ``None`` is kept, an empty text clears it. The result lists
        each change as ``(old, new)``."""
        from .. import members

        with self.transaction() as session:
            return members.update_member(
                session,
                self.plugins,
                pool,
                member,
                attributes,
                contacts=_contacts(email=email, phone=phone, locale=locale, city=city),
            )

    def exit_member(self, pool: str, member: int | str, on: str | date | None = None) -> MemberRecord:
        """Record that a member leaves the pool on ``on`` (default: today in the pool's time zone).

        The member still shares every period whose notice day is on or before ``on`` (its cases were
        already in public notice), and no later one.
        """
        from .. import members

        with self.transaction() as session:
            return members.end_membership(session, self.plugins, pool, member, status=MemberStatus.EXITED, on=on)

    def record_death(self, pool: str, member: int | str, on: str | date) -> MemberRecord:
        """Record that a member died on ``on``: the membership ends that day, as for an exit.

        A death claim the cohort decides records the death by itself when it is approved, or rejected as
        not payable; use this when there is no such claim.
        """
        from .. import members

        with self.transaction() as session:
            return members.end_membership(session, self.plugins, pool, member, status=MemberStatus.DECEASED, on=on)


def with_identities(
    session: Session, pool_id: int, report: VerifyReport, *, since: IdentityMarks | None = None
) -> tuple[VerifyReport, IdentityMarks | None]:
    """``ledger verify``'s report with the pool's members' identities checked against their seals:
    each member changed in the database a problem, and a note of how many were checked -- or, without
    the operator's key, that they were not (which is not a problem of the books). With ``since``,
    only the members added or corrected after those marks. Also returns how far the identities were
    checked (``None``: they were not)."""
    from dataclasses import replace

    from .. import members
    from ..ledger import LedgerProblem

    identities = members.check_identities(session, pool_id, since=since)
    if not identities.checked:
        note = f"members' identities were not checked: {identities.skipped}"
    else:
        good = identities.members - len([p for p in identities.problems if p.startswith("member #")])
        note = f"{good:,} of {identities.members:,} members' identities match their seals"
        if since is not None:
            note = (
                f"{good:,} of the {identities.members:,} members added or corrected since the last verification "
                "match their seals (--full checks every member's)"
            )
    return (
        replace(
            report,
            problems=report.problems + tuple(LedgerProblem(None, problem) for problem in identities.problems),
            notes=(*report.notes, note),
        ),
        identities.marks,
    )


def _contacts(**given: str | None) -> dict[str, str | None]:
    """The contact fields given (not ``None``), by name."""
    return {name: value for name, value in given.items() if value is not None}
