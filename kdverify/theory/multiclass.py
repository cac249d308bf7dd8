"""Derivation ``multiclass-limit`` (THEORY.md §8.1): the softmax student's gradient, its two
invariants, the limit ``W_∞ = P W*C/T + P W_011ᵀ/K + P⊥W_0`` and the ``K = 2`` reduction to §3.

Generic symbolic data ``X`` (3×2, so ``P⊥ ≠ 0``) and ``K = 3`` classes, plus one rational instance
(rank-deficient ``X``, ``K = 4``) where every check is exact arithmetic. The limit is *derived*, not
assumed: GD stays in ``A = W_0 + {D : columns in span X, D1 = 0}``; a point of ``A`` is a minimiser
iff its softmax equals ``S`` row-wise, i.e. iff its logits differ from ``XᵀW*/T`` by a shift per
row; the identities below show that ``W_∞`` is in ``A``, has such logits and zero gradient.
"""

from __future__ import annotations

import functools

import sympy as sp

from kdverify.theory.core import Derivation, Derived, FunctionSpec, Identity, Step
from kdverify.theory.reduce import reduce_residual
from kdverify.theory.symbols import (
    TEMPERATURE,
    as_rows,
    gradient,
    matrix_symbols,
    sigmoid,
    softplus,
    span_projector,
    vector_symbols,
)

__all__ = ["DERIVATIONS"]



def split_exponentials(residual: sp.Expr | sp.Matrix) -> sp.Expr | sp.Matrix:
    """:func:`reduce_residual` after writing every ``e^{a + b}`` as ``e^a e^b`` (an exact rewrite), so
    that exponentials of sums and of their terms share generators."""
    flat = sp.sympify(residual).replace(lambda e: isinstance(e, sp.exp), lambda e: sp.exp(sp.expand(e.args[0])))
    expanded = sp.expand(
        flat, deep=True, mul=False, power_exp=True, power_base=False, log=False, multinomial=False, basic=False
    )
    return reduce_residual(expanded)


def softmax_rows(logits: sp.Matrix) -> sp.Matrix:
    """Row-wise ``softmax`` of a matrix of logits."""
    rows = []
    for i in range(logits.rows):
        exps = [sp.exp(z) for z in logits.row(i)]
        total = sp.Add(*exps)
        rows.append([e / total for e in exps])
    return sp.Matrix(rows)


def softmax_loss(data: sp.Matrix, w: sp.Matrix, targets: sp.Matrix) -> sp.Expr:
    """``(1/n) Σ_i [log Σ_k e^{(Wᵀx_i)_k} − s_iᵀWᵀx_i]``."""
    logits = data.T * w
    terms = [
        sp.log(sp.Add(*(sp.exp(z) for z in logits.row(i)))) - (targets.row(i) * logits.row(i).T)[0]
        for i in range(data.cols)
    ]
    return sp.Add(*terms) / data.cols


def stochastic_targets(points: int, classes: int) -> sp.Matrix:
    """Soft labels with free entries and rows summing to 1 (the last entry is ``1 − Σ others``)."""
    free = matrix_symbols("s", points, classes - 1, positive=True)
    return free.row_join(sp.Matrix([1 - sum(free.row(i)) for i in range(points)]))


def centring(classes: int) -> sp.Matrix:
    """``C = I − 11ᵀ/K``."""
    return sp.eye(classes) - sp.ones(classes, classes) / classes


def limit_formula(
    data: sp.Matrix, basis: sp.Matrix, w_star: sp.Matrix, w0: sp.Matrix, temperature: sp.Expr
) -> sp.Matrix:
    """``P W*C/T + P W_011ᵀ/K + P⊥W_0`` (THEORY.md §8.1)."""
    classes = w_star.cols
    projector = span_projector(basis)
    complement = sp.eye(data.rows) - projector
    mean = sp.ones(classes, classes) / classes
    return projector * w_star * centring(classes) / temperature + projector * w0 * mean + complement * w0


def _limit_identities(label: str, data: sp.Matrix, basis: sp.Matrix, w_star: sp.Matrix, w0: sp.Matrix,
                      temperature: sp.Expr) -> list[Identity]:
    """``W_∞ ∈ A`` and its logits are the teacher's up to a shift per row."""
    classes = w_star.cols
    limit = limit_formula(data, basis, w_star, w0, temperature)
    complement = sp.eye(data.rows) - span_projector(basis)
    ones = sp.ones(classes, 1)
    shift = data.T * limit - data.T * w_star / temperature
    return [
        Identity(f"[{label}] P⊥W_∞ = P⊥W_0", complement * limit, complement * w0),
        Identity(f"[{label}] W_∞1 = W_01", limit * ones, w0 * ones),
        Identity(f"[{label}] XᵀP = Xᵀ (the projection keeps the logits: XᵀP W*C/T = XᵀW*C/T)",
                 data.T * span_projector(basis), data.T),
        Identity(f"[{label}] XᵀW_∞ − XᵀW*/T is constant along each row: (XᵀW_∞ − XᵀW*/T)C = 0",
                 shift * centring(classes), sp.zeros(data.cols, classes)),
    ]


@functools.cache
def _multiclass_limit() -> Derived:
    classes, d, n = 3, 3, 2
    data = matrix_symbols("x", d, n, real=True)
    w = matrix_symbols("w", d, classes, real=True)
    targets = stochastic_targets(n, classes)
    loss = softmax_loss(data, w, targets)
    loss_gradient = gradient(loss, w)
    formula = data * (softmax_rows(data.T * w) - targets) / n
    complement = sp.eye(d) - span_projector(data)
    ones = sp.ones(classes, 1)
    identities = [
        Identity("[3×2, K=3] ∇L(W) = X(softmax(XᵀW) − S)/n", loss_gradient, formula),
        Identity("[3×2, K=3] ∇L·1 = 0 (rows of softmax and of S sum to 1)", loss_gradient * ones, sp.zeros(d, 1)),
        Identity("[3×2, K=3] P⊥∇L = 0 (columns of ∇L in span X)", complement * loss_gradient, sp.zeros(d, classes)),
    ]
    # Zero gradient wherever the logits are the teacher's shifted per row: softmax is shift invariant.
    teacher_logits = matrix_symbols("z", n, classes, real=True)
    shifts = vector_symbols("c", n, real=True)
    shifted = teacher_logits + shifts * sp.ones(1, classes)
    identities.append(
        Identity("[n=2, K=3] softmax(Z + c1ᵀ) = softmax(Z), so ∇L = X(softmax − S)/n = 0 there",
                 softmax_rows(shifted), softmax_rows(teacher_logits), split_exponentials)
    )
    # The limit with a generic one-point span of R^3 (cheap P = xxᵀ/xᵀx, P⊥ ≠ 0), generic W*, W_0.
    point = vector_symbols("x", d, real=True)
    w_star = matrix_symbols("v", d, classes, real=True)
    w0 = matrix_symbols("u", d, classes, real=True)
    identities += _limit_identities("3×1, K=3", point, point, w_star, w0, TEMPERATURE)
    identities += _rational_case()
    identities += _binary_reduction()
    limit = limit_formula(point, point, w_star, w0, TEMPERATURE)
    functions = {
        "gradient": FunctionSpec(
            (as_rows(w), as_rows(data), as_rows(targets[:, : classes - 1])), formula,
            "∇L(W) for X 3×2, K=3; arguments (W 3×3, X 3×2, the first K−1 columns of S)",
        ),
        "limit": FunctionSpec(
            (list(point), as_rows(w_star), TEMPERATURE, as_rows(w0)), limit,
            "W_∞ = P W*C/T + P W_011ᵀ/K + P⊥W_0 for one point x ∈ R^3, K=3; arguments (x, W*, T, W0)",
        ),
    }
    steps = (
        Step("∇L(W) = X(softmax(XᵀW) − S)/n: its columns lie in span X, and ∇L·1 = 0 because "
             "every row of softmax(XᵀW) − S sums to 0"),
        Step("Hence each step W − η∇L(W), and so gradient descent, stays in A = W_0 + {D : columns in span X, D1 = 0}: "
             "P⊥W(t) = P⊥W_0 and W(t)1 = W_01"),
        Step("L ≥ (1/n) Σ_i H(s_i) with equality iff softmax(XᵀW) = S row-wise, i.e. iff "
             "XᵀW = XᵀW*/T + c1ᵀ for some c ∈ R^n (softmax is shift invariant, injective modulo shifts)"),
        Step("On A, L depends on D only through XᵀD with XᵀD1 = 0 and is strictly convex there, so "
             "gradient descent with a safe step converges to the unique minimiser in A"),
        Step("W_∞ = P W*C/T + P W_011ᵀ/K + P⊥W_0 is in A (P⊥ part and row sums are W_0's) and "
             "XᵀW_∞ = XᵀW*/T − XᵀW*11ᵀ/(KT) + XᵀW_011ᵀ/K, the teacher's logits shifted per row "
             "(XᵀP = Xᵀ): so it is that minimiser, where ∇L = 0 exactly"),
        Step("K = 2: C(e_1 − e_2) = e_1 − e_2 and 1ᵀ(e_1 − e_2) = 0, so W_∞(e_1 − e_2) = "
             "P(w*_1 − w*_2)/T + P⊥(w0_1 − w0_2): §3's limit for the binary teacher w*_1 − w*_2"),
    )
    expressions = {
        "gradient": sp.Symbol("X") * (sp.Symbol("softmax(XᵀW)") - sp.Symbol("S")) / sp.Symbol("n"),
        "limit": sp.Symbol("P") * sp.Symbol("W^*") * sp.Symbol("C") / TEMPERATURE
        + sp.Symbol("P") * sp.Symbol("W_0") * sp.Symbol("11ᵀ/K") + sp.Symbol("P⊥") * sp.Symbol("W_0"),
    }
    return Derived(expressions, steps, tuple(identities), functions)


def _rational_case() -> list[Identity]:
    """A rank-2 rational ``X`` (4×3, third point = first + second), ``K = 4``, ``T = 3/2``: the
    limit in exact arithmetic, its gradient (a sum of rational exponentials) exactly zero."""
    data = sp.Matrix([[1, 0, 1], [2, -1, 1], [0, 3, 3], [-1, 1, 0]])
    basis = data[:, :2]
    w_star = sp.Matrix([[1, -2, 0, 3], [0, 1, 1, -1], [2, 0, -1, 1], [1, 1, 0, -2]]) / 3
    w0 = sp.Matrix([[1, 0, -1, 2], [0, 0, 1, 1], [3, -1, 0, 0], [1, 2, 1, -1]]) / 2
    temperature = sp.Rational(3, 2)
    limit = limit_formula(data, basis, w_star, w0, temperature)
    targets = softmax_rows(data.T * w_star / temperature)
    residual_gradient = data * (softmax_rows(data.T * limit) - targets) / data.cols
    label = "rational 4×3 of rank 2, K=4, T=3/2"
    return [
        *_limit_identities(label, data, basis, w_star, w0, temperature),
        Identity(f"[{label}] ∇L(W_∞) = 0 exactly", residual_gradient, sp.zeros(4, 4)),
    ]


def _binary_reduction() -> list[Identity]:
    """``K = 2``: the loss is §3's binary loss of ``w_1 − w_2`` (equal gradients, equal at 0), the
    soft label is ``σ((w*_1 − w*_2)ᵀx/T)``, and the limit's difference of columns is §3's limit."""
    d = 2
    x = vector_symbols("x", d, real=True)
    w = matrix_symbols("w", d, 2, real=True)
    s = sp.Symbol("s", positive=True)
    multiclass = softmax_loss(x, w, sp.Matrix([[s, 1 - s]]))
    difference = w[:, 0] - w[:, 1]
    logit = (x.T * difference)[0]
    binary = softplus(logit) - s * logit
    w_star = matrix_symbols("v", d, 2, real=True)
    teacher_difference = w_star[:, 0] - w_star[:, 1]
    basis = vector_symbols("b", d, real=True)
    w0 = matrix_symbols("u", d, 2, real=True)
    limit = limit_formula(basis, basis, w_star, w0, TEMPERATURE)
    projector = span_projector(basis)
    binary_limit = projector * teacher_difference / TEMPERATURE + (sp.eye(d) - projector) * (w0[:, 0] - w0[:, 1])
    zero = {symbol: 0 for symbol in w}
    return [
        Identity("[K=2] ∂L/∂W = [∇ℓ(w_1 − w_2), −∇ℓ(w_1 − w_2)] with ℓ §1's binary loss of the soft label s_1",
                 gradient(multiclass, w), gradient(binary, w), split_exponentials),
        Identity("[K=2] L(0) = ℓ(0) = log 2 (with equal gradients: L(W) = ℓ((w_1 − w_2)ᵀx, s_1))",
                 sp.exp(multiclass.subs(zero)), sp.exp(binary.subs(zero))),
        Identity("[K=2] softmax(W*ᵀx/T)_1 = σ((w*_1 − w*_2)ᵀx/T)",
                 softmax_rows(x.T * w_star / TEMPERATURE)[0, 0], sigmoid((x.T * teacher_difference)[0] / TEMPERATURE),
                 split_exponentials),
        Identity("[K=2] W_∞(e_1 − e_2) = P(w*_1 − w*_2)/T + P⊥(w0_1 − w0_2) (§3's limit)",
                 limit[:, 0] - limit[:, 1], binary_limit),
    ]


DERIVATIONS = {
    "multiclass-limit": Derivation(
        "multiclass-limit",
        "softmax students: gradient, invariants P⊥W = P⊥W_0 and W1 = W_01, the limit, and K = 2",
        ("gradient and invariants: X a generic real 3×2 matrix (rank 2 < d = 3), W generic 3×3 (K = 3), "
         "soft labels with free positive entries and rows summing to 1",
         "limit: a generic point x ∈ R^3 (span of rank 1), W*, W_0 generic 3×3",
         "a rational rank-deficient instance with K = 4 checked in exact arithmetic",
         "K = 2 with a generic point x ∈ R^2 and a generic one-point span; T > 0, η > 0"),
        _multiclass_limit,
    ),
}
