"""The API's verb of a pool's public transparency site."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .application import Application

if TYPE_CHECKING:
    from ..site import SiteReport

__all__ = ["SiteVerbs"]


class SiteVerbs(Application):
    """A pool's books, cases, cost and health, as a static site anyone can open offline."""

    def build_site(self, pool: str, out: str | Path, *, paths: int = 2_000, seed: int = 0) -> SiteReport:
        """Write the pool's static site into ``out`` (created if missing; the site's own files are
        replaced): every period's cases (claimants masked), charges and books, the share and the
        members over time, the forecast's fan chart (``paths`` simulated), the expected cost by
        age, and the ledger's head with how to verify it. Reads aggregates only.

        :raises ValidationError: when ``out`` is a file, or a directory holding other files.
        """
        from .. import pools, site

        with self.transaction() as session:
            record = pools.get_pool(session, self.plugins, pool)
            return site.build_site(session, self.plugins, record, Path(out), paths=paths, seed=seed)
