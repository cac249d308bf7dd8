"""Rank-revealing projections onto the span of a training set.

``P`` is built from a thin SVD ``X = U S Vᵀ`` with an explicit rank tolerance, never from
``(XᵀX)^{-1}``, so rank-deficient and duplicated data are handled exactly as THEORY.md §1 asks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kdverify._validation import FloatArray, as_data, positive_float

__all__ = ["SpanProjector", "span_projector"]


def default_rank_tolerance(data: FloatArray, singular_values: FloatArray) -> FloatArray:
    """NumPy's ``matrix_rank`` rule: ``max(d, n) · eps · σ_max`` (per problem in a batch)."""
    largest = singular_values[..., 0] if singular_values.shape[-1] else np.zeros(data.shape[:-2])
    return max(data.shape[-2:]) * np.finfo(np.float64).eps * largest


@dataclass(frozen=True)
class SpanProjector:
    """Orthogonal projector ``P`` onto ``span X`` (and ``P⊥ = I − P``), for one data set or a
    batch of data sets of equal shape.

    ``basis`` is ``(..., d, k)`` with orthonormal columns; columns beyond the numerical rank are
    zeroed, so ``P v = basis basisᵀ v`` for every problem of the batch.
    """

    basis: FloatArray
    singular_values: FloatArray
    rank: NDArray[np.int64]
    tolerance: FloatArray

    def project(self, v: ArrayLike) -> FloatArray:
        """``P v`` for ``v`` of shape ``(..., d)``."""
        coefficients = np.einsum("...dk,...d->...k", self.basis, np.asarray(v, dtype=np.float64))
        return np.einsum("...dk,...k->...d", self.basis, coefficients)

    def complement(self, v: ArrayLike) -> FloatArray:
        """``P⊥ v = v − P v``."""
        v = np.asarray(v, dtype=np.float64)
        return v - self.project(v)

    @property
    def matrix(self) -> FloatArray:
        """``P`` as a dense ``(..., d, d)`` matrix."""
        return np.einsum("...ik,...jk->...ij", self.basis, self.basis)

    @property
    def smallest_positive_eigenvalue(self) -> FloatArray:
        """``λ_min⁺(XXᵀ)``: the square of the smallest singular value above the tolerance."""
        masked = np.where(self.singular_values > self.tolerance[..., None], self.singular_values, np.inf)
        return np.min(masked, axis=-1) ** 2

    @property
    def largest_eigenvalue(self) -> FloatArray:
        """``λ_max(XXᵀ)``."""
        return self.singular_values[..., 0] ** 2


def span_projector(data: ArrayLike, *, rtol: float | None = None) -> SpanProjector:
    """Projector onto the span of the columns of ``data`` (``(d, n)`` or ``(B, d, n)``).

    The rank counts singular values above ``rtol · σ_max`` (default: ``max(d, n) · eps``).

    >>> P = span_projector([[1.0, 2.0], [0.0, 0.0]])
    >>> int(P.rank), P.project([3.0, 4.0]).tolist()
    (1, [3.0, 0.0])
    """
    data = as_data("data", data, batched=True)
    u, s, _ = np.linalg.svd(data, full_matrices=False)
    tolerance = default_rank_tolerance(data, s) if rtol is None else positive_float("rtol", rtol) * s[..., 0]
    keep = s > np.asarray(tolerance)[..., None]
    basis = u * keep[..., None, :]
    return SpanProjector(
        basis=basis,
        singular_values=s,
        rank=np.sum(keep, axis=-1),
        tolerance=np.asarray(tolerance, dtype=np.float64),
    )
