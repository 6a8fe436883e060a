#!/usr/bin/env python3
"""Derive the demo job-stream parameters of demo-city.toml from the Philly trace.

Reads the job-level extract of Microsoft's Philly GPU cluster trace
(shared/data/traces/philly-jobs.csv, CC-BY-4.0; columns
timestamp,duration,num_gpus,gpu_time,cluster) and prints the figures of the
`[workload]` table of data/demo-city.toml in TOML form:

- gang_sizes / gang_weights: the share of jobs per gang size. A job whose GPU
  count is not one of GANG_SIZES is folded into the nearest listed size at or
  above it (12 -> 16, 24 -> 32); jobs larger than the largest listed size
  (128 GPUs) have no such size and are dropped. The weights are renormalised
  over the remaining jobs and rounded to 4 decimals; the rounding residue, if
  any, goes to the largest weight so that the weights sum to exactly 1.
- duration_lognormal_mu / duration_lognormal_sigma: mean and population
  standard deviation of ln(duration in seconds) over jobs with duration > 0,
  rounded to 4 decimals.
- duration_min_s: a fixed lower clip of 60 s (a demo choice, not from the trace).
- duration_max_s: the 99th percentile (nearest-rank) of those durations, in
  whole seconds.

Usage: python3 scripts/derive-philly-params.py shared/data/traces/philly-jobs.csv
Standard library only.
"""

import csv
import math
import sys

GANG_SIZES = [1, 2, 4, 8, 16, 32, 64]
DURATION_MIN_S = 60
PERCENTILE_MAX = 99


def fold_gang(num_gpus):
    """The smallest listed gang size >= num_gpus, or None if there is none."""
    for size in GANG_SIZES:
        if num_gpus <= size:
            return size
    return None


def nearest_rank(sorted_values, pct):
    """Nearest-rank percentile of an ascending list."""
    rank = math.ceil(pct / 100 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


def main(argv):
    if len(argv) != 2:
        sys.exit(f"usage: {argv[0]} path/to/philly-jobs.csv")

    counts = {size: 0 for size in GANG_SIZES}
    log_durations = []
    durations = []
    with open(argv[1], newline="") as f:
        for row in csv.DictReader(f):
            size = fold_gang(int(row["num_gpus"]))
            if size is not None:
                counts[size] += 1
            duration = float(row["duration"])
            if duration > 0:
                durations.append(duration)
                log_durations.append(math.log(duration))

    total = sum(counts.values())
    weights = [round(counts[s] / total, 4) for s in GANG_SIZES]
    largest = weights.index(max(weights))
    weights[largest] = round(weights[largest] + 1 - sum(weights), 4)

    n = len(log_durations)
    mu = sum(log_durations) / n
    sigma = math.sqrt(sum((x - mu) ** 2 for x in log_durations) / n)
    durations.sort()
    p_max = nearest_rank(durations, PERCENTILE_MAX)

    print(f"gang_sizes = [{', '.join(str(s) for s in GANG_SIZES)}]")
    print(f"gang_weights = [{', '.join(f'{w:.4f}' for w in weights)}]")
    print(f"duration_lognormal_mu = {mu:.4f}")
    print(f"duration_lognormal_sigma = {sigma:.4f}")
    print(f"duration_min_s = {DURATION_MIN_S}")
    print(f"duration_max_s = {int(round(p_max))}")


if __name__ == "__main__":
    main(sys.argv)
