"""Confidence intervals for Monte Carlo estimates and run-wide error control (THEORY.md §4).

:func:`betting_mean` and :class:`BettingSequence` give the betting confidence sequence of
Waudby-Smith & Ramdas, *Estimating means of bounded random variables by betting* (JRSS-B 86(1),
2024; arXiv:2010.09686), cited below as [WSR]: exact, deterministic, adaptive to the variance of
the ``[0, 1]``-valued values, and valid at every sample size at once, so a check may draw trials
in rounds and stop as soon as the interval decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from kdverify._util.numerics import EPS  # brentq's default relative tolerance is 4·EPS
from kdverify._util.validation import FloatArray, as_float_array, as_generator, positive_int, probability
from kdverify.errors import InvalidArgument

__all__ = [
    "BettingSequence",
    "MeanEstimate",
    "bernoulli_mean",
    "betting_mean",
    "bonferroni",
    "bounded_mean",
    "clopper_pearson",
]

_BET_CAP = 0.5  # [WSR]'s c: the bet for a mean m is at most c/m (c/(1 − m)), so each factor is ≥ 1 − c
_XTOL = 1e-10  # absolute tolerance of the root find of an endpoint; reported endpoints are moved out by 2·_XTOL


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


def _in_unit_interval(values: ArrayLike) -> FloatArray:
    values = as_float_array("values", values, ndim=1)
    if np.any(values < 0) or np.any(values > 1):
        bad = values[(values < 0) | (values > 1)][0]
        raise InvalidArgument(f"values must lie in [0, 1]; found {float(bad)!r}.")
    return values


def bounded_mean(
    values: ArrayLike, *, confidence: float = 0.95, rng: np.random.Generator
) -> MeanEstimate:
    """Mean of values in ``[0, 1]`` (risks) with an exact confidence interval.

    Each value ``r_i`` is turned into an independent Bernoulli draw ``1[U_i < r_i]`` with
    ``U_i ~ U(0, 1)`` from ``rng``; the draws have mean exactly ``E r``, so the Clopper–Pearson
    interval of their count is an exact interval for ``E r``. The reported mean is the mean of
    the ``r_i`` themselves. Seeded ``rng`` makes the interval reproducible.
    """
    values = _in_unit_interval(values)
    draws = as_generator("rng", rng).random(values.size) < values
    lower, upper = clopper_pearson(int(draws.sum()), int(values.size), confidence=confidence)
    return MeanEstimate(float(values.mean()), lower, upper, confidence, int(values.size), "randomised-clopper-pearson")


def _plug_in_bets(values: FloatArray, log_threshold: float, horizon: int | None) -> FloatArray:
    """[WSR]'s predictable plug-in bets ``λ_t = sqrt(2 log(2/α) / (σ̂²_{t−1} t log(1 + t)))``, or its
    fixed-size bets ``sqrt(2 log(2/α) / (σ̂²_{t−1} N))`` for a horizon ``N``, with
    ``μ̂_t = (1/2 + Σ_{i≤t} x_i)/(t + 1)`` and ``σ̂²_t = (1/4 + Σ_{i≤t} (x_i − μ̂_i)²)/(t + 1)``: ``λ_t``
    uses the values before ``x_t`` only. The cap ``c/m`` is applied per mean in :func:`_excess`."""
    t = np.arange(1.0, values.size + 1)
    means = (0.5 + np.cumsum(values)) / (t + 1)
    variances = (0.25 + np.cumsum((values - means) ** 2)) / (t + 1)
    previous = np.concatenate(([0.25], variances[:-1]))
    return np.sqrt(2 * log_threshold / (previous * (t * np.log1p(t) if horizon is None else horizon)))


def _excess(mean: float, values: FloatArray, bets: FloatArray, log_threshold: float) -> float:
    """``max_{t≥1} log K⁺_t(m) − log(2/α)`` at ``m = mean``, where ``K⁺_t(m) = Π_{i≤t} (1 + λ_i(m)(x_i − m))``
    with ``λ_i(m) = min(λ_i, c/m)``; a sum of ``log1p`` terms, so it cannot overflow. It is ≥ 0 exactly
    when ``K⁺_t(m)`` reaches ``2/α`` at some ``t``, and nonincreasing in ``m`` as every factor is."""
    capped = np.minimum(bets, _BET_CAP / mean) if mean > 0 else bets
    return float(np.cumsum(np.log1p(capped * (values - mean))).max()) - log_threshold


def _raise_lower_limit(
    values: FloatArray, bets: FloatArray, log_threshold: float, bracket: tuple[float, float]
) -> tuple[float, float]:
    """A bracket ``[lo, hi]`` of ``l = sup {m : excess(m) ≥ 0}`` (0 when there is none), the lower end
    of the running intersection ``⋂_t {m : K⁺_t(m) < 2/α}``, given one for a prefix of ``values``:
    ``l`` only rises with more values, so one evaluation at ``hi`` shows whether it moved, and if it
    did a bracketing root find (Brent's method) on ``[hi, 1]`` locates it to ``_XTOL``."""
    lo, hi = bracket
    if _excess(hi, values, bets, log_threshold) < 0:
        return lo, hi
    root = float(optimize.brentq(_excess, hi, 1.0, args=(values, bets, log_threshold), xtol=_XTOL))
    margin = 2 * (_XTOL + 4 * EPS * root)  # brentq's root is within xtol + 4·eps·|root| of l
    return max(hi, root - margin), min(1.0, root + margin)


class BettingSequence:
    """The hedged-capital confidence sequence of [WSR] with predictable plug-in bets, for the mean
    ``μ`` of i.i.d. values in ``[0, 1]`` fed in batches.

    For a candidate mean ``m`` a gambler bets on ``x > m`` (capital ``K⁺_t(m)``) and another on
    ``x < m`` (``K⁻_t(m)``, the same bets on ``1 − x``); both are nonnegative martingales at
    ``m = μ``. ``m`` is refuted once ``max(K⁺_t(m)/2, K⁻_t(m)/2) ≥ 1/α`` at some ``t`` (the hedged
    capital as a maximum, which makes each confidence set an interval; the mixture
    ``(K⁺ + K⁻)/2`` is a martingale above it, so Ville's inequality gives
    ``P(μ is ever refuted) ≤ α``, and ``≤ α/2`` for each side). :meth:`estimate` reports the
    unrefuted means — the running intersection over every prefix ``t ≤ n``, endpoints computed
    exactly (to ``1e-9``, rounded outward), nested from one estimate to the next — so it stays
    valid whenever the caller stops, however the stopping depends on what it saw. An estimate
    whose limits did not move costs one pass over the values per side. An empty intersection,
    possible only when ``μ`` itself is refuted, is reported as the interval between its crossed
    ends.

    ``horizon=N`` uses [WSR]'s bets for a confidence interval at ``N`` values instead: still
    predictable, so the sequence stays anytime-valid; it is tighter at ``n ≈ N`` (the default's
    time-uniformity costs up to about 1.9× at α = 0.1, 1.4× at α = 10⁻³, on Bernoulli(1/2) data at
    ``n = 300``) and much looser for ``n ≪ N``. ``N`` must be fixed before the values are seen (a
    check's budget, say): re-tuning it to the count so far at every look is not valid.

    >>> sequence = BettingSequence(confidence=0.9)
    >>> sequence.update([0.5, 0.4, 0.6] * 100)
    >>> estimate = sequence.estimate()
    >>> estimate.trials, round(estimate.lower, 4), round(estimate.upper, 4)
    (300, 0.486, 0.5137)
    """

    def __init__(self, *, confidence: float = 0.95, horizon: int | None = None) -> None:
        self._confidence = probability("confidence", confidence)
        self._horizon = None if horizon is None else positive_int("horizon", horizon)
        self._log_threshold = math.log(2 / (1 - self._confidence))
        self._values = np.empty(0)
        self._brackets = ((0.0, 0.0), (0.0, 0.0))  # of the lower limits of the values and of 1 − values
        self._estimate: MeanEstimate | None = None

    @property
    def confidence(self) -> float:
        """The level ``1 − α`` at which the sequence covers the mean at every sample size at once."""
        return self._confidence

    @property
    def horizon(self) -> int | None:
        """The sample size the bets are tuned for, or ``None`` for the time-uniform bets."""
        return self._horizon

    @property
    def trials(self) -> int:
        """The number of values seen so far."""
        return int(self._values.size)

    def update(self, values: ArrayLike) -> None:
        """Append a batch of values in ``[0, 1]`` (i.i.d. with the earlier ones)."""
        self._values = np.concatenate((self._values, _in_unit_interval(values)))
        self._estimate = None

    def side_of(self, mean: float) -> int:
        """Where the running interval lies against ``mean``: ``1`` wholly above it (``mean`` is
        refuted by the gambler betting on larger values), ``-1`` wholly below it, ``0`` when it
        contains ``mean``. What a sequential check needs at each look, for one pass over the values
        per side and no root finding (:meth:`estimate` locates the limits themselves): the excess
        of :func:`_excess` is continuous and nonincreasing in the candidate mean, so it is positive
        at ``mean`` exactly when the lower limit is above ``mean``.

        >>> sequence = BettingSequence(confidence=0.9)
        >>> sequence.update([0.5, 0.4, 0.6] * 100)
        >>> sequence.side_of(0.45), sequence.side_of(0.5), sequence.side_of(0.55)
        (1, 0, -1)
        """
        values = self._values
        if values.size == 0:
            raise InvalidArgument("BettingSequence has no values yet; call update(values) first.")
        mean = float(mean)
        if not 0 <= mean < 1:
            return 1 if mean < 0 else -1  # the limits lie in [0, 1]
        bets = _plug_in_bets(values, self._log_threshold, self._horizon)
        if _excess(mean, values, bets, self._log_threshold) > 0:
            return 1
        return -1 if _excess(1.0 - mean, 1.0 - values, bets, self._log_threshold) > 0 else 0

    def estimate(self) -> MeanEstimate:
        """The sample mean with the sequence's interval after all values so far."""
        if self._estimate is None:
            values = self._values
            if values.size == 0:
                raise InvalidArgument("BettingSequence has no values yet; call update(values) first.")
            bets = _plug_in_bets(values, self._log_threshold, self._horizon)
            self._brackets = (
                _raise_lower_limit(values, bets, self._log_threshold, self._brackets[0]),
                _raise_lower_limit(1.0 - values, bets, self._log_threshold, self._brackets[1]),
            )
            lower, upper = self._brackets[0][0], 1.0 - self._brackets[1][0]
            self._estimate = MeanEstimate(
                float(values.mean()), min(lower, upper), max(lower, upper), self._confidence, self.trials, "betting"
            )
        return self._estimate


def betting_mean(values: ArrayLike, *, confidence: float = 0.95, horizon: int | None = None) -> MeanEstimate:
    """Mean of i.i.d. values in ``[0, 1]`` (risks) with [WSR]'s betting confidence interval: exact,
    deterministic, narrow when the values vary little, and valid at every prefix of ``values`` at
    once (:class:`BettingSequence` fed all of them).

    >>> estimate = betting_mean(np.full(300, 0.25), confidence=0.9)
    >>> round(estimate.lower, 4), round(estimate.upper, 4)
    (0.245, 0.2648)
    """
    sequence = BettingSequence(confidence=confidence, horizon=horizon)
    sequence.update(values)
    return sequence.estimate()


def bonferroni(delta: float, tests: int) -> float:
    """Per-test error level that keeps the family-wise error of ``tests`` tests at most ``delta``."""
    return probability("delta", delta) / positive_int("tests", tests)
