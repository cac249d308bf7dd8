"""Reduce a residual ``lhs − rhs`` to a canonical form, so that "is it zero?" has a sure answer.

Sound by construction: every reduction is an exact rewrite or a substitution of independent
generators, so a residual reduced to 0 is identically 0; an identity sympy cannot reduce is
reported unconfirmed, never confirmed by mistake. (Treating exponentials of different linear forms
as independent can only miss an identity such as ``e^{z+w} = e^z e^w``, never invent one.)

* :func:`reduce_residual` first tries to read the residual as a rational function. Exponentials
  ``exp(k·b)`` become powers ``E_b^k`` of one positive generator per linear form ``b``; undefined
  functions and their derivatives (``f(z)``, ``f'(z)``) become generators; ``π`` is a generator
  (it is transcendental, so a rational identity in ``π`` holds exactly when it holds for a symbol).
  The numerator of the rational function is then expanded in ``QQ[generators]``: the residual
  is zero iff that polynomial is. Anything else (logs, roots, special functions) goes to ``sympy.simplify``.
* :func:`quadrant_reducer` handles trigonometric residuals on ``0 < θ < π/2``: there ``sin θ`` and
  ``cos θ`` are positive, so roots and absolute values resolve, and the numerator is reduced
  modulo the ideal ``(sin²θ + cos²θ − 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.polys.polyerrors import CoercionFailed, PolynomialError
from sympy.polys.rings import PolyElement, PolyRing, ring

__all__ = ["is_zero", "quadrant_reducer", "reduce_residual"]


def is_zero(residual: Any) -> bool:
    """True when a reduced residual (scalar or matrix) is exactly zero."""
    if isinstance(residual, sp.MatrixBase):
        return all(is_zero(entry) for entry in residual)
    return sp.sympify(residual) == 0


def reduce_residual(residual: Any) -> Any:
    """Canonical form of ``residual`` (entrywise for a matrix); see the module docstring."""
    residual = sp.sympify(residual)
    if isinstance(residual, sp.MatrixBase):
        return residual.applyfunc(reduce_residual)
    residual = residual.rewrite((sp.cosh, sp.sinh, sp.tanh), sp.exp)
    if residual.has(sp.beta, sp.gamma):
        residual = sp.expand_func(residual)
    rational = as_rational_function(residual)
    if rational is not None:
        return rational
    return sp.simplify(residual)


def as_rational_function(expr: sp.Expr) -> sp.Expr | None:
    """``expr`` as a rational function (exactly zero when it vanishes identically), else ``None``.

    The numerator is accumulated in ``QQ[generators]`` over a *factored* common denominator
    (a product of powers of the polynomials that appear as denominators), so deciding "zero?"
    needs no polynomial gcd; a nonzero result is put in lowest terms for display.
    """
    atomized, back = _atomize(expr)
    generators = sorted(atomized.free_symbols, key=sp.default_sort_key)
    polynomials = ring(generators or [sp.Dummy()], sp.QQ)[0]
    try:
        numerator, denominator = _fraction(atomized, polynomials)
    except (CoercionFailed, PolynomialError, ValueError):
        return None
    if not numerator:
        return sp.S.Zero
    bottom = sp.Mul(*(base.as_expr() ** power for base, power in denominator.items()))
    return sp.cancel(numerator.as_expr() / bottom).xreplace(back)


Denominator = dict[PolyElement, int]


def _fraction(expr: sp.Expr, polynomials: PolyRing) -> tuple[PolyElement, Denominator]:
    """``(numerator, {base: power})`` of a rational expression in the ring's generators."""
    if isinstance(expr, sp.Add):
        parts = [_fraction(term, polynomials) for term in expr.args]
        common: Denominator = {}
        for _, denominator in parts:
            for base, power in denominator.items():
                common[base] = max(power, common.get(base, 0))
        numerator = polynomials.zero
        for top, denominator in parts:
            for base, power in common.items():
                top *= base ** (power - denominator.get(base, 0))
            numerator += top
        return numerator, common
    if isinstance(expr, sp.Mul):
        numerator = polynomials.one
        product: Denominator = {}
        for factor in expr.args:
            top, denominator = _fraction(factor, polynomials)
            numerator *= top
            for base, power in denominator.items():
                product[base] = product.get(base, 0) + power
        return numerator, product
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer:
        top, denominator = _fraction(expr.base, polynomials)
        power = int(expr.exp)
        if power >= 0:
            return top**power, {base: k * power for base, k in denominator.items()}
        numerator = polynomials.one
        for base, k in denominator.items():
            numerator *= base ** (-k * power)
        return numerator, {top: -power}
    return polynomials.from_expr(expr), {}


def _atomize(expr: sp.Expr) -> tuple[sp.Expr, dict[sp.Symbol, sp.Expr]]:
    """Replace exponentials, undefined functions and ``π`` by generators (and say how to undo)."""
    replacements: dict[sp.Expr, sp.Expr] = {}
    back: dict[sp.Symbol, sp.Expr] = {}
    replacements.update(_exponential_generators(expr, back))
    for kind in (sp.Subs, sp.Derivative, AppliedUndef):
        for atom in sp.sympify(expr).xreplace(replacements).atoms(kind):
            symbol = sp.Dummy("g")
            replacements[atom] = symbol
            back[symbol] = atom
    if expr.has(sp.pi):
        symbol = sp.Dummy("pi", positive=True)
        replacements[sp.pi] = symbol
        back[symbol] = sp.pi
    return expr.xreplace(replacements), back


def _exponential_generators(expr: sp.Expr, back: dict[sp.Symbol, sp.Expr]) -> dict[sp.Expr, sp.Expr]:
    """``exp(k·b) → E^m`` with ``E = exp(b/q)`` and integer ``m``, one ``E`` per primitive ``±b``."""
    groups: dict[sp.Expr, list[tuple[sp.Expr, sp.Rational]]] = {}
    for atom in expr.atoms(sp.exp):
        content, base = sp.expand(atom.args[0]).as_content_primitive()
        if base.could_extract_minus_sign():
            content, base = -content, -base
        groups.setdefault(base, []).append((atom, sp.Rational(content)))
    replacements: dict[sp.Expr, sp.Expr] = {}
    for base, members in groups.items():
        denominator = math.lcm(*(int(content.q) for _, content in members))
        symbol = sp.Dummy("E", positive=True)
        back[symbol] = sp.exp(base / denominator)
        for atom, content in members:
            replacements[atom] = symbol ** int(content * denominator)
    return replacements


def quadrant_reducer(theta: sp.Symbol) -> Callable[[Any], Any]:
    """A reducer for trigonometric residuals in ``θ`` valid on ``0 < θ < π/2`` (see above)."""
    s, c = sp.symbols("s_theta c_theta", positive=True)

    def reduce(residual: Any) -> Any:
        expr = sp.expand_func(sp.sympify(residual)).rewrite(sp.catalan, sp.gamma)
        expr = sp.expand_trig(sp.gammasimp(expr))
        expr = expr.xreplace({sp.sin(theta): s, sp.cos(theta): c}).subs(1 - s**2, c**2)
        if expr.has(theta):
            return reduce_residual(residual)
        rational = as_rational_function(expr)
        if rational is None:
            return sp.simplify(residual)
        numerator, denominator = sp.fraction(sp.together(rational))
        _, remainder = sp.reduced(sp.expand(numerator), [s**2 + c**2 - 1], c, s)
        reduced = remainder / denominator
        return reduced.xreplace({s: sp.sin(theta), c: sp.cos(theta)})

    return reduce
