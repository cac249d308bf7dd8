"""The families' parameters as plain JSON values, drawn by hypothesis: instances store and replay
them, and :meth:`~kdverify.data.registry.FamilySpec.from_json` builds the family. Each family's
domain is declared on its :class:`~kdverify.data.registry.FamilySpec`; the two composite domains
live here. Everything shrinks toward low dimension and small integers."""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import Any

from hypothesis import strategies as st

from kdverify._util.validation import integer_range, positive_int

__all__ = ["BETA_SHAPES", "COVARIANCE_SCALES", "discrete_parameters", "gaussian_mixture_parameters", "small_int_list"]

BETA_SHAPES = (1.0, 2.0, 0.5, 3.0)
# Covariance scales s_k of gaussian-mixture components, exact binary fractions. 0.5 comes first
# (shrinking goes there): integer means 1 apart are then clusters 2 standard deviations apart; the
# tighter 0.25 is drawn but not the target, as near-duplicate points make ill-conditioned data.
COVARIANCE_SCALES = (0.5, 0.25, 1.0, 2.0)


@cache  # strategies are immutable: built and validated once, not at every draw
def small_int_list(dim: int, bound: int) -> st.SearchStrategy[list[int]]:
    """Lists of ``dim`` integers in ``[-bound, bound]``, not all zero."""
    return st.lists(st.integers(-bound, bound), min_size=dim, max_size=dim).filter(any)


@st.composite
def discrete_parameters(
    draw: st.DrawFn, *, max_dim: int = 3, max_support: int = 5, max_coordinate: int = 3, max_weight: int = 4
) -> dict[str, Any]:
    """JSON parameters of a discrete distribution: ``points`` (a list of points, each a list of
    small integer coordinates, none on the teacher's boundary), ``weights`` (exact rational
    strings from integer weights) and an integer teacher ``w_star``. Dimension and support are at
    least 2 (with one of either every student is exact); shrinks toward both being 2."""
    _, max_dim = integer_range("dim", 2, max_dim, floor=2)
    _, max_support = integer_range("support", 2, max_support, floor=2)
    max_coordinate, max_weight = positive_int("max_coordinate", max_coordinate), positive_int("max_weight", max_weight)
    dim = draw(st.integers(2, max_dim))
    w_star = draw(small_int_list(dim, min(2, max_coordinate)))
    points = draw(_support_points(tuple(w_star), max_coordinate, max_support))
    raw = draw(_integer_weights(len(points), max_weight))
    return {"points": points, "weights": _exact_weights(raw), "w_star": w_star}


@cache
def _support_points(w_star: tuple[int, ...], max_coordinate: int, max_support: int) -> st.SearchStrategy[list[Any]]:
    """Distinct integer points off the teacher's boundary ``w*ᵀa = 0``: one strategy per teacher
    (a filter built at every draw made hypothesis re-validate it and re-read the lambda's source)."""
    off_boundary = small_int_list(len(w_star), max_coordinate).filter(
        lambda point: sum(x * y for x, y in zip(point, w_star, strict=True)) != 0
    )
    return st.lists(off_boundary, min_size=2, max_size=max_support, unique_by=tuple)


@cache
def _integer_weights(count: int, max_weight: int) -> st.SearchStrategy[list[int]]:
    """``count`` integer weights in ``[1, max_weight]``."""
    return st.lists(st.integers(1, max_weight), min_size=count, max_size=count)


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
    (:class:`~kdverify.data.gaussian.FactoredGaussianMixture`): per component a ``means``
    row of small integers, a ``scales`` entry ``s_k`` from :data:`COVARIANCE_SCALES` and up to
    ``max_factors`` nonzero integer ``factors`` vectors (``Σ_k = s_k² I + Σ_v v vᵀ``; ``d − 1``
    vectors give every covariance shape up to ``d = 3``), exact ``weights`` from integers, and an
    integer ``w_star``. Components are a list, so shrinking deletes whole components.

    Shrinks toward one component in the plane, ``N(0, I/4)`` with a basis vector ``w*``, then small integer
    means, no factors. One component is not pointless: a non-centred ``N(μ, Σ)`` is already outside
    the centred ``anisotropic`` and symmetric ``mixture`` families."""
    _, max_components = integer_range("components", 1, max_components, floor=1)
    _, max_dim = integer_range("dim", 2, max_dim, floor=2)
    max_coordinate, max_weight = positive_int("max_coordinate", max_coordinate), positive_int("max_weight", max_weight)
    max_factors = positive_int("max_factors", max_factors, min_value=0)
    dim = draw(st.integers(2, max_dim))
    component = st.tuples(
        st.lists(st.integers(-max_coordinate, max_coordinate), min_size=dim, max_size=dim),
        st.sampled_from(COVARIANCE_SCALES),
        st.lists(small_int_list(dim, 2), max_size=max_factors),
        st.integers(1, max_weight),
    )
    means, scales, factors, raw = zip(*draw(st.lists(component, min_size=1, max_size=max_components)), strict=True)
    return {
        "means": list(means),
        "scales": list(scales),
        "factors": list(factors),
        "weights": _exact_weights(list(raw)),
        "w_star": draw(small_int_list(dim, 2)),
    }


