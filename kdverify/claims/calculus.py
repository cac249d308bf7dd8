"""Claims about the loss itself: ``loss-calculus`` and ``global-minimizers`` (THEORY.md §3).

Both compare formulas with independent computations on each instance and report the largest
error divided by its tolerance, so every instance's evidence reads ``error/tolerance ≤ 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from kdverify._util.numerics import binary_entropy, sigmoid_prime
from kdverify._util.validation import FloatArray
from kdverify.claims._cases import EPS, Case, ratio_evidence
from kdverify.claims._instances import GENERIC, generic_problems
from kdverify.claims.base import Budget, Claim, Evidence, Instance, Mutant
from kdverify.training.limits import linear_limit
from kdverify.training.losses import loss_gradient, loss_hessian, loss_value

CASE_FAMILIES = (GENERIC,)
Gradient = Callable[[FloatArray, FloatArray, FloatArray], FloatArray]


def _gradient_entry(w: FloatArray, *, data: FloatArray, targets: FloatArray, index: int) -> float:
    """Entry ``index`` of ``∇L(w)``: the function whose difference quotient gives Hessian row ``index``."""
    return float(loss_gradient(w, data, targets)[index])


def _central_difference(f: Callable[[FloatArray], float], w: FloatArray, h: float) -> FloatArray:
    return np.array([(f(w + h * e) - f(w - h * e)) / (2 * h) for e in np.eye(w.size)])


def check_loss_calculus(
    instance: Instance, budget: Budget, *, gradient: Gradient = loss_gradient, curvature_bound: float = 0.25
) -> Evidence:
    """∇L and ∇²L against central differences, 0 < σ' ≤ 1/4, and convexity (PSD Hessian and
    the chord inequality) at the student ``w0`` (or ``w*/T`` when absent). ``gradient`` and
    ``curvature_bound`` are the formulas under test (mutants replace them)."""
    case = Case.from_instance(instance)
    data, targets = case.data, case.teacher.soft_labels(case.data)
    w = case.w0 if instance.get("w0") is not None else case.teacher.target
    x_norm = float(np.max(np.linalg.norm(data, axis=0)))
    h = 1e-4 / max(1.0, x_norm)
    # Central differences: truncation ≤ h²/6·max|L'''| with |ℓ'''| ≤ 1/(6√3) ≤ 1/10 per point,
    # rounding ≤ eps·(|L| + Σ|terms|)/h.
    value_scale = float(np.mean(np.abs(np.logaddexp(0, data.T @ w)) + np.abs(data.T @ w)))
    gradient_tol = x_norm**3 * h**2 / 60 + 4 * EPS * (1 + value_scale) / h
    numeric_gradient = _central_difference(lambda v: float(loss_value(v, data, targets)), w, h)
    gradient_error = float(np.max(np.abs(gradient(w, data, targets) - numeric_gradient)))
    hessian = loss_hessian(w, data)
    numeric_hessian = np.stack(
        [
            _central_difference(partial(_gradient_entry, data=data, targets=targets, index=i), w, h)
            for i in range(w.size)
        ]
    )
    hessian_tol = x_norm**4 * h**2 / 60 + 4 * EPS * x_norm * (1 + x_norm) / h
    hessian_error = float(np.max(np.abs(hessian - numeric_hessian)))
    curvature = sigmoid_prime(data.T @ w)
    # σ' ∈ (0, 1/4]: its largest violation measured in units of one ulp of 1/4.
    curvature_excess = float(max(np.max(curvature) - curvature_bound, 0.0) + (np.min(curvature) <= 0) * 1.0)
    eigen_floor = -float(np.min(np.linalg.eigvalsh(hessian)))
    other = case.teacher.target - w + data[:, 0]
    chord = float(loss_value((w + other) / 2, data, targets)) - 0.5 * float(
        loss_value(w, data, targets) + loss_value(other, data, targets)
    )
    chord_tol = 8 * EPS * (1 + value_scale + float(np.mean(np.abs(data.T @ other))))
    return ratio_evidence(
        {
            "gradient": (gradient_error, gradient_tol),
            "hessian": (hessian_error, hessian_tol),
            "curvature": (curvature_excess, EPS / 4),
            "psd": (max(eigen_floor, 0.0), 8 * EPS * w.size * x_norm**2),
            "convexity": (max(chord, 0.0), chord_tol),
        },
        step=h,
    )


def mean_entropy(targets: FloatArray) -> float:
    """``(1/n) Σ H(s_i)`` in nats: the claimed minimum of the distillation loss."""
    return float(np.mean(binary_entropy(targets)))


def check_global_minimizers(
    instance: Instance, budget: Budget, *, minimum: Callable[[FloatArray], float] = mean_entropy
) -> Evidence:
    """``L`` at the closed-form minimiser equals the mean binary entropy of the soft labels;
    moving inside ``{Xᵀw = Xᵀw*/T}`` keeps that value; the trained student's loss exceeds it by
    at most ``‖∇L‖·(certified distance)`` (convexity), and no probe point goes below it."""
    case = Case.from_instance(instance)
    data, targets = case.data, case.teacher.soft_labels(case.data)
    minimiser = linear_limit(data, case.teacher, case.w0)
    entropy = minimum(targets)
    logits = data.T @ minimiser
    value_scale = float(np.mean(np.abs(np.logaddexp(0, logits)) + np.abs(logits))) + 1.0
    # L(z* + δ) − L(z*) ≤ mean δ²/8 since ∂L/∂z vanishes at z* and ℓ'' ≤ 1/4; δ is the rounding
    # of the closed form's logits, plus the rounding of the sums themselves.
    logit_error = float(np.max(np.abs(data.T @ (minimiser - case.teacher.target))))
    rounding = 16 * EPS * value_scale + logit_error**2 / 8
    at_minimiser = float(loss_value(minimiser, data, targets))
    moved = minimiser + case.projector.complement(case.teacher.target + data[:, 0] + 1.0)
    along_set = float(loss_value(moved, data, targets))
    trained = case.train(budget)
    if not trained.converged:
        return Evidence(None, "not converged", "<=", "budget", details={"iterations": int(trained.iterations)})
    excess = float(loss_value(trained.w, data, targets)) - entropy
    excess_tol = float(trained.gradient_norm) * float(trained.bound) + rounding
    probes = [
        minimiser + scale * direction for scale in (1e-2, 1.0) for direction in (data[:, 0], -case.teacher.target)
    ]
    below = max(entropy - float(loss_value(p, data, targets)) for p in probes)
    return ratio_evidence(
        {
            "minimum-is-mean-entropy": (abs(at_minimiser - entropy), rounding),
            "constant-on-solution-set": (abs(along_set - entropy), rounding + 16 * EPS * float(np.linalg.norm(moved))),
            "trained-student-attains-minimum": (max(excess, 0.0), excess_tol),
            "nothing-below-minimum": (max(below, 0.0), rounding),
        },
        mean_entropy=entropy,
        iterations=int(trained.iterations),
        method=trained.method,
    )


CLAIMS = (
    Claim(
        id="loss-calculus",
        status="theorem",
        statement="dℓ/dz = σ(z) − t, d²ℓ/dz² = σ(z)(1−σ(z)) ∈ (0, 1/4]; ∇L, ∇²L as in §1; L is convex",
        latex=r"\partial_z \ell = \sigma(z) - t,\; \partial_z^2 \ell = \sigma(z)(1-\sigma(z)) \in (0, \tfrac14]",
        source="THEORY.md §1, §3",
        families=CASE_FAMILIES,
        instances=lambda family: generic_problems(),
        check=check_loss_calculus,
        mutants=(
            Mutant(
                "gradient-sign",
                "∇L = (1/n) X (σ(Xᵀw) + t): the wrong sign of the targets",
                partial(check_loss_calculus, gradient=lambda w, x, t: loss_gradient(w, x, -t)),
            ),
            Mutant(
                "curvature-bound",
                "σ' ≤ 1/5: a curvature bound too tight by 20%",
                partial(check_loss_calculus, curvature_bound=0.2),
            ),
        ),
    ),
    Claim(
        id="global-minimizers",
        status="theorem",
        statement="argmin L = {w : Xᵀw = Xᵀw*/T}; min L = (1/n) Σ H(s_i)",
        latex=r"\arg\min L = \{w : X^\top w = X^\top w^*/T\},\; \min L = \tfrac1n \sum_i H(s_i)",
        source="THEORY.md §3 (proof sketch: minimisers)",
        families=CASE_FAMILIES,
        instances=lambda family: generic_problems(),
        check=check_global_minimizers,
        mutants=(
            Mutant(
                "entropy-in-bits",
                "min L = mean binary entropy in bits instead of nats",
                partial(check_global_minimizers, minimum=lambda t: mean_entropy(t) / np.log(2)),
            ),
        ),
    ),
)
