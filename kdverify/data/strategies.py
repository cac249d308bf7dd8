"""Hypothesis strategies for writing properties of distillation, public and documented.

Every strategy takes keyword-only bounds, validates them, and shrinks toward small dimension,
few points and small integers, so that a failing example is readable and, with integer
coordinates, can be replayed in exact rational arithmetic.

>>> from hypothesis import given
>>> @given(data_sets(max_dim=3), teachers(dim=3))
... def test_something(data, w_star): ...
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, cast, overload

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from kdverify._util.validation import integer_range, positive_float, positive_int
from kdverify.data.base import Family
from kdverify.data.discrete import Discrete
from kdverify.data.parameters import discrete_parameters, gaussian_mixture_parameters
from kdverify.data.registry import FAMILIES, family_spec
from kdverify.errors import InvalidArgument

__all__ = [
    "data_sets",
    "deep_architectures",
    "discrete_distributions",
    "discrete_parameters",
    "families",
    "gaussian_mixture_parameters",
    "initialisations",
    "step_fractions",
    "teachers",
    "temperatures",
]

TEMPERATURES = (1.0, 2.0, 0.5, 4.0, 0.25, 1.5)
STEP_FRACTIONS = (1.0, 0.5, 1.5, 0.25, 1.9)


@cache  # strategies are immutable; building and validating one per draw cost a fifth of drawing
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
    min_rank: int = 1,
    max_rank: int | None = None,
    duplicates: bool = True,
    max_coordinate: int = 3,
    max_condition: float = 1e4,
) -> np.ndarray:
    """Training sets ``X`` of shape ``(d, n)`` with small integer coordinates and no zero column.

    The rank is drawn (between ``min_rank`` and ``max_rank``; ``max_rank < 0`` means ``d + max_rank``,
    e.g. ``-1`` for a set that does not span ``R^d``) by building ``X = A B`` from integer factors,
    so rank-deficient sets are as common as full-rank ones; with ``duplicates`` some columns are
    repeated (duplicates never lower the rank below ``min_rank``). Sets whose nonzero singular
    values spread by more than ``max_condition`` are filtered out (keep it moderate when a check
    runs gradient descent: THEORY.md §6).

    >>> from hypothesis import find
    >>> find(data_sets(dim=3, max_size=4), lambda data: True).shape  # the simplest data set: one point
    (3, 1)

    Shrinks toward ``d = min_dim``, ``n = min_size``, rank ``min_rank`` and coordinates near 0.
    """
    if dim is not None:
        min_dim = max_dim = positive_int("dim", dim)
    min_dim, max_dim = integer_range("dim", min_dim, max_dim, floor=1)
    min_size, max_size = integer_range("size", min_size, max_size, floor=1)
    max_coordinate = positive_int("max_coordinate", max_coordinate)
    max_condition = positive_float("max_condition", max_condition)
    min_rank = positive_int("min_rank", min_rank)
    if max_rank is not None and not isinstance(max_rank, int):
        raise InvalidArgument(f"max_rank={max_rank!r} must be an integer or None.")
    if max_rank is not None and max_rank < 0:
        min_dim = max(min_dim, min_rank - max_rank)  # room for a rank of at least min_rank
    min_size = max(min_size, min_rank)
    if min_dim > max_dim or min_size > max_size or (max_rank is not None and 0 <= max_rank < min_rank):
        raise InvalidArgument(
            f"Cannot draw a rank of at least min_rank={min_rank} with max_dim={max_dim}, max_size={max_size} "
            f"and max_rank={max_rank}."
        )
    d = draw(st.integers(min_dim, max_dim))
    n = draw(st.integers(min_size, max_size))
    rank_cap = min(d, n) if max_rank is None else min(d, n, max_rank if max_rank >= 0 else d + max_rank)
    rank = draw(st.integers(min_rank, rank_cap))
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
    assume(len(positive) >= min_rank and positive[0] / positive[-1] <= max_condition)
    return data


def teachers(*, dim: int, max_coordinate: int = 3) -> st.SearchStrategy[np.ndarray]:
    """Nonzero teacher vectors ``w*`` with small integer coordinates; shrinks toward ``e_i``."""
    return _integer_vectors(positive_int("dim", dim), positive_int("max_coordinate", max_coordinate), nonzero=True)


@overload
def initialisations(*, dim: int, max_coordinate: int = 3, zero: Literal[False]) -> st.SearchStrategy[np.ndarray]: ...
@overload
def initialisations(
    *, dim: int, max_coordinate: int = 3, zero: bool = True
) -> st.SearchStrategy[np.ndarray | None]: ...
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
    min_depth, max_depth = integer_range("depth", min_depth, max_depth, floor=2)
    max_width = positive_int("max_width", max_width)
    depth = draw(st.integers(min_depth, max_depth))
    return {
        "depth": depth,
        "widths": draw(st.lists(st.integers(1, max_width), min_size=depth - 1, max_size=depth - 1)),
        "init_scale": draw(st.sampled_from((0.1, 0.01, 0.5))),
        "balanced": draw(st.booleans()),
    }


def families(family: str | None = None) -> st.SearchStrategy[Family]:
    """Family objects: of ``family``, or of any family when ``None`` (shrinking toward isotropic),
    drawn from each family's :attr:`~kdverify.data.registry.FamilySpec.parameters`."""
    specs = st.just(family_spec(family)) if family is not None else st.sampled_from(tuple(FAMILIES.values()))
    return specs.flatmap(lambda spec: spec.parameters.map(spec.from_json))


def discrete_distributions(**bounds: int) -> st.SearchStrategy[Discrete]:
    """Exact discrete distributions with small integer points and integer weights (the bounds of
    :func:`discrete_parameters`): counterexamples come out exact and readable."""
    spec = family_spec("discrete")
    return discrete_parameters(**bounds).map(lambda params: cast(Discrete, spec.from_json(params)))
