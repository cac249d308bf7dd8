"""Expected risks for the statistical claims: exact on discrete families, Monte Carlo over
students trained to their certified limit (:func:`kdverify.training.fit_distilled`) elsewhere, and
the exact risk bound of a step-function ``p``."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from kdverify._util.validation import FloatArray
from kdverify.claims.base import Budget, Evidence
from kdverify.data.discrete import Discrete
from kdverify.measure.stats import BettingSequence
from kdverify.training import fit_distilled
from kdverify.training.limits import linear_limit
from kdverify.training.teacher import Teacher
from kdverify.training.train import Method


class Undecided(Exception):
    """A check cannot decide its instance within budget (reported, never a verdict)."""


# Literal gradient descent (method="gd") gets this many steps per batch; trials it leaves
# uncertified (ill-conditioned sets near n = d, THEORY.md §6) are finished by damped Newton in
# w0 + span X, which has the same limit (§6c). method="auto" takes the closed form in w0 + span X
# and Newton for what its certificate refuses. Either way the certificate decides.
DESCENT_STEPS = 20_000
CERTIFIED_RTOL = 1e-9
"""The relative tolerance :class:`CertifiedTrainer` certifies its students to."""


class CertifiedTrainer:
    """Students certified to a :data:`CERTIFIED_RTOL` relative tolerance by
    :func:`kdverify.training.fit_distilled` with ``method`` (``"auto"``: closed form then Newton;
    ``"gd"``: batched gradient descent then Newton); :class:`Undecided` if any trial is still
    uncertified. ``counts`` records how many students each route finished."""

    def __init__(self, budget: Budget, method: Method = "auto") -> None:
        self.budget = budget
        self.method = method
        self.counts: dict[str, int] = {}

    def describe(self) -> str:
        """How the students were obtained, for the evidence's ``students`` detail."""
        route = "closed form in w0 + span X" if self.method == "auto" else "batched gradient descent"
        certified = f"certified rtol {CERTIFIED_RTOL:g}"
        return f"fit_distilled(method={self.method!r}): {route}, Newton for the rest, {certified}"

    def __call__(self, data: FloatArray, teacher: Teacher, w0: Any) -> FloatArray:
        steps = min(self.budget.max_iter, DESCENT_STEPS)
        result = fit_distilled(data, teacher, w0, method=self.method, rtol=CERTIFIED_RTOL, max_iter=steps)
        for name, count in result.counts().items():
            if name != "uncertified":
                self.counts[name] = self.counts.get(name, 0) + count
        if not np.all(result.converged):
            raise Undecided(f"{int(np.sum(~np.asarray(result.converged)))} of {len(data)} students not certified")
        return np.asarray(result.w)


def closed_form_students(data: FloatArray, teacher: Teacher, w0: Any) -> FloatArray:
    """The limit ``P w*/T + P⊥ w0`` (theorem ``optimization-bias-linear``), for open claims
    about the limit itself, where hunting needs speed."""
    return linear_limit(data, teacher, w0)


ROUNDS = 5
"""A sequential check draws its trials in this many rounds and stops at the first that decides."""



def round_sizes(trials: int) -> list[int]:
    """The trials of each of :data:`ROUNDS` rounds, summing to ``trials``."""
    return [int(size) for size in np.diff(np.linspace(0, trials, ROUNDS + 1).round().astype(int)) if size > 0]


PairedDraw = Callable[[int], tuple[np.ndarray, np.ndarray]]
"""``draw(k)``: the two risks of ``k`` new paired training sets (compared, reference), each of
shape ``(k,)``, or ``(sizes, k)`` for a sweep of sample sizes (:func:`paired_difference`'s ``sizes``)."""


def paired_difference(
    draw: PairedDraw, budget: Budget, *, sizes: Sequence[int] | None = None, **details: Any
) -> Evidence:
    """Evidence for ``E compared ≤ E reference`` from risks paired on the same training sets, at
    one sample size or at each of ``sizes`` (a sweep: ``draw`` returns one row per size).

    The differences lie in ``[−1, 1]``, so their mean gets a betting interval (mapped to
    ``[0, 1]``, :class:`~kdverify.measure.stats.BettingSequence`), which adapts to their variance: pairing
    cancels what the two risks share, so a difference far smaller than either risk's own interval
    is seen. Trials come in :data:`ROUNDS` rounds up to ``budget.trials``; the interval is valid at
    every round, so a size stops taking values once its interval lies on one side of 0, and the
    rounds stop when every size is decided or one is falsified (its lower limit above 0: the
    example is then decided). A sweep splits ``budget.alpha`` over its sizes (Bonferroni), one
    sequence each, and reports its worst size — the largest lower limit — as the evidence, with
    ``details["sizes"]`` (how many were compared) and ``details["per_size"]`` (each size's ``n``,
    mean risks and interval).
    """
    labels = [None] if sizes is None else list(sizes)
    confidence = 1 - budget.alpha / len(labels)
    sequences = [BettingSequence(confidence=confidence, horizon=budget.trials) for _ in labels]
    totals = np.zeros((len(labels), 3))  # per size: Σ compared, Σ reference, trials where they differ
    open_sizes = np.ones(len(labels), dtype=bool)
    for size in round_sizes(budget.trials):
        compared, reference = (np.asarray(side, dtype=np.float64).reshape(len(labels), size) for side in draw(size))
        for index in np.flatnonzero(open_sizes):
            sequences[index].update((compared[index] - reference[index] + 1) / 2)
            totals[index] += (
                compared[index].sum(),
                reference[index].sum(),
                np.count_nonzero(compared[index] != reference[index]),
            )
            side = sequences[index].side_of(0.5)  # a look needs no interval limits
            if side > 0:  # a violation at this size decides the example
                open_sizes[:] = False
                break
            open_sizes[index] = side == 0
        if not open_sizes.any():
            break
    summaries = map(_paired_summary, labels, sequences, totals)
    seen = [summary for summary in summaries if summary is not None]
    worst = max(seen, key=lambda summary: (summary["lower"], summary["mean"]))
    method = sequences[0].estimate().method
    interval = {key: worst[key] for key in ("mean", "lower", "upper", "trials")}
    sweep = {} if sizes is None else {"n": worst["n"], "sizes": len(labels), "per_size": seen}
    return Evidence(
        holds=worst["lower"] <= 0.0,
        lhs=worst["lower"],
        relation="<=",
        rhs=0.0,
        interval=interval,
        details={
            "method": method,
            "mean_risks": worst["mean_risks"],
            "differing": worst["differing"],
            **sweep,
            **details,
        },
    )


def _paired_summary(n: int | None, sequence: BettingSequence, totals: np.ndarray) -> dict[str, Any] | None:
    """One size of :func:`paired_difference`: its interval on the difference (mapped back to
    ``[−1, 1]``), mean risks and how many trials' two risks differ (none: the comparison could
    not have failed); ``None`` for a size that took no values (a sweep stopped by an earlier
    size's violation in the first round)."""
    if sequence.trials == 0:
        return None
    estimate = sequence.estimate()
    return {
        "n": n,
        "mean": 2 * estimate.mean - 1,
        "lower": 2 * estimate.lower - 1,
        "upper": 2 * estimate.upper - 1,
        "trials": estimate.trials,
        "mean_risks": dict(zip(("compared", "reference"), (totals[:2] / estimate.trials).tolist(), strict=True)),
        "differing": int(totals[2]),
    }


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
