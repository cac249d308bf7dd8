"""Radius laws of the rotation-invariant families and their standard normalisation (THEORY.md §6).

A point is ``x = c·r·u`` with ``u`` a unit direction and ``r`` either ``‖z‖`` for a standard
normal ``z ∈ R^d`` (``radius="gaussian"``: with isotropic ``u`` this is ``N(0, c²I_d)``) or 1
(``radius="sphere"``). With ``scale = s`` the factor ``c`` makes the teacher logit ``w*ᵀx`` have
standard deviation ``s``; ``scale=None`` keeps ``c = 1``.
"""

from __future__ import annotations

import math

import numpy as np

from kdverify._util.validation import FloatArray, positive_float
from kdverify.errors import InvalidArgument

__all__ = ["RADIUS_LAWS", "check_radius", "radial_factor", "radii"]

RADIUS_LAWS = ("gaussian", "sphere")


def check_radius(radius: str) -> str:
    """``radius`` if it names a radius law."""
    if radius not in RADIUS_LAWS:
        raise InvalidArgument(f"radius={radius!r} must be one of {', '.join(RADIUS_LAWS)}.")
    return radius


def radial_factor(radius: str, scale: float | None, dim: int, w_norm: float, mean_cos2: float) -> float:
    """``c`` such that ``Var(w*ᵀx) = scale²`` given ``E[(u*ᵀu)²] = mean_cos2`` for the direction."""
    if scale is None:
        return 1.0
    second_moment = dim if radius == "gaussian" else 1  # E[r²]
    factor = positive_float("scale", scale) / (w_norm * math.sqrt(second_moment * mean_cos2))
    if not 0 < factor < math.inf:
        raise InvalidArgument(
            f"scale={scale!r} with ‖w*‖ = {w_norm:.3g} needs data of size {factor:.3g}, beyond float64; "
            "rescale w_star."
        )
    return factor


def radii(normals: FloatArray, radius: str) -> FloatArray:
    """Radii ``r`` for standard normal vectors along axis −2 (``(..., d, n)`` → ``(..., 1, n)``).

    For ``"gaussian"`` ``r = ‖z‖``, independent of the direction of ``z`` (and of the direction
    of any sub-vector of ``z``), so one draw of ``z`` gives both.
    """
    if radius == "gaussian":
        return np.linalg.norm(normals, axis=-2, keepdims=True)
    return np.ones((*normals.shape[:-2], 1, normals.shape[-1]))
