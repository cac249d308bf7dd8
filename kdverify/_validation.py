"""Small argument checks whose messages repeat ``name=value``, state the rule and hint at a fix."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kdverify.errors import InvalidArgument

FloatArray = NDArray[np.float64]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_float_array(name: str, value: ArrayLike, *, ndim: int | tuple[int, ...]) -> FloatArray:
    """Return ``value`` as a finite float64 array of the given number of dimensions."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{name}={_short(value)} is not a numeric array ({exc}).") from None
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in allowed:
        raise InvalidArgument(
            f"{name} has shape {array.shape}, but must have {' or '.join(map(str, allowed))} "
            "dimension(s)."
        )
    if array.size == 0:
        raise InvalidArgument(f"{name} is empty (shape {array.shape}); it needs at least one entry.")
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise InvalidArgument(
            f"{name} has a non-finite entry {array[tuple(bad)]} at index {tuple(int(i) for i in bad)}; "
            "NaN and inf are not allowed."
        )
    return array


def as_vector(name: str, value: ArrayLike, *, dim: int | None = None) -> FloatArray:
    """Return ``value`` as a finite 1-D float64 vector, of length ``dim`` when given."""
    vector = as_float_array(name, value, ndim=1)
    if dim is not None and vector.shape[0] != dim:
        raise InvalidArgument(f"{name} has length {vector.shape[0]}, but the data have dimension {dim}.")
    return vector


def as_data(name: str, value: ArrayLike, *, dim: int | None = None, batched: bool = False) -> FloatArray:
    """Return a data matrix ``X`` of shape ``(d, n)`` (or ``(B, d, n)`` when ``batched``)."""
    data = as_float_array(name, value, ndim=(2, 3) if batched else 2)
    if dim is not None and data.shape[-2] != dim:
        raise InvalidArgument(
            f"{name} has shape {data.shape}: points are columns, so it needs {dim} rows, "
            f"not {data.shape[-2]}."
        )
    return data


def as_teacher_vector(name: str, value: ArrayLike, *, dim: int | None = None) -> FloatArray:
    """Return a nonzero teacher weight vector."""
    vector = as_vector(name, value, dim=dim)
    if not np.any(vector):
        raise InvalidArgument(f"{name} is the zero vector; the teacher w* must be nonzero.")
    return vector


def positive_float(name: str, value: float) -> float:
    """Return ``value`` as a finite float that is strictly positive."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{name}={_short(value)} is not a number.") from None
    if not math.isfinite(number) or number <= 0:
        raise InvalidArgument(f"{name}={_short(value)} must be a finite number > 0.")
    return number


def positive_int(name: str, value: int, *, min_value: int = 1) -> int:
    """Return ``value`` as an int that is at least ``min_value``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{name}={_short(value)} must be an integer >= {min_value}.")
    if value < min_value:
        raise InvalidArgument(f"{name}={value} must be >= {min_value}.")
    return int(value)


def probability(name: str, value: float, *, open_interval: bool = True) -> float:
    """Return ``value`` as a float in (0, 1) (or [0, 1] when not ``open_interval``)."""
    number = positive_float(name, value) if open_interval else float(value)
    low_ok = number > 0 if open_interval else number >= 0
    high_ok = number < 1 if open_interval else number <= 1
    if not (math.isfinite(number) and low_ok and high_ok):
        bounds = "(0, 1)" if open_interval else "[0, 1]"
        raise InvalidArgument(f"{name}={_short(value)} must lie in {bounds}.")
    return number


def check_no_boundary_points(name: str, data: FloatArray, w_star: FloatArray) -> None:
    """Reject points that lie on the teacher's decision boundary (``w*ᵀx = 0``)."""
    logits = np.einsum("d,...dn->...n", w_star, data)
    on_boundary = np.argwhere(logits == 0)
    if on_boundary.size:
        raise InvalidArgument(
            f"{name} has a point on the teacher's boundary (w*ᵀx = 0) at column "
            f"{tuple(int(i) for i in on_boundary[0])}; the theory requires P[w*ᵀx = 0] = 0."
        )
