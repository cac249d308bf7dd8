"""Small argument checks whose messages repeat ``name=value``, state the rule and hint at a fix."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kdverify.errors import InvalidArgument

FloatArray = NDArray[np.float64]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_real_array(name: str, value: ArrayLike) -> FloatArray:
    """``value`` as a float64 array of any shape and values, refusing what NumPy would convert
    silently or wrongly: complex numbers (the imaginary part would be dropped), strings, and
    ``None`` (which would become NaN)."""
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{name}={_short(value)} is not a numeric array ({exc}).") from None
    kind = raw.dtype.kind
    if kind == "O":
        entries = raw.reshape(-1)
        for index, entry in enumerate(entries):
            if not isinstance(entry, numbers.Real):
                where = tuple(int(i) for i in np.unravel_index(index, raw.shape))
                raise InvalidArgument(
                    f"{name} has the entry {_short(entry)} at index {where}; entries must be real numbers."
                )
        try:
            return np.array([float(entry) for entry in entries], dtype=np.float64).reshape(raw.shape)
        except OverflowError:
            raise InvalidArgument(f"{name} has an entry beyond the float64 range (about 1.8e308).") from None
    if kind == "c":
        raise InvalidArgument(f"{name}={_short(value)} is complex; kdverify works with real numbers only.")
    if kind not in "biuf":
        raise InvalidArgument(f"{name}={_short(value)} is not a numeric array (dtype {raw.dtype}).")
    return np.asarray(raw, dtype=np.float64)


def as_float_array(name: str, value: ArrayLike, *, ndim: int | tuple[int, ...]) -> FloatArray:
    """Return ``value`` as a finite float64 array of the given number of dimensions."""
    array = as_real_array(name, value)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in allowed:
        raise InvalidArgument(
            f"{name} has shape {array.shape}, but must have {' or '.join(map(str, allowed))} "
            "dimension(s)."
        )
    if array.size == 0:
        raise InvalidArgument(f"{name} is empty (shape {array.shape}); it needs at least one entry.")
    return check_finite(name, array)


def check_finite(name: str, array: FloatArray) -> FloatArray:
    """Return ``array`` if all its entries are finite; else name the first NaN or inf."""
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


def real_number(name: str, value: float) -> float:
    """Return ``value`` (an int, float or other real number, not a bool) as a float."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InvalidArgument(f"{name}={_short(value)} is not a number.")
    return float(value)


def positive_float(name: str, value: float) -> float:
    """Return ``value`` as a finite float that is strictly positive."""
    number = real_number(name, value)
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


def integer_range(name: str, low: int, high: int, *, floor: int) -> tuple[int, int]:
    """``(min_<name>, max_<name>)`` checked: integers at least ``floor``, and ``low <= high``."""
    low, high = positive_int(f"min_{name}", low, min_value=floor), positive_int(f"max_{name}", high, min_value=floor)
    if high < low:
        raise InvalidArgument(f"Cannot have max_{name}={high} < min_{name}={low}.")
    return low, high


def probability(name: str, value: float, *, open_interval: bool = True) -> float:
    """Return ``value`` as a float in (0, 1) (or [0, 1] when not ``open_interval``)."""
    number = real_number(name, value)
    low_ok = number > 0 if open_interval else number >= 0
    high_ok = number < 1 if open_interval else number <= 1
    if not (math.isfinite(number) and low_ok and high_ok):
        bounds = "(0, 1)" if open_interval else "[0, 1]"
        raise InvalidArgument(f"{name}={_short(value)} must lie in {bounds}.")
    return number


def unit_scaled(array: ArrayLike, axis: int = -1) -> FloatArray:
    """``array`` divided, along ``axis``, by the power of two nearest above its largest entry in
    absolute value (zero slices stay zero). Exact, and it changes no direction, sign or angle,
    so norms and products of the result neither overflow nor underflow whatever the data scale."""
    array = np.asarray(array, dtype=np.float64)
    _, exponent = np.frexp(np.max(np.abs(array), axis=axis, keepdims=True))
    return np.ldexp(array, -exponent)


def teacher_signs(data: FloatArray, w_star: FloatArray) -> FloatArray:
    """``sign(w*ᵀx)`` of every column, computed on unit-scaled vectors so that no product
    underflows to a false zero (or overflows) at extreme data scales."""
    return np.sign(np.einsum("d,...dn->...n", unit_scaled(w_star), unit_scaled(data, axis=-2)))


def check_no_boundary_points(name: str, data: FloatArray, w_star: FloatArray) -> None:
    """Reject points that lie on the teacher's decision boundary (``w*ᵀx = 0``)."""
    on_boundary = np.argwhere(teacher_signs(data, w_star) == 0)
    if on_boundary.size:
        raise InvalidArgument(
            f"{name} has a point on the teacher's boundary (w*ᵀx = 0) at column "
            f"{tuple(int(i) for i in on_boundary[0])}; the theory requires P[w*ᵀx = 0] = 0."
        )


def as_generator(name: str, value: Any) -> np.random.Generator:
    """Return ``value`` if it is a ``numpy.random.Generator``: kdverify draws random numbers only
    from a generator its caller seeded."""
    if not isinstance(value, np.random.Generator):
        raise InvalidArgument(
            f"{name}={_short(value)} is not a numpy.random.Generator; pass np.random.default_rng(seed)."
        )
    return value
