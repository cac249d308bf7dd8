"""Rank-revealing projections onto the span of a training set.

``P`` is built from a thin SVD ``X = U S Vᵀ`` with an explicit rank tolerance, never from
``(XᵀX)^{-1}``, so rank-deficient and duplicated data are handled exactly as THEORY.md §1 asks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kdverify._util.validation import FloatArray, as_data, as_real_array, positive_float
from kdverify.errors import InvalidArgument

__all__ = ["SpanProjector", "span_projector"]


def default_rank_tolerance(data: FloatArray, singular_values: FloatArray) -> FloatArray:
    """NumPy's ``matrix_rank`` rule: ``max(d, n) · eps · σ_max`` (per problem in a batch).

    It is also the backward error of the SVD: the computed singular values and span are exact for
    a matrix within this distance of the data, which the certificates of :mod:`kdverify.training.limits`
    account for.
    """
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
    perturbation: FloatArray
    """``E``: the computed SVD is exact for data within ``E`` (2-norm) of the given data."""

    def project(self, v: ArrayLike) -> FloatArray:
        """``P v`` for ``v`` of shape ``(..., d)`` (NaN and inf propagate)."""
        coefficients = np.einsum("...dk,...d->...k", self.basis, self._vectors(v))
        return np.einsum("...dk,...k->...d", self.basis, coefficients)

    def complement(self, v: ArrayLike) -> FloatArray:
        """``P⊥ v = v − P v``."""
        v = self._vectors(v)
        return v - self.project(v)

    def _vectors(self, v: ArrayLike) -> FloatArray:
        """``v`` as a real array of vectors of length ``d`` whose batch axes match the projector's."""
        v = as_real_array("v", v)
        dim, batch = self.basis.shape[-2], self.basis.shape[:-2]
        try:
            if v.ndim < 1 or v.shape[-1] != dim:
                raise ValueError
            np.broadcast_shapes(v.shape[:-1], batch)
        except ValueError:
            raise InvalidArgument(
                f"v has shape {v.shape}, but the projector acts on vectors (..., {dim})"
                + (f" whose batch axes broadcast with {batch}." if batch else ".")
            ) from None
        return v

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

    @property
    def smallest_singular_lower_bound(self) -> FloatArray:
        """``σ̃_min⁺ − E``: a lower bound on the data's smallest singular value above the rank
        tolerance (Weyl's inequality); not positive when rounding could hide a zero."""
        kept = np.where(self.singular_values > self.tolerance[..., None], self.singular_values, np.inf)
        return np.min(kept, axis=-1) - self.perturbation

    @property
    def subspace_error(self) -> FloatArray:
        """Bound on ``‖P − P̃‖₂`` between the exact projector onto the data's numerical span and
        this computed one: ``E / (σ̃_min⁺ − E)`` (Wedin's theorem); ``inf`` if that is not positive."""
        lower = self.smallest_singular_lower_bound
        return np.where(lower > 0, self.perturbation / np.where(lower > 0, lower, 1.0), np.inf)


def span_projector(data: ArrayLike, *, rtol: float | None = None) -> SpanProjector:
    """Projector onto the span of the columns of ``data`` (``(d, n)`` or ``(B, d, n)``).

    The rank counts singular values above ``rtol · σ_max`` (default: ``max(d, n) · eps``).

    >>> P = span_projector([[1.0, 2.0], [0.0, 0.0]])
    >>> int(P.rank), P.project([3.0, 4.0]).tolist()
    (1, [3.0, 0.0])
    """
    data = as_data("data", data, batched=True)
    u, s, _ = np.linalg.svd(data, full_matrices=False)
    perturbation = default_rank_tolerance(data, s)
    if rtol is not None and not positive_float("rtol", rtol) < 1:
        raise InvalidArgument(f"rtol={rtol!r} must lie in (0, 1): singular values below rtol·σ_max count as zero.")
    tolerance = perturbation if rtol is None else rtol * s[..., 0]
    keep = s > np.asarray(tolerance)[..., None]
    basis = u * keep[..., None, :]
    return SpanProjector(
        basis=basis,
        singular_values=s,
        rank=np.sum(keep, axis=-1),
        tolerance=np.asarray(tolerance, dtype=np.float64),
        perturbation=np.asarray(perturbation, dtype=np.float64),
    )
