"""Argument handling shared by the solvers: shapes, safe steps, tolerances.

Every solver works on a batch ``(B, d, n)``; a single problem is the batch of one, and
:func:`prepare` returns the flag that tells the caller to drop the batch axis again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kdverify._util.linalg import SpanProjector, span_projector
from kdverify._util.numerics import EPS
from kdverify._util.validation import FloatArray, as_data, as_float_array, as_real_array, positive_float
from kdverify.errors import InvalidArgument
from kdverify.training.limits import _gamma, span_error_bound


@dataclass(frozen=True)
class Problem:
    """A validated batch: data ``(B, d, n)``, target logits ``(B, n)`` (or ``None`` for hard
    labels), initial points ``(B, d)``, the span projector and ``L_max`` per problem."""

    data: FloatArray
    target_logits: FloatArray | None
    w0: FloatArray
    projector: SpanProjector
    smoothness: FloatArray
    single: bool

    @property
    def logits(self) -> FloatArray:
        """The target logits; hard-label problems have none (their loss has no minimiser)."""
        if self.target_logits is None:
            raise InvalidArgument("this problem has hard labels, so it has no target logits or limit.")
        return self.target_logits

    @property
    def n(self) -> int:
        """Number of training points per problem."""
        return int(self.data.shape[-1])


def prepare(
    data: ArrayLike, target_logits: ArrayLike | None, w0: ArrayLike | None
) -> Problem:
    """Validate shapes and values and build the projector and ``L_max = λ_max(XXᵀ)/(4n)``."""
    data = as_data("data", data, batched=True)
    single = data.ndim == 2
    data = data[None] if single else data
    batch, dim, n = data.shape
    logits = None
    if target_logits is not None:
        logits = as_float_array("target_logits", target_logits, ndim=(1, 2))
        if logits.shape[-1] != n or (logits.ndim == 2 and logits.shape[0] != batch):
            raise InvalidArgument(
                f"target_logits has shape {logits.shape}, but the data have {n} points per "
                f"problem (expected ({n},) or ({batch}, {n}))."
            )
        logits = np.array(np.broadcast_to(logits, (batch, n)))
    start = np.zeros((batch, dim))
    if w0 is not None:
        w0 = as_float_array("w0", w0, ndim=(1, 2))
        if w0.shape[-1] != dim or (w0.ndim == 2 and w0.shape[0] != batch):
            raise InvalidArgument(
                f"w0 has shape {w0.shape}, but the data have dimension {dim} "
                f"(expected ({dim},) or ({batch}, {dim}))."
            )
        start = np.array(np.broadcast_to(w0, (batch, dim)))
    projector = span_projector(data)
    empty = np.flatnonzero(projector.rank == 0)
    if empty.size:
        raise InvalidArgument(
            f"data problem {int(empty[0])} has only zero columns; training needs a nonzero point."
        )
    values = projector.singular_values
    extremes = np.stack([values[..., 0], np.min(np.where(values > projector.tolerance[..., None], values, np.inf), -1)])
    with np.errstate(over="ignore", under="ignore"):
        squares = extremes**2
    outside = np.flatnonzero(np.any(~np.isfinite(squares) | (squares < np.finfo(np.float64).tiny), axis=0))
    if outside.size:
        b = int(outside[0])
        raise InvalidArgument(
            f"data problem {b} has singular values up to {projector.singular_values[b, 0]:.3g}, whose squares "
            "(the curvature λ(XXᵀ) that sets the step) leave the float64 range; rescale the data."
        )
    smoothness = projector.largest_eigenvalue / (4 * n)
    return Problem(data, logits, start, projector, smoothness, single)


def check_interpolable(problem: Problem) -> None:
    """Reject target logits outside the range of ``Xᵀ``: the certificate needs a ``ŵ`` with
    ``Xᵀŵ = z*`` (true for teacher logits ``Xᵀw*/T``; false e.g. for a duplicated point with two
    different targets, where the loss minimiser does not interpolate).

    The residual ``z* − VVᵀz*`` (``V = XᵀU S⁻¹`` the right singular vectors) is rounding-level,
    about ``(d + n)·eps·κ⁺·‖z*‖``, for consistent logits; a factor 100 leaves room.
    """
    projector = problem.projector
    kept = projector.singular_values > projector.tolerance[..., None]
    inverse = np.where(kept, 1.0 / np.where(kept, projector.singular_values, 1.0), 0.0)
    right = np.einsum("bdn,bdk,bk->bnk", problem.data, projector.basis, inverse)
    logits = problem.logits
    residual = np.linalg.norm(logits - np.einsum("bnk,bmk,bm->bn", right, right, logits), axis=-1)
    smallest = np.min(np.where(kept, projector.singular_values, np.inf), axis=-1)
    condition = projector.singular_values[..., 0] / smallest
    allowed = 100 * sum(problem.data.shape[1:]) * EPS * condition * np.linalg.norm(logits, axis=-1)
    bad = np.flatnonzero(residual > allowed)
    if bad.size:
        b = int(bad[0])
        raise InvalidArgument(
            f"target_logits of problem {b} are not Xᵀv for any v (residual {residual[b]:.3g} > "
            f"{allowed[b]:.3g}); the certificate needs interpolable targets such as Xᵀw*/T."
        )


def _per_problem(name: str, value: ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    """A scalar or one value per problem of the batch, as an array of ``shape``."""
    array = as_real_array(name, value)
    if array.shape not in ((), (1,), shape):
        raise InvalidArgument(f"{name} has shape {array.shape}; give one number or one per problem {shape}.")
    return np.broadcast_to(array.reshape(()) if array.size == 1 else array, shape)


def resolve_step(step: ArrayLike | None, smoothness: FloatArray) -> FloatArray:
    """Step per problem: ``1/L_max`` by default; a given step must lie in ``(0, 2/L_max)``."""
    if step is None:
        return 1.0 / smoothness
    values = _per_problem("step", step, smoothness.shape)
    bad = np.flatnonzero(~((values > 0) & (values * smoothness < 2)))
    if bad.size:
        b = int(bad[0])
        raise InvalidArgument(
            f"step={float(values[b])!r} is unsafe for problem {b}: it must lie in (0, 2/L_max) = "
            f"(0, {2 / smoothness[b]:.6g}), L_max = λ_max(XXᵀ)/(4n) = {smoothness[b]:.6g}."
        )
    return np.array(values)


def limit_norm(problem: Problem) -> FloatArray:
    """``‖ŵ‖ = ‖P w*/T + P⊥ w_0‖`` from the projector's SVD, without a second factorisation.

    ``P w*/T`` is the minimum-norm solution of ``Xᵀv = z*``: with ``X = U S Vᵀ`` it is
    ``U S⁻¹ Vᵀ z* = U S⁻² Uᵀ X z*`` (since ``Vᵀ = S⁻¹ Uᵀ X``), over the singular values kept.
    """
    projector = problem.projector
    kept = projector.singular_values > projector.tolerance[..., None]
    inverse_squares = np.where(kept, 1.0 / np.where(kept, projector.singular_values, 1.0) ** 2, 0.0)
    pulled = np.einsum("bdn,bn->bd", problem.data, problem.logits)
    coefficients = inverse_squares * np.einsum("bdk,bd->bk", projector.basis, pulled)
    outside = projector.complement(problem.w0)
    return np.sqrt(np.sum(coefficients**2, axis=-1) + np.sum(outside**2, axis=-1))


def resolve_tolerance(tol: ArrayLike | None, rtol: float, scale: FloatArray) -> FloatArray:
    """Absolute tolerance per problem: ``tol`` if given, else ``rtol·max(1, scale)``."""
    if tol is None:
        return positive_float("rtol", rtol) * np.maximum(1.0, scale)
    values = _per_problem("tol", tol, scale.shape)
    if not np.all(np.isfinite(values) & (values > 0)):
        raise InvalidArgument(f"tol={tol!r} must be a finite number > 0 (or one per problem).")
    return np.array(values)


def unbatch(value: NDArray, single: bool) -> NDArray:
    """Drop the batch axis of a one-problem result (a scalar field becomes a 0-d numpy scalar)."""
    return value[0] if single else value


def take(projector: SpanProjector, keep: NDArray[np.bool_] | NDArray[np.int64] | int) -> SpanProjector:
    """The projectors of the problems selected by ``keep``: a mask when a batch shrinks, indices
    of a subset, or an index for one problem."""
    return SpanProjector(
        basis=projector.basis[keep],
        singular_values=projector.singular_values[keep],
        rank=projector.rank[keep],
        tolerance=projector.tolerance[keep],
        perturbation=projector.perturbation[keep],
    )


def certify(
    w: FloatArray, w0: FloatArray, data: ArrayLike, logits: FloatArray | None, projector: SpanProjector
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``span_bound`` (certifies ``‖P(w − ŵ)‖``; ``inf`` without target logits), the measured
    ``off_span = ‖P̃⊥(w − w_0)‖`` and ``bound``, which certifies ``‖w − ŵ‖``:

        ‖w − ŵ‖ ≤ ‖P(w − ŵ)‖ + ‖P⊥(w − w_0)‖ ≤ span_bound + off_span + ‖P − P̃‖·‖w − w_0‖,

    the last term covering the rounding of the computed projector ``P̃``.
    """
    moved = w - w0
    off_span = np.linalg.norm(projector.complement(moved), axis=-1)
    if logits is None:
        span_bound = np.full(off_span.shape, np.inf)
    else:
        span_bound = span_error_bound(w, data, logits, projector=projector)
    bound = span_bound + off_span + projector.subspace_error * np.linalg.norm(moved, axis=-1)
    return span_bound, off_span, bound


@dataclass(frozen=True)
class Certificate:
    """:func:`certify` for a batch ``(B, d, n)`` with its per-problem constants computed once, so
    that checking an iterate costs four stacked matrix–vector products and a few norms.

    The formula is :func:`~kdverify.training.limits.span_error_bound`'s, evaluated on the same quantities
    (``(1 + γ_{n+2})(‖Xᵀw − z*‖ + γ_{2d+2}‖|X|ᵀ|w|‖) / (σ̃_min⁺ − E)``), plus the same off-span and
    projector-rounding terms; only the order of the sums inside the products differs, which the
    ``γ`` terms cover. ``negated = −Xᵀ`` is also what a gradient step needs (``σ(z) = 1/(1 + e^{−z})``).
    """

    negated: FloatArray
    magnitude: FloatArray
    basis: FloatArray
    basis_t: FloatArray
    logits: FloatArray | None
    lower: FloatArray
    subspace_error: FloatArray

    @classmethod
    def build(cls, data: FloatArray, logits: FloatArray | None, projector: SpanProjector) -> Certificate:
        """The constants for ``data`` ``(B, d, n)`` and its projector."""
        transposed = np.swapaxes(data, -1, -2)
        return cls(
            negated=np.ascontiguousarray(-transposed),
            magnitude=np.ascontiguousarray(np.abs(transposed)),
            basis=np.ascontiguousarray(projector.basis),
            basis_t=np.ascontiguousarray(np.swapaxes(projector.basis, -1, -2)),
            logits=logits,
            lower=projector.smallest_singular_lower_bound,
            subspace_error=projector.subspace_error,
        )

    def take(self, keep: NDArray[np.bool_] | NDArray[np.int64]) -> Certificate:
        """The constants of the problems selected by ``keep`` (a mask or indices)."""
        kept: dict[str, Any] = {name: None if value is None else value[keep] for name, value in vars(self).items()}
        return Certificate(**kept)

    def __call__(self, w: FloatArray, w0: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(span_bound, off_span, bound)`` of the iterates ``w`` ``(B, d)``, as :func:`certify`."""
        moved = w - w0
        off = moved - np.matmul(self.basis, np.matmul(self.basis_t, moved[..., None]))[..., 0]
        off_span = _norms(off)
        if self.logits is None:
            span_bound = np.full(off_span.shape, np.inf)
        else:
            n, dim = self.negated.shape[-2:]
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                residual = np.matmul(self.negated, w[..., None])[..., 0]
                residual += self.logits
                size = np.matmul(self.magnitude, np.abs(w)[..., None])[..., 0]
                numerator = (1 + _gamma(n + 2)) * (_norms(residual) + _gamma(2 * dim + 2) * _norms(size))
                span_bound = numerator / self.lower
            if not np.all(self.lower > 0):
                span_bound = np.where(self.lower > 0, span_bound, np.inf)
        bound = span_bound + off_span + self.subspace_error * _norms(moved)
        return span_bound, off_span, bound


@dataclass(frozen=True)
class Objective:
    """One problem's ``−Xᵀ``, ``X/n`` and ``X`` with its targets, so that ``∇L`` and ``∇²L`` are a
    few small products: solvers that step one small problem tens of thousands of times (the deep
    student, the flow's integrator) would spend more on :mod:`kdverify.training.losses`' argument checks
    than on the arithmetic. The caller has validated the data once (:func:`prepare`)."""

    negated: FloatArray
    scaled: FloatArray
    data: FloatArray
    targets: FloatArray

    @classmethod
    def build(cls, data: FloatArray, targets: FloatArray) -> Self:
        """The constants of ``data`` ``(d, n)`` and ``targets`` ``(n,)``."""
        return cls(np.ascontiguousarray(-data.T), np.ascontiguousarray(data / data.shape[1]), data, targets)

    def gradient(self, w: FloatArray) -> FloatArray:
        """``∇L(w) = (X/n)(σ(Xᵀw) − t)`` with ``σ(z) = 1/(1 + e^{−z})``, as the batched engine
        computes it: ``e^{−z}`` may overflow to ``inf``, giving ``σ = 0`` as it should (callers
        silence that warning once around their loops, ``np.errstate`` costs as much as a step)."""
        residual = np.exp(self.negated @ w)
        residual += 1.0
        np.reciprocal(residual, out=residual)
        residual -= self.targets
        return self.scaled @ residual

    def hessian(self, w: FloatArray) -> FloatArray:
        """``∇²L(w) = (X/n) diag(σ'(Xᵀw)) Xᵀ`` with ``σ'(z) = e^{−|z|}/(1 + e^{−|z|})²``."""
        decay = np.exp(-np.abs(self.negated @ w))  # never overflows
        return (self.scaled * (decay / (1.0 + decay) ** 2)) @ self.data.T


def _norms(vectors: FloatArray) -> FloatArray:
    """Euclidean norms along the last axis (one C call; NaN and inf propagate)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.sqrt(np.einsum("...i,...i->...", vectors, vectors))
