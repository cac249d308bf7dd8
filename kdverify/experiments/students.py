"""Train many students at once: the batch of training sets ``(B, d, n)`` of one experiment point.

Every student kind goes through kdverify's solvers, with the solvers' own stopping rules:

- ``distilled``: batched :func:`~kdverify.solvers.gradient_descent` to its certified tolerance
  (default ``rtol = 1e-9``), in cache-sized chunks of problems; trials still uncertified after
  ``max_iter`` steps are finished by :func:`~kdverify.solvers.newton_refine` in one batched call
  (stacked reduced Hessians and solves; same limit, same certificate, THEORY.md §6c) and counted;
- ``hard``: the max-margin direction (:func:`~kdverify.solvers.max_margin`), the limit direction
  of hard-label gradient descent, certified by its KKT residuals;
- ``hard-gd``: batched :func:`~kdverify.solvers.hard_label_descent` for a fixed budget of steps
  (the hard-label loss has no minimiser, so there is no tolerance to reach);
- ``deep`` / ``deep-balanced``: :func:`~kdverify.solvers.train_deep_distilled` from a small or a
  balanced initialisation, one problem at a time (the deep solver has no batched form).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdverify._validation import FloatArray, positive_float, positive_int
from kdverify.errors import InvalidArgument
from kdverify.solvers import (
    balanced_init,
    gradient_descent,
    hard_label_descent,
    max_margin,
    newton_refine,
    small_init,
    train_deep_distilled,
)
from kdverify.teacher import Teacher

__all__ = ["STUDENTS", "TrainedStudents", "Training", "parse_students", "train_students"]

STUDENTS = ("distilled", "hard", "hard-gd", "deep", "deep-balanced")
"""The student kinds, in a fixed order (it keys their random streams); see the module docstring."""

CACHE_FLOATS = 2**16
"""Floats of training data per gradient-descent chunk (512 KB, twice: ``Xᵀ`` and ``ηX/n``).

Each step is two stacked matrix–vector products per problem, bound by memory traffic: chunks
that stay in the L2 cache run faster than one huge batch (measured on the benchmark machine for
``(B, 50, 40)``: 3.7 µs per problem and step in chunks of 50, 5.5 µs in one batch of 500)."""


@dataclass(frozen=True)
class Training:
    """Budgets and initialisations of the student kinds (see the module docstring).

    ``max_iter`` bounds the gradient-descent steps of the distilled student before Newton
    finishes; ``hard_iterations`` is the fixed budget of ``hard-gd``; the deep students have
    hidden widths ``deep_widths`` (default one hidden layer of width ``d``), initial scales
    ``small_scale`` and ``balanced_scale`` and at most ``deep_max_iter`` steps at ``deep_rtol``.
    """

    max_iter: int = 20_000
    check_every: int = 10
    hard_iterations: int = 2_000
    deep_widths: tuple[int, ...] | None = None
    small_scale: float = 0.01
    balanced_scale: float = 1.0
    deep_max_iter: int = 50_000
    deep_rtol: float = 1e-6

    def __post_init__(self) -> None:
        positive_int("max_iter", self.max_iter, min_value=0)
        positive_int("check_every", self.check_every)
        positive_int("hard_iterations", self.hard_iterations)
        positive_float("small_scale", self.small_scale)
        positive_float("balanced_scale", self.balanced_scale)
        positive_int("deep_max_iter", self.deep_max_iter)
        positive_float("deep_rtol", self.deep_rtol)

    def describe(self, student: str) -> str:
        """How ``student`` is trained under this budget, for reports."""
        widths = "d" if self.deep_widths is None else ",".join(map(str, self.deep_widths))
        return {
            "distilled": f"batched GD (step 1/L_max, ≤ {self.max_iter} steps, certified rtol 1e-9), "
            "then damped Newton in w0 + span X for trials GD left uncertified",
            "hard": "max-margin direction by least-distance programming (scipy nnls), KKT-certified",
            "hard-gd": f"batched hard-label GD from 0, step 1/L_max, exactly {self.hard_iterations} steps",
            "deep": f"deep linear GD, hidden widths ({widths}), small init ε={self.small_scale}, "
            f"≤ {self.deep_max_iter} steps to certified rtol {self.deep_rtol:g}",
            "deep-balanced": f"deep linear GD, hidden widths ({widths}), balanced init ε={self.balanced_scale}, "
            f"≤ {self.deep_max_iter} steps to certified rtol {self.deep_rtol:g}",
        }[student]


@dataclass(frozen=True)
class TrainedStudents:
    """The students ``w`` ``(B, d)`` of one batch and how they were obtained.

    ``certified`` trials reached their solver's certificate by the named method, ``finished``
    were finished by Newton (distilled only), ``uncertified`` reached neither within budget and
    are kept as they are (their number is reported beside every estimate). ``None`` counts mean
    the notion does not apply (``hard-gd`` runs a fixed budget with no limit to certify).
    """

    w: FloatArray
    certified: int | None
    finished: int | None
    uncertified: int | None

    def counts(self) -> dict[str, int | None]:
        """Plain-JSON form of the three counts."""
        return {"certified": self.certified, "newton_finished": self.finished, "uncertified": self.uncertified}


def parse_students(text: str) -> tuple[str, ...]:
    """``"distilled,hard"`` → ``("distilled", "hard")``; unknown or repeated names are rejected."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in STUDENTS]
    if not names or unknown:
        raise InvalidArgument(
            f"student={text!r} is not a list of student kinds; choose from {', '.join(STUDENTS)} (comma-separated)."
        )
    if len(set(names)) != len(names):
        raise InvalidArgument(f"student={text!r} names a student kind twice.")
    return names


def chunk_size(dim: int, n: int) -> int:
    """Problems per gradient-descent chunk: :data:`CACHE_FLOATS` of data, at least 16."""
    return max(16, CACHE_FLOATS // (dim * n))


def distilled_students(
    data: FloatArray, teacher: Teacher, training: Training, w0: FloatArray | None = None
) -> TrainedStudents:
    """Batched gradient descent to the certified tolerance, Newton for the rest (module docstring)."""
    logits = teacher.logits(data)
    start = np.zeros(data.shape[:2]) if w0 is None else np.broadcast_to(w0, data.shape[:2])
    w = np.empty(start.shape)
    converged = np.zeros(len(data), dtype=bool)
    size = chunk_size(*data.shape[1:])
    for first in range(0, len(data), size):
        part = slice(first, first + size)
        result = gradient_descent(
            data[part], logits[part], start[part], max_iter=training.max_iter, check_every=training.check_every
        )
        w[part], converged[part] = result.w, result.converged
    left = np.flatnonzero(~converged)
    finished = 0
    if left.size:
        refined = newton_refine(data[left], logits[left], w[left], start[left])
        w[left] = refined.w
        finished = int(np.sum(refined.converged))
    certified = int(np.sum(converged))
    return TrainedStudents(w, certified, finished, len(data) - certified - finished)


def hard_students(data: FloatArray, teacher: Teacher) -> TrainedStudents:
    """The max-margin direction of each training set with the teacher's ±1 labels."""
    signs = 2.0 * teacher.hard_labels(data) - 1.0
    w = np.stack([max_margin(points, labels).direction for points, labels in zip(data, signs, strict=True)])
    return TrainedStudents(w, len(data), None, 0)


def hard_gd_students(data: FloatArray, teacher: Teacher, training: Training) -> TrainedStudents:
    """Batched hard-label gradient descent from 0 for exactly ``hard_iterations`` steps."""
    labels = teacher.hard_labels(data)
    w = np.empty(data.shape[:2])
    size = chunk_size(*data.shape[1:])
    for first in range(0, len(data), size):
        part = slice(first, first + size)
        result = hard_label_descent(data[part], labels[part], iterations=training.hard_iterations, check_every=100)
        w[part] = result.w
    return TrainedStudents(w, None, None, None)


def deep_students(
    data: FloatArray, teacher: Teacher, training: Training, *, balanced: bool, rng: np.random.Generator
) -> TrainedStudents:
    """Deep linear students from a fresh small (or balanced) initialisation per training set."""
    dim = data.shape[1]
    widths = training.deep_widths or (dim,)
    init = balanced_init if balanced else small_init
    scale = training.balanced_scale if balanced else training.small_scale
    w, certified = np.empty(data.shape[:2]), 0
    for b, points in enumerate(data):
        layers = init(dim, widths, scale=scale, rng=rng)
        result = train_deep_distilled(points, teacher, layers, max_iter=training.deep_max_iter, rtol=training.deep_rtol)
        w[b], certified = result.w, certified + int(result.converged)
    return TrainedStudents(w, certified, None, len(data) - certified)


def train_students(
    student: str,
    data: FloatArray,
    teacher: Teacher,
    training: Training,
    *,
    rng: np.random.Generator,
    w0: FloatArray | None = None,
) -> TrainedStudents:
    """Train ``student`` on every training set of ``data`` ``(B, d, n)``.

    ``rng`` draws the deep students' initialisations; ``w0`` (``(d,)`` or ``(B, d)``, default 0)
    is the distilled student's starting point (the other kinds start from 0 or their init).
    """
    if student not in STUDENTS:
        raise InvalidArgument(f"student={student!r} is unknown; choose from {', '.join(STUDENTS)}.")
    if student == "distilled":
        return distilled_students(data, teacher, training, w0)
    if w0 is not None:
        raise InvalidArgument(f"w0 is only supported for the distilled student, not student={student!r}.")
    if student == "hard":
        return hard_students(data, teacher)
    if student == "hard-gd":
        return hard_gd_students(data, teacher, training)
    return deep_students(data, teacher, training, balanced=student == "deep-balanced", rng=rng)
