"""Where a hunting example's CPU time goes: ``python -m benchmarks.example_cost CLAIM FAMILY [EXAMPLES]``.

Runs :func:`kdverify.claims.runner.search` under the ``ci`` budget (derandomised) with the claim's
check and its instance strategy wrapped in ``time.process_time`` (through ``dataclasses.replace``),
and prints the process CPU time per example split into the check, drawing the instance, and the
rest (hypothesis's engine). No profiler: cProfile inflates hypothesis's many small Python calls
several-fold. CPU time, because the machine is shared and wall time follows its load.
"""

from __future__ import annotations

from kdverify._util.threads import limit_blas_threads

limit_blas_threads()

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from hypothesis import strategies as st  # noqa: E402

from kdverify.claims.base import Budget, Instance  # noqa: E402
from kdverify.claims.profiles import get_profile  # noqa: E402
from kdverify.claims.registry import get_claim  # noqa: E402
from kdverify.claims.runner import search  # noqa: E402
from kdverify.claims.suite import budget_for, plan  # noqa: E402


def example_cost(claim_id: str, family: str, examples: int) -> dict[str, Any]:
    """CPU milliseconds per example: total, check, drawing, rest (after a 2-example warm-up)."""
    profile, claim = get_profile("ci"), get_claim(claim_id)
    budget = budget_for(profile, plan())
    spent = {"check": 0.0, "draw": 0.0}

    def check(instance: Instance, budget: Budget) -> Any:
        started = time.process_time()
        try:
            return claim.check(instance, budget)
        finally:
            spent["check"] += time.process_time() - started

    @st.composite
    def instances(draw: st.DrawFn, name: str) -> Instance:
        started = time.process_time()
        try:
            return draw(claim.instances(name))
        finally:
            spent["draw"] += time.process_time() - started

    timed = dataclasses.replace(claim, check=check, instances=instances)
    search(timed, family, profile, budget=budget, max_examples=2)
    spent.update(check=0.0, draw=0.0)
    started = time.process_time()
    result = search(timed, family, profile, budget=budget, max_examples=examples)
    total = time.process_time() - started
    count = result.examples + result.undecided
    per = {key: 1e3 * value / count for key, value in spent.items()}
    return {
        "claim": claim_id,
        "family": family,
        "examples": count,
        "cpu_ms_per_example": 1e3 * total / count,
        "check_ms": per["check"],
        "draw_ms": per["draw"],
        "rest_ms": 1e3 * total / count - per["check"] - per["draw"],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.example_cost", description=__doc__.split("\n")[0])
    parser.add_argument("claim")
    parser.add_argument("family")
    parser.add_argument("examples", type=int, nargs="?", default=40)
    args = parser.parse_args()
    print(json.dumps(example_cost(args.claim, args.family, args.examples)))
