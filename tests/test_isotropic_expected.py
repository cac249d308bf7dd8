"""The exact expected risk on isotropic data (:func:`kdverify.measure.expected.exact_isotropic_expected_risks`),
the exact numbers it is made of (:class:`kdverify.measure.pi_rational.PiRational`), and
``monotone-risk-expected`` deciding isotropic windows with it."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import find

from kdverify.claims._instances import MAX_N, sweep_sizes
from kdverify.claims.base import Budget, Instance
from kdverify.claims.monotonicity import ISOTROPIC_METHOD, expected_risk_sweeps
from kdverify.claims.registry import get_claim
from kdverify.data import from_params
from kdverify.data.isotropic import Isotropic
from kdverify.errors import InvalidArgument, NotConverged
from kdverify.measure import pi_rational
from kdverify.measure.expected import exact_isotropic_expected_risks
from kdverify.measure.pi_rational import PiRational, pi_bounds
from kdverify.measure.stats import betting_mean
from kdverify.training import fit_distilled
from kdverify.training.limits import linear_limit


def as_sympy(value: PiRational) -> sp.Expr:
    def poly(coefficients: tuple[Fraction, ...]) -> sp.Expr:
        return sum((sp.Rational(c.numerator, c.denominator) * sp.pi**k for k, c in enumerate(coefficients)), sp.S(0))

    return poly(value.numerator) / poly(value.denominator)


@pytest.mark.parametrize(("n", "dim"), [(1, 2), (1, 3), (2, 4), (2, 5), (3, 5), (3, 7)])
def test_closed_form_is_sympy_integral_of_the_angle_law(n: int, dim: int) -> None:
    """``E θ/π`` with density ``∝ cos^{n−1}θ sin^{d−n−1}θ`` on ``[0, π/2]``, integrated by sympy."""
    theta = sp.symbols("theta")
    density = sp.cos(theta) ** (n - 1) * sp.sin(theta) ** (dim - n - 1)
    expected = sp.integrate(theta * density, (theta, 0, sp.pi / 2)) / sp.integrate(density, (theta, 0, sp.pi / 2))
    (value,) = exact_isotropic_expected_risks(Isotropic(dim), [n])
    assert sp.simplify(as_sympy(value) - expected / sp.pi) == 0


def test_closed_form_matches_quadrature_of_the_beta_law_in_high_dimension() -> None:
    """At ``d = 40``: against mpmath quadrature of ``E arccos(√B)/π``, ``B ~ Beta(n/2, (d−n)/2)``."""
    dim = 40
    values = exact_isotropic_expected_risks(Isotropic(dim), range(1, dim + 1))
    for n, value in zip(range(1, dim), values, strict=False):
        assert float(value) == pytest.approx(mean_angle_over_pi(n, dim), rel=1e-12), n
    assert float(values[-1]) == 0.0


def mean_angle_over_pi(n: int, dim: int) -> float:
    """``E arccos(√B)/π`` for ``B ~ Beta(n/2, (d−n)/2)`` by mpmath's quadrature."""
    mpmath.mp.dps = 30
    a, b = mpmath.mpf(n) / 2, mpmath.mpf(dim - n) / 2
    density = lambda t: t ** (a - 1) * (1 - t) ** (b - 1) / mpmath.beta(a, b)  # noqa: E731
    return float(mpmath.quad(lambda t: mpmath.acos(mpmath.sqrt(t)) * density(t), [0, 1]) / mpmath.pi)


@pytest.mark.parametrize("radius", ["gaussian", "sphere"])
def test_trained_students_risk_has_the_exact_mean(radius: str) -> None:
    """Students trained by gradient descent (and closed-form limits) on fresh training sets:
    betting intervals of their mean risk contain the exact value, for any ``w*``, scale and ``T``."""
    rng = np.random.default_rng(20261130)
    for dim, n, temperature in ((3, 1, 1.0), (5, 2, 2.0), (6, 4, 0.5)):
        family = Isotropic(dim, w_star=rng.normal(size=dim) * 3, radius=radius, scale=0.7)
        (exact,) = exact_isotropic_expected_risks(family, [n], temperature=temperature)
        teacher = family.teacher(temperature)
        data = family.sample(n, rng, trials=400)
        trained = fit_distilled(data, teacher, method="gd", max_iter=5000)
        assert trained.converged.all()
        for students in (trained.w, linear_limit(family.sample(n, rng, trials=2000), teacher, None)):
            estimate = betting_mean(family.risk(students), confidence=0.999)
            assert estimate.lower <= float(exact) <= estimate.upper, (dim, n, estimate, float(exact))


def test_expected_risk_is_zero_from_d_points_and_refuses_what_it_does_not_cover() -> None:
    assert [float(r) for r in exact_isotropic_expected_risks(Isotropic(4), [4, 9])] == [0.0, 0.0]
    with pytest.raises(InvalidArgument, match="w0"):
        exact_isotropic_expected_risks(Isotropic(3), [1], w0=[0, 1, 0])
    with pytest.raises(InvalidArgument, match="temperature"):
        exact_isotropic_expected_risks(Isotropic(3), [1], temperature=-1)
    with pytest.raises(InvalidArgument, match="Isotropic"):
        exact_isotropic_expected_risks(from_params("anisotropic", dim=3), [1])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="n="):
        exact_isotropic_expected_risks(Isotropic(3), [0])


def test_pi_bounds_bracket_pi() -> None:
    mpmath.mp.dps = 220
    reference = Fraction(mpmath.nstr(mpmath.pi, 215, strip_zeros=False))
    for digits in (32, 128, 200):
        lo, hi = pi_bounds(digits)
        assert lo < reference - Fraction(1, 10**212) and reference + Fraction(1, 10**212) < hi
        assert hi - lo < Fraction(1, 10**digits)


def test_comparisons_are_exact() -> None:
    pi = PiRational([0, 1])
    lo, hi = pi_bounds(100)  # closer to π than the first bounds used: decided after refinement
    assert lo < pi < hi and not pi <= lo and pi >= lo
    assert PiRational([1, 2], [0, 1]) == PiRational([3, 7, 2], [0, 3, 1])  # (1 + 2π)/π, times (π + 3)/(π + 3)
    assert PiRational([Fraction(355, 113)]) > pi > PiRational([Fraction(22, 7)]) - Fraction(1, 500) and pi < 22
    assert float(PiRational([0, 0, 1], [0, 4])) == pytest.approx(np.pi / 4, rel=1e-16)
    assert PiRational([1], [-1]) < 0 < PiRational([-1], [-1, 0, 0])
    with pytest.raises(InvalidArgument, match="zero polynomial"):
        PiRational([1], [0])
    with pytest.raises(ZeroDivisionError):
        PiRational([0, 1]) / PiRational([0])


def test_an_undecidable_sign_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pi_rational, "MAX_PI_DIGITS", 128)
    with pytest.raises(NotConverged, match="not decided"):
        _ = PiRational([0, 1]) < pi_bounds(300)[0]


def test_isotropic_window_is_decided_exactly_at_every_size() -> None:
    claim = get_claim("monotone-risk-expected")
    values = {"family_params": {"dim": 16, "radius": "sphere"}, "n": 1, "n_hi": 12, "seed": 3, "temperature": 2.0}
    instance = Instance("isotropic", {**values, "w0": None})
    evidence = claim.check(instance, Budget(alpha=1e-3, trials=10))
    risks = exact_isotropic_expected_risks(Isotropic(16), range(1, 14))
    assert evidence.exact and evidence.details["method"] == ISOTROPIC_METHOD and evidence.details["sizes"] == 12
    for size in evidence.details["per_size"]:
        lhs, rhs = risks[size["n"]], risks[size["n"] - 1]
        assert (size["lhs"], size["rhs"], size["holds"]) == (float(lhs), float(rhs), lhs <= rhs)
    worst = evidence.details["n"]
    assert evidence.details["closed_forms"] == {"lhs": str(risks[worst]), "rhs": str(risks[worst - 1])}
    assert claim.content.test(instance, evidence)


def test_isotropic_sweeps_reach_full_windows() -> None:
    """Wider isotropic dimensions (:data:`EXACT_SWEEP_DIMS`) let one example check MAX_N sizes."""
    instance = find(expected_risk_sweeps("isotropic"), lambda i: len(sweep_sizes(i)) == MAX_N)
    assert instance["family_params"]["dim"] == MAX_N + 2
