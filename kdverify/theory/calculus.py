"""Derivations ``loss-calculus`` and ``global-minimizers`` (THEORY.md §1 and §3)."""

from __future__ import annotations

import functools

import sympy as sp

from kdverify.theory.core import Derivation, Derived, FunctionSpec, Identity, Step
from kdverify.theory.symbols import (
    as_rows,
    gradient,
    logistic_loss,
    matrix_symbols,
    mean_loss,
    sigmoid,
    softplus,
    vector_symbols,
)

__all__ = ["DERIVATIONS"]

Z = sp.Symbol("z", real=True)
T_LABEL = sp.Symbol("t", positive=True)
DIM, SIZE = 3, 2


@functools.cache
def _loss_calculus() -> Derived:
    z, t = Z, T_LABEL
    loss = logistic_loss(z, t)
    first, second = sp.diff(loss, z), sp.diff(loss, z, 2)
    curvature = sigmoid(z) * (1 - sigmoid(z))
    bounded_form = 1 / (4 * sp.cosh(z / 2) ** 2)
    data = matrix_symbols("x", DIM, SIZE, real=True)
    w = vector_symbols("w", DIM, real=True)
    targets = vector_symbols("s", SIZE, positive=True)
    direction = vector_symbols("v", DIM, real=True)
    empirical = mean_loss(data, w, targets, logistic_loss)
    logits = data.T * w
    residuals = logits.applyfunc(sigmoid) - targets
    # σ' in its well-conditioned form 1/(4 cosh²(z/2)) (proved equal to σ(1 − σ) above), so the
    # numpy twin of the Hessian keeps full relative accuracy where 1 − σ(z) would cancel.
    curvatures = logits.applyfunc(lambda u: bounded_form.subs(z, u))
    grad_formula = data * residuals / SIZE
    hess_formula = data * sp.diag(*curvatures) * data.T / SIZE
    hessian = sp.hessian(empirical, list(w))
    quadratic = sp.Add(*(curvatures[i] * (data.col(i).T * direction)[0] ** 2 for i in range(SIZE)))
    identities = (
        Identity("ℓ(z, t) = softplus(z) − t·z", loss, softplus(z) - t * z),
        Identity("∂ℓ/∂z = σ(z) − t", first, sigmoid(z) - t),
        Identity("∂²ℓ/∂z² = σ(z)(1 − σ(z))", second, curvature),
        Identity("σ(z)(1 − σ(z)) = 1/(4 cosh²(z/2)), so 0 < σ' ≤ 1/4", curvature, bounded_form),
        Identity("1/4 − σ(z)(1 − σ(z)) = (σ(z) − 1/2)² ≥ 0", sp.Rational(1, 4) - curvature,
                 (sigmoid(z) - sp.Rational(1, 2)) ** 2),
        Identity("d/dz σ'(z) = −σ'(z)·tanh(z/2): the only stationary point is z = 0",
                 sp.diff(curvature, z), -curvature * sp.tanh(z / 2)),
        Identity("σ'(0) = 1/4: the maximum", curvature.subs(z, 0), sp.Rational(1, 4)),
        Identity(f"∇L(w) = (1/n) X (σ(Xᵀw) − s) for a symbolic {DIM}×{SIZE} X",
                 gradient(empirical, w), grad_formula),
        Identity(f"∇²L(w) = (1/n) X diag(σ'(Xᵀw)) Xᵀ for a symbolic {DIM}×{SIZE} X",
                 hessian, hess_formula),
        Identity("vᵀ∇²L(w)v = (1/n) Σ_i σ'(x_iᵀw)(x_iᵀv)² ≥ 0: L is convex",
                 (direction.T * hessian * direction)[0], quadratic / SIZE),
    )
    steps = (
        Step("Definition of the per-point loss", sp.Eq(sp.Symbol("ℓ"), loss)),
        Step("Differentiate once and simplify", sp.Eq(sp.Symbol("∂ℓ/∂z"), sigmoid(z) - t)),
        Step("Differentiate twice; the curvature does not depend on t",
             sp.Eq(sp.Symbol("∂²ℓ/∂z²"), bounded_form)),
        Step("cosh(z/2) ≥ 1 with equality only at z = 0, hence 0 < σ'(z) ≤ σ'(0) = 1/4"),
        Step("Chain rule over the n columns of X gives the gradient", grad_formula),
        Step("and the Hessian, a non-negative combination of x_i x_iᵀ (so L is convex)", hess_formula),
    )
    x_rows, w_args, s_args = as_rows(data), list(w), list(targets)
    functions = {
        "loss": FunctionSpec((z, t), softplus(z) - t * z, "ℓ(z, t) = softplus(z) − t z"),
        "loss_derivative": FunctionSpec((z, t), sigmoid(z) - t, "∂ℓ/∂z = σ(z) − t"),
        "loss_curvature": FunctionSpec((z,), bounded_form, "∂²ℓ/∂z² = 1/(4 cosh²(z/2))"),
        "gradient": FunctionSpec((w_args, x_rows, s_args), grad_formula,
                                 f"∇L(w) for w ({DIM},), X ({DIM}, {SIZE}), s ({SIZE},)"),
        "hessian": FunctionSpec((w_args, x_rows), hess_formula,
                                f"∇²L(w) for w ({DIM},), X ({DIM}, {SIZE})"),
    }
    expressions = {
        "loss_derivative": sigmoid(z) - t,
        "loss_curvature": bounded_form,
        "gradient": grad_formula,
        "hessian": hess_formula,
    }
    return Derived(expressions, steps, identities, functions)


@functools.cache
def _global_minimizers() -> Derived:
    z, t = Z, T_LABEL
    u = sp.Symbol("u", real=True)
    loss = logistic_loss(z, t)
    (stationary,) = sp.solve(sp.Eq(sigmoid(z), t), z)
    logit = sp.log(t / (1 - t))
    entropy = -t * sp.log(t) - (1 - t) * sp.log(1 - t)
    minimum = loss.subs(z, stationary)
    data = matrix_symbols("x", 2, 2, real=True)
    w_star = vector_symbols("w^*", 2, real=True)
    temperature = sp.Symbol("T", positive=True)
    soft = (data.T * w_star / temperature).applyfunc(sigmoid)
    empirical = mean_loss(data, w_star / temperature, soft, logistic_loss)
    entropies = sp.Add(*(entropy.subs(t, soft[i]) for i in range(2))) / 2
    identities = (
        Identity("the unique stationary point of ℓ(·, t) is z = logit(t) = log(t/(1−t))",
                 stationary, logit),
        Identity("σ(logit t) = t", sigmoid(logit), t),
        Identity("soft label t = σ(u) with u = w*ᵀx/T: logit(σ(u)) = u",
                 logit.subs(t, sigmoid(u)), u),
        Identity("min_z ℓ(z, t) = ℓ(logit t, t) = H(t) (binary entropy, nats)", minimum, entropy),
        Identity("L(w*/T) with soft labels = (1/n) Σ_i H(s_i) (symbolic 2×2 X)",
                 empirical, entropies),
    )
    steps = (
        Step("∂ℓ/∂z = σ(z) − t vanishes where σ(z) = t (ℓ is strictly convex: σ' > 0)",
             sp.Eq(z, logit)),
        Step("With soft labels s = σ(w*ᵀx/T) the minimiser is the teacher's tempered logit",
             sp.Eq(logit.subs(t, sigmoid(u)), u)),
        Step("Every w with Xᵀw = Xᵀw*/T (e.g. w*/T) minimises each term, hence L;"
             " the minimum value is", sp.Eq(sp.Symbol("min ℓ"), entropy)),
    )
    functions = {
        "minimizer": FunctionSpec((t,), logit, "logit(t) = log(t/(1 − t))"),
        "minimum_value": FunctionSpec((t,), entropy, "H(t) = −t log t − (1−t) log(1−t)"),
    }
    return Derived({"minimizer": logit, "minimum_value": entropy}, steps, identities, functions)


DERIVATIONS = {
    derivation.id: derivation
    for derivation in (
        Derivation(
            "loss-calculus",
            "derivatives, curvature bound and convexity of the distillation loss",
            ("z real, 0 < t < 1", f"X a {DIM}×{SIZE} matrix of independent real symbols"),
            _loss_calculus,
        ),
        Derivation(
            "global-minimizers",
            "the minimisers of the distillation loss and its minimum value",
            ("z, u real, 0 < t < 1, T > 0", "soft labels s_i = σ(w*ᵀx_i/T)"),
            _global_minimizers,
        ),
    )
}
