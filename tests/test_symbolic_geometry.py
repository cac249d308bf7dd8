"""The geometry and rate derivations against scipy's incomplete beta and kdverify.measure.bounds.

Tolerance for ``scipy.special.betainc(a, b, x)``: Boost's algorithm is good to a few ulps of I
plus the conditioning in x (it forms 1 − x internally); we allow eps·(16 + 8·κ)·I with
``κ = x I'(x)/I(x)``, the relative condition number in x, which also covers the few ulps of
relative error in the x we hand it (sin²θ, 2θ/π, a rescaled angle). Measured against 40-digit
mpmath on 700 points per parameter pair (including x within 1e-12 of 0 and 1), the worst error was
below eps·(6 + 0.8·κ). Explicit polynomials ``Σ c_k x^k`` are good to (degree + 3)·eps·Σ|c_k x^k|.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from kdverify.errors import InvalidArgument
from kdverify.measure.bounds import risk_bound
from kdverify.theory import get_derivation, rate_polynomial_constants
from kdverify.theory.geometry import (
    BETA_PARAMETERS,
    ISOTROPIC_DIMENSIONS,
    MARGIN_PARAMETERS,
    THETA,
    beta_polynomial,
)

EPS = np.finfo(np.float64).eps
HALF_PI = math.pi / 2
SETTINGS = settings(derandomize=True, max_examples=30, deadline=None)
angles = st.floats(1e-9, HALF_PI, allow_nan=False)

ISOTROPIC = get_derivation("geometry-isotropic")
POLARISED = get_derivation("geometry-beta-polarised")
MARGIN = get_derivation("geometry-margin")
RISK = get_derivation("risk-bound")
RATE_MARGIN = get_derivation("rate-margin")
RATE = get_derivation("rate-polynomial")


def betainc_tolerance(a: float, b: float, x: float) -> float:
    """eps·(16 + 8κ)·I (module docstring)."""
    value = special.betainc(a, b, x)
    if x <= 0:
        return 0.0
    if x >= 1:
        return math.inf if a < 1 or b < 1 else 16 * EPS
    derivative = x ** (a - 1) * (1 - x) ** (b - 1) / special.beta(a, b)
    return EPS * (16 * value + 8 * x * derivative)


def polynomial_tolerance(a: int, b: int, x: float) -> float:
    """(degree + 3)·eps·Σ|c_k x^k| for the explicit polynomial of I_x(a, b)."""
    poly = sp.Poly(beta_polynomial(a, b), sp.Symbol("x", positive=True))
    magnitude = sum(abs(float(c)) * x**k for (k,), c in poly.terms())
    return (poly.degree() + 3) * EPS * magnitude


class TestIsotropic:
    @SETTINGS
    @given(st.sampled_from(ISOTROPIC_DIMENSIONS), angles)
    def test_p_is_the_incomplete_beta(self, d: int, theta: float) -> None:
        """p_d(θ) (2θ/π, sin θ, …: sums of positive terms, 16 eps relative) = I_{sin²θ}(1/2, (d−1)/2)."""
        name = f"p[d={d}]"
        lambdified = ISOTROPIC.numpy_function(name)(theta)
        reference = ISOTROPIC.reference(name, theta)
        x = math.sin(theta) ** 2
        assert abs(lambdified - reference) <= 16 * EPS * reference
        assert abs(special.betainc(0.5, (d - 1) / 2, x) - reference) <= betainc_tolerance(0.5, (d - 1) / 2, x)

    def test_closed_forms_of_the_theory(self) -> None:
        """THEORY.md §2.1: p(θ) = 2θ/π for d = 2 and sin θ for d = 3."""
        assert ISOTROPIC.expressions["p[d=2]"] == 2 * THETA / sp.pi
        assert ISOTROPIC.expressions["p[d=3]"] == sp.sin(THETA)


class TestBetaPolarised:
    @SETTINGS
    @given(st.sampled_from(BETA_PARAMETERS), angles)
    def test_p_and_mass_near_teacher(self, parameters: tuple[int, int], theta: float) -> None:
        """p(θ) = I_{2θ/π}(b, a) and P[α ≤ θ] = I_{2θ/π}(a, b) as explicit polynomials."""
        a, b = parameters
        x = 2 * theta / math.pi
        for name, (first, second) in ((f"p[a={a},b={b}]", (b, a)), (f"mass_near_teacher[a={a},b={b}]", (a, b))):
            lambdified = POLARISED.numpy_function(name)(theta)
            reference = POLARISED.reference(name, theta)
            assert abs(lambdified - reference) <= polynomial_tolerance(first, second, x)
            assert abs(special.betainc(first, second, x) - reference) <= betainc_tolerance(first, second, x)


class TestMargin:
    @SETTINGS
    @given(st.sampled_from(MARGIN_PARAMETERS), st.floats(0, HALF_PI), st.floats(0.01, HALF_PI - 0.01))
    def test_p_and_mass_near_teacher(self, parameters: tuple[int, int], theta: float, margin: float) -> None:
        """p(θ) = I_{(θ−θ_m)/(π/2−θ_m)}(b, a) above the margin and 0 below; P[α ≤ θ] = I_{θ/(π/2−θ_m)}(a, b)."""
        a, b = parameters
        largest = HALF_PI - margin
        for name, (first, second), x in (
            (f"p[a={a},b={b}]", (b, a), min(max((theta - margin) / largest, 0.0), 1.0)),
            (f"mass_near_teacher[a={a},b={b}]", (a, b), min(theta / largest, 1.0)),
        ):
            lambdified = float(MARGIN.numpy_function(name)(theta, margin))
            tolerance = betainc_tolerance(first, second, x) + polynomial_tolerance(first, second, x)
            assert abs(lambdified - special.betainc(first, second, x)) <= tolerance
            assert abs(MARGIN.reference(name, theta, margin) - special.betainc(first, second, x)) <= tolerance
        if theta <= margin:
            assert MARGIN.numpy_function(f"p[a={a},b={b}]")(theta, margin) == 0


def _refinement_slack(curvature: float) -> float:
    """risk_bound refines with scipy's bounded Brent: θ is found to ≤ 3(√eps·π/2 + 1e-12), which
    costs ≤ curvature/2·δθ² in value; its float evaluations add 32 eps."""
    step = 3 * (math.sqrt(EPS) * HALF_PI + 1e-12)
    return curvature / 2 * step**2 + 32 * EPS


class TestRiskBound:
    @SETTINGS
    @given(st.integers(2, 300))
    def test_isotropic_d2_minimum(self, n: int) -> None:
        """min_θ 2θ/π + (1 − 2θ/π)^n = 1 − n^(−1/(n−1)) + n^(−n/(n−1)), against the grid-and-refine
        minimiser of kdverify.measure.bounds (which can only land above the minimum, by the slack)."""
        closed = RISK.numpy_function("bound[isotropic d=2]")(n)
        assert abs(closed - RISK.reference("bound[isotropic d=2]", n)) <= 8 * EPS
        theta_star = RISK.numpy_function("minimiser[isotropic d=2]")(n)
        curvature = n * (n - 1) * (2 / math.pi) ** 2 * (1 - 2 * theta_star / math.pi) ** (n - 2)
        numeric = risk_bound(lambda theta: 2 * theta / np.pi, n).value
        assert closed - 32 * EPS <= numeric <= closed + _refinement_slack(curvature)


class TestRateMargin:
    @SETTINGS
    @given(st.sampled_from(MARGIN_PARAMETERS), st.floats(0.01, HALF_PI - 0.01), st.integers(1, 60))
    def test_bound_at_the_margin(self, parameters: tuple[int, int], margin: float, n: int) -> None:
        """p(π/2 − θ_m)^n equals B_n(θ_m) from scipy (relative error of the base times n) and bounds
        the numerically minimised risk bound. That minimiser may stop δθ = 3(√eps·π/2 + 1e-12) away
        from the kink at θ_m; B_n is Lipschitz with constant (1 + n)·max pdf/(π/2 − θ_m), and the Beta
        densities used here are at most 2 (Beta(1, 1): 1; Beta(3, 2) and Beta(2, 3): 16/9)."""
        a, b = parameters
        x = max((HALF_PI - 2 * margin) / (HALF_PI - margin), 0.0)
        base = special.betainc(b, a, x)
        bound = RATE_MARGIN.numpy_function(f"bound[margin a={a},b={b}]")(margin, n)
        relative = (betainc_tolerance(b, a, x) + polynomial_tolerance(b, a, x)) / base if base else 0.0
        assert abs(bound - base**n) <= n * relative * base**n + 4 * n * EPS * base**n

        def p(theta: np.ndarray) -> np.ndarray:
            return special.betainc(b, a, np.clip((theta - margin) / (HALF_PI - margin), 0, 1))

        kink = (1 + n) * 2 / (HALF_PI - margin) * 3 * (math.sqrt(EPS) * HALF_PI + 1e-12)
        assert risk_bound(p, n).value <= bound * (1 + n * relative + 4 * n * EPS) + kink + 32 * EPS


class TestRatePolynomial:
    def test_uniform_angles_give_two_log_n_over_n(self) -> None:
        """a = b = 1: c = c' = 2/π, κ = λ = 1, so C = c/c' + 1 = 2; y = c'θ_0 = 1/2 ≥ 1/e gives n_0 = 3."""
        constants = rate_polynomial_constants(1, 1)
        assert abs(constants.C - 2.0) <= 8 * EPS
        assert constants.n0 == 3
        assert constants.c == constants.c_prime == pytest.approx(2 / math.pi, rel=4 * EPS)

    @SETTINGS
    @given(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]), st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]),
           st.sampled_from([math.pi / 8, math.pi / 4, math.pi / 3]))
    def test_assumptions_and_threshold(self, a: float, b: float, theta0: float) -> None:
        """p(θ) ≤ c θ^b and P[α ≤ θ] ≥ c' θ^a on a grid of [0, θ_0] (up to scipy's tolerance), and n_0 is
        the least n ≥ 3 with θ_n ≤ θ_0."""
        constants = rate_polynomial_constants(a, b, theta0=theta0)
        assert (constants.kappa, constants.lam) == (b, a)
        for theta in np.linspace(theta0 / 400, theta0, 400):
            x = 2 * theta / math.pi
            assert special.betainc(b, a, x) <= constants.c * theta**b + betainc_tolerance(b, a, x)
            assert special.betainc(a, b, x) >= constants.c_prime * theta**a - betainc_tolerance(a, b, x)
        assert constants.theta_n(constants.n0) <= theta0
        assert constants.n0 == 3 or constants.theta_n(constants.n0 - 1) > theta0

    @SETTINGS
    @given(st.sampled_from([0.5, 1.0, 2.0, 3.0]), st.sampled_from([0.5, 1.0, 2.0, 3.0]), st.integers(0, 10**5))
    def test_rate_bounds_the_risk_bound(self, a: float, b: float, extra: int) -> None:
        """For n ≥ n_0: B_n(θ_n) = p(θ_n) + p(π/2 − θ_n)^n ≤ C (log n / n)^{b/a}, and so is the numerically
        minimised risk bound. p(π/2 − θ) = I_{1−x}(b, a) carries n times the base's relative error."""
        constants = rate_polynomial_constants(a, b)
        n = constants.n0 + extra
        theta_n = constants.theta_n(n)
        assert abs(RATE.numpy_function("theta_n")(n, b, a, constants.c_prime) - theta_n) <= 16 * EPS * theta_n
        x = 2 * theta_n / math.pi
        far = special.betainc(b, a, 1 - x)
        far_relative = betainc_tolerance(b, a, 1 - x) / far + 2 * EPS
        value = special.betainc(b, a, x) + far**n
        slack = betainc_tolerance(b, a, x) + n * far_relative * far**n
        bound = constants.bound(n)
        assert value <= bound + slack

        def p(theta: np.ndarray) -> np.ndarray:
            return special.betainc(b, a, 2 * np.asarray(theta) / np.pi)

        if extra < 2000:  # the grid minimiser is the slow part; its value is at most B_n(θ_n) anyway
            assert risk_bound(p, n).value <= bound + slack + 32 * EPS

    def test_a_constant_without_the_plus_one_is_caught(self) -> None:
        """Planted bug: dropping the "+ 1" (the n^(−κ/λ) term) from C makes B_n(θ_n) exceed the bound
        at n_0 for (a, b) = (3, 1/2), by far more than the tolerance used above."""
        constants = rate_polynomial_constants(3, 0.5)
        n = constants.n0
        x = 2 * constants.theta_n(n) / math.pi
        value = special.betainc(0.5, 3, x) + special.betainc(0.5, 3, 1 - x) ** n
        wrong = (constants.C - 1) * (math.log(n) / n) ** (0.5 / 3)
        assert value > wrong * (1 + 1e-6)
        assert value <= constants.bound(n)

    @pytest.mark.parametrize(
        ("a", "b", "theta0", "message"),
        [
            (0.0, 1.0, math.pi / 4, "a=0.0"),
            (1.0, -1.0, math.pi / 4, "b=-1.0"),
            (1.0, 1.0, 2.0, "theta0=2.0"),
            (1.0, 2.0, math.pi / 2, "need θ_0 < π/2"),
        ],
        ids=["a-zero", "b-negative", "theta0-too-large", "theta0-half-pi-with-b-above-1"],
    )
    def test_bad_arguments(self, a: float, b: float, theta0: float, message: str) -> None:
        with pytest.raises(InvalidArgument, match=message):
            rate_polynomial_constants(a, b, theta0=theta0)
