"""Derivations ``gd-limit`` and ``deep-invariance`` (THEORY.md §3: span invariance, the limits
of linear and deep linear students).

Data matrices have independent symbolic entries ("generic"); the projector is built from a basis
``B`` of the columns as ``P = B (BᵀB)^{-1} Bᵀ``. The loss is ``L(w) = (1/n) Σ_i f_i(x_iᵀw)`` with
*undefined* functions ``f_i``, so every identity holds for any per-point loss, the distillation
loss and the hard-label loss included; the distillation gradient is then instantiated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import sympy as sp

from kdverify.theory.core import Derivation, Derived, FunctionSpec, Identity, Step
from kdverify.theory.symbols import (
    TEMPERATURE,
    as_rows,
    gradient,
    matrix_symbols,
    mean_loss,
    sigmoid,
    softplus,
    span_projector,
    vector_symbols,
)

__all__ = ["DERIVATIONS"]

STEP = sp.Symbol("eta", positive=True)


def generic_loss(size: int) -> Callable[[sp.Expr, sp.Expr], sp.Expr]:
    """``(z, i) ↦ f_i(z)``: an arbitrary differentiable loss per training point."""
    functions = [sp.Function(f"f_{i + 1}") for i in range(size)]
    return lambda z, index: functions[int(index)](z)


def generic_gradient_factor(data: sp.Matrix, w: sp.Matrix) -> sp.Matrix:
    """``g`` with ``∇L(w) = X g``, ``g_i = f_i'(x_iᵀw)/n``: differentiate each ``f_i`` at a free
    point and substitute the logit, producing the same objects as the chain rule does."""
    xi = sp.Dummy("xi")
    loss = generic_loss(data.cols)
    logits = data.T * w
    return sp.Matrix(
        [sp.diff(loss(xi, i), xi).subs(xi, logits[i]) / data.cols for i in range(data.cols)]
    )


def _limit_case(label: str, data: sp.Matrix, basis: sp.Matrix) -> tuple[list[Identity], FunctionSpec]:
    """Identities of the linear limit for one shape of ``X``, and the limit as a function."""
    d = data.rows
    projector = span_projector(basis)
    complement = sp.eye(d) - projector
    w_star = vector_symbols("v", d, real=True)
    w0 = vector_symbols("u", d, real=True)
    w = vector_symbols("w", d, real=True)
    limit = projector * w_star / TEMPERATURE + complement * w0
    coefficients = (basis.T * basis).inv() * basis.T * (w_star / TEMPERATURE - w0)
    indices = sp.Matrix(range(data.cols))
    loss_gradient = gradient(mean_loss(data, w, indices, generic_loss(data.cols)), w)
    step = w - STEP * loss_gradient
    identities = [
        Identity(f"[{label}] P² = P", projector * projector, projector),
        Identity(f"[{label}] Pᵀ = P", projector.T, projector),
        Identity(f"[{label}] P X = X (P fixes the data)", projector * data, data),
        Identity(f"[{label}] Xᵀŵ = Xᵀw*/T (ŵ interpolates the teacher's logits)",
                 data.T * limit, data.T * w_star / TEMPERATURE),
        Identity(f"[{label}] ŵ − w_0 = B c with c = (BᵀB)^(-1)Bᵀ(w*/T − w_0) ∈ span X",
                 limit - w0, basis * coefficients),
        Identity(f"[{label}] ∇L(w) = X g, g_i = f_i'(x_iᵀw)/n",
                 loss_gradient, data * generic_gradient_factor(data, w)),
        Identity(f"[{label}] P⊥∇L(w) = 0", complement * loss_gradient, sp.zeros(d, 1)),
        Identity(f"[{label}] one step keeps P⊥w: P⊥(w − η∇L(w)) = P⊥w",
                 complement * step, complement * w),
    ]
    spec = FunctionSpec(
        (as_rows(basis), list(w_star), TEMPERATURE, list(w0)),
        limit,
        f"ŵ = P w*/T + P⊥ w_0 for X {label}; arguments (basis, w_star, T, w0), basis = "
        f"the first {basis.cols} columns of X",
    )
    return identities, spec


@functools.cache
def _gd_limit() -> Derived:
    a, b = sp.symbols("a b", real=True)
    tall = matrix_symbols("x", 3, 2, real=True)
    square = matrix_symbols("x", 2, 2, real=True)
    deficient = tall.row_join(a * tall.col(0) + b * tall.col(1))
    cases = {
        "n < d: 3×2": (tall, tall),
        "n = d: 2×2": (square, square),
        "rank 2: 3×3, x_3 = a x_1 + b x_2": (deficient, tall),
    }
    identities: list[Identity] = []
    functions: dict[str, FunctionSpec] = {}
    for label, (data, basis) in cases.items():
        case_identities, functions[f"limit[{label}]"] = _limit_case(label, data, basis)
        identities += case_identities
    identities.append(
        Identity("[n = d: 2×2] P = I, so ŵ = w*/T (exact recovery)", span_projector(square), sp.eye(2))
    )
    minors = [tall.extract(rows, [0, 1]).det() for rows in ([0, 1], [0, 2], [1, 2])]
    identities.append(
        Identity("det(BᵀB) = Σ (2×2 minors of B)² (Cauchy–Binet): > 0 iff B has rank 2",
                 (tall.T * tall).det(), sp.Add(*(m**2 for m in minors)))
    )
    w_hat, w_star, w0 = sp.symbols("ŵ w^* w_0")
    steps = (
        Step("∇L(w) = (1/n) Σ_i f_i'(x_iᵀw) x_i is a combination of the columns: ∇L(w) ∈ span X"),
        Step("Hence P⊥ w_{k+1} = P⊥ w_k for every gradient step (and along the flow)"),
        Step("The limit is a global minimiser in w_0 + span X; with a basis B of the columns, "
             "Xᵀ(w_0 + B c) = Xᵀw*/T has the unique solution c = (BᵀB)^(-1)Bᵀ(w*/T − w_0)"),
        Step("so", sp.Eq(w_hat, sp.Symbol("P") * w_star / TEMPERATURE + sp.Symbol("P⊥") * w0)),
        Step("If rank X = d then P = I and ŵ = w*/T; if w_0 = 0 then ŵ = P w*/T"),
    )
    basis_symbol = sp.MatrixSymbol("B", sp.Symbol("d"), sp.Symbol("r"))
    expressions = {
        "projector": basis_symbol * (basis_symbol.T * basis_symbol).I * basis_symbol.T,
        "limit": sp.Symbol("P") * w_star / TEMPERATURE + sp.Symbol("P⊥") * w0,
    }
    return Derived(expressions, steps, tuple(identities), functions)


def _product(layers: list[sp.Matrix], size: int) -> sp.Matrix:
    """``W_k ⋯ W_j`` for ``layers = [W_j, …, W_k]``; the ``size × size`` identity when empty."""
    result = sp.eye(size)
    for layer in layers:
        result = layer * result
    return result


def _deep_case(widths: tuple[int, ...], data: sp.Matrix, basis: sp.Matrix) -> tuple[
    list[Identity], dict[str, FunctionSpec]
]:
    """Identities for a deep linear student with hidden widths ``widths`` (``N = len + 1``)."""
    d, n = data.shape
    label = f"{len(widths) + 1} layers"
    shapes = list(zip((*widths, 1), (d, *widths), strict=True))
    layers = [matrix_symbols(f"W{j + 1}", rows, cols, real=True) for j, (rows, cols) in enumerate(shapes)]
    end_to_end = _product(layers, d).T
    loss = mean_loss(data, end_to_end, sp.Matrix(range(n)), generic_loss(n))
    outer_gradient = data * generic_gradient_factor(data, end_to_end)
    complement = sp.eye(d) - span_projector(basis)
    identities = []
    for j, layer in enumerate(layers):
        above = _product(layers[j + 1 :], layer.rows).T
        below = _product(layers[:j], d).T
        above_text = "".join(f"W_{k}" for k in range(len(layers), j + 1, -1)) or "1"
        below_text = "".join(f"W_{k}" for k in range(j, 0, -1)) or "I"
        identities.append(
            Identity(f"[{label}] ∂L/∂W_{j + 1} = ({above_text})ᵀ ∇L(w)ᵀ ({below_text})ᵀ",
                     gradient(loss, layer), above * outer_gradient.T * below)
        )
    first_gradient = gradient(loss, layers[0])
    identities += [
        Identity(f"[{label}] (∂L/∂W_1) P⊥ = 0", first_gradient * complement, sp.zeros(*layers[0].shape)),
        Identity(f"[{label}] one step keeps W_1 P⊥: (W_1 − η ∂L/∂W_1) P⊥ = W_1 P⊥",
                 (layers[0] - STEP * first_gradient) * complement, layers[0] * complement),
    ]
    targets = vector_symbols("s", n, positive=True)
    distillation = mean_loss(data, end_to_end, targets, lambda z, t: softplus(z) - t * z)
    residuals = (data.T * end_to_end).applyfunc(sigmoid) - targets
    upper = _product(layers[1:], layers[0].rows).T
    distilled_first = gradient(distillation, layers[0])
    identities.append(
        Identity(f"[{label}] distillation: ∂L/∂W_1 = v ∇L(w)ᵀ, ∇L(w) = (1/n) X(σ(Xᵀw) − s)",
                 distilled_first, upper * (data * residuals / n).T)
    )
    args = ([as_rows(layer) for layer in layers], as_rows(data), list(targets))
    functions = {
        f"first_layer_gradient[{label}]": FunctionSpec(
            args, distilled_first,
            f"∂L/∂W_1 of the distillation loss, {label}; arguments ([W_1, …, W_N], X {d}×{n}, s)",
        )
    }
    return identities, functions


@functools.cache
def _deep_invariance() -> Derived:
    data = matrix_symbols("x", 3, 2, real=True)
    identities: list[Identity] = []
    functions: dict[str, FunctionSpec] = {}
    for widths in ((2,), (2, 2)):
        case_identities, case_functions = _deep_case(widths, data, data)
        identities += case_identities
        functions.update(case_functions)
    projector = span_projector(data)
    complement = sp.eye(3) - projector
    w_star = vector_symbols("v", 3, real=True)
    initial = matrix_symbols("V", 2, 3, real=True)
    top = vector_symbols("a", 2, real=True)
    limit = projector * w_star / TEMPERATURE + complement * initial.T * top
    identities += [
        Identity("deep limit interpolates: Xᵀw_∞ = Xᵀw*/T", data.T * limit, data.T * w_star / TEMPERATURE),
        Identity("deep limit keeps the initial off-span part: P⊥w_∞ = P⊥W_1(0)ᵀv_∞",
                 complement * limit, complement * initial.T * top),
    ]
    functions["limit"] = FunctionSpec(
        (as_rows(data), list(w_star), TEMPERATURE, as_rows(initial), list(top)),
        limit,
        "P w*/T + P⊥ W_1(0)ᵀ v_∞ for X 3×2, W_1(0) 2×3; arguments (X, w_star, T, W1_0, v)",
    )
    steps = (
        Step("w = (W_N⋯W_1)ᵀ, so by the chain rule ∂L/∂W_1 = v ∇L(w)ᵀ with v = (W_N⋯W_2)ᵀ"),
        Step("∇L(w) ∈ span X, so every row of ∂L/∂W_1 is in span X and (∂L/∂W_1) P⊥ = 0"),
        Step("Hence W_1(t) P⊥ = W_1(0) P⊥ along gradient descent and gradient flow"),
        Step("At a global minimiser w_∞: P w_∞ = P w*/T and P⊥ w_∞ = (W_1(∞)P⊥)ᵀ v_∞ "
             "= P⊥ W_1(0)ᵀ v_∞"),
    )
    expressions = {
        "first_layer_gradient": sp.Symbol("v") * sp.Symbol("∇L(w)ᵀ"),
        "limit": sp.Symbol("P") * sp.Symbol("w^*") / TEMPERATURE
        + sp.Symbol("P⊥") * sp.Symbol("W_1(0)^T v_∞"),
    }
    return Derived(expressions, steps, tuple(identities), functions)


DERIVATIONS = {
    derivation.id: derivation
    for derivation in (
        Derivation(
            "gd-limit",
            "span invariance and the limit ŵ = P w*/T + P⊥ w_0 of gradient descent",
            ("X has independent real symbolic entries (generic); for the rank-deficient case "
             "x_3 = a x_1 + b x_2 with x_1, x_2 generic",
             "T > 0, η > 0; per-point losses f_i arbitrary differentiable functions"),
            _gd_limit,
        ),
        Derivation(
            "deep-invariance",
            "deep linear students keep W_1 P⊥ fixed; their limit",
            ("X a generic 3×2 matrix; W_j generic; hidden widths (2) and (2, 2)",
             "per-point losses f_i arbitrary differentiable functions; T > 0"),
            _deep_invariance,
        ),
    )
}
