"""Isotropic data: ``N(0, σ²I_d)`` or the uniform law on a sphere (THEORY.md §2.1)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from kdverify._util.validation import FloatArray, as_generator, positive_int
from kdverify.data._radial import check_radius, radial_factor
from kdverify.data.base import Family, as_angles, default_teacher

__all__ = ["Isotropic"]


def _beta_cdf_at_sin2(a: float, b: float, theta: FloatArray) -> FloatArray:
    """``I_{sin²θ}(a, b)``, or ``1 − I_{cos²θ}(b, a)`` past π/4 so that values near 1 keep
    their distance from 1 (``sin²θ`` rounds to 1 long before ``cos²θ`` reaches 0).

    Not ``special.betaincc``: in SciPy 1.17 ``betaincc(0.5, 0.5, 1e-18)`` is off by 8e-12.
    """
    # The float π/2 stands for π/2 (its cosine, 6e-17, is rounding): there cos²θ = 0 exactly.
    sin2, cos2 = np.sin(theta) ** 2, np.where(theta >= np.pi / 2, 0.0, np.cos(theta) ** 2)
    return np.where(sin2 <= 0.5, special.betainc(a, b, sin2), 1.0 - special.betainc(b, a, cos2))


class Isotropic(Family):
    """Rotation-invariant data with a Gaussian (``radius="gaussian"``) or constant radius.

    ``w_star`` defaults to the first basis vector ``e_1``. ``scale`` is the standard deviation of
    the teacher logit ``w*ᵀx`` (default 1, the standard normalisation: with ``‖w*‖ = 1`` the
    Gaussian case is ``N(0, I_d)`` and the sphere has radius ``√d``); ``None`` gives ``N(0, I_d)``
    or the unit sphere whatever ``w*``. Then ``p(θ) = I_{sin²θ}(1/2, (d−1)/2)`` and
    ``R(w) = ∠(w, w*)/π``; neither depends on the radius law.

    >>> round(float(Isotropic(3).p(0.5)), 12) == round(float(np.sin(0.5)), 12)
    True
    """

    name = "isotropic"

    def __init__(
        self,
        dim: int,
        *,
        w_star: ArrayLike | None = None,
        radius: str = "gaussian",
        scale: float | None = 1.0,
    ) -> None:
        dim = positive_int("dim", dim, min_value=2)
        super().__init__(default_teacher(dim, w_star))
        self.radius = check_radius(radius)
        self.scale = scale
        # math.hypot: no overflow or underflow of the squares whatever the size of w*.
        self.factor = radial_factor(radius, scale, dim, math.hypot(*self.w_star), 1 / dim)

    def sample(self, n: int, rng: np.random.Generator, *, trials: int | None = None) -> FloatArray:
        """Draws of ``c·z`` (Gaussian) or ``c·z/‖z‖`` (sphere) with ``z ~ N(0, I_d)``."""
        normals = as_generator("rng", rng).standard_normal(self._sample_shape(n, trials))
        if self.radius == "sphere":
            normals /= np.linalg.norm(normals, axis=-2, keepdims=True)
        return self.factor * normals

    def p(self, theta: ArrayLike) -> FloatArray:
        """``I_{sin²θ}(1/2, (d−1)/2)``: ``(w*ᵀx)²/(‖w*‖²‖x‖²) ~ Beta(1/2, (d−1)/2)``."""
        return _beta_cdf_at_sin2(0.5, (self.dim - 1) / 2, as_angles("theta", theta))

    def mass_near_teacher(self, theta: ArrayLike) -> FloatArray:
        """``P[α ≤ θ] = I_{sin²θ}((d−1)/2, 1/2)`` (the same Beta law, other tail)."""
        return _beta_cdf_at_sin2((self.dim - 1) / 2, 0.5, as_angles("theta", theta))

    def risk(self, w: ArrayLike) -> FloatArray:
        """Sheppard's formula ``∠(w, w*)/π``; the zero student is wrong everywhere (risk 1)."""
        beta = self.student_angle(w)
        return np.where(np.isnan(beta), 1.0, beta / np.pi)

    def params(self) -> dict[str, Any]:
        """``dim``, ``radius``, ``scale`` and ``w_star``."""
        return {
            "dim": self.dim,
            "radius": self.radius,
            "scale": self.scale,
            "w_star": self.w_star.tolist(),
        }
