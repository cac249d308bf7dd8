"""Expected risk: the exact subset sums against brute-force enumeration, and the Monte Carlo
estimators against exact values (THEORY.md §2.4, risk-bound).

Monte Carlo comparisons: ``MC_COMPARISONS`` exact confidence intervals, each at confidence
``1 − FILE_ALPHA / MC_COMPARISONS`` (Bonferroni): a correct implementation fails this file with
probability at most ``FILE_ALPHA = 1e-3``.
"""

from __future__ import annotations

import doctest
import itertools
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import kdverify.measure.expected
from kdverify.data import Discrete, Isotropic
from kdverify.data.discrete import TIE_CONVENTIONS, Ties
from kdverify.data.exact import RationalSpan, dot, exact_student
from kdverify.errors import InvalidArgument
from kdverify.measure.expected import (
    MAX_SUPPORT,
    estimate_expected_p_angle,
    estimate_expected_risk,
    exact_expected_p_angle,
    exact_expected_risk,
    p_of_student_angle,
)
from kdverify.training.limits import linear_limit

FILE_ALPHA = 1e-3
MC_COMPARISONS = 6
CONFIDENCE = 1 - FILE_ALPHA / MC_COMPARISONS

DISTRIBUTIONS = {
    "d2-three-points": lambda: Discrete([[1, 1], [2, -1], [-1, 2]], ["1/2", "1/6", "1/3"], w_star=[1, "1/3"]),
    "d3-duplicate-and-orthogonal": lambda: Discrete(
        [[1, 0, 1], [1, 0, 1], [0, 1, 0], [2, -1, 1]], ["1/4", "1/4", "1/8", "3/8"], w_star=[1, -1, "1/2"]
    ),
    "d3-sign-zero-students": lambda: Discrete(
        [[1, 1, 0], [1, -1, 0], [2, 0, 1]], ["1/3", "1/3", "1/3"], w_star=[1, 0, 0]
    ),
    "d1": lambda: Discrete([[2], [-1], [3]], ["1/5", "2/5", "2/5"], w_star=[-1]),
}
SETTINGS = {"T1-w0zero": (1, None), "T3/2-w0": ("3/2", ["1/2", -2, 1]), "T1/3-w0": ("1/3", [1, 1, 1])}


def brute_force(dist: Discrete, n: int, temperature: Any, w0: Any, *, p_angle: bool, ties: Ties = "error") -> Fraction:
    """Σ over all n-tuples of support indices of Π q · (risk, ties counted as ``ties`` says, or
    p(∠)) of the exact student."""
    total = Fraction(0)
    for draw in itertools.product(range(dist.support_size), repeat=n):
        probability = Fraction(1)
        for j in draw:
            probability *= dist.exact_weights[j]
        span = RationalSpan.spanned_by([dist.support[j] for j in draw], dist.dim)
        student = exact_student(span, dist.exact_w_star, temperature=temperature, w0=w0)
        if not p_angle:
            value = dist.exact_risk(student, ties=ties)
        else:
            alignment = dot(student, dist.exact_w_star)
            norms = dot(student, student) * dot(dist.exact_w_star, dist.exact_w_star)
            value = Fraction(1) if alignment <= 0 else dist.exact_p(1 - alignment**2 / norms)
        total += probability * value
    return total


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("factory", DISTRIBUTIONS.values(), ids=DISTRIBUTIONS.keys())
def test_exact_sums_match_enumeration(factory: Any, n: int, setting: tuple[Any, Any]) -> None:
    """E R_n (under both tie conventions) and E p(∠(ŵ, w*)) from the Möbius sums equal the
    enumeration of all n-tuples, as Fractions; and E R_n ≤ E p(∠) (risk-angle lemma, pointwise),
    with ties counted as correct never more."""
    dist = factory()
    temperature, w0 = setting
    w0 = None if w0 is None else w0[: dist.dim]
    risk = exact_expected_risk(dist, n, temperature=temperature, w0=w0)
    p_angle = exact_expected_p_angle(dist, n, temperature=temperature, w0=w0)
    assert isinstance(risk, Fraction) and isinstance(p_angle, Fraction)
    assert risk == brute_force(dist, n, temperature, w0, p_angle=False)
    assert p_angle == brute_force(dist, n, temperature, w0, p_angle=True)
    assert 0 <= risk <= p_angle <= 1
    lenient = exact_expected_risk(dist, n, temperature=temperature, w0=w0, ties="correct")
    assert lenient == brute_force(dist, n, temperature, w0, p_angle=False, ties="correct")
    assert 0 <= lenient <= risk


def test_ties_count_as_errors_or_as_agreement() -> None:
    """a_1 = (1, 1), a_2 = (1, −1) with weight ½ each, w* = e_1. One distinct point drawn gives
    ŵ = (w*ᵀa)a/‖a‖², orthogonal to the other point: a tie there, and risk ½ (ties as errors) or 0
    (ties as correct); both points give ŵ = w*, risk 0. So E R_1 = ½ and E R_2 = P[one distinct]·½ = ¼,
    against 0 and 0."""
    dist = Discrete([[1, 1], [1, -1]], ["1/2", "1/2"], w_star=[1, 0])
    risks = {ties: [exact_expected_risk(dist, n, ties=ties) for n in (1, 2)] for ties in TIE_CONVENTIONS}
    assert risks == {"error": [Fraction(1, 2), Fraction(1, 4)], "correct": [0, 0]}
    assert exact_expected_risk(dist, 2) == risks["error"][1]  # THEORY.md §1's convention is the default


def test_float_data_give_the_float_of_the_exact_value() -> None:
    """Binary-exact floats give the nearest float to the rational result."""
    rational = Discrete([[1, 1], [2, -1], [-1, 3]], ["1/2", "1/4", "1/4"], w_star=[1, "1/2"])
    floats = Discrete([[1.0, 1.0], [2.0, -1.0], [-1.0, 3.0]], [0.5, 0.25, 0.25], w_star=[1.0, 0.5])
    for n in (1, 3, 7):
        assert exact_expected_risk(floats, n) == float(exact_expected_risk(rational, n))
        assert exact_expected_risk(rational, n, temperature=2.0) == float(exact_expected_risk(rational, n))


def test_large_support_and_large_n() -> None:
    """m = MAX_SUPPORT runs; with n = 400 the risk is below the chance that some point is missed."""
    m = MAX_SUPPORT
    angles = np.linspace(0.1, np.pi - 0.1, m)
    points = [[round(10 * np.cos(a)) or 1, round(10 * np.sin(a))] for a in angles]
    dist = Discrete(points, [Fraction(1, m)] * m, w_star=[1, 0])
    value = exact_expected_risk(dist, 400)
    # Two distinct non-parallel points give rank 2 and zero risk; failing that needs all 400
    # draws on one line, probability ≤ m·(2/m)^400.
    assert 0 <= value <= m * Fraction(2, m) ** 400


BAD = [
    ("support-too-large", lambda: exact_expected_risk(
        Discrete([[k] for k in range(1, 23)], [Fraction(1, 22)] * 22, w_star=[1]), 2), "limited to m <= 20"),
    ("n-zero", lambda: exact_expected_risk(DISTRIBUTIONS["d1"](), 0), "n=0"),
    ("not-discrete", lambda: exact_expected_p_angle(Isotropic(2), 2), "Discrete"),
    ("w0-length", lambda: exact_expected_risk(DISTRIBUTIONS["d1"](), 2, w0=[1, 2]), "w0 has length 2"),
    ("temperature", lambda: exact_expected_risk(DISTRIBUTIONS["d1"](), 2, temperature="-1"), "temperature"),
    ("student-shape", lambda: estimate_expected_risk(Isotropic(2), 3, trials=4, rng=np.random.default_rng(0),
                                                     student=lambda X, t, w0: np.zeros((4, 3))), "student returned"),
    ("trials", lambda: estimate_expected_risk(Isotropic(2), 3, trials=0, rng=np.random.default_rng(0)), "trials=0"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input(call: Any, message: str) -> None:
    """Clear InvalidArgument errors."""
    with pytest.raises(InvalidArgument, match=message):
        call()


class TestEstimates:
    def test_discrete_estimates_cover_exact_values(self) -> None:
        """The Monte Carlo intervals for E R_n and E p(∠) contain the exact Fractions."""
        dist = DISTRIBUTIONS["d3-duplicate-and-orthogonal"]()
        kwargs = {"trials": 20_000, "temperature": 1.5, "w0": [0.5, -2.0, 1.0], "confidence": CONFIDENCE}
        risk = estimate_expected_risk(dist, 3, rng=np.random.default_rng(1), **kwargs)
        exact = exact_expected_risk(dist, 3, temperature="3/2", w0=["1/2", -2, 1])
        assert risk.lower <= exact <= risk.upper, (risk, float(exact))
        p_angle = estimate_expected_p_angle(dist, 3, rng=np.random.default_rng(2), **kwargs)
        exact = exact_expected_p_angle(dist, 3, temperature="3/2", w0=["1/2", -2, 1])
        assert p_angle.lower <= exact <= p_angle.upper, (p_angle, float(exact))

    @pytest.mark.parametrize(("dim", "risk", "p_angle"), [(2, 1 / 4, 1 / 2), (3, 1 / np.pi, np.pi / 4)])
    def test_isotropic_one_point(self, dim: int, risk: float, p_angle: float) -> None:
        """n = 1, w_0 = 0: ŵ ∥ x, so ∠(ŵ, w*) = α(x) and R = α/π. α is uniform on [0, π/2] in
        d = 2 (E R = 1/4, E p(α) = E[2α/π] = 1/2) and has density sin α in d = 3
        (E R = 1/π, E p(α) = E sin α = π/4)."""
        family = Isotropic(dim, w_star=np.arange(1.0, dim + 1))
        options = {"trials": 20_000, "confidence": CONFIDENCE}
        estimate = estimate_expected_risk(family, 1, rng=np.random.default_rng(3), **options)
        assert estimate.lower <= risk <= estimate.upper, estimate
        estimate = estimate_expected_p_angle(family, 1, rng=np.random.default_rng(4), **options)
        assert estimate.lower <= p_angle <= estimate.upper, estimate

    def test_custom_student_and_batches(self) -> None:
        """A student callable replaces the closed form (same numbers for the same seed); batches
        of any size give all the trials."""
        family = Isotropic(4)
        default = estimate_expected_risk(family, 3, trials=50, rng=np.random.default_rng(5))
        custom = estimate_expected_risk(
            family, 3, trials=50, rng=np.random.default_rng(5), student=lambda X, t, w0: linear_limit(X, t, w0)
        )
        assert default == custom
        batched = estimate_expected_risk(family, 3, trials=50, rng=np.random.default_rng(5), batch_size=7)
        assert batched.trials == 50 and 0 <= batched.mean <= 1


def test_doctests() -> None:
    """The module's examples run."""
    assert doctest.testmod(kdverify.measure.expected).failed == 0


@pytest.mark.parametrize("offset", [0.0, 1e-12, -1e-12])
def test_p_of_student_angle_counts_a_point_tied_in_score_and_angle(offset: float) -> None:
    """w = (0, 1, 0) scores 0 on (1, 0, 1), whose angle to w*'s boundary equals ∠(w, w*): the point
    counts as an error (R = 1/2) and p(∠) counts it too (the risk-angle lemma's ``≤``), also when the
    student is known only within its certified distance (a trainer's rounding moves the angle)."""
    dist = Discrete([[0, 1, 0], [1, 0, 1]], ["1/2", "1/2"], w_star=[1, 1, 1])
    student = np.array([[offset, 1.0, -offset]])
    risk = dist.risk(student)
    assert p_of_student_angle(dist, student, rtol=1e-9)[0] >= risk[0]
    if offset == 0.0:
        assert risk[0] == 0.5 and p_of_student_angle(dist, student)[0] >= 0.5
