"""Instance strategies of the claims: training problems drawn from the generic data-set
strategies or sampled from a data family, all stored as plain JSON values."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
from hypothesis import strategies as st

from kdverify.claims.base import Instance
from kdverify.distributions import from_params
from kdverify.distributions.base import Family
from kdverify.strategies import data_sets, initialisations, step_fractions, teachers, temperatures

GENERIC = "generic"
LARGEST_LOGIT = 4.0  # THEORY.md §6: keep teacher logits O(1) so gradient descent converges in budget


def normalise_scale(data: np.ndarray, w_star: np.ndarray, temperature: float) -> np.ndarray:
    """Divide ``data`` by a power of two (exact in binary) so that ``max |w*ᵀx|/T ≤ 4``."""
    largest = float(np.max(np.abs(w_star @ data))) / temperature
    if largest <= LARGEST_LOGIT:
        return data
    return data / 2.0 ** math.ceil(math.log2(largest / LARGEST_LOGIT))


@st.composite
def generic_problems(
    draw: st.DrawFn,
    *,
    init: bool = True,
    max_dim: int = 5,
    max_size: int = 6,
    extra: dict[str, st.SearchStrategy[Any]] | None = None,
) -> Instance:
    """A training problem on a generic data set: ``points``, ``w_star``, ``temperature``,
    ``w0`` (``None`` when ``init`` is false or drawn so), ``step_fraction``, plus ``extra``
    entries drawn from the given strategies."""
    data = draw(data_sets(max_dim=max_dim, max_size=max_size))
    dim = data.shape[0]
    w_star = draw(teachers(dim=dim))
    temperature = draw(temperatures())
    values: dict[str, Any] = {
        "points": normalise_scale(data, w_star, temperature).T.tolist(),
        "w_star": w_star.tolist(),
        "temperature": temperature,
        "w0": None,
        "step_fraction": draw(step_fractions()),
    }
    if init:
        w0 = draw(initialisations(dim=dim))
        values["w0"] = None if w0 is None else (w0 / 2).tolist()
    for key, strategy in (extra or {}).items():
        values[key] = draw(strategy)
    return Instance(GENERIC, values)


# ----------------------------------------------------------------------------------------------
# Data families: parameters as plain JSON, the family object rebuilt (and cached) from them.

DISTRIBUTION_FAMILIES = (
    "isotropic",
    "anisotropic",
    "beta-polarised",
    "margin",
    "discrete",
    "mixture",
    "digits",
    "breast-cancer",
)
DATA_FAMILIES = (GENERIC, *DISTRIBUTION_FAMILIES)
REAL_FAMILIES = ("digits", "breast-cancer")

SHAPES = (1.0, 2.0, 0.5, 3.0)


def _small_int_vector(dim: int, bound: int = 2) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(-bound, bound), min_size=dim, max_size=dim).filter(any)


@st.composite
def _discrete_params(draw: st.DrawFn, *, max_dim: int = 3, max_support: int = 5) -> dict[str, Any]:
    # d ≥ 2 and m ≥ 2: with one dimension or one support point every student is exact.
    dim = draw(st.integers(2, max_dim))
    w_star = draw(_small_int_vector(dim))
    off_boundary = _small_int_vector(dim, 3).filter(lambda a: sum(x * y for x, y in zip(a, w_star, strict=False)) != 0)
    support = draw(st.lists(off_boundary, min_size=2, max_size=max_support, unique_by=tuple))
    raw = draw(st.lists(st.integers(1, 4), min_size=len(support), max_size=len(support)))
    weights = [str(Fraction(value, sum(raw))) for value in raw]
    return {"points": [list(column) for column in zip(*support, strict=False)], "weights": weights, "w_star": w_star}


def family_params(family: str) -> st.SearchStrategy[dict[str, Any]]:
    """Strategy for the JSON parameters of ``family`` (shrinking toward low dimension)."""
    dims = st.integers(2, 6)
    strategies: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "isotropic": st.fixed_dictionaries({"dim": dims, "radius": st.sampled_from(("gaussian", "sphere"))}),
        "anisotropic": st.integers(2, 5).flatmap(
            lambda dim: st.fixed_dictionaries(
                {
                    "dim": st.just(dim),
                    "condition": st.sampled_from((4.0, 1.0, 16.0, 100.0)),
                    "w_star": _small_int_vector(dim),
                }
            )
        ),
        "beta-polarised": st.fixed_dictionaries(
            {"dim": dims, "a": st.sampled_from(SHAPES), "b": st.sampled_from(SHAPES)}
        ),
        "margin": st.fixed_dictionaries({"dim": dims, "margin": st.sampled_from((0.3, 0.1, 0.6))}),
        "discrete": _discrete_params(),
        "mixture": st.fixed_dictionaries(
            {
                "dim": st.integers(2, 4),
                "separation": st.sampled_from((2.0, 0.0, 1.0, 4.0)),
                "tilt": st.sampled_from((0.5, 0.0, 1.2)),
                "weight": st.sampled_from((0.5, 0.25)),
            }
        ),
        "digits": st.fixed_dictionaries({"pair": st.sampled_from(([0, 1], [3, 8], [1, 7]))}),
        "breast-cancer": st.just({}),
    }
    return strategies[family]


@lru_cache(maxsize=64)
def _build(family: str, key: str) -> Family:
    return from_params(family, **json.loads(key))


def build_family(family: str, params: dict[str, Any]) -> Family:
    """The family object for ``family`` with JSON ``params`` (those of
    :func:`kdverify.distributions.from_params`; cached, so real data sets load once)."""
    return _build(family, json.dumps(params, sort_keys=True))


@st.composite
def problems(
    draw: st.DrawFn,
    family: str,
    *,
    require_init: bool = False,
    init: bool = True,
    min_size: int = 1,
    max_size: int = 8,
    extra: dict[str, st.SearchStrategy[Any]] | None = None,
    off_boundary: bool = False,
) -> Instance:
    """A training problem of ``family``: generic data sets, or ``n`` points sampled (with a
    drawn seed) from a family drawn with :func:`family_params`. The points are stored in the
    instance, so replaying it needs no sampling."""
    if family == GENERIC:
        generated = generic_problems(init=init, extra=extra)
        if off_boundary:  # hard labels need every point off the teacher's boundary
            generated = generated.filter(lambda i: bool(np.all(np.array(i["w_star"]) @ np.array(i["points"]).T != 0)))
        instance = draw(generated)
        if require_init and instance.get("w0") is None:
            w0 = draw(initialisations(dim=len(instance["w_star"]), zero=False)) / 2
            instance = Instance(GENERIC, {**instance.values, "w0": w0.tolist()})
        return instance
    params = draw(family_params(family))
    distribution = build_family(family, params)
    n = draw(st.integers(min_size, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    data = distribution.sample(n, np.random.default_rng(seed))
    values: dict[str, Any] = {
        "family_params": params,
        "n": n,
        "seed": seed,
        "points": data.T.tolist(),
        "w_star": distribution.w_star.tolist(),
        "temperature": draw(temperatures()),
        "w0": None,
        "step_fraction": draw(step_fractions()),
    }
    if init or require_init:
        w0 = draw(initialisations(dim=distribution.dim, zero=not require_init))
        values["w0"] = None if w0 is None else (w0 / 2).tolist()
    for key, strategy in (extra or {}).items():
        values[key] = draw(strategy)
    return Instance(family, values)


def distribution_of(instance: Instance) -> Family:
    """The data family an instance was drawn from."""
    return build_family(instance.family, instance["family_params"])


@st.composite
def sized_families(
    draw: st.DrawFn, family: str, *, max_n: int = 12, init: bool = False, params: st.SearchStrategy | None = None
) -> Instance:
    """A family, a sample size ``n``, a Monte Carlo seed, a temperature and (when ``init``) a
    nonzero integer initialisation ``w0``."""
    chosen = draw(params if params is not None else family_params(family))
    values: dict[str, Any] = {
        "family_params": chosen,
        "n": draw(st.integers(1, max_n)),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "temperature": draw(st.sampled_from((1.0, 2.0, 0.5))),
        "w0": None,
    }
    if init:
        dim = distribution_of(Instance(family, {"family_params": chosen})).dim
        values["w0"] = draw(st.lists(st.integers(-3, 3), min_size=dim, max_size=dim).filter(any))
    return Instance(family, values)
