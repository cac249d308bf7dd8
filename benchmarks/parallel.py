"""Hunting on Dask (issue 14): examples per second against the number of workers for three claims,
the scaling efficiency, the scheduler's overhead per work unit, and from those a projection for
100 workers.

Each configuration starts an embedded cluster (:func:`kdverify.claims.distributed.connect`, one
single-threaded worker process per core asked), warms every worker up (imports, first search) and
then times :func:`kdverify.claims.distributed.search_pairs` on a count-based budget, split into one
shard per worker; the cluster's start-up is not counted. The machine's load average is recorded
before and after, since other jobs share its cores.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any

from kdverify.claims import distributed
from kdverify.claims.profiles import get_profile
from kdverify.claims.registry import get_claim
from kdverify.claims.suite import budget_for

CLAIMS = (
    ("risk-angle-lemma", "isotropic"),
    ("optimization-bias-linear", "generic"),
    ("monotone-risk-expected", "anisotropic"),
)
"""A cheap exact check, a solver-bound one and a statistical (Monte Carlo, betting interval) one.
(Until 30 Nov the statistical one ran on isotropic data, where the check is now exact.)"""


def _noop(value: int) -> int:
    """An empty work unit: what the scheduler costs without any search."""
    return value


def scheduler_overhead(client: Any, units: int) -> dict[str, float]:
    """Seconds per empty task: submitted all at once (throughput) and one after another (latency)."""
    started = time.perf_counter()
    client.gather(client.map(_noop, range(units), pure=False))
    batch = (time.perf_counter() - started) / units
    started = time.perf_counter()
    for value in range(units // 4):
        client.submit(_noop, value, pure=False).result()
    latency = (time.perf_counter() - started) / (units // 4)
    return {"per_unit_batch": batch, "per_unit_round_trip": latency}


def throughput(client: Any, workers: int, examples: int) -> list[dict[str, Any]]:
    """Examples per second of each claim hunted with ``examples`` examples split into ``workers`` shards."""
    rows = []
    for claim_id, family in CLAIMS:
        claim = get_claim(claim_id)
        profile = replace(
            get_profile("ci"), max_examples=examples, statistical_examples=examples, descent_examples=examples
        )
        pairs = [(claim, family)]
        run = distributed.search_pairs  # warm-up: imports and first checks on every worker
        run(
            client,
            pairs,
            replace(
                profile, max_examples=2 * workers, statistical_examples=2 * workers, descent_examples=2 * workers
            ),
            budget=budget_for(profile, pairs),
            shards=workers,
            seed=1,
        )
        started = time.perf_counter()
        outcome = run(client, pairs, profile, budget=budget_for(profile, pairs), shards=workers, seed=0)
        wall = time.perf_counter() - started
        (result,) = outcome.results
        checked = result.examples + result.undecided
        rows.append(
            {
                "claim": claim_id,
                "family": family,
                "workers": workers,
                "examples": checked,
                "wall_seconds": wall,
                "search_seconds": result.seconds,
                "examples_per_second": checked / wall,
                "overhead_per_unit": (wall * workers - result.seconds) / workers,
                "verdict": result.verdict,
            }
        )
        print(f"  {workers} worker(s) {claim_id:24s} {checked:4d} examples {wall:6.1f} s {checked / wall:7.1f}/s")
    return rows


def parallel_benchmark(examples: int = 240, worker_counts: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    """Every figure of the section, measured in one run."""
    load_before = os.getloadavg()
    rows, overhead = [], {}
    for workers in worker_counts:
        with distributed.connect(workers, None) as client:
            rows += throughput(client, workers, examples)
            overhead[workers] = scheduler_overhead(client, 200)
            print(f"  {workers} worker(s) scheduler: {overhead[workers]}")
    rates = {(row["claim"], row["workers"]): row["examples_per_second"] for row in rows}
    efficiency = {
        claim: rates[(claim, worker_counts[-1])] / (worker_counts[-1] * rates[(claim, worker_counts[0])])
        for claim, _ in CLAIMS
    }
    return {
        "rows": rows,
        "efficiency": efficiency,
        "scheduler_overhead": {str(key): value for key, value in overhead.items()},
        "projection_100_workers": projection(rows, overhead[worker_counts[-1]], examples),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


def projection(rows: list[dict[str, Any]], overhead: dict[str, float], examples: int) -> dict[str, Any]:
    """A projection, not a measurement: with one work unit per worker of ``examples`` examples,
    100 workers spend per unit the single worker's search time plus the measured round trip of a
    unit, and the scheduler dispatches units one after another at the measured batch rate."""
    out = {}
    for row in (row for row in rows if row["workers"] == 1):
        unit_seconds = examples / row["examples_per_second"]
        wall = unit_seconds + overhead["per_unit_round_trip"] + 100 * overhead["per_unit_batch"]
        out[row["claim"]] = {
            "examples_per_second": 100 * examples / wall,
            "efficiency": unit_seconds / wall,
        }
    return out
