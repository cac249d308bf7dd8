"""The betting confidence sequence (``betting_mean``, ``BettingSequence``) against the published
properties of Waudby-Smith & Ramdas, *Estimating means of bounded random variables by betting*
(JRSS-B 2024), [WSR] below.

The reference here is an independent transcription of [WSR]'s hedged capital — products of the
factors over every prefix, for a whole grid of candidate means or a whole batch of seeds at once —
against which kdverify's root finds on the log capital must agree exactly. Coverage is counted
over 2000 seeds per law at α = 0.1 (a level where thousands of replicates can see the rate); a
count passes when it does not exceed the ``1 − 10⁻⁶`` quantile of ``Binomial(seeds, rate)``, as in
``tests/test_false_alarm.py``. Seeds are fixed.
"""

from __future__ import annotations

import doctest
import time
from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import ArrayLike
from scipy import stats

import kdverify.measure.stats
from kdverify.errors import InvalidArgument
from kdverify.measure.stats import BettingSequence, MeanEstimate, betting_mean, bounded_mean, clopper_pearson

ALPHA = 0.1
NOISE = 1e-6  # a correct interval fails a count test with probability ≤ 1e-6
SEEDS, TRIALS = 2000, 300
CAP = 0.5  # [WSR]'s c, the truncation of a bet on a mean m at c/m (c/(1 − m))
TOLERANCE = 1e-9  # reported endpoints are exact to 1e-9, rounded outward

Law = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]
LAWS: dict[str, tuple[Law, float]] = {
    "Bernoulli(0.02)": (lambda rng, shape: (rng.random(shape) < 0.02).astype(float), 0.02),
    "Bernoulli(0.5)": (lambda rng, shape: (rng.random(shape) < 0.5).astype(float), 0.5),
    "Beta(2, 5)": (lambda rng, shape: rng.beta(2.0, 5.0, shape), 2 / 7),
    "point mass 0.3": (lambda rng, shape: np.full(shape, 0.3), 0.3),
    "0.9 w.p. 0.3, else 0.1": (lambda rng, shape: np.where(rng.random(shape) < 0.3, 0.9, 0.1), 0.34),
}


def capital(
    values: np.ndarray, means: np.ndarray, alpha: float, horizon: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """[WSR]'s capital paths ``K⁺_t(m)`` and ``K⁻_t(m)`` for ``t = 1..n``: ``values`` has shape
    ``(..., n)``, ``means`` broadcasts against ``values[..., 0]``; plain products, no logarithms."""
    t = np.arange(1, values.shape[-1] + 1)
    running_mean = (1 / 2 + np.cumsum(values, axis=-1)) / (t + 1)
    variance = (1 / 4 + np.cumsum((values - running_mean) ** 2, axis=-1)) / (t + 1)
    before = np.concatenate([np.full((*values.shape[:-1], 1), 1 / 4), variance[..., :-1]], axis=-1)
    scale = t * np.log(1 + t) if horizon is None else horizon
    bets = np.sqrt(2 * np.log(2 / alpha) / (before * scale))
    m = np.asarray(means, dtype=float)[..., None]
    with np.errstate(divide="ignore", over="ignore"):
        plus = np.cumprod(1 + np.minimum(bets, CAP / m) * (values - m), axis=-1)
        minus = np.cumprod(1 - np.minimum(bets, CAP / (1 - m)) * (values - m), axis=-1)
    return plus, minus


def at_most(rate: float, replicates: int) -> int:
    """The largest count of misses over ``replicates`` runs consistent with a rate ``rate``."""
    return int(stats.binom.ppf(1 - NOISE, replicates, rate))


def width(estimate: MeanEstimate) -> float:
    """The length of the interval."""
    return estimate.upper - estimate.lower


@pytest.mark.parametrize(
    ("law", "horizon"), [(law, None) for law in LAWS] + [("Bernoulli(0.5)", TRIALS), ("Beta(2, 5)", TRIALS)]
)
def test_misses_the_mean_uniformly_over_time_at_most_alpha(law: str, horizon: int | None) -> None:
    """Time-uniform coverage: over 2000 seeds of 300 values, the mean is refuted at some prefix
    (``K⁺_t/2`` or ``K⁻_t/2`` reaches ``1/α``) at most α of the time, each side at most α/2 — and
    ``betting_mean``'s interval misses the mean on a side exactly for the seeds where that side's
    reference capital crossed ``2/α`` at some ``t ≤ 300``. ``horizon`` bets are anytime-valid too."""
    draw, mean = LAWS[law]
    values = draw(np.random.default_rng(2024), (SEEDS, TRIALS))
    plus, minus = capital(values, np.full(SEEDS, mean), ALPHA, horizon)
    refuted_above = (plus >= 2 / ALPHA).any(axis=1)  # the mean is refuted as too small: lower > mean
    refuted_below = (minus >= 2 / ALPHA).any(axis=1)
    estimates = [betting_mean(row, confidence=1 - ALPHA, horizon=horizon) for row in values]
    np.testing.assert_array_equal([estimate.lower > mean for estimate in estimates], refuted_above)
    np.testing.assert_array_equal([estimate.upper < mean for estimate in estimates], refuted_below)
    assert refuted_above.sum() <= at_most(ALPHA / 2, SEEDS)
    assert refuted_below.sum() <= at_most(ALPHA / 2, SEEDS)
    assert (refuted_above | refuted_below).sum() <= at_most(ALPHA, SEEDS)


@pytest.mark.parametrize("law", ["Bernoulli(0.5)", "Beta(2, 5)", "0.9 w.p. 0.3, else 0.1"])
def test_the_interval_is_the_running_intersection_over_every_prefix(law: str) -> None:
    """After every prefix ``t`` (values fed one at a time) the interval is exactly the set of grid
    means no ``K^±_s/2``, ``s ≤ t``, has pushed to ``1/α``: the intervals are nested, and a check
    may stop whenever it likes."""
    draw, _ = LAWS[law]
    grid = np.linspace(0, 1, 4001)
    for seed in range(3):
        values = draw(np.random.default_rng(seed), (80,))
        plus, minus = capital(values[None, :], grid, ALPHA)
        refuted = np.logical_or.accumulate((plus >= 2 / ALPHA) | (minus >= 2 / ALPHA), axis=1)  # (grid, t)
        sequence = BettingSequence(confidence=1 - ALPHA)
        limits = []
        for t, value in enumerate(values):
            sequence.update([value])
            estimate = sequence.estimate()
            limits.append((estimate.lower, estimate.upper))
            inside = (grid > estimate.lower + TOLERANCE) & (grid < estimate.upper - TOLERANCE)
            outside = (grid < estimate.lower - TOLERANCE) | (grid > estimate.upper + TOLERANCE)
            assert not refuted[inside, t].any() and refuted[outside, t].all()
        lowers, uppers = np.array(limits).T
        assert np.all(np.diff(lowers) >= 0) and np.all(np.diff(uppers) <= 0)


def test_rounds_give_the_one_pass_interval() -> None:
    """Fed in uneven rounds, the sequence reports after each round what ``betting_mean`` reports
    for that prefix (to the endpoints' precision); the same values in the same rounds always give
    the same interval (no randomness)."""
    values = np.random.default_rng(7).beta(2.0, 5.0, 200)
    sequence, again = BettingSequence(confidence=0.99), BettingSequence(confidence=0.99)
    ends = np.cumsum([1, 6, 30, 63, 100])
    for start, end in zip(np.r_[0, ends[:-1]], ends, strict=True):
        sequence.update(values[start:end])
        again.update(values[start:end].tolist())
        estimate, one_pass = sequence.estimate(), betting_mean(values[:end], confidence=0.99)
        assert estimate == again.estimate() and sequence.trials == estimate.trials == end
        assert (estimate.mean, estimate.confidence, estimate.method) == (one_pass.mean, 0.99, "betting")
        assert estimate.lower == pytest.approx(one_pass.lower, abs=TOLERANCE)
        assert estimate.upper == pytest.approx(one_pass.upper, abs=TOLERANCE)
    assert betting_mean(values) == betting_mean(values)


@pytest.mark.parametrize("horizon", [None, 300])
@pytest.mark.parametrize("law", sorted(LAWS))
def test_side_of_agrees_with_the_interval(law: str, horizon: int | None) -> None:
    """:meth:`BettingSequence.side_of` — a look without root finding — places every candidate mean
    where the interval's limits do (1 below the lower limit, -1 above the upper, 0 between), at
    every round, for candidates on a fine grid and right beside each limit."""
    draw, _ = LAWS[law]
    values = draw(np.random.default_rng(11), (300,))
    sequence = BettingSequence(confidence=0.999, horizon=horizon)
    for batch in np.split(values, [20, 80, 200]):
        sequence.update(batch)
        estimate = sequence.estimate()
        near = [estimate.lower - 1e-8, estimate.lower + 1e-8, estimate.upper - 1e-8, estimate.upper + 1e-8]
        for mean in [*np.linspace(-0.1, 1.1, 121), *near]:
            expected = 1 if mean < estimate.lower else -1 if mean > estimate.upper else 0
            assert sequence.side_of(mean) == expected, (mean, estimate)
    with pytest.raises(InvalidArgument, match="no values yet"):
        BettingSequence().side_of(0.5)


def test_mirroring_the_values_mirrors_the_interval() -> None:
    """``x ↦ 1 − x`` swaps the two gamblers: the interval of ``1 − x`` is ``1 −`` that of ``x``."""
    values = np.random.default_rng(8).beta(2.0, 5.0, 500)
    estimate, mirrored = betting_mean(values), betting_mean(1 - values)
    assert mirrored.lower == pytest.approx(1 - estimate.upper, abs=TOLERANCE)
    assert mirrored.upper == pytest.approx(1 - estimate.lower, abs=TOLERANCE)


@pytest.mark.parametrize("alpha", [0.1, 1e-3])
def test_low_variance_values_get_a_narrow_interval(alpha: float) -> None:
    """Adaptivity to the variance: for values uniform on ``[0.45, 0.55]`` (n = 300) the betting
    interval is more than 3× narrower than the randomised Clopper–Pearson one (measured 4.8× at
    α = 0.1, 3.8× at α = 10⁻³), which sees only Bernoulli draws of the values."""
    rng = np.random.default_rng(9)
    for _ in range(20):
        values = rng.uniform(0.45, 0.55, TRIALS)
        randomised = bounded_mean(values, confidence=1 - alpha, rng=rng)
        assert 3 * width(betting_mean(values, confidence=1 - alpha)) < width(randomised)


@pytest.mark.parametrize("alpha", [0.1, 1e-3])
@pytest.mark.parametrize("p", [0.05, 0.5])
def test_bernoulli_interval_is_close_to_clopper_pearson(p: float, alpha: float) -> None:
    """On 0/1 data (n = 300, 20 seeds) the betting interval tuned for the sample size
    (``horizon=n``) is on average within 1.3× the exact Clopper–Pearson width (measured 1.10–1.25×);
    the time-uniform default pays for holding at every n: within 2× at α = 0.1 (measured 1.42× at
    p = 0.05, 1.86× at p = 1/2) and 1.5× at α = 10⁻³ (1.25×, 1.42×)."""
    rng = np.random.default_rng(10)
    uniform, tuned = [], []
    for _ in range(20):
        values = (rng.random(TRIALS) < p).astype(float)
        lower, upper = clopper_pearson(int(values.sum()), TRIALS, confidence=1 - alpha)
        uniform.append(width(betting_mean(values, confidence=1 - alpha)) / (upper - lower))
        tuned.append(width(betting_mean(values, confidence=1 - alpha, horizon=TRIALS)) / (upper - lower))
    assert np.mean(tuned) <= 1.3
    assert np.mean(uniform) <= (2.0 if alpha == 0.1 else 1.5)


@pytest.mark.parametrize("horizon", [False, True])
def test_width_shrinks_like_one_over_root_n(horizon: bool) -> None:
    """Ten times the data shrink the interval by about √10 ≈ 3.2 (Beta(2, 5), n = 10², 10³, 10⁴,
    widths averaged over 10 seeds: measured 3.2 and 2.6 for the time-uniform default, which shrinks
    a little slower, like ``sqrt(log n / n)``; 3.9 and 3.3 with ``horizon=n``); with ``horizon=n``
    the width at n = 10⁴ is at most the empirical-Bernstein asymptote ``2σ√(2 log(2/α)/n)``
    (measured 0.85 of it)."""
    rng = np.random.default_rng(11)
    sizes = [100, 1000, 10_000]
    widths = [
        np.mean([width(betting_mean(rng.beta(2.0, 5.0, n), horizon=n if horizon else None)) for _ in range(10)])
        for n in sizes
    ]
    ratios = np.array(widths[:-1]) / np.array(widths[1:])
    assert np.all((ratios >= 2.2) & (ratios <= 4.5)), ratios
    if horizon:
        sigma = np.sqrt(2 * 5 / (7**2 * 8))  # the standard deviation of Beta(2, 5)
        assert 0.7 <= widths[-1] / (2 * sigma * np.sqrt(2 * np.log(2 / 0.05) / sizes[-1])) <= 1.0


def test_degenerate_samples() -> None:
    """All zeros: the lower limit is 0 and the upper one shrinks with n; all ones mirror it; one
    value cannot refute anything at 95%; a point mass anywhere, 0 and 1 included, is covered."""
    uppers = [betting_mean(np.zeros(n)).upper for n in (10, 100, 1000)]
    assert all(betting_mean(np.zeros(n)).lower == 0.0 for n in (10, 100, 1000))
    assert 1.0 > uppers[0] > uppers[1] > uppers[2] > 0.0 and uppers[1] < 0.1
    ones = betting_mean(np.ones(100))
    assert ones.upper == 1.0 and ones.lower == pytest.approx(1 - uppers[1], abs=TOLERANCE)
    for value in (0.0, 0.3, 1.0):
        assert (betting_mean([value]).lower, betting_mean([value]).upper) == (0.0, 1.0)
        estimate = betting_mean(np.full(50, value))
        assert estimate.lower <= value <= estimate.upper and estimate.mean == pytest.approx(value, abs=1e-15)


def test_an_empty_intersection_is_reported_between_its_crossed_ends() -> None:
    """Twenty 1s then eighty 0s (not i.i.d.): every mean is refuted at some prefix; the report is
    the interval where both gamblers have won, so ``lower ≤ upper`` still holds."""
    values = np.r_[np.ones(20), np.zeros(80)]
    grid = np.linspace(0, 1, 4001)
    plus, minus = capital(values[None, :], grid, ALPHA)
    above, below = np.any(plus >= 2 / ALPHA, axis=1), np.any(minus >= 2 / ALPHA, axis=1)
    assert np.all(above | below)
    estimate = betting_mean(values, confidence=1 - ALPHA)
    assert 0 < estimate.lower < estimate.upper < 1
    inside = (grid > estimate.lower + TOLERANCE) & (grid < estimate.upper - TOLERANCE)
    both = np.asarray(above & below)
    assert inside.any() and both[inside].all() and not both[~inside].any()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([0.5, 1.5], "found 1.5"),
        ([-0.25, 0.5], "found -0.25"),
        ([0.5, np.nan], "non-finite"),
        ([], "empty"),
        ([[0.5]], "dimension"),
        ("0.5", "numeric"),
    ],
)
def test_rejects_bad_values(values: ArrayLike, message: str) -> None:
    """Values outside [0, 1], non-finite, empty or not a vector are refused, named; a refused batch
    leaves the sequence as it was."""
    with pytest.raises(InvalidArgument, match=message):
        betting_mean(values)
    sequence = BettingSequence()
    sequence.update([0.25])
    with pytest.raises(InvalidArgument, match=message):
        sequence.update(values)
    assert sequence.trials == 1


def test_rejects_bad_settings() -> None:
    """Confidence in (0, 1), a positive integer horizon, and an estimate only after some values."""
    for confidence in (0.0, 1.0, 95):
        with pytest.raises(InvalidArgument, match="confidence"):
            betting_mean([0.5], confidence=confidence)
    with pytest.raises(InvalidArgument, match="horizon"):
        BettingSequence(horizon=0)
    with pytest.raises(InvalidArgument, match="no values"):
        BettingSequence().estimate()


def test_ten_thousand_values_take_milliseconds() -> None:
    """The endpoints are root finds over the values, not a grid: 10⁴ values take about 5 ms (the
    bound is loose for shared machines)."""
    values = np.random.default_rng(12).beta(2.0, 5.0, 10_000)
    start = time.perf_counter()
    betting_mean(values)
    assert time.perf_counter() - start < 0.5


def test_doctests() -> None:
    """The examples in kdverify.measure.stats run as shown."""
    assert doctest.testmod(kdverify.measure.stats).failed == 0
