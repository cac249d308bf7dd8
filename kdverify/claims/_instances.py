"""Instance strategies of the claims: training problems drawn from the generic data-set
strategies or sampled from a data family, all stored as plain JSON values."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import assume, reject
from hypothesis import strategies as st

from kdverify._util.linalg import span_projector
from kdverify.claims.base import Instance
from kdverify.data.base import Family
from kdverify.data.registry import FAMILIES, family_spec
from kdverify.data.strategies import (
    data_sets,
    initialisations,
    step_fractions,
    teachers,
    temperatures,
)

GENERIC = "generic"
MAX_N = 12
"""The most sample sizes :func:`sized_families` draws from (a window of sizes from the smallest)."""
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
    require_init: bool = False,
    min_rank: int = 1,
    deficient: bool = False,
    max_dim: int = 5,
    max_size: int = 6,
    extra: dict[str, st.SearchStrategy[Any]] | None = None,
) -> Instance:
    """A training problem on a generic data set: ``points``, ``w_star``, ``temperature``,
    ``w0`` (``None`` when ``init`` is false or drawn so; never when ``require_init``),
    ``step_fraction``, plus ``extra`` entries drawn from the given strategies. The data have rank
    at least ``min_rank`` and, when ``deficient``, below ``d`` (so ``P⊥ ≠ 0``); a required ``w0``
    then has ``P⊥w0 ≠ 0``."""
    data = draw(data_sets(max_dim=max_dim, max_size=max_size, min_rank=min_rank, max_rank=-1 if deficient else None))
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
    if init or require_init:
        values["w0"] = _drawn_init(draw, data, require_init=require_init, deficient=deficient)
    for key, strategy in (extra or {}).items():
        values[key] = draw(strategy)
    return Instance(GENERIC, values)


def _drawn_init(draw: st.DrawFn, data: np.ndarray, *, require_init: bool, deficient: bool) -> list[float] | None:
    """A drawn initialisation (halved integers), or ``None`` for 0 unless ``require_init``; in a
    rank-deficient problem a required one has a part off the span of ``data``."""
    w0 = draw(initialisations(dim=data.shape[0], zero=not require_init))
    if w0 is None:
        return None
    if require_init and deficient:
        assume(off_span_fraction(data, w0) > 1e-6)
    return (w0 / 2).tolist()


def off_span_fraction(data: np.ndarray, w0: np.ndarray) -> float:
    """``‖P⊥w0‖/‖w0‖``: how much of the initialisation lies off ``span X``."""
    return float(np.linalg.norm(span_projector(data).complement(w0)) / np.linalg.norm(w0))


# ----------------------------------------------------------------------------------------------
# Data families: parameters as plain JSON, the family object rebuilt (and cached) from them.

COSTLY_FAMILIES = ("mnist",)
"""Families left out of :data:`DISTRIBUTION_FAMILIES`: MNIST's 1000 rows in d = 497 cost 14–23 s a
pair under gradient descent (span-invariance, optimization-bias-linear/-deep, monotone-distance) and
minutes under exact rational geometry (risk-angle-lemma: 203 s for 12 examples), and risk-bound,
risk-bound-with-init and risk-angle-lemma find no informative example there on the ci profile. The
claims that cost about a second a pair on it (angle-lemma, distill-best-in-span,
monotone-risk-pointwise, monotone-risk-expected, distill-beats-hard-expected) add it explicitly
(measured by ``kdverify check --family mnist`` on the ci profile)."""
DISTRIBUTION_FAMILIES = tuple(family for family in FAMILIES if family not in COSTLY_FAMILIES)
SWEPT_FAMILIES = ("isotropic", "anisotropic", "mixture", "gaussian-mixture", "discrete")
"""Families where one more sample size costs a check about what hypothesis's engine and drawing
cost an example (closed-form risks, or exact sums shared by all sizes), so a sweep example checks a
window of sizes (:func:`sized_families`'s ``window``). Elsewhere a size costs far more (a quadrature
per student on the angular families, the data set's rows per student on the real ones): a window
there multiplies the example's cost, and measured on the ``ci`` profile (20 examples per pair)
made ``kdverify check`` of ``monotone-risk-expected`` 1.9× slower (BENCHMARKS.md §2)."""
DATA_FAMILIES = (GENERIC, *DISTRIBUTION_FAMILIES)
REAL_FAMILIES = ("digits", "mnist", "breast-cancer")
SAMPLED_SUPPORT = ("discrete", *REAL_FAMILIES)
"""Families whose samples can repeat a point, so ``n`` points may span fewer than ``n`` directions."""


def _parameters_with_dim(family: str, min_dim: int) -> st.SearchStrategy[dict[str, Any]]:
    """The family's parameters, kept when its dimension is at least ``min_dim``."""
    spec = family_spec(family)
    if min_dim <= 2:
        return spec.parameters
    return spec.parameters.filter(lambda params: spec.from_json(params).dim >= min_dim)


@st.composite
def problems(
    draw: st.DrawFn,
    family: str,
    *,
    require_init: bool = False,
    init: bool = True,
    min_rank: int = 1,
    deficient: bool = False,
    min_size: int = 1,
    max_size: int = 8,
    extra: dict[str, st.SearchStrategy[Any]] | None = None,
    off_boundary: bool = False,
) -> Instance:
    """A training problem of ``family``: generic data sets, or ``n`` points sampled (with a
    drawn seed) from a family drawn with :attr:`~kdverify.data.registry.FamilySpec.parameters`.
    The points are stored in the instance, so replaying it needs no sampling.

    ``min_rank`` and ``deficient`` (rank below ``d``) say where the claim has content: the size
    ``n`` is drawn in the range that gives such a rank, and samples that repeat points into a
    lower rank are rejected.
    """
    if family == GENERIC:
        generated = generic_problems(
            init=init, require_init=require_init, min_rank=min_rank, deficient=deficient, extra=extra
        )
        if off_boundary:  # hard labels need every point off the teacher's boundary
            generated = generated.filter(lambda i: bool(np.all(np.array(i["w_star"]) @ np.array(i["points"]).T != 0)))
        return draw(generated)
    params = draw(_parameters_with_dim(family, min_rank + deficient))
    distribution = family_spec(family).from_json(params)
    largest = min(max_size, distribution.dim - 1) if deficient else max_size
    n = draw(st.integers(max(min_size, min_rank), largest))
    seed = draw(st.integers(0, 2**32 - 1))
    data = distribution.sample(n, np.random.default_rng(seed))
    if family in SAMPLED_SUPPORT:
        rank = span_projector(data).rank
        assume(rank >= min_rank and (not deficient or rank < distribution.dim))
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
        values["w0"] = _drawn_init(draw, data, require_init=require_init, deficient=deficient)
    for key, strategy in (extra or {}).items():
        values[key] = draw(strategy)
    return Instance(family, values)


def distribution_of(instance: Instance) -> Family:
    """The data family an instance was drawn from."""
    return family_spec(instance.family).from_json(instance["family_params"])


def largest_informative_size(family: str, dim: int, *, spare: int = 0) -> int | None:
    """The largest ``n`` at which an expected risk of ``family`` is not trivially 0: ``n + spare < d``
    (``n ≥ d`` points of a continuous family span ``R^d`` almost surely, and the student is exact);
    ``None`` (no limit) for discrete data, whose points repeat."""
    return None if family == "discrete" else dim - 1 - spare


@st.composite
def sized_families(
    draw: st.DrawFn,
    family: str,
    *,
    max_n: int = MAX_N,
    init: bool = False,
    spare: int = 0,
    params: st.SearchStrategy | None = None,
    smallest_size: Callable[[Family, int], int | None] | None = None,
    window: int = 1,
    min_n: int = 1,
) -> Instance:
    """A family, a sample size ``n``, a Monte Carlo seed, a temperature and (when ``init``) a
    nonzero integer initialisation ``w0``. ``n`` is drawn where the expected risk has content:
    ``n + spare < d`` except on discrete data (:func:`largest_informative_size`), and from
    ``smallest_size(family, largest n)`` on when given (e.g. where a bound falls below 1; a family
    for which it is ``None``, no size, is rejected), in a
    window of ``max_n`` sizes, and never below ``min_n`` (families too small for ``min_n + spare < d``
    are not drawn). With ``window > 1`` the instance is a sweep: the sizes ``n..n_hi``
    (at most ``window`` of them, :func:`sweep_sizes`) in that range, one check for all; each end
    is drawn at the end of the range about three times in four, and shrinks toward one size and small ``n``."""
    chosen = draw(params if params is not None else _parameters_with_dim(family, min_n + 1 + spare))
    distribution = family_spec(family).from_json(chosen)
    largest = largest_informative_size(family, distribution.dim, spare=spare) or max_n
    first = 1 if smallest_size is None else smallest_size(distribution, largest)
    if first is None:
        reject()  # the family has no size with content
    smallest = max(min_n, first)
    top = max(smallest, min(largest, smallest + max_n - 1))
    n = _toward(draw, smallest, top, end=smallest) if window > 1 else draw(st.integers(smallest, top))
    highest = min(top, n + window - 1)
    values: dict[str, Any] = {
        "family_params": chosen,
        "n": n,
        **({"n_hi": _toward(draw, n, highest, end=highest)} if window > 1 else {}),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "temperature": draw(st.sampled_from((1.0, 2.0, 0.5))),
        "w0": None,
    }
    if init:
        dim = distribution.dim
        values["w0"] = draw(st.lists(st.integers(-3, 3), min_size=dim, max_size=dim).filter(any))
    return Instance(family, values)


def _toward(draw: st.DrawFn, low: int, high: int, *, end: int) -> int:
    """An integer in ``[low, high]``: ``end`` about three times in four, else uniform-ish; it shrinks
    to ``low``. Both choices are always drawn, so the shrinker can clear the ``end`` choice without
    shifting the choices after it (a ``one_of`` did, and left found windows unshrunk)."""
    value = draw(st.integers(low, high))
    return end if draw(st.integers(0, 3)) else value


def sweep_sizes(instance: Instance) -> list[int]:
    """The sample sizes ``n..n_hi`` a sweep instance checks (``[n]`` without ``n_hi``, as stored
    single-size instances have)."""
    n = int(instance["n"])
    n_hi = int(instance.get("n_hi", n))
    if n_hi < n:
        raise ValueError(f"the window n = {n} .. n_hi = {n_hi} is empty")
    return list(range(n, n_hi + 1))


def sweep_window(family: str) -> int:
    """The most sample sizes a sweep example of ``family`` checks: every size it may draw on the
    :data:`SWEPT_FAMILIES`, one elsewhere."""
    return MAX_N if family in SWEPT_FAMILIES else 1
