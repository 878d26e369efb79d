"""The Python API: :class:`MutualAid`, the same verbs as the command line, one transaction each.

>>> app = MutualAid("sqlite:///pools.db")            # doctest: +SKIP
>>> app.create_pool("pool.toml")                      # doctest: +SKIP
>>> app.join("jiangsu-truckers", id_number=..., name=..., birth_date=..., attributes={...})  # doctest: +SKIP
>>> app.share("jiangsu-truckers", "2026-11")          # doctest: +SKIP

Every verb is one transaction. A verb whose work crosses domains takes each step in plain sight,
in that one transaction: :meth:`MutualAid.share` settles a postpaid pool's closed retry windows,
runs the period, deducts a prepaid pool's balances and reports low ones, then tells the plugins.

For several operations in one transaction, use :meth:`MutualAid.transaction` and the domain
packages (``mutualaid.members``, ``mutualaid.claims``, ``mutualaid.sharing`` ...), whose services
take the session and never commit.

The database layer and the notice templates are imported when a verb first needs them, so
importing this module (and ``mutualaid``) stays cheap for plugins and the command line.
"""

from __future__ import annotations

from .application import Application
from .claims import ClaimVerbs
from .health import HealthVerbs
from .juries import JuryVerbs
from .ledger import LedgerVerbs
from .members import MemberVerbs
from .notices import NoticeVerbs
from .payments import PaymentVerbs
from .pools import PoolVerbs
from .sharing import SharingVerbs
from .site import SiteVerbs

__all__ = ["MutualAid"]


class MutualAid(
    PoolVerbs,
    MemberVerbs,
    ClaimVerbs,
    JuryVerbs,
    SharingVerbs,
    LedgerVerbs,
    NoticeVerbs,
    PaymentVerbs,
    HealthVerbs,
    SiteVerbs,
    Application,
):
    """An operator's handle on one database and the installed plugins: every verb of the command
    line, as a method, one transaction each.

    :param database_url: any SQLAlchemy URL; default ``MUTUALAID_DATABASE_URL`` or the SQLite file
        in the mutualaid home directory.
    :param plugins: an already loaded :class:`~mutualaid.Plugins`; default: load the installed plugins.
    The database must be at this mutualaid's schema revision: see :meth:`create_database` (and
    :meth:`create_pool`, which makes the database of a first pool) and :meth:`upgrade_database`.
    """
