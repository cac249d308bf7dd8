"""Numerically stable scalar functions and angles used throughout kdverify."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from kdverify._util.validation import FloatArray

__all__ = [
    "ANGLE_ROUNDING",
    "EPS",
    "HALF_PI",
    "angle",
    "binary_entropy",
    "boundary_angles",
    "line_angles",
    "sigmoid",
    "sigmoid_prime",
    "softplus",
]

EPS = float(np.finfo(np.float64).eps)
"""The float64 machine epsilon (unit roundoff is EPS/2)."""
HALF_PI = np.pi / 2
ANGLE_ROUNDING = 16 * EPS * np.pi
"""How far :func:`angle` may be from the true angle (it is accurate to a few ulps of π; 16 allowed)."""
"""π/2: the angle at which a student is orthogonal to the teacher (every angle here lies in [0, π])."""


def sigmoid(z: ArrayLike) -> FloatArray:
    """Logistic function ``1/(1+e^{-z})``, exact to rounding for every finite ``z``."""
    return np.asarray(special.expit(np.asarray(z, dtype=np.float64)))


def softplus(z: ArrayLike) -> FloatArray:
    """``log(1 + e^z)`` evaluated as ``logaddexp(0, z)``; never overflows."""
    return np.logaddexp(0.0, np.asarray(z, dtype=np.float64))


def sigmoid_prime(z: ArrayLike) -> FloatArray:
    """``σ(z)(1 − σ(z)) = e^{-|z|} / (1 + e^{-|z|})²``, accurate in the tails where ``σ ≈ 1``."""
    e = np.exp(-np.abs(np.asarray(z, dtype=np.float64)))
    return np.asarray(e / (1.0 + e) ** 2)


def binary_entropy(t: ArrayLike) -> FloatArray:
    """Binary entropy in nats, ``−t log t − (1−t) log(1−t)``, with ``H(0) = H(1) = 0``."""
    t = np.asarray(t, dtype=np.float64)
    return np.asarray(special.entr(t) + special.entr(1.0 - t))


def angle(u: ArrayLike, v: ArrayLike) -> FloatArray:
    """Angle in ``[0, π]`` between vectors along the last axis (broadcasting).

    Uses ``2·atan2(‖û − v̂‖, ‖û + v̂‖)``, accurate near 0 and π where ``arccos`` of a cosine
    loses half the digits. The angle to a zero vector is undefined and returned as NaN.
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    nu = np.linalg.norm(u, axis=-1, keepdims=True)
    nv = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        uh, vh = u / nu, v / nv
        result = 2.0 * np.arctan2(
            np.linalg.norm(uh - vh, axis=-1), np.linalg.norm(uh + vh, axis=-1)
        )
    return np.where((nu[..., 0] > 0) & (nv[..., 0] > 0), result, np.nan)


def boundary_angles(data: ArrayLike, w_star: ArrayLike) -> FloatArray:
    """``γ(x_i) = π/2 − α(x_i)`` for each column ``x_i`` of ``data``: the angle to the teacher's
    decision hyperplane, in ``[0, π/2]``. Computed as ``arcsin`` of the normalised margin, which
    is accurate for the small angles that matter in ``p(θ)``."""
    data = np.asarray(data, dtype=np.float64)
    w_star = np.asarray(w_star, dtype=np.float64)
    cos_alpha = np.abs(np.einsum("d,...dn->...n", w_star, data)) / (
        np.linalg.norm(w_star) * np.linalg.norm(data, axis=-2)
    )
    return np.arcsin(np.clip(cos_alpha, 0.0, 1.0))


def line_angles(data: ArrayLike, w_star: ArrayLike) -> FloatArray:
    """``α(x_i) ∈ [0, π/2]`` for each column: the angle between ``x_i`` and the line through
    ``w*``. Computed with :func:`angle`, so it is accurate for well-aligned points (small α)."""
    points = np.swapaxes(np.asarray(data, dtype=np.float64), -1, -2)
    w_star = np.asarray(w_star, dtype=np.float64)
    return np.minimum(angle(points, w_star), angle(points, -w_star))
