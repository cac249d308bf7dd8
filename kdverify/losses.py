"""Cross-entropy of a linear student against targets: value, gradient and Hessian.

With targets ``t_i ∈ [0, 1]`` the loss is ``L(w) = (1/n) Σ_i softplus(wᵀx_i) − t_i wᵀx_i``.
Soft labels ``t = σ(w*ᵀx/T)`` give the distillation loss, hard labels ``t = 1[w*ᵀx > 0]``
the hard-label (logistic regression) loss. Every function broadcasts over leading batch axes:
``w`` is ``(..., d)``, ``data`` is ``(..., d, n)``, ``targets`` is ``(..., n)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from kdverify._validation import FloatArray
from kdverify.numerics import sigmoid, sigmoid_prime, softplus

__all__ = ["loss_gradient", "loss_hessian", "loss_value", "student_logits"]


def student_logits(w: ArrayLike, data: ArrayLike) -> FloatArray:
    """``Xᵀw``: the student's logits on the columns of ``data``."""
    return np.einsum("...d,...dn->...n", np.asarray(w, dtype=np.float64), np.asarray(data))


def loss_value(w: ArrayLike, data: ArrayLike, targets: ArrayLike) -> FloatArray:
    """``L(w) = mean_i softplus(z_i) − t_i z_i`` with ``z = Xᵀw``; stable for any logit size."""
    z = student_logits(w, data)
    return np.mean(softplus(z) - np.asarray(targets) * z, axis=-1)


def loss_gradient(w: ArrayLike, data: ArrayLike, targets: ArrayLike) -> FloatArray:
    """``∇L(w) = (1/n) X (σ(Xᵀw) − t)``."""
    data = np.asarray(data, dtype=np.float64)
    residual = sigmoid(student_logits(w, data)) - np.asarray(targets)
    return np.einsum("...dn,...n->...d", data, residual) / data.shape[-1]


def loss_hessian(w: ArrayLike, data: ArrayLike) -> FloatArray:
    """``∇²L(w) = (1/n) X diag(σ'(Xᵀw)) Xᵀ`` (independent of the targets)."""
    data = np.asarray(data, dtype=np.float64)
    curvature = sigmoid_prime(student_logits(w, data))
    return np.einsum("...in,...n,...jn->...ij", data, curvature, data) / data.shape[-1]
