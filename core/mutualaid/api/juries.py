"""The API's verbs of member juries: draw one for an objected claim, take its votes, close it,
show it, and record the members who passed the jurors' exam."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from .application import Application

if TYPE_CHECKING:
    from ..claims.jury import JuryClosing, JuryDraw, JuryRecord, Qualification, VoteImport

__all__ = ["JuryVerbs"]


class JuryVerbs(Application):
    """Member juries (评议团): the claims whose objections a pool sends to its members."""

    def draw_jury(self, claim_id: int, *, by: str, seed: int | None = None, on: str | date | None = None) -> JuryDraw:
        """Draw the jury of an objected claim (seeded, reproducible; default seed from the claim and
        the day) and send the claim to it."""
        from ..claims import jury

        with self.transaction() as session:
            return jury.draw_jury(session, self.plugins, claim_id, by=by, seed=seed, on=on)

    def cast_vote(self, claim_id: int, member: int | str, vote: str, *, on: str | date | None = None) -> JuryRecord:
        """Record one juror's vote, ``pay`` or ``reject``: once, while the jury is open."""
        from ..claims import jury

        with self.transaction() as session:
            return jury.cast_vote(session, self.plugins, claim_id, member, vote, on=on)

    def import_votes(self, claim_id: int, path: str | Path, *, on: str | date | None = None) -> VoteImport:
        """Record the votes of a CSV file (``member_id, vote[, voted_on]``), all or nothing."""
        from ..claims import votes

        with self.transaction() as session:
            return votes.import_votes(session, self.plugins, claim_id, path, on=on)

    def close_jury(self, claim_id: int, *, by: str, on: str | date | None = None) -> JuryClosing:
        """Close a jury after its window: the tally decides the claim, or it goes back to review
        without a quorum."""
        from ..claims import jury

        with self.transaction() as session:
            return jury.close_jury(session, self.plugins, claim_id, by=by, on=on)

    def jury(self, claim_id: int) -> JuryRecord:
        """A claim's jury and its tally (so far, while it is open)."""
        from ..claims import jury

        with self.reading() as session:
            return jury.get_jury(session, self.plugins, claim_id)

    def qualify_jurors(self, pool: str, members: Sequence[int | str], *, on: str | date | None = None) -> Qualification:
        """Record that members passed the jurors' exam (a pool with ``exam_required`` draws only them)."""
        from ..claims import jury

        with self.transaction() as session:
            return jury.qualify_jurors(session, self.plugins, pool, members, on=on)
