"""Train many students at once: the batch of training sets ``(B, d, n)`` of one experiment point.

Every student kind goes through the training entries of :mod:`kdverify.training.train`, with
their own certificates; ``Training.method`` (``"auto"``, the default, or ``"gd"``) picks the route
of the distilled and hard students:

- ``distilled``: :func:`~kdverify.training.fit_distilled` — ``auto``: the closed form in
  ``w0 + span X``, certified by the a-posteriori certificate of gradient descent; ``gd``: batched
  gradient descent to that certificate (default ``rtol = 1e-9``) in cache-sized chunks. Either way
  the trials the certificate refuses are finished by :func:`~kdverify.training.newton_refine` in
  one batched call (same limit, same certificate, THEORY.md §6c) and counted;
- ``hard``: :func:`~kdverify.training.fit_hard_label` — ``auto``: the max-margin direction
  (:func:`~kdverify.training.max_margin`), the limit direction of hard-label gradient descent,
  certified by its KKT residuals; ``gd``: hard-label gradient descent for ``hard_iterations`` steps;
- ``hard-gd``: batched :func:`~kdverify.training.hard_label_descent` for a fixed budget of steps
  (the hard-label loss has no minimiser, so there is no tolerance to reach), whatever the method;
- ``deep`` / ``deep-balanced``: :func:`~kdverify.training.fit_deep` (deep gradient descent under
  either method) from a small or a balanced initialisation, one problem at a time (the deep
  solver has no batched form).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from kdverify._util.validation import FloatArray, positive_float, positive_int
from kdverify.errors import InvalidArgument
from kdverify.training import (
    METHODS,
    fit_deep,
    fit_distilled,
    fit_hard_label,
)
from kdverify.training.teacher import Teacher

__all__ = ["STUDENTS", "TrainedStudents", "Training", "parse_students", "train_students"]

STUDENTS = ("distilled", "hard", "hard-gd", "deep", "deep-balanced")
"""The student kinds, in a fixed order (it keys their random streams); see the module docstring."""


@dataclass(frozen=True)
class Training:
    """Budgets and initialisations of the student kinds (see the module docstring).

    ``max_iter`` bounds the gradient-descent steps of the distilled student before Newton
    finishes; ``hard_iterations`` is the fixed budget of ``hard-gd``; the deep students have
    hidden widths ``deep_widths`` (default one hidden layer of width ``d``), initial scales
    ``small_scale`` and ``balanced_scale`` and at most ``deep_max_iter`` steps at ``deep_rtol``.
    ``method`` is the route of the distilled and hard students (module docstring).
    """

    max_iter: int = 20_000
    check_every: int = 10
    hard_iterations: int = 2_000
    deep_widths: tuple[int, ...] | None = None
    small_scale: float = 0.01
    balanced_scale: float = 1.0
    deep_max_iter: int = 50_000
    deep_rtol: float = 1e-6
    method: str = "auto"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidArgument(f"method={self.method!r} is unknown; choose from {', '.join(METHODS)}.")
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
            "distilled": "method auto: closed form P w*/T + P⊥w0, certified (rtol 1e-9) by the a-posteriori "
            "certificate of GD, damped Newton in w0 + span X for trials it refuses"
            if self.method == "auto"
            else f"method gd: batched GD (step 1/L_max, ≤ {self.max_iter} steps, certified rtol 1e-9), "
            "then damped Newton in w0 + span X for trials GD left uncertified",
            "hard": "method auto: max-margin direction by least-distance programming (scipy nnls), KKT-certified"
            if self.method == "auto"
            else f"method gd: batched hard-label GD from 0, step 1/L_max, exactly {self.hard_iterations} steps",
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
    ``method`` is the route that produced them (``auto`` or ``gd``).
    """

    w: FloatArray
    certified: int | None
    finished: int | None
    uncertified: int | None
    method: str = "gd"

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


def distilled_students(
    data: FloatArray, teacher: Teacher, training: Training, w0: FloatArray | None = None
) -> TrainedStudents:
    """:func:`~kdverify.training.fit_distilled` with ``training.method`` (module docstring)."""
    result = fit_distilled(
        data, teacher, w0, method=training.method, max_iter=training.max_iter, check_every=training.check_every
    )
    finished = np.char.endswith(result.method, " + newton")
    certified = int(np.sum(result.converged & ~finished))
    newton = int(np.sum(result.converged & finished))
    return TrainedStudents(np.asarray(result.w), certified, newton, len(data) - certified - newton, training.method)


def hard_students(data: FloatArray, teacher: Teacher, training: Training | None = None) -> TrainedStudents:
    """The max-margin direction of each training set with the teacher's ±1 labels (``auto``), or
    hard-label GD for ``hard_iterations`` steps (``gd``)."""
    training = training or Training()
    if training.method == "gd":
        return replace(hard_gd_students(data, teacher, training), method="gd")
    result = fit_hard_label(data, teacher, method="auto")
    certified = int(np.sum(result.converged))
    return TrainedStudents(np.asarray(result.w), certified, None, len(data) - certified, "auto")


def hard_gd_students(data: FloatArray, teacher: Teacher, training: Training) -> TrainedStudents:
    """Batched hard-label gradient descent from 0 for exactly ``hard_iterations`` steps."""
    result = fit_hard_label(data, teacher, method="gd", iterations=training.hard_iterations)
    return TrainedStudents(np.asarray(result.w), None, None, None, "gd")


def deep_students(
    data: FloatArray, teacher: Teacher, training: Training, *, balanced: bool, rng: np.random.Generator
) -> TrainedStudents:
    """Deep linear students from a fresh small (or balanced) initialisation per training set
    (:func:`~kdverify.training.fit_deep`, gradient descent under either method)."""
    result = fit_deep(
        data,
        teacher,
        widths=training.deep_widths,
        scale=training.balanced_scale if balanced else training.small_scale,
        balanced=balanced,
        rng=rng,
        rtol=training.deep_rtol,
        max_iter=training.deep_max_iter,
    )
    certified = int(np.sum(result.converged))
    return TrainedStudents(np.asarray(result.w), certified, None, len(data) - certified, "gd")


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
        return hard_students(data, teacher, training)
    if student == "hard-gd":
        return hard_gd_students(data, teacher, training)
    return deep_students(data, teacher, training, balanced=student == "deep-balanced", rng=rng)
