"""Cross-entropy of a linear student against targets: value, gradient and Hessian.

With targets ``t_i ∈ [0, 1]`` the loss is ``L(w) = (1/n) Σ_i softplus(wᵀx_i) − t_i wᵀx_i``.
Soft labels ``t = σ(w*ᵀx/T)`` give the distillation loss, hard labels ``t = 1[w*ᵀx > 0]``
the hard-label (logistic regression) loss. Every function broadcasts over leading batch axes:
``w`` is ``(..., d)``, ``data`` is ``(..., d, n)``, ``targets`` is ``(..., n)``.

Shapes and dtypes are checked (real numbers only), and the data and targets must be finite. The
formulas are evaluated for any targets (the self-test's mutants use targets outside ``[0, 1]``),
and a NaN or infinite ``w`` gives a NaN or infinite result rather than an error, so that a
diverging run shows as such.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from kdverify._util.numerics import sigmoid, sigmoid_prime, softplus
from kdverify._util.validation import FloatArray, as_real_array, check_finite
from kdverify.errors import InvalidArgument

__all__ = ["loss_gradient", "loss_hessian", "loss_value", "student_logits"]


def _operands(w: ArrayLike, data: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """``w`` ``(..., d)`` and ``data`` ``(..., d, n)`` as real arrays with matching ``d``, ``n ≥ 1``
    and broadcastable batch axes."""
    w, data = as_real_array("w", w), check_finite("data", as_real_array("data", data))
    if w.ndim < 1 or data.ndim < 2 or data.shape[-1] == 0 or w.shape[-1] != data.shape[-2]:
        raise InvalidArgument(
            f"w has shape {w.shape} and data {data.shape}; they must be (..., d) and (..., d, n) "
            "with the same d and n >= 1 (points are columns)."
        )
    if w.ndim > 1 and data.ndim > 2:
        try:
            np.broadcast_shapes(w.shape[:-1], data.shape[:-2])
        except ValueError:
            raise InvalidArgument(f"the batch axes of w {w.shape} and data {data.shape} do not broadcast.") from None
    return w, data


def _targets(targets: ArrayLike, data: FloatArray) -> FloatArray:
    """``targets`` ``(..., n)`` as a real array with one target per column of ``data``."""
    targets = check_finite("targets", as_real_array("targets", targets))
    if targets.ndim < 1 or targets.shape[-1] != data.shape[-1]:
        raise InvalidArgument(
            f"targets has shape {targets.shape}, but the data have {data.shape[-1]} points: "
            f"need (..., {data.shape[-1]})."
        )
    return targets


def student_logits(w: ArrayLike, data: ArrayLike) -> FloatArray:
    """``Xᵀw``: the student's logits on the columns of ``data``."""
    w, data = _operands(w, data)
    return np.einsum("...d,...dn->...n", w, data)


def loss_value(w: ArrayLike, data: ArrayLike, targets: ArrayLike) -> FloatArray:
    """``L(w) = mean_i softplus(z_i) − t_i z_i`` with ``z = Xᵀw``; stable for any logit size."""
    w, data = _operands(w, data)
    z = np.einsum("...d,...dn->...n", w, data)
    return np.mean(softplus(z) - _targets(targets, data) * z, axis=-1)


def loss_gradient(w: ArrayLike, data: ArrayLike, targets: ArrayLike) -> FloatArray:
    """``∇L(w) = (1/n) X (σ(Xᵀw) − t)``."""
    w, data = _operands(w, data)
    residual = sigmoid(np.einsum("...d,...dn->...n", w, data)) - _targets(targets, data)
    return np.einsum("...dn,...n->...d", data, residual) / data.shape[-1]


def loss_hessian(w: ArrayLike, data: ArrayLike) -> FloatArray:
    """``∇²L(w) = (1/n) X diag(σ'(Xᵀw)) Xᵀ`` (independent of the targets)."""
    w, data = _operands(w, data)
    curvature = sigmoid_prime(np.einsum("...d,...dn->...n", w, data))
    return np.einsum("...in,...n,...jn->...ij", data, curvature, data) / data.shape[-1]
