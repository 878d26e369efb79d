"""The API's verbs of claims: file, review, approve, reject, list, history, show, and the steps of
a claim decided in public (investigate, note, cost, propose, withdraw, publish, object, dispute,
reinvestigate, decide)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from .application import Application

if TYPE_CHECKING:
    from decimal import Decimal

    from ..claims import (
        Amendment,
        ClaimDetail,
        ClaimHistoryEntry,
        ClaimRecord,
        InvestigationCost,
        InvestigationNote,
        Objection,
        Rejection,
    )
    from ..cohort import BenefitDecision

__all__ = ["ClaimVerbs"]


class ClaimVerbs(Application):
    """Claims: filing, deciding and reading them back."""

    def file_claim(
        self,
        pool: str,
        member: int | str,
        *,
        event_kind: str,
        event_date: str | date,
        details: Mapping[str, Any] | None = None,
        description: str = "",
        filed_on: str | date | None = None,
        filed_by: str | None = None,
    ) -> ClaimRecord:
        """File a claim for a member: an event of the cohort's kinds on ``event_date``, with the
        details the cohort asks for (validated by its claim model); ``filed_on`` defaults to today;
        ``filed_by`` (who files it) is required in a public pool with four eyes."""
        from .. import claims

        with self.transaction() as session:
            return claims.file_claim(
                session,
                self.plugins,
                pool,
                member,
                event_kind=event_kind,
                event_date=event_date,
                details=details,
                description=description,
                filed_on=filed_on,
                filed_by=filed_by,
            )

    def review_claim(self, claim_id: int) -> tuple[ClaimRecord, BenefitDecision]:
        """What the cohort would decide for a claim now, without changing anything."""
        from .. import claims

        with self.reading() as session:
            return claims.review_claim(session, self.plugins, claim_id)

    def approve_claim(self, claim_id: int) -> tuple[ClaimRecord, BenefitDecision]:
        """Approve a filed claim for the benefit the cohort decides (refused if it is not payable)."""
        from .. import claims

        with self.transaction() as session:
            return claims.approve_claim(session, self.plugins, claim_id)

    def reject_claim(self, claim_id: int, reason: str) -> Rejection:
        """Reject a filed claim with a reason. A death the cohort does not pay for still ends the membership
        (``Rejection.member_ended``); a claim the cohort found payable leaves the member as they are."""
        from .. import claims

        with self.transaction() as session:
            return claims.reject_claim(session, self.plugins, claim_id, reason)

    def amend_claim(
        self,
        claim_id: int,
        *,
        reason: str,
        by: str | None = None,
        event_date: str | None = None,
        event_kind: str | None = None,
        benefit: Decimal | str | None = None,
        details: Mapping[str, Any] | None = None,
        description: str | None = None,
        pool: str | None = None,
    ) -> tuple[ClaimRecord, Amendment]:
        """Amend a claim that was not shared: checked by every rule of a filing (and ``benefit``, the
        most it asks for, against the cohort's cap), the old and new values kept with who and why; a
        claim already decided or proposed goes back to be decided again (``filed`` in a direct pool,
        ``under-review`` in a public one, through its notice window again). ``pool``, when given,
        must be the claim's pool."""
        from .. import claims

        with self.transaction() as session:
            return claims.amend_claim(
                session,
                self.plugins,
                claim_id,
                reason=reason,
                by=by,
                event_date=event_date,
                event_kind=event_kind,
                benefit=benefit,
                details=details,
                description=description,
                pool_key=pool,
            )

    def withdraw_claim(
        self, claim_id: int, *, reason: str, by: str | None = None, pool: str | None = None
    ) -> ClaimRecord:
        """Withdraw a claim that was not shared (``withdrawn``, for good; investigation costs stay);
        ``pool``, when given, must be the claim's pool."""
        from .. import claims

        with self.transaction() as session:
            return claims.withdraw_claim(session, self.plugins, claim_id, reason=reason, by=by, pool_key=pool)

    def claim_amendments(self, claim_id: int) -> list[Amendment]:
        """A claim's amendments, oldest first: who, when, why, each field's old and new value."""
        from .. import claims

        with self.reading() as session:
            claims.get_claim(session, self.plugins, claim_id)
            return claims.amendments(session, claim_id)

    def claims(self, pool: str, *, status: str | None = None) -> list[ClaimRecord]:
        """A pool's claims in filing order; ``status`` keeps one (filed, approved, rejected, shared)."""
        from .. import claims

        with self.reading() as session:
            return claims.list_claims(session, self.plugins, pool, status=status)

    def claim_history(self, claim_id: int) -> tuple[ClaimRecord, list[ClaimHistoryEntry]]:
        """A claim and every status it entered, with when and why."""
        from .. import claims

        with self.reading() as session:
            return claims.claim_history(session, self.plugins, claim_id)

    def claim(self, claim_id: int) -> ClaimDetail:
        """A claim with its public life: who filed and reviewed it, its proposal, its notice window,
        its objections, its investigation file and what investigating it cost."""
        from .. import claims

        with self.reading() as session:
            return claims.show_claim(session, self.plugins, claim_id)

    def investigate_claim(self, claim_id: int, *, by: str) -> ClaimRecord:
        """Open a filed claim's investigation (public governance); ``by`` reviews it."""
        from .. import claims

        with self.transaction() as session:
            return claims.investigate_claim(session, self.plugins, claim_id, by=by)

    def add_claim_note(
        self, claim_id: int, *, by: str, document: str | None = None, note: str | None = None
    ) -> InvestigationNote:
        """Add a document (by reference) or a note to a claim's investigation file."""
        from .. import claims

        with self.transaction() as session:
            return claims.add_note(session, self.plugins, claim_id, by=by, document=document, note=note)

    def add_claim_cost(
        self,
        claim_id: int,
        amount: Decimal | str | int,
        *,
        description: str,
        on: str | date | None = None,
        by: str,
    ) -> InvestigationCost:
        """Record what investigating a claim cost, paid from the operator's fee (a ledger entry)."""
        from .. import claims

        with self.transaction() as session:
            return claims.add_cost(session, self.plugins, claim_id, amount, description=description, on=on, by=by)

    def propose_claim(self, claim_id: int, *, approve: bool, reason: str | None = None, by: str) -> ClaimRecord:
        """Propose to pay a claim under review what the cohort decides, or to reject it with a reason."""
        from .. import claims

        with self.transaction() as session:
            return claims.propose_claim(session, self.plugins, claim_id, approve=approve, reason=reason, by=by)

    def withdraw_proposal(self, claim_id: int, *, by: str) -> ClaimRecord:
        """Take back a proposal not yet published; the claim is under review again."""
        from .. import claims

        with self.transaction() as session:
            return claims.withdraw_proposal(session, self.plugins, claim_id, by=by)

    def publish_claim(self, claim_id: int, *, by: str) -> ClaimRecord:
        """Put a proposed decision in public notice for the pool's notice window."""
        from .. import claims

        with self.transaction() as session:
            return claims.publish_claim(session, self.plugins, claim_id, by=by)

    def object_to_claim(
        self, claim_id: int, *, member: int | str, reason: str, on: str | date | None = None
    ) -> Objection:
        """A live member (not the claimant) objects to a claim in public notice, within its window."""
        from .. import claims

        with self.transaction() as session:
            return claims.object_to_claim(session, self.plugins, claim_id, member=member, reason=reason, on=on)

    def dispute_claim(self, claim_id: int, *, reason: str, on: str | date | None = None) -> Objection:
        """The claimant disputes a rejection, within the pool's notice window after it."""
        from .. import claims

        with self.transaction() as session:
            return claims.dispute_claim(session, self.plugins, claim_id, reason=reason, on=on)

    def reinvestigate_claim(self, claim_id: int, *, by: str) -> ClaimRecord:
        """Send an objected claim back to review, resolving its objections (objections = "review")."""
        from .. import claims

        with self.transaction() as session:
            return claims.reinvestigate_claim(session, self.plugins, claim_id, by=by)

    def decide_claim(self, claim_id: int, *, by: str, on: str | date | None = None) -> ClaimRecord:
        """Decide a claim as proposed once its notice window closed with no open objection."""
        from .. import claims

        with self.transaction() as session:
            return claims.decide_claim(session, self.plugins, claim_id, by=by, on=on)
