"""Derivations ``mixed-targets`` and ``self-distillation`` (THEORY.md §8.2 and §8.3).

``mixed-targets``: the loss against ``t = ρ s + (1 − ρ) y``, its gradient, the decomposition
``ℓ(z, t) = H(t) + KL(t ‖ σ(z))`` that the mixed student's certificate rests on, the limit
``ŵ_ρ = P⊥w_0 + X(XᵀX)⁺u`` for consistent logits ``u = logit(t)`` and its reduction to §3's limit
at ``ρ = 1``. ``self-distillation``: kernel ridge rounds on a generic symmetric ``G``, the filter
``f_t = A^{t+1} y`` with ``A = G(G + λI)⁻¹``, its eigenvalues ``g/(g + λ)``, and the norms
``‖f_t‖² = Σ_k a_k^{2(t+1)} c_k²`` whose differences are sums of non-negative terms.
"""

from __future__ import annotations

import functools

import sympy as sp

from kdverify.theory.core import Derivation, Derived, FunctionSpec, Identity, Step
from kdverify.theory.symbols import (
    TEMPERATURE,
    as_rows,
    gradient,
    logistic_loss,
    matrix_symbols,
    mean_loss,
    sigmoid,
    span_projector,
    vector_symbols,
)

__all__ = ["DERIVATIONS"]

RHO = sp.Symbol("rho", positive=True)
LAMBDA = sp.Symbol("lambda", positive=True)


def mixed_target(soft: sp.Expr, hard: sp.Expr) -> sp.Expr:
    """``t = ρ s + (1 − ρ) y``."""
    return RHO * soft + (1 - RHO) * hard


def logit(t: sp.Expr) -> sp.Expr:
    """``log(t / (1 − t))``."""
    return sp.log(t / (1 - t))


def _inverse(matrix: sp.Matrix) -> sp.Matrix:
    """``adj(M)/det(M)``: the inverse without sympy's simplification (fast, exact)."""
    return matrix.adjugate() / matrix.det()


def _apply_power(matrix: sp.Matrix, power: int, vector: sp.Matrix) -> sp.Matrix:
    """``M^power v`` by repeated products (sympy's ``M**k`` of a symbolic matrix diagonalises: slow)."""
    for _ in range(power):
        vector = matrix * vector
    return vector


def _log_reducer(residual: sp.Expr) -> sp.Expr:
    """Residuals with logarithms of positive quantities: expand the logs, then simplify."""
    return sp.simplify(sp.expand_log(sp.sympify(residual), force=True))


@functools.cache
def _mixed_targets() -> Derived:
    z, s, y = sp.symbols("z s y", real=True)
    t = sp.Symbol("t", positive=True)
    target = mixed_target(s, y)
    entropy = -t * sp.log(t) - (1 - t) * sp.log(1 - t)
    divergence = t * sp.log(t / sigmoid(z)) + (1 - t) * sp.log((1 - t) / (1 - sigmoid(z)))
    data = matrix_symbols("x", 3, 2, real=True)
    w = vector_symbols("w", 3, real=True)
    w0 = vector_symbols("u0", 3, real=True)
    w_star = vector_symbols("v", 3, real=True)
    logits = vector_symbols("u", 2, real=True)
    targets = vector_symbols("t", 2, positive=True)
    projector = span_projector(data)
    complement = sp.eye(3) - projector
    pseudo = data * _inverse(data.T * data)
    limit = complement * w0 + pseudo * logits
    loss = mean_loss(data, w, targets, logistic_loss)
    loss_gradient = gradient(loss, w)
    identities = (
        Identity("∂ℓ(z, t)/∂z = σ(z) − t at t = ρs + (1 − ρ)y", sp.diff(logistic_loss(z, target), z),
                 sigmoid(z) - target),
        Identity("σ(logit(t)) = t: the per-point minimiser is z = logit(t)", sigmoid(logit(t)), t),
        Identity("ℓ(z, t) = H(t) + KL(t ‖ σ(z)) (the certificate's bound on the limit's logits)",
                 logistic_loss(z, t), entropy + divergence, _log_reducer),
        Identity("ρ = 1: logit(t) = z*, the teacher's logit (the hard labels drop out)",
                 logit(mixed_target(sigmoid(z), y).subs(RHO, 1)), z, _log_reducer),
        Identity("[X 3×2] ∇L(w) = (1/n) X (σ(Xᵀw) − t)", loss_gradient,
                 data * ((data.T * w).applyfunc(sigmoid) - targets) / 2),
        Identity("[X 3×2] Xᵀŵ_ρ = u: ŵ_ρ = P⊥w_0 + X(XᵀX)⁻¹u interpolates the target logits",
                 data.T * limit, logits),
        Identity("[X 3×2] P⊥ŵ_ρ = P⊥w_0: the limit keeps the initial off-span part",
                 complement * limit, complement * w0),
        Identity("[X 3×2] ŵ_ρ − w_0 ∈ span X: P(ŵ_ρ − w_0) = ŵ_ρ − w_0",
                 projector * (limit - w0), limit - w0),
        Identity("[X 3×2] ρ = 1 (u = Xᵀw*/T): ŵ_1 = P w*/T + P⊥w_0, §3's limit",
                 limit.subs(dict(zip(logits, data.T * w_star / TEMPERATURE, strict=True))),
                 projector * w_star / TEMPERATURE + complement * w0),
    )
    steps = (
        Step("ℓ(z, t) = softplus(z) − t z is linear in t, so ∂ℓ/∂z = σ(z) − t for any target, mixed or not"),
        Step("every t_i ∈ (0, 1) for ρ ∈ (0, 1], so each term has its unique minimiser z = logit(t_i)"),
        Step("∇L(w) = (1/n) X (σ(Xᵀw) − t) ∈ span X: gradient descent keeps P⊥w = P⊥w_0 (as in §3)"),
        Step("L on w_0 + span X depends on w only through Xᵀw, injective there; strictly convex and coercive, "
             "so GD converges to ŵ_ρ = P⊥w_0 + argmin_{v ∈ span X} L(v)"),
        Step("if u = logit(t) ∈ range Xᵀ every term sits at its minimiser:",
             sp.Eq(sp.Symbol("ŵ_ρ"), sp.Symbol("P⊥") * sp.Symbol("w_0") + sp.Symbol("X(XᵀX)⁺") * sp.Symbol("u"))),
        Step("at ρ = 1, u = Xᵀw*/T and X(XᵀX)⁺Xᵀ = P: the limit is P w*/T + P⊥w_0"),
    )
    expressions = {
        "target": target,
        "gradient": sp.Symbol("X") * (sp.Symbol("σ(Xᵀw)") - sp.Symbol("t")) / sp.Symbol("n"),
        "limit": sp.Symbol("P⊥") * sp.Symbol("w_0") + sp.Symbol("X(XᵀX)⁺") * sp.Symbol("u"),
    }
    functions = {
        "target": FunctionSpec((s, y, RHO), target, "t = ρ s + (1 − ρ) y; arguments (s, y, rho)"),
        "limit[3×2]": FunctionSpec(
            (as_rows(data), list(logits), list(w0)), limit,
            "ŵ_ρ = P⊥w_0 + X(XᵀX)⁻¹u for X 3×2 of rank 2; arguments (X, u, w0)",
        ),
        "gradient[3×2]": FunctionSpec(
            (as_rows(data), list(w), list(targets)), loss_gradient,
            "∇L(w) for X 3×2 and targets t; arguments (X, w, t)",
        ),
    }
    return Derived(expressions, steps, identities, functions)


def _rotation() -> sp.Matrix:
    """A rotation of the plane with rational entries: ``c = (1 − m²)/(1 + m²)``, ``s = 2m/(1 + m²)``."""
    m = sp.Symbol("m", real=True)
    c, s = (1 - m**2) / (1 + m**2), 2 * m / (1 + m**2)
    return sp.Matrix([[c, -s], [s, c]])


@functools.cache
def _self_distillation() -> Derived:
    g11, g12, g22 = sp.symbols("g_11 g_12 g_22", real=True)
    gram = sp.Matrix([[g11, g12], [g12, g22]])
    labels = vector_symbols("y", 2, real=True)
    shifted_inverse = _inverse(gram + LAMBDA * sp.eye(2))
    filter_matrix = gram * shifted_inverse
    alphas = [shifted_inverse * labels]
    for _ in range(2):
        alphas.append(shifted_inverse * gram * alphas[-1])
    identities = [
        Identity("G(G + λI)⁻¹ = (G + λI)⁻¹G: G commutes with its resolvent", filter_matrix, shifted_inverse * gram),
        Identity("A = G(G + λI)⁻¹ is symmetric", filter_matrix, filter_matrix.T),
    ]
    identities += [
        Identity(f"f_{t} = G α_{t} = A^{t + 1} y (round {t} of self-distillation)", gram * alpha,
                 _apply_power(filter_matrix, t + 1, labels))
        for t, alpha in enumerate(alphas)
    ]
    g1, g2 = sp.symbols("g_1 g_2", nonnegative=True)
    rotation = _rotation()
    eigen_gram = rotation * sp.diag(g1, g2) * rotation.T
    factors = [g / (g + LAMBDA) for g in (g1, g2)]
    eigen_filter = eigen_gram * _inverse(eigen_gram + LAMBDA * sp.eye(2))
    coefficients = rotation.T * labels
    identities.append(
        Identity("G = Q diag(g) Qᵀ ⇒ A = Q diag(g/(g + λ)) Qᵀ: the spectral filter", eigen_filter,
                 rotation * sp.diag(*factors) * rotation.T)
    )
    norms = []
    for t in range(3):
        prediction = _apply_power(eigen_filter, t + 1, labels)
        norm = sum((a ** (2 * (t + 1)) * c**2 for a, c in zip(factors, coefficients, strict=True)), sp.Integer(0))
        identities.append(Identity(f"‖f_{t}‖² = Σ_k (g_k/(g_k + λ))^{2 * (t + 1)} c_k², c = Qᵀy",
                                   (prediction.T * prediction)[0], norm))
        norms.append(norm)
    for t in range(2):
        decrease = sum(
            (a ** (2 * (t + 1)) * (1 - a**2) * c**2 for a, c in zip(factors, coefficients, strict=True)), sp.Integer(0)
        )
        identities.append(Identity(
            f"‖f_{t}‖² − ‖f_{t + 1}‖² = Σ_k a_k^{2 * (t + 1)}(1 − a_k²) c_k² ≥ 0 (a_k ∈ [0, 1)): the norms shrink",
            norms[t] - norms[t + 1], decrease))
    steps = (
        Step("α_t = (G + λI)⁻¹ G α_{t−1} and G commutes with (G + λI)⁻¹, so f_t = G α_t = A f_{t−1}, f_0 = A y"),
        Step("hence", sp.Eq(sp.Symbol("f_t"), sp.Symbol("A") ** (sp.Symbol("t") + 1) * sp.Symbol("y"))),
        Step("in G's eigenbasis A acts by a_k = g_k/(g_k + λ) ∈ [0, 1) (g_k ≥ 0, λ > 0)"),
        Step("‖f_t‖² = Σ a_k^{2(t+1)} c_k² is non-increasing in t and tends to 0, at rate a_max^{2(t+1)}"),
    )
    expressions = {
        "filter": sp.Symbol("G") * (sp.Symbol("G") + LAMBDA * sp.Symbol("I")) ** -1,
        "predictions": sp.Symbol("A") ** (sp.Symbol("t") + 1) * sp.Symbol("y"),
        "eigenvalues": factors[0],
    }
    functions = {
        "f_1": FunctionSpec(
            ([[g11, g12], [g12, g22]], LAMBDA, list(labels)), gram * alphas[1],
            "round-1 training predictions G α_1 for a symmetric 2×2 G; arguments (G, lam, y)",
        ),
        "filter": FunctionSpec(
            ([[g11, g12], [g12, g22]], LAMBDA),
            filter_matrix,
            "A = G(G + λI)⁻¹ for a symmetric 2×2 G; arguments (G, lam)",
        ),
    }
    return Derived(expressions, steps, tuple(identities), functions)


DERIVATIONS = {
    derivation.id: derivation
    for derivation in (
        Derivation(
            "mixed-targets",
            "mixed targets t = ρs + (1 − ρ)y: gradient, certificate decomposition, limit, ρ = 1",
            ("X a generic 3×2 matrix (rank 2, n < d: consistent logits); w_0, w*, u generic",
             "ρ > 0, T > 0, targets t ∈ (0, 1)"),
            _mixed_targets,
        ),
        Derivation(
            "self-distillation",
            "kernel ridge self-distillation: f_t = A^{t+1} y, A = G(G + λI)⁻¹, and ‖f_t‖ shrinks",
            ("G a generic symmetric 2×2 matrix (and G = Q diag(g_1, g_2) Qᵀ, Q a rational rotation, g_k ≥ 0)",
             "λ > 0; labels y generic"),
            _self_distillation,
        ),
    )
}
