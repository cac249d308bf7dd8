"""The public family strategies of kdverify.data.strategies: valid objects, exact discrete data,
shrinking toward the smallest readable case, and clear errors for bad bounds."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, find, given, settings

from kdverify.data import FAMILIES, Discrete, Family, family_spec
from kdverify.data.strategies import discrete_distributions, discrete_parameters, families
from kdverify.errors import InvalidArgument

QUICK = settings(max_examples=15, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_builds_from_its_parameters(name: str) -> None:
    @QUICK
    @given(families(name))
    def check(family: Family) -> None:
        assert family.name == name and family.dim >= 2

    check()


@QUICK
@given(discrete_distributions(max_dim=4, max_support=6))
def test_discrete_distributions_are_exact_and_off_the_boundary(distribution: Discrete) -> None:
    assert distribution.is_exact
    assert sum(distribution.exact_weights) == 1
    assert all(sign != 0 for sign in distribution.teacher_signs)
    assert 2 <= distribution.dim <= 4 and 2 <= distribution.support_size <= 6


def test_discrete_parameters_shrink_to_two_points_in_the_plane() -> None:
    """The minimal example is as small as the strategy allows, with points as coordinate lists."""
    params = find(discrete_parameters(), lambda p: True, settings=settings(database=None, derandomize=True))
    assert len(params["points"]) == 2 and all(len(point) == 2 for point in params["points"])
    assert [Fraction(w) for w in params["weights"]] == [Fraction(1, 2)] * 2


def test_discrete_points_are_points_not_coordinates() -> None:
    """``points`` lists the support points; the family holds them as columns."""
    params = {"points": [[1, 0, 2], [0, 1, 1]], "weights": ["1/4", "3/4"], "w_star": [1, 1, 0]}
    family = family_spec("discrete").from_json(params)
    assert family.dim == 3 and family.support_size == 2


def test_bad_bounds_and_unknown_families_are_named() -> None:
    for unknown in (family_spec, families):
        with pytest.raises(InvalidArgument, match="unknown family 'nope'"):
            unknown("nope")
    with pytest.raises(InvalidArgument, match="max_dim"):
        find(discrete_parameters(max_dim=1), lambda p: True)


@pytest.mark.parametrize("points", [[[1, 2], [3]], [], "1,2", [1, 2]], ids=["ragged", "empty", "string", "flat"])
def test_malformed_discrete_points_are_named(points: object) -> None:
    with pytest.raises(InvalidArgument, match="list of points"):
        family_spec("discrete").from_json({"points": points})
