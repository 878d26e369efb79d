"""The API's verbs of a pool's health: its incidence, an applicant's expected cost, its forecast."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..fields import parse_date
from .application import Application

if TYPE_CHECKING:
    from ..health.forecast import Behaviour, Forecast
    from ..health.quote import Quote
    from ..health.service import PoolIncidence

__all__ = ["HealthVerbs"]

#: The most periods and paths a forecast takes (a forecast is not a place to exhaust the machine).
MAX_PERIODS = 240
MAX_PATHS = 200_000


class HealthVerbs(Application):
    """A pool's health: what joining costs, where the pool is heading."""

    def pool_incidence(self, pool: str) -> PoolIncidence:
        """The pool's cohort's prior incidence, blended with the pool's own claims to today."""
        from .. import pools
        from ..health import service

        with self.transaction() as session:
            record = pools.get_pool(session, self.plugins, pool)
            return service.pool_incidence(session, self.plugins, record, pools.pool_today(record.definition))

    def quote(self, pool: str, birth_date: date | str) -> Quote:
        """An applicant's expected yearly cost in ``pool``, with its 10th-90th percentile range
        (see :mod:`mutualaid.health.quote`).

        :raises ValidationError: when the birth date is after today or more than 150 years ago.
        """
        from .. import pools
        from ..health import service

        try:
            birth_date = parse_date(birth_date, "birth date")
        except ValueError as exc:
            raise ValidationError([str(exc)]) from None
        with self.transaction() as session:
            record = pools.get_pool(session, self.plugins, pool)
            today = pools.pool_today(record.definition)
            if birth_date > today:
                raise ValidationError(
                    [f"birth date {birth_date} is after today ({today}); give the applicant's birth date, YYYY-MM-DD"]
                )
            if today.year - birth_date.year > 150:
                raise ValidationError([f"birth date {birth_date} is more than 150 years ago; check the year"])
            result, _ = service.pool_quote(session, self.plugins, record, birth_date, today)
            return result

    def forecast(
        self, pool: str, *, periods: int = 36, paths: int = 10_000, seed: int = 0, behaviour: Behaviour | None = None
    ) -> Forecast:
        """The pool's Monte Carlo forecast from today: fan bands of the share and the members per
        period, and the warnings of a spiral (see :mod:`mutualaid.health.forecast`).

        :raises ValidationError: when ``periods`` or ``paths`` is out of range.
        """
        from .. import pools
        from ..health import service

        problems = []
        if not 1 <= periods <= MAX_PERIODS:
            problems.append(f"periods must be from 1 to {MAX_PERIODS} ({periods} given)")
        if not 1 <= paths <= MAX_PATHS:
            problems.append(f"paths must be from 1 to {MAX_PATHS:,} ({paths} given)")
        if seed < 0:
            problems.append(f"the seed must be 0 or more ({seed} given)")
        if problems:
            raise ValidationError(problems)
        with self.transaction() as session:
            record = pools.get_pool(session, self.plugins, pool)
            today = pools.pool_today(record.definition)
            return service.pool_forecast(
                session, self.plugins, record, today, periods=periods, paths=paths, seed=seed, behaviour=behaviour
            )
