"""The paper's risk bound ``min_θ [p(θ) + p(π/2 − θ)^n]`` and the per-dataset bound."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from kdverify._util.numerics import HALF_PI
from kdverify._util.validation import FloatArray, as_real_array, positive_int
from kdverify.errors import InvalidArgument

__all__ = ["BoundValue", "risk_bound"]

MAX_GRID_SIZE = 1_000_001
MAX_ZOOMS = 64
GeometryFunction = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True)
class BoundValue:
    """``B_n(θ) = p(θ) + p(π/2 − θ)^n`` at its minimiser ``theta``."""

    value: float
    theta: float
    n: int


def _geometry_values(p: GeometryFunction, theta: FloatArray) -> FloatArray:
    """``p(θ)`` for a grid of angles, checked: one value in ``[0, 1]`` per angle."""
    values = as_real_array("p(θ)", p(theta))
    if values.shape != theta.shape:
        raise InvalidArgument(
            f"p returned shape {values.shape} for angles of shape {theta.shape}; p must be vectorised "
            "(one value per angle)."
        )
    bad = np.flatnonzero(~((values >= 0) & (values <= 1)))
    if bad.size:
        i = int(bad[0])
        raise InvalidArgument(
            f"p(θ={float(theta[i])!r}) = {float(values[i])!r}, but a geometry function takes values in [0, 1]."
        )
    return values


def _objective(p: GeometryFunction, n: int) -> Callable[[FloatArray], FloatArray]:
    def bound_at(theta: FloatArray) -> FloatArray:
        theta = np.clip(np.asarray(theta, dtype=np.float64), 0.0, HALF_PI)
        # One call of p for both angles: p by quadrature pays per call, not per angle.
        both = _geometry_values(p, np.concatenate([theta, HALF_PI - theta]))
        return both[: theta.size] + both[theta.size :] ** n

    return bound_at


def _breakpoints(value: ArrayLike) -> FloatArray:
    """Jump points of a step function ``p``: finite angles in ``[0, π/2]`` (possibly none)."""
    jumps = as_real_array("breakpoints", value).ravel()
    bad = jumps[~((jumps >= 0) & (jumps <= HALF_PI))]
    if bad.size:
        raise InvalidArgument(f"breakpoints has the entry {float(bad[0])!r}; jump points are angles in [0, π/2].")
    return jumps


def risk_bound(
    p: GeometryFunction,
    n: int,
    *,
    breakpoints: ArrayLike | None = None,
    grid_size: int = 65,
    zooms: int = 5,
    zoom_size: int | None = None,
) -> BoundValue:
    """Minimise ``B_n(θ) = p(θ) + p(π/2 − θ)^n`` over ``θ ∈ [0, π/2]``.

    ``p`` is vectorised. A step-function ``p`` (discrete or real data) passes its jump points
    as ``breakpoints`` (the boundary angles ``γ_j``): then ``B_n`` is constant between the points
    ``{γ_j} ∪ {π/2 − γ_j} ∪ {0, π/2}``, and evaluating it at those points and the midpoints of
    the gaps gives the exact minimum. Otherwise ``B_n`` is evaluated on a grid, then ``zooms``
    times on a grid of ``zoom_size`` points (default ``grid_size``) over the two cells around the
    best point so far (each zoom shrinks the cell by ``(zoom_size − 1)/2``; a small ``zoom_size``
    spends few evaluations per zoom); every evaluation is one vectorised call of ``p``,
    which matters when ``p`` is a quadrature. Any ``θ`` gives a valid bound, so zooming only
    tightens it, and a kink of ``B_n`` cannot mislead it the way a smooth minimiser can be.
    """
    if not callable(p):
        raise InvalidArgument(f"p={p!r} must be a vectorised function θ ↦ p(θ), such as family.p.")
    n = positive_int("n", n)
    grid_size = positive_int("grid_size", grid_size, min_value=2)
    zooms = positive_int("zooms", zooms, min_value=0)
    zoom_size = grid_size if zoom_size is None else positive_int("zoom_size", zoom_size, min_value=3)
    if max(grid_size, zoom_size) > MAX_GRID_SIZE or zooms > MAX_ZOOMS:
        raise InvalidArgument(
            f"grid_size={grid_size}, zoom_size={zoom_size} and zooms={zooms} must be at most {MAX_GRID_SIZE} "
            f"and {MAX_ZOOMS}: "
            "beyond that the grid only costs time (each zoom already shrinks the cell (grid_size − 1)/2-fold)."
        )
    bound_at = _objective(p, n)
    if breakpoints is not None:
        jumps = _breakpoints(breakpoints)
        critical = np.unique(np.concatenate([[0.0, HALF_PI], jumps, HALF_PI - jumps]))
        critical = critical[(critical >= 0) & (critical <= HALF_PI)]
        candidates = np.concatenate([critical, (critical[:-1] + critical[1:]) / 2])
        values = bound_at(candidates)
        best = int(np.argmin(values))
        return BoundValue(float(values[best]), float(candidates[best]), n)
    low, high = 0.0, HALF_PI
    best_theta, best_value = 0.0, np.inf
    for zoom in range(zooms + 1):
        grid = np.linspace(low, high, zoom_size if zoom else grid_size)
        values = bound_at(grid)
        index = int(np.argmin(values))
        if values[index] < best_value:
            best_theta, best_value = float(grid[index]), float(values[index])
        step = grid[1] - grid[0]
        low, high = max(0.0, best_theta - step), min(HALF_PI, best_theta + step)
    return BoundValue(best_value, best_theta, n)
