"""Expected risks for the statistical claims: exact on discrete families, Monte Carlo over
students actually trained by batched gradient descent elsewhere, and the exact risk bound of a
step-function ``p``."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from kdverify._validation import FloatArray
from kdverify.claims.base import Budget
from kdverify.distributions.base import Family
from kdverify.distributions.discrete import Discrete
from kdverify.expected import estimate_expected_risk
from kdverify.limits import linear_limit
from kdverify.solvers import gradient_descent
from kdverify.stats import MeanEstimate
from kdverify.teacher import Teacher

Student = Callable[[FloatArray, Teacher, Any], FloatArray]


class Undecided(Exception):
    """A check cannot decide its instance within budget (reported, never a verdict)."""


def trained_students(budget: Budget) -> Student:
    """Students trained by batched gradient descent to a certified ``1e-9`` relative tolerance;
    raises :class:`Undecided` when a trial of the batch misses it within ``budget.max_iter``."""

    def train(data: FloatArray, teacher: Teacher, w0: Any) -> FloatArray:
        result = gradient_descent(data, teacher.logits(data), w0, max_iter=budget.max_iter)
        if not np.all(result.converged):
            raise Undecided(f"{int(np.sum(~result.converged))} of {data.shape[0]} students did not converge")
        return result.w

    return train


def closed_form_students(data: FloatArray, teacher: Teacher, w0: Any) -> FloatArray:
    """The limit ``P w*/T + P⊥ w0`` (theorem ``optimization-bias-linear``), for open claims
    about the limit itself, where hunting needs speed."""
    return linear_limit(data, teacher, w0)


def expected_risk(
    family: Family,
    n: int,
    *,
    budget: Budget,
    seed: int,
    temperature: float = 1.0,
    w0: Any = None,
    student: Student,
) -> MeanEstimate:
    """Monte Carlo ``E R_n`` with a two-sided interval at confidence ``1 − budget.alpha``."""
    return estimate_expected_risk(
        family,
        n,
        trials=budget.trials,
        rng=np.random.default_rng(seed),
        temperature=temperature,
        w0=w0,
        student=student,
        confidence=1 - budget.alpha,
    )


def exact_risk_bound(distribution: Discrete, n: int) -> Fraction:
    """``min_θ [p(θ) + p(π/2 − θ)^n]`` exactly for a discrete family.

    In the variable ``s = sin²θ``, ``p(θ) = Σ q_j 1[S_j ≤ s]`` and ``p(π/2 − θ) = Σ q_j 1[S_j ≤ 1 − s]``
    with ``S_j = sin²γ_j`` rational, so the objective is constant between the breakpoints
    ``{S_j, 1 − S_j, 0, 1}``; its minimum is attained at a breakpoint or a midpoint of a gap.
    """
    levels = distribution.boundary_sin2
    breaks = sorted({Fraction(0), Fraction(1), *levels, *(1 - s for s in levels)})
    candidates = breaks + [(a + b) / 2 for a, b in zip(breaks, breaks[1:])]
    return min(distribution.exact_p(s) + distribution.exact_p(1 - s) ** n for s in candidates)


def exact_margin_bound(distribution: Discrete, n: int) -> Fraction:
    """The ``rate-margin`` bound for the largest margin ``θ_m ↑ min_j γ_j`` with ``p(θ_m) = 0``:
    ``lim p(π/2 − θ_m)^n = P[S_j ≤ 1 − S_min]^n`` (``p`` is right-continuous)."""
    return distribution.exact_p(1 - min(distribution.boundary_sin2)) ** n
