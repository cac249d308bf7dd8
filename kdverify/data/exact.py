"""Exact rational linear algebra with :class:`fractions.Fraction` (no SymPy, no rounding).

Vectors are tuples of ``Fraction``; a data set is a sequence of rows (``d`` rows, points as
columns, as everywhere in kdverify). A subspace is a :class:`RationalSpan`, stored by its reduced
row-echelon basis, which is unique — so equal spans compare and hash equal, and the expected-risk
machinery can cache students by span. The closed-form student ``P w*/T + P⊥ w_0`` and sign tests
built on it are exact, which is what certifying a counterexample needs.

>>> span = column_span([[1, 2], [0, 0], [1, 2]])
>>> span.rank, span.project((1, 5, 3))
(1, (Fraction(2, 1), Fraction(0, 1), Fraction(2, 1)))
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np

from kdverify.errors import InvalidArgument

__all__ = [
    "RationalSpan",
    "RationalVector",
    "as_rational_matrix",
    "as_rational_vector",
    "column_span",
    "dot",
    "exact_student",
    "integer_rows",
    "is_float_free",
    "max_margin_on_active_set",
    "projector",
    "rank",
    "sign",
    "solve",
    "to_fraction",
]

RationalVector = tuple[Fraction, ...]


def to_fraction(name: str, value: Any) -> Fraction:
    """``value`` as an exact ``Fraction``: ints, Fractions, strings like ``"-3/7"`` or ``"0.25"``,
    and finite floats (converted exactly, so ``0.1`` becomes ``3602879701896397/36028797018963968``).
    """
    if isinstance(value, (bool, np.bool_)):
        raise InvalidArgument(f"{name}={value!r} is a boolean, not a number.")
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        raise InvalidArgument(f"{name}={value!r} is not finite; NaN and inf are not allowed.")
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if isinstance(value, (numbers.Rational, str, float)):
        try:
            return Fraction(value.strip() if isinstance(value, str) else value)
        except (ValueError, ZeroDivisionError):
            pass
    raise InvalidArgument(
        f"{name}={value!r} is not an exact number; use an int, a Fraction, a string like '1/3', or a finite float."
    )


def is_float_free(value: Any) -> bool:
    """``True`` when no float occurs in ``value`` (a number or nested sequence/array of numbers).

    Inputs without floats are read as exact rationals; a float anywhere switches to float mode.
    """
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iub" or (value.dtype == object and all(is_float_free(v) for v in value.flat))
    if isinstance(value, (str, bytes)):
        return True
    if isinstance(value, Iterable):
        return all(is_float_free(v) for v in value)
    return not isinstance(value, (float, np.floating))


def as_rational_vector(name: str, value: Any, *, dim: int | None = None) -> RationalVector:
    """A 1-D sequence of exact numbers (see :func:`to_fraction`) as a tuple of Fractions."""
    entries = np.asarray(value, dtype=object) if not isinstance(value, str) else np.asarray([value])
    if entries.ndim != 1 or entries.size == 0:
        raise InvalidArgument(f"{name} has shape {entries.shape}, but must be a non-empty vector.")
    if dim is not None and entries.size != dim:
        raise InvalidArgument(f"{name} has length {entries.size}, but the data have dimension {dim}.")
    return tuple(to_fraction(f"{name}[{i}]", v) for i, v in enumerate(entries))


def as_rational_matrix(name: str, value: Any) -> tuple[RationalVector, ...]:
    """A 2-D nested sequence of exact numbers as a tuple of rows of Fractions."""
    entries = np.asarray(value, dtype=object)
    if entries.ndim != 2 or entries.size == 0:
        raise InvalidArgument(f"{name} has shape {entries.shape}, but must be a non-empty 2-D array.")
    return tuple(tuple(to_fraction(f"{name}[{i}, {j}]", v) for j, v in enumerate(row)) for i, row in enumerate(entries))


def dot(u: Sequence[Fraction], v: Sequence[Fraction]) -> Fraction:
    """Exact inner product of two vectors of the same length."""
    if len(u) != len(v):
        raise InvalidArgument(f"dot needs vectors of one length, not {len(u)} and {len(v)}.")
    return sum((a * b for a, b in zip(u, v, strict=True)), Fraction(0))


def integer_rows(rows: Sequence[Sequence[Fraction]]) -> np.ndarray:
    """Each row times the least common multiple of its denominators: an ``object`` array ``(m, d)``
    of Python ints, one positive factor per row. Signs and ratios of inner products are unchanged,
    and integer arithmetic is exact and far cheaper than summing Fractions."""

    def cleared(row: Sequence[Fraction]) -> list[int]:
        scale = math.lcm(*(x.denominator for x in row))
        return [x.numerator * (scale // x.denominator) for x in row]

    return np.array([cleared(row) for row in rows], dtype=object).reshape(len(rows), -1)


def sign(value: Fraction) -> int:
    """Exact sign in ``{−1, 0, 1}``."""
    return (value > 0) - (value < 0)


def _axpy(alpha: Fraction, x: Sequence[Fraction], y: Sequence[Fraction]) -> RationalVector:
    """``y + αx``."""
    return tuple(b + alpha * a for a, b in zip(x, y, strict=True))


@dataclass(frozen=True)
class RationalSpan:
    """A subspace of ``Q^dim``, stored as its unique reduced row-echelon basis ``rows``.

    Equal subspaces have equal ``rows``, so spans are usable as dictionary keys.
    """

    dim: int
    rows: tuple[RationalVector, ...] = ()
    pivots: tuple[int, ...] = ()

    @property
    def rank(self) -> int:
        """Dimension of the subspace."""
        return len(self.rows)

    def reduce(self, v: Sequence[Fraction]) -> RationalVector:
        """``v`` minus its components along the pivots: zero exactly when ``v`` is in the span."""
        residual = tuple(Fraction(x) for x in v)
        for row, pivot in zip(self.rows, self.pivots, strict=True):
            if residual[pivot]:
                residual = _axpy(-residual[pivot], row, residual)
        return residual

    def contains(self, v: Sequence[Fraction]) -> bool:
        """Exact membership test."""
        return not any(self.reduce(v))

    def extended(self, v: Sequence[Fraction]) -> RationalSpan:
        """The span of this subspace and ``v`` (``self`` when ``v`` is already inside)."""
        residual = self.reduce(v)
        pivot = next((i for i, x in enumerate(residual) if x), None)
        if pivot is None:
            return self
        new_row = tuple(x / residual[pivot] for x in residual)
        pairs = [
            (p, _axpy(-row[pivot], new_row, row) if row[pivot] else row)
            for p, row in zip(self.pivots, self.rows, strict=True)
        ]
        pairs = sorted([*pairs, (pivot, new_row)], key=lambda pair: pair[0])
        return RationalSpan(self.dim, tuple(r for _, r in pairs), tuple(p for p, _ in pairs))

    @cached_property
    def _orthogonal_basis(self) -> tuple[tuple[RationalVector, Fraction], ...]:
        """Gram–Schmidt without square roots: pairs ``(u_i, ‖u_i‖²)`` of orthogonal vectors."""
        basis: list[tuple[RationalVector, Fraction]] = []
        for row in self.rows:
            u = row
            for b, norm2 in basis:
                u = _axpy(-dot(b, row) / norm2, b, u)
            basis.append((u, dot(u, u)))
        return tuple(basis)

    def project(self, v: Sequence[Fraction]) -> RationalVector:
        """Orthogonal projection ``P v`` onto the span."""
        result = tuple(Fraction(0) for _ in range(self.dim))
        for u, norm2 in self._orthogonal_basis:
            result = _axpy(dot(u, v) / norm2, u, result)
        return result

    def complement(self, v: Sequence[Fraction]) -> RationalVector:
        """``P⊥ v = v − P v``."""
        return tuple(a - b for a, b in zip(v, self.project(v), strict=True))

    @classmethod
    def spanned_by(cls, vectors: Iterable[Sequence[Fraction]], dim: int) -> RationalSpan:
        """The span of ``vectors`` in ``Q^dim``."""
        span = cls(dim)
        for v in vectors:
            span = span.extended(v)
        return span


def column_span(data: Any) -> RationalSpan:
    """The span of the columns of ``data`` (``d`` rows, points as columns)."""
    rows = as_rational_matrix("data", data)
    return RationalSpan.spanned_by(zip(*rows, strict=True), len(rows))


def rank(data: Any) -> int:
    """Exact rank of a matrix."""
    return column_span(data).rank


def projector(data: Any) -> tuple[RationalVector, ...]:
    """The orthogonal projector onto the column span of ``data`` as a ``d × d`` matrix of rows."""
    span = column_span(data)
    identity = [tuple(Fraction(int(i == j)) for j in range(span.dim)) for i in range(span.dim)]
    # P is symmetric, so its rows are the projections of the basis vectors.
    return tuple(span.project(e) for e in identity)


def exact_student(
    span: RationalSpan | Any,
    w_star: Any,
    *,
    temperature: Any = 1,
    w0: Any | None = None,
) -> RationalVector:
    """The gradient-descent limit ``P w*/T + P⊥ w_0`` in exact arithmetic.

    ``span`` is a :class:`RationalSpan` or a data matrix (points as columns).
    """
    span = span if isinstance(span, RationalSpan) else column_span(span)
    target = as_rational_vector("w_star", w_star, dim=span.dim)
    t = to_fraction("temperature", temperature)
    if t <= 0:
        raise InvalidArgument(f"temperature={temperature!r} must be > 0.")
    student = span.project(tuple(x / t for x in target))
    if w0 is not None:
        off_span = span.complement(as_rational_vector("w0", w0, dim=span.dim))
        student = tuple(a + b for a, b in zip(student, off_span, strict=True))
    return student


def solve(matrix: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """Gauss–Jordan elimination (first nonzero pivot): exact on Fractions, and stable on floats
    for the symmetric positive definite systems of kernel ridge regression; ``None`` when
    ``matrix`` is singular."""
    size = len(rhs)
    rows = [[*row, b] for row, b in zip(matrix, rhs, strict=True)]
    for col in range(size):
        pivot = next((r for r in range(col, size) if rows[r][col] != 0), None)
        if pivot is None:
            return None
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(size):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][size] / rows[i][i] for i in range(size)]


def max_margin_on_active_set(
    points: Sequence[Sequence[Fraction]], labels: Sequence[int], active: Sequence[int]
) -> RationalVector | None:
    """The hard-margin direction ``w`` (``min ‖w‖`` s.t. ``y_i x_iᵀw ≥ 1``) of rational points,
    *if* ``active`` is its set of support vectors: ``w = Σ λ_i y_i x_i`` over ``active`` with
    ``y_i x_iᵀw = 1`` there, returned only when the KKT conditions hold exactly (``λ ≥ 0``, every
    margin ≥ 1), which makes it the unique optimum. ``None`` otherwise (wrong guess of the active
    set, or linearly dependent support vectors), so a float solver's guess is confirmed or refused."""
    rows = [tuple(Fraction(y) * Fraction(c) for c in point) for point, y in zip(points, labels, strict=True)]
    support = list(dict.fromkeys(rows[i] for i in active))  # duplicated points are one constraint
    gram = [[dot(u, v) for v in support] for u in support]
    multipliers = solve(gram, [Fraction(1)] * len(support))
    if multipliers is None or min(multipliers) < 0:
        return None
    w = tuple(
        sum((lam * u[k] for lam, u in zip(multipliers, support, strict=True)), Fraction(0)) for k in range(len(rows[0]))
    )
    return w if all(dot(row, w) >= 1 for row in rows) else None
