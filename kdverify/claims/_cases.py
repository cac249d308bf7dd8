"""Turning instances into training problems, training them, and the rounding scales that
the checks' tolerances are built from."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kdverify._util.linalg import SpanProjector, span_projector
from kdverify._util.numerics import EPS, sigmoid_prime
from kdverify._util.validation import FloatArray
from kdverify.claims.base import Budget, Evidence, Instance
from kdverify.data.base import Family
from kdverify.errors import InvalidArgument
from kdverify.training import DescentResult, TrainingResult, UserTrainer, fit_distilled, fit_user, gradient_descent
from kdverify.training.teacher import Teacher

DESCENT_MAX_ITER = 10_000
"""Literal gradient-descent (or deep-student) steps per check of a claim about descent itself.
Measured on the ci searches (BENCHMARKS.md §4): 90% of the instances certify within 10⁴ steps,
the rest (flat logits, near-singular data; THEORY.md §6) need up to 10⁵ or never reach 10⁻⁹, and
cost most of the time. A run that does not certify its 10⁻⁹ tolerance within the budget is decided
at the distance it did certify when that resolves the claimed limit (:data:`RESOLUTION`), else it
is reported undecided ("not converged within budget")."""

RESOLUTION = 1e-3
"""A literal-descent run cut by :data:`DESCENT_MAX_ITER` still decides its example when its certified
distance to the limit is at most this fraction of the smallest term of the claimed limit
(:meth:`Case.separation`): the check then rules out every limit that differs from the claimed one
by 2·10⁻³ of that term or more — a dropped, swapped or mis-scaled term — and reports the resolution
it reached. Runs that certify within budget reach ``10⁻⁹·max(1, ‖ŵ‖)`` as before."""


@dataclass(frozen=True)
class Case:
    """A training problem read from an instance: data ``X`` (points as columns), the teacher at
    its temperature, the initialisation ``w0`` (zeros when the instance says ``None``)."""

    data: FloatArray
    teacher: Teacher
    w0: FloatArray
    step_fraction: float

    @classmethod
    def from_instance(cls, instance: Instance, *, points: str = "points") -> Case:
        data = instance.data(points)
        w0 = instance.get("w0")
        return cls(
            data=data,
            teacher=Teacher(instance.array("w_star"), float(instance.get("temperature", 1.0))),
            w0=np.zeros(data.shape[0]) if w0 is None else instance.array("w0"),
            step_fraction=float(instance.get("step_fraction", 1.0)),
        )

    @property
    def projector(self) -> SpanProjector:
        return span_projector(self.data)

    def with_data(self, data: FloatArray) -> Case:
        """The same teacher and initialisation on another training set."""
        return Case(data, self.teacher, self.w0, self.step_fraction)

    def step(self) -> float:
        """``step_fraction / L_max`` with ``L_max = λ_max(XXᵀ)/(4n)``: safe for fractions in (0, 2)."""
        smoothness = float(np.linalg.norm(self.data, 2) ** 2) / (4 * self.data.shape[1])
        return self.step_fraction / smoothness

    def student(
        self, budget: Budget, trainer: UserTrainer | None = None, *, descent: bool = False
    ) -> DescentResult | TrainingResult:
        """The trained student with its distance to the limit: a user's ``trainer`` from ``w0 = 0``
        at the distance it promises; else literal gradient descent (:meth:`train`) for claims about
        descent itself, or the certified limit (:meth:`limit`) for claims about the limit."""
        if trainer is None:
            return self.train(budget) if descent else self.limit(budget)
        if np.any(self.w0):
            raise InvalidArgument(f"trainer {trainer.name} starts from w0 = 0, but the instance has w0 = {self.w0}.")
        return fit_user(trainer, self.data, self.teacher)

    def train(self, budget: Budget, *, every_iterate: bool = False, max_iter: int | None = None) -> DescentResult:
        """Literal gradient descent at the instance's step, to a certified tolerance within
        ``max_iter`` steps (default the budget's; claims about gradient descent itself pass
        :func:`descent_steps`); ``every_iterate`` measures the off-span drift of every iterate."""
        return gradient_descent(
            self.data,
            self.teacher.logits(self.data),
            self.w0,
            step=self.step(),
            max_iter=budget.max_iter if max_iter is None else max_iter,
            every_iterate=every_iterate,
        )

    def separation(self) -> float:
        """The smallest nonzero term of the limit ``P w*/T + P⊥w0``: how far a limit with a term
        dropped or swapped would be from it (``inf`` when both vanish)."""
        projector = self.projector
        terms = (np.linalg.norm(projector.project(self.teacher.target)), np.linalg.norm(projector.complement(self.w0)))
        return float(min((term for term in terms if term > 0), default=np.inf))

    def predicted_steps(self, logits: FloatArray, *, reduction: float = 1e12) -> float:
        """Steps gradient descent at this case's step needs to shrink its error by ``reduction`` towards
        the limit of target logits ``logits``: near the limit each step contracts by ``1 − ημ`` with
        ``μ ≈ min_i σ'(u_i) λ_min⁺(XXᵀ)/n`` (THEORY.md §6's conditioning). An estimate (measured
        within 0.004–10× of the steps taken), used to leave hopeless runs undecided unrun."""
        projector = self.projector
        n = self.data.shape[1]
        mu = float(np.min(sigmoid_prime(logits))) * float(projector.smallest_positive_eigenvalue) / n
        smoothness = float(projector.largest_eigenvalue) / (4 * n)
        return math.log(reduction) * smoothness / (mu * self.step_fraction) if mu > 0 else math.inf

    def hopeless(self, budget: Budget, logits: FloatArray | None = None, *, reduction: float = 1e12) -> Evidence | None:
        """Undecided evidence, without running, when :meth:`predicted_steps` (for ``reduction``)
        exceeds 4× the descent budget (the teacher's logits by default); ``None`` when the run is
        worth making."""
        logits = self.teacher.logits(self.data) if logits is None else logits
        predicted = self.predicted_steps(logits, reduction=reduction)
        if predicted <= 4 * descent_steps(budget):
            return None
        return not_converged(f"gradient descent (predicted {predicted:.2g} steps)", 0)

    def limit(self, budget: Budget) -> TrainingResult:
        """The student at its certified limit by the training layer's fastest route
        (:func:`~kdverify.training.fit_distilled`, ``method="auto"``): for claims about the limit."""
        return fit_distilled(self.data, self.teacher, self.w0, max_iter=budget.max_iter)

    def closed_form_error(self) -> float:
        """Rounding bound for ``P w*/T + P⊥ w0`` built from an SVD: backward-stable SVD gives
        basis errors of order ``eps·max(d, n)·σ_max/σ_min⁺`` (the gap to the discarded part),
        so the computed limit is within that relative error of ``‖w*/T‖ + ‖w0‖``, times 10."""
        projector = self.projector
        condition = float(np.sqrt(projector.largest_eigenvalue / projector.smallest_positive_eigenvalue))
        scale = float(np.linalg.norm(self.teacher.target) + np.linalg.norm(self.w0))
        return 10.0 * EPS * max(self.data.shape) * condition * scale


def descent_steps(budget: Budget) -> int:
    """The literal-descent steps a check may take: the budget's, at most :data:`DESCENT_MAX_ITER`."""
    return min(budget.max_iter, DESCENT_MAX_ITER)


def resolution(bound: float, separation: float) -> float:
    """``bound / separation`` (:data:`RESOLUTION`); ``inf`` when the limit has no nonzero term to
    resolve, so that only a run certified to its full tolerance decides."""
    return bound / separation if math.isfinite(separation) else math.inf


def not_converged(what: str, iterations: int) -> Evidence:
    """Undecided evidence: the solver did not reach its certified tolerance within budget."""
    return Evidence(None, f"{what} not converged", "<=", "budget", details={"iterations": iterations})


def descent_rounding(case: Case, result: DescentResult) -> float:
    """Worst-case rounding accumulated in ``P⊥ w`` by ``k`` gradient steps.

    Each step ``w ← w − (η/n) X r`` with ``|r_i| ≤ 1`` rounds the update by at most
    ``γ_{n+2}·(η/n)‖X‖_F √n`` and the subtraction by ``eps‖w‖``; the projector used to measure
    ``P⊥`` adds ``max(d, n)·eps`` relative error. Summed over ``k + 1`` steps, times 4.
    """
    iterations = int(result.iterations) + 1
    n = case.data.shape[1]
    update = case.step() / n * float(np.linalg.norm(case.data)) * np.sqrt(n) * (n + 2)
    size = float(max(np.linalg.norm(result.w), np.linalg.norm(case.w0)))
    return 4.0 * EPS * (iterations * (update + size) + max(case.data.shape) * size)


def numeric_tolerance(distribution: Family, terms: int = 2) -> float:
    """Slack for comparing ``terms`` computed risks or ``p`` values of ``distribution``, each
    within its family's stated ``accuracy`` (quadrature or rounding)."""
    return terms * distribution.accuracy


def below_one(bound: float, tolerance: float) -> bool:
    """Whether a risk bound says anything: below 1 by more than its ``tolerance``. A bound of 1 up
    to rounding does not (isotropic ``d = 2``, ``n = 1``: exactly 1, computed ``1 − 2.2e-16``)."""
    return bound < 1 - tolerance


def ratio_evidence(parts: dict[str, tuple[float, float]], **details: object) -> Evidence:
    """Evidence ``max_part error/tolerance ≤ 1`` with every part's numbers in the details."""
    ratios = {name: error / tolerance for name, (error, tolerance) in parts.items()}
    worst = max(ratios, key=ratios.__getitem__)
    return Evidence(
        holds=ratios[worst] <= 1.0,
        lhs=ratios[worst],
        relation="<=",
        rhs=1.0,
        details={"worst": worst, **{name: {"error": e, "tolerance": t} for name, (e, t) in parts.items()}, **details},
    )
