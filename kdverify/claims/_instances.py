"""Instance strategies of the claims: training problems drawn from the generic data-set
strategies or sampled from a data family, all stored as plain JSON values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from kdverify.claims.base import Instance
from kdverify.distributions.base import Family
from kdverify.strategies import (
    FAMILY_NAMES,
    build_family,
    data_sets,
    family_parameters,
    initialisations,
    step_fractions,
    teachers,
    temperatures,
)

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

DISTRIBUTION_FAMILIES = FAMILY_NAMES
DATA_FAMILIES = (GENERIC, *DISTRIBUTION_FAMILIES)
REAL_FAMILIES = ("digits", "breast-cancer")


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
    drawn seed) from a family drawn with :func:`~kdverify.strategies.family_parameters`. The points are stored in the
    instance, so replaying it needs no sampling."""
    if family == GENERIC:
        generated = generic_problems(init=init, extra=extra)
        if off_boundary:  # hard labels need every point off the teacher's boundary
            generated = generated.filter(lambda i: bool(np.all(np.array(i["w_star"]) @ np.array(i["points"]).T != 0)))
        instance = draw(generated)
        if require_init and instance.get("w0") is None:
            start = draw(initialisations(dim=len(instance["w_star"]), zero=False))
            instance = Instance(GENERIC, {**instance.values, "w0": (start / 2).tolist()})
        return instance
    params = draw(family_parameters(family))
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
    chosen = draw(params if params is not None else family_parameters(family))
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
