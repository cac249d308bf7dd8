"""Hunting throughput of the statistical claims, comparable across trees:
``python benchmarks/statistical.py EXAMPLES CLAIM:FAMILY ...`` prints one JSON line per pair.

Each pair is :func:`kdverify.claims.runner.search` under the ``ci`` profile (derandomised) with
``EXAMPLES`` examples and one fixed per-check ``α`` (:data:`ALPHA`, the ``ci`` share at 20 examples
per statistical pair), after a 2-example warm-up of the same pair, so that the figures do not depend
on the tree's own profile numbers. Run it with another checkout first on ``PYTHONPATH`` to measure
that tree (``PYTHONPATH=/path/to/old python benchmarks/statistical.py …``). Process CPU time is
reported beside wall time: the machine is shared.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from typing import Any

from kdverify._util.threads import limit_blas_threads

limit_blas_threads()

from kdverify.claims.base import Budget, Evidence, Instance  # noqa: E402
from kdverify.claims.profiles import get_profile  # noqa: E402
from kdverify.claims.registry import get_claim  # noqa: E402
from kdverify.claims.runner import search  # noqa: E402

ALPHA = 1e-3 / (20 * 46)
"""δ = 10⁻³ split over 20 examples on each of the 46 statistical pairs."""


def throughput(claim_id: str, family: str, examples: int) -> dict[str, Any]:
    """Examples and sample sizes compared per second (wall and CPU) of one pair's search: an
    example of a sweep check compares ``details["sizes"]`` sizes, any other one size."""
    profile = get_profile("ci")
    sizes = [0]

    def counted(instance: Instance, budget: Budget) -> Evidence:
        evidence = original.check(instance, budget)
        sizes[0] += int(evidence.details.get("sizes", 1))
        return evidence

    original = get_claim(claim_id)
    claim = replace(original, check=counted)
    budget = Budget(alpha=ALPHA, trials=profile.trials, max_iter=profile.max_iter)
    search(claim, family, profile, budget=budget, max_examples=2)
    sizes[0] = 0
    wall, cpu = time.perf_counter(), time.process_time()
    result = search(claim, family, profile, budget=budget, max_examples=examples)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    count = result.examples + result.undecided
    return {
        "claim": claim_id,
        "family": family,
        "examples": count,
        "size_checks": sizes[0],
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "examples_per_cpu_s": round(count / cpu, 2),
        "size_checks_per_cpu_s": round(sizes[0] / cpu, 2),
        "verdict": result.verdict,
    }


if __name__ == "__main__":
    for pair in sys.argv[2:]:
        claim_id, family = pair.split(":")
        print(json.dumps(throughput(claim_id, family, int(sys.argv[1]))), flush=True)
