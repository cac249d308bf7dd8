"""One training entry point per student, returning the certified limit (issue 11, item 1).

Every entry takes one training set ``(d, n)`` or a batch ``(B, d, n)`` and a
:class:`~kdverify.training.teacher.Teacher`, and returns a :class:`TrainingResult`: the students, a
per-student certified distance to the limit, a ``converged`` mask, the method that produced each
student and its iteration count. ``method`` chooses the route:

- ``"auto"`` (default): the fastest route whose iterates stay in ``w_0 + span X`` — which, by
  THEORY.md §6(c), has the limit of gradient descent. For the distilled student that is the
  closed form ``P w*/T + P⊥ w_0`` (no iterations), then damped Newton in the span for any student
  the certificate refuses; for the hard-label student the max-margin direction by least-distance
  programming (:func:`~kdverify.training.max_margin`); for the deep student there is no faster
  certified route, so ``auto`` is gradient descent.
- ``"gd"``: literal gradient descent (batched, step ``1/L_max``), for claims about gradient
  descent itself and for comparison. For the distilled student, students still uncertified after
  ``max_iter`` steps are finished by Newton when ``finish=True`` (the default; recorded per student),
  else returned with ``converged=False``.

The certificate decides, not the method. A distilled student is returned as ``converged`` only
when the a-posteriori certificate of gradient descent — :func:`kdverify.training.limits.span_error_bound`
plus the measured off-span part and the projector's rounding
(:class:`~kdverify.training._common.Certificate`) — is ``≤ tol`` at the returned point, whatever
produced it; default ``tol = rtol·max(1, ‖ŵ‖)`` with ``rtol = 1e-9``. A student the certificate
still refuses after Newton is returned with ``converged=False``, never silently as converged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import nnls

from kdverify._util.linalg import SpanProjector, span_projector
from kdverify._util.validation import FloatArray, as_data, as_float_array, positive_float, positive_int
from kdverify.errors import InvalidArgument
from kdverify.training._common import (
    EPS,
    Certificate,
    check_interpolable,
    limit_norm,
    prepare,
    resolve_tolerance,
    unbatch,
)
from kdverify.training.deep import balanced_init, small_init, train_deep_distilled
from kdverify.training.descent import gradient_descent
from kdverify.training.hard_label import hard_label_descent, max_margin
from kdverify.training.newton import newton_refine
from kdverify.training.softmax import (
    SoftmaxTeacher,
    broadcast_start,
    softmax_certificate,
    softmax_descent,
    softmax_limit,
    softmax_newton,
)
from kdverify.training.teacher import Teacher

__all__ = [
    "METHODS",
    "TrainingResult",
    "UserTrainer",
    "certify_distilled",
    "fit_deep",
    "fit_distilled",
    "fit_hard_label",
    "fit_softmax",
    "fit_user",
]

METHODS = ("auto", "gd")
"""The training methods: ``auto`` (fastest certified route to the limit) and ``gd`` (literal GD)."""

Method = Literal["auto", "gd"]

CLOSED_FORM = "closed form"
GRADIENT_DESCENT = "gradient descent"
NEWTON = " + newton"
MAX_MARGIN = "max-margin (LDP)"
HARD_GD = "hard-label gradient descent (fixed budget)"
DEEP_GD = "deep gradient descent"
USER = "user trainer"

CACHE_FLOATS = 2**16
"""Floats of training data per gradient-descent chunk: chunks that stay in the L2 cache run
faster than one huge batch (measured for ``(B, 50, 40)``: 3.7 µs per problem and step in chunks
of 50, 5.5 µs in one batch of 500)."""


@dataclass(frozen=True)
class TrainingResult:
    """Students of one batch and their certificates.

    ``w`` ``(B, d)`` (or ``(d,)`` for one problem); ``bound`` is what the certificate proves,
    described by ``certificate``: for the distilled and deep students a bound on ``‖w − ŵ‖`` (the
    deep one on ``‖P(w − w*/T)‖`` plus the first layer's off-span drift), for the hard-label student
    under ``auto`` the largest KKT residual of the max-margin problem relative to its rounding
    tolerance (``≤ 1`` when certified), and ``inf`` where nothing is certified (hard-label GD has no
    limit to reach). ``converged`` means certified (``bound ≤ tol``); ``method`` names the route that
    produced each student; ``iterations`` counts its steps (gradient steps plus Newton steps;
    0 for a closed form).
    """

    w: FloatArray
    bound: FloatArray
    tol: FloatArray
    converged: NDArray[np.bool_]
    method: NDArray[np.str_]
    iterations: NDArray[np.int64]
    student: str
    certificate: str

    @classmethod
    def from_batch(
        cls,
        *,
        w: FloatArray,
        bound: FloatArray,
        tol: FloatArray,
        converged: NDArray[np.bool_],
        method: ArrayLike,
        iterations: NDArray[np.int64],
        student: str,
        certificate: str,
        single: bool,
    ) -> TrainingResult:
        """The result of a batch's per-problem arrays (leading axis ``B``), unbatched to one
        problem's when ``single``. ``method`` is one route name for all or one per problem."""
        methods = np.broadcast_to(np.asarray(method, dtype=str), np.shape(converged))
        return cls(
            w=unbatch(w, single),
            bound=unbatch(bound, single),
            tol=unbatch(tol, single),
            converged=unbatch(converged, single),
            method=unbatch(methods, single),
            iterations=unbatch(iterations, single),
            student=student,
            certificate=certificate,
        )

    def counts(self) -> dict[str, int]:
        """How many students each method produced, and how many are uncertified."""
        methods = np.atleast_1d(self.method)
        converged = np.atleast_1d(self.converged)
        out = {str(name): int(np.sum(methods == name)) for name in sorted(set(methods.tolist()))}
        out["uncertified"] = int(np.sum(~converged))
        return out


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise InvalidArgument(f"method={method!r} is unknown; choose from {', '.join(METHODS)}.")
    return method


def _check_teacher(teacher: Teacher) -> Teacher:
    if not isinstance(teacher, Teacher):
        raise InvalidArgument(f"teacher={teacher!r} must be a kdverify.training.teacher.Teacher.")
    return teacher


def chunk_size(dim: int, n: int) -> int:
    """Problems per gradient-descent chunk: :data:`CACHE_FLOATS` of data, at least 16."""
    return max(16, CACHE_FLOATS // (dim * n))


def certify_distilled(w: ArrayLike, data: ArrayLike, teacher: Teacher, w0: ArrayLike | None = None) -> FloatArray:
    """The certified bound on ``‖w − ŵ‖`` for students ``w`` ``(B, d)`` (or ``(d,)``), whatever
    produced them — the certificate every distilled route ends with (``inf`` or large for a wrong
    student; a student off ``w_0 + span X`` pays its whole off-span distance)."""
    teacher = _check_teacher(teacher)
    problem = prepare(data, teacher.logits(data), w0)
    check_interpolable(problem)
    students = np.asarray(w, dtype=float)
    if students.shape not in (problem.w0.shape[1:], problem.w0.shape):
        raise InvalidArgument(
            f"w has shape {students.shape}, but the data need {problem.w0.shape[1:]} or {problem.w0.shape}."
        )
    students = np.array(np.broadcast_to(students, problem.w0.shape))
    certificate = Certificate.build(problem.data, problem.logits, problem.projector)
    return unbatch(certificate(students, problem.w0)[2], problem.single)


def fit_distilled(
    data: ArrayLike,
    teacher: Teacher,
    w0: ArrayLike | None = None,
    *,
    method: str = "auto",
    tol: ArrayLike | None = None,
    rtol: float = 1e-9,
    max_iter: int = 20_000,
    check_every: int = 10,
    newton_iter: int = 100,
    finish: bool = True,
) -> TrainingResult:
    """The distilled linear student's certified limit ``ŵ = P w*/T + P⊥ w_0`` (module docstring).

    ``auto``: closed form, certified; students the certificate refuses are refined by at most
    ``newton_iter`` damped Newton steps in ``w_0 + span X`` and certified again. ``gd``: batched
    gradient descent (step ``1/L_max``, at most ``max_iter`` steps, checked every ``check_every``)
    in cache-sized chunks, then — when ``finish`` — Newton for the students it left. Students
    still refused come back with ``converged=False``.

    >>> from kdverify.training.teacher import Teacher
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> result = fit_distilled(X, Teacher([0.5, -0.25, 1.0]), w0=[0.0, 0.0, 3.0])
    >>> bool(result.converged), str(result.method), np.round(result.w, 6).tolist()
    (True, 'closed form', [0.5, -0.25, 3.0])
    """
    method = _check_method(method)
    teacher = _check_teacher(teacher)
    max_iter = positive_int("max_iter", max_iter, min_value=0)
    check_every = positive_int("check_every", check_every)
    newton_iter = positive_int("newton_iter", newton_iter, min_value=0)
    if method == "auto":
        return _auto_distilled(data, teacher, w0, tol=tol, rtol=rtol, newton_iter=newton_iter)
    # Literal GD: validation, projector and default tolerance are computed per chunk by
    # gradient_descent itself (one SVD per problem, as in a plain batched GD run).
    points = as_data("data", data, dim=teacher.dim, batched=True)
    single = points.ndim == 2
    points = points[None] if single else points
    batch, dim = points.shape[:2]
    logits = teacher.logits(points)
    start = np.zeros((batch, dim))
    if w0 is not None:
        given = as_float_array("w0", w0, ndim=(1, 2))
        if given.shape not in ((dim,), (batch, dim)):
            raise InvalidArgument(f"w0 has shape {given.shape}, but the data need ({dim},) or ({batch}, {dim}).")
        start = np.array(np.broadcast_to(given, (batch, dim)))
    tolerance = None if tol is None else resolve_tolerance(tol, rtol, np.zeros(batch))
    w, bound, limit_tol = np.empty((batch, dim)), np.empty(batch), np.empty(batch)
    converged, iterations = np.zeros(batch, dtype=bool), np.zeros(batch, dtype=np.int64)
    size = chunk_size(dim, points.shape[2])
    for first in range(0, batch, size):
        part = slice(first, first + size)
        result = gradient_descent(
            points[part],
            logits[part],
            start[part],
            tol=None if tolerance is None else tolerance[part],
            rtol=rtol,
            max_iter=max_iter,
            check_every=check_every,
        )
        w[part], bound[part], limit_tol[part] = result.w, result.bound, result.tol
        converged[part], iterations[part] = result.converged, result.iterations
    labels = np.full(batch, GRADIENT_DESCENT, dtype=object)
    left = np.flatnonzero(~converged)
    if left.size and finish and newton_iter > 0:
        refined = newton_refine(
            points[left], logits[left], w[left], start[left], tol=limit_tol[left], max_iter=newton_iter
        )
        w[left], bound[left], converged[left] = refined.w, refined.bound, refined.converged
        iterations[left] += refined.iterations
        labels[left] = labels[left] + NEWTON
    return _distilled_result(w, bound, limit_tol, converged, labels, iterations, single)


def _auto_distilled(
    data: ArrayLike, teacher: Teacher, w0: ArrayLike | None, *, tol: ArrayLike | None, rtol: float, newton_iter: int
) -> TrainingResult:
    """Closed form, certificate, Newton for what it refuses (module docstring)."""
    problem = prepare(data, teacher.logits(data), w0)
    if problem.data.shape[1] != teacher.dim:
        raise InvalidArgument(f"data have dimension {problem.data.shape[1]}, the teacher {teacher.dim}.")
    # No check_interpolable: the targets are the teacher's logits Xᵀ(w*/T), interpolable by
    # construction (that check is for target logits given by a caller; the "gd" route still runs it).
    tolerance = resolve_tolerance(tol, rtol, limit_norm(problem))
    batch = problem.data.shape[0]
    start = problem.w0
    iterations = np.zeros(batch, dtype=np.int64)
    projector = problem.projector
    w = _closed_form(projector, teacher, start)
    certificate = Certificate.build(problem.data, problem.logits, projector)
    bound = certificate(w, start)[2]
    converged = bound <= tolerance
    labels = np.full(batch, CLOSED_FORM, dtype=object)
    left = np.flatnonzero(~converged)
    if left.size and newton_iter > 0:
        refined = newton_refine(
            problem.data[left], problem.logits[left], w[left], start[left], tol=tolerance[left], max_iter=newton_iter
        )
        w[left], bound[left], converged[left] = refined.w, refined.bound, refined.converged
        iterations[left] += refined.iterations
        labels[left] = labels[left] + NEWTON
    return _distilled_result(w, bound, tolerance, converged, labels, iterations, problem.single)


def _distilled_result(
    w: FloatArray,
    bound: FloatArray,
    tolerance: FloatArray,
    converged: NDArray[np.bool_],
    labels: NDArray[np.object_],
    iterations: NDArray[np.int64],
    single: bool,
) -> TrainingResult:
    return TrainingResult.from_batch(
        w=w,
        bound=bound,
        tol=tolerance,
        converged=converged,
        method=labels,
        iterations=iterations,
        single=single,
        student="distilled",
        certificate="‖w − ŵ‖ ≤ bound: span_error_bound + ‖P⊥(w − w0)‖ + ‖P − P̃‖·‖w − w0‖",
    )


def _closed_form(projector: SpanProjector, teacher: Teacher, start: FloatArray) -> FloatArray:
    """``P w*/T + P⊥ w_0`` for every problem (its certificate is checked by the caller)."""
    return projector.project(np.broadcast_to(teacher.target, start.shape)) + projector.complement(start)


def fit_hard_label(
    data: ArrayLike,
    teacher: Teacher,
    *,
    method: str = "auto",
    iterations: int = 2_000,
    check_every: int = 100,
) -> TrainingResult:
    """The hard-label student on the teacher's labels ``1[w*ᵀx > 0]``.

    ``auto``: its limit direction, the max-margin separator through the origin (Soudry et al.,
    2018), one least-distance program per training set, certified by its KKT residuals (``bound``
    is the largest residual over its rounding tolerance; a set the solver cannot certify raises, as
    :func:`~kdverify.training.max_margin` does). ``w`` is the unit direction. ``gd``: batched
    hard-label gradient descent from 0 for exactly ``iterations`` steps, in cache-sized chunks;
    ``w`` is the last iterate (not normalised), ``bound`` is ``inf`` and ``converged`` False (the
    loss has no minimiser, and GD approaches the direction only at the rate ``O(1/log k)``).
    """
    method = _check_method(method)
    teacher = _check_teacher(teacher)
    points = as_data("data", data, dim=teacher.dim, batched=True)
    single = points.ndim == 2
    points = points[None] if single else points
    labels = teacher.hard_labels(points)
    batch = points.shape[0]
    if method == "auto":
        w, bound = _max_margin_directions(points, 2.0 * labels - 1.0)
        converged = bound <= 1.0
        steps = np.zeros(batch, dtype=np.int64)
        tol = np.ones(batch)
        name, certificate = MAX_MARGIN, "max KKT residual / its rounding tolerance ≤ 1"
    else:
        iterations = positive_int("iterations", iterations)
        w = np.empty(points.shape[:2])
        size = chunk_size(*points.shape[1:])
        for first in range(0, batch, size):
            part = slice(first, first + size)
            w[part] = hard_label_descent(points[part], labels[part], iterations=iterations, check_every=check_every).w
        bound, tol = np.full(batch, np.inf), np.full(batch, np.inf)
        converged = np.zeros(batch, dtype=bool)
        steps = np.full(batch, iterations, dtype=np.int64)
        name, certificate = HARD_GD, "none: the hard-label loss has no minimiser"
    return TrainingResult.from_batch(
        w=w,
        bound=bound,
        tol=tol,
        converged=converged,
        method=name,
        iterations=steps,
        single=single,
        student="hard",
        certificate=certificate,
    )


def _max_margin_directions(points: FloatArray, signs: FloatArray) -> tuple[FloatArray, FloatArray]:
    """:func:`~kdverify.training.max_margin`'s directions and KKT residual ratios for a batch: the
    same least-distance program (one NNLS per set, on the data rescaled by a power of two) and the
    same KKT check, with the per-set bookkeeping vectorised. A set that fails any of
    :func:`max_margin`'s checks is handed to :func:`max_margin` itself, which raises its error."""
    batch, dim, n = points.shape
    _, shifts = np.frexp(np.max(np.abs(points), axis=(1, 2)))
    scaled = np.ldexp(points, -shifts[:, None, None]) * signs[:, None, :]  # columns y_i x_i
    system = np.concatenate([scaled, np.ones((batch, 1, n))], axis=1)
    target = np.zeros(dim + 1)
    target[-1] = 1.0
    u = np.stack([nnls(system[b], target)[0] for b in range(batch)])
    total = np.sum(u, axis=-1)
    weights = np.where(total[:, None] > 0, u / np.where(total > 0, total, 1.0)[:, None], u)
    nearest = np.matmul(scaled, weights[..., None])[..., 0]
    distance2 = np.einsum("bd,bd->b", nearest, nearest)
    lengths = np.sqrt(np.einsum("bdn,bdn->bn", scaled, scaled))
    resolution = 100.0 * (dim + n) * EPS * np.max(lengths, axis=-1)
    separable = np.sqrt(distance2) > resolution
    safe = np.where(separable, distance2, 1.0)
    w, multipliers = nearest / safe[:, None], weights / safe[:, None]
    margins = np.matmul(w[:, None, :], scaled)[:, 0]
    norm = np.linalg.norm(w, axis=-1)
    feasibility = np.maximum(0.0, np.max(1.0 - margins, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN on a failed set: it goes to max_margin
        complementarity = np.max(multipliers * np.abs(margins - 1.0), axis=-1) / np.sum(multipliers, axis=-1)
        stationarity = np.linalg.norm(w - np.matmul(scaled, multipliers[..., None])[..., 0], axis=-1) / norm
    tolerance = 100.0 * (dim + n) * EPS * np.maximum(1.0, np.max(lengths, axis=-1) * norm)
    residual = np.maximum(np.maximum(feasibility, complementarity), stationarity)
    with np.errstate(over="ignore", under="ignore"):
        back_w = np.ldexp(w, -shifts[:, None])
        back_multipliers = np.ldexp(multipliers, -2 * shifts[:, None])
    lost = np.any((multipliers > 0) & ~((back_multipliers > 0) & np.isfinite(back_multipliers)), axis=-1)
    good = (
        separable
        & (np.min(margins, axis=-1) > 0)
        & (tolerance < 0.5)
        & (residual <= tolerance)
        & np.all(np.isfinite(back_w), axis=-1)
        & ~lost
    )
    for b in np.flatnonzero(~good):  # raises max_margin's error for this set (or certifies it)
        result = max_margin(points[b], signs[b])
        w[b], norm[b] = result.w, np.linalg.norm(result.w)
        residual[b] = max(result.feasibility_residual, result.complementarity_residual, result.stationarity_residual)
        tolerance[b] = result.tolerance
    return w / norm[:, None], residual / tolerance


def fit_deep(
    data: ArrayLike,
    teacher: Teacher,
    *,
    method: str = "auto",
    widths: tuple[int, ...] | None = None,
    scale: float = 0.01,
    balanced: bool = False,
    rng: np.random.Generator,
    rtol: float = 1e-6,
    max_iter: int = 50_000,
) -> TrainingResult:
    """Deep linear students ``w = (W_N⋯W_1)ᵀ``, hidden widths ``widths`` (default ``(d,)``), from a
    fresh small (or ``balanced``) initialisation of scale ``scale`` drawn from ``rng`` per set.

    ``auto`` is gradient descent here: the deep limit ``P w*/T + P⊥ W_1(0)ᵀ v_∞`` depends on the
    path through ``v_∞``, so there is no closed form, and no faster route is known whose iterates
    keep the layers' off-span part where gradient descent keeps it. ``bound`` is the deep solver's
    certificate ``span_bound + ‖v‖·first_layer_drift`` on ``‖w − deep_limit(v)‖``; ``converged``
    means ``span_bound ≤ tol`` (default ``rtol·max(1, ‖P w*/T‖)``) within ``max_iter`` steps.
    """
    _check_method(method)
    teacher = _check_teacher(teacher)
    positive_float("scale", scale)
    problem = prepare(data, teacher.logits(data), None)
    dim = problem.data.shape[1]
    if dim != teacher.dim:
        raise InvalidArgument(f"data have dimension {dim}, the teacher {teacher.dim}.")
    widths = widths or (dim,)
    init = balanced_init if balanced else small_init
    batch = problem.data.shape[0]
    w = np.empty((batch, dim))
    bound, tol = np.empty(batch), np.empty(batch)
    converged = np.zeros(batch, dtype=bool)
    steps = np.zeros(batch, dtype=np.int64)
    for b in range(batch):
        layers = init(dim, widths, scale=scale, rng=rng)
        result = train_deep_distilled(problem.data[b], teacher, layers, max_iter=max_iter, rtol=rtol)
        w[b], converged[b], steps[b], tol[b] = result.w, result.converged, result.iterations, result.tol
        bound[b] = result.span_bound + np.linalg.norm(result.upper_product) * result.first_layer_drift
    return TrainingResult.from_batch(
        w=w,
        bound=bound,
        tol=tol,
        converged=converged,
        method=DEEP_GD,
        iterations=steps,
        single=problem.single,
        student="deep",
        certificate="‖w − deep_limit(v)‖ ≤ span_bound + ‖v‖·first_layer_drift (converged: span_bound ≤ tol)",
    )


SOFTMAX_GD = "softmax gradient descent"


def fit_softmax(
    data: ArrayLike,
    teacher: SoftmaxTeacher,
    w0: ArrayLike | None = None,
    *,
    method: str = "auto",
    tol: ArrayLike | None = None,
    rtol: float = 1e-9,
    step_fraction: float = 1.0,
    max_iter: int = 20_000,
    check_every: int = 10,
    newton_iter: int = 50,
    finish: bool = True,
) -> TrainingResult:
    """The softmax student's certified limit (THEORY.md §8.1), for one set ``(d, n)`` or a batch.

    ``auto``: the closed form ``P W*C/T + P W_011ᵀ/K + P⊥W_0``, certified; students the certificate
    refuses get at most ``newton_iter`` damped Newton steps in ``W_0 + span X`` (rows summing as
    ``W_0``'s). ``gd``: batched literal gradient descent (step ``step_fraction·2n/λ_max(XXᵀ)``, at
    most ``max_iter`` steps, certified every ``check_every``), then Newton for what it leaves when
    ``finish``. The certificate (:func:`~kdverify.training.softmax.softmax_certificate`, which does not
    use the closed form) decides: ``converged`` means ``bound ≤ tol``, default
    ``rtol·max(1, ‖W_∞‖_F)``. ``w`` is ``(B, d, K)`` (``(d, K)`` for one set).

    >>> result = fit_softmax(np.eye(3)[:, :2], SoftmaxTeacher(np.eye(3)), method="gd")
    >>> bool(result.converged), str(result.method), np.round(result.w, 3).tolist()[2]
    (True, 'softmax gradient descent', [0.0, 0.0, 0.0])
    """
    method = _check_method(method)
    if not isinstance(teacher, SoftmaxTeacher):
        raise InvalidArgument(f"teacher={teacher!r} must be a kdverify.training.softmax.SoftmaxTeacher.")
    newton_iter = positive_int("newton_iter", newton_iter, min_value=0)
    points = as_data("data", data, dim=teacher.dim, batched=True)
    single = points.ndim == 2
    points = points[None] if single else points
    shape = (points.shape[0], teacher.dim, teacher.classes)
    start = broadcast_start(w0, shape)
    limit = softmax_limit(points, teacher, start)
    tolerance = resolve_tolerance(tol, rtol, np.sqrt(np.sum(limit**2, axis=(-2, -1))))
    if method == "auto":
        w, iterations = limit, np.zeros(shape[0], dtype=np.int64)
        bound = softmax_certificate(w, start, points, teacher, span_projector(points))
        labels = np.full(shape[0], CLOSED_FORM, dtype=object)
    else:
        run = softmax_descent(
            points, teacher, start, tolerance, step_fraction=step_fraction, max_iter=max_iter, check_every=check_every
        )
        w, bound, iterations = run.w, run.bound, run.iterations
        labels = np.full(shape[0], SOFTMAX_GD, dtype=object)
    left = np.flatnonzero(~(bound <= tolerance))
    if left.size and newton_iter > 0 and (finish or method == "auto"):
        refined = softmax_newton(points[left], teacher, w[left], start[left], tolerance[left], max_iter=newton_iter)
        w[left], bound[left] = refined.w, refined.bound
        iterations[left] += refined.iterations
        labels[left] = labels[left] + NEWTON
    return TrainingResult.from_batch(
        w=w,
        bound=bound,
        tol=tolerance,
        converged=bound <= tolerance,
        method=labels,
        iterations=iterations,
        single=single,
        student="softmax",
        certificate="‖W − W_∞‖_F ≤ ‖XᵀWC − XᵀW*C/T‖/σ_min⁺ + ‖P⊥(W − W0)‖ + ‖(W − W0)1‖/√K + rounding",
    )

Fit = Callable[[FloatArray, FloatArray], ArrayLike]
"""A user's trainer: data ``X`` ``(d, n)`` and soft targets ``σ(w*ᵀx_i/T)`` ``(n,)`` to weights ``(d,)``."""


@dataclass(frozen=True)
class UserTrainer:
    """A user's distilled linear student, checked against the theory by
    :func:`kdverify.testing.parametrize_with_claims`.

    ``fit(X, targets)`` trains from ``w_0 = 0`` on data ``X`` ``(d, n)`` (points are columns) with
    the teacher's soft targets ``σ(w*ᵀx_i/T)`` ``(n,)`` and returns the weights ``(d,)``. ``rtol`` is
    how close to the limit it promises to get, ``‖w − ŵ‖ ≤ rtol·max(1, ‖w‖)``: the distance the claims
    about the trained student allow it (``optimization-bias-linear`` tests that very promise).

    >>> trainer = UserTrainer(lambda X, targets: np.zeros(X.shape[0]), rtol=1e-6)
    >>> fit_user(trainer, np.eye(2), Teacher([1.0, 0.0])).w.tolist()
    [0.0, 0.0]
    """

    fit: Fit
    rtol: float = 1e-6

    def __post_init__(self) -> None:
        if not callable(self.fit):
            raise InvalidArgument(f"fit={self.fit!r} must be callable as fit(X, targets) -> weights.")
        positive_float("rtol", self.rtol)

    @property
    def name(self) -> str:
        """The trainer's name for reports: its function's name."""
        return str(getattr(self.fit, "__name__", type(self.fit).__name__))


def fit_user(trainer: UserTrainer, data: ArrayLike, teacher: Teacher) -> TrainingResult:
    """Train ``trainer`` on one set ``(d, n)`` or each set of a batch ``(B, d, n)``; ``bound`` is the
    distance to the limit the trainer promises (``rtol·max(1, ‖w‖)``), not a certificate, plus
    :func:`_target_rounding` (no trainer can do better from float targets); a set whose targets round
    to 0 or 1 is ``converged=False``. A student that is not a finite ``(d,)`` vector is refused with
    a message saying what came back."""
    teacher = _check_teacher(teacher)
    batch = as_data("data", data, batched=True)
    single = batch.ndim == 2
    batch = batch[None] if single else batch
    students = []
    for X in batch:
        w = np.asarray(trainer.fit(X, teacher.soft_labels(X)), dtype=np.float64)
        if w.shape != (X.shape[0],) or not np.all(np.isfinite(w)):
            raise InvalidArgument(
                f"trainer {trainer.name} returned weights of shape {w.shape} ({np.sum(~np.isfinite(w))} not finite); "
                f"expected a finite vector of shape ({X.shape[0]},) for data of shape {X.shape}."
            )
        students.append(w)
    w = np.array(students)
    rounding = np.array([_target_rounding(X, teacher) for X in batch])
    bound = trainer.rtol * np.maximum(1.0, np.linalg.norm(w, axis=1)) + rounding
    count = len(w)
    return TrainingResult.from_batch(
        w=w,
        bound=bound,
        tol=bound,
        converged=np.isfinite(bound),
        method=USER,
        iterations=np.zeros(count, dtype=np.int64),
        single=single,
        student=f"user trainer {trainer.name}",
        certificate=f"declared by the trainer: ‖w − ŵ‖ ≤ {trainer.rtol:g}·max(1, ‖w‖), plus float targets' rounding",
    )


def _target_rounding(data: FloatArray, teacher: Teacher) -> float:
    """How far from ``ŵ`` a trainer that fits the float soft targets ``t̃ = fl(σ(z*))`` in float64 may
    end, however exact its method: ``σ(z)`` and ``t̃`` are only resolved to ``spacing(t̃)``, so ``z_i`` is
    only placed within ``2·spacing(t̃_i)/σ'(z*_i)`` (plus ``8 eps(1 + |z*_i|)`` for forming it), which
    ``σ_min⁺(X)`` (a lower bound) turns into a distance. Negligible at moderate logits, ``1.6·10⁻⁴``
    in logit at ``z* = 28`` (THEORY.md §6: flat logits); ``inf`` when a target rounds to 0 or 1."""
    logits, targets = teacher.logits(data), teacher.soft_labels(data)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.linalg.norm(2 * np.spacing(targets) / (targets * (1 - targets)) + 8 * EPS * (1 + np.abs(logits)))
    lower = float(span_projector(data).smallest_singular_lower_bound)
    return float(gap / lower) if lower > 0 and np.isfinite(gap) else np.inf
