"""A pool's health in the open: what joining really costs, and where the pool is heading.

Pure calculations, each its own module, import neither the database nor the plugins:

* :mod:`~mutualaid.health.incidence` -- the prior incidence rates a cohort supplies (the
  ``register_incidence`` hook): per event kind, by age band, an annual probability per member;
* :mod:`~mutualaid.health.credibility` -- the priors blended with the pool's own claim history
  (Bühlmann credibility, ``Z = n / (n + k)``);
* :mod:`~mutualaid.health.quote` -- an applicant's expected yearly cost, with its 10th-90th
  percentile range, from the incidence, the benefits, the fee, the caps and the pool's size;
* :mod:`~mutualaid.health.forecast` -- a vectorised, seeded Monte Carlo of the next periods
  (joining, leaving with adverse selection, claims) and the warnings of a spiral;
* :mod:`~mutualaid.health.backtest` -- the forecast fed Xianghubao's early-2019 figures.

What reads the database or the plugins: :mod:`~mutualaid.health.history` (exposure, claims, the
age mix and the periods shared, all ``GROUP BY`` aggregates), :mod:`~mutualaid.health.priors` (the
incidence the plugins register) and :mod:`~mutualaid.health.service` (a pool's quote, forecast and
incidence, put together from the plugins, the history and the calculations).

Nothing here is imported at ``import mutualaid.health``: a plugin that builds an
:class:`~mutualaid.health.incidence.IncidenceTable` loads that module alone.
"""
