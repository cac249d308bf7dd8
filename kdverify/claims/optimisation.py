"""Claims about where gradient descent goes: ``span-invariance``, ``optimization-bias-linear``,
``optimization-bias-deep`` and the open ``temperature-monotone`` (THEORY.md §3)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from functools import partial

import numpy as np
from hypothesis import strategies as st

from kdverify._util.linalg import SpanProjector, span_projector
from kdverify._util.numerics import angle
from kdverify._util.validation import FloatArray
from kdverify.claims._cases import (
    EPS,
    RESOLUTION,
    Case,
    descent_rounding,
    descent_steps,
    not_converged,
    ratio_evidence,
    resolution,
)
from kdverify.claims._content import INIT_OFF_SPAN, SPAN_DEFICIENT, TEACHER_AND_INIT
from kdverify.claims._instances import DATA_FAMILIES, problems
from kdverify.claims.base import Budget, Claim, Evidence, Instance, Mutant, TrainerCheck
from kdverify.data.exact import dot, exact_student
from kdverify.data.strategies import deep_architectures
from kdverify.training import (
    UserTrainer,
    balance_defect,
    balanced_init,
    gradient_flow,
    small_init,
    train_deep_distilled,
)
from kdverify.training.limits import deep_limit, linear_limit
from kdverify.training.teacher import Teacher

LinearLimit = Callable[[FloatArray, Teacher, FloatArray], FloatArray]
DeepLimit = Callable[[FloatArray, Teacher, FloatArray, FloatArray], FloatArray]


def _ratio(error: float, tolerance: float) -> float:
    """``error/tolerance`` with ``0/0 = 0`` (no step taken, nothing to drift)."""
    return 0.0 if error == 0 else error / tolerance


def off_span_change(projector: SpanProjector, w: FloatArray, w0: FloatArray) -> FloatArray:
    """``P⊥(w − w_0)``: what the invariance says stays zero."""
    return projector.complement(w - w0)


def check_span_invariance(
    instance: Instance,
    budget: Budget,
    *,
    invariant: Callable[[SpanProjector, FloatArray, FloatArray], FloatArray] = off_span_change,
) -> Evidence:
    """``‖P⊥(w_k − w_0)‖`` over every gradient-descent iterate and every accepted step of the
    flow stays within the rounding those runs can accumulate. The solvers measure the drift at
    every iterate; ``invariant`` (the statement under test) is also evaluated at the end points."""
    case = Case.from_instance(instance)
    descent = case.train(budget, every_iterate=True, max_iter=descent_steps(budget))
    flow = gradient_flow(case.data, case.teacher.logits(case.data), case.w0)
    projector = case.projector
    descent_drift = max(float(descent.off_span_max), float(np.linalg.norm(invariant(projector, descent.w, case.w0))))
    flow_drift = max(float(flow.off_span_max), float(np.linalg.norm(invariant(projector, flow.w, case.w0))))
    descent_tol = descent_rounding(case, descent)
    # The integrator's own error per step is within ode_atol + ode_rtol·‖w‖ in every coordinate,
    # and it has no reason to stay in w0 + span X beyond that; we allow it per accepted step.
    size = max(float(np.linalg.norm(flow.w)), float(np.linalg.norm(case.w0)), 1.0)
    flow_tol = flow.steps * np.sqrt(case.data.shape[0]) * (flow.ode_atol + flow.ode_rtol * size)
    ratio = max(_ratio(descent_drift, descent_tol), _ratio(flow_drift, flow_tol))
    return Evidence(
        holds=ratio <= 1.0,
        lhs=ratio,
        relation="<=",
        rhs=1.0,
        details={
            "descent": {"drift": descent_drift, "tolerance": descent_tol, "iterations": int(descent.iterations)},
            "flow": {"drift": flow_drift, "tolerance": flow_tol, "steps": flow.steps, "method": flow.method},
        },
    )


def check_linear_bias(
    instance: Instance,
    budget: Budget,
    *,
    limit_formula: LinearLimit = linear_limit,
    trainer: UserTrainer | None = None,
) -> Evidence:
    """Gradient descent and gradient flow end within their certified distance of
    ``P w*/T + P⊥ w0`` (and of ``w*/T`` when ``rank X = d``); ``limit_formula`` is the closed
    form under test. Descent runs to ``10⁻⁹·max(1, ‖ŵ‖)``, or within its step budget to a
    certified distance that resolves the limit's smallest term (``resolution``, :data:`RESOLUTION`).
    With a user's ``trainer`` (from 0): its student is within the distance it promises of ``P w*/T``."""
    case = Case.from_instance(instance)
    limit = limit_formula(case.data, case.teacher, case.w0)
    if trainer is not None:
        student = case.student(budget, trainer)
        if not student.converged:
            return not_converged(str(student.method), 0)
        distance = float(np.linalg.norm(student.w - limit))
        return ratio_evidence(
            {"trainer": (distance, float(student.bound) + case.closed_form_error())},
            trainer=trainer.name,
            promise=f"‖w − ŵ‖ ≤ {trainer.rtol:g}·max(1, ‖w‖)",
            rank=int(case.projector.rank),
        )
    hopeless = case.hopeless(budget, reduction=1 / RESOLUTION)
    if hopeless is not None:
        return hopeless
    descent = case.train(budget, max_iter=descent_steps(budget))
    resolved = resolution(float(descent.bound), case.separation())
    if not (descent.converged or resolved <= RESOLUTION):
        return not_converged("gradient descent", int(descent.iterations))
    flow = gradient_flow(case.data, case.teacher.logits(case.data), case.w0)
    if not flow.converged:
        return not_converged("gradient flow", flow.steps)
    closed_form = case.closed_form_error()
    gaps = {
        "descent": (float(np.linalg.norm(descent.w - limit)), float(descent.bound) + closed_form),
        "flow": (float(np.linalg.norm(flow.w - limit)), flow.bound + closed_form),
    }
    ratio = max(error / tolerance for error, tolerance in gaps.values())
    return Evidence(
        holds=ratio <= 1.0,
        lhs=ratio,
        relation="<=",
        rhs=1.0,
        details={
            **{name: {"distance": e, "certified": t} for name, (e, t) in gaps.items()},
            "rank": int(case.projector.rank),
            "full_rank_recovers_teacher": bool(case.projector.rank == case.data.shape[0]),
            "iterations": int(descent.iterations),
            "descent_converged": bool(descent.converged),
            "resolution": resolved,
        },
    )


def check_deep_bias(instance: Instance, budget: Budget, *, limit_formula: DeepLimit = deep_limit) -> Evidence:
    """Deep linear student by gradient descent: ``W_1(t)P⊥`` never moves beyond rounding, and when
    the end-to-end vector converges (deep students converge slowly from small inits; the
    invariance part is decided whatever the budget), or its bound resolves the limit's smallest
    term (``resolution``, :data:`RESOLUTION`), it is within its certificate of
    ``P w*/T + P⊥ W_1(0)ᵀ v`` (``v`` at the last iterate). Reports whether a balanced init converged."""
    case = Case.from_instance(instance)
    architecture = instance["architecture"]
    make = balanced_init if architecture["balanced"] else small_init
    layers = make(
        case.data.shape[0],
        architecture["widths"],
        scale=float(architecture["init_scale"]),
        rng=np.random.default_rng(int(instance["init_seed"])),
    )
    run = train_deep_distilled(case.data, case.teacher, layers, max_iter=descent_steps(budget))
    # Each step changes W_1 by η·v·∇Lᵀ (a product whose rows lie in span X up to rounding
    # γ_{N+n}·η‖v‖‖∇L‖ per entry) and rounds W_1 itself by eps‖W_1‖; summed over all steps.
    sizes = max(float(np.linalg.norm(layer)) for layer in (*layers, *run.layers))
    depth, n = len(layers), case.data.shape[1]
    drift_tol = 4 * EPS * (run.iterations + 1) * (depth + n + 2) * sizes * (1 + sizes**depth)
    parts = {"first-layer-drift": (run.first_layer_drift, drift_tol)}
    # The limit's certificate holds at any iterate (with v at that iterate); a run cut by the budget
    # is held against it when its bound resolves the smallest term of the limit (RESOLUTION).
    projector = case.projector
    terms = (projector.project(case.teacher.target), projector.complement(layers[0].T @ run.upper_product))
    separation = min((float(np.linalg.norm(term)) for term in terms if np.any(term)), default=np.inf)
    resolved = resolution(run.span_bound, separation)
    if run.converged or resolved <= RESOLUTION:
        limit = limit_formula(case.data, case.teacher, layers[0], run.upper_product)
        rounding = run.first_layer_drift * float(np.linalg.norm(run.upper_product)) + case.closed_form_error()
        parts["limit"] = (float(np.linalg.norm(run.w - limit)), run.span_bound + rounding + drift_tol)
    return ratio_evidence(
        parts,
        converged=run.converged,
        resolution=resolved,
        reason=run.reason,
        balanced=bool(architecture["balanced"]),
        initial_balance_defect=balance_defect(layers),
        iterations=run.iterations,
    )


def check_temperature_monotone(instance: Instance, budget: Budget) -> Evidence:
    """Exactly: ``∠(ŵ_{T1}, w*) ≤ ∠(ŵ_{T2}, w*)`` for ``T1 < T2`` with ``ŵ_T = P w*/T + P⊥ w0``.
    The angles are compared through their cosines' signs and squares, all rational."""
    points, w_star, w0 = instance.rationals("points"), instance.rationals("w_star"), instance.rationals("w0")
    low, high = sorted(Fraction(t) for t in (instance["temperature"], instance["temperature_high"]))
    data = [list(column) for column in zip(*points, strict=True)]
    cosines = [_signed_cos_squared(exact_student(data, w_star, temperature=t, w0=w0), w_star) for t in (low, high)]
    return Evidence(
        holds=cosines[0] >= cosines[1],
        lhs=cosines[1],
        relation="<=",
        rhs=cosines[0],
        exact=True,
        details={
            "meaning": "signed cos²∠(ŵ_T, w*) at T_high (lhs) and T_low (rhs); the angle grows with T iff lhs ≤ rhs",
            "temperatures": [low, high],
            "angles": [
                float(
                    angle(
                        np.array(exact_student(data, w_star, temperature=t, w0=w0), dtype=float),
                        np.array(w_star, dtype=float),
                    )
                )
                for t in (low, high)
            ],
        },
    )


def _signed_cos_squared(u: tuple[Fraction, ...], v: tuple[Fraction, ...]) -> Fraction:
    """``sign(uᵀv)·cos²∠(u, v)``: a rational that decreases as the angle grows."""
    inner = dot(u, v)
    norms = dot(u, u) * dot(v, v)
    if norms == 0:
        return Fraction(0)
    return (1 if inner >= 0 else -1) * inner * inner / norms


CLAIMS = (
    Claim(
        id="span-invariance",
        status="theorem",
        statement="every gradient-descent iterate and the whole gradient flow keep P⊥w(t) = P⊥w0",
        latex=r"P_\perp w_k = P_\perp w_0 \;\forall k,\quad P_\perp w(t) = P_\perp w_0 \;\forall t",
        source="THEORY.md §3 (proof sketch: invariance)",
        families=DATA_FAMILIES,
        instances=lambda family: problems(family, require_init=True, deficient=True),
        check=check_span_invariance,
        literal_descent=True,
        content=INIT_OFF_SPAN,
        mutants=(
            Mutant(
                "off-span-vanishes",
                "P⊥w(t) = 0 instead of P⊥w(t) = P⊥w0",
                partial(check_span_invariance, invariant=lambda projector, w, w0: projector.complement(w)),
            ),
        ),
    ),
    Claim(
        id="optimization-bias-linear",
        status="theorem",
        statement="GD (any safe step) and gradient flow converge to P w*/T + P⊥w0",
        latex=r"\hat w = P w^*/T + P_\perp w_0",
        source="Phuong & Lampert 2019, theorem on linear students; THEORY.md §3",
        families=DATA_FAMILIES,
        instances=lambda family: problems(family, require_init=True, deficient=True),
        check=check_linear_bias,
        literal_descent=True,
        content=INIT_OFF_SPAN,
        trainer_check=TrainerCheck(
            lambda trainer: partial(check_linear_bias, trainer=trainer),
            instances=lambda family: problems(family, init=False, deficient=True),
            content=SPAN_DEFICIENT,
        ),
        mutants=(
            Mutant(
                "no-off-span-term",
                "the limit P w*/T, without the P⊥w0 term",
                partial(check_linear_bias, limit_formula=lambda x, teacher, w0: linear_limit(x, teacher)),
            ),
            Mutant(
                "no-temperature",
                "the limit P w* + P⊥w0: the temperature forgotten",
                partial(
                    check_linear_bias,
                    limit_formula=lambda x, teacher, w0: linear_limit(x, Teacher(teacher.w_star), w0),
                ),
            ),
            Mutant(
                "wrong-subspace",
                "P⊥w*/T + P w0: the projections swapped",
                partial(
                    check_linear_bias,
                    limit_formula=lambda x, teacher, w0: (
                        span_projector(x).complement(teacher.target) + span_projector(x).project(w0)
                    ),
                ),
            ),
        ),
    ),
    Claim(
        id="optimization-bias-deep",
        status="theorem",
        statement="deep linear GD keeps W_1(t)P⊥ = W_1(0)P⊥; a converged limit is P w*/T + P⊥W_1(0)ᵀv_∞",
        latex=r"W_1(t) P_\perp = W_1(0) P_\perp,\quad \hat w = P w^*/T + P_\perp W_1(0)^\top v_\infty",
        source="Phuong & Lampert 2019, theorem on deep linear students (generalised); THEORY.md §3",
        families=DATA_FAMILIES,
        instances=lambda family: problems(
            family,
            init=False,
            deficient=True,
            max_size=6,
            extra={"architecture": deep_architectures(), "init_seed": st.integers(0, 2**32 - 1)},
        ),
        check=check_deep_bias,
        literal_descent=True,
        content=SPAN_DEFICIENT,
        mutants=(
            Mutant(
                "ignores-first-layer",
                "the deep limit P w*/T, ignoring W_1(0)",
                partial(check_deep_bias, limit_formula=lambda x, teacher, first, upper: linear_limit(x, teacher)),
            ),
        ),
    ),
    Claim(
        id="temperature-monotone",
        status="open",
        statement="w0 ≠ 0: T ↦ ∠(ŵ_T, w*) is non-decreasing",
        latex=r"T_1 < T_2 \Rightarrow \angle(\hat w_{T_1}, w^*) \le \angle(\hat w_{T_2}, w^*)",
        source="THEORY.md §3 (open)",
        families=("generic",),
        instances=lambda family: problems(
            family,
            require_init=True,
            deficient=True,
            extra={"temperature_high": st.sampled_from((2.0, 4.0, 8.0, 0.5))},
        ).filter(lambda instance: instance["temperature_high"] != instance["temperature"]),
        check=check_temperature_monotone,
        content=TEACHER_AND_INIT,
    ),
)
