"""Exact numbers of the form ``N(π)/D(π)`` with ``N``, ``D`` rational polynomials, compared exactly.

Such numbers are what the expected risk on isotropic data comes to (:func:`~kdverify.measure.expected.
exact_isotropic_expected_risks`). Two of them compare by the sign of the rational polynomial
``N₁D₂ − N₂D₁`` at ``π`` (times the signs of the denominators): ``π`` is transcendental, so that
polynomial vanishes at ``π`` only when all its coefficients are 0, and otherwise its sign follows from
evaluating it in interval arithmetic on rigorous rational bounds of ``π`` (:func:`pi_bounds`, from
Machin's formula), tightened until the interval excludes 0 (:class:`~kdverify.errors.NotConverged`
beyond :data:`MAX_PI_DIGITS`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache, total_ordering
from typing import Any

from kdverify.errors import InvalidArgument, NotConverged

__all__ = ["MAX_PI_DIGITS", "PiRational", "pi_bounds"]

MAX_PI_DIGITS = 2048
"""The most decimal digits of ``π`` a sign is decided with before it is refused (a nonzero polynomial
that small at ``π`` would need coefficients of thousands of digits)."""
_START_DIGITS = 32

Polynomial = tuple[Fraction, ...]
"""Coefficients of ``π⁰, π¹, …``, without trailing zeros (0 is the empty tuple)."""


def _arctan_inverse_bounds(x: int, digits: int) -> tuple[Fraction, Fraction]:
    """Rational ``lo ≤ arctan(1/x) ≤ hi`` within ``10^-digits``: consecutive partial sums of the
    alternating series ``Σ (−1)^k / ((2k+1) x^{2k+1})``, whose terms decrease, bracket its sum."""
    total, k, tolerance = Fraction(0), 0, Fraction(1, 10**digits)
    while True:
        term = Fraction(1, (2 * k + 1) * x ** (2 * k + 1))
        previous, total = total, total + (-term if k % 2 else term)
        if k and abs(total - previous) < tolerance:
            return min(total, previous), max(total, previous)
        k += 1


@lru_cache(maxsize=8)
def _scaled_pi_bounds(digits: int) -> tuple[int, int, int]:
    """Integers ``L < π·S < H`` with ``S = 10^(digits+2)`` and ``H − L < S·10^-digits``."""
    extra = digits + 4
    (a_lo, a_hi), (b_lo, b_hi) = _arctan_inverse_bounds(5, extra), _arctan_inverse_bounds(239, extra)
    lower, upper = 16 * a_lo - 4 * b_hi, 16 * a_hi - 4 * b_lo
    scale = 10 ** (digits + 2)
    return math.floor(lower * scale), math.ceil(upper * scale), scale


def pi_bounds(digits: int) -> tuple[Fraction, Fraction]:
    """Rational ``lo < π < hi`` with ``hi − lo < 10^-digits``, from Machin's
    ``π = 16 arctan(1/5) − 4 arctan(1/239)``, rounded outward to ``digits + 2`` decimals.

    >>> lo, hi = pi_bounds(20)
    >>> lo < Fraction("3.14159265358979323846264") < hi and hi - lo < Fraction(1, 10**20)
    True
    """
    low, high, scale = _scaled_pi_bounds(digits)
    return Fraction(low, scale), Fraction(high, scale)


def _trimmed(coefficients: Sequence[Any]) -> Polynomial:
    values = [Fraction(c) for c in coefficients]
    while values and values[-1] == 0:
        values.pop()
    return tuple(values)


def _product(p: Polynomial, q: Polynomial) -> Polynomial:
    result = [Fraction(0)] * max(len(p) + len(q) - 1, 0)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            result[i + j] += a * b
    return _trimmed(result)


def _difference(p: Polynomial, q: Polynomial) -> Polynomial:
    size = max(len(p), len(q))
    return _trimmed([(p[i] if i < len(p) else 0) - (q[i] if i < len(q) else 0) for i in range(size)])


def _sign_at_pi(p: Polynomial) -> int:
    """The sign of ``p(π)``: 0 only for the zero polynomial (π is transcendental). Integer interval
    arithmetic: with integer coefficients ``c_k`` (``p`` times the common denominator) and
    ``L < π·S < H``, ``S^deg·p(π)`` lies between the sums of the smaller and of the larger of
    ``c_k L^k S^(deg−k)`` and ``c_k H^k S^(deg−k)`` (each monomial is monotone for ``x > 0``)."""
    if not p:
        return 0
    common = math.lcm(*(c.denominator for c in p))
    integers = [int(c * common) for c in p]
    degree = len(integers) - 1
    digits = _START_DIGITS
    while digits <= MAX_PI_DIGITS:
        low_pi, high_pi, scale = _scaled_pi_bounds(digits)
        low = high = 0
        for k, c in enumerate(integers):
            ends = (c * low_pi**k * scale ** (degree - k), c * high_pi**k * scale ** (degree - k))
            low, high = low + min(ends), high + max(ends)
        if low > 0 or high < 0:
            return 1 if low > 0 else -1
        digits *= 4
    raise NotConverged(f"the sign at π of the polynomial {p} is not decided with {MAX_PI_DIGITS} digits of π")


def _term(coefficient: Fraction, power: int) -> str:
    if power == 0:
        return str(coefficient)
    pi = "π" if power == 1 else f"π^{power}"
    return pi if coefficient == 1 else f"-{pi}" if coefficient == -1 else f"{coefficient}·{pi}"


def _text(p: Polynomial, *, grouped: bool = False) -> str:
    """``p`` in ``π``, in parentheses when ``grouped`` and a sum."""
    terms = [_term(c, k) for k, c in enumerate(p) if c]
    text = " + ".join(terms).replace("+ -", "- ") if terms else "0"
    return f"({text})" if grouped and len(terms) > 1 else text


@total_ordering
@dataclass(frozen=True, eq=False)
class PiRational:
    """``N(π)/D(π)`` from the coefficients of ``N`` and ``D`` (constant first), rational and exact;
    equality and order are exact (module docstring), ``float()`` gives the value for reporting.

    >>> half_pi = PiRational([0, "1/2"])
    >>> str(half_pi), half_pi > PiRational(["157/100"]), str(half_pi / PiRational([0, 1]))
    ('1/2·π', True, '1/2')
    """

    numerator: Polynomial
    denominator: Polynomial

    def __init__(self, numerator: Sequence[Any], denominator: Sequence[Any] = (1,)) -> None:
        num, den = _trimmed(numerator), _trimmed(denominator)
        if not den:
            raise InvalidArgument(f"denominator={list(denominator)!r} is the zero polynomial.")
        # Normalised: 0 is 0/1, common powers of π cancel, D's leading coefficient is 1.
        if not num:
            den = (Fraction(1),)
        while num and not num[0] and not den[0]:
            num, den = num[1:], den[1:]
        lead = den[-1]
        object.__setattr__(self, "numerator", tuple(c / lead for c in num))
        object.__setattr__(self, "denominator", tuple(c / lead for c in den))

    def _compare(self, other: object) -> int | None:
        """``sign(self − other)``, or ``None`` for an operand of another kind."""
        other = _coerced(other)
        if other is None:
            return None
        cross = _difference(_product(self.numerator, other.denominator), _product(other.numerator, self.denominator))
        return _sign_at_pi(cross) * _sign_at_pi(self.denominator) * _sign_at_pi(other.denominator)

    def __eq__(self, other: object) -> bool:
        sign = self._compare(other)
        return NotImplemented if sign is None else sign == 0

    def __lt__(self, other: object) -> bool:
        sign = self._compare(other)
        return NotImplemented if sign is None else sign < 0

    def __le__(self, other: object) -> bool:
        sign = self._compare(other)
        return NotImplemented if sign is None else sign <= 0

    __hash__ = None  # type: ignore[assignment]  # equal values may have different forms

    def __sub__(self, other: object) -> PiRational:
        other = _coerced(other)
        if other is None:
            return NotImplemented
        return PiRational(
            _difference(_product(self.numerator, other.denominator), _product(other.numerator, self.denominator)),
            _product(self.denominator, other.denominator),
        )

    def __truediv__(self, other: object) -> PiRational:
        other = _coerced(other)
        if other is None:
            return NotImplemented
        if not other.numerator:
            raise ZeroDivisionError(f"{self} / 0")
        return PiRational(_product(self.numerator, other.denominator), _product(self.denominator, other.numerator))

    def __float__(self) -> float:
        return self._value

    @cached_property
    def _value(self) -> float:
        """The value to double precision (``π`` within ``10^-64``; rounded once more at the end)."""
        lo, hi = pi_bounds(64)
        middle = (lo + hi) / 2
        return float(_evaluate(self.numerator, middle) / _evaluate(self.denominator, middle))

    def __str__(self) -> str:
        if self.denominator == (1,):
            return _text(self.numerator)
        return f"{_text(self.numerator, grouped=True)}/{_text(self.denominator, grouped=True)}"

    def __repr__(self) -> str:
        return f"PiRational({[str(c) for c in self.numerator]}, {[str(c) for c in self.denominator]})"


def _coerced(value: object) -> PiRational | None:
    """``value`` as a :class:`PiRational` (an ``int`` or ``Fraction`` too), else ``None``."""
    if isinstance(value, int | Fraction):
        return PiRational([value])
    return value if isinstance(value, PiRational) else None


def _evaluate(p: Polynomial, x: Fraction) -> Fraction:
    value = Fraction(0)
    for c in reversed(p):
        value = value * x + c
    return value
