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
  solver has no batched form);
- ``softmax:K=k`` (THEORY.md §8.1): :func:`~kdverify.training.fit_softmax` with ``k`` classes against
  :func:`multiclass_teacher`, the ``k``-class teacher that extends the binary one (``auto``: the
  certified closed form ``P W*C/T``; ``gd``: batched softmax GD), Newton finishing what is refused;
- ``mixed:rho=ρ`` (THEORY.md §8.2): :func:`~kdverify.training.fit_mixed` on the targets
  ``ρ σ(w*ᵀx/T) + (1 − ρ) 1[w*ᵀx > 0]`` of the perfect teacher, ``ρ ∈ (0, 1]`` (``auto``: the
  certified closed form ``X(XᵀX)⁺u``; ``gd``: literal GD), Newton finishing what is refused.

The last two kinds take a parameter: a student is named ``kind:K=k`` or ``kind:rho=ρ``
(:func:`student_name`); :func:`parse_students` expands a bare kind with the given ``classes`` or
``rhos``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from kdverify._util.validation import FloatArray, positive_float, positive_int, probability
from kdverify.errors import InvalidArgument
from kdverify.training import (
    METHODS,
    SoftmaxTeacher,
    TrainingResult,
    fit_deep,
    fit_distilled,
    fit_hard_label,
    fit_mixed,
    fit_softmax,
)
from kdverify.training.softmax import MAX_CLASSES
from kdverify.training.teacher import Teacher

__all__ = [
    "STUDENTS",
    "TrainedStudents",
    "Training",
    "multiclass_teacher",
    "parse_students",
    "student_kind",
    "student_name",
    "train_students",
]

STUDENTS = ("distilled", "hard", "hard-gd", "deep", "deep-balanced", "softmax", "mixed")
"""The student kinds, in a fixed order (it keys their random streams); see the module docstring."""

PARAMETERS = {"softmax": "K", "mixed": "rho"}
"""The kinds that take a parameter, and its name in a student's name (``softmax:K=3``)."""


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
        kind, _ = student_kind(student)
        value = student.partition("=")[2]  # the parameter as the name writes it
        widths = "d" if self.deep_widths is None else ",".join(map(str, self.deep_widths))
        finish = "damped Newton in the start + span X for trials it refuses"
        route = (
            "method auto: closed form {}, certified (rtol 1e-9), " + finish
            if self.method == "auto"
            else f"method gd: batched {{}} (≤ {self.max_iter} steps, certified rtol 1e-9), then " + finish
        )
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
            "softmax": f"softmax student, K={value} classes, teacher W* = [w*/2, −w*/2, ‖w*‖/2·v_3, …] "
            "(v_k ⊥ w*); " + route.format("P W*C/T" if self.method == "auto" else "softmax GD (step 2n/λ_max)"),
            "mixed": f"ρ={value}: targets ρσ(w*ᵀx/T) + (1−ρ)1[w*ᵀx > 0] (perfect teacher); "
            + route.format("X(XᵀX)⁺u" if self.method == "auto" else "GD (step 1/L_max)"),
        }[kind]


@dataclass(frozen=True)
class TrainedStudents:
    """The students ``w`` ``(B, d)`` of one batch and how they were obtained.

    ``certified`` trials reached their solver's certificate by the named method, ``finished``
    were finished by Newton (distilled only), ``uncertified`` reached neither within budget and
    are kept as they are (their number is reported beside every estimate). ``None`` counts mean
    the notion does not apply (``hard-gd`` runs a fixed budget with no limit to certify).
    ``method`` is the route that produced them (``auto`` or ``gd``). Softmax students have ``w``
    ``(B, d, K)`` and carry the ``K``-class ``teacher`` they learned from (their risk is argmax
    disagreement with it, THEORY.md §8.1).
    """

    w: FloatArray
    certified: int | None
    finished: int | None
    uncertified: int | None
    method: str = "gd"
    teacher: SoftmaxTeacher | None = None

    def counts(self) -> dict[str, int | None]:
        """Plain-JSON form of the three counts."""
        return {"certified": self.certified, "newton_finished": self.finished, "uncertified": self.uncertified}


def student_name(kind: str, value: float | None = None) -> str:
    """The name of a student: the kind, or ``kind:K=k`` / ``kind:rho=ρ`` for the kinds of
    :data:`PARAMETERS`, with the parameter validated (``K`` an integer in ``[2, 64]``, ``ρ ∈ (0, 1]``).

    >>> student_name("softmax", 3), student_name("mixed", 0.50)
    ('softmax:K=3', 'mixed:rho=0.5')
    """
    if kind not in STUDENTS:
        raise InvalidArgument(f"student kind {kind!r} is unknown; choose from {', '.join(STUDENTS)}.")
    if kind not in PARAMETERS:
        if value is not None:
            raise InvalidArgument(f"student kind {kind!r} takes no parameter, but {value!r} was given.")
        return kind
    if value is None:
        raise InvalidArgument(f"student kind {kind!r} needs {PARAMETERS[kind]}: write {kind}:{PARAMETERS[kind]}=….")
    if kind == "softmax":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        classes = positive_int("K", value, min_value=2)  # type: ignore[arg-type]
        if classes > MAX_CLASSES:
            raise InvalidArgument(f"K={classes} must be <= {MAX_CLASSES} (classes of a softmax student).")
        return f"softmax:K={classes}"
    rho = probability("rho", value, open_interval=False)
    if rho == 0:
        raise InvalidArgument("rho=0 is pure hard labels (the student hard); the mixed student needs rho in (0, 1].")
    return f"mixed:rho={rho:g}"


def _read(student: str) -> tuple[str, int | float | None]:
    """The kind and parameter written in a student's name, not yet validated."""
    kind, _, parameter = student.partition(":")
    key, _, text = parameter.partition("=")
    if not parameter:
        return kind, None
    try:
        value: int | float = int(text) if kind == "softmax" else float(text)
    except ValueError:
        value = math.nan
    if key != PARAMETERS.get(kind) or math.isnan(value):
        raise InvalidArgument(
            f"student={student!r} is not a student name; write a kind ({', '.join(STUDENTS)}), "
            "softmax:K=<classes> or mixed:rho=<ratio>."
        )
    return kind, value


def student_kind(student: str) -> tuple[str, int | float | None]:
    """``"softmax:K=3"`` → ``("softmax", 3)``, ``"hard"`` → ``("hard", None)``; names that
    :func:`student_name` would not write are rejected."""
    kind, value = _read(student)
    if student_name(kind, value) != student:
        raise InvalidArgument(f"student={student!r} is not in its canonical form {student_name(kind, value)!r}.")
    return kind, value


def parse_students(text: str, *, classes: Sequence[int] = (3,), rhos: Sequence[float] = (0.5,)) -> tuple[str, ...]:
    """``"distilled,hard"`` → ``("distilled", "hard")``; a bare ``softmax`` becomes one student per
    number of ``classes`` and a bare ``mixed`` one per ratio in ``rhos``
    (``"softmax"`` with ``classes=(2, 3)`` → ``("softmax:K=2", "softmax:K=3")``). Unknown or repeated
    names are rejected.

    >>> parse_students("distilled,mixed", rhos=(0.25, 1))
    ('distilled', 'mixed:rho=0.25', 'mixed:rho=1')
    """
    names: list[str] = []
    for name in (part.strip() for part in text.split(",")):
        if not name:
            continue
        if name.partition(":")[0] not in STUDENTS:
            raise InvalidArgument(
                f"student={text!r} is not a list of student kinds; choose from {', '.join(STUDENTS)} (comma-separated)."
            )
        if name == "softmax":
            names += [student_name("softmax", k) for k in classes]
        elif name == "mixed":
            names += [student_name("mixed", rho) for rho in rhos]
        else:
            names.append(student_name(*_read(name)))
    if not names:
        raise InvalidArgument(f"student={text!r} names no student; choose from {', '.join(STUDENTS)}.")
    if len(set(names)) != len(names):
        raise InvalidArgument(f"student={text!r} names a student twice.")
    return tuple(names)


def multiclass_teacher(teacher: Teacher, classes: int) -> SoftmaxTeacher:
    """The ``K``-class softmax teacher that extends the binary ``teacher``: columns ``w*/2``,
    ``−w*/2`` and ``(‖w*‖/2) v_k`` for ``k = 3..K``, with ``v_k = H e_{k−1}`` for the Householder
    reflection ``H`` that maps ``e_1`` to ``w*/‖w*‖`` (orthonormal, orthogonal to ``w*``; no
    randomness). Classes 1 and 2 are split by the binary teacher's boundary, and for ``K = 2`` the
    softmax student's ``w_1 − w_2`` is the binary distilled student (THEORY.md §8.1).

    >>> np.round(multiclass_teacher(Teacher([0.0, 2.0]), 3).w_star, 6).tolist()
    [[0.0, -0.0, 1.0], [1.0, -1.0, 0.0]]
    """
    classes = positive_int("K", classes, min_value=2)
    if classes - 1 > teacher.dim:
        raise InvalidArgument(f"K={classes} classes need dimension >= K − 1 = {classes - 1}, not {teacher.dim}.")
    norm = float(np.linalg.norm(teacher.w_star))
    direction = teacher.w_star / norm
    reflector = direction - np.eye(teacher.dim)[0]
    size = float(reflector @ reflector)
    reflection = np.eye(teacher.dim) - (2 * np.outer(reflector, reflector) / size if size > 0 else 0.0)
    columns = [teacher.w_star / 2, -teacher.w_star / 2, *(norm / 2 * reflection[:, k] for k in range(1, classes - 1))]
    return SoftmaxTeacher(np.stack(columns, axis=1), teacher.temperature)


def _certified(result: TrainingResult, count: int, method: str, teacher: SoftmaxTeacher | None = None
               ) -> TrainedStudents:
    """The counts of a solver's batch: certified by its own route, finished by Newton (a route
    named ``… newton …``), or neither."""
    finished = np.char.find(np.atleast_1d(result.method), "newton") >= 0
    converged = np.atleast_1d(result.converged)
    certified, newton = int(np.sum(converged & ~finished)), int(np.sum(converged & finished))
    return TrainedStudents(np.asarray(result.w), certified, newton, count - certified - newton, method, teacher)


def distilled_students(
    data: FloatArray, teacher: Teacher, training: Training, w0: FloatArray | None = None
) -> TrainedStudents:
    """:func:`~kdverify.training.fit_distilled` with ``training.method`` (module docstring)."""
    result = fit_distilled(
        data, teacher, w0, method=training.method, max_iter=training.max_iter, check_every=training.check_every
    )
    return _certified(result, len(data), training.method)


def softmax_students(data: FloatArray, teacher: Teacher, training: Training, classes: int) -> TrainedStudents:
    """:func:`~kdverify.training.fit_softmax` from ``W_0 = 0`` against :func:`multiclass_teacher`."""
    softmax_teacher = multiclass_teacher(teacher, classes)
    result = fit_softmax(
        data, softmax_teacher, method=training.method, max_iter=training.max_iter, check_every=training.check_every
    )
    return _certified(result, len(data), training.method, softmax_teacher)


def mixed_students(data: FloatArray, teacher: Teacher, training: Training, rho: float) -> TrainedStudents:
    """:func:`~kdverify.training.fit_mixed` from ``w_0 = 0`` with the teacher as its own labeller
    (GD checked at the solver's own interval: its certificate bisects for the logits' range)."""
    result = fit_mixed(data, teacher, rho, method=training.method, max_iter=training.max_iter)
    return _certified(result, len(data), training.method)


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
    """Train ``student`` (a kind or a ``kind:…=…`` name) on every training set of ``data`` ``(B, d, n)``.

    ``rng`` draws the deep students' initialisations; ``w0`` (``(d,)`` or ``(B, d)``, default 0)
    is the distilled student's starting point (the other kinds start from 0 or their init).
    """
    kind, value = student_kind(student)
    if student == "distilled":
        return distilled_students(data, teacher, training, w0)
    if w0 is not None:
        raise InvalidArgument(f"w0 is only supported for the distilled student, not student={student!r}.")
    if kind == "softmax":
        return softmax_students(data, teacher, training, int(value))  # type: ignore[arg-type]
    if kind == "mixed":
        return mixed_students(data, teacher, training, float(value))  # type: ignore[arg-type]
    if student == "hard":
        return hard_students(data, teacher, training)
    if student == "hard-gd":
        return hard_gd_students(data, teacher, training)
    return deep_students(data, teacher, training, balanced=student == "deep-balanced", rng=rng)
