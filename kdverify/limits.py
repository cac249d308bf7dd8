"""Closed-form limits of gradient descent and their a-posteriori certificates (THEORY.md §3).

The certificate works for any iterate, whatever produced it. Let ``z* = Xᵀw*/T`` be the target
logits and ``ŵ`` the limit. For ``w`` in ``w_0 + span X`` the error ``e = w − ŵ`` lies in
``span X`` and, by the mean-value theorem applied coordinatewise,

    ∇L(w) = (1/n) X D Xᵀ e,   D = diag(σ'(ξ_i)),  ξ_i between z_i = x_iᵀw and z*_i.

``σ'`` is unimodal with its peak at 0, so ``σ'(ξ_i) ≥ m_i = min(σ'(z_i), σ'(z*_i))``; on
``span X`` the matrix ``(1/n) X D Xᵀ`` has smallest eigenvalue at least
``min_i m_i · λ_min⁺(XXᵀ) / n``. Hence

    ‖P(w − ŵ)‖ ≤ n ‖∇L(w)‖ / (λ_min⁺(XXᵀ) · min_i m_i),

and adding ``‖P⊥(w − w_0)‖`` (zero up to rounding for the linear student) bounds ``‖w − ŵ‖``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from kdverify._validation import FloatArray, as_data, as_vector
from kdverify.linalg import SpanProjector, span_projector
from kdverify.losses import loss_gradient, student_logits
from kdverify.numerics import sigmoid, sigmoid_prime
from kdverify.teacher import Teacher

__all__ = ["deep_limit", "linear_limit", "span_error_bound"]


def linear_limit(
    data: ArrayLike,
    teacher: Teacher,
    w0: ArrayLike | None = None,
    *,
    projector: SpanProjector | None = None,
) -> FloatArray:
    """The gradient-descent limit ``ŵ = P w*/T + P⊥ w_0`` (``w_0 = 0`` when omitted).

    Broadcasts over a batch: ``data`` ``(B, d, n)`` and ``w0`` ``(d,)`` or ``(B, d)``.
    """
    data = as_data("data", data, dim=teacher.dim, batched=True)
    projector = projector or span_projector(data)
    limit = projector.project(np.broadcast_to(teacher.target, (*data.shape[:-2], teacher.dim)))
    if w0 is not None:
        w0 = np.asarray(w0, dtype=np.float64)
        as_vector("w0", w0.reshape(-1), dim=None)
        limit = limit + projector.complement(np.broadcast_to(w0, limit.shape))
    return limit


def deep_limit(
    data: ArrayLike,
    teacher: Teacher,
    first_layer_init: ArrayLike,
    upper_product: ArrayLike,
    *,
    projector: SpanProjector | None = None,
) -> FloatArray:
    """Deep-student limit ``P w*/T + P⊥ W_1(0)ᵀ v_∞`` with ``v_∞ = (W_N⋯W_2)ᵀ`` at the limit."""
    data = as_data("data", data, dim=teacher.dim)
    first = np.asarray(first_layer_init, dtype=np.float64)
    upper = as_vector("upper_product", upper_product, dim=first.shape[0])
    projector = projector or span_projector(data)
    return projector.project(teacher.target) + projector.complement(first.T @ upper)


def span_error_bound(
    w: ArrayLike,
    data: ArrayLike,
    target_logits: ArrayLike,
    *,
    projector: SpanProjector | None = None,
) -> FloatArray:
    """Certified bound on ``‖P(w − ŵ)‖`` from the gradient at ``w`` (see the module docstring).

    ``target_logits`` are ``z*_i = logit(t_i)`` (``Xᵀw*/T`` for distillation). Broadcasts over
    a batch. Returns ``inf`` where the curvature bound underflows.
    """
    data = np.asarray(data, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    target_logits = np.asarray(target_logits, dtype=np.float64)
    projector = projector or span_projector(data)
    gradient = loss_gradient(w, data, sigmoid(target_logits))
    curvature = np.minimum(sigmoid_prime(student_logits(w, data)), sigmoid_prime(target_logits))
    denominator = projector.smallest_positive_eigenvalue * np.min(curvature, axis=-1)
    with np.errstate(divide="ignore"):
        return data.shape[-1] * np.linalg.norm(gradient, axis=-1) / denominator
