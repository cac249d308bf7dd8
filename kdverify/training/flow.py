"""Gradient flow ``ẇ = −∇L(w)`` of the linear student, integrated by ``scipy.integrate``'s ODE solvers.

Method: ``LSODA`` by default (Adams while the flow is non-stiff, switching to BDF when the
stiffness ``L_max / μ`` of ill-conditioned data demands it) with the exact Jacobian ``−∇²L(w)``;
default ``rtol = 1e-10``, ``atol = 1e-12``. Measured on small Gaussian problems it is 10–20× faster
than ``Radau`` at these tolerances, while ``RK45`` crawls once the problem is stiff. The integrator
(``scipy.integrate``'s solver class, the one ``solve_ivp`` drives) is stepped here, in batches of
accepted steps that double, and after each batch the certificate of :mod:`kdverify.training.descent`
— ``span_error_bound(w) + ‖P⊥(w − w_0)‖`` plus the projector's rounding — is evaluated at every
accepted step. The flow stops at the first step that meets ``tol``, at ``max_time`` (``2¹²·8/μ*``
with ``μ* = λ_min⁺(XXᵀ)·min_i σ'(z*_i)/n``, the curvature at the limit) or after ``max_steps``
accepted steps: at large logits ``1/μ*`` can reach ``10¹⁷`` (THEORY.md §6) and the integrator would
otherwise step for hours. The integration error does not enter the certificate: it bounds the
distance of the returned point to ``ŵ`` whatever the integrator did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import BDF, DOP853, LSODA, RK45, OdeSolver, Radau

from kdverify._util.numerics import sigmoid, sigmoid_prime
from kdverify._util.validation import FloatArray, positive_float, positive_int
from kdverify.errors import InvalidArgument, NotConverged
from kdverify.training._common import (
    Objective,
    certify,
    check_interpolable,
    limit_norm,
    prepare,
    resolve_tolerance,
    take,
)
from kdverify.training.losses import loss_gradient
from kdverify.training.teacher import Teacher

__all__ = ["FlowResult", "flow_distilled", "gradient_flow"]

SOLVERS: dict[str, type[OdeSolver]] = {"LSODA": LSODA, "Radau": Radau, "BDF": BDF, "RK45": RK45, "DOP853": DOP853}
METHODS = tuple(SOLVERS)
IMPLICIT = ("LSODA", "Radau", "BDF")
MAX_STEPS = 20_000
"""Accepted integrator steps before a flow stops uncertified: 15× the most that 570 flows of the
``ci`` checks took (1 282; median 220)."""
FIRST_BATCH, LAST_BATCH = 16, 4096


@dataclass(frozen=True)
class FlowResult:
    """End of a gradient-flow run: the point ``w(time)``, its certificate and the off-span drift.

    ``bound`` (``span_bound + off_span`` plus the projector's rounding) certifies ``‖w − ŵ‖``;
    ``off_span_max`` is the maximum of ``‖P⊥(w(t) − w_0)‖`` over every accepted integrator step up to ``time``.
    """

    w: FloatArray
    time: float
    converged: bool
    gradient_norm: float
    span_bound: float
    off_span: float
    off_span_max: float
    bound: float
    tol: float
    steps: int
    evaluations: int
    method: str
    ode_rtol: float
    ode_atol: float


def gradient_flow(
    data: ArrayLike,
    target_logits: ArrayLike,
    w0: ArrayLike | None = None,
    *,
    tol: float | None = None,
    rtol: float = 1e-9,
    method: str = "LSODA",
    ode_rtol: float = 1e-10,
    ode_atol: float = 1e-12,
    max_time: float | None = None,
    max_steps: int = MAX_STEPS,
) -> FlowResult:
    """Integrate ``ẇ = −∇L(w)`` from ``w0`` (default 0) until certified ``‖w − ŵ‖ ≤ tol``.

    One problem: ``data`` ``(d, n)``, ``target_logits`` ``(n,)``. ``tol`` defaults to
    ``rtol·max(1, ‖ŵ‖)``; ``max_time`` to ``2¹²·8/μ*`` (module docstring). Returns
    ``converged=False`` if ``max_time`` or ``max_steps`` accepted steps come first.

    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> result = gradient_flow(X, [0.5, -1.0], w0=[0.0, 0.0, 3.0])
    >>> result.converged, np.round(result.w, 6).tolist()
    (True, [0.5, -0.5, 3.0])
    """
    problem = prepare(data, target_logits, w0)
    check_interpolable(problem)
    if not problem.single:
        raise InvalidArgument(f"data has shape {problem.data.shape}; gradient_flow takes one (d, n) problem.")
    if method not in METHODS:
        raise InvalidArgument(f"method={method!r} must be one of {METHODS}.")
    tolerance = float(resolve_tolerance(tol, rtol, limit_norm(problem))[0])
    ode_rtol, ode_atol = positive_float("ode_rtol", ode_rtol), positive_float("ode_atol", ode_atol)
    max_steps = positive_int("max_steps", max_steps)
    data, logits, start = problem.data[0], problem.logits[0], problem.w0[0]
    projector, targets = take(problem.projector, 0), sigmoid(logits)
    rate = float(projector.smallest_positive_eigenvalue) * float(np.min(sigmoid_prime(logits))) / problem.n
    if max_time is None:
        with np.errstate(divide="ignore", over="ignore"):
            max_time = 8.0 / rate * 2.0**12 if rate > 0 else np.inf
        if not np.isfinite(max_time):
            raise NotConverged(
                f"the flow's time scale 1/μ* = {1 / rate if rate else np.inf:.3g} is beyond float64 (the curvature "
                f"σ'(z*) at the largest target logit {float(np.max(np.abs(logits))):.3g} underflows); give max_time."
            )
    else:
        max_time = positive_float("max_time", max_time)

    objective = Objective.build(problem.data[0], targets)
    jacobian = {"jac": lambda _, v: -objective.hessian(v)} if method in IMPLICIT else {}
    with np.errstate(over="ignore"):
        solver = SOLVERS[method](
            lambda _, v: -objective.gradient(v), 0.0, start, max_time, rtol=ode_rtol, atol=ode_atol, **jacobian
        )
    w, time, steps, off_span_max, batch = start, 0.0, 0, 0.0, FIRST_BATCH
    span_bound, off_span, bound = (float(v[0]) for v in certify(start[None], start, data, logits, projector))
    while bound > tolerance and solver.status == "running" and steps < max_steps:
        states: list[FloatArray] = []
        times: list[float] = []
        while solver.status == "running" and len(states) < min(batch, max_steps - steps):
            with np.errstate(over="ignore"):
                message = solver.step()
            if solver.status == "failed":
                raise InvalidArgument(f"the {method} integrator failed: {message}")
            states.append(solver.y.copy())
            times.append(float(solver.t))
        spans, offs, bounds = certify(np.array(states), start, data, logits, projector)
        hits = np.flatnonzero(bounds <= tolerance)
        last = int(hits[0]) if hits.size else len(states) - 1
        off_span_max = max(off_span_max, float(np.max(offs[: last + 1])))
        w, time = states[last], float(times[last])
        span_bound, off_span, bound = float(spans[last]), float(offs[last]), float(bounds[last])
        steps += last + 1
        batch = min(2 * batch, LAST_BATCH)
    evaluations = int(solver.nfev)
    return FlowResult(
        w=w,
        time=time,
        converged=bound <= tolerance,
        gradient_norm=float(np.linalg.norm(loss_gradient(w, data, targets))),
        span_bound=span_bound,
        off_span=off_span,
        off_span_max=off_span_max,
        bound=bound,
        tol=tolerance,
        steps=steps,
        evaluations=evaluations,
        method=f"gradient flow, scipy.integrate.{method}",
        ode_rtol=ode_rtol,
        ode_atol=ode_atol,
    )


def flow_distilled(
    data: ArrayLike, teacher: Teacher, w0: ArrayLike | None = None, **options: object
) -> FlowResult:
    """:func:`gradient_flow` on the teacher's target logits ``Xᵀw*/T``."""
    if not isinstance(teacher, Teacher):
        raise InvalidArgument(f"teacher={teacher!r} must be a kdverify.training.teacher.Teacher.")
    return gradient_flow(data, teacher.logits(data), w0, **options)  # type: ignore[arg-type]
