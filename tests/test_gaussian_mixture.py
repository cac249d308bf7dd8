"""The ``gaussian-mixture`` family (THEORY.md §2.5): K Gaussians, each with its own mean, covariance
``s_k² I + Σ_v vvᵀ`` and weight. The meaning of
``scales``/``factors``, the params round trip, the strategy's bounds and shrinking, bad input and
the CLI listing. Its risk and geometry against Monte Carlo are checked with every other family's
in tests/test_distributions.py.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings

from kdverify.cli import main
from kdverify.data import FAMILIES, GaussianMixture, family_from_params, family_spec, from_params
from kdverify.data.gaussian import FactoredGaussianMixture
from kdverify.data.parameters import COVARIANCE_SCALES, gaussian_mixture_parameters
from kdverify.errors import InvalidArgument

NAME = "gaussian-mixture"
SAMPLE_POINTS = 200_000
THETAS = (0.05, 0.4, 0.9, 1.35)
QUICK = settings(max_examples=15, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_scales_and_factors_are_the_covariances_written_out() -> None:
    """``Σ_k = s_k² I + Σ_v vvᵀ``, checked against covariances written by hand: the family equals
    the general mixture built from them (risk and p), and the teacher logit has unit variance."""
    family = FactoredGaussianMixture(
        [[2, 1], [-1, 0]], [0.5, 1], [[[1, 2]], [[1, 0], [0, 3]]], ["1/3", "2/3"], w_star=[1, 1]
    )
    by_hand = [[[1.25, 2.0], [2.0, 4.25]], [[2.0, 0.0], [0.0, 10.0]]]
    np.testing.assert_array_equal(family.given["covs"], by_hand)
    general = GaussianMixture([[2, 1], [-1, 0]], by_hand, [1 / 3, 2 / 3], w_star=[1, 1])
    students = np.array([[1.0, 0.0], [0.3, -1.0], [-1.0, -0.2]])
    # Same formulas on the same matrices; weights 1/3 and 2/3 may differ in the last bit.
    np.testing.assert_allclose(family.risk(students), general.risk(students), rtol=1e-14)
    np.testing.assert_allclose(family.p(THETAS), general.p(THETAS), rtol=1e-12)
    logits = family.w_star @ family.sample(SAMPLE_POINTS, np.random.default_rng(12))
    # The sample standard deviation of 2e5 points is within 1% of 1 with overwhelming probability.
    assert np.std(logits) == pytest.approx(1.0, rel=0.01)


def test_defaults_and_cli_strings() -> None:
    """Unspecified scales, factors, weights and w_star are 1, none, uniform (exact) and e_1; the
    ``--param`` strings read ``;`` between points and ``|`` between components' factor lists."""
    default = from_params(NAME)
    assert default.params() == {
        "means": [[1.0, 1.0], [-1.0, 0.0]],
        "scales": [1.0, 1.0],
        "factors": [[], []],
        "weights": ["1/2", "1/2"],
        "scale": 1.0,
        "w_star": [1.0, 0.0],
    }
    given = {"means": "0,0;1,2;-1,1/2", "scales": "1,0,0.5", "factors": "|1,1;0,2|", "weights": "1/6,1/3,1/2"}
    family = family_from_params(NAME, {**given, "w_star": "1,1", "scale": "none"})
    assert family.params() == {
        "means": [[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]],
        "scales": [1.0, 0.0, 0.5],
        "factors": [[], [[1.0, 1.0], [0.0, 2.0]], []],
        "weights": ["1/6", "1/3", "1/2"],
        "scale": None,
        "w_star": [1.0, 1.0],
    }
    assert family.describe() == "gaussian-mixture(d=2, components=3, scale=None)"


@QUICK
@given(family_spec(NAME).parameters)
def test_params_round_trip(params: dict[str, Any]) -> None:
    """Strategy parameters → family → params() equals them (plus the default ``scale``), survives
    JSON, and rebuilds the same family through the registry and through the class."""
    family = family_spec(NAME).from_json(params)
    assert family.name == NAME and family.describe().startswith(f"{NAME}(d={len(params['w_star'])},")
    plain = family.params()
    assert plain == {**params, "scale": 1.0}
    for rebuilt in (from_params(NAME, **json.loads(json.dumps(plain))), type(family)(**plain)):
        assert rebuilt.params() == plain
        np.testing.assert_array_equal(rebuilt.risk(np.eye(family.dim)), family.risk(np.eye(family.dim)))
        np.testing.assert_array_equal(rebuilt.p(THETAS), family.p(THETAS))


@QUICK
@given(gaussian_mixture_parameters())
def test_strategy_respects_its_bounds(params: dict[str, Any]) -> None:
    """1–4 components in dimension 2–4, integer means |μ| ≤ 3, scales from COVARIANCE_SCALES, at
    most two nonzero integer factor vectors per component, exact weights summing to 1."""
    count, dim = len(params["means"]), len(params["w_star"])
    assert 1 <= count <= 4 and 2 <= dim <= 4 and any(params["w_star"])
    assert all(len(mean) == dim and all(isinstance(x, int) and abs(x) <= 3 for x in mean) for mean in params["means"])
    assert len(params["scales"]) == count and set(params["scales"]) <= set(COVARIANCE_SCALES)
    assert len(params["factors"]) == count and all(len(vectors) <= 2 for vectors in params["factors"])
    assert all(len(v) == dim and any(v) for vectors in params["factors"] for v in vectors)
    assert sum(Fraction(w) for w in params["weights"]) == 1 and len(params["weights"]) == count


def test_strategy_shrinks_to_one_small_component_in_the_plane() -> None:
    """The minimal example: one component N(0, I/4) in R^2, no factors, weight 1, a basis w*."""
    params = find(gaussian_mixture_parameters(), lambda p: True, settings=settings(database=None, derandomize=True))
    assert params["means"] == [[0, 0]] and params["scales"] == [COVARIANCE_SCALES[0]] == [0.5]
    assert params["factors"] == [[]] and params["weights"] == ["1"]
    assert sorted(map(abs, params["w_star"])) == [0, 1]


def test_bad_strategy_bounds_are_named() -> None:
    with pytest.raises(InvalidArgument, match="max_dim"):
        find(gaussian_mixture_parameters(max_dim=1), lambda p: True)
    with pytest.raises(InvalidArgument, match="max_components"):
        find(gaussian_mixture_parameters(max_components=0), lambda p: True)


def _raises(function: Any, *args: Any, **kwargs: Any) -> Any:
    return lambda: function(*args, **kwargs)


TWO = [[0, 0], [1, 1]]
BAD_INPUT = [
    (
        "not-positive-definite",
        _raises(FactoredGaussianMixture, [[0, 0]], [0], [[[1, 1]]]),
        r"scales\[0\]²·I \+ Σ vvᵀ \(v in factors\[0\]\) is not positive definite",
    ),
    ("exact-weights-not-one", _raises(FactoredGaussianMixture, TWO, weights=["1/2", "1/3"]), "sum to 5/6"),
    ("float-weights-not-one", _raises(FactoredGaussianMixture, TWO, weights=[0.5, 0.4]), "sum to 0.9"),
    ("zero-weight", _raises(FactoredGaussianMixture, TWO, weights=[1, 0]), r"weights\[1\]=0.0 must be > 0"),
    ("weights-count", _raises(FactoredGaussianMixture, TWO, weights=["1"]), "weights has 1 entries, .* 2 components"),
    ("scales-count", _raises(FactoredGaussianMixture, TWO, [1.0]), "scales has 1 entries, .* 2 components"),
    ("factors-count", _raises(FactoredGaussianMixture, TWO, factors=[[]]), "factors has 1 entries"),
    ("scales-not-a-list", _raises(FactoredGaussianMixture, TWO, "1"), "scales='1' must be a list"),
    ("negative-scale", _raises(FactoredGaussianMixture, [[0, 0]], [-1]), r"scales\[0\]=-1 must be .* >= 0"),
    ("nan-scale", _raises(FactoredGaussianMixture, [[0, 0]], [float("nan")]), r"scales\[0\]=nan"),
    ("means-flat", _raises(FactoredGaussianMixture, [0, 1]), r"means has shape \(2,\)"),
    (
        "factor-length",
        _raises(FactoredGaussianMixture, TWO, factors=[[], [[1, 1, 1]]]),
        r"factors\[1\] holds vectors of length 3, but the means have dimension 2",
    ),
    ("factors-ragged", _raises(FactoredGaussianMixture, [[0, 0]], factors=[[[1, 1], [1]]]), r"factors\[0\]"),
    ("teacher-length", _raises(FactoredGaussianMixture, TWO, w_star=[1, 0, 0]), "w_star has length 3"),
    ("zero-teacher", _raises(FactoredGaussianMixture, TWO, w_star=[0, 0]), "zero vector"),
    ("one-dimension", _raises(FactoredGaussianMixture, [[1], [2]]), "means has points of dimension 1"),
    ("unknown-param", _raises(from_params, NAME, covs=[[[1]]]), r"unknown parameter\(s\) covs"),
    ("unparsable-means", _raises(family_from_params, NAME, {"means": "1,x"}), "means='1,x' cannot be read"),
    ("ragged-means", _raises(family_from_params, NAME, {"means": "1,2;3"}), "same number of coordinates"),
]


@pytest.mark.parametrize(("build", "message"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_rejected_clearly(build: Any, message: str) -> None:
    """Each bad argument raises InvalidArgument whose message names it and the rule."""
    with pytest.raises(InvalidArgument, match=message):
        build()


def test_cli_lists_the_family(capsys: pytest.CaptureFixture[str]) -> None:
    """``kdverify families`` prints the family with every parameter of its spec."""
    assert main(["families"]) == 0
    out = capsys.readouterr().out
    assert f"\n{NAME}: " in out
    section = out.split(f"\n{NAME}: ")[1].split("\n")[1 : 1 + len(FAMILIES[NAME].params)]
    assert [line.split("=")[0].strip() for line in section] == [f"--param {p.name}" for p in FAMILIES[NAME].params]
