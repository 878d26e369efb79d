"""Benchmark the pool-health forecast: 10,000 paths x 36 periods, against the bare cost of drawing
the same random numbers with numpy, measured in the same run.

The pool is Xianghubao as the backtest starts it (April 2019: 50 million members in 20 age groups
and 4 durations, two health classes, one event kind; docs/honest-cost.md). The floor draws, for
each period, the Poisson counts of the same shape (paths x age groups x event kinds) with the same
generator and the means of the first period: what any forecast of this size must at least do.
It prints the times (medians of ``--repeat`` runs) and the ratio; it never asserts a time.

    python benchmarks/forecast.py
    python benchmarks/forecast.py --paths 10000 --periods 36 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from mutualaid.health.backtest import xianghubao_inputs
from mutualaid.health.forecast import run_forecast
from mutualaid_disease_cohorts.incidence import incidence_table
from mutualaid_disease_cohorts.settings import CriticalIllnessSettings


def _floor(inputs, periods: int, paths: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    lam = np.broadcast_to(
        (np.asarray(inputs.members).sum(axis=1)[:, None] * np.asarray(inputs.rates) / inputs.periods_per_year)[None],
        (paths, *np.asarray(inputs.rates).shape),
    )
    started = time.perf_counter()
    for _ in range(periods):
        rng.poisson(lam)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    inputs = xianghubao_inputs(incidence_table(CriticalIllnessSettings()))
    run_forecast(inputs, 2, 100, args.seed)  # warm up: imports, first allocations
    forecasts, floors = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = run_forecast(inputs, args.periods, args.paths, args.seed)
        forecasts.append(time.perf_counter() - started)
        floors.append(_floor(inputs, args.periods, args.paths, args.seed))
    forecast, floor = statistics.median(forecasts), statistics.median(floors)
    print(f"forecast: {args.paths:,} paths x {args.periods} periods in {forecast:.2f} s (median of {args.repeat})")
    print(f"floor (numpy drawing the same Poisson counts): {floor:.2f} s")
    print(f"ratio: {forecast / floor:.1f}x the floor")
    print(
        f"period {args.periods}: share p10/p50/p90 = "
        + " / ".join(f"{v:.2f}" for v in result.share[:, -1])
        + f" CNY; members p50 = {result.members[1, -1] / 1e6:.1f} million; warnings: {len(result.warnings)}"
    )


if __name__ == "__main__":
    main()
