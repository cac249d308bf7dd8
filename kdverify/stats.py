"""Confidence intervals for Monte Carlo estimates and run-wide error control (THEORY.md §4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from kdverify._validation import as_float_array, as_generator, positive_int, probability
from kdverify.errors import InvalidArgument

__all__ = ["MeanEstimate", "bernoulli_mean", "bonferroni", "bounded_mean", "clopper_pearson"]


@dataclass(frozen=True)
class MeanEstimate:
    """A Monte Carlo mean with a two-sided confidence interval ``[lower, upper]``."""

    mean: float
    lower: float
    upper: float
    confidence: float
    trials: int
    method: str

    def as_dict(self) -> dict[str, float | int | str]:
        """Plain-JSON form."""
        return {
            "mean": self.mean,
            "lower": self.lower,
            "upper": self.upper,
            "confidence": self.confidence,
            "trials": self.trials,
            "method": self.method,
        }


def clopper_pearson(successes: int, trials: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided Clopper–Pearson interval for a binomial proportion.

    >>> lo, hi = clopper_pearson(0, 10, confidence=0.95)
    >>> lo, round(hi, 4)
    (0.0, 0.3085)
    """
    trials = positive_int("trials", trials)
    successes = positive_int("successes", successes, min_value=0)
    if successes > trials:
        raise InvalidArgument(f"successes={successes} cannot exceed trials={trials}.")
    alpha = 1.0 - probability("confidence", confidence)
    lower = 0.0 if successes == 0 else stats.beta.ppf(alpha / 2, successes, trials - successes + 1)
    upper = 1.0 if successes == trials else stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes)
    return float(lower), float(upper)


def bernoulli_mean(outcomes: ArrayLike, *, confidence: float = 0.95) -> MeanEstimate:
    """Mean of 0/1 outcomes with its exact Clopper–Pearson interval."""
    values = as_float_array("outcomes", outcomes, ndim=1)
    if not np.all((values == 0) | (values == 1)):
        bad = values[(values != 0) & (values != 1)][0]
        raise InvalidArgument(f"outcomes must be 0 or 1, not {float(bad)!r}; use bounded_mean for values in [0, 1].")
    k, n = int(values.sum()), int(values.size)
    lower, upper = clopper_pearson(k, n, confidence=confidence)
    return MeanEstimate(k / n, lower, upper, confidence, n, "clopper-pearson")


def bounded_mean(
    values: ArrayLike, *, confidence: float = 0.95, rng: np.random.Generator
) -> MeanEstimate:
    """Mean of values in ``[0, 1]`` (risks) with an exact confidence interval.

    Each value ``r_i`` is turned into an independent Bernoulli draw ``1[U_i < r_i]`` with
    ``U_i ~ U(0, 1)`` from ``rng``; the draws have mean exactly ``E r``, so the Clopper–Pearson
    interval of their count is an exact interval for ``E r``. The reported mean is the mean of
    the ``r_i`` themselves. Seeded ``rng`` makes the interval reproducible.
    """
    values = as_float_array("values", values, ndim=1)
    if np.any(values < 0) or np.any(values > 1):
        bad = values[(values < 0) | (values > 1)][0]
        raise InvalidArgument(f"values must lie in [0, 1]; found {float(bad)!r}.")
    draws = as_generator("rng", rng).random(values.size) < values
    lower, upper = clopper_pearson(int(draws.sum()), int(values.size), confidence=confidence)
    return MeanEstimate(float(values.mean()), lower, upper, confidence, int(values.size), "randomised-clopper-pearson")


def bonferroni(delta: float, tests: int) -> float:
    """Per-test error level that keeps the family-wise error of ``tests`` tests at most ``delta``."""
    return probability("delta", delta) / positive_int("tests", tests)
