"""Closed-form limits of gradient descent and their a-posteriori certificates (THEORY.md §3).

The certificate works for any iterate, whatever produced it. Let ``z*`` be the target logits
(``Xᵀw*/T`` for distillation) and ``ŵ`` the limit, the point of ``w_0 + span X`` with
``Xᵀŵ = z*``. For ``w`` in ``w_0 + span X`` the error ``e = w − ŵ`` lies in ``span X``, where
``Xᵀ`` is injective with smallest singular value ``σ_min⁺``, so

    ‖P(w − ŵ)‖ ≤ ‖Xᵀw − z*‖ / σ_min⁺.

This is never weaker than the gradient bound ``n‖∇L(w)‖ / (λ_min⁺(XXᵀ) · min_i m_i)`` with
``m_i = min(σ'(x_iᵀw), σ'(z*_i))``: by the mean-value theorem ``∇L(w) = (1/n) X D Xᵀe`` with
``D ⪰ min_i m_i · I``, and ``‖X D v‖ ≥ σ_min⁺ · min_i m_i · ‖v‖`` for ``v = Xᵀe``. It needs no
curvature, so it stays finite where ``σ'`` underflows (logits of size ~700 and beyond).

Floating point. The bound is evaluated with its own rounding included: each computed logit is
within ``γ_{2d} Σ_k |x_ik||w_k|`` of the exact one (``γ_k = k·u/(1 − k·u)``, ``u = eps/2``), and the
computed singular values are within ``E = max(d, n)·eps·σ_max`` of those of the data (backward
stability of the SVD, the same ``E`` that sets the numerical rank), so ``σ_min⁺ − E`` is used.
The certificate is therefore about the data's *numerical* span, the span :func:`linear_limit`
uses; it becomes ``inf`` when ``σ_min⁺ ≤ E``. The off-span part ``‖P⊥(w − w_0)‖`` that the
solvers add is measured with the computed projector, so they also add
``SpanProjector.subspace_error · ‖w − w_0‖``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from kdverify._util.linalg import SpanProjector, default_rank_tolerance, span_projector
from kdverify._util.validation import FloatArray, as_data, as_float_array, as_real_array, as_vector
from kdverify.errors import InvalidArgument
from kdverify.training.teacher import Teacher

__all__ = ["deep_limit", "linear_limit", "nested_limits", "span_error_bound"]

UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2


def _gamma(k: int) -> float:
    """``γ_k = k·u/(1 − k·u)``: the relative rounding of a ``k``-term sum or dot product."""
    return k * UNIT_ROUNDOFF / (1 - k * UNIT_ROUNDOFF)


def _as_teacher(teacher: Teacher) -> Teacher:
    if not isinstance(teacher, Teacher):
        raise InvalidArgument(f"teacher={teacher!r} must be a kdverify.training.teacher.Teacher.")
    return teacher


def _start(name: str, value: ArrayLike, batch: tuple[int, ...], dim: int) -> FloatArray:
    """An initial point ``(d,)`` or one per problem ``(*batch, d)``, finite."""
    array = as_real_array(name, value)
    if array.shape not in ((dim,), (*batch, dim)):
        raise InvalidArgument(
            f"{name} has shape {array.shape}, but the data have dimension {dim}: "
            f"expected ({dim},){f' or {(*batch, dim)}' if batch else ''}."
        )
    return as_float_array(name, array, ndim=array.ndim)


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
    teacher = _as_teacher(teacher)
    data = as_data("data", data, dim=teacher.dim, batched=True)
    projector = projector or span_projector(data)
    limit = projector.project(np.broadcast_to(teacher.target, (*data.shape[:-2], teacher.dim)))
    if w0 is not None:
        w0 = _start("w0", w0, data.shape[:-2], teacher.dim)
        limit = limit + projector.complement(np.broadcast_to(w0, limit.shape))
    return limit


def nested_limits(data: ArrayLike, teacher: Teacher, sizes: Sequence[int]) -> FloatArray:
    """The limits ``P_k w*/T`` from ``w_0 = 0`` (:func:`linear_limit`) on the nested prefixes
    ``X[..., :k]`` of one data set or a batch ``(B, d, N)``, for each ``k`` of ``sizes``: shape
    ``(len(sizes), B, d)`` (``(len(sizes), d)`` unbatched).

    One QR ``X = QR`` serves every prefix: while the first ``k`` columns are independent they span
    what ``Q``'s first ``k`` do, so ``P_k t = Σ_{i<k} q_i q_iᵀ t``, a cumulative sum. That holds, by
    :func:`linear_limit`'s own rank rule, for every prefix of a set whose whole ``N ≤ d`` columns
    have ``σ_min`` above ``max(d, N)·eps·σ_max`` (deleting columns never lowers ``σ_min`` nor raises
    ``σ_max``); ``R``'s singular values are ``X``'s. Other sets (numerically rank-deficient, or
    ``N > d``) take :func:`linear_limit` prefix by prefix.
    """
    teacher = _as_teacher(teacher)
    data = as_data("data", data, dim=teacher.dim, batched=True)
    chosen = np.asarray(sizes, dtype=np.int64)
    if chosen.ndim != 1 or chosen.size == 0 or np.any(chosen < 1) or np.any(chosen > data.shape[-1]):
        raise InvalidArgument(f"sizes={list(sizes)!r} must be prefix lengths between 1 and n={data.shape[-1]}.")
    target = teacher.target
    if data.shape[-1] > data.shape[-2]:
        return np.stack([linear_limit(data[..., :k], teacher) for k in chosen])
    q, r = np.linalg.qr(data)
    singular = np.linalg.svd(r, compute_uv=False)
    independent = singular[..., -1] > default_rank_tolerance(data, singular)
    partial = np.cumsum(q * (target @ q)[..., None, :], axis=-1)
    limits = np.moveaxis(partial[..., chosen - 1], -1, 0)
    if not np.all(independent):
        rest = data[~independent] if data.ndim == 3 else data
        limits[:, ~independent] = np.stack([linear_limit(rest[..., :k], teacher) for k in chosen]).reshape(
            limits[:, ~independent].shape
        )
    return limits


def deep_limit(
    data: ArrayLike,
    teacher: Teacher,
    first_layer_init: ArrayLike,
    upper_product: ArrayLike,
    *,
    projector: SpanProjector | None = None,
) -> FloatArray:
    """Deep-student limit ``P w*/T + P⊥ W_1(0)ᵀ v_∞`` with ``v_∞ = (W_N⋯W_2)ᵀ`` at the limit."""
    teacher = _as_teacher(teacher)
    data = as_data("data", data, dim=teacher.dim)
    first = as_float_array("first_layer_init", first_layer_init, ndim=2)
    if first.shape[1] != teacher.dim:
        raise InvalidArgument(
            f"first_layer_init has shape {first.shape}, but W_1 needs d={teacher.dim} columns."
        )
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
    """Certified bound on ``‖P(w − ŵ)‖``: ``(‖Xᵀw − z*‖ + rounding) / (σ_min⁺ − E)`` (module doc).

    ``target_logits`` are ``z*_i`` (``Xᵀw*/T`` for distillation), which must be ``Xᵀv`` for some
    ``v`` (the solvers check this). Broadcasts over batch axes: ``w`` ``(..., d)``, ``data``
    ``(..., d, n)``, ``target_logits`` ``(..., n)``. A NaN or infinite ``w`` gives a NaN or
    infinite bound, never a small one; so does data whose smallest kept singular value is within
    rounding of zero.
    """
    data = as_data("data", data, batched=True)
    w = as_real_array("w", w)
    logits = as_real_array("target_logits", target_logits)
    dim, n = data.shape[-2:]
    if w.ndim < 1 or w.shape[-1] != dim or logits.ndim < 1 or logits.shape[-1] != n:
        raise InvalidArgument(
            f"w has shape {w.shape} and target_logits {logits.shape}, but the data {data.shape} need "
            f"(..., {dim}) and (..., {n})."
        )
    as_float_array("target_logits", logits.reshape(-1), ndim=1)
    projector = projector or span_projector(data)
    with np.errstate(over="ignore", invalid="ignore"):
        residual = np.einsum("...d,...dn->...n", w, data) - logits
        size = np.einsum("...d,...dn->...n", np.abs(w), np.abs(data))
        numerator = (1 + _gamma(n + 2)) * (
            np.linalg.norm(residual, axis=-1) + _gamma(2 * dim + 2) * np.linalg.norm(size, axis=-1)
        )
    lower = projector.smallest_singular_lower_bound
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(lower > 0, numerator / np.where(lower > 0, lower, 1.0), np.inf)
