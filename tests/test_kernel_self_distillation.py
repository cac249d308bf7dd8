"""Kernel ridge self-distillation (THEORY.md §8.3): the derivation's identities, its numpy twins
held against the rounds, the exact rounds and expected test error recomputed independently in
sympy matrices, and bad arguments."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from kdverify.claims.certificates import certificate_directory, replay
from kdverify.claims.registry import get_claim
from kdverify.cli._table import verdict_rows
from kdverify.errors import InvalidArgument
from kdverify.theory import get_derivation
from kdverify.training.kernel_ridge import (
    expected_test_error,
    filtered,
    gram,
    predictions,
    rounds,
    spectral_filter,
)

DERIVATION = get_derivation("self-distillation")
integer_points = st.lists(st.lists(st.integers(-3, 3), min_size=2, max_size=2), min_size=2, max_size=4)
lambdas = st.sampled_from([Fraction(1, 4), Fraction(1), Fraction(3, 2)])


def _sympy(matrix: list[list[Fraction]]) -> sp.Matrix:
    return sp.Matrix([[sp.Rational(x.numerator, x.denominator) for x in row] for row in matrix])


def test_derivation_confirms_the_filter_and_the_shrinking_norms() -> None:
    report = DERIVATION.check()
    assert report.confirmed, [failure.identity for failure in report.failures]


@given(
    st.lists(st.floats(-2, 2), min_size=4, max_size=4),
    st.floats(0.1, 3),
    st.lists(st.floats(-2, 2), min_size=2, max_size=2),
)
def test_lambdified_round_one_matches_the_rounds(entries: list[float], lam: float, labels: list[float]) -> None:
    """The derivation's ``G α_1`` and ``A`` for a PSD 2×2 ``G`` equal the library's float rounds."""
    root = np.array(entries).reshape(2, 2)
    matrix = (root @ root.T).tolist()
    f_1 = np.ravel(DERIVATION.numpy_function("f_1")(matrix, lam, labels))
    expected = predictions(matrix, rounds(matrix, labels, lam, 1)[1])
    scale = 1 + np.linalg.norm(labels) * (1 + np.linalg.norm(matrix))
    assert np.allclose(f_1, expected, atol=1e-10 * scale)
    filter_matrix = np.asarray(DERIVATION.numpy_function("filter")(matrix, lam), dtype=float)
    assert np.allclose(filter_matrix @ filter_matrix @ labels, expected, atol=1e-10 * scale)
    assert np.allclose(spectral_filter(matrix, labels, lam, 2), expected, atol=1e-10 * scale)


@given(integer_points, lambdas, st.integers(0, 3))
def test_exact_rounds_match_sympy_matrix_powers(points: list[list[int]], lam: Fraction, t: int) -> None:
    """``G α_t`` from the library's exact rounds is ``(G(G + λI)⁻¹)^{t+1} y`` computed by sympy's own
    matrix inverse and product: an independent route in exact arithmetic."""
    rows = [[Fraction(x) for x in p] for p in points]
    matrix = gram(rows, rows, "linear")
    labels = [Fraction(i + 1) for i in range(len(rows))]
    g = _sympy(matrix)
    a = g * (g + sp.Rational(lam.numerator, lam.denominator) * sp.eye(len(rows))).inv()
    expected = a ** (t + 1) * sp.Matrix([int(y) for y in labels])
    ours = predictions(matrix, rounds(matrix, labels, lam, t)[t])
    assert [sp.Rational(x.numerator, x.denominator) for x in ours] == list(expected)
    assert filtered(matrix, labels, lam, t + 1) == ours


@given(integer_points, st.lists(st.lists(st.integers(-3, 3), min_size=2, max_size=2), min_size=1, max_size=3),
       lambdas, st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(2)]), st.integers(0, 2))
def test_expected_test_error_is_bias_plus_variance(points, tests, lam, noise, t) -> None:
    """The exact expected test error equals ``mean_j (k_jᵀM_t f − f*_j)² + σ² k_jᵀ M_t² k_j`` with
    ``M_t = (G + λI)⁻¹ (G(G + λI)⁻¹)^t`` built by sympy."""
    beta = (Fraction(1), Fraction(-2))
    rows = [[Fraction(x) for x in p] for p in points]
    test_rows = [[Fraction(x) for x in p] for p in tests]
    matrix, cross = gram(rows, rows, "linear"), gram(test_rows, rows, "linear")
    train = [beta[0] * p[0] + beta[1] * p[1] for p in rows]
    test = [beta[0] * p[0] + beta[1] * p[1] for p in test_rows]
    ours = expected_test_error(matrix, cross, train, test, lam, noise, t)
    g = _sympy(matrix)
    shifted = (g + sp.Rational(lam.numerator, lam.denominator) * sp.eye(len(rows))).inv()
    m = shifted * (g * shifted) ** t
    total = sp.Rational(0)
    for k_row, target in zip(cross, test, strict=True):
        k = _sympy([k_row]).T
        bias = (k.T * m * _sympy([train]).T)[0] - sp.Rational(target.numerator, target.denominator)
        total += bias**2 + sp.Rational(noise.numerator, noise.denominator) * (k.T * m * m * k)[0]
    assert sp.Rational(ours.numerator, ours.denominator) == total / len(tests)


def test_float_rounds_agree_with_exact_ones_on_a_linear_kernel() -> None:
    rows = [[Fraction(1), Fraction(2)], [Fraction(-1), Fraction(0)], [Fraction(3), Fraction(1)]]
    matrix = gram(rows, rows, "linear")
    exact = rounds(matrix, [Fraction(1), Fraction(-2), Fraction(3)], Fraction(1, 2), 3)
    floats = rounds([[float(x) for x in row] for row in matrix], [1.0, -2.0, 3.0], 0.5, 3)
    assert np.allclose(np.array(exact, dtype=float), floats, rtol=1e-12, atol=1e-13)


def test_rbf_gram_is_one_on_the_diagonal_and_symmetric() -> None:
    rows = [[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]]
    matrix = np.array(gram(rows, rows, "rbf", 2.0))
    assert np.allclose(np.diag(matrix), 1.0) and np.allclose(matrix, matrix.T)
    assert matrix[0, 1] == pytest.approx(np.exp(-8 / 8))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gram([[1]], [[1]], "poly"), "kernel='poly' is unknown"),
        (lambda: gram([[1.0]], [[1.0]], "rbf", 0.0), "bandwidth"),
        (lambda: rounds([[Fraction(1)]], [Fraction(1)], Fraction(0), 1), "lam=.* must be > 0"),
        (lambda: rounds([[Fraction(-1)]], [Fraction(1)], Fraction(1), 1), "singular"),
    ],
    ids=["unknown-kernel", "zero-bandwidth", "zero-lambda", "singular-system"],
)
def test_bad_arguments_are_rejected(call, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        call()


SELF_DISTILLATION_CERTIFICATES = sorted(certificate_directory().glob("self-distillation-helps*.json"))


@pytest.mark.parametrize("path", SELF_DISTILLATION_CERTIFICATES, ids=lambda path: path.stem)
def test_stored_certificates_are_recomputed_in_sympy(path) -> None:
    """Each stored counterexample (for-all reading) or witness (existence reading) of
    ``self-distillation-helps``: both expected test errors recomputed from sympy matrices
    ``M_0 = (G + λI)⁻¹`` and ``M_1 = M_0 G M_0`` — exactly for the linear kernel, at 50 digits for
    RBF — equal the stored sides, the stored inequality is violated, and the certificate replays."""
    certificate = json.loads(path.read_text(encoding="utf-8"))
    instance = certificate["instance"]
    points = [sp.Matrix([sp.Rational(x) for x in p]) for p in instance["points"]]
    tests = [sp.Matrix([sp.Rational(x) for x in p]) for p in instance["test_points"]]
    beta = sp.Matrix([sp.Rational(x) for x in instance["beta_rows"][0]])
    lam, noise = sp.Rational(instance["lam"]), sp.Rational(instance["noise"])
    if certificate["family"] == "linear-kernel":
        kernel = lambda a, b: (a.T * b)[0]  # noqa: E731
    else:
        h = sp.Rational(instance["bandwidth"])
        kernel = lambda a, b: sp.exp(-((a - b).T * (a - b))[0] / (2 * h**2))  # noqa: E731
    g = sp.Matrix(len(points), len(points), lambda i, j: kernel(points[i], points[j]))
    m0 = (g + lam * sp.eye(len(points))).inv()
    errors = []
    for m in (m0, m0 * g * m0):
        total = sp.Integer(0)
        for x in tests:
            k = sp.Matrix([kernel(x, p) for p in points])
            bias = (k.T * m * sp.Matrix([(beta.T * p)[0] for p in points]))[0] - (beta.T * x)[0]
            total += bias**2 + noise * (k.T * m * m * k)[0]
        errors.append(total / len(tests))
    reading_exists = certificate["claim"].endswith("-exists")
    lhs, rhs = (errors[0], errors[1]) if reading_exists else (errors[1], errors[0])
    evidence = certificate["evidence"]
    if certificate["exact"]:
        assert (sp.Rational(str(evidence["lhs"])), sp.Rational(str(evidence["rhs"]))) == (lhs, rhs)
        assert lhs > rhs
    else:
        lhs, rhs = float(lhs.evalf(50)), float(rhs.evalf(50))
        assert evidence["lhs"] == pytest.approx(lhs, rel=1e-12) and evidence["rhs"] == pytest.approx(rhs, rel=1e-12)
        assert lhs > rhs + evidence["tolerance"]
    assert replay(certificate).valid


def test_existence_claims_read_witness_found_or_no_witness() -> None:
    """An existence claim is searched as its negation: its violation is printed as a witness, its
    survival as no witness, while a for-all open claim's survival stays "no counterexample"."""
    entry = {"id": "x", "status": "open", "family": "f", "examples": 1, "informative": 1}
    entry.update(evidence=None, error=None)
    rows = verdict_rows(
        [
            {**entry, "quantifier": "exists", "verdict": "falsified"},
            {**entry, "quantifier": "exists", "verdict": "holds"},
            {**entry, "quantifier": "for all", "verdict": "holds"},
        ]
    )
    assert [row[3] for row in rows] == ["witness found", "no witness", "no counterexample"]
    assert get_claim("self-distillation-helps-exists").quantifier == "exists"
    with pytest.raises(ValueError, match="quantifier"):
        replace(get_claim("self-distillation-filter"), quantifier="exists")
