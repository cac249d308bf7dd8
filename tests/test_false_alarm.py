"""Statistical honesty: a true statistical claim is falsely falsified at most as often as promised.

A statistical check falsifies its claim when the lower limit of a two-sided interval at
confidence ``1 − α`` exceeds the claimed bound, so it false-alarms with probability at most
``α/2 ≤ α`` (``α = Budget.alpha``, the check's Bonferroni share of the run's δ = 10⁻³). The
worst case for a true claim is the truth sitting exactly at the bound, so every test here puts
it there, at a large ``α`` where thousands of replicates can see the rate, and asserts it is at
most ``α/2`` up to binomial noise: a count of ``R`` replicates passes when it does not exceed the
``1 − 10⁻⁶`` quantile of ``Binomial(R, α/2)``. Each harness is shown to catch a planted broken
interval (a one-sided limit passed off as two-sided, false-alarming at ``α``; for the sequential
check of the betting interval, a fixed-sample interval looked at after every round). Seeds are fixed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

import kdverify.claims._estimates
import kdverify.claims.risk
import kdverify.measure.stats
from kdverify.claims._estimates import closed_form_students, exact_risk_bound, paired_difference
from kdverify.claims.base import Budget, Instance
from kdverify.claims.profiles import PROFILES
from kdverify.claims.registry import all_claims
from kdverify.claims.risk import bound_check
from kdverify.claims.suite import budget_for, plan
from kdverify.cli.hunt import hunt_profile
from kdverify.data import from_params
from kdverify.measure.stats import MeanEstimate, betting_mean, bounded_mean, clopper_pearson

Interval = Callable[..., tuple[float, float]]
Estimator = Callable[[np.ndarray, np.random.Generator], MeanEstimate]  # all trials so far ↦ an interval
ALPHA = 0.1
NOISE = 1e-6  # the binomial slack: a correct interval fails a count test with probability ≤ 1e-6
# Isotropic data in the plane, n = 1: the student points along the one training point, so its
# angle to w* is uniform on [0, π/2] and E R_1 = E[angle]/π = 1/4 exactly.
TRUTH, TRIALS = 0.25, 33  # at 33 trials the exact false-alarm rate at 1/4 is 0.0484, close to α/2
ROUNDS = (20, 40, 80, 160, 320)  # a sequential check's trials so far after each round, up to its budget


def one_sided(successes: int, trials: int, *, confidence: float) -> tuple[float, float]:
    """A planted bug: one-sided limits at level ``α`` reported as a two-sided interval."""
    return clopper_pearson(successes, trials, confidence=2 * confidence - 1)


def worst_lower_tail(interval: Interval, trials: int, alpha: float) -> float:
    """``sup_p P_p(lower(K) > p)`` for ``K ~ Binomial(trials, p)``, computed exactly: the rate
    jumps at each lower limit ``L_k`` and is largest as ``p`` rises to it, ``p = L_k(1 − 10⁻⁹)``."""
    lowers = np.array([interval(k, trials, confidence=1 - alpha)[0] for k in range(trials + 1)])
    outcomes = np.arange(trials + 1)
    return max(float(stats.binom.pmf(outcomes, trials, p)[lowers > p].sum()) for p in lowers[lowers > 0] * (1 - 1e-9))


def at_most(rate: float, replicates: int) -> int:
    """The largest false-alarm count over ``replicates`` runs consistent with ``rate``."""
    return int(stats.binom.ppf(1 - NOISE, replicates, rate))


@pytest.mark.parametrize("trials", [1, 7, 33, 300])
@pytest.mark.parametrize("alpha", [0.2, 0.05, 1e-3])
def test_clopper_pearson_tails_are_exact_at_the_boundary(trials: int, alpha: float) -> None:
    """Each tail of the Clopper–Pearson interval errs with probability at most α/2 for every
    ``p``, with equality in the worst case; the upper tail by the symmetry ``k ↔ n − k``."""
    worst = worst_lower_tail(clopper_pearson, trials, alpha)
    assert alpha / 2 * (1 - 1e-3) <= worst <= alpha / 2 * (1 + 1e-6)
    limits = np.array([clopper_pearson(k, trials, confidence=1 - alpha) for k in range(trials + 1)])
    np.testing.assert_allclose(limits[:, 1], 1 - limits[::-1, 0], atol=1e-12)
    assert worst_lower_tail(one_sided, trials, alpha) > 1.5 * alpha / 2  # the harness catches a broken interval


def bounded_mean_false_alarms(replicates: int) -> int:
    """How often ``bounded_mean``'s lower limit exceeds the true mean 1/4 of risks ``U(0, 1/2)``."""
    rng = np.random.default_rng(2019)
    return sum(
        bounded_mean(rng.uniform(0, 2 * TRUTH, TRIALS), confidence=1 - ALPHA, rng=rng).lower > TRUTH
        for _ in range(replicates)
    )


def test_bounded_mean_false_alarm_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The randomised interval of an expected risk errs at the exact Clopper–Pearson rate: at
    most α/2, and not far below it (10000 replicates at the worst case)."""
    replicates = 10_000
    exact = worst_case_rate()
    alarms = bounded_mean_false_alarms(replicates)
    assert stats.binom.ppf(NOISE, replicates, exact) <= alarms <= at_most(ALPHA / 2, replicates)
    monkeypatch.setattr(kdverify.measure.stats, "clopper_pearson", one_sided)
    assert bounded_mean_false_alarms(replicates) > at_most(ALPHA / 2, replicates)


def worst_case_rate() -> float:
    """The exact false-alarm rate of an interval over ``TRIALS`` Bernoulli(1/4) draws at level α."""
    lowers = np.array([clopper_pearson(k, TRIALS, confidence=1 - ALPHA)[0] for k in range(TRIALS + 1)])
    return float(stats.binom.pmf(np.arange(TRIALS + 1), TRIALS, TRUTH)[lowers > TRUTH].sum())


def sequential_false_alarms(interval: Estimator, replicates: int) -> int:
    """How often a sequential check of risks ``U(0, 1/2)`` against a bound on their mean 1/4
    false-alarms: it draws trials in rounds (``ROUNDS``) and stops at the first round whose
    ``interval`` of all trials so far decides — the lower limit above the bound (falsified: a false
    alarm) or the upper limit at or below it (holds)."""
    rng = np.random.default_rng(2024)
    alarms = 0
    for _ in range(replicates):
        values = rng.uniform(0, 2 * TRUTH, ROUNDS[-1])
        for trials in ROUNDS:
            estimate = interval(values[:trials], rng)
            if estimate.lower > TRUTH or estimate.upper <= TRUTH:
                alarms += estimate.lower > TRUTH
                break
    return alarms


def test_betting_mean_sequential_false_alarm_rate() -> None:
    """``betting_mean`` is a confidence sequence, so a check may look after every round and stop
    when it decides: with the bound on the truth it falsifies at most α/2 of 2000 replicates
    (measured 0.031). The same check with the randomised Clopper–Pearson interval, exact only at a
    sample size fixed in advance, false-alarms far more often (measured 0.17)."""
    replicates = 2000
    betting = sequential_false_alarms(lambda values, rng: betting_mean(values, confidence=1 - ALPHA), replicates)
    assert betting <= at_most(ALPHA / 2, replicates)
    fixed_sample = sequential_false_alarms(
        lambda values, rng: bounded_mean(values, confidence=1 - ALPHA, rng=rng), replicates
    )
    assert fixed_sample > at_most(ALPHA / 2, replicates)


def claim_false_alarms(seeds: range) -> tuple[int, float]:
    """Falsified verdicts of the ``risk-bound`` check with the bound set to the true ``E R_1 = 1/4``
    (trained students, ``Budget.alpha = α``), and the mean of the risk estimates."""
    check = bound_check(exact_risk_bound, lambda distribution, n: TRUTH)
    budget = Budget(alpha=ALPHA, trials=TRIALS)
    alarms, means = 0, []
    for seed in seeds:
        values = {"family_params": {"dim": 2}, "n": 1, "seed": seed, "temperature": 1.0, "w0": None}
        evidence = check(Instance("isotropic", values), budget)
        alarms += evidence.holds is False
        means.append(evidence.details["mean"])
    return alarms, float(np.mean(means))


def point_interval(values: np.ndarray, *, confidence: float, horizon: int | None = None) -> MeanEstimate:
    """A planted bug: the sample mean reported as its own confidence interval."""
    mean = float(np.mean(values))
    return MeanEstimate(mean, mean, mean, confidence, int(np.size(values)), "planted")


class PointSequence:
    """The same planted bug in the sequential form the check uses: the running sample mean
    reported as its own confidence interval."""

    def __init__(self, *, confidence: float, horizon: int | None = None) -> None:
        self.confidence, self.values = confidence, np.empty(0)

    @property
    def trials(self) -> int:
        return int(self.values.size)

    def update(self, values: np.ndarray) -> None:
        self.values = np.concatenate((self.values, np.asarray(values, dtype=float)))

    def estimate(self) -> MeanEstimate:
        return point_interval(self.values, confidence=self.confidence)

    def side_of(self, mean: float) -> int:
        estimate = self.estimate()
        return 1 if estimate.lower > mean else -1 if estimate.upper < mean else 0


def test_risk_bound_check_false_alarm_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The claim's own check (betting intervals), with its bound moved onto the truth, falsifies at
    most α/2 of 2000 independent Monte Carlo seeds; the estimates average 1/4 (the truth is at the
    boundary). The same harness catches an interval that ignores the sampling error."""
    seeds = range(2000)
    alarms, mean = claim_false_alarms(seeds)
    assert abs(mean - TRUTH) <= 5 * np.sqrt(1 / 48 / (len(seeds) * TRIALS))  # Var U(0, 1/2) = 1/48
    assert alarms <= at_most(ALPHA / 2, len(seeds))
    monkeypatch.setattr(kdverify.claims.risk, "BettingSequence", PointSequence)
    assert claim_false_alarms(seeds)[0] > at_most(ALPHA / 2, len(seeds))


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_bonferroni_split_covers_every_statistical_check(profile: str) -> None:
    """α times the number of statistical checks a whole run can make stays within δ."""
    budget = budget_for(PROFILES[profile], plan())
    checks = sum(
        PROFILES[profile].statistical_examples for claim in all_claims() if claim.statistical for _ in claim.families
    )
    assert 0 < budget.alpha * checks <= PROFILES[profile].delta


def test_hunt_splits_delta_over_its_own_example_budget() -> None:
    """``hunt --max-examples N`` makes up to N statistical checks per family; δ covers them all."""
    pairs = plan(["risk-bound"])
    profile = hunt_profile(5000)
    assert budget_for(profile, pairs).alpha * 5000 * len(pairs) <= profile.delta


def sweep_false_alarms(seeds: range) -> int:
    """Falsified verdicts of the sweep check of ``monotone-risk-expected`` (``paired_difference``
    over the sizes ``n = 1, 2, 3`` of isotropic data in ``d = 5``, α split over them) with the truth
    on the bound at every size: each trial's pair ``(R_{n+1}, R_n)`` of closed-form students on
    nested prefixes of one sample is swapped by a fair coin, so ``E[compared − reference] = 0``
    exactly at each size, with the sizes' coupling through the shared sample kept. The students
    of all seeds are trained in one batch; each seed's check draws its own trials in rounds."""
    family = from_params("isotropic", dim=5)
    teacher = family.teacher(1.0)
    rng = np.random.default_rng(2026)
    data = family.sample(4, rng, trials=len(seeds) * TRIALS)
    risks = np.stack([family.risk(closed_form_students(data[:, :, :k], teacher, None)) for k in (1, 2, 3, 4)])
    swap = rng.random((3, risks.shape[1])) < 0.5
    compared, reference = np.where(swap, risks[:-1], risks[1:]), np.where(swap, risks[1:], risks[:-1])
    budget = Budget(alpha=ALPHA, trials=TRIALS)
    alarms = 0
    for seed in seeds:
        drawn = [seed * TRIALS]

        def draw(trials: int, drawn: list[int] = drawn) -> tuple[np.ndarray, np.ndarray]:
            start, drawn[0] = drawn[0], drawn[0] + trials
            return compared[:, start : start + trials], reference[:, start : start + trials]

        alarms += paired_difference(draw, budget, sizes=(1, 2, 3)).holds is False
    return alarms


def test_sweep_check_false_alarm_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep check with the truth on the bound at every size of its window falsifies at most
    α/2 of 2000 seeds (Bonferroni over the sizes, each size at most α/(2·sizes)); the harness
    catches an interval that ignores the sampling error."""
    seeds = range(2000)
    assert sweep_false_alarms(seeds) <= at_most(ALPHA / 2, len(seeds))
    monkeypatch.setattr(kdverify.claims._estimates, "BettingSequence", PointSequence)
    assert sweep_false_alarms(range(200)) > at_most(ALPHA / 2, 200)
