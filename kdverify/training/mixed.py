"""The student on mixed targets ``t_i = ρ s_i + (1 − ρ) y_i`` (THEORY.md §8.2), with a certificate.

Soft labels ``s_i = σ(w*ᵀx_i/T)`` come from the teacher, hard labels ``y_i = 1[w_yᵀx_i > 0]`` from
a labeller ``w_y`` (the teacher itself when none is given). Every ``t_i`` lies in ``(0, 1)`` for
``ρ ∈ (0, 1]``, so the loss restricted to ``w_0 + span X`` is strictly convex and coercive and
gradient descent converges to ``ŵ_ρ = P⊥w_0 + argmin_{v ∈ span X} L(v)``; when the target logits
``u_i = logit(t_i)`` are consistent (``u ∈ range Xᵀ``) that is ``P⊥w_0 + X(XᵀX)⁺u``.

Certificate (valid at any ``w``, whatever produced it). Write ``a = Xᵀw`` and ``b = Xᵀŵ``. Each
term is ``ℓ(z, t) = H(t) + KL(t ‖ σ(z))`` with ``H`` the binary entropy, and ``L(ŵ) ≤ L(w)``, so
``KL(t_i ‖ σ(b_i)) ≤ κ = n L(w) − Σ_j H(t_j)``: ``b_i`` lies in the interval ``I_i`` around
``logit(t_i)`` where that divergence (convex in ``b``) is at most ``κ``, found by bisection inside
the crude bracket ``|b_i| ≤ n L(w) / min(t_i, 1 − t_i)`` (``ℓ(z, t) ≥ |z|·min(t, 1 − t)``). On the
segment from ``w`` to ``ŵ`` the logits stay within ``M_i = max(|a_i|, max |I_i|)``, where
``σ' ≥ σ'(M_i)``; so ``L`` is ``μ``-strongly convex there along ``span X`` with
``μ = min_i σ'(M_i) · (σ_min⁺)² / n`` and

    ‖P(w − ŵ)‖ ≤ ‖∇L(w)‖ / μ.

Near the minimiser a local modulus is sharper: on the ball of radius ``R`` around ``w`` in
``w_0 + span X`` the logits stay within ``|a_i| + ‖x_i‖R``, giving a modulus ``μ_R``; if
``2‖∇L(w)‖ ≤ μ_R R`` the loss grows along every ray leaving the ball, so ``ŵ`` is inside and
``‖P(w − ŵ)‖ ≤ ‖∇L(w)‖/μ_R`` (tried at ``R = 4‖∇L(w)‖/μ_0``). The smaller valid bound is used,
to which the measured off-span part ``‖P⊥(w − w_0)‖``, the projector's rounding and the
gradient's rounding are added, as for the distilled student (:mod:`kdverify.training.train`).
Unlike :func:`kdverify.training.limits.span_error_bound` it needs no interpolation, so it also certifies
inconsistent targets (duplicated points, ``n > d``), where ``Xᵀŵ ≠ u``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kdverify._util.linalg import SpanProjector, span_projector
from kdverify._util.numerics import sigmoid, sigmoid_prime
from kdverify._util.validation import FloatArray, as_data, as_float_array, positive_int, probability
from kdverify.errors import InvalidArgument
from kdverify.training._common import EPS, Certificate, Problem, prepare, resolve_tolerance, take
from kdverify.training.descent import NEAR, check_interval, descend
from kdverify.training.limits import _gamma
from kdverify.training.teacher import Teacher

__all__ = ["MixedCertifier", "certify_mixed", "fit_mixed", "mixed_limit", "mixed_logits", "mixed_targets"]

MIXED_CLOSED_FORM = "closed form X(XᵀX)⁺u"
SPAN_NEWTON = "newton in span X"
CERTIFICATE = (
    "‖w − ŵ_ρ‖ ≤ ‖∇L(w)‖/μ + ‖P⊥(w − w0)‖ + rounding (μ from the limit's logit range), or the interpolation "
    "bound where the logits are proven consistent, whichever is smaller"
)


def mixed_targets(
    data: ArrayLike, teacher: Teacher, rho: float, labeller: ArrayLike | None = None
) -> tuple[FloatArray, FloatArray]:
    """``(t, 1 − t)`` with ``t = ρ σ(w*ᵀx/T) + (1 − ρ) 1[w_yᵀx > 0]`` per column of ``data``;
    ``1 − t = ρ σ(−w*ᵀx/T) + (1 − ρ) 1[w_yᵀx ≤ 0]`` is computed directly, so a target near 1
    keeps its distance to 1 (and its logit) to full relative precision."""
    rho = probability("rho", rho, open_interval=False)
    if rho == 0:
        raise InvalidArgument("rho=0 gives pure hard labels, whose loss has no minimiser; choose rho in (0, 1].")
    if not isinstance(teacher, Teacher):
        raise InvalidArgument(f"teacher={teacher!r} must be a kdverify.training.teacher.Teacher.")
    labels_from = teacher if labeller is None else Teacher(np.asarray(labeller, dtype=float))
    hard = labels_from.hard_labels(data)
    logits = teacher.logits(data)
    return rho * sigmoid(logits) + (1 - rho) * hard, rho * sigmoid(-logits) + (1 - rho) * (1 - hard)


def mixed_logits(targets: FloatArray, complements: FloatArray) -> FloatArray:
    """``u = logit(t) = log t − log(1 − t)`` from :func:`mixed_targets`' pair ``(t, 1 − t)``."""
    return np.log(targets) - np.log(complements)


def _divergence(z: FloatArray, targets: FloatArray, complements: FloatArray) -> FloatArray:
    """``KL(t ‖ σ(z)) = t log(t/σ(z)) + (1 − t) log((1 − t)/σ(−z))``, stably."""
    return targets * (np.log(targets) + np.logaddexp(0.0, -z)) + complements * (
        np.log(complements) + np.logaddexp(0.0, z)
    )


def _logit_range(targets: FloatArray, complements: FloatArray, total: FloatArray, steps: int = 80) -> FloatArray:
    """``max |b_i|`` over every ``b`` with ``Σ_i ℓ(b_i, t_i) ≤ total`` (``(B,)``): each
    ``KL(t_i ‖ σ(b_i)) ≤ κ = total − Σ_j H(t_j)`` (plus rounding), bisected from the crude bracket
    ``|b_i| ≤ total / min(t_i, 1 − t_i)`` toward ``logit(t_i)`` on both sides; the bisection keeps
    the outer end, so the result is never below the true extent."""
    entropy = -(targets * np.log(targets) + complements * np.log(complements))
    kappa = total[:, None] - np.sum(entropy, axis=-1, keepdims=True)
    kappa = np.maximum(kappa, 0.0) * (1 + 1e-9) + 64 * EPS * (1 + total[:, None])
    crude = total[:, None] / np.minimum(targets, complements)
    centre = mixed_logits(targets, complements)
    extents = []
    for outer in (crude, -crude):
        inner = centre.copy()
        outer = outer.copy()
        for _ in range(steps):
            middle = (inner + outer) / 2
            inside = _divergence(middle, targets, complements) <= kappa
            inner = np.where(inside, middle, inner)
            outer = np.where(inside, outer, middle)
        extents.append(np.abs(outer))
    return np.maximum(*extents)


def certify_mixed(
    w: FloatArray, data: FloatArray, targets: FloatArray, complements: FloatArray, w0: FloatArray,
    projector: SpanProjector,
) -> FloatArray:
    """The certified bound on ``‖w − ŵ_ρ‖`` (module docstring) for a batch ``w`` ``(B, d)``."""
    n = data.shape[-1]
    logits = np.einsum("bdn,bd->bn", data, w)
    with np.errstate(over="ignore"):
        loss = np.mean(np.logaddexp(0.0, logits) - targets * logits, axis=-1)
    loss = loss * (1 + 4 * n * EPS) + 4 * n * EPS  # the rounding of the loss itself, generously
    residual = sigmoid(logits) - targets
    gradient = np.einsum("bdn,bn->bd", data, residual) / n
    lengths = np.linalg.norm(data, axis=-2)
    logit_error = _gamma(2 * data.shape[-2] + 2) * np.einsum("bdn,bd->bn", np.abs(data), np.abs(w))
    gradient_error = 4 * np.sum(lengths * (logit_error / 4 + _gamma(n + 4)), axis=-1) / n
    size = np.linalg.norm(gradient, axis=-1) + gradient_error
    lower = projector.smallest_singular_lower_bound
    curvature = np.where(lower > 0, lower, 0.0) ** 2 / n

    def strong_convexity(extent: FloatArray) -> FloatArray:
        """``μ`` when the logits on the segment stay within ``extent`` (``(B, n)``)."""
        return np.min(sigmoid_prime(extent), axis=-1) * curvature

    reach = np.abs(logits) + logit_error
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mu = strong_convexity(np.maximum(reach, _logit_range(targets, complements, n * loss)))
        global_bound = np.where(mu > 0, size / mu, np.inf)
        # Ball argument: with μ_R the modulus on the ball of radius R around w (logits within
        # |a_i| + ‖x_i‖R there), 2‖∇L‖/μ_R ≤ R puts the minimiser inside it, at ≤ ‖∇L‖/μ_R.
        radius = 4 * size / np.where(strong_convexity(reach) > 0, strong_convexity(reach), np.nan)
        mu_ball = strong_convexity(reach + lengths * radius[:, None])
        inside = (mu_ball > 0) & (2 * size <= mu_ball * radius)
        ball_bound = np.where(inside, size / np.where(inside, mu_ball, 1.0), np.inf)
    span_bound = np.minimum(global_bound, ball_bound)
    moved = w - w0
    off_span = np.linalg.norm(projector.complement(moved), axis=-1)
    return span_bound + off_span + projector.subspace_error * np.linalg.norm(moved, axis=-1)


def mixed_limit(data: ArrayLike, logits: ArrayLike, w0: ArrayLike | None = None) -> FloatArray:
    """``P⊥w_0 + X(XᵀX)⁺u``: the limit for consistent target logits ``u`` (THEORY.md §8.2),
    through the SVD ``X = U S Vᵀ`` as ``U S⁻¹ Vᵀ u`` over the singular values kept."""
    points = as_data("data", data, batched=True)
    u = as_float_array("logits", logits, ndim=(1, 2))
    projector = span_projector(points)
    _, s, vt = np.linalg.svd(points, full_matrices=False)
    kept = s > projector.tolerance[..., None]
    inverse = np.where(kept, 1.0 / np.where(kept, s, 1.0), 0.0)
    pulled = inverse * np.einsum("...kn,...n->...k", vt, u)
    start = np.zeros(points.shape[:-1]) if w0 is None else np.asarray(w0, dtype=np.float64)
    return projector.complement(start) + np.einsum("...dk,...k->...d", projector.basis, pulled)


@dataclass(frozen=True)
class MixedCertifier:
    """The certificate of a batch ``(B, d, n)``: :func:`certify_mixed`, and where the logits are
    *proven* consistent also the interpolation bound of :class:`~kdverify.training._common.Certificate`
    (no curvature in it, so it stays sharp for large logits), whichever is smaller.

    Consistency is proven when the distinct columns of ``X`` are independent: the computed SVD is
    exact for data within ``E`` of ``X``, so a numerical rank equal to the number of distinct
    columns with ``σ̃_min⁺ − E > 0`` means the exact distinct columns have full column rank, and equal
    columns get bit-identical targets; then every ``u`` is ``Xᵀv`` for some ``v``. The computed
    logits are within ``8 eps (1 + |u_i|)`` of ``logit(t_i)`` (a few roundings of ``t``, ``1 − t`` and
    two logarithms), which moves the limit by at most that norm over ``σ̃_min⁺ − E``; it is added.
    """

    data: FloatArray
    targets: FloatArray
    complements: FloatArray
    w0: FloatArray
    projector: SpanProjector
    consistent: NDArray[np.bool_]
    interpolation: Certificate
    logit_error: FloatArray

    @classmethod
    def build(
        cls, data: FloatArray, targets: FloatArray, complements: FloatArray, w0: FloatArray, projector: SpanProjector
    ) -> MixedCertifier:
        logits = mixed_logits(targets, complements)
        distinct = _distinct_columns(data)
        lower = projector.smallest_singular_lower_bound
        consistent = (distinct == projector.rank) & (lower > 0)
        with np.errstate(divide="ignore"):
            error = 8 * EPS * np.linalg.norm(1 + np.abs(logits), axis=-1) / np.where(lower > 0, lower, 0.0)
        interpolation = Certificate.build(data, logits, projector)
        return cls(data, targets, complements, w0, projector, consistent, interpolation, error)

    def take(self, keep: Any) -> MixedCertifier:
        """The problems selected by ``keep`` (a mask or indices)."""
        return MixedCertifier(
            self.data[keep], self.targets[keep], self.complements[keep], self.w0[keep],
            take(self.projector, keep), self.consistent[keep], self.interpolation.take(keep), self.logit_error[keep],
        )

    def __call__(self, w: FloatArray) -> FloatArray:
        """Certified bounds on ``‖w − ŵ_ρ‖`` for ``w`` ``(B, d)``."""
        general = certify_mixed(w, self.data, self.targets, self.complements, self.w0, self.projector)
        interpolated = self.interpolation(w, self.w0)[2] + self.logit_error
        return np.where(self.consistent, np.minimum(general, interpolated), general)


def _distinct_columns(data: FloatArray) -> NDArray[np.int64]:
    """The number of distinct columns of each problem of ``data`` ``(B, d, n)``: the columns as records
    of ``d`` floats (``−0`` made ``+0``), sorted per problem, and the changes counted — ``np.unique``'s
    value equality, for the whole batch in one sort instead of one call per problem."""
    batch, dim, n = data.shape
    columns = np.ascontiguousarray(np.swapaxes(data, 1, 2) + 0.0)
    records = np.sort(columns.view([(f"x{i}", columns.dtype) for i in range(dim)]).reshape(batch, n), axis=1)
    return 1 + np.sum(records[:, 1:] != records[:, :-1], axis=1)


def _newton(certifier: MixedCertifier, start: FloatArray, tol: float, iterations: int) -> tuple[FloatArray, float, int]:
    """Damped Newton on ``L`` over ``w_0 + span X`` for one problem (``certifier`` of a batch of
    one), from ``start`` projected there, until the certificate is ``≤ tol``: ``(w, bound, steps)``."""
    data, targets, w0, projector = certifier.data[0], certifier.targets[0], certifier.w0[0], certifier.projector
    basis = projector.basis[0][:, : int(projector.rank[0])]
    reduced = data.T @ basis
    w = w0 + basis @ (basis.T @ (start - w0))
    n = data.shape[1]

    def loss(v: FloatArray) -> float:
        z = data.T @ v
        return float(np.mean(np.logaddexp(0.0, z) - targets * z))

    def certificate(v: FloatArray) -> float:
        return float(certifier(v[None])[0])

    bound = certificate(w)
    for step in range(1, iterations + 1):
        if bound <= tol:
            return w, bound, step - 1
        z = data.T @ w
        gradient = reduced.T @ (sigmoid(z) - targets) / n
        hessian = reduced.T @ (sigmoid_prime(z)[:, None] * reduced) / n
        direction = np.linalg.solve(hessian + 1e-300 * np.eye(len(gradient)), gradient)
        current, length = loss(w), 1.0
        while length > 1e-12 and loss(w - length * basis @ direction) > current - 1e-4 * length * gradient @ direction:
            length /= 2
        w = w - length * basis @ direction
        bound = certificate(w)
    return w, bound, iterations



def fit_mixed(
    data: ArrayLike,
    teacher: Teacher,
    rho: float,
    w0: ArrayLike | None = None,
    *,
    labeller: ArrayLike | None = None,
    method: str = "auto",
    tol: ArrayLike | None = None,
    rtol: float = 1e-9,
    max_iter: int = 20_000,
    check_every: int = 100,
    newton_iter: int = 60,
):  # -> TrainingResult (imported lazily: train.py imports this module)
    """The ρ-mixed student's certified limit ``ŵ_ρ`` for one set ``(d, n)`` or a batch ``(B, d, n)``,
    as :func:`~kdverify.training.fit_distilled` does for ``ρ = 1``.

    ``auto``: the closed form ``P⊥w_0 + X(XᵀX)⁺u``, certified; a student it refuses (inconsistent
    targets) is refined by damped Newton in ``w_0 + span X``. ``gd``: literal gradient descent
    (step ``1/L_max``) checked every ``check_every`` steps, then Newton for what it left.
    ``converged`` only when the certificate (module docstring) is ``≤ tol`` (default
    ``rtol·max(1, ‖ŵ‖)``, with ``‖ŵ‖`` from the closed form).

    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> result = fit_mixed(X, Teacher([2.0, -1.0, 0.0]), 0.5, w0=[0.0, 0.0, 1.0])
    >>> bool(result.converged), str(result.method)
    (True, 'closed form X(XᵀX)⁺u')
    """
    from kdverify.training.train import GRADIENT_DESCENT, TrainingResult, _check_method

    method = _check_method(method)
    max_iter = positive_int("max_iter", max_iter, min_value=0)
    check_every = positive_int("check_every", check_every)
    newton_iter = positive_int("newton_iter", newton_iter, min_value=0)
    targets, complements = mixed_targets(data, teacher, rho, labeller)
    problem = prepare(data, None, w0)
    points, start, projector = problem.data, problem.w0, problem.projector
    targets = np.broadcast_to(targets, points.shape[::2]).copy()
    complements = np.broadcast_to(complements, points.shape[::2]).copy()
    closed = mixed_limit(points, mixed_logits(targets, complements), start)
    tolerance = resolve_tolerance(tol, rtol, np.linalg.norm(closed, axis=-1))
    batch = points.shape[0]
    iterations = np.zeros(batch, dtype=np.int64)
    w = closed
    labels = np.full(batch, MIXED_CLOSED_FORM, dtype=object)
    certifier = MixedCertifier.build(points, targets, complements, start, projector)
    if method == "gd":
        w, iterations = _descend(problem, targets, certifier, tolerance, max_iter, check_every)
        labels = np.full(batch, GRADIENT_DESCENT, dtype=object)
    bound = certifier(w)
    converged = bound <= tolerance
    for b in np.flatnonzero(~converged) if newton_iter else ():
        w[b], bound[b], steps = _newton(certifier.take(np.array([b])), w[b], float(tolerance[b]), newton_iter)
        converged[b], iterations[b] = bound[b] <= tolerance[b], iterations[b] + steps
        labels[b] = SPAN_NEWTON if method == "auto" else GRADIENT_DESCENT + " + " + SPAN_NEWTON
    return TrainingResult.from_batch(
        w=w,
        bound=bound,
        tol=tolerance,
        converged=converged,
        method=labels,
        iterations=iterations,
        single=problem.single,
        student="mixed",
        certificate=CERTIFICATE,
    )



def _descend(
    problem: Problem, targets: FloatArray, certifier: MixedCertifier, tolerance: FloatArray, max_iter: int,
    check_every: int,
) -> tuple[FloatArray, np.ndarray]:
    """Literal gradient descent (step ``1/L_max``) on every problem through
    :func:`~kdverify.training.descent.descend`, each problem stopped at its first checked iterate
    whose certificate meets its tolerance. Checks follow the linear engine's schedule, per problem
    and from its own history (so a batch returns what single runs return): every ``check_every``
    steps within ``NEAR·tol``, else every :func:`~kdverify.training.descent.check_interval` steps —
    a check (a bisection per point) costs hundreds of steps of a small problem."""
    batch = problem.data.shape[0]
    w, iterations = problem.w0.copy(), np.zeros(batch, dtype=np.int64)
    step = 1.0 / problem.smoothness
    bound = certifier(w)
    active = ~(bound <= tolerance)
    next_check = np.zeros(batch, dtype=np.int64)
    done = 0
    while done < max_iter and np.any(active):
        due = active & (next_check == done)
        interval = np.where(bound[due] <= NEAR * tolerance[due], check_every, check_interval(check_every, done))
        next_check[due] = np.minimum(done + interval, max_iter)
        count = int(np.min(next_check[active])) - done
        chunk = prepare(problem.data[active], None, w[active])
        run = descend(chunk, targets[active], step[active], tol=None, max_iter=count, check_every=count, method="gd")
        w[active] = run.w
        iterations[active] += count
        done += count
        due = active & (next_check == done)
        bound[due] = certifier.take(due)(w[due])
        active[due & (bound <= tolerance)] = False
    return w, iterations
