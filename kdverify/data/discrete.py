"""Finitely supported distributions, exact in rational arithmetic (THEORY.md §2.4)."""

from __future__ import annotations

import itertools
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from kdverify._util.numerics import boundary_angles, line_angles
from kdverify._util.validation import FloatArray, as_float_array, as_generator, unit_scaled
from kdverify.data.base import Family, as_angles
from kdverify.data.exact import (
    RationalVector,
    as_rational_matrix,
    as_rational_vector,
    integer_rows,
    is_float_free,
    to_fraction,
)
from kdverify.errors import InvalidArgument

__all__ = ["TIE_CONVENTIONS", "Discrete", "Ties"]

Ties = Literal["error", "correct"]
"""How the exact risk counts a *tie*, a student scoring exactly ``wᵀa_j = 0`` on a support point
(the teacher never does: ``w*ᵀa_j ≠ 0``). ``"error"`` is THEORY.md §1's risk, the paper's
``1[sign(wᵀx) ≠ sign(w*ᵀx)]`` with ``sign(0) = 0``: a student that outputs 0 is wrong there.
``"correct"`` counts a tie as agreeing with the teacher: only a strictly opposite sign is wrong.
The two risks differ exactly by the weight of the support points the student ties on."""
TIE_CONVENTIONS: tuple[Ties, ...] = ("error", "correct")


def _rational_weights(weights: Any, m: int, exact: bool) -> tuple[Fraction, ...]:
    """Exact weights summing to 1: as given when ``exact``, else floats renormalised exactly."""
    values = as_rational_vector("weights", weights)
    if len(values) != m:
        raise InvalidArgument(
            f"weights has {len(values)} entries, but points has {m} rows: one weight per point, and points "
            "are rows (m, d), one per support point, not the columns of a (d, m) data array."
        )
    for j, q in enumerate(values):
        if q <= 0:
            raise InvalidArgument(f"weights[{j}]={float(q)!r} must be > 0; drop support points of weight 0.")
    total = sum(values, Fraction(0))
    # Float weights may miss 1 by rounding: one ulp per addition and per entry.
    slack = 0 if exact else 4 * m * np.finfo(np.float64).eps
    if abs(total - 1) > slack:
        if exact:
            raise InvalidArgument(f"weights sum to {total}; exact weights must sum to 1 exactly.")
        raise InvalidArgument(f"weights sum to {float(total)!r}; float weights must sum to 1 within {slack:.1e}.")
    return tuple(q / total for q in values)


def _float_mirror(name: str, rows: Any) -> FloatArray:
    """The float64 values of exact rows; a number beyond the float range, or a nonzero row
    that rounds to zero, is refused (the floats are the data the solvers train on)."""
    try:
        values = np.array([[float(x) for x in row] for row in rows])
    except OverflowError:
        raise InvalidArgument(f"{name} has an entry beyond the float64 range (about 1.8e308).") from None
    exact_nonzero = np.array([[x != 0 for x in row] for row in rows])
    vanished = np.flatnonzero(np.any(exact_nonzero, axis=1) & ~np.any(values != 0, axis=1))
    if vanished.size:
        raise InvalidArgument(
            f"{name}[{int(vanished[0])}] is nonzero but rounds to zero in float64 (entries below 1e-308)."
        )
    return values


def _exact_floats(vector: RationalVector) -> FloatArray | None:
    """``vector`` as float64 when every entry is a float exactly, else ``None``."""
    try:
        floats = np.array([float(x) for x in vector])
    except OverflowError:
        return None
    return floats if all(map(Fraction.__eq__, map(Fraction, floats), vector)) else None


class Discrete(Family):
    """Points ``a_1..a_m`` (the rows of ``points``, shape ``(m, d)``: a list of points, as in
    certificates and strategies) with weights ``q_j``; :meth:`sample` returns data ``(d, n)``.

    Inputs without floats (ints, Fractions, strings like ``"1/3"``) are exact: weights must sum
    to 1 exactly, and :meth:`exact_risk`, :meth:`exact_p` and the expected-risk module return
    Fractions. Float inputs are read as their exact binary values, and float weights are
    renormalised. No point may lie on the teacher's boundary (``w*ᵀa_j = 0``, tested exactly).

    >>> dist = Discrete([[1, 1], [2, -1]], ["1/3", "2/3"], w_star=[1, 0])
    >>> dist.exact_risk([1, 3]), float(dist.p(1.0))
    (Fraction(2, 3), 0.3333333333333333)
    """

    name = "discrete"

    def __init__(self, points: Any, weights: Any, *, w_star: Any) -> None:
        self.is_exact = all(map(is_float_free, (points, weights, w_star)))
        # A float64 array is its own exact value: its Fractions are only built when an exact
        # method needs them (real data sets have up to ~10⁶ entries).
        floats = isinstance(points, np.ndarray) and points.dtype == np.float64
        rows = None if floats else as_rational_matrix("points", points)
        self.exact_w_star = as_rational_vector("w_star", w_star)
        width = points.shape[-1] if rows is None else len(rows[0])
        if width != len(self.exact_w_star):
            raise InvalidArgument(
                f"points has {len(points)} rows of {width} coordinates, but w_star has length "
                f"{len(self.exact_w_star)}: points are rows (m, d), one per support point, not the columns "
                "of a (d, m) data array."
            )
        if not any(self.exact_w_star):
            raise InvalidArgument("w_star is the zero vector; the teacher w* must be nonzero.")
        self.points = as_float_array("points", points, ndim=2) if floats else _float_mirror("points", rows)
        """The support as float rows ``(m, d)``."""
        if rows is not None:
            self.support = rows
        self._points_exact = floats  # else the float rows are rounded mirrors of exact ones
        self.exact_weights = _rational_weights(weights, self.points.shape[0], self.is_exact)
        super().__init__(_float_mirror("w_star", [self.exact_w_star])[0])
        self.teacher_signs = self._exact_signs(self.exact_w_star)
        if not np.all(self.teacher_signs):
            j = int(np.argmin(np.abs(self.teacher_signs)))
            raise InvalidArgument(
                f"points[{j}] lies on the teacher's boundary (w*ᵀa = 0); the theory requires P[w*ᵀx = 0] = 0."
            )
        self.weights = np.array([float(q) for q in self.exact_weights])
        # Angles do not depend on the length of a point or of w*: power-of-two rescaling keeps
        # their norms from overflowing or underflowing at extreme scales.
        self._directions, teacher = unit_scaled(self.points.T, axis=0), unit_scaled(self.w_star)
        self.gammas = boundary_angles(self._directions, teacher)
        self._p_steps = self._steps(self.gammas)
        self._near_steps = self._steps(line_angles(self._directions, teacher))

    @cached_property
    def support(self) -> tuple[RationalVector, ...]:
        """The support points as exact rational vectors (built on first use from float data)."""
        return as_rational_matrix("points", self.points)

    @cached_property
    def _integer_support(self) -> np.ndarray:
        """The support with denominators cleared row by row (:func:`~kdverify.data.exact.integer_rows`)."""
        return integer_rows(self.support)

    def _exact_signs(self, vector: Any) -> np.ndarray:
        """``sign(vᵀa_j)`` for every support point, exactly. When the support and ``v`` are floats
        read exactly, a computed score ``s_j`` with ``|s_j| > γ_d Σ_i |v_i a_ij| + d·2⁻¹⁰²²`` (Higham's
        bound for any summation order, plus underflow) has the exact sign; the other scores (all of
        them otherwise) are decided in integer arithmetic with the denominators cleared."""
        exact = as_rational_vector("v", vector, dim=self.dim)
        signs = np.zeros(self.support_size, dtype=int)
        unsure = np.arange(self.support_size)
        floats = _exact_floats(exact) if self._points_exact else None
        if floats is not None:
            eps, dim = np.finfo(np.float64).eps / 2, self.dim
            with np.errstate(over="ignore", invalid="ignore"):
                scores = self.points @ floats
                error = dim * eps / (1 - dim * eps) * (np.abs(self.points) @ np.abs(floats)) + dim * 2.0**-1022
            signs = np.sign(np.nan_to_num(scores)).astype(int)
            unsure = np.flatnonzero(~(np.abs(scores) > error))  # NaN (inf − inf) and inf are decided exactly
        if unsure.size:
            scores = self._integer_support[unsure] @ integer_rows([exact])[0]
            signs[unsure] = [(score > 0) - (score < 0) for score in scores]
        return signs

    @property
    def support_size(self) -> int:
        """Number of support points ``m``."""
        return self.points.shape[0]

    def sample_indices(self, n: int, rng: np.random.Generator, *, trials: int | None = None) -> np.ndarray:
        """Indices of ``n`` i.i.d. support points, shape ``(n,)`` or ``(trials, n)``."""
        *lead, _, n = self._sample_shape(n, trials)
        return as_generator("rng", rng).choice(self.support_size, size=(*lead, n), p=self.weights)

    def sample(self, n: int, rng: np.random.Generator, *, trials: int | None = None) -> FloatArray:
        """``n`` i.i.d. draws of the support with the weights, as ``(d, n)`` or ``(trials, d, n)``."""
        return self.data_at(self.sample_indices(n, rng, trials=trials))

    def data_at(self, indices: ArrayLike) -> FloatArray:
        """The support points at ``indices`` ``(n,)`` or ``(trials, n)`` as data ``(d, n)`` or
        ``(trials, d, n)`` (points as columns, as training sets are)."""
        return np.moveaxis(self.points.T[:, np.asarray(indices)], 0, -2)

    def _steps(self, angles: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Sorted ``angles`` and the mass at or below each, summed exactly then rounded once
        (so the last step is exactly 1)."""
        order = np.argsort(angles)
        partial = itertools.accumulate((self.exact_weights[j] for j in order), initial=Fraction(0))
        return angles[order], np.array([float(q) for q in partial])

    @staticmethod
    def _step_value(steps: tuple[FloatArray, FloatArray], theta: ArrayLike) -> FloatArray:
        """``Σ_j q_j 1[angle_j ≤ θ]`` for each ``θ``."""
        angles, cumulative = steps
        return cumulative[np.searchsorted(angles, as_angles("theta", theta), side="right")]

    def p(self, theta: ArrayLike) -> FloatArray:
        """``Σ_j q_j 1[γ_j ≤ θ]``, a right-continuous step function with jumps at ``γ_j``."""
        return self._step_value(self._p_steps, theta)

    def mass_near_teacher(self, theta: ArrayLike) -> FloatArray:
        """``Σ_j q_j 1[α_j ≤ θ]``."""
        return self._step_value(self._near_steps, theta)

    def breakpoints(self) -> FloatArray:
        """The distinct boundary angles ``γ_j`` where ``p`` jumps."""
        return np.unique(self.gammas)

    def risk(self, w: ArrayLike) -> FloatArray:
        """``Σ_j q_j 1[sign(wᵀa_j) ≠ sign(w*ᵀa_j)]`` with the student's sign and the sum in floating
        point (a float sum of ``m`` weights: exact up to ``m`` rounding errors). ``w`` and the points
        are rescaled by powers of two first, so no product overflows or underflows to a false sign.

        A zero score counts as wrong (the ``"error"`` convention of :data:`Ties`). Use :meth:`exact_risk`
        when ``wᵀa_j`` may vanish exactly (rational constructions).
        """
        wrong = np.sign(unit_scaled(self._as_students(w)) @ self._directions) != self.teacher_signs
        return np.asarray(wrong @ self.weights)

    def held_out_risk(self, w: ArrayLike, indices: ArrayLike) -> FloatArray:
        """The risk of each student ``w`` ``(B, d)`` on the support points its training set did not
        draw (``indices`` ``(B, n)`` from :meth:`sample_indices`), weights renormalised over them:
        a real data set's test error on held-out rows. A training set that drew every point has
        no held-out rows and is refused."""
        students = np.atleast_2d(self._as_students(w))
        return self.held_out_mean(np.sign(unit_scaled(students, axis=-1) @ self._directions) != self.teacher_signs,
                                  indices)

    def held_out_mean(self, wrong: ArrayLike, indices: ArrayLike) -> FloatArray:
        """The weighted mean of ``wrong`` ``(B, m)`` (one row of per-support-point errors per training
        set, of any student) over the support points each training set did not draw, weights
        renormalised over them: :meth:`held_out_risk` for any notion of error (e.g. argmax)."""
        errors = np.atleast_2d(np.asarray(wrong, dtype=bool))
        drawn = np.atleast_2d(np.asarray(indices))
        if drawn.shape[0] != errors.shape[0]:
            raise InvalidArgument(
                f"indices has {drawn.shape[0]} training sets, but w has {errors.shape[0]} students."
            )
        held = np.ones((len(drawn), self.support_size), dtype=bool)
        np.put_along_axis(held, drawn, False, axis=1)
        mass = held @ self.weights
        if np.any(mass <= 0):
            raise InvalidArgument("a training set drew every support point: no held-out point is left.")
        return np.asarray((errors & held) @ self.weights / mass)

    def exact_errors(self, w: Any, *, ties: Ties = "error") -> list[bool]:
        """Which support points the student ``w`` (rationals, or floats read exactly) gets wrong:
        ``sign(wᵀa_j) = −sign(w*ᵀa_j)``, and also a tie ``wᵀa_j = 0`` under ``ties="error"``
        (:data:`Ties`)."""
        if ties not in TIE_CONVENTIONS:
            raise InvalidArgument(
                f"ties={ties!r} must be 'error' (sign(0) counts as wrong, THEORY.md §1) or 'correct'."
            )
        agreements = self._exact_signs(as_rational_vector("w", w, dim=self.dim)) * self.teacher_signs
        return [bool(agreement < 0 or (agreement == 0 and ties == "error")) for agreement in agreements]

    def exact_risk(self, w: Any, *, ties: Ties = "error") -> Fraction:
        """The risk of the student ``w`` as a Fraction: the weight of :meth:`exact_errors`.

        >>> dist = Discrete([[1, 1], [1, -1]], ["1/2", "1/2"], w_star=[1, 0])
        >>> dist.exact_risk([1, 1]), dist.exact_risk([1, 1], ties="correct")  # wᵀa_2 = 0
        (Fraction(1, 2), Fraction(0, 1))
        """
        wrong = self.exact_errors(w, ties=ties)
        return sum((q for q, counted in zip(self.exact_weights, wrong, strict=True) if counted), Fraction(0))

    @cached_property
    def boundary_sin2(self) -> tuple[Fraction, ...]:
        """Exact ``sin²γ_j = (w*ᵀa_j)² / (‖w*‖²‖a_j‖²)`` of every support point."""
        support, w_star = self._integer_support, integer_rows([self.exact_w_star])[0]
        norm2 = int(w_star @ w_star)
        scores = support @ w_star
        return tuple(Fraction(int(s) ** 2, norm2 * int(row @ row)) for s, row in zip(scores, support, strict=True))

    def exact_p(self, sin2_theta: Any) -> Fraction:
        """``p(θ)`` exactly, for the angle ``θ ∈ [0, π/2]`` with ``sin²θ = sin2_theta``."""
        level = to_fraction("sin2_theta", sin2_theta)
        if not 0 <= level <= 1:
            raise InvalidArgument(f"sin2_theta={sin2_theta!r} must lie in [0, 1].")
        return sum(
            (q for q, s in zip(self.exact_weights, self.boundary_sin2, strict=True) if s <= level),
            Fraction(0),
        )

    def params(self) -> dict[str, Any]:
        """Points (a list of points, rows ``(m, d)``), weights and ``w*``; strings when exact."""

        def plain(x: Fraction) -> str | float:
            return str(x) if self.is_exact else float(x)

        return {
            "points": [[plain(x) for x in point] for point in self.support],
            "weights": [plain(q) for q in self.exact_weights],
            "w_star": [plain(x) for x in self.exact_w_star],
        }

    def describe(self) -> str:
        """The family id, dimension, support size and whether it is exact."""
        mode = "exact rationals" if self.is_exact else "floats"
        return f"{self.name}(d={self.dim}, m={self.support_size}, {mode})"
