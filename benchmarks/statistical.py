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
from typing import Any

from kdverify._util.threads import limit_blas_threads

limit_blas_threads()

from kdverify.claims.base import Budget  # noqa: E402
from kdverify.claims.profiles import get_profile  # noqa: E402
from kdverify.claims.registry import get_claim  # noqa: E402
from kdverify.claims.runner import search  # noqa: E402

ALPHA = 1e-3 / (20 * 46)
"""δ = 10⁻³ split over 20 examples on each of the 46 statistical pairs."""


def throughput(claim_id: str, family: str, examples: int) -> dict[str, Any]:
    """Examples per second (wall and CPU) of one pair's search."""
    profile, claim = get_profile("ci"), get_claim(claim_id)
    budget = Budget(alpha=ALPHA, trials=profile.trials, max_iter=profile.max_iter)
    search(claim, family, profile, budget=budget, max_examples=2)
    wall, cpu = time.perf_counter(), time.process_time()
    result = search(claim, family, profile, budget=budget, max_examples=examples)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    count = result.examples + result.undecided
    return {
        "claim": claim_id,
        "family": family,
        "examples": count,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "examples_per_cpu_s": round(count / cpu, 2),
        "verdict": result.verdict,
    }


if __name__ == "__main__":
    for pair in sys.argv[2:]:
        claim_id, family = pair.split(":")
        print(json.dumps(throughput(claim_id, family, int(sys.argv[1]))), flush=True)
