"""What batching would buy the literal-descent checks: ``python benchmarks/descent_batching.py``.

For problems drawn by ``optimization-bias-linear``'s ci strategy (15 per family, derandomised), B = 8
variants of each (the drawn ``w0`` and step plus 7 more: halved-integer ``w0``, steps from
``STEP_FRACTIONS``) are trained to their certified limits within the checks' step budget, once as 8
single runs and once as one batched run of :func:`kdverify.training.gradient_descent`; prints process
CPU per family and whether every batched iterate equals its single run bit for bit.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings

from kdverify.claims._cases import DESCENT_MAX_ITER, Case
from kdverify.claims.base import Instance
from kdverify.claims.registry import get_claim
from kdverify.data.strategies import STEP_FRACTIONS
from kdverify.training import gradient_descent

VARIANTS = 8
FAMILIES = ("generic", "isotropic", "discrete", "breast-cancer")


def variants_cost(instance: Instance, rng: np.random.Generator) -> dict[str, Any]:
    """CPU of ``VARIANTS`` single runs against one batched run, and whether they agree."""
    case = Case.from_instance(instance)
    dim, n = case.data.shape
    w0 = np.vstack([case.w0] + [rng.integers(-6, 7, dim) / 2 for _ in range(VARIANTS - 1)])
    steps = np.array([case.step_fraction, *rng.choice(STEP_FRACTIONS, VARIANTS - 1)]) * (
        4 * n / np.linalg.norm(case.data, 2) ** 2
    )
    logits = case.teacher.logits(case.data)
    started = time.process_time()
    single = [
        gradient_descent(case.data, logits, w0[b], step=steps[b], max_iter=DESCENT_MAX_ITER) for b in range(VARIANTS)
    ]
    single_cpu = time.process_time() - started
    started = time.process_time()
    stacked = np.broadcast_to(case.data, (VARIANTS, dim, n))
    batched = gradient_descent(stacked, logits, w0, step=steps, max_iter=DESCENT_MAX_ITER)
    return {
        "single": single_cpu,
        "batched": time.process_time() - started,
        "equal": all(np.array_equal(run.w, batched.w[b]) for b, run in enumerate(single)),
        "steps": sum(int(run.iterations) for run in single),
    }


def main() -> None:
    claim, rng = get_claim("optimization-bias-linear"), np.random.default_rng(0)
    for family in FAMILIES:
        rows: list[dict[str, Any]] = []

        @settings(
            max_examples=15, derandomize=True, database=None, deadline=None,
            suppress_health_check=list(HealthCheck), phases=(Phase.generate,),
        )
        @given(claim.instances(family))
        def measure(instance: Instance) -> None:
            rows.append(variants_cost(instance, rng))  # noqa: B023 (run at once, in this iteration)

        measure()
        single, batched = sum(row["single"] for row in rows), sum(row["batched"] for row in rows)
        print(
            f"{family}: {len(rows)} problems × {VARIANTS} variants, {sum(row['steps'] for row in rows)} steps: "
            f"single runs {single:.2f} s CPU, batched {batched:.2f} s ({single / batched:.1f}×); "
            f"bit-identical: {all(row['equal'] for row in rows)}"
        )


if __name__ == "__main__":
    main()
