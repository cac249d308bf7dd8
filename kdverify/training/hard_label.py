"""The hard-label student: gradient descent on the logistic loss of 0/1 labels, and its limit
direction, the hard-margin (max-margin) separator through the origin.

On separable data the hard-label loss has no minimiser: ``‖w_k‖ → ∞`` while ``w_k/‖w_k‖`` tends
to the max-margin direction at the slow rate ``O(1/log k)`` (Soudry et al., 2018). So gradient
descent runs a fixed budget of iterations, and the limit direction is computed exactly and
separately by :func:`max_margin`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import nnls

from kdverify._util.validation import FloatArray, as_data, as_float_array
from kdverify.errors import InvalidArgument, NotConverged
from kdverify.training._common import EPS, prepare, resolve_step
from kdverify.training.descent import DescentResult, descend
from kdverify.training.teacher import Teacher

__all__ = ["MaxMarginResult", "hard_label_descent", "max_margin", "train_hard_label"]

LDP_SOLVER = "Lawson–Hanson least-distance programming via scipy.optimize.nnls"


def hard_label_descent(
    data: ArrayLike,
    labels: ArrayLike,
    *,
    iterations: int,
    step: ArrayLike | None = None,
    check_every: int = 100,
) -> DescentResult:
    """Gradient descent from 0 on the hard-label loss with ``labels`` in {0, 1}, for exactly
    ``iterations`` steps (same engine as the distilled student; batches allowed).

    There is no limit, so ``bound``/``span_bound`` are ``inf`` and ``converged`` is False;
    ``off_span_max`` still records ``max ‖P⊥ w_k‖`` (THEORY.md ``distill-best-in-span``).
    """
    problem = prepare(data, None, None)
    targets = as_float_array("labels", labels, ndim=(1, 2))
    if targets.shape[-1] != problem.n or not np.all((targets == 0) | (targets == 1)):
        raise InvalidArgument(
            f"labels (shape {targets.shape}) must hold {problem.n} values in {{0, 1}} per problem, "
            "the teacher's hard labels 1[w*ᵀx > 0]."
        )
    return descend(
        problem,
        np.array(np.broadcast_to(targets, (problem.data.shape[0], problem.n))),
        resolve_step(step, problem.smoothness),
        tol=None,
        max_iter=iterations,
        check_every=check_every,
        method="gradient descent on the hard-label loss",
    )


def train_hard_label(data: ArrayLike, teacher: Teacher, **options: object) -> DescentResult:
    """:func:`hard_label_descent` on the teacher's hard labels ``1[w*ᵀx > 0]``."""
    if not isinstance(teacher, Teacher):
        raise InvalidArgument(f"teacher={teacher!r} must be a kdverify.training.teacher.Teacher.")
    return hard_label_descent(data, teacher.hard_labels(data), **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class MaxMarginResult:
    """The hard-margin separator ``w = argmin ‖w‖ s.t. y_i wᵀx_i ≥ 1`` with its KKT certificate.

    ``multipliers`` ``λ ≥ 0`` satisfy ``w = Σ_i λ_i y_i x_i``; the residuals are relative:
    ``feasibility = max_i (1 − y_i wᵀx_i)⁺``, ``complementarity = max_i λ_i |y_i wᵀx_i − 1| / Σλ``,
    ``stationarity = ‖w − Σλ_i y_i x_i‖ / ‖w‖``; each is ``≤ tolerance``.
    ``margin = 1/‖w‖`` is the geometric margin of ``direction = w/‖w‖``.
    """

    w: FloatArray
    direction: FloatArray
    margin: float
    multipliers: FloatArray
    feasibility_residual: float
    complementarity_residual: float
    stationarity_residual: float
    tolerance: float
    solver: str


def max_margin(data: ArrayLike, labels: ArrayLike) -> MaxMarginResult:
    """Hard-margin separator through the origin of the columns of ``data`` with ``labels`` ±1.

    Least-distance programming ``min ‖w‖ s.t. Gw ≥ h`` (``G`` rows ``y_i x_iᵀ``, ``h = 1``) is
    solved as the NNLS ``min_{u ≥ 0} ‖Eu − f‖``, ``E = [Gᵀ; hᵀ]``, ``f = e_{d+1}`` (Lawson &
    Hanson, ch. 23). With ``û = u/Σu``, ``v = Σ û_i y_i x_i`` is the point of the convex hull of
    the ``y_i x_i`` nearest 0, and ``w = v/‖v‖²``, ``λ = û/‖v‖²`` (the textbook
    ``w = −r_{1:d}/r_{d+1}`` for ``r = Eu − f``, without the cancellation in ``r_{d+1} = Σu − 1``).
    The data are first rescaled by a power of two (exactly) to entries below 1, since ``E`` mixes
    them with the constant row ``h``; ``w`` and ``λ`` are scaled back.

    Raises :class:`InvalidArgument` when the data are not separable, i.e. ``‖v‖`` is at rounding
    level (no direction has a margin above the float64 resolution), and :class:`NotConverged` when
    the KKT residuals exceed the rounding tolerance or the margin is too small, relative to
    ``max ‖x_i‖``, to decide.

    >>> result = max_margin([[1.0, 1.0, 0.0], [1.0, -1.0, 3.0]], [1, -1, 1])
    >>> bool(np.allclose(result.w, [0.0, 1.0], atol=1e-12)), np.round(result.multipliers, 12).tolist()
    (True, [0.5, 0.5, 0.0])
    """
    data = as_data("data", data)
    signs = as_float_array("labels", labels, ndim=1)
    dim, n = data.shape
    if signs.shape != (n,) or not np.all(np.abs(signs) == 1):
        raise InvalidArgument(
            f"labels (shape {signs.shape}) must hold {n} values in {{−1, +1}} (use 2·hard_labels − 1)."
        )
    _, shift = np.frexp(np.max(np.abs(data)))
    shift = int(shift)
    rows = (np.ldexp(data, -shift) * signs).T
    target = np.zeros(dim + 1)
    target[-1] = 1.0
    u, _ = nnls(np.vstack([rows.T, np.ones((1, n))]), target)
    weights = u / np.sum(u) if np.sum(u) > 0 else u
    nearest = rows.T @ weights
    distance2 = float(nearest @ nearest)
    resolution = 100.0 * (dim + n) * EPS * float(np.max(np.linalg.norm(rows, axis=1)))
    if not np.sqrt(distance2) > resolution:
        raise InvalidArgument(
            f"data with these labels are not linearly separable through the origin: 0 lies within "
            f"{np.ldexp(np.sqrt(distance2), shift):.3g} of the convex hull of the y_i x_i (rounding level "
            f"{np.ldexp(resolution, shift):.3g}), so no direction separates all {n} points with a margin above it."
        )
    w, multipliers = nearest / distance2, weights / distance2
    margins = rows @ w
    if not np.min(margins) > 0:
        raise NotConverged(
            "max_margin could not decide separability: the convex hull of the y_i x_i stays "
            f"{np.ldexp(np.sqrt(distance2), shift):.3g} from 0, but its nearest point does not separate the data."
        )
    result = _certify(rows.T * signs, w, margins, multipliers, rows)
    with np.errstate(over="ignore", under="ignore"):
        scaled = replace(
            result,
            w=np.ldexp(result.w, -shift),
            margin=float(np.ldexp(result.margin, shift)),
            multipliers=np.ldexp(result.multipliers, -2 * shift),
        )
    lost = (result.multipliers > 0) & ~((scaled.multipliers > 0) & np.isfinite(scaled.multipliers))
    if not np.all(np.isfinite(scaled.w)) or np.any(lost):
        raise InvalidArgument(
            f"the data's scale (largest entry {np.max(np.abs(data)):.3g}) puts w or its multipliers beyond "
            "float64 (w ~ 1/margin, λ ~ 1/margin²); rescale the data."
        )
    return scaled


def _certify(
    data: FloatArray, w: FloatArray, margins: FloatArray, multipliers: FloatArray, rows: FloatArray
) -> MaxMarginResult:
    """Check the KKT conditions against a rounding tolerance and package the result."""
    dim, n = data.shape
    norm = float(np.linalg.norm(w))
    feasibility = float(max(0.0, np.max(1.0 - margins)))
    complementarity = float(np.max(multipliers * np.abs(margins - 1.0)) / np.sum(multipliers))
    stationarity = float(np.linalg.norm(w - rows.T @ multipliers)) / norm
    # Forming y_i wᵀx_i and Σλ_i y_i x_i rounds by about (d + n)·eps relative to
    # ‖x_i‖‖w‖ (margins are 1 at the active points); the NNLS active-set solve adds a
    # factor of the conditioning of the active rows, for which 100 leaves room.
    scale = float(np.max(np.linalg.norm(data, axis=0))) * norm
    tolerance = 100.0 * (dim + n) * EPS * max(1.0, scale)
    if tolerance >= 0.5:
        raise NotConverged(
            f"the margin is {1 / scale:.3g} of max ‖x_i‖, below what float64 resolves here (rounding "
            f"tolerance {tolerance:.3g} of the unit margin); cannot decide the max-margin direction."
        )
    if max(feasibility, complementarity, stationarity) > tolerance:
        raise NotConverged(
            f"max_margin KKT residuals (feasibility {feasibility:.3g}, complementarity "
            f"{complementarity:.3g}, stationarity {stationarity:.3g}) exceed {tolerance:.3g}; "
            "the margin may be below the numerical resolution."
        )
    return MaxMarginResult(
        w=w,
        direction=w / norm,
        margin=1.0 / norm,
        multipliers=multipliers,
        feasibility_residual=feasibility,
        complementarity_residual=complementarity,
        stationarity_residual=stationarity,
        tolerance=tolerance,
        solver=LDP_SOLVER,
    )
