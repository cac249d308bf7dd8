"""Angular ("polarised") families, rotation-invariant around ``w*`` (THEORY.md §2.3).

``x = c·r·(±cos α · u* + sin α · v)`` with ``u* = w*/‖w*‖``, ``v`` uniform on the unit sphere of
``w*⊥``, a fair sign, a radius ``r`` (see :mod:`kdverify.data._radial`) and an angle
``α ∈ [0, π/2]`` drawn from an :class:`AngleLaw`, all independent. Then ``p(θ) = P[α ≥ π/2 − θ]``,
and the risk depends on ``w`` only through ``β = ∠(w, w*)``:

- ``d = 2``: ``R(β) = p(β)/2`` for ``β ≤ π/2``;
- ``d ≥ 3``: ``R(β) = E_α[F_{d−1}(−cot β · cot α)]``, where ``F_m`` is the CDF of one coordinate
  of a uniform point on ``S^{m−1}`` (a coordinate of ``v`` when ``m = d − 1``), by one quadrature;
- ``R(π − β) = 1 − R(β)``, ``R(0) = 0``, ``R(π/2) = 1/2``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Protocol, cast

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, special

from kdverify._util.numerics import HALF_PI
from kdverify._util.validation import FloatArray, as_generator, positive_float, positive_int, real_number
from kdverify.data._radial import check_radius, radial_factor, radii
from kdverify.data.base import Family, as_angles, default_teacher
from kdverify.errors import InvalidArgument, NotConverged

__all__ = ["AngleLaw", "AngularFamily", "BetaPolarised", "Margin", "ScaledBeta"]

# Absolute accuracy asked of every risk quadrature, and the largest error estimate accepted.
QUAD_EPSABS = 1e-12
QUAD_MAX_ERROR = 1e-9
# Nodes of the first Gauss–Jacobi rule that gives many risks at once, and how often an angle's
# node count may double (until two successive rules agree) before it gets an adaptive quadrature.
JACOBI_NODES = 16
JACOBI_DOUBLINGS = 5


class AngleLaw(Protocol):
    """The law of the angle ``α ∈ [0, π/2]`` between a point and the line through ``w*``.

    It must put no mass on ``α = π/2`` (the teacher's boundary) nor on ``α = 0``.
    """

    def boundary_mass(self, theta: FloatArray) -> FloatArray:
        """``P[α ≥ π/2 − θ]``, which is ``p(θ)``."""

    def cdf(self, theta: FloatArray) -> FloatArray:
        """``P[α ≤ θ]``."""

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> FloatArray:
        """Independent draws of ``α``."""

    def expect_near_boundary(self, h: Callable[[float], float], width: float) -> tuple[float, float]:
        """``E[h(γ) 1[γ ≤ width]]`` for bounded ``h`` of the angle ``γ = π/2 − α`` to the teacher's
        boundary, with an absolute error estimate. Integrating in ``γ`` rather than ``α`` keeps full
        relative precision for tiny widths (``α`` itself cannot resolve ``π/2 − 10⁻¹⁵``)."""

    def params(self) -> dict[str, Any]:
        """The law's parameters as plain JSON values."""


@dataclass(frozen=True)
class ScaledBeta:
    """``α = (π/2 − margin)·B`` with ``B ~ Beta(a, b)``: no data within ``margin`` of the boundary.

    ``p(θ) = I_{(θ − margin)/(π/2 − margin)}(b, a)`` for ``θ ≥ margin`` and 0 below;
    ``P[α ≤ θ] = I_{θ/(π/2 − margin)}(a, b)``.
    """

    a: float
    b: float
    margin: float = 0.0

    def __post_init__(self) -> None:
        positive_float("a", self.a)
        positive_float("b", self.b)
        try:
            margin = float(self.margin)
        except (TypeError, ValueError):
            margin = math.nan
        if not 0 <= margin < HALF_PI:
            raise InvalidArgument(f"margin={self.margin!r} must lie in [0, π/2) (radians).")

    @property
    def largest(self) -> float:
        """The largest angle ``π/2 − margin``."""
        return HALF_PI - self.margin

    def boundary_mass(self, theta: FloatArray) -> FloatArray:
        """``I_x(b, a)`` with ``x = (θ − margin)/(π/2 − margin)`` clipped to ``[0, 1]``."""
        return special.betainc(self.b, self.a, np.clip((theta - self.margin) / self.largest, 0, 1))

    def cdf(self, theta: FloatArray) -> FloatArray:
        """``I_x(a, b)`` with ``x = θ/(π/2 − margin)`` clipped to ``[0, 1]``."""
        return special.betainc(self.a, self.b, np.clip(theta / self.largest, 0, 1))

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> FloatArray:
        """``(π/2 − margin)·B``."""
        return self.largest * rng.beta(self.a, self.b, size=shape)

    def expect_near_boundary(self, h: Callable[[float], float], width: float) -> tuple[float, float]:
        """Quadrature over ``S = 1 − B ~ Beta(b, a)`` on ``[0, (width − margin)/(π/2 − margin)]``,
        where ``γ = margin + (π/2 − margin)·S``; the Beta density's endpoint singularities go into
        QUADPACK's algebraic weight, so they cost no accuracy."""
        stop = min((width - self.margin) / self.largest, 1.0)
        if stop <= 0:
            return 0.0, 0.0
        # Up to 1 both endpoint singularities of the density go into the weight; short of 1 the
        # factor (1 − S)^{a−1} is bounded and stays in the integrand.
        upper_exponent = self.a - 1 if stop == 1 else 0.0

        def integrand(t: float) -> float:
            return (1.0 if stop == 1 else (1 - t) ** (self.a - 1)) * h(self.margin + self.largest * t)

        # QUADPACK warns when it cannot meet its tolerance; the returned error estimate is
        # checked by the caller (NotConverged above QUAD_MAX_ERROR), so the warning is noise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            value, error = integrate.quad(
                integrand,
                0.0,
                stop,
                weight="alg",
                wvar=(self.b - 1, upper_exponent),
                epsabs=QUAD_EPSABS,
                epsrel=1e-10,
                limit=200,
            )
        norm = math.exp(special.betaln(self.a, self.b))
        return value / norm, error / norm

    def params(self) -> dict[str, Any]:
        """``a``, ``b`` and ``margin``."""
        return {"a": self.a, "b": self.b, "margin": self.margin}


def sphere_coordinate_cdf(m: int, t: float) -> float:
    """``F_m(t)`` for ``t ≤ 0``: ``P[u_1 ≤ t]`` for ``u`` uniform on ``S^{m−1}``, ``m ≥ 2``.

    ``u_1² ~ Beta(1/2, (m−1)/2)``, so ``F_m(t) = ½ P[u_1² ≥ t²] = ½ I_{1−t²}((m−1)/2, 1/2)``.
    """
    if t <= -1:
        return 0.0
    if t * t <= 0.5:
        # ½ P[u_1² ≥ t²] directly: 1 − t² would round away a small t² (a deviation from ½ of
        # order |t|·√m that the risk quadrature resolves at 1e-9 when d is in the thousands).
        return 0.5 * float(special.betaincc(0.5, (m - 1) / 2, t * t))
    return 0.5 * float(special.betainc((m - 1) / 2, 0.5, (1 + t) * (1 - t)))


@lru_cache(maxsize=256)
def _jacobi_rule(nodes: int, exponent: float, power: float) -> tuple[FloatArray, FloatArray]:
    """Gauss–Jacobi nodes ``v`` and weights on ``[0, 1]`` for the weight ``(1 − v)^exponent v^power``."""
    x, weights = special.roots_jacobi(nodes, exponent, power)  # on [−1, 1], weight (1 − x)^e (1 + x)^p
    return (1 + x) / 2, weights / 2 ** (exponent + power + 1)  # dv = dx/2, (1 − v)^e v^p = 2^(−e−p)(…)


def sphere_coordinate_cdfs(m: int, t: FloatArray) -> FloatArray:
    """:func:`sphere_coordinate_cdf` for an array of ``t ≤ 0``."""
    t = np.asarray(t, dtype=np.float64)
    result = np.zeros(t.shape)
    near, far = t * t <= 0.5, (t * t > 0.5) & (t > -1)
    result[near] = 0.5 * special.betaincc(0.5, (m - 1) / 2, t[near] ** 2)
    result[far] = 0.5 * special.betainc((m - 1) / 2, 0.5, (1 + t[far]) * (1 - t[far]))
    return result


class AngularFamily(Family):
    """Data ``x = c·r·(±cos α · u* + sin α · v)`` for a given :class:`AngleLaw` (module docstring).

    ``scale`` is the standard deviation of the teacher logit (default 1; ``None`` for ``c = 1``).
    """

    # Risks come from a quadrature whose error estimate is at most QUAD_MAX_ERROR; an estimate is
    # not a bound, so comparisons allow ten times it.
    accuracy: ClassVar[float] = 10 * QUAD_MAX_ERROR

    name = "angular"

    def __init__(
        self,
        dim: int,
        law: AngleLaw,
        *,
        w_star: ArrayLike | None = None,
        radius: str = "gaussian",
        scale: float | None = 1.0,
    ) -> None:
        dim = positive_int("dim", dim, min_value=2)
        super().__init__(default_teacher(dim, w_star))
        self.law = law
        self.radius = check_radius(radius)
        self.scale = scale
        w_norm = math.hypot(*self.w_star)  # no overflow or underflow of the squares
        mean_cos2, _ = law.expect_near_boundary(lambda gamma: math.sin(gamma) ** 2, HALF_PI)
        self.factor = radial_factor(radius, scale, dim, w_norm, mean_cos2)
        # Householder reflection H = I − 2hhᵀ/hᵀh maps e_1 to u* (h = 0 when u* = e_1).
        self._householder = np.eye(dim)[0] - self.w_star / w_norm

    def sample(self, n: int, rng: np.random.Generator, *, trials: int | None = None) -> FloatArray:
        """Draws built in coordinates where ``u* = e_1``, then reflected onto ``u*``."""
        *lead, _, n = self._sample_shape(n, trials)
        rng = as_generator("rng", rng)
        normals = rng.standard_normal((*lead, self.dim, n))
        alpha = self.law.sample((*lead, n), rng)
        signs = rng.choice([-1.0, 1.0], size=(*lead, n))
        rest = normals[..., 1:, :]
        directions = np.concatenate(
            [
                (signs * np.cos(alpha))[..., None, :],
                np.sin(alpha)[..., None, :] * rest / np.linalg.norm(rest, axis=-2, keepdims=True),
            ],
            axis=-2,
        )
        h = self._householder
        h2 = float(h @ h)
        if h2 > 0:
            directions -= (2 / h2) * h[:, None] * np.einsum("d,...dn->...n", h, directions)[..., None, :]
        return self.factor * radii(normals, self.radius) * directions

    def p(self, theta: ArrayLike) -> FloatArray:
        """``P[α ≥ π/2 − θ]`` from the angle law."""
        return self.law.boundary_mass(as_angles("theta", theta))

    def mass_near_teacher(self, theta: ArrayLike) -> FloatArray:
        """``P[α ≤ θ]`` from the angle law."""
        return self.law.cdf(as_angles("theta", theta))

    def risk_at_angle(self, beta: float) -> float:
        """``R`` of any student at angle ``β ∈ [0, π]`` from ``w*`` (module docstring)."""
        beta = real_number("beta", beta)
        if not 0 <= beta <= np.pi:
            raise InvalidArgument(f"beta={beta!r} must lie in [0, π] (radians).")
        if beta > HALF_PI:
            return 1.0 - self.risk_at_angle(np.pi - beta)
        if beta == 0:
            return 0.0
        if beta == HALF_PI:
            return 0.5
        if self.dim == 2:
            return 0.5 * float(self.law.boundary_mass(np.asarray(beta)))
        cot_beta = 1.0 / math.tan(beta)
        m = self.dim - 1
        # cot α = tan γ for the angle γ = π/2 − α of a point to the boundary; only γ ≤ β counts.
        value, error = self.law.expect_near_boundary(
            lambda gamma: sphere_coordinate_cdf(m, -cot_beta * math.tan(gamma)), beta
        )
        if not error <= QUAD_MAX_ERROR:
            raise NotConverged(f"risk quadrature at beta={beta!r}: error estimate {error:.3g}.")
        return value

    def risk(self, w: ArrayLike) -> FloatArray:
        """``R(β(w))`` (as :meth:`risk_at_angle`) for every student at once; the zero student has risk 1."""
        beta = self.student_angle(w)
        flat = beta.reshape(-1)
        result = np.ones(flat.shape)
        known = ~np.isnan(flat)
        folded = np.minimum(flat[known], np.pi - flat[known])
        risks = np.where(folded >= HALF_PI, 0.5, 0.0)
        inner = (folded > 0) & (folded < HALF_PI)
        angles, where = np.unique(folded[inner], return_inverse=True)
        risks[inner] = self._inner_risks(angles)[where]
        result[known] = np.where(flat[known] > HALF_PI, 1.0 - risks, risks)
        return result.reshape(beta.shape)

    def _inner_risks(self, betas: FloatArray) -> FloatArray:
        """``R`` at angles in ``(0, π/2)``. On a :class:`ScaledBeta` law in ``d ≥ 3``, Gauss–Jacobi
        rules (:meth:`_jacobi_risks`) for all angles at once, the node count doubling from
        :data:`JACOBI_NODES` for the angles whose last two rules differ by more than a tenth of
        :data:`QUAD_MAX_ERROR` (the rules converge geometrically, so the difference estimates the
        coarser rule's error); an angle still unsettled after :data:`JACOBI_DOUBLINGS` doublings (near
        π/2, where tan γ's pole approaches the interval) gets :meth:`risk_at_angle`'s adaptive
        quadrature."""
        if self.dim == 2:
            return 0.5 * np.asarray(self.law.boundary_mass(betas), dtype=np.float64)
        values = np.full(betas.shape, np.nan)
        if isinstance(self.law, ScaledBeta):
            pending = np.arange(betas.size)
            coarse = self._jacobi_risks(betas, JACOBI_NODES)
            for nodes in JACOBI_NODES * 2 ** np.arange(1, JACOBI_DOUBLINGS + 1):
                fine = self._jacobi_risks(betas[pending], int(nodes))
                agreed = np.abs(fine - coarse) <= QUAD_MAX_ERROR / 10
                values[pending[agreed]] = fine[agreed]
                pending, coarse = pending[~agreed], fine[~agreed]
        pending = np.isnan(values)
        values[pending] = [self.risk_at_angle(float(beta)) for beta in betas[pending]]
        return values

    def _jacobi_risks(self, betas: FloatArray, nodes: int) -> FloatArray:
        """``R(β) = E[F_{d−1}(−cot β · tan γ) 1[γ ≤ β]]`` (module docstring) by one Gauss–Jacobi rule.

        With ``γ = margin + L·s`` (``L = π/2 − margin``), ``s ~ Beta(b, a)`` and ``s = stop·v``,
        ``stop = (β − margin)/L``: ``R = stop^b/B(a, b) ∫_0^1 v^{b−1}(1 − v)^{(d−3)/2} g(v) dv`` with
        ``g = (1 − stop·v)^{a−1} F_{d−1}(…)/(1 − v)^{(d−3)/2}``, analytic on ``[0, 1]``: ``F_m(t)``
        vanishes like ``(1 + t)^{(m−1)/2}`` at ``t = −1`` (``γ = β``, ``v = 1``), and the weight takes
        that factor and the density's ``v^{b−1}``, so the rule converges geometrically."""
        law = cast(ScaledBeta, self.law)
        m = self.dim - 1
        exponent = (m - 1) / 2
        v, weights = _jacobi_rule(nodes, exponent, law.b - 1)
        stop = np.clip((betas - law.margin) / law.largest, 0.0, 1.0)
        s = stop[:, None] * v
        t = -np.tan(law.margin + law.largest * s) / np.tan(betas)[:, None]
        # In high dimension (1 − v)^exponent underflows at the last nodes, making g 0/0 or x/0 there:
        # such an angle's rule is NaN or infinite, never settles, and goes to the adaptive quadrature.
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            g = (1 - s) ** (law.a - 1) * sphere_coordinate_cdfs(m, t) / (1 - v) ** exponent
            risks = stop**law.b * (g @ weights) / math.exp(special.betaln(law.a, law.b))
        return np.asarray(np.where(np.isfinite(risks), risks, np.nan), dtype=np.float64)

    def params(self) -> dict[str, Any]:
        """``dim``, the angle law's parameters, ``radius``, ``scale`` and ``w_star``."""
        return {
            "dim": self.dim,
            **self.law.params(),
            "radius": self.radius,
            "scale": self.scale,
            "w_star": self.w_star.tolist(),
        }


class BetaPolarised(AngularFamily):
    """``α = (π/2)·B``, ``B ~ Beta(a, b)``: ``p(θ) = I_{2θ/π}(b, a) ~ θ^b`` near 0 and
    ``P[α ≤ θ] = I_{2θ/π}(a, b) ~ θ^a`` (so ``κ = b``, ``λ = a`` in ``rate-polynomial``)."""

    name = "beta-polarised"

    def __init__(
        self,
        dim: int,
        a: float,
        b: float,
        *,
        w_star: ArrayLike | None = None,
        radius: str = "gaussian",
        scale: float | None = 1.0,
    ) -> None:
        super().__init__(dim, ScaledBeta(a, b), w_star=w_star, radius=radius, scale=scale)

    def params(self) -> dict[str, Any]:
        """As :meth:`AngularFamily.params`, without the zero margin."""
        params = super().params()
        del params["margin"]
        return params


class Margin(AngularFamily):
    """``α = (π/2 − margin)·B``, ``B ~ Beta(a, b)`` (default ``a = b = 1``: ``α`` uniform on
    ``[0, π/2 − margin]``): no mass within ``margin`` radians of the boundary, so ``p(θ) = 0``
    for ``θ ≤ margin`` (``rate-margin``)."""

    name = "margin"

    def __init__(
        self,
        dim: int,
        margin: float,
        *,
        a: float = 1.0,
        b: float = 1.0,
        w_star: ArrayLike | None = None,
        radius: str = "gaussian",
        scale: float | None = 1.0,
    ) -> None:
        super().__init__(dim, ScaledBeta(a, b, margin), w_star=w_star, radius=radius, scale=scale)
