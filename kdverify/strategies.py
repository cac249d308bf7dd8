"""Hypothesis strategies for writing properties of distillation, public and documented.

Every strategy takes keyword-only bounds, validates them, and shrinks toward small dimension,
few points and small integers, so that a failing example is readable and, with integer
coordinates, can be replayed in exact rational arithmetic.

>>> from hypothesis import given
>>> @given(data_sets(max_dim=3), teachers(dim=3))
... def test_something(data, w_star): ...
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from kdverify._validation import positive_float, positive_int
from kdverify.errors import InvalidArgument

__all__ = [
    "data_sets",
    "deep_architectures",
    "initialisations",
    "step_fractions",
    "teachers",
    "temperatures",
]

TEMPERATURES = (1.0, 2.0, 0.5, 4.0, 0.25, 1.5)
STEP_FRACTIONS = (1.0, 0.5, 1.5, 0.25, 1.9)


def _check_range(name: str, low: int, high: int, *, floor: int) -> tuple[int, int]:
    low, high = positive_int(f"min_{name}", low, min_value=floor), positive_int(f"max_{name}", high, min_value=floor)
    if high < low:
        raise InvalidArgument(f"Cannot have max_{name}={high} < min_{name}={low}.")
    return low, high


def _integer_vectors(dim: int, max_coordinate: int, *, nonzero: bool) -> st.SearchStrategy[np.ndarray]:
    coordinates = st.lists(st.integers(-max_coordinate, max_coordinate), min_size=dim, max_size=dim)
    vectors = coordinates.map(lambda values: np.array(values, dtype=np.float64))
    return vectors.filter(lambda v: bool(np.any(v))) if nonzero else vectors


@st.composite
def data_sets(
    draw: st.DrawFn,
    *,
    dim: int | None = None,
    min_dim: int = 1,
    max_dim: int = 5,
    min_size: int = 1,
    max_size: int = 6,
    max_rank: int | None = None,
    duplicates: bool = True,
    max_coordinate: int = 3,
    max_condition: float = 1e4,
) -> np.ndarray:
    """Training sets ``X`` of shape ``(d, n)`` with small integer coordinates and no zero column.

    The rank is drawn (at most ``max_rank``) by building ``X = A B`` from integer factors, so
    rank-deficient sets are as common as full-rank ones; with ``duplicates`` some columns are
    repeated. Sets whose nonzero singular values spread by more than ``max_condition`` are
    filtered out (keep it moderate when a check runs gradient descent: THEORY.md §6).

    >>> data_sets(dim=3, max_size=4).example().shape[0]
    3

    Shrinks toward ``d = min_dim``, ``n = min_size``, rank 1 and coordinates near 0.
    """
    if dim is not None:
        min_dim = max_dim = positive_int("dim", dim)
    min_dim, max_dim = _check_range("dim", min_dim, max_dim, floor=1)
    min_size, max_size = _check_range("size", min_size, max_size, floor=1)
    max_coordinate = positive_int("max_coordinate", max_coordinate)
    max_condition = positive_float("max_condition", max_condition)
    d = draw(st.integers(min_dim, max_dim))
    n = draw(st.integers(min_size, max_size))
    rank_cap = min(d, n) if max_rank is None else min(d, n, positive_int("max_rank", max_rank))
    rank = draw(st.integers(1, rank_cap))
    left = np.column_stack([draw(_integer_vectors(d, max_coordinate, nonzero=True)) for _ in range(rank)])
    right = np.column_stack([draw(_integer_vectors(rank, 2, nonzero=True)) for _ in range(n)])
    data = left @ right
    if duplicates and n > 1:
        copies = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=2))
        for source, target in copies:
            data[:, target] = data[:, source]
    assume(bool(np.all(np.any(data != 0, axis=0))))
    singular_values = np.linalg.svd(data, compute_uv=False)
    positive = singular_values[singular_values > max(data.shape) * np.finfo(float).eps * singular_values[0]]
    assume(positive[0] / positive[-1] <= max_condition)
    return data


def teachers(*, dim: int, max_coordinate: int = 3) -> st.SearchStrategy[np.ndarray]:
    """Nonzero teacher vectors ``w*`` with small integer coordinates; shrinks toward ``e_i``."""
    return _integer_vectors(positive_int("dim", dim), positive_int("max_coordinate", max_coordinate), nonzero=True)


def initialisations(*, dim: int, max_coordinate: int = 3, zero: bool = True) -> st.SearchStrategy[np.ndarray | None]:
    """Initial students ``w_0``: ``None`` (meaning 0, when ``zero``) or a nonzero integer vector."""
    vectors = _integer_vectors(positive_int("dim", dim), positive_int("max_coordinate", max_coordinate), nonzero=True)
    return st.one_of(st.none(), vectors) if zero else vectors


def temperatures() -> st.SearchStrategy[float]:
    """Temperatures ``T`` from a few exact binary fractions around 1; shrinks toward ``T = 1``."""
    return st.sampled_from(TEMPERATURES)


def step_fractions() -> st.SearchStrategy[float]:
    """Step sizes as multiples of ``1/L_max`` in ``(0, 2)`` — every one is safe; shrinks toward 1."""
    return st.sampled_from(STEP_FRACTIONS)


@st.composite
def deep_architectures(
    draw: st.DrawFn, *, min_depth: int = 2, max_depth: int = 3, max_width: int = 4
) -> dict[str, Any]:
    """Deep linear students: ``{"depth", "widths", "init_scale", "balanced"}`` where ``widths``
    are the hidden widths ``h_1 … h_{N−1}``; shrinks toward depth 2, width 1, unbalanced."""
    min_depth, max_depth = _check_range("depth", min_depth, max_depth, floor=2)
    max_width = positive_int("max_width", max_width)
    depth = draw(st.integers(min_depth, max_depth))
    return {
        "depth": depth,
        "widths": draw(st.lists(st.integers(1, max_width), min_size=depth - 1, max_size=depth - 1)),
        "init_scale": draw(st.sampled_from((0.1, 0.01, 0.5))),
        "balanced": draw(st.booleans()),
    }


def fraction_weights(raw: list[int]) -> list[Fraction]:
    """Positive integers normalised to exact rational weights summing to 1."""
    total = sum(raw)
    return [Fraction(value, total) for value in raw]
