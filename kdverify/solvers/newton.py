"""Damped Newton steps inside ``w_0 + span X``: the same limit as gradient descent, reached in a
few dozen steps where gradient descent crawls (THEORY.md §6: near ``n = d`` or with large logits).

THEORY.md §6(c): any method whose iterates stay in ``w_0 + span X`` has the limit of gradient
descent, so it may be used where only the limit matters. The Newton direction
``Δ = −(UᵀHU)^{-1}Uᵀ∇L`` (``U`` an orthonormal basis of ``span X``) lies in ``span X``; the step
length is the best of ``1, 1/2, …, 2^{-30}`` on the loss (the loss is convex along ``Δ``) — or 1
when that raises the loss by no more than its rounding and brings the logits closer to their
targets, near the limit where the loss cannot tell steps apart — and the run stops at the same
certificate as gradient descent.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from kdverify._validation import as_float_array, positive_int
from kdverify.errors import InvalidArgument
from kdverify.losses import loss_gradient, loss_value
from kdverify.numerics import sigmoid, sigmoid_prime, softplus
from kdverify.solvers._common import (
    EPS,
    certify,
    check_interpolable,
    limit_norm,
    prepare,
    resolve_tolerance,
    unbatch,
)
from kdverify.solvers.descent import DescentResult

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

    Shapes as :func:`~kdverify.solvers.gradient_descent` (one problem or a batch); the result
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
    basis = projector.basis
    inactive = (np.linalg.norm(basis, axis=-2) == 0).astype(float)  # columns beyond the rank
    iterations = np.zeros(len(data), dtype=np.int64)
    off_span_max = np.zeros(len(data))
    for step in range(max_iter + 1):
        span_bound, off_span, bound = certify(current, start, data, logits, projector)
        off_span_max = np.maximum(off_span_max, off_span)
        done = bound <= tolerance
        if step == max_iter or np.all(done):
            break
        gradient = loss_gradient(current, data, targets)
        curvature = sigmoid_prime(np.einsum("bd,bdn->bn", current, data))
        reduced = np.einsum("bdk,bdn,bn,ben,bel->bkl", basis, data, curvature, data, basis) / problem.n
        reduced += np.eye(basis.shape[-1]) * inactive[:, None, :]
        direction = -np.einsum(
            "bdk,bk->bd", basis, np.linalg.solve(reduced, np.einsum("bdk,bd->bk", basis, gradient)[..., None])[..., 0]
        )
        candidates = current[:, None, :] + STEP_LENGTHS[None, :, None] * direction[:, None, :]
        losses = loss_value(candidates, data[:, None], targets[:, None])
        # Near the limit the loss changes by less than its rounding and the best step is noise;
        # there the full step (quadratic convergence) is taken when it does not increase the loss
        # beyond that rounding (about eps times the size of its terms) and brings the logits closer
        # to the targets, which is what the certificate measures.
        student = np.einsum("bd,bdn->bn", current, data)
        rounding = 8 * EPS * np.mean(softplus(student) + np.abs(targets * student), axis=-1)
        full = np.einsum("bd,bdn->bn", candidates[:, 0], data)
        closer = np.linalg.norm(full - logits, axis=-1) < np.linalg.norm(student - logits, axis=-1)
        full_step = closer & (losses[:, 0] <= loss_value(current, data, targets) + rounding)
        best = np.where(full_step, 0, np.argmin(losses, axis=1))
        moved = ~done
        current[moved] = candidates[moved, best[moved]]
        iterations[moved] += 1
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
