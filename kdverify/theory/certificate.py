"""Derivation ``exact-certificate`` and :func:`certify_discrete_instance`: the expected risk of a
discrete instance in exact rational arithmetic with sympy (THEORY.md §2.4, §4).

This is an independent second route to :mod:`kdverify.measure.expected` (which uses ``Fraction`` and a
Möbius transform): here every subset ``S`` of the support gets its own projector, student, risk
``r(S)`` and probability ``π_n(S) = Σ_{U⊆S} (−1)^{|S|−|U|} q(U)^n``, and
``E R_n = Σ_S π_n(S) r(S)``. The derivation checks that formula against brute-force enumeration
of every training sequence, whose students come from the pseudo-inverse of the data matrix.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from kdverify._util.validation import positive_int
from kdverify.errors import InvalidArgument
from kdverify.theory.core import Derivation, Derived, FunctionSpec, Identity, Step
from kdverify.theory.symbols import span_projector

__all__ = [
    "DERIVATIONS",
    "MAX_SUPPORT",
    "DiscreteCertificate",
    "SubsetCertificate",
    "certify_discrete_instance",
]

MAX_SUPPORT = 10
"""Largest support size: every one of the ``2^m − 1`` subsets gets its own exact projector."""


@dataclass(frozen=True)
class SubsetCertificate:
    """One set ``S`` of distinct support points (0-based indices) and its exact quantities."""

    support: tuple[int, ...]
    projector: sp.Matrix
    student: sp.Matrix
    risk: sp.Rational
    probability: sp.Rational


@dataclass(frozen=True)
class DiscreteCertificate:
    """A discrete instance and its exact expected risk ``E R_n = Σ_S π_n(S) r(S)``."""

    points: sp.Matrix
    weights: tuple[sp.Rational, ...]
    w_star: sp.Matrix
    temperature: sp.Rational
    w0: sp.Matrix
    n: int
    subsets: tuple[SubsetCertificate, ...]
    expected_risk: sp.Rational


def _rational(name: str, value: Any) -> sp.Rational:
    """An exact rational: ints, Fractions, sympy rationals, strings like ``"2/7"``, finite floats
    (their exact binary value)."""
    if isinstance(value, (bool, np.bool_)):
        raise InvalidArgument(f"{name}={value!r} is a boolean, not a number.")
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        raise InvalidArgument(f"{name}={value!r} is not finite.")
    try:
        number = sp.Rational(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, sp.SympifyError):
        number = None
    if not isinstance(number, sp.Rational):
        raise InvalidArgument(f"{name}={value!r} is not a rational number (int, Fraction, '2/7' or float).")
    return number


def _rational_matrix(name: str, value: Any, shape: tuple[int | None, ...]) -> sp.Matrix:
    array = np.asarray(value, dtype=object)
    if array.ndim != len(shape) or any(s is not None and s != t for s, t in zip(shape, array.shape, strict=True)):
        raise InvalidArgument(f"{name} has shape {array.shape}, but must have shape {shape} (None: any).")
    if array.size == 0:
        raise InvalidArgument(f"{name} is empty.")
    entries = [_rational(f"{name}{list(index)}", array[index]) for index in np.ndindex(array.shape)]
    return sp.Matrix(*(array.shape if array.ndim == 2 else (array.shape[0], 1)), entries)


def _sign(value: sp.Rational) -> int:
    return int(sp.sign(value))


def student(points: sp.Matrix, w_star: sp.Matrix, temperature: sp.Rational, w0: sp.Matrix) -> tuple[
    sp.Matrix, sp.Matrix
]:
    """``(P, P w*/T + P⊥ w_0)`` for the span of the columns of ``points``, exactly."""
    basis = sp.Matrix.hstack(*points.columnspace())
    projector = span_projector(basis)
    return projector, projector * w_star / temperature + (sp.eye(points.rows) - projector) * w0


def risk(w: sp.Matrix, points: sp.Matrix, weights: Sequence[sp.Rational], w_star: sp.Matrix) -> sp.Rational:
    """``R(w) = Σ_j q_j 1[sign(wᵀa_j) ≠ sign(w*ᵀa_j)]`` with ``sign(0) = 0`` counted wrong."""
    wrong = [
        q for j, q in enumerate(weights)
        if _sign((w.T * points.col(j))[0]) != _sign((w_star.T * points.col(j))[0])
    ]
    return sp.Add(*wrong)


def subset_probability(weights: Sequence[sp.Expr], support: Sequence[int], n: sp.Expr) -> sp.Expr:
    """``π_n(S) = Σ_{U⊆S} (−1)^{|S|−|U|} q(U)^n``: the probability that ``n`` draws show exactly
    the support points ``S`` (inclusion–exclusion)."""
    terms = []
    for size in range(1, len(support) + 1):
        for subset in itertools.combinations(support, size):
            terms.append((-1) ** (len(support) - size) * sp.Add(*(weights[j] for j in subset)) ** n)
    return sp.Add(*terms)


def certify_discrete_instance(
    points: Any, weights: Any, w_star: Any, temperature: Any = 1, w0: Any = None, n: int = 1
) -> DiscreteCertificate:
    """Exact ``E R_n`` (and every ``π_n(S)``, ``r(S)``, projector and student) of the discrete
    distribution with support the rows of ``points`` (a list of points, ``(m, d)``) and weights ``q``.

    >>> certificate = certify_discrete_instance([[1, 1], [1, -1]], ["1/2", "1/2"], [1, 0], n=2)
    >>> certificate.expected_risk
    1/4
    """
    points = _rational_matrix("points", points, (None, None)).T  # the (d, m) data matrix
    d, m = points.shape
    if m > MAX_SUPPORT:
        raise InvalidArgument(f"points has m={m} points; exact certificates allow m <= {MAX_SUPPORT}.")
    q = tuple(_rational_matrix("weights", weights, (m,)))
    w_star = _rational_matrix("w_star", w_star, (d,))
    temperature = _rational("temperature", temperature)
    w0 = sp.zeros(d, 1) if w0 is None else _rational_matrix("w0", w0, (d,))
    n = positive_int("n", n)
    _check_instance(points, q, w_star, temperature)
    subsets = []
    for size in range(1, m + 1):
        for support in itertools.combinations(range(m), size):
            projector, w = student(points.extract(list(range(d)), list(support)), w_star, temperature, w0)
            subsets.append(SubsetCertificate(
                support, projector, w, risk(w, points, q, w_star), subset_probability(q, support, n)
            ))
    expected = sp.Add(*(s.probability * s.risk for s in subsets))
    return DiscreteCertificate(points, q, w_star, temperature, w0, n, tuple(subsets), expected)


def _check_instance(points: sp.Matrix, q: tuple[sp.Rational, ...], w_star: sp.Matrix,
                    temperature: sp.Rational) -> None:
    for j, weight in enumerate(q):
        if weight <= 0:
            raise InvalidArgument(f"weights[{j}]={weight} must be > 0.")
    if sum(q) != 1:
        raise InvalidArgument(f"weights sum to {sum(q)}, but must sum to exactly 1.")
    if temperature <= 0:
        raise InvalidArgument(f"temperature={temperature} must be > 0.")
    if w_star.is_zero_matrix:
        raise InvalidArgument("w_star is the zero vector; the teacher w* must be nonzero.")
    for j in range(points.cols):
        if (w_star.T * points.col(j))[0] == 0:
            raise InvalidArgument(f"points[{j}] lies on the teacher's boundary (w*ᵀa = 0).")


EXAMPLE: dict[str, list[Any]] = {
    "points": [[2, 1, 1], [1, -3, 1], [-1, 2, 1]],
    "weights": ["1/2", "1/3", "1/6"],
    "w_star": [1, 1, -2],
}


def _enumerated_risk(points: sp.Matrix, q: Sequence[sp.Rational], w_star: sp.Matrix, n: int) -> sp.Rational:
    """``E R_n`` by brute force: every sequence of ``n`` draws, the student from ``X X⁺``."""
    total = sp.Integer(0)
    d = points.rows
    for sequence in itertools.product(range(points.cols), repeat=n):
        data = points.extract(list(range(d)), list(sequence))
        w = data * data.pinv() * w_star
        total += sp.Mul(*(q[j] for j in sequence)) * risk(w, points, q, w_star)
    return total


@functools.cache
def _exact_certificate() -> Derived:
    n = sp.Symbol("n", positive=True, integer=True)
    q1, q2 = sp.symbols("q_1 q_2", positive=True)
    symbolic_q = (q1, q2, 1 - q1 - q2)
    supports = [s for size in (1, 2, 3) for s in itertools.combinations(range(3), size)]
    draws = 3
    enumerated = {support: sp.Integer(0) for support in supports}
    for sequence in itertools.product(range(3), repeat=draws):
        enumerated[tuple(sorted(set(sequence)))] += sp.Mul(*(symbolic_q[j] for j in sequence))
    points = _rational_matrix("points", EXAMPLE["points"], (None, None)).T
    q = tuple(_rational(f"weights[{j}]", v) for j, v in enumerate(EXAMPLE["weights"]))
    w_star = _rational_matrix("w_star", EXAMPLE["w_star"], (3,))
    zero = sp.zeros(3, 1)
    closed_form = sp.Integer(0)
    for support in supports:
        _, w = student(points.extract([0, 1, 2], list(support)), w_star, sp.Integer(1), zero)
        closed_form += subset_probability(q, support, n) * risk(w, points, q, w_star)
    sizes = (1, 2, 3)
    identities = (
        Identity("Σ_S π_n(S) = 1 (symbolic q with Σq = 1, symbolic n)",
                 sp.Add(*(subset_probability(symbolic_q, s, n) for s in supports)), 1),
        Identity(f"π_{draws}(S) = P[distinct draws = S], by enumerating all 3^{draws} sequences",
                 sp.Matrix([subset_probability(symbolic_q, s, draws) for s in supports]),
                 sp.Matrix([enumerated[s] for s in supports])),
        Identity("example: E R_n (subset formula, symbolic n) = brute-force enumeration at n = 1, 2, 3",
                 sp.Matrix([closed_form.subs(n, k) for k in sizes]),
                 sp.Matrix([_enumerated_risk(points, q, w_star, k) for k in sizes])),
    )
    steps = (
        Step("The student depends on the training set only through its span, i.e. through the set S "
             "of distinct support points drawn"),
        Step("P[draws ⊆ U] = q(U)^n, so by inclusion–exclusion",
             sp.Eq(sp.Symbol("π_n(S)"), sp.Symbol("Σ_{U⊆S} (−1)^{|S|−|U|} q(U)^n"))),
        Step("E R_n = Σ_S π_n(S) r(S), all in exact rationals; for the example instance",
             sp.Eq(sp.Symbol("E R_n"), closed_form)),
    )
    functions = {"expected_risk[example]": FunctionSpec((n,), closed_form, "E R_n of the example instance")}
    return Derived({"expected_risk[example]": closed_form}, steps, identities, functions)


DERIVATIONS = {
    "exact-certificate": Derivation(
        "exact-certificate",
        "exact expected risk of a discrete instance: Σ_S π_n(S) r(S) in rational arithmetic",
        ("discrete distribution with rational support points and weights, w*ᵀa_j ≠ 0",
         f"example: points {EXAMPLE['points']}, weights {EXAMPLE['weights']}, "
         f"w* = {EXAMPLE['w_star']}, T = 1, w_0 = 0"),
        _exact_certificate,
    )
}
