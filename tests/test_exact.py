"""Exact rational linear algebra (kdverify.data.exact) against SymPy and against the defining identities."""

from __future__ import annotations

import doctest
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import sympy as sp

import kdverify.data.exact
from kdverify.data.exact import (
    RationalSpan,
    as_rational_matrix,
    as_rational_vector,
    column_span,
    dot,
    exact_student,
    is_float_free,
    max_margin_on_active_set,
    projector,
    rank,
    sign,
    to_fraction,
)
from kdverify.errors import InvalidArgument
from kdverify.training.limits import linear_limit
from kdverify.training.teacher import Teacher

EPS = np.finfo(np.float64).eps


def random_integer_matrix(rng: np.random.Generator, d: int, n: int, rank_: int) -> list[list[int]]:
    """A ``d × n`` integer matrix of the given rank (product of small integer factors)."""
    left = rng.integers(-3, 4, size=(d, rank_))
    right = rng.integers(-3, 4, size=(rank_, n))
    return (left @ right).tolist()


CASES = [(d, n, r, seed) for seed, (d, n, r) in enumerate([(2, 1, 1), (3, 2, 2), (4, 6, 2), (5, 3, 3), (6, 8, 4)])]


class TestConversion:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(3, Fraction(3)), ("-3/7", Fraction(-3, 7)), (" 0.25 ", Fraction(1, 4)), (0.1, Fraction(0.1)),
         (np.int64(5), Fraction(5)), (Fraction(2, 6), Fraction(1, 3))],
        ids=["int", "ratio-string", "decimal-string", "float-exact", "numpy-int", "fraction"],
    )  # fmt: skip
    def test_to_fraction(self, value: Any, expected: Fraction) -> None:
        """Every accepted spelling becomes the exact rational it denotes."""
        assert to_fraction("x", value) == expected

    @pytest.mark.parametrize(
        ("value", "message"),
        [(float("nan"), "not finite"), (float("inf"), "not finite"), (True, "boolean"), ("1/0", "not an exact"),
         ("one", "not an exact"), (None, "not an exact"), (1 + 2j, "not an exact")],
        ids=["nan", "inf", "bool", "zero-denominator", "word", "none", "complex"],
    )  # fmt: skip
    def test_to_fraction_rejects(self, value: Any, message: str) -> None:
        """Non-numbers raise InvalidArgument naming the argument."""
        with pytest.raises(InvalidArgument, match=f"x=.*{message}"):
            to_fraction("x", value)

    def test_float_free_and_shapes(self) -> None:
        """Float detection walks nested sequences and arrays; shapes are checked."""
        assert is_float_free([[1, "1/2"], [Fraction(1, 3), np.int32(2)]]) and is_float_free(np.arange(3))
        assert not is_float_free([[1, 0.5]]) and not is_float_free(np.ones(2)) and is_float_free(None)
        assert as_rational_vector("v", ["1/2", 3]) == (Fraction(1, 2), Fraction(3))
        with pytest.raises(InvalidArgument, match="length 2, but the data have dimension 3"):
            as_rational_vector("v", [1, 2], dim=3)
        with pytest.raises(InvalidArgument, match="2-D"):
            as_rational_matrix("m", [1, 2])
        assert sign(Fraction(-1, 9)) == -1 and sign(Fraction(0)) == 0 and dot((1, 2), (3, 4)) == 11


class TestSpan:
    @pytest.mark.parametrize(("d", "n", "r", "seed"), CASES)
    def test_rank_and_projector_match_sympy(self, d: int, n: int, r: int, seed: int) -> None:
        """rank and the projector X X⁺ equal SymPy's exact results."""
        data = random_integer_matrix(np.random.default_rng(seed), d, n, r)
        matrix = sp.Matrix(data)
        assert rank(data) == matrix.rank()
        expected = matrix * matrix.pinv()
        assert sp.Matrix(projector(data)) == expected

    @pytest.mark.parametrize(("d", "n", "r", "seed"), CASES)
    def test_projector_identities(self, d: int, n: int, r: int, seed: int) -> None:
        """P² = P, Pᵀ = P, P X = X, trace P = rank, exactly."""
        data = random_integer_matrix(np.random.default_rng(seed), d, n, r)
        P = sp.Matrix(projector(data))
        assert P * P == P and P.T == P and P * sp.Matrix(data) == sp.Matrix(data) and P.trace() == rank(data)

    def test_span_is_canonical(self) -> None:
        """Different generators of one subspace give equal (and equally hashed) spans."""
        first = RationalSpan.spanned_by([(1, 2, 0), (0, 1, 1)], 3)
        second = RationalSpan.spanned_by([(1, 3, 1), (2, 4, 0), (1, 3, 1)], 3)
        assert first == second and hash(first) == hash(second) and first.rank == 2
        assert first.contains((3, 7, 1)) and not first.contains((0, 0, 1))
        assert first.extended((3, 7, 1)) is first and first.extended((0, 0, 1)).rank == 3
        assert RationalSpan(3).project((1, 2, 3)) == (0, 0, 0)


class TestStudent:
    @pytest.mark.parametrize(("d", "n", "r", "seed"), CASES)
    def test_student_interpolates_and_keeps_off_span_part(self, d: int, n: int, r: int, seed: int) -> None:
        """Xᵀŵ = Xᵀw*/T and P⊥ŵ = P⊥w_0 exactly (optimization-bias-linear)."""
        rng = np.random.default_rng(100 + seed)
        data = random_integer_matrix(rng, d, n, r)
        w_star = [Fraction(int(k), 3) for k in rng.integers(-5, 6, size=d)]
        w0 = [Fraction(int(k), 2) for k in rng.integers(-5, 6, size=d)]
        student = exact_student(data, w_star, temperature="3/2", w0=w0)
        X = sp.Matrix(data)
        assert X.T * sp.Matrix(student) == X.T * sp.Matrix(w_star) / sp.Rational(3, 2)
        span = column_span(data)
        assert span.complement(student) == span.complement(w0)

    def test_student_matches_floating_point_limit(self) -> None:
        """The exact student agrees with kdverify.training.limits.linear_limit to rounding."""
        rng = np.random.default_rng(3)
        data = random_integer_matrix(rng, 5, 3, 3)
        w_star, w0 = rng.integers(-4, 5, size=5), rng.integers(-4, 5, size=5)
        exact = np.array([float(x) for x in exact_student(data, w_star.tolist(), temperature=2, w0=w0.tolist())])
        approx = linear_limit(np.array(data, dtype=float), Teacher(w_star.astype(float), 2.0), w0.astype(float))
        # SVD-based projection: error ≲ d·eps·cond(X)·(‖w*/T‖ + ‖w0‖); cond of these small
        # integer matrices is below 100, so 100·d·eps·cond·scale is a generous but honest bound.
        scale = np.linalg.norm(w_star) / 2 + np.linalg.norm(w0)
        bound = 100 * 5 * EPS * np.linalg.cond(np.array(data, dtype=float)) * scale
        np.testing.assert_allclose(approx, exact, atol=bound)

    def test_bad_temperature_and_lengths(self) -> None:
        """T ≤ 0 and mismatched lengths are rejected."""
        with pytest.raises(InvalidArgument, match="temperature=0"):
            exact_student([[1], [0]], [1, 1], temperature=0)
        with pytest.raises(InvalidArgument, match="w0 has length 3"):
            exact_student([[1], [0]], [1, 1], w0=[1, 2, 3])


def test_doctests() -> None:
    """The module's examples run."""
    assert doctest.testmod(kdverify.data.exact).failed == 0


class TestMaxMarginOnActiveSet:
    """kdverify.data.exact.max_margin_on_active_set confirms or refuses a guessed support set."""

    POINTS = ((Fraction(1), Fraction(1)), (Fraction(1), Fraction(-1)), (Fraction(0), Fraction(3)))
    LABELS = (1, -1, 1)

    def test_the_right_active_set_gives_the_exact_direction(self) -> None:
        assert max_margin_on_active_set(self.POINTS, self.LABELS, [0, 1]) == (Fraction(0), Fraction(1))

    def test_a_wrong_active_set_is_refused(self) -> None:
        """Guessing point 2 alone leaves point 0 at margin 1/3, point 0 alone leaves point 1 at 0."""
        assert max_margin_on_active_set(self.POINTS, self.LABELS, [2]) is None
        assert max_margin_on_active_set(self.POINTS, self.LABELS, [0]) is None

    def test_duplicated_support_vectors_count_once(self) -> None:
        points = [*self.POINTS, self.POINTS[0]]
        assert max_margin_on_active_set(points, [*self.LABELS, 1], [0, 1, 3]) == (Fraction(0), Fraction(1))
