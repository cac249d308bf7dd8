"""Damped Newton steps inside ``w_0 + span X``: the same limit as gradient descent, reached in a
few dozen steps where gradient descent crawls (THEORY.md §6: near ``n = d`` or with large logits).

THEORY.md §6(c): any method whose iterates stay in ``w_0 + span X`` has the limit of gradient
descent, so it may be used where only the limit matters. The Newton direction
``Δ = −(UᵀHU)^{-1}Uᵀ∇L`` (``U`` an orthonormal basis of ``span X``) lies in ``span X``; the step
length is the best of ``1, 1/2, …, 2^{-30}`` on the loss (the loss is convex along ``Δ``) — or 1
when that raises the loss by no more than its rounding and brings the logits closer to their
targets, near the limit where the loss cannot tell steps apart — and the run stops at the same
certificate as gradient descent.

A batch is one computation: the reduced Hessians ``(UᵀX) diag(σ') (UᵀX)ᵀ / n`` of all problems
are stacked matrix products and their ``k × k`` systems one stacked solve; a problem leaves the
batch when it is certified, and its steps are those it would take alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kdverify._util.numerics import sigmoid, sigmoid_prime, softplus
from kdverify._util.validation import FloatArray, as_float_array, positive_int
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
from kdverify.training.descent import DescentResult
from kdverify.training.losses import loss_gradient

__all__ = ["newton_refine"]

STEP_LENGTHS = 0.5 ** np.arange(31)


def newton_refine(
    data: ArrayLike,
    target_logits: ArrayLike,
    w: ArrayLike,
    w0: ArrayLike | None = None,
    *,
    tol: ArrayLike | None = None,
    rtol: float = 1e-9,
    max_iter: int = 100,
) -> DescentResult:
    """Continue from ``w`` (a point of ``w_0 + span X``, e.g. a gradient-descent iterate) with
    damped Newton steps on the distillation loss until certified ``‖w − ŵ‖ ≤ tol``.

    Shapes as :func:`~kdverify.training.gradient_descent` (one problem or a batch); the result
    reports ``iterations`` as Newton steps and ``method`` says so.
    """
    problem = prepare(data, target_logits, w0)
    data, logits, start, projector = problem.data, problem.logits, problem.w0, problem.projector
    current = as_float_array("w", w, ndim=(1, 2))
    if current.shape not in (start.shape[1:], start.shape):
        raise InvalidArgument(
            f"w has shape {current.shape}, but the data need ({start.shape[1]},) or {start.shape}."
        )
    current = np.array(np.broadcast_to(current, start.shape))
    check_interpolable(problem)
    max_iter = positive_int("max_iter", max_iter, min_value=0)
    tolerance = resolve_tolerance(tol, rtol, limit_norm(problem))
    targets = sigmoid(logits)
    certificate = Certificate.build(data, logits, projector)
    system = _System(
        data=data,
        reduced=np.matmul(certificate.basis_t, data),
        basis=certificate.basis,
        inactive=np.linalg.norm(certificate.basis, axis=-2) == 0,
        logits=logits,
        targets=targets,
    )
    iterations = np.zeros(len(data), dtype=np.int64)
    span_bound, off_span, bound = certificate(current, start)
    off_span_max = off_span.copy()
    done = bound <= tolerance
    for _ in range(max_iter):
        active = np.flatnonzero(~done)
        if not active.size:
            break
        current[active] = system.take(active).step(current[active])
        iterations[active] += 1
        spans, offs, bounds = certificate.take(active)(current[active], start[active])
        span_bound[active], off_span[active], bound[active] = spans, offs, bounds
        off_span_max[active] = np.maximum(off_span_max[active], offs)
        done[active] = bounds <= tolerance[active]
    fields = {
        "w": current,
        "iterations": iterations,
        "converged": done,
        "gradient_norm": np.linalg.norm(loss_gradient(current, data, targets), axis=-1),
        "span_bound": span_bound,
        "off_span": off_span,
        "off_span_max": off_span_max,
        "bound": bound,
    }
    return DescentResult(
        **{name: unbatch(value, problem.single) for name, value in fields.items()},
        step=unbatch(np.ones(len(data)), problem.single),
        tol=unbatch(tolerance, problem.single),
        method="damped Newton in w0 + span X (THEORY.md §6c: the limit of gradient descent)",
    )


@dataclass(frozen=True)
class _System:
    """What a Newton step needs for a batch ``(B, d, n)``: the data, ``UᵀX`` ``(B, k, n)`` (``U``
    the span basis, its columns beyond the rank zero and flagged ``inactive``), targets."""

    data: FloatArray
    reduced: FloatArray
    basis: FloatArray
    inactive: NDArray[np.bool_]
    logits: FloatArray
    targets: FloatArray

    def take(self, index: NDArray[np.int64]) -> _System:
        """The problems at ``index``."""
        return _System(**{name: value[index] for name, value in vars(self).items()})

    def step(self, w: FloatArray) -> FloatArray:
        """One damped Newton step from ``w`` ``(B, d)`` for every problem (module docstring).

        The reduced Hessian ``UᵀHU = (UᵀX) diag(σ'(Xᵀw)) (UᵀX)ᵀ / n`` and gradient
        ``Uᵀ∇L = (UᵀX)(σ(Xᵀw) − t) / n`` are stacked products; the ``k × k`` systems are solved
        together (identity on the inactive columns). Along ``Δ`` the logits are
        ``Xᵀw + α XᵀΔ``, so the 31 step lengths cost ``O(n)`` each.
        """
        n = self.data.shape[-1]
        logits = np.matmul(w[:, None, :], self.data)[:, 0]
        gradient = np.matmul(self.reduced, (sigmoid(logits) - self.targets)[..., None]) / n
        curvature = sigmoid_prime(logits)
        hessian = np.matmul(self.reduced * curvature[:, None, :], np.swapaxes(self.reduced, -1, -2)) / n
        hessian += np.eye(hessian.shape[-1]) * self.inactive[:, None, :]
        direction = -np.matmul(self.basis, np.linalg.solve(hessian, gradient))[..., 0]
        slope = np.matmul(direction[:, None, :], self.data)[:, 0]
        candidates = logits[:, None, :] + STEP_LENGTHS[None, :, None] * slope[:, None, :]
        targets = self.targets[:, None, :]
        losses = np.mean(softplus(candidates) - targets * candidates, axis=-1)
        # Near the limit the loss changes by less than its rounding and the best step is noise;
        # there the full step (quadratic convergence) is taken when it does not increase the loss
        # beyond that rounding (about eps times the size of its terms) and brings the logits closer
        # to the targets, which is what the certificate measures.
        current = np.mean(softplus(logits) - self.targets * logits, axis=-1)
        rounding = 8 * EPS * np.mean(softplus(logits) + np.abs(self.targets * logits), axis=-1)
        closer = np.linalg.norm(candidates[:, 0] - self.logits, axis=-1) < np.linalg.norm(
            logits - self.logits, axis=-1
        )
        full_step = closer & (losses[:, 0] <= current + rounding)
        best = np.where(full_step, 0, np.argmin(losses, axis=1))
        return w + STEP_LENGTHS[best][:, None] * direction
