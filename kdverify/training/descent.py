"""Gradient descent for the linear student, for one problem or a batch in one vectorised pass.

The update is the literal ``w_{k+1} = w_k − η ∇L(w_k)`` with ``∇L(w) = (1/n) X (σ(Xᵀw) − t)``,
computed in the original coordinates (no reparametrisation into ``span X``), so that span
invariance is something the run *shows*, not something it assumes.

Certificate. For soft targets with logits ``z*`` the limit ``ŵ`` is the point of
``w_0 + span X`` with ``Xᵀŵ = z*``. For any iterate ``w``,

    ‖w − ŵ‖ ≤ ‖P(w − ŵ)‖ + ‖P⊥(w − w_0)‖ ≤ span_error_bound(w) + ‖P̃⊥(w − w_0)‖ + ‖P − P̃‖·‖w − w_0‖,

where :func:`kdverify.training.limits.span_error_bound` is the a-posteriori bound (a proof, valid at any
``w`` whatever produced it, with its own rounding included), ``‖P̃⊥(w − w_0)‖`` is measured with
the computed projector (zero in exact arithmetic) and ``‖P − P̃‖`` is bounded by
:attr:`kdverify._util.linalg.SpanProjector.subspace_error`. The run stops, per problem, at the first
checked iterate whose bound is ``≤ tol``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kdverify._util.numerics import sigmoid
from kdverify._util.validation import FloatArray, positive_int
from kdverify.errors import InvalidArgument, NotConverged
from kdverify.training._common import (
    Certificate,
    Problem,
    check_interpolable,
    limit_norm,
    prepare,
    resolve_step,
    resolve_tolerance,
    unbatch,
)
from kdverify.training.losses import loss_gradient
from kdverify.training.teacher import Teacher

__all__ = ["DescentResult", "gradient_descent", "train_distilled"]


@dataclass(frozen=True)
class DescentResult:
    """Outcome of gradient descent; scalars for one problem, ``(B,)`` arrays for a batch.

    ``span_bound`` certifies ``‖P(w − ŵ)‖``; ``bound = span_bound + off_span`` plus the projector's
    rounding (module docstring) certifies ``‖w − ŵ‖`` (``inf`` for hard labels, which have no
    limit). ``off_span = ‖P⊥(w − w_0)‖`` at the end and ``off_span_max`` its maximum over the
    checked iterates (every ``check_every`` steps). ``converged`` means ``bound ≤ tol``;
    ``iterations`` is the index of the returned iterate.
    """

    w: FloatArray
    iterations: NDArray[np.int64]
    converged: NDArray[np.bool_]
    gradient_norm: FloatArray
    step: FloatArray
    span_bound: FloatArray
    off_span: FloatArray
    off_span_max: FloatArray
    bound: FloatArray
    tol: FloatArray
    method: str


def gradient_descent(
    data: ArrayLike,
    target_logits: ArrayLike,
    w0: ArrayLike | None = None,
    *,
    step: ArrayLike | None = None,
    tol: ArrayLike | None = None,
    rtol: float = 1e-9,
    max_iter: int = 100_000,
    check_every: int = 10,
    every_iterate: bool = False,
    raise_on_failure: bool = False,
) -> DescentResult:
    """Gradient descent on the cross-entropy against soft targets ``σ(z*)``, from ``w0`` (default 0).

    ``data`` is ``(d, n)`` or a batch ``(B, d, n)``; ``target_logits`` ``(n,)`` or ``(B, n)``;
    ``w0`` ``(d,)`` or ``(B, d)``. ``step`` (scalar or one per problem) must lie in
    ``(0, 2/L_max)``, ``L_max = λ_max(XXᵀ)/(4n)``; default ``1/L_max``. ``tol`` defaults to
    ``rtol·max(1, ‖ŵ‖)``. Each problem stops at its first checked iterate with certified
    ``‖w − ŵ‖ ≤ tol``; problems that exhaust ``max_iter`` return ``converged=False`` (or raise
    :class:`NotConverged` when ``raise_on_failure``).

    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> result = gradient_descent(X, [0.5, -1.0], w0=[0.0, 0.0, 3.0])
    >>> bool(result.converged), np.round(result.w, 6).tolist()
    (True, [0.5, -0.5, 3.0])
    """
    problem = prepare(data, target_logits, w0)
    check_interpolable(problem)
    tolerance = resolve_tolerance(tol, rtol, limit_norm(problem))
    result = descend(
        problem,
        sigmoid(problem.logits),
        resolve_step(step, problem.smoothness),
        tol=tolerance,
        max_iter=max_iter,
        check_every=check_every,
        every_iterate=every_iterate,
        method="gradient descent on the distillation loss",
    )
    if raise_on_failure and not np.all(result.converged):
        failed = int(np.sum(~np.asarray(result.converged)))
        raise NotConverged(
            f"{failed} problem(s) did not reach the certified tolerance within max_iter={max_iter}; "
            f"largest remaining bound {float(np.max(result.bound)):.3g}."
        )
    return result


def train_distilled(
    data: ArrayLike, teacher: Teacher, w0: ArrayLike | None = None, **options: object
) -> DescentResult:
    """Distil ``teacher`` into a linear student by :func:`gradient_descent` on target logits
    ``Xᵀw*/T``; ``options`` are those of :func:`gradient_descent`."""
    if not isinstance(teacher, Teacher):
        raise InvalidArgument(f"teacher={teacher!r} must be a kdverify.training.teacher.Teacher.")
    return gradient_descent(data, teacher.logits(data), w0, **options)  # type: ignore[arg-type]


def descend(
    problem: Problem,
    targets: FloatArray,
    step: FloatArray,
    *,
    tol: FloatArray | None,
    max_iter: int,
    check_every: int,
    every_iterate: bool = False,
    method: str,
) -> DescentResult:
    """The gradient-descent engine shared by soft and hard targets (``targets`` ``(B, n)`` in [0, 1]).

    Runs :func:`check_interval` steps on the problems still active, then checks them; with target
    logits and ``tol`` a problem whose certified bound meets ``tol`` is frozen and dropped from the
    batch. ``every_iterate`` also measures the off-span drift of every iterate in between.
    A problem's iterates do not depend on the others in its batch, so a batch returns what
    one run per problem returns.
    """
    max_iter = positive_int("max_iter", max_iter, min_value=0)
    check_every = positive_int("check_every", check_every)
    batch = problem.data.shape[0]
    out = {
        "w": problem.w0.copy(),
        "iterations": np.zeros(batch, dtype=np.int64),
        "converged": np.zeros(batch, dtype=bool),
        "span_bound": np.full(batch, np.inf),
        "off_span": np.zeros(batch),
        "off_span_max": np.zeros(batch),
        "bound": np.full(batch, np.inf),
    }
    state = _Active(
        index=np.arange(batch),
        w=problem.w0.copy(),
        w0=problem.w0,
        scaled=problem.data * (step / problem.n)[:, None, None],
        targets=targets,
        tol=tol,
        next_check=np.zeros(batch, dtype=np.int64),
        certificate=Certificate.build(problem.data, problem.target_logits, problem.projector),
    )
    iteration = 0
    while True:
        due = state.next_check == iteration
        done = _check(state, due, iteration, out)
        if iteration >= max_iter or np.all(done):
            break
        _schedule(state, due, iteration, out, check_every=check_every, max_iter=max_iter, every_iterate=every_iterate)
        if np.any(done):
            state = state.keep(~done)
        count = int(np.min(state.next_check)) - iteration
        drift = _run_steps(state, count, every_iterate=every_iterate)
        if drift is not None:
            out["off_span_max"][state.index] = np.maximum(out["off_span_max"][state.index], drift)
        iteration += count
    # ∇L at the returned iterates, once at the end (the checks do not need it).
    out["gradient_norm"] = np.linalg.norm(loss_gradient(out["w"], problem.data, targets), axis=-1)
    return DescentResult(
        **{name: unbatch(value, problem.single) for name, value in out.items()},
        step=unbatch(step, problem.single),
        tol=unbatch(np.full(batch, np.inf) if tol is None else tol, problem.single),
        method=method,
    )


@dataclass(frozen=True)
class _Active:
    """The problems of a batch still running (``index`` into the batch) and what their steps need:
    ``scaled = (η/n)·X`` and the certificate's constants (with ``−Xᵀ``), computed once."""

    index: NDArray[np.int64]
    w: FloatArray
    w0: FloatArray
    scaled: FloatArray
    targets: FloatArray
    tol: FloatArray | None
    next_check: NDArray[np.int64]
    certificate: Certificate

    def keep(self, mask: NDArray[np.bool_]) -> _Active:
        """The problems selected by ``mask``."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "certificate"}
        kept: dict[str, Any] = {name: None if value is None else value[mask] for name, value in arrays.items()}
        return replace(self, **kept, certificate=self.certificate.take(mask))


def _check(state: _Active, due: NDArray[np.bool_], iteration: int, out: dict[str, NDArray]) -> NDArray[np.bool_]:
    """Record the diagnostics of the active problems ``due`` for a check in ``out``; return
    which active problems are certified (only due ones can be)."""
    rows = np.flatnonzero(due)
    certificate = state.certificate if rows.size == due.size else state.certificate.take(rows)
    w = state.w[rows]
    span_bound, off_span, bound = certificate(w, state.w0[rows])
    done = np.zeros(due.size, dtype=bool)
    if state.tol is not None:
        done[rows] = bound <= state.tol[rows]
    index = state.index[rows]
    out["w"][index] = w
    out["iterations"][index] = iteration
    out["converged"][index] = done[rows]
    out["span_bound"][index] = span_bound
    out["off_span"][index] = off_span
    out["off_span_max"][index] = np.maximum(out["off_span_max"][index], off_span)
    out["bound"][index] = bound
    return done


def _schedule(
    state: _Active,
    due: NDArray[np.bool_],
    iteration: int,
    out: dict[str, NDArray],
    *,
    check_every: int,
    max_iter: int,
    every_iterate: bool,
) -> None:
    """Set the next check of the problems just checked, each from its own history only (so a
    batch returns what one run per problem returns): every ``check_every`` steps while within
    :data:`NEAR` of its tolerance, else :func:`check_interval`; never past ``max_iter``."""
    interval = np.full(int(np.sum(due)), check_interval(check_every, iteration, every_iterate=every_iterate))
    if state.tol is not None:
        near = out["bound"][state.index[due]] <= NEAR * state.tol[due]
        interval[near] = check_every
    state.next_check[due] = np.minimum(iteration + interval, max_iter)


CHECK_FRACTION = 8
"""Checks come at least every ``1/CHECK_FRACTION`` of the steps taken so far: a run certified at
step ``k`` stops by step ``k(1 + 1/8)``, and a run of ``K`` steps makes ``O(8 log K)`` checks,
not ``K/check_every`` (a check costs about as much as ten steps of one small problem)."""

NEAR = 1e3
"""Within ``NEAR·tol`` checks come every ``check_every`` steps again: close to the limit the
certificate meets its rounding floor and passes at some iterates only, so sparse checks there
would miss the first certified one."""

TRACE_BLOCK = 256
"""Iterates buffered per block when every iterate's drift is measured (memory ``256·B·d`` floats)."""


def check_interval(check_every: int, iteration: int, *, every_iterate: bool = False) -> int:
    """Steps until the next check: ``check_every`` at first, then ``iteration/CHECK_FRACTION``
    (at most :data:`TRACE_BLOCK` when every iterate is buffered)."""
    interval = max(check_every, iteration // CHECK_FRACTION)
    return min(interval, max(check_every, TRACE_BLOCK)) if every_iterate else interval


def _run_steps(state: _Active, count: int, *, every_iterate: bool = False) -> FloatArray | None:
    """``count`` in-place steps ``w ← w − (η/n) X (σ(Xᵀw) − t)`` on every active problem, with
    ``σ(z) = 1/(1 + e^{−z})`` (a few ulps from exact for every ``z``; ``e^{−z}`` may overflow to
    ``inf``, giving ``σ = 0`` as it should) from ``−Xᵀw``, in SIMD ufuncs (``scipy.special.expit``
    is a scalar loop, ≈ 10× slower here). With ``every_iterate`` the iterates are buffered and
    the largest ``‖P⊥(w_k − w_0)‖`` per problem is returned (one stacked product per block)."""
    w = state.w
    negated = state.certificate.negated
    residual = np.empty(state.targets.shape)
    update = np.empty(w.shape)
    trace = np.empty((count, *w.shape)) if every_iterate else None
    with np.errstate(over="ignore"):
        for k in range(count):
            np.matmul(negated, w[..., None], out=residual[..., None])
            np.exp(residual, out=residual)
            residual += 1.0
            np.reciprocal(residual, out=residual)
            residual -= state.targets
            np.matmul(state.scaled, residual[..., None], out=update[..., None])
            w -= update
            if trace is not None:
                trace[k] = w
    if trace is None:
        return None
    moved = trace - state.w0
    basis, basis_t = state.certificate.basis, state.certificate.basis_t
    off = moved - np.einsum("bij,kbj->kbi", basis, np.einsum("bij,kbj->kbi", basis_t, moved))
    return np.sqrt(np.max(np.einsum("kbi,kbi->kb", off, off), axis=0))
