"""Symbolic building blocks shared by the derivations: σ, the logistic loss, symbolic data
matrices, the empirical loss and the projector onto a span (THEORY.md §1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp

__all__ = [
    "HALF_PI",
    "TEMPERATURE",
    "as_rows",
    "gradient",
    "logistic_loss",
    "matrix_symbols",
    "mean_loss",
    "readable",
    "sigmoid",
    "softplus",
    "span_projector",
    "vector_symbols",
]

HALF_PI = sp.pi / 2
TEMPERATURE = sp.Symbol("T", positive=True)


def sigmoid(z: sp.Expr) -> sp.Expr:
    """``σ(z) = 1/(1 + e^{−z})``."""
    return 1 / (1 + sp.exp(-z))


_SIGMA = sp.Function("sigma")
_ARGUMENT = sp.Wild("argument")


def readable(expr: Any) -> Any:
    """``expr`` for display: every ``1/(1 + e^{−a})`` written as ``sigma(a)``."""
    expr = sp.sympify(expr)
    if not expr.has(sp.exp):
        return expr
    return expr.replace(1 / (1 + sp.exp(-_ARGUMENT)), _SIGMA(_ARGUMENT))


def softplus(z: sp.Expr) -> sp.Expr:
    """``log(1 + e^z)``."""
    return sp.log(1 + sp.exp(z))


def logistic_loss(z: sp.Expr, t: sp.Expr) -> sp.Expr:
    """``ℓ(z, t) = −t log σ(z) − (1 − t) log(1 − σ(z))``, exactly as THEORY.md §1 defines it."""
    return -t * sp.log(sigmoid(z)) - (1 - t) * sp.log(1 - sigmoid(z))


def matrix_symbols(name: str, rows: int, cols: int, **assumptions: Any) -> sp.Matrix:
    """A ``rows × cols`` matrix of distinct symbols ``name_{ij}`` (generic entries)."""
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", **assumptions))


def vector_symbols(name: str, size: int, **assumptions: Any) -> sp.Matrix:
    """A column vector of distinct symbols ``name_i``."""
    return sp.Matrix([sp.Symbol(f"{name}_{i + 1}", **assumptions) for i in range(size)])


def as_rows(matrix: sp.Matrix) -> list[list[sp.Expr]]:
    """A matrix as nested rows, the argument form ``lambdify`` unpacks a ``(d, n)`` array into."""
    return [list(matrix.row(i)) for i in range(matrix.rows)]


def mean_loss(
    data: sp.Matrix, w: sp.Matrix, targets: sp.Matrix, point_loss: Callable[..., sp.Expr]
) -> sp.Expr:
    """``(1/n) Σ_i point_loss(x_iᵀw, t_i)`` for the columns ``x_i`` of ``data``."""
    logits = data.T * w
    return sp.Add(*(point_loss(logits[i], targets[i]) for i in range(data.cols))) / data.cols


def gradient(expr: sp.Expr, variables: sp.Matrix) -> sp.Matrix:
    """The gradient of ``expr`` with respect to the entries of ``variables``, same shape."""
    return variables.applyfunc(lambda v: sp.diff(expr, v))


def span_projector(basis: sp.Matrix) -> sp.Matrix:
    """``P = B (BᵀB)^{-1} Bᵀ`` for a basis ``B`` (independent columns), written as
    ``B adj(BᵀB) Bᵀ / det(BᵀB)`` with expanded polynomial entries over one common denominator,
    which keeps every identity about ``P`` a cheap polynomial check."""
    gram = basis.T * basis
    determinant = sp.expand(gram.det())
    numerator = (basis * gram.adjugate() * basis.T).applyfunc(sp.expand)
    return numerator / determinant
