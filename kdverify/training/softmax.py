"""The softmax student of THEORY.md §8.1: loss, gradient, literal batched gradient descent, damped
Newton in the span, the closed-form limit and the a-posteriori certificate every route ends with.

Student ``W ∈ R^{d×K}``, teacher ``W*``, soft labels ``S = softmax(XᵀW*/T)`` row-wise, loss
``L(W) = (1/n) Σ_i [logsumexp(Wᵀx_i) − s_iᵀWᵀx_i]``, gradient ``∇L = X(softmax(XᵀW) − S)/n``.

Certificate (independent of the closed form). Gradient descent keeps ``W`` in the affine set
``A = W_0 + {D : columns in span X, D1 = 0}`` (the columns of ``∇L`` lie in ``span X`` and
``∇L·1 = 0``). ``L`` depends on ``W ∈ A`` only through ``XᵀW``, and is minimal exactly where
``softmax(XᵀW) = S`` row-wise, that is where the *centred* logits agree: ``XᵀWC = XᵀW*C/T`` with
``C = I − 11ᵀ/K`` (softmax is invariant to shifting a row). Let ``W_∞`` be that point of ``A``
(unique: ``Xᵀ`` is injective on ``span X`` and ``C`` is the identity on ``{D1 = 0}``). For any
``W``, with ``P`` the projector onto ``span X``,

    ‖W − W_∞‖ ≤ ‖P⊥(W − W_0)‖ + ‖P(W − W_∞)C‖ + ‖P(W − W_∞)11ᵀ/K‖
             ≤ ‖P⊥(W − W_0)‖ + ‖XᵀWC − XᵀW*C/T‖/σ_min⁺ + ‖(W − W_0)1‖/√K

(Frobenius norms; ``P⊥W_∞ = P⊥W_0`` and ``W_∞1 = W_01`` because ``W_∞ ∈ A``; ``P(W − W_∞)C`` has
columns in ``span X`` where ``‖XᵀV‖ ≥ σ_min⁺‖V‖``). Rounding is added as in
:mod:`kdverify.training.limits`: ``σ̃_min⁺ − E`` for ``σ_min⁺``, ``γ`` terms for the computed products and
``‖P − P̃‖·‖W − W_0‖`` for the computed projector. The closed form is *not* used, so checking that
gradient descent lands within this bound of ``P W*C/T + P W_011ᵀ/K + P⊥W_0`` tests the formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kdverify._util.linalg import SpanProjector, span_projector
from kdverify._util.numerics import EPS
from kdverify._util.validation import FloatArray, as_data, as_float_array, positive_float, positive_int
from kdverify.errors import InvalidArgument
from kdverify.training._common import take
from kdverify.training.limits import _gamma

__all__ = [
    "SoftmaxRun",
    "SoftmaxTeacher",
    "broadcast_start",
    "logsumexp",
    "softmax",
    "softmax_certificate",
    "softmax_descent",
    "softmax_gradient",
    "softmax_limit",
    "softmax_loss",
    "softmax_newton",
]

MAX_CLASSES = 64


def logsumexp(z: FloatArray) -> FloatArray:
    """``log Σ_k e^{z_k}`` along the last axis, stably (the largest entry is factored out)."""
    top = np.max(z, axis=-1, keepdims=True)
    return top[..., 0] + np.log(np.sum(np.exp(z - top), axis=-1))


def softmax(z: FloatArray) -> FloatArray:
    """``e^{z_k} / Σ_j e^{z_j}`` along the last axis, stably."""
    shifted = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return shifted / np.sum(shifted, axis=-1, keepdims=True)


@dataclass(frozen=True)
class SoftmaxTeacher:
    """A linear softmax teacher ``W* ∈ R^{d×K}`` (``K ≥ 2`` classes) at temperature ``T > 0``.

    >>> teacher = SoftmaxTeacher([[1.0, 0.0, -1.0]], temperature=2.0)
    >>> np.round(teacher.soft_labels(np.array([[2.0]])), 4).tolist()
    [[0.6652, 0.2447, 0.09]]
    """

    w_star: FloatArray
    temperature: float = 1.0

    def __post_init__(self) -> None:
        w_star = as_float_array("w_star", self.w_star, ndim=2)
        if not 2 <= w_star.shape[1] <= MAX_CLASSES:
            raise InvalidArgument(
                f"w_star has shape {w_star.shape}: a softmax teacher needs 2 to {MAX_CLASSES} classes (columns)."
            )
        object.__setattr__(self, "w_star", w_star)
        object.__setattr__(self, "temperature", positive_float("temperature", self.temperature))

    @property
    def dim(self) -> int:
        return int(self.w_star.shape[0])

    @property
    def classes(self) -> int:
        return int(self.w_star.shape[1])

    def logits(self, data: FloatArray) -> FloatArray:
        """``XᵀW*/T``: shape ``(..., n, K)``."""
        return np.swapaxes(data, -1, -2) @ self.w_star / self.temperature

    def soft_labels(self, data: FloatArray) -> FloatArray:
        """``S = softmax(XᵀW*/T)`` row-wise."""
        return softmax(self.logits(data))

    def labels(self, data: FloatArray) -> NDArray[np.int64]:
        """``argmax_k (W*ᵀx)_k`` per point (``(..., n)``)."""
        return np.argmax(np.swapaxes(data, -1, -2) @ self.w_star, axis=-1)


def softmax_loss(w: FloatArray, data: FloatArray, targets: FloatArray) -> FloatArray:
    """``(1/n) Σ_i [logsumexp(Wᵀx_i) − s_iᵀWᵀx_i]`` per problem (``w`` ``(..., d, K)``)."""
    logits = np.swapaxes(data, -1, -2) @ w
    return np.mean(logsumexp(logits) - np.sum(targets * logits, axis=-1), axis=-1)


def softmax_gradient(w: FloatArray, data: FloatArray, targets: FloatArray) -> FloatArray:
    """``∇L(W) = X(softmax(XᵀW) − S)/n``, shape of ``w``."""
    return data @ (softmax(np.swapaxes(data, -1, -2) @ w) - targets) / data.shape[-1]


def _project(projector: SpanProjector, w: FloatArray) -> FloatArray:
    """``P W`` column by column."""
    return projector.basis @ (np.swapaxes(projector.basis, -1, -2) @ w)


def softmax_limit(
    data: ArrayLike, teacher: SoftmaxTeacher, w0: ArrayLike | None = None, *, projector: SpanProjector | None = None
) -> FloatArray:
    """THEORY.md §8.1's limit ``W_∞ = P W*C/T + P W_011ᵀ/K + P⊥W_0`` (``C = I − 11ᵀ/K``), for one
    data set ``(d, n)`` or a batch ``(B, d, n)``; ``w0`` ``(d, K)`` or ``(B, d, K)`` (0 when omitted)."""
    points = as_data("data", data, dim=teacher.dim, batched=True)
    projector = projector or span_projector(points)
    classes = teacher.classes
    centred = teacher.w_star - teacher.w_star.mean(axis=1, keepdims=True)
    shape = (*points.shape[:-2], teacher.dim, classes)
    limit = _project(projector, np.broadcast_to(centred / teacher.temperature, shape))
    if w0 is not None:
        start = broadcast_start(w0, shape)
        mean = np.broadcast_to(start.mean(axis=-1, keepdims=True), shape)
        limit = limit + _project(projector, mean) + start - _project(projector, start)
    return limit


def broadcast_start(w0: ArrayLike | None, shape: tuple[int, ...]) -> FloatArray:
    """An initialisation ``(d, K)`` or one per problem, broadcast to ``shape``."""
    if w0 is None:
        return np.zeros(shape)
    start = as_float_array("w0", w0, ndim=(2, 3))
    try:
        return np.array(np.broadcast_to(start, shape))
    except ValueError:
        raise InvalidArgument(f"w0 has shape {start.shape}, but the problem needs {shape[-2:]} or {shape}.") from None


def softmax_certificate(
    w: FloatArray, w0: FloatArray, data: FloatArray, teacher: SoftmaxTeacher, projector: SpanProjector
) -> FloatArray:
    """The certified bound on ``‖W − W_∞‖_F`` of the module docstring, per problem."""
    classes = teacher.classes
    moved = w - w0
    transposed = np.swapaxes(data, -1, -2)
    centred = w - w.mean(axis=-1, keepdims=True)
    target = transposed @ (teacher.w_star - teacher.w_star.mean(axis=1, keepdims=True)) / teacher.temperature
    residual = _norms(transposed @ centred - target)
    dim, n = data.shape[-2:]
    size = _norms(np.abs(transposed) @ np.abs(w)) + _norms(np.abs(transposed) @ np.abs(teacher.w_star)) / (
        teacher.temperature
    )
    rounding = _gamma(2 * dim + 2 * classes + 4) * 2 * size
    lower = projector.smallest_singular_lower_bound
    with np.errstate(divide="ignore", invalid="ignore"):
        span_part = (1 + _gamma(n + 2)) * (residual + rounding) / np.where(lower > 0, lower, 1)
    span_part = np.where(lower > 0, span_part, np.inf)
    off_span = _norms(moved - _project(projector, moved))
    mean_part = np.linalg.norm(moved.sum(axis=-1), axis=-1) / np.sqrt(classes) * (1 + _gamma(classes + 2))
    return span_part + off_span + mean_part + projector.subspace_error * _norms(moved)


def _norms(matrices: FloatArray) -> FloatArray:
    """Frobenius norms over the last two axes."""
    return np.sqrt(np.sum(matrices**2, axis=(-2, -1)))


@dataclass(frozen=True)
class SoftmaxRun:
    """A batch of softmax students ``w`` ``(B, d, K)`` with their certified ``bound`` on
    ``‖W − W_∞‖_F``, ``converged = bound ≤ tol``, the steps taken, and the largest invariant
    drifts measured over the checked iterates: ``off_span_max = max ‖P⊥(W_k − W_0)‖`` and
    ``row_sum_max = max ‖(W_k − W_0)1‖``."""

    w: FloatArray
    bound: FloatArray
    tol: FloatArray
    converged: NDArray[np.bool_]
    iterations: NDArray[np.int64]
    off_span_max: FloatArray
    row_sum_max: FloatArray


def _drifts(w: FloatArray, w0: FloatArray, projector: SpanProjector) -> tuple[FloatArray, FloatArray]:
    moved = w - w0
    return _norms(moved - _project(projector, moved)), np.linalg.norm(moved.sum(axis=-1), axis=-1)


def softmax_descent(
    data: FloatArray,
    teacher: SoftmaxTeacher,
    w0: FloatArray,
    tol: FloatArray,
    *,
    step_fraction: float = 1.0,
    max_iter: int = 20_000,
    check_every: int = 10,
) -> SoftmaxRun:
    """Literal gradient descent ``W ← W − η∇L(W)`` on a batch ``(B, d, n)`` from ``w0`` ``(B, d, K)``,
    step ``η = step_fraction/L`` with ``L = λ_max(XXᵀ)/(2n)`` (the Hessian of logsumexp has norm
    ``≤ 1/2``; safe for fractions in ``(0, 2)``). Every ``check_every`` steps each problem is
    certified and leaves the batch once ``bound ≤ tol``."""
    if not 0 < step_fraction < 2:
        raise InvalidArgument(f"step_fraction={step_fraction!r} must lie in (0, 2) for a safe step.")
    max_iter, check_every = positive_int("max_iter", max_iter, min_value=0), positive_int("check_every", check_every)
    projector = span_projector(data)
    targets = teacher.soft_labels(data)
    step = step_fraction * 2 * data.shape[-1] / projector.largest_eigenvalue
    w = np.array(w0, dtype=np.float64)
    batch = w.shape[0]
    bound = softmax_certificate(w, w0, data, teacher, projector)
    iterations = np.zeros(batch, dtype=np.int64)
    off_span_max, row_sum_max = np.zeros(batch), np.zeros(batch)
    active = np.flatnonzero(~(bound <= tol))
    done = 0
    while active.size and done < max_iter:
        part = data[active]
        steps = min(check_every, max_iter - done)
        current = w[active]
        for _ in range(steps):
            current = current - step[active, None, None] * softmax_gradient(current, part, targets[active])
        done += steps
        w[active] = current
        iterations[active] = done
        sub = take(projector, active)
        off, rows = _drifts(current, w0[active], sub)
        off_span_max[active] = np.maximum(off_span_max[active], off)
        row_sum_max[active] = np.maximum(row_sum_max[active], rows)
        bound[active] = softmax_certificate(current, w0[active], part, teacher, sub)
        active = active[~(bound[active] <= tol[active])]
    return SoftmaxRun(w, bound, tol, bound <= tol, iterations, off_span_max, row_sum_max)


STEP_LENGTHS = 0.5 ** np.arange(31)


def softmax_newton(
    data: FloatArray, teacher: SoftmaxTeacher, w: FloatArray, w0: FloatArray, tol: FloatArray, *, max_iter: int = 50
) -> SoftmaxRun:
    """Damped Newton steps, regularised by the gradient's norm, inside
    ``A = W_0 + {D : columns in span X, D1 = 0}`` from ``w`` (a point
    of ``A``, e.g. a gradient-descent iterate): ``D = U M Qᵀ`` with ``U`` an orthonormal basis of
    ``span X`` and ``Q`` one of ``1⊥ ⊂ R^K``, the reduced Hessian
    ``(1/n) Σ_i (Uᵀx_i x_iᵀU) ⊗ Qᵀ(diag p_i − p_ip_iᵀ)Q``, the best of ``1, 1/2, …`` on the loss.
    Iterates stay in ``A``, so the limit is gradient descent's (THEORY.md §6c). Problem by problem
    (it finishes the few a gradient-descent batch leaves)."""
    projector = span_projector(data)
    targets = teacher.soft_labels(data)
    classes = teacher.classes
    basis_1perp = np.linalg.qr(np.eye(classes) - 1.0 / classes)[0][:, : classes - 1]
    w = np.array(w, dtype=np.float64)
    bound = softmax_certificate(w, w0, data, teacher, projector)
    iterations = np.zeros(w.shape[0], dtype=np.int64)
    for b in np.flatnonzero(~(bound <= tol)):
        basis = projector.basis[b][:, : int(projector.rank[b])]
        reduced = basis.T @ data[b]
        n = data.shape[-1]
        for _ in range(max_iter):
            gradient = reduced @ (softmax(data[b].T @ w[b]) - targets[b]) @ basis_1perp / n
            probabilities = softmax(data[b].T @ w[b])
            curvature = np.einsum("ik,kl->ikl", probabilities, np.eye(classes)) - np.einsum(
                "ik,il->ikl", probabilities, probabilities
            )
            reduced_curvature = basis_1perp.T @ curvature @ basis_1perp
            hessian = np.einsum("ai,bi,ikl->akbl", reduced, reduced, reduced_curvature) / n
            size = gradient.size
            # Regularised by ‖g‖ (Levenberg): positive definite even where σ-like curvatures
            # underflow, and the full Newton step again as the gradient vanishes.
            damping = float(np.linalg.norm(gradient)) * np.eye(size)
            direction = -np.linalg.solve(hessian.reshape(size, size) + damping, gradient.reshape(size))
            change = basis @ direction.reshape(gradient.shape) @ basis_1perp.T
            trials = w[b] + STEP_LENGTHS[:, None, None] * change
            losses = softmax_loss(trials, data[b], targets[b])
            losses = np.where(np.isfinite(losses), losses, np.inf)
            current = float(softmax_loss(w[b], data[b], targets[b]))
            # Near the limit the loss cannot tell step lengths apart: take the longest whose loss
            # is within rounding of the best (the full Newton step once it is in the quadratic regime).
            slack = 16 * EPS * (n + classes) * max(1.0, abs(current))
            if not losses.min() <= current + slack:
                break  # no step length keeps the loss: Newton has nothing left to give
            w[b] = trials[int(np.argmax(losses <= losses.min() + slack))]
            iterations[b] += 1
            one = take(projector, np.array([b]))
            bound[b] = softmax_certificate(w[b][None], w0[b][None], data[b][None], teacher, one)[0]
            if bound[b] <= tol[b]:
                break
    off_span, rows = _drifts(w, w0, projector)
    return SoftmaxRun(w, bound, tol, bound <= tol, iterations, off_span, rows)

