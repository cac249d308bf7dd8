"""The hard-label student: gradient descent on the logistic loss of 0/1 labels, and its limit
direction, the hard-margin (max-margin) separator through the origin.

On separable data the hard-label loss has no minimiser: ``‖w_k‖ → ∞`` while ``w_k/‖w_k‖`` tends
to the max-margin direction at the slow rate ``O(1/log k)`` (Soudry et al., 2018). So gradient
descent runs a fixed budget of iterations, and the limit direction is computed exactly and
separately by :func:`max_margin`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import nnls

from kdverify._validation import FloatArray, as_data, as_float_array
from kdverify.errors import InvalidArgument, NotConverged
from kdverify.solvers._common import EPS, prepare, resolve_step
from kdverify.solvers.descent import DescentResult, descend
from kdverify.teacher import Teacher

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
        raise InvalidArgument(f"teacher={teacher!r} must be a kdverify.teacher.Teacher.")
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
    Hanson, ch. 23): with ``r = Eu − f``, ``w = −r_{1:d}/r_{d+1}`` and ``λ = u/(−r_{d+1})``.
    ``r = 0`` means no separator exists. Raises :class:`InvalidArgument` for non-separable data
    and :class:`NotConverged` if the KKT residuals exceed the rounding tolerance.

    >>> result = max_margin([[1.0, 1.0, 0.0], [1.0, -1.0, 3.0]], [1, -1, 1])
    >>> np.round(result.w, 12).tolist(), np.round(result.multipliers, 12).tolist()
    ([0.0, 1.0], [0.5, 0.5, 0.0])
    """
    data = as_data("data", data)
    signs = as_float_array("labels", labels, ndim=1)
    dim, n = data.shape
    if signs.shape != (n,) or not np.all(np.abs(signs) == 1):
        raise InvalidArgument(
            f"labels (shape {signs.shape}) must hold {n} values in {{−1, +1}} (use 2·hard_labels − 1)."
        )
    rows = (data * signs).T
    system = np.vstack([rows.T, np.ones((1, n))])
    target = np.zeros(dim + 1)
    target[-1] = 1.0
    u, _ = nnls(system, target)
    residual = system @ u - target
    gap = -residual[-1]
    if not gap > 0:
        raise _not_separable(n)
    w = residual[:dim] / gap
    margins = rows @ w
    multipliers = u / gap
    if not np.min(margins) > 0:
        raise _not_separable(n)
    return _certify(data, w, margins, multipliers, rows)


def _certify(
    data: FloatArray, w: FloatArray, margins: FloatArray, multipliers: FloatArray, rows: FloatArray
) -> MaxMarginResult:
    """Check the KKT conditions against a rounding tolerance and package the result."""
    dim, n = data.shape
    norm = float(np.linalg.norm(w))
    feasibility = float(max(0.0, np.max(1.0 - margins)))
    complementarity = float(np.max(multipliers * np.abs(margins - 1.0)) / max(np.sum(multipliers), EPS))
    stationarity = float(np.linalg.norm(w - rows.T @ multipliers)) / norm
    # Forming y_i wᵀx_i and Σλ_i y_i x_i rounds by about (d + n)·eps relative to
    # ‖x_i‖‖w‖ (margins are 1 at the active points); the NNLS active-set solve adds a
    # factor of the conditioning of the active rows, for which 100 leaves room.
    scale = float(np.max(np.linalg.norm(data, axis=0))) * norm
    tolerance = 100.0 * (dim + n) * EPS * max(1.0, scale)
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


def _not_separable(n: int) -> InvalidArgument:
    return InvalidArgument(
        f"data with these labels are not linearly separable through the origin (no w with "
        f"y_i wᵀx_i > 0 for all {n} points), so the hard-margin problem has no solution."
    )
