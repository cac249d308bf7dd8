"""Expected risks for the statistical claims: exact on discrete families, Monte Carlo over
students actually trained by batched gradient descent elsewhere, and the exact risk bound of a
step-function ``p``."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from kdverify._validation import FloatArray
from kdverify.claims.base import Budget, Evidence
from kdverify.distributions.base import Family
from kdverify.distributions.discrete import Discrete
from kdverify.expected import estimate_expected_risk
from kdverify.limits import linear_limit
from kdverify.solvers import gradient_descent, newton_refine
from kdverify.stats import MeanEstimate, bounded_mean
from kdverify.teacher import Teacher

Student = Callable[[FloatArray, Teacher, Any], FloatArray]


class Undecided(Exception):
    """A check cannot decide its instance within budget (reported, never a verdict)."""


# Gradient descent gets this many steps per batch; trials it leaves uncertified (ill-conditioned
# sets near n = d, THEORY.md §6) are finished by damped Newton in w0 + span X, which has the same
# limit (§6c). The evidence reports how many students each method finished.
DESCENT_STEPS = 20_000


class TrainedStudents:
    """Students trained to a certified ``1e-9`` relative tolerance: batched gradient descent,
    then damped Newton for the trials it left; :class:`Undecided` if any trial is still
    uncertified. ``counts`` records how many students each method finished."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.counts = {"gradient descent": 0, "newton after gradient descent": 0}

    def __call__(self, data: FloatArray, teacher: Teacher, w0: Any) -> FloatArray:
        logits = teacher.logits(data)
        result = gradient_descent(data, logits, w0, max_iter=min(self.budget.max_iter, DESCENT_STEPS))
        students = np.array(result.w)
        left = np.flatnonzero(~np.asarray(result.converged))
        self.counts["gradient descent"] += len(data) - len(left)
        if left.size:
            starts = None if w0 is None else np.broadcast_to(w0, students.shape)[left]
            finished = newton_refine(data[left], logits[left], students[left], starts)
            if not np.all(finished.converged):
                raise Undecided(f"{int(np.sum(~finished.converged))} of {len(data)} students not certified")
            students[left] = finished.w
            self.counts["newton after gradient descent"] += left.size
        return students


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


def paired_difference(
    larger: np.ndarray, smaller: np.ndarray, budget: Budget, rng: np.random.Generator, **details: Any
) -> Evidence:
    """Evidence for ``E larger ≤ E smaller`` from risks paired on the same training sets: the
    differences lie in ``[−1, 1]``, so their mean gets a bounded-mean interval (mapped to
    ``[0, 1]``); falsified only when its lower limit is above 0. Pairing cancels the variance the
    two risks share, so a difference far smaller than either risk's own interval is seen."""
    estimate = bounded_mean((np.asarray(larger) - np.asarray(smaller) + 1) / 2, confidence=1 - budget.alpha, rng=rng)
    lower, mean, upper = 2 * estimate.lower - 1, 2 * estimate.mean - 1, 2 * estimate.upper - 1
    return Evidence(
        holds=lower <= 0.0,
        lhs=lower,
        relation="<=",
        rhs=0.0,
        interval={"mean": mean, "lower": lower, "upper": upper, "trials": estimate.trials},
        details={
            "method": estimate.method,
            "mean_risks": {"compared": float(np.mean(larger)), "reference": float(np.mean(smaller))},
            **details,
        },
    )


Objective = Callable[[Fraction, Fraction, int], Fraction]
"""``(p(θ), p(π/2 − θ), n) ↦ B_n(θ)``: what the risk bound minimises over ``θ``."""


def paper_objective(p_theta: Fraction, p_complement: Fraction, n: int) -> Fraction:
    """``B_n(θ) = p(θ) + p(π/2 − θ)^n``, the objective of ``risk-bound`` (THEORY.md §3)."""
    return p_theta + p_complement**n


def exact_risk_bound(distribution: Discrete, n: int, *, objective: Objective = paper_objective) -> Fraction:
    """``min_θ B_n(θ)`` exactly for a discrete family (``objective`` gives ``B_n``; mutants swap it).

    In the variable ``s = sin²θ``, ``p(θ) = Σ q_j 1[S_j ≤ s]`` and ``p(π/2 − θ) = Σ q_j 1[S_j ≤ 1 − s]``
    with ``S_j = sin²γ_j`` rational, so the objective is constant between the breakpoints
    ``{S_j, 1 − S_j, 0, 1}``; its minimum is attained at a breakpoint or a midpoint of a gap.
    """
    levels = distribution.boundary_sin2
    breaks = sorted({Fraction(0), Fraction(1), *levels, *(1 - s for s in levels)})
    candidates = breaks + [(a + b) / 2 for a, b in itertools.pairwise(breaks)]
    return min(objective(distribution.exact_p(s), distribution.exact_p(1 - s), n) for s in candidates)


def exact_margin_bound(distribution: Discrete, n: int) -> Fraction:
    """The ``rate-margin`` bound for the largest margin ``θ_m ↑ min_j γ_j`` with ``p(θ_m) = 0``:
    ``lim p(π/2 − θ_m)^n = P[S_j ≤ 1 − S_min]^n`` (``p`` is right-continuous)."""
    return distribution.exact_p(1 - min(distribution.boundary_sin2)) ** n
