"""Exact certificates of discrete instances (sympy) against the Fraction route of kdverify.measure.expected."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from kdverify.errors import InvalidArgument
from kdverify.theory import certify_discrete_instance, get_derivation
from kdverify.theory.certificate import EXAMPLE, MAX_SUPPORT

EPS = np.finfo(np.float64).eps
CERTIFICATE = get_derivation("exact-certificate")


@st.composite
def discrete_instances(draw: st.DrawFn) -> dict:
    """Small integer instances: d ∈ {2, 3}, m ≤ 4 support points off the teacher's boundary."""
    d = draw(st.integers(2, 3))
    w_star = draw(st.lists(st.integers(-3, 3), min_size=d, max_size=d).filter(any))
    point = st.lists(st.integers(-3, 3), min_size=d, max_size=d).filter(
        lambda a: sum(x * y for x, y in zip(a, w_star, strict=True)) != 0
    )
    points = draw(st.lists(point, min_size=1, max_size=4))
    counts = draw(st.lists(st.integers(1, 5), min_size=len(points), max_size=len(points)))
    return {
        "points": points,
        "weights": [Fraction(c, sum(counts)) for c in counts],
        "w_star": w_star,
        "temperature": draw(st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(3)])),
        "w0": draw(st.none() | st.lists(st.integers(-2, 2), min_size=d, max_size=d)),
        "n": draw(st.integers(1, 6)),
    }


def as_fraction(value: sp.Rational) -> Fraction:
    return Fraction(int(value.p), int(value.q))


class TestAgainstTheFractionRoute:
    @settings(derandomize=True, max_examples=20, deadline=None)
    @given(discrete_instances())
    def test_expected_risk_agrees_exactly(self, instance: dict) -> None:
        """Two independent exact routes (per-subset sympy projectors vs Fraction spans with a Möbius
        transform) give the same rational E R_n."""
        expected = pytest.importorskip("kdverify.measure.expected")  # skipped only if that module is missing
        from kdverify.data.discrete import Discrete

        certificate = certify_discrete_instance(**instance)
        dist = Discrete(instance["points"], instance["weights"], w_star=instance["w_star"])
        value = expected.exact_expected_risk(
            dist, instance["n"], temperature=instance["temperature"], w0=instance["w0"]
        )
        assert as_fraction(certificate.expected_risk) == value

    def test_float_inputs_are_taken_at_their_binary_value(self) -> None:
        """A counterexample found in floating point is certified from the exact values of its floats."""
        expected = pytest.importorskip("kdverify.measure.expected")
        from kdverify.data.discrete import Discrete

        points, weights, w_star = [[0.1, 1.0], [1.0, -0.7], [-0.3, 0.2]], [0.25, 0.5, 0.25], [1.0, 0.3]
        certificate = certify_discrete_instance(points, weights, w_star, n=3)
        assert certificate.points[0, 0] == sp.Rational(0.1) != sp.Rational(1, 10)
        numeric = expected.exact_expected_risk(Discrete(points, weights, w_star=w_star), 3)
        assert abs(float(certificate.expected_risk) - numeric) <= EPS * abs(numeric)


class TestCertificateContents:
    @settings(derandomize=True, max_examples=15, deadline=None)
    @given(discrete_instances())
    def test_every_subset_is_consistent(self, instance: dict) -> None:
        """Σ_S π_n(S) = 1; each P_S is the projector onto span S; each student interpolates the
        teacher's tempered logits on S and keeps P⊥w_0."""
        certificate = certify_discrete_instance(**instance)
        assert sum(s.probability for s in certificate.subsets) == 1
        assert all(s.probability >= 0 for s in certificate.subsets)
        d = certificate.points.rows
        for subset in certificate.subsets:
            data = certificate.points.extract(list(range(d)), list(subset.support))
            projector = subset.projector
            assert projector * projector == projector and projector.is_symmetric()
            assert projector * data == data
            assert data.T * subset.student == data.T * certificate.w_star / certificate.temperature
            complement = sp.eye(d) - projector
            assert complement * subset.student == complement * certificate.w0
        assert certificate.expected_risk == sum(s.probability * s.risk for s in certificate.subsets)

    def test_example_closed_form_in_n(self) -> None:
        """The derivation's E R_n (symbolic n) equals the certificate at n = 1..8; its numpy twin is a
        sum of three positive terms, good to 8 eps relative."""
        closed = CERTIFICATE.expressions["expected_risk[example]"]
        n_symbol = next(iter(closed.free_symbols))
        for n in range(1, 9):
            exact = certify_discrete_instance(EXAMPLE["points"], EXAMPLE["weights"], EXAMPLE["w_star"], n=n)
            assert closed.subs(n_symbol, n) == exact.expected_risk
            twin = CERTIFICATE.numpy_function("expected_risk[example]")(n)
            assert abs(twin - float(exact.expected_risk)) <= 8 * EPS * float(exact.expected_risk)

    def test_hand_checkable_instance(self) -> None:
        """Points (1, 1) and (1, −1) with w* = (1, 0): one point alone is right on itself and wrong on
        the other (risk 1/2); both recover w* (risk 0). E R_2 = P[one distinct point]·1/2 = 1/4."""
        certificate = certify_discrete_instance([[1, 1], [1, -1]], ["1/2", "1/2"], [1, 0], n=2)
        risks = {s.support: s.risk for s in certificate.subsets}
        assert risks == {(0,): sp.Rational(1, 2), (1,): sp.Rational(1, 2), (0, 1): 0}
        assert certificate.expected_risk == sp.Rational(1, 4)


TOO_MANY = MAX_SUPPORT + 1
TOO_LARGE = {"points": [[k, k] for k in range(1, TOO_MANY + 1)], "weights": [Fraction(1, TOO_MANY)] * TOO_MANY}
GOOD = {"points": [[1, 1], [2, -1]], "weights": ["1/3", "2/3"], "w_star": [1, 0]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"weights": ["1/3", "1/3"]}, "sum to 2/3"),
        ({"weights": [0, 1]}, r"weights\[0\]=0 must be > 0"),
        ({"points": [[1, 1], [0, 3]]}, r"points\[1\] lies on the teacher's boundary"),
        ({"w_star": [0, 0]}, "zero vector"),
        ({"w_star": [1, 0, 0]}, "w_star has shape"),
        ({"temperature": 0}, "temperature=0 must be > 0"),
        ({"temperature": "x"}, "temperature='x' is not a rational"),
        ({"w0": [True, 0]}, "boolean"),
        ({"n": 0}, "n=0"),
        ({"points": [[1.0, float("nan")], [1, 1]]}, "not finite"),
        (TOO_LARGE, f"m <= {MAX_SUPPORT}"),
    ],
    ids=["weights-sum", "zero-weight", "boundary-point", "zero-teacher", "teacher-length", "temperature-zero",
         "temperature-text", "bool-entry", "n-zero", "nan-point", "support-too-large"],
)
def test_bad_instances_are_rejected(change: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        certify_discrete_instance(**{**GOOD, **change})
