"""Risk curves: ``E R_n`` against ``n`` for trained students, with exact confidence intervals,
the paper's bound ``min_θ [p(θ) + p(π/2 − θ)^n]`` and the per-dataset bound ``E[p(∠(ŵ, w*))]``.

For each ``n`` the same ``trials`` training sets are shared by every student (a paired
comparison). Randomness is keyed by ``(seed, n)`` for the data and ``(seed, n, student)`` for
initialisations (the betting intervals use no randomness), so a curve is reproducible point
by point and adding a student or a size does not change the others.

Softmax students (THEORY.md §8.1) are scored by argmax disagreement with their ``K``-class
teacher (:func:`~kdverify.claims.multiclass.wrong_predictions`): exactly over the support of a
discrete family, else on :data:`TEST_POINTS` fresh points per training set, keyed by
``(seed, n, 0)`` and shared by every student of that ``n``; their ``p(∠)`` column is empty. For
``K = 2`` the argmax is the sign of ``w_1 − w_2``, so that difference is scored as a binary student.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kdverify._util.validation import FloatArray, positive_int, probability
from kdverify.claims.multiclass import wrong_predictions
from kdverify.data.base import Family
from kdverify.data.discrete import Discrete
from kdverify.errors import InvalidArgument
from kdverify.experiments.students import (
    STUDENTS,
    TrainedStudents,
    Training,
    multiclass_teacher,
    student_kind,
    train_students,
)
from kdverify.measure.bounds import risk_bound
from kdverify.measure.expected import p_of_student_angle
from kdverify.measure.stats import MeanEstimate, betting_mean

__all__ = [
    "COLUMNS",
    "TEST_POINTS",
    "Curve",
    "CurvePoint",
    "family_bound",
    "risk_curve",
    "student_risks",
    "student_seed",
]

TEST_POINTS = 64
"""Fresh test points per training set for the Monte Carlo argmax risk of a softmax student with
``K ≥ 3`` on a continuous family: each trial's risk is its error rate on them, an unbiased value in
``[0, 1]`` of ``R(W)``, so the betting interval covers ``E R_n`` (wider than an exact risk's)."""

COLUMNS = (
    "n",
    "student",
    "method",
    "trials",
    "risk_mean",
    "risk_lower",
    "risk_upper",
    "p_angle_mean",
    "p_angle_lower",
    "p_angle_upper",
    "held_out_mean",
    "held_out_lower",
    "held_out_upper",
    "bound",
    "bound_theta",
    "certified",
    "newton_finished",
    "uncertified",
)
"""The columns of a curve's CSV file, one row per ``(n, student)``."""


@dataclass(frozen=True)
class CurvePoint:
    """One ``(n, student)`` point: ``E R_n`` and ``E p(∠(ŵ, w*))`` with their intervals, the
    risk bound at ``n`` (and its minimiser ``θ``), the training counts of the batch and the
    training method (``auto`` or ``gd``) that produced the students. On a discrete family (a real
    data set) ``held_out`` is the expected risk on the points each training set did not draw
    (:meth:`~kdverify.data.Discrete.held_out_risk`), else ``None``. ``p_angle`` is
    ``None`` for softmax students with ``K ≥ 3`` (no single direction to measure)."""

    n: int
    student: str
    risk: MeanEstimate
    p_angle: MeanEstimate | None
    bound: float
    bound_theta: float
    counts: dict[str, int | None]
    method: str = "auto"
    held_out: MeanEstimate | None = None
    # The per-trial values behind ``risk`` and ``held_out`` (for paired comparisons between the
    # students of one n, which share their training sets); not part of the files.
    risks: FloatArray | None = field(default=None, compare=False, repr=False)
    held_out_risks: FloatArray | None = field(default=None, compare=False, repr=False)

    def row(self) -> dict[str, Any]:
        """The CSV/JSON row with the :data:`COLUMNS`."""
        return {
            "n": self.n,
            "student": self.student,
            "method": self.method,
            "trials": self.risk.trials,
            "risk_mean": self.risk.mean,
            "risk_lower": self.risk.lower,
            "risk_upper": self.risk.upper,
            "p_angle_mean": None if self.p_angle is None else self.p_angle.mean,
            "p_angle_lower": None if self.p_angle is None else self.p_angle.lower,
            "p_angle_upper": None if self.p_angle is None else self.p_angle.upper,
            "held_out_mean": None if self.held_out is None else self.held_out.mean,
            "held_out_lower": None if self.held_out is None else self.held_out.lower,
            "held_out_upper": None if self.held_out is None else self.held_out.upper,
            "bound": self.bound,
            "bound_theta": self.bound_theta,
            **self.counts,
        }


@dataclass(frozen=True)
class Curve:
    """A whole risk curve with everything needed to reproduce it (no timings, no paths)."""

    family: Family
    students: tuple[str, ...]
    trials: int
    temperature: float
    seed: int
    confidence: float
    training: Training
    points: tuple[CurvePoint, ...] = field(default=())

    def select(self, student: str) -> list[CurvePoint]:
        """The points of one student, in order of ``n``."""
        return sorted((p for p in self.points if p.student == student), key=lambda p: p.n)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: the setting, how each student was trained, and the rows."""
        return {
            "family": self.family.name,
            "description": self.family.describe(),
            "params": self.family.params(),
            "temperature": self.temperature,
            "seed": self.seed,
            "trials": self.trials,
            "confidence": self.confidence,
            "interval": "betting interval (Waudby-Smith & Ramdas) per point, not simultaneous",
            "method": self.training.method,
            "students": {student: self.training.describe(student) for student in self.students},
            "columns": list(COLUMNS),
            "rows": [point.row() for point in self.points],
        }


def student_seed(seed: int, n: int, student: str) -> np.random.Generator:
    """The generator of one ``(n, student)`` point, keyed by the place of the student's kind in
    :data:`STUDENTS` (the kinds with a parameter draw nothing from it)."""
    return np.random.default_rng([seed, n, 1 + STUDENTS.index(student_kind(student)[0])])


def family_bound(family: Family, n: int) -> tuple[float, float]:
    """``min_θ [p(θ) + p(π/2 − θ)^n]`` and its ``θ``, from the upper limit of ``p`` (so the bound
    stays an upper bound for families whose ``p`` is estimated), exactly for step functions."""
    bound = risk_bound(lambda theta: family.p_bounds(theta)[1], n, breakpoints=family.breakpoints())
    return bound.value, bound.theta



def draw_training_sets(
    family: Family, n: int, trials: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None]:
    """``trials`` training sets ``(trials, d, n)`` and, for a discrete family, the support indices
    drawn (the same draws as ``family.sample``), so that held-out points are known."""
    if not isinstance(family, Discrete):
        return family.sample(n, rng, trials=trials), None
    drawn = family.sample_indices(n, rng, trials=trials)
    return family.data_at(drawn), drawn


def student_risks(
    family: Family, trained: TrainedStudents, test: FloatArray | None = None, drawn: np.ndarray | None = None
) -> tuple[FloatArray, FloatArray | None, FloatArray | None]:
    """Per-trial risks, ``p(∠(ŵ, w*))`` (``None`` for ``K ≥ 3`` classes) and, given the support
    indices ``drawn`` of a discrete family, held-out risks (else ``None``) of a batch of students.
    Softmax students with ``K ≥ 3`` are scored against their teacher exactly on a discrete family,
    else on the ``test`` points ``(B, d, m)`` (module docstring)."""
    w = trained.w
    if trained.teacher is not None and trained.teacher.classes == 2:
        w = w[..., 0] - w[..., 1]
    if trained.teacher is None or trained.teacher.classes == 2:
        # A discrete risk is a float sum of weights, which may pass 1 by a rounding error.
        risks = np.clip(family.risk(w), 0, 1)
        held = None
        if isinstance(family, Discrete) and drawn is not None:
            held = np.clip(family.held_out_risk(w, drawn), 0, 1)
        return risks, p_of_student_angle(family, w), held
    w_star = trained.teacher.w_star
    if isinstance(family, Discrete):
        wrong = wrong_predictions(w, w_star, np.broadcast_to(family.points.T, (len(w), *family.points.T.shape)))
        held = None if drawn is None else np.clip(family.held_out_mean(wrong.astype(bool), drawn), 0, 1)
        return np.clip(wrong @ family.weights, 0, 1), None, held
    if test is None:
        raise InvalidArgument("a softmax student with K >= 3 classes on a continuous family needs test points.")
    return wrong_predictions(w, w_star, test).mean(axis=-1), None, None


def risk_curve(
    family: Family,
    sizes: Sequence[int],
    *,
    students: Sequence[str] = ("distilled", "hard"),
    trials: int,
    temperature: float = 1.0,
    seed: int = 0,
    training: Training | None = None,
    confidence: float = 0.95,
    on_point: Callable[[CurvePoint], None] | None = None,
) -> Curve:
    """Estimate ``E R_n`` for every size in ``sizes`` and every student in ``students``.

    >>> from kdverify.data import Isotropic
    >>> curve = risk_curve(Isotropic(3), [1, 4], students=["distilled"], trials=20)
    >>> [round(p.risk.mean, 3) for p in curve.points][1]
    0.0
    """
    sizes = [positive_int("n", n) for n in sizes]
    if not sizes or len(set(sizes)) != len(sizes):
        raise InvalidArgument(f"sizes={list(sizes)!r} must be a non-empty list of distinct sizes.")
    if not students:
        raise InvalidArgument(f"students={list(students)!r}: choose from {', '.join(STUDENTS)}.")
    kinds = [student_kind(student) for student in students]
    scored_on_test_points = not isinstance(family, Discrete) and any(
        kind == "softmax" and int(value or 0) > 2 for kind, value in kinds
    )
    trials = positive_int("trials", trials)
    confidence = probability("confidence", confidence)
    training = training or Training()
    teacher = family.teacher(temperature)
    if len(set(students)) != len(students):
        raise InvalidArgument(f"students={list(students)!r} names a student twice.")
    for kind, value in kinds:
        if kind == "softmax":
            multiclass_teacher(teacher, int(value or 0))  # K − 1 <= d, checked before any training
    points = []
    for n in sizes:
        rng = np.random.default_rng([seed, n])
        data, drawn = draw_training_sets(family, n, trials, rng)
        bound, theta = family_bound(family, n)
        test = None
        if scored_on_test_points:
            test = family.sample(TEST_POINTS, np.random.default_rng([seed, n, 0]), trials=trials)
        for student in students:
            rng = student_seed(seed, n, student)
            trained = train_students(student, data, teacher, training, rng=rng)
            risks, angles, held = student_risks(family, trained, test, drawn)
            point = CurvePoint(
                n=n,
                student=student,
                risk=betting_mean(risks, confidence=confidence),
                p_angle=None if angles is None else betting_mean(angles, confidence=confidence),
                bound=bound,
                bound_theta=theta,
                counts=trained.counts(),
                method=trained.method,
                held_out=None if held is None else betting_mean(held, confidence=confidence),
                risks=risks,
                held_out_risks=held,
            )
            points.append(point)
            if on_point is not None:
                on_point(point)
    return Curve(family, tuple(students), trials, float(temperature), seed, confidence, training, tuple(points))
