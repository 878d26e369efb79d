"""The API's verbs of the books: verify (against published heads too), the head to publish,
backfill, balances, entries, adjustments, reversals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..fields import parse_date
from .application import Application

if TYPE_CHECKING:
    from ..ledger import BooksReport, EntryRecord, LedgerHead, VerifyReport

__all__ = ["LedgerVerbs"]


class LedgerVerbs(Application):
    """The books: verifying the chain, balances against the records, the operator's entries."""

    def verify_ledger(
        self,
        pool: str,
        *,
        anchors: Iterable[str] = (),
        anchors_files: Iterable[str | Path] = (),
        full: bool = False,
    ) -> VerifyReport:
        """Recheck a pool's hash chain from the first entry, the records every entry rests on (a run's
        charges and claims, a payment batch's rows and totals, a top-up's rows) against the digests
        and figures it recorded, and the heads published earlier: ``anchors`` (``N:HASH``, as
        :meth:`ledger_head` and every statement give them) and files of them (one a line, ``#``
        comments allowed).

        Only what was added since the last successful verification is checked (its entry must still
        have the hash it had), unless ``full`` or the pool was never verified: then everything is.
        The check reads in one read-only transaction; a check that finds nothing wrong is then
        recorded (the entry and hash it reached) in a short write transaction of its own.
        The records of entries before that verification, edited since, are only seen by ``full``.

        :raises ValidationError: listing every anchor that is not ``N:HASH`` and every file that
            cannot be read (before the database is read).
        """
        from .. import ledger, pools
        from ..members import IdentityMarks
        from .members import with_identities

        published = ledger.read_anchors(anchors, anchors_files)
        with self.reading() as session:
            record = pools.get_pool(session, self.plugins, pool)
            pool_id = record.id
            last = None if full else ledger.last_checkpoint(session, pool_id)
            since = last if last is not None and last.seq > 0 else None
            checked = ledger.verify_ledger(session, pool_id, anchors=published, since=since)
            # members' identities against their seals too (a member changed in the database is
            # named): those added or corrected since the last verification, when it recorded how far
            # it checked them and this one is not full; else every member's
            marks = None
            if last is not None and last.members_through is not None and last.corrections_through is not None:
                marks = IdentityMarks(last.members_through, last.corrections_through)
            report, reached = with_identities(session, pool_id, checked, since=marks)
            # every balance added up against the ledger at the entry reached: recorded, ledger
            # balance counts the balances from it
            report, held = ledger.check_held(session, pool_id, report, record.currency)
        if report.ok:
            with self.transaction() as session:
                ledger.record_checkpoint(
                    session,
                    pool_id,
                    seq=report.head_seq,
                    hash=report.head,
                    full=report.full,
                    entries=report.entries,
                    members_through=reached.members if reached is not None else None,
                    corrections_through=reached.corrections if reached is not None else None,
                    held_minor=held,
                )
        return report

    def ledger_head(self, pool: str) -> LedgerHead:
        """The head of a pool's chain to publish (its last entry's number and hash; ``anchor`` is
        ``N:HASH``, what ``verify_ledger(anchors=...)`` takes back)."""
        from .. import ledger, pools

        with self.reading() as session:
            return ledger.ledger_head(session, pools.get_pool(session, self.plugins, pool).id)

    def backfill_ledger(self, pool: str) -> list[str]:
        """Post the entries of runs shared before the ledger existed; returns their periods."""
        from .. import sharing

        with self.transaction() as session:
            return sharing.backfill_ledger(session, self.plugins, pool)

    def ledger_balances(self, pool: str) -> dict[str, int]:
        """Each ledger account's balance in minor units (debit-positive)."""
        from .. import ledger, pools

        with self.reading() as session:
            return ledger.account_balances(session, pools.get_pool(session, self.plugins, pool).id)

    def reconcile_books(self, pool: str) -> BooksReport:
        """Prove a pool's books balance, account by account, against its records."""
        from .. import ledger, pools

        with self.reading() as session:
            return ledger.reconcile_books(session, pools.get_pool(session, self.plugins, pool).id)

    def ledger_entries(self, pool: str, *, kind: str | None = None, limit: int | None = None) -> list[EntryRecord]:
        """A pool's entries in order (the last ``limit``), of one ``kind`` when given."""
        from .. import ledger, pools

        with self.reading() as session:
            pool_id = pools.get_pool(session, self.plugins, pool).id
            return ledger.list_entries(session, pool_id, kind=kind, limit=limit)

    def adjust(
        self, pool: str, *, debit: Mapping[str, Any], credit: Mapping[str, Any], memo: str, on: str | date | None = None
    ) -> EntryRecord:
        """Post an operator's adjustment: ``debit``/``credit`` map accounts to amounts in the pool's
        currency (a benefit paid out: ``debit={"aid_payable": 300000}, credit={"cash": 300000}``)."""
        from .. import ledger, pools

        with self.transaction() as session:
            record = pools.get_pool(session, self.plugins, pool)
            problems: list[str] = []
            day = pools.pool_today(record.definition)
            if on is not None:
                try:
                    day = parse_date(on, "the adjustment's day")
                except ValueError as exc:
                    problems.append(f"--on: {exc}")
            try:
                lines = ledger.lines_from_amounts(debit, credit, record.currency)
            except ValidationError as exc:
                problems.extend(exc.problems)
            if problems:
                raise ValidationError(problems)
            ledger.post_adjustment(session, record.id, lines=lines, memo=memo, posted_on=day)
            return ledger.list_entries(session, record.id, limit=1)[-1]

    def reverse_entry(self, pool: str, entry_seq: int, reason: str) -> EntryRecord:
        """Correct an adjustment by posting its exact opposite."""
        from .. import ledger, pools

        with self.transaction() as session:
            record = pools.get_pool(session, self.plugins, pool)
            ledger.reverse_entry(
                session, record.id, entry_seq, memo=reason, posted_on=pools.pool_today(record.definition)
            )
            return ledger.list_entries(session, record.id, limit=1)[-1]
