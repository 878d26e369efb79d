"""The records an entry rests on, rechecked against what the entry recorded.

The chain proves the entries were not edited; the records they summarise live in other tables
(charges, claims, payments, top-ups) that the database would let anyone edit. Each entry recorded
their figures and a SHA-256 digest (:mod:`.digests`), and :func:`check_records` recomputes them and
names what changed: a run's charges (rows, total, digest -- or the checksum an older entry
recorded), the claims a run funded (a benefit, a claimant, a funded amount), a payment batch's rows
and its totals, a top-up entry's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePath
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..db.models import Charge, Member, Payment, PaymentBatch, Pool, SharingRun, TopUp
from ..money import format_minor
from ..wording import plural
from .digests import DIGEST_KIND, charge_figures, claim_rows, claims_digest, legacy_checksum, payments_digest
from .digests import top_ups_digest as top_up_figures

__all__ = ["Problem", "Recorded", "check_records"]

#: How many charged members a problem names at most.
NAMED = 3
_ENDED = {"deceased": "had died", "exited": "had left", "lapsed": "had lapsed"}


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None
    message: str


@dataclass(slots=True)
class Recorded:
    """What the chain's entries recorded about the records, gathered while walking it."""

    runs: dict[int, dict[str, Any]] = field(default_factory=dict)  # run id -> facts (with "seq")
    voided: set[int] = field(default_factory=set)  # runs a ``void`` entry reversed
    batches: dict[int, dict[str, Any]] = field(default_factory=dict)  # payment batch id -> facts
    top_ups: dict[int, dict[str, Any]] = field(default_factory=dict)  # entry id -> facts
    #: An incremental check's entries at or before its checkpoint, not rechecked: the runs, payment
    #: batches (id -> entry number) and top-up entries (ids) they posted, so their records are
    #: neither rehashed nor reported as having no entry.
    settled_runs: dict[int, int] = field(default_factory=dict)
    settled_batches: dict[int, int] = field(default_factory=dict)
    settled_top_ups: set[int] = field(default_factory=set)


class _Check:
    def __init__(self, session: Session, pool: Pool, recorded: Recorded) -> None:
        self.session, self.pool, self.recorded = session, pool, recorded
        self.problems: list[Problem] = []

    def money(self, minor: Any) -> str:
        return format_minor(int(minor), self.pool.currency) if isinstance(minor, int) else "nothing"

    def add(self, seq: int | None, message: str) -> None:
        self.problems.append(Problem(seq, message))

    # -- runs -------------------------------------------------------------------------------------

    def runs(self) -> None:
        stored = {
            run.id: run
            for run in self.session.scalars(
                select(SharingRun).where(SharingRun.pool_id == self.pool.id).order_by(SharingRun.id)
            )
        }
        settled = self.recorded.settled_runs
        for run_id, run in stored.items():
            facts = self.recorded.runs.get(run_id)
            if facts is None and run_id in settled:
                continue
            if facts is None:
                self.add(None, f"sharing run #{run_id} (period {run.period}) has no ledger entry")
                continue
            self.charges(run, facts)
            if run_id not in self.recorded.voided:  # a voided run's claims went back to be shared again
                self.claims(run, facts)
        for run_id, facts in self.recorded.runs.items():
            if run_id not in stored:
                self.add(
                    facts["seq"],
                    f"records sharing run #{run_id} (period {facts.get('period')}) but the database has no such "
                    "run: it was deleted",
                )
        for run_id in sorted(set(settled) - set(stored) - set(self.recorded.runs)):
            self.add(settled[run_id], f"records sharing run #{run_id} but the database has no such run: it was deleted")

    def charges(self, run: SharingRun, facts: dict[str, Any]) -> None:
        figures = charge_figures(self.session, run.id)
        rows, total = facts.get("charge_rows"), facts.get("charged")
        where = f"the charges of run #{run.id} (period {run.period}) were altered: the entry recorded {rows} rows totalling {total}"
        if (figures.rows, figures.total) != (rows, total):
            self.add(facts["seq"], f"{where}, the database now has {figures.rows} rows totalling {figures.total}")
            return
        if "charge_digest" in facts:
            kind = facts.get("digest_kind")
            if kind != DIGEST_KIND:
                self.add(
                    facts["seq"],
                    f"records charges' digest of an unknown kind {kind!r}; this mutualaid knows {DIGEST_KIND}",
                )
            elif figures.digest != facts["charge_digest"]:
                self.add(
                    facts["seq"],
                    f"{where}, and the database has as many totalling as much, but their SHA-256 digest differs: a "
                    "charge was moved to another member or amounts were shifted between members" + self.ineligible(run),
                )
        elif "charge_checksum" in facts and legacy_checksum(self.session, run.id) != facts["charge_checksum"]:
            self.add(
                facts["seq"], f"{where}, the database now has {rows} rows totalling {total} with a different checksum"
            )

    def ineligible(self, run: SharingRun) -> str:
        """Charged members who could not have shared the run: of another pool, joined after its
        notice day, or ended (died, exited, lapsed) before it."""
        notice: date = run.notice_date
        rows = self.session.execute(
            select(Member.id, Member.pool_id, Member.status, Member.joined_on, Member.ended_on)
            .join(Charge, and_(Charge.member_id == Member.id, Charge.run_id == run.id))
            .where(
                or_(
                    Member.pool_id != self.pool.id,
                    Member.joined_on > notice,
                    and_(Member.ended_on.is_not(None), Member.ended_on < notice),
                )
            )
            .order_by(Member.id)
            .limit(NAMED)
        ).all()
        named = []
        for member_id, pool_id, status, joined_on, ended_on in rows:
            if pool_id != self.pool.id:
                named.append(f"member #{member_id} is of another pool")
            elif joined_on > notice:
                named.append(f"member #{member_id} joined on {joined_on.isoformat()}, after the notice day")
            elif ended_on is not None:
                ended = _ENDED.get(status, f"had ended ({status})")
                named.append(
                    f"member #{member_id} is charged but {ended} on {ended_on.isoformat()}, before the notice day"
                )
        return f" ({'; '.join(named)})" if named else ""

    def claims(self, run: SharingRun, facts: dict[str, Any]) -> None:
        if "claims_digest" not in facts:  # posted before claims were digested
            return
        rows = claim_rows(self.session, run.id)
        if claims_digest(rows) == facts["claims_digest"]:
            return
        seq, before = facts["seq"], len(self.problems)
        now = {int(r[0]): (r[2], r[6], r[8]) for r in rows}
        then = {int(c[0]): (c[1], c[2], c[3]) for c in facts.get("claim_figures", [])}
        funded_by = f"funded by run #{run.id} (period {run.period})"
        for claim_id, (member, benefit, funded) in then.items():
            if claim_id not in now:
                self.add(
                    seq, f"claim #{claim_id} {funded_by} no longer says so: it was deleted or moved to another run"
                )
                continue
            member_now, benefit_now, funded_now = now[claim_id]
            if member_now != member:
                self.add(
                    seq,
                    f"claim #{claim_id} {funded_by}: its claimant was member #{member}, the database now says #{member_now}",
                )
            if benefit_now != benefit:
                self.add(
                    seq,
                    f"claim #{claim_id} {funded_by}: its benefit was {self.money(benefit)} when shared, the database "
                    f"now says {self.money(benefit_now)}",
                )
            if funded_now != funded:
                self.add(
                    seq,
                    f"claim #{claim_id} {funded_by}: it was funded {self.money(funded)}, the database now says "
                    f"{self.money(funded_now)}",
                )
        for claim_id in sorted(set(now) - set(then)):
            self.add(
                seq,
                f"claim #{claim_id} now says run #{run.id} (period {run.period}) funded it, which the entry does not record",
            )
        if len(self.problems) == before:
            self.add(
                seq,
                f"the claims {funded_by} were altered: their SHA-256 digest differs from the entry's (an event, its "
                "kind or date, a status, a cap, a refund, the details or the attributes a claim was decided on)",
            )

    # -- payments and top-ups ---------------------------------------------------------------------

    def payment_batches(self) -> None:
        stored = {
            b.id: b for b in self.session.scalars(select(PaymentBatch).where(PaymentBatch.pool_id == self.pool.id))
        }
        for batch_id, facts in self.recorded.batches.items():
            seq, name = facts["seq"], f"payment batch #{batch_id} ({facts.get('source')})"
            batch = stored.get(batch_id)
            if batch is None:
                self.add(seq, f"{name} is missing from the database: it was deleted")
                continue
            recorded = (facts.get("paid_count"), facts.get("paid"), facts.get("failed_count"))
            said = (int(batch.paid_count), int(batch.paid_minor), int(batch.failed_count))
            if said != recorded:
                self.add(
                    seq,
                    f"the totals of {name} were altered: the entry recorded {self.counts(*recorded)}, the batch now "
                    f"says {self.counts(*said)}",
                )
            rows, paid_count, paid, failed, digest = payments_digest(self.session, batch_id)
            if (rows, paid_count, paid, failed) != (facts.get("rows"), *recorded):
                self.add(
                    seq,
                    f"the payments of {name} were altered: the entry recorded {facts.get('rows')} rows, "
                    f"{self.counts(*recorded)}; the database now has {rows} rows, {self.counts(paid_count, paid, failed)}",
                )
            elif "rows_digest" in facts and digest != facts["rows_digest"]:
                self.add(
                    seq,
                    f"the payments of {name} were altered: as many rows with the same totals, but their SHA-256 digest "
                    "differs: a payment's member, run, day or amounts between payments changed",
                )
        settled = self.recorded.settled_batches
        for batch_id in sorted(set(settled) - set(stored) - set(self.recorded.batches)):
            self.add(settled[batch_id], f"payment batch #{batch_id} is missing from the database: it was deleted")
        for batch_id in sorted(set(stored) - set(self.recorded.batches) - set(settled)):
            self.add(
                None,
                f"payment batch #{batch_id} ({PurePath(stored[batch_id].source).name}) has no ledger entry: its entry "
                "was deleted or the batch inserted",
            )
        runs = select(SharingRun.id).where(SharingRun.pool_id == self.pool.id)
        strays = select(func.count()).where(Payment.run_id.in_(runs), Payment.batch_id.not_in(list(stored) or [0]))
        if settled:
            # An incremental check looks for payments in no batch among the batch numbers after the
            # checkpoint's (a range of the batch index), not among every payment of the pool's
            # life; a full check looks at them all.
            strays = strays.where(Payment.batch_id > max(settled))
        stray = int(self.session.scalar(strays) or 0)
        if stray:
            self.add(
                None,
                f"{plural(stray, 'payment')} of this pool's runs {'is' if stray == 1 else 'are'} in no payment batch: "
                "inserted behind the ledger's back",
            )

    def counts(self, paid_count: Any, paid: Any, failed: Any) -> str:
        return f"{paid_count} paid totalling {self.money(paid)} and {failed} failed"

    def top_ups(self) -> None:
        for entry_id, facts in self.recorded.top_ups.items():
            seq = facts["seq"]
            rows, total, digest = top_up_figures(self.session, self.pool.id, entry_id)
            recorded_rows = facts.get("rows", 1)
            recorded_total = facts.get("total", facts.get("amount"))
            if (rows, total) != (recorded_rows, recorded_total):
                self.add(
                    seq,
                    f"the top-ups of this entry were altered: it recorded {recorded_rows} totalling "
                    f"{self.money(recorded_total)}, the database now has {rows} totalling {self.money(total)}",
                )
            elif "rows_digest" in facts and digest != facts["rows_digest"]:
                self.add(
                    seq,
                    "the top-ups of this entry were altered: as many totalling as much, but their SHA-256 digest "
                    "differs: a top-up's member, day, reference or amounts between top-ups changed",
                )
        posted = [*self.recorded.top_ups, *self.recorded.settled_top_ups] or [0]
        stray = int(
            self.session.scalar(
                select(func.count()).where(
                    TopUp.pool_id == self.pool.id, or_(TopUp.entry_id.is_(None), TopUp.entry_id.not_in(posted))
                )
            )
            or 0
        )
        if stray:
            self.add(
                None,
                f"{plural(stray, 'top-up')} of this pool {'is' if stray == 1 else 'are'} in no posted top-up entry: "
                "inserted behind the ledger's back",
            )


def check_records(session: Session, pool: Pool, recorded: Recorded) -> list[Problem]:
    """Every run's charges and claims, payment batch and top-up entry against what the chain recorded."""
    check = _Check(session, pool, recorded)
    check.runs()
    check.payment_batches()
    check.top_ups()
    return check.problems
