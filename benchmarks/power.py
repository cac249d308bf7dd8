"""Power of the ``monotone-risk-expected`` check: the smallest violation ``E R_{n+1} − E R_n`` that
the ``ci`` budget detects with probability ≥ 0.9, for the check's Monte Carlo path (coupled samples,
betting interval) and the one it replaced (two independent randomised Clopper–Pearson intervals at
α/2). On isotropic data the check itself is exact now; the planted family exercises the path that
every other continuous family takes.

The planted family: isotropic data in d = 3, n = 1, where ``E R_1 = 1/π`` and ``E R_2 = 1/2 − 1/π``
(Sheppard). The compared risk is moved up by a known amount — ``R' = R_2 + s(1 − R_2)``, still in
[0, 1], with ``E R' = E R_2 + s(1 − E R_2)`` exactly — so the planted violation
``v = E R' − E R_1`` is known, and the detection rate is measured over independent seeds.

``python -m benchmarks.power [--seeds 100]``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np

from kdverify.claims._estimates import paired_difference
from kdverify.claims.base import Budget
from kdverify.claims.profiles import get_profile
from kdverify.claims.suite import budget_for, plan
from kdverify.data import from_params
from kdverify.measure.stats import bounded_mean
from kdverify.training.limits import linear_limit

E_R1, E_R2 = 1 / math.pi, 0.5 - 1 / math.pi
VIOLATIONS = (0.0, 0.02, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.35, 0.4, 0.5)
Detector = Callable[[float, int, Budget], bool]


def _risks(rng: np.random.Generator, trials: int, *, nested: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(R_2, R_1)`` of closed-form students, on nested sets (``X ⊂ X ∪ {x}``) or independent ones."""
    family = from_params("isotropic", dim=3)
    teacher = family.teacher(1.0)
    larger = family.sample(2, rng, trials=trials)
    smaller = larger[:, :, :1] if nested else family.sample(1, rng, trials=trials)
    return family.risk(linear_limit(larger, teacher)), family.risk(linear_limit(smaller, teacher))


def _shift(violation: float) -> float:
    """``s`` with ``E R_2 + s(1 − E R_2) − E R_1 = violation``."""
    return (violation + E_R1 - E_R2) / (1 - E_R2)


def coupled_betting(violation: float, seed: int, budget: Budget) -> bool:
    """Today's check: paired differences on nested sets, betting interval, rounds."""
    rng, shift = np.random.default_rng(seed), _shift(violation)

    def draw(trials: int) -> tuple[np.ndarray, np.ndarray]:
        larger, smaller = _risks(rng, trials, nested=True)
        return larger + shift * (1 - larger), smaller

    return paired_difference(draw, budget).holds is False


def independent_clopper_pearson(violation: float, seed: int, budget: Budget) -> bool:
    """The check it replaced: each mean its own randomised Clopper–Pearson interval at α/2, on
    independent samples; falsified when the intervals are separated."""
    rng, shift = np.random.default_rng(seed), _shift(violation)
    larger, smaller = _risks(rng, budget.trials, nested=False)
    confidence = 1 - budget.alpha / 2
    compared = bounded_mean(larger + shift * (1 - larger), confidence=confidence, rng=rng)
    reference = bounded_mean(smaller, confidence=confidence, rng=rng)
    return compared.lower > reference.upper


def power_benchmark(seeds: int = 100) -> dict[str, object]:
    """Detection rates per planted violation and the smallest violation detected ≥ 90% of the time."""
    profile = get_profile("ci")
    budget = budget_for(profile, plan())
    detectors: dict[str, Detector] = {
        "coupled betting (today)": coupled_betting,
        "independent randomised Clopper–Pearson (before)": independent_clopper_pearson,
    }
    results: dict[str, object] = {"alpha": budget.alpha, "trials": budget.trials, "seeds": seeds}
    for name, detect in detectors.items():
        started = time.perf_counter()
        rates = {v: float(np.mean([detect(v, seed, budget) for seed in range(seeds)])) for v in VIOLATIONS}
        smallest = next((v for v in VIOLATIONS if rates[v] >= 0.9), None)
        results[name] = {"rates": rates, "smallest_at_0.9": smallest, "seconds": time.perf_counter() - started}
        print(f"{name}: smallest violation detected ≥ 90%: {smallest}; rates {rates}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    power_benchmark(parser.parse_args().seeds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
