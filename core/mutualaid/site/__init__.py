"""A pool's public transparency site: static pages a member opens from the disk, offline.

:func:`build_site` reads aggregates only (:mod:`.data`: one row per period, the claims it funded
with their claimants masked, the ledger's movements by account, the pool's head), draws the
charts with matplotlib as SVG (:mod:`.charts`), and renders the pages with Jinja2 from
``templates/`` (:mod:`.build`, words in :mod:`.words`): the pool and its rules, the share and the
members over time, the forecast's fan charts and warnings, the expected cost by age (a table and a
small inline script over it), every period's cases, charges and books, and the ledger's head hash
with the command that checks the books against it.
"""

from __future__ import annotations

from .build import SiteReport, build_site

__all__ = ["SiteReport", "build_site"]
