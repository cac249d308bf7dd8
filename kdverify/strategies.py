"""Hypothesis strategies for writing properties of distillation, public and documented.

Every strategy takes keyword-only bounds, validates them, and shrinks toward small dimension,
few points and small integers, so that a failing example is readable and, with integer
coordinates, can be replayed in exact rational arithmetic.

>>> from hypothesis import given
>>> @given(data_sets(max_dim=3), teachers(dim=3))
... def test_something(data, w_star): ...
"""

from __future__ import annotations

import json
from fractions import Fraction
from functools import cache, lru_cache
from typing import Any, Literal, cast, overload

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from kdverify._validation import positive_float, positive_int
from kdverify.distributions import FAMILIES, Discrete, Family, from_params
from kdverify.errors import InvalidArgument

__all__ = [
    "FAMILY_NAMES",
    "data_sets",
    "deep_architectures",
    "discrete_distributions",
    "discrete_parameters",
    "families",
    "family_parameters",
    "gaussian_mixture_parameters",
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
    min_dim, max_dim = _check_range("dim", min_dim, max_dim, floor=1)
    min_size, max_size = _check_range("size", min_size, max_size, floor=1)
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
    min_depth, max_depth = _check_range("depth", min_depth, max_depth, floor=2)
    max_width = positive_int("max_width", max_width)
    depth = draw(st.integers(min_depth, max_depth))
    return {
        "depth": depth,
        "widths": draw(st.lists(st.integers(1, max_width), min_size=depth - 1, max_size=depth - 1)),
        "init_scale": draw(st.sampled_from((0.1, 0.01, 0.5))),
        "balanced": draw(st.booleans()),
    }


# ----------------------------------------------------------------------------------------------
# Data families: their parameters as plain JSON values (so instances store and replay them), and
# the family objects built from those parameters.

FAMILY_NAMES = tuple(FAMILIES)
BETA_SHAPES = (1.0, 2.0, 0.5, 3.0)
# Covariance scales s_k of gaussian-mixture components, exact binary fractions. 0.5 comes first
# (shrinking goes there): integer means 1 apart are then clusters 2 standard deviations apart; the
# tighter 0.25 is drawn but not the target, as near-duplicate points make ill-conditioned data.
COVARIANCE_SCALES = (0.5, 0.25, 1.0, 2.0)


def _small_int_list(dim: int, bound: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(-bound, bound), min_size=dim, max_size=dim).filter(any)


@st.composite
def discrete_parameters(
    draw: st.DrawFn, *, max_dim: int = 3, max_support: int = 5, max_coordinate: int = 3, max_weight: int = 4
) -> dict[str, Any]:
    """JSON parameters of a discrete distribution: ``points`` (a list of points, each a list of
    small integer coordinates, none on the teacher's boundary), ``weights`` (exact rational
    strings from integer weights) and an integer teacher ``w_star``. Dimension and support are at
    least 2 (with one of either every student is exact); shrinks toward both being 2."""
    _, max_dim = _check_range("dim", 2, max_dim, floor=2)
    _, max_support = _check_range("support", 2, max_support, floor=2)
    max_coordinate, max_weight = positive_int("max_coordinate", max_coordinate), positive_int("max_weight", max_weight)
    dim = draw(st.integers(2, max_dim))
    w_star = draw(_small_int_list(dim, min(2, max_coordinate)))
    off_boundary = _small_int_list(dim, max_coordinate).filter(
        lambda point: sum(x * y for x, y in zip(point, w_star, strict=True)) != 0
    )
    points = draw(st.lists(off_boundary, min_size=2, max_size=max_support, unique_by=tuple))
    raw = draw(st.lists(st.integers(1, max_weight), min_size=len(points), max_size=len(points)))
    return {"points": points, "weights": _exact_weights(raw), "w_star": w_star}


def _exact_weights(raw: list[int]) -> list[str]:
    """Positive integer weights normalised exactly, as rational strings summing to 1."""
    return [str(Fraction(value, sum(raw))) for value in raw]


@st.composite
def gaussian_mixture_parameters(
    draw: st.DrawFn,
    *,
    max_components: int = 4,
    max_dim: int = 4,
    max_coordinate: int = 3,
    max_factors: int = 2,
    max_weight: int = 4,
) -> dict[str, Any]:
    """JSON parameters of the ``gaussian-mixture`` family
    (:class:`~kdverify.distributions.gaussian.FactoredGaussianMixture`): per component a ``means``
    row of small integers, a ``scales`` entry ``s_k`` from :data:`COVARIANCE_SCALES` and up to
    ``max_factors`` nonzero integer ``factors`` vectors (``Σ_k = s_k² I + Σ_v v vᵀ``; ``d − 1``
    vectors give every covariance shape up to ``d = 3``), exact ``weights`` from integers, and an
    integer ``w_star``. Components are a list, so shrinking deletes whole components.

    Shrinks toward one component in the plane, ``N(0, I/4)`` with a basis vector ``w*``, then small integer
    means, no factors. One component is not pointless: a non-centred ``N(μ, Σ)`` is already outside
    the centred ``anisotropic`` and symmetric ``mixture`` families."""
    _, max_components = _check_range("components", 1, max_components, floor=1)
    _, max_dim = _check_range("dim", 2, max_dim, floor=2)
    max_coordinate, max_weight = positive_int("max_coordinate", max_coordinate), positive_int("max_weight", max_weight)
    max_factors = positive_int("max_factors", max_factors, min_value=0)
    dim = draw(st.integers(2, max_dim))
    component = st.tuples(
        st.lists(st.integers(-max_coordinate, max_coordinate), min_size=dim, max_size=dim),
        st.sampled_from(COVARIANCE_SCALES),
        st.lists(_small_int_list(dim, 2), max_size=max_factors),
        st.integers(1, max_weight),
    )
    means, scales, factors, raw = zip(*draw(st.lists(component, min_size=1, max_size=max_components)), strict=True)
    return {
        "means": list(means),
        "scales": list(scales),
        "factors": list(factors),
        "weights": _exact_weights(list(raw)),
        "w_star": draw(_small_int_list(dim, 2)),
    }


@cache
def family_parameters(family: str) -> st.SearchStrategy[dict[str, Any]]:
    """JSON parameters of ``family`` (one of :data:`FAMILY_NAMES`), shrinking toward low dimension;
    :func:`build_family` turns them into the family object. One strategy object per family
    (strategies are immutable): instance strategies call this at every draw, and a new object
    would be built and validated by hypothesis every time."""
    dims = st.integers(2, 6)
    strategies: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "isotropic": st.fixed_dictionaries({"dim": dims, "radius": st.sampled_from(("gaussian", "sphere"))}),
        "anisotropic": st.integers(2, 5).flatmap(
            lambda dim: st.fixed_dictionaries(
                {
                    "dim": st.just(dim),
                    "condition": st.sampled_from((4.0, 1.0, 16.0, 100.0)),
                    "w_star": _small_int_list(dim, 2),
                }
            )
        ),
        "beta-polarised": st.fixed_dictionaries(
            {"dim": dims, "a": st.sampled_from(BETA_SHAPES), "b": st.sampled_from(BETA_SHAPES)}
        ),
        "margin": st.fixed_dictionaries({"dim": dims, "margin": st.sampled_from((0.3, 0.1, 0.6))}),
        "discrete": discrete_parameters(),
        "mixture": st.fixed_dictionaries(
            {
                "dim": st.integers(2, 4),
                "separation": st.sampled_from((2.0, 0.0, 1.0, 4.0)),
                "tilt": st.sampled_from((0.5, 0.0, 1.2)),
                "weight": st.sampled_from((0.5, 0.25)),
            }
        ),
        "gaussian-mixture": gaussian_mixture_parameters(),
        "digits": st.fixed_dictionaries({"pair": st.sampled_from(([0, 1], [3, 8], [1, 7]))}),
        "mnist": st.just({"pair": [0, 1]}),  # 1000 images, d = 497: one pair keeps one teacher fit per run
        "breast-cancer": st.just({}),
    }
    if family not in strategies:
        raise InvalidArgument(f"family {family!r} is unknown; the families are {', '.join(FAMILY_NAMES)}.")
    return strategies[family]


def build_family(family: str, params: dict[str, Any]) -> Family:
    """The family object of ``family`` with the JSON ``params`` of :func:`family_parameters`
    (discrete ``points`` are a list of points, as :class:`~kdverify.distributions.Discrete` takes
    them). Cached on the parameters: families are immutable, and
    the real data sets load once."""
    return _build_family(family, json.dumps(params, sort_keys=True))


@lru_cache(maxsize=128)
def _build_family(family: str, key: str) -> Family:
    params = json.loads(key)
    return _discrete_of(params) if family == "discrete" else from_params(family, **params)


def families(family: str | None = None) -> st.SearchStrategy[Family]:
    """Family objects: of ``family``, or of any family when ``None`` (shrinking toward isotropic)."""
    if family is not None:
        family_parameters(family)  # an unknown name fails here, not at the first draw
    names = st.just(family) if family is not None else st.sampled_from(FAMILY_NAMES)
    return names.flatmap(lambda name: family_parameters(name).map(lambda params: build_family(name, params)))


def discrete_distributions(**bounds: int) -> st.SearchStrategy[Discrete]:
    """Exact discrete distributions with small integer points and integer weights (the bounds of
    :func:`discrete_parameters`): counterexamples come out exact and readable."""
    return discrete_parameters(**bounds).map(_discrete_of)


def _discrete_of(params: dict[str, Any]) -> Discrete:
    """The discrete family of :func:`discrete_parameters` (weights and ``w_star`` default as in
    :func:`~kdverify.distributions.from_params`)."""
    points = params.get("points")
    if (
        not (isinstance(points, list) and points and all(isinstance(p, list) for p in points))
        or len({len(p) for p in points}) != 1
    ):
        raise InvalidArgument(
            f"discrete points={points!r} must be a nonempty list of points, each a list of as many coordinates."
        )
    return cast(Discrete, from_params("discrete", **params))
