"""Gaussian mixtures and the anisotropic Gaussian (THEORY.md §2.2 and §2.5).

Risk: for a component ``N(μ, Σ)`` the pair ``(wᵀx, w*ᵀx)`` is bivariate normal with standardised
means ``a = wᵀμ/‖Lᵀw‖``, ``b = w*ᵀμ/‖Lᵀw*‖`` (``Σ = LLᵀ``) and correlation ``cos φ``,
``φ = ∠(Lᵀw, Lᵀw*)``. The probability that the signs differ is, by Owen's (1956) formula for the
bivariate normal orthant,

    P[(Z₁ + a)(Z₂ + b) < 0] = 2T(h, a_h) + 2T(k, a_k) + 1[hk < 0 or (hk = 0 and h + k < 0)],

with ``h = −a``, ``k = −b``, ``a_h = (k − h cos φ)/(h sin φ)``, ``a_k = (h − k cos φ)/(k sin φ)``
and ``T`` Owen's T function (``scipy.special.owens_t``, accurate to rounding); ``h = k = 0`` gives
Sheppard's ``φ/π``. With one centred component this is ``R(w) = ∠(Σ^{1/2}w, Σ^{1/2}w*)/π``.

Geometry: ``p(θ)`` and ``P[α ≤ θ]`` are cone probabilities of each component, computed by
Imhof's formula (:mod:`kdverify.data._quadform`); ``p_bounds`` widens ``p`` by the
reported quadrature error.

:class:`FactoredGaussianMixture` is the general mixture in plain JSON values (the
``gaussian-mixture`` family), with each covariance written as ``s_k² I + Σ_v v vᵀ``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from kdverify._util.numerics import HALF_PI, angle
from kdverify._util.validation import (
    FloatArray,
    as_float_array,
    as_generator,
    as_real_array,
    as_teacher_vector,
    check_finite,
    positive_float,
    real_number,
    unit_scaled,
)
from kdverify.data._quadform import cone_probabilities
from kdverify.data.base import Family, as_angles, default_teacher
from kdverify.data.discrete import _rational_weights
from kdverify.data.exact import is_float_free
from kdverify.errors import InvalidArgument

__all__ = ["AnisotropicGaussian", "FactoredGaussianMixture", "GaussianMixture", "sign_discordance"]

# Smallest angle given to the cone quadrature: tan² of smaller angles (and 1/tan²) leave the
# float64 range. Both p and P[α ≤ θ] are non-decreasing, and their values here are about 1e-100.
SMALLEST_ANGLE = 1e-100


def sign_discordance(a: ArrayLike, b: ArrayLike, phi: ArrayLike) -> FloatArray:
    """``P[(Z₁ + a)(Z₂ + b) < 0]`` for standard normals with correlation ``cos φ`` (module doc)."""
    h = -np.asarray(a, dtype=np.float64) + 0.0  # + 0.0 turns −0.0 into +0.0 (limit from above)
    k = -np.asarray(b, dtype=np.float64) + 0.0
    phi = np.asarray(phi, dtype=np.float64)
    cos, sin = np.cos(phi), np.sin(phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        a_h = (k - h * cos) / (h * sin)
        a_k = (h - k * cos) / (k * sin)
        step = (h * k < 0) | ((h * k == 0) & (h + k < 0))
        value = 2 * special.owens_t(h, a_h) + 2 * special.owens_t(k, a_k) + step
    # 0/0 arises only for h = k = 0 (Sheppard) or, when sin φ = 0, for Z₂ + b = ±(Z₁ + a).
    degenerate = np.where(cos > 0, 0.0, 1.0)
    value = np.where(np.isnan(value), np.where((h == 0) & (k == 0), phi / np.pi, degenerate), value)
    return np.clip(value, 0.0, 1.0)


def _positive_definite_cholesky(name: str, matrix: FloatArray) -> FloatArray:
    """Cholesky factor of a symmetric positive definite matrix (symmetric to rounding)."""
    if matrix.shape[0] != matrix.shape[1]:
        raise InvalidArgument(f"{name} has shape {matrix.shape}; a covariance must be square.")
    # Asymmetry beyond a few ulps of the largest entry is an input error, not rounding.
    if np.max(np.abs(matrix - matrix.T)) > 8 * np.finfo(np.float64).eps * np.max(np.abs(matrix)):
        raise InvalidArgument(f"{name} is not symmetric.")
    try:
        return np.asarray(np.linalg.cholesky((matrix + matrix.T) / 2), dtype=np.float64)
    except np.linalg.LinAlgError:
        raise InvalidArgument(f"{name} is not positive definite.") from None


class GaussianMixture(Family):
    """``Σ_k π_k N(μ_k, Σ_k)``: ``means`` ``(K, d)`` (one row per component), ``covs``
    ``(K, d, d)`` positive definite, ``weights`` ``(K,)`` positive summing to 1 (to rounding).

    ``scale`` rescales the data so the teacher logit ``w*ᵀx`` has that standard deviation
    (default 1, the standard normalisation); ``None`` keeps the parameters as given.
    """

    name = "mixture"

    def __init__(
        self,
        means: ArrayLike,
        covs: ArrayLike,
        weights: ArrayLike,
        *,
        w_star: ArrayLike,
        scale: float | None = 1.0,
    ) -> None:
        super().__init__(w_star)
        d = self.dim
        if d < 2:
            raise InvalidArgument(f"w_star has length {d}; Gaussian families need d >= 2.")
        means = as_float_array("means", means, ndim=2)
        covs = as_float_array("covs", covs, ndim=3)
        weights = as_float_array("weights", weights, ndim=1)
        if means.shape[1] != d or covs.shape[1:] != (d, d):
            raise InvalidArgument(
                f"means {means.shape} and covs {covs.shape} must be (K, {d}) and (K, {d}, {d}) "
                f"for w_star of length {d}."
            )
        if not len(weights) == len(means) == len(covs):
            raise InvalidArgument(
                f"weights, means and covs have {len(weights)}, {len(means)}, {len(covs)} components; they must agree."
            )
        if np.any(weights <= 0):
            raise InvalidArgument(f"weights={weights.tolist()} must all be > 0.")
        if abs(weights.sum() - 1) > 4 * len(weights) * np.finfo(np.float64).eps:
            raise InvalidArgument(f"weights sum to {weights.sum()!r}, but must sum to 1.")
        cholesky = np.array([_positive_definite_cholesky(f"covs[{k}]", c) for k, c in enumerate(covs)])
        self.given = {"means": means, "covs": covs, "weights": weights}
        self.scale = scale
        self.weights = weights / weights.sum()
        # Everything scale-free (p, R) is computed on the standard normalisation of the data and a
        # power-of-two multiple of w*, so that no square overflows or underflows at any data scale.
        self._unit_w = unit_scaled(self.w_star)
        _, shift = np.frexp(max(np.max(np.abs(means)), np.sqrt(np.max(np.abs(covs)))))
        shifted_means, shifted_cholesky = np.ldexp(means, -shift), np.ldexp(cholesky, -shift)
        logit_means = shifted_means @ self._unit_w
        teacher_rows = shifted_cholesky.transpose(0, 2, 1) @ self._unit_w
        second_moment = self.weights @ (np.sum(teacher_rows**2, axis=1) + logit_means**2)
        logit_std = np.sqrt(second_moment - (self.weights @ logit_means) ** 2)
        self._shape_means, self._shape_cholesky = shifted_means / logit_std, shifted_cholesky / logit_std
        _, w_shift = np.frexp(np.max(np.abs(self.w_star)))
        given_std = np.ldexp(logit_std, shift + w_shift)  # of w*ᵀx for the data as given
        factor = 1.0 if scale is None else positive_float("scale", scale) / given_std
        if not (np.isfinite(factor) and factor > 0 and np.all(np.isfinite(factor * cholesky))):
            raise InvalidArgument(
                f"scale={scale!r} needs the data rescaled by {factor:.3g}, beyond float64; the teacher logit "
                f"w*ᵀx has standard deviation {given_std:.3g} as given. Rescale w_star or the parameters."
            )
        self.means = factor * means
        self.cholesky = factor * cholesky

    def sample(self, n: int, rng: np.random.Generator, *, trials: int | None = None) -> FloatArray:
        """Component labels with the weights, then ``μ_k + L_k z``."""
        *lead, _, n = self._sample_shape(n, trials)
        rng = as_generator("rng", rng)
        labels = rng.choice(len(self.weights), size=(*lead, n), p=self.weights)
        normals = rng.standard_normal((*lead, n, self.dim))
        points = np.empty_like(normals)
        for k, (mean, chol) in enumerate(zip(self.means, self.cholesky, strict=True)):
            chosen = labels == k
            points[chosen] = mean + normals[chosen] @ chol.T
        return np.swapaxes(points, -1, -2)

    def _cone(self, tan2: FloatArray) -> tuple[FloatArray, float]:
        """Mixture mass of ``{γ(x) ≤ θ}`` for each ``tan²θ`` in ``(0, ∞)``, and its error bound."""
        if tan2.size == 0:
            return np.zeros(0), 0.0
        per_component, error = cone_probabilities(tan2, self._unit_w, self._shape_means, self._shape_cholesky)
        return per_component @ self.weights, error

    def _p_with_error(self, theta: ArrayLike) -> tuple[FloatArray, float]:
        """``p(θ)`` and its absolute error bound. Below ``SMALLEST_ANGLE`` the quadrature's
        ``tan²θ`` would underflow; there ``p(SMALLEST_ANGLE)`` is returned, which is within itself
        (about 1e-100) of ``p(θ) ∈ [0, p(SMALLEST_ANGLE)]``, and the error bound says so."""
        theta = as_angles("theta", theta)
        result = np.where(theta >= HALF_PI, 1.0, 0.0)
        inner = (theta > 0) & (theta < HALF_PI)
        clipped = np.maximum(theta[inner], SMALLEST_ANGLE)
        result[inner], error = self._cone(np.tan(clipped) ** 2)
        tiny = result[inner][theta[inner] < SMALLEST_ANGLE]
        return result, error + (float(np.max(tiny)) if tiny.size else 0.0)

    def p(self, theta: ArrayLike) -> FloatArray:
        """``p(θ) = P[(ŵᵀx)² ≤ tan²θ ‖P⊥x‖²]`` by Imhof's formula; ``p(0) = 0``, ``p(π/2) = 1``."""
        return self._p_with_error(theta)[0]

    def p_bounds(self, theta: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """``p(θ)`` ± the quadrature's absolute error bound, clipped to ``[0, 1]``."""
        value, error = self._p_with_error(theta)
        return np.clip(value - error, 0, 1), np.clip(value + error, 0, 1)

    def mass_near_teacher(self, theta: ArrayLike) -> FloatArray:
        """``P[α ≤ θ] = 1 − p(π/2 − θ)``, with ``tan²(π/2 − θ) = 1/tan²θ`` formed without
        cancellation; 0 at ``θ = 0``, 1 at ``θ = π/2``; angles below ``SMALLEST_ANGLE`` are
        evaluated there (an upper bound within about 1e-100, as in :meth:`p`)."""
        theta = as_angles("theta", theta)
        result = np.where(theta >= HALF_PI, 1.0, 0.0)
        inner = (theta > 0) & (theta < HALF_PI)
        result[inner] = 1.0 - self._cone(1.0 / np.tan(np.maximum(theta[inner], SMALLEST_ANGLE)) ** 2)[0]
        return result

    def risk(self, w: ArrayLike) -> FloatArray:
        """``Σ_k π_k P_k[sign(wᵀx) ≠ sign(w*ᵀx)]`` by Owen's T; the zero student has risk 1."""
        w = unit_scaled(self._as_students(w))
        total = np.zeros(w.shape[:-1])
        for weight, mean, chol in zip(self.weights, self._shape_means, self._shape_cholesky, strict=True):
            student, teacher = w @ chol, self._unit_w @ chol  # Lᵀw as rows
            with np.errstate(divide="ignore", invalid="ignore"):
                a = (w @ mean) / np.linalg.norm(student, axis=-1)
            b = (self._unit_w @ mean) / np.linalg.norm(teacher)
            total += weight * sign_discordance(a, b, angle(student, teacher))
        return np.where(np.any(w != 0, axis=-1), total, 1.0)

    def describe(self) -> str:
        """The family id, dimension, number of components and scale."""
        return f"{self.name}(d={self.dim}, components={len(self.weights)}, scale={self.scale})"

    def params(self) -> dict[str, Any]:
        """The parameters as given (before scaling), ``scale`` and ``w_star``."""
        return {
            **{key: value.tolist() for key, value in self.given.items()},
            "scale": self.scale,
            "w_star": self.w_star.tolist(),
        }


class AnisotropicGaussian(GaussianMixture):
    """``N(0, Σ)``: a one-component centred mixture, so ``R(w) = ∠(Σ^{1/2}w, Σ^{1/2}w*)/π``
    and ``p(θ)`` is a central Gaussian quadratic form (Imhof)."""

    name = "anisotropic"

    def __init__(self, cov: ArrayLike, *, w_star: ArrayLike, scale: float | None = 1.0) -> None:
        cov = as_float_array("cov", cov, ndim=2)
        d = len(as_teacher_vector("w_star", w_star))
        if cov.shape != (d, d):
            raise InvalidArgument(f"cov has shape {cov.shape}, but w_star has length {d}: need ({d}, {d}).")
        super().__init__(np.zeros((1, cov.shape[0])), cov[None], [1.0], w_star=w_star, scale=scale)

    def describe(self) -> str:
        """The family id, dimension, condition number of ``Σ`` and scale."""
        condition = np.linalg.cond(self.given["covs"][0])
        return f"{self.name}(d={self.dim}, condition={condition:.4g}, scale={self.scale})"

    def params(self) -> dict[str, Any]:
        """``cov`` as given, ``scale`` and ``w_star``."""
        cov = self.given["covs"][0].tolist()
        return {"cov": cov, "scale": self.scale, "w_star": self.w_star.tolist()}


def _per_component(name: str, values: Any, count: int) -> list[Any]:
    """``values`` as a list of exactly ``count`` entries, one per mixture component."""
    try:
        entries = None if isinstance(values, (str, bytes)) else list(values)
    except TypeError:
        entries = None
    if entries is None:
        raise InvalidArgument(f"{name}={values!r} must be a list with one entry per component.")
    if len(entries) != count:
        raise InvalidArgument(
            f"{name} has {len(entries)} entries, but means has {count} components; give one per component."
        )
    return entries


def _factored_covariance(k: int, scale: Any, vectors: Any, dim: int) -> tuple[float, FloatArray, FloatArray]:
    """``s``, the factor vectors (rows) and ``Σ = s² I + Σ_v v vᵀ`` of component ``k``, which
    must be positive definite (``s > 0``, or ``s = 0`` with vectors spanning ``R^d``)."""
    s = real_number(f"scales[{k}]", scale)
    if not (math.isfinite(s) and s >= 0):
        raise InvalidArgument(f"scales[{k}]={scale!r} must be a finite number >= 0.")
    rows = as_real_array(f"factors[{k}]", vectors)
    rows = np.zeros((0, dim)) if rows.size == 0 else as_float_array(f"factors[{k}]", rows, ndim=2)
    if rows.shape[1] != dim:
        raise InvalidArgument(
            f"factors[{k}] holds vectors of length {rows.shape[1]}, but the means have dimension {dim}."
        )
    cov = check_finite(f"the covariance of component {k}", s * s * np.eye(dim) + rows.T @ rows)
    _positive_definite_cholesky(f"the covariance scales[{k}]²·I + Σ vvᵀ (v in factors[{k}])", cov)
    return s, rows, cov


class FactoredGaussianMixture(GaussianMixture):
    """The ``gaussian-mixture`` family: ``Σ_k π_k N(μ_k, Σ_k)`` with ``Σ_k = s_k² I + Σ_v v vᵀ``,
    in plain JSON values that hypothesis shrinks well (few components, integer means and factors).

    ``means`` lists the ``K`` component means, one point per row; ``scales`` the ``s_k ≥ 0``
    (default 1); ``factors[k]`` a list of ``d``-vectors ``v`` (default none: ``Σ_k = s_k² I``);
    ``weights`` exact (ints, Fractions, strings like ``"1/3"``: they must sum to 1 exactly) or
    floats (to 1 within rounding), default uniform; ``w_star`` defaults to ``e_1``. Every positive
    definite ``Σ`` has this form (any ``s² < λ_min(Σ)``, the ``v`` the columns of a Cholesky factor
    of ``Σ − s² I``); ``s_k = 0`` is allowed when ``factors[k]`` span ``R^d``. Non-degenerate
    Gaussians put no mass on the teacher's boundary.

    >>> mix = FactoredGaussianMixture([[1, 0], [-1, 2]], [1, 0.5], [[], [[1, 1]]], ["1/4", "3/4"], w_star=[1, 0])
    >>> mix.describe(), mix.params()["weights"]
    ('gaussian-mixture(d=2, components=2, scale=1.0)', ['1/4', '3/4'])
    """

    name = "gaussian-mixture"

    def __init__(
        self,
        means: ArrayLike,
        scales: Any = None,
        factors: Any = None,
        weights: Any = None,
        *,
        w_star: ArrayLike | None = None,
        scale: float | None = 1.0,
    ) -> None:
        points = as_float_array("means", means, ndim=2)
        count, dim = points.shape
        if dim < 2:
            raise InvalidArgument(f"means has points of dimension {dim}; Gaussian families need d >= 2.")
        scales = _per_component("scales", [1.0] * count if scales is None else scales, count)
        factors = _per_component("factors", [[]] * count if factors is None else factors, count)
        weights = _per_component("weights", [Fraction(1, count)] * count if weights is None else weights, count)
        components = [_factored_covariance(k, s, v, dim) for k, (s, v) in enumerate(zip(scales, factors, strict=True))]
        exact_mode = is_float_free(weights)
        exact = _rational_weights(weights, count, exact_mode)
        self._plain = {
            "means": points.tolist(),
            "scales": [s for s, _, _ in components],
            "factors": [rows.tolist() for _, rows, _ in components],
            "weights": [str(q) if exact_mode else float(q) for q in exact],
        }
        super().__init__(
            points,
            np.array([cov for _, _, cov in components]),
            [float(q) for q in exact],
            w_star=default_teacher(dim, w_star),
            scale=scale,
        )

    def params(self) -> dict[str, Any]:
        """``means``, ``scales``, ``factors`` and ``weights`` (strings when exact) as given,
        ``scale`` and ``w_star``: the keyword arguments that rebuild this family."""
        return {**self._plain, "scale": self.scale, "w_star": self.w_star.tolist()}
