"""The API's verbs of claims: file, review, approve, reject, list, history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from .application import Application

if TYPE_CHECKING:
    from ..claims import ClaimHistoryEntry, ClaimRecord, Rejection
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
    ) -> ClaimRecord:
        """File a claim for a member: an event of the cohort's kinds on ``event_date``, with the
        details the cohort asks for (validated by its claim model); ``filed_on`` defaults to today."""
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
            )

    def review_claim(self, claim_id: int) -> tuple[ClaimRecord, BenefitDecision]:
        """What the cohort would decide for a claim now, without changing anything."""
        from .. import claims

        with self.transaction() as session:
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

    def claims(self, pool: str, *, status: str | None = None) -> list[ClaimRecord]:
        """A pool's claims in filing order; ``status`` keeps one (filed, approved, rejected, shared)."""
        from .. import claims

        with self.transaction() as session:
            return claims.list_claims(session, self.plugins, pool, status=status)

    def claim_history(self, claim_id: int) -> tuple[ClaimRecord, list[ClaimHistoryEntry]]:
        """A claim and every status it entered, with when and why."""
        from .. import claims

        with self.transaction() as session:
            return claims.claim_history(session, self.plugins, claim_id)
