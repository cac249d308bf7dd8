"""The claims' non-vacuity conditions (:class:`~kdverify.claims.base.Content`): when one checked
instance can tell a statement from a false one. The instance strategies aim at these conditions;
these functions decide, per example, whether they were met, from the instance and its evidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from kdverify._util.linalg import span_projector
from kdverify.claims._cases import below_one
from kdverify.claims._instances import distribution_of, largest_informative_size, off_span_fraction
from kdverify.claims.base import Content, Evidence, Instance

Test = Callable[[Instance, Evidence], bool]

# An initialisation counts as off the span when more than this fraction of it lies there: far
# above the projector's rounding, so a w0 that is in the span up to rounding never counts.
OFF_SPAN = 1e-6


def _rank_and_dim(instance: Instance, key: str = "points") -> tuple[int, int]:
    data = instance.data(key)
    return int(span_projector(data).rank), data.shape[0]


def _extended_rank(instance: Instance) -> int:
    points = np.vstack([instance.array("points"), instance.array("extension")])
    return int(span_projector(points.T).rank)


def span_deficient(instance: Instance, evidence: Evidence) -> bool:
    """``rank X < d``: the data leave directions the student can get wrong."""
    rank, dim = _rank_and_dim(instance)
    return rank < dim


def init_off_span(instance: Instance, evidence: Evidence) -> bool:
    """``rank X < d`` and ``P⊥w0 ≠ 0``: the initialisation's off-span part is there to keep or lose."""
    w0 = instance.get("w0")
    return w0 is not None and span_deficient(instance, evidence) and (
        off_span_fraction(instance.data(), instance.array("w0")) > OFF_SPAN
    )


def strict_angle(instance: Instance, evidence: Evidence) -> bool:
    """``2 ≤ rank X < d``: the student's direction is neither a point's (rank 1) nor exact (rank d)."""
    rank, dim = _rank_and_dim(instance)
    return 2 <= rank < dim


def strict_extension(instance: Instance, evidence: Evidence) -> bool:
    """``rank X < rank X'``: the larger training set adds a direction, so the student moves."""
    rank, _ = _rank_and_dim(instance)
    return rank < _extended_rank(instance)


def size_below_dimension(instance: Instance, *, spare: int = 0) -> bool:
    """``n + spare < d`` on continuous data, where ``n ≥ d`` points make the risk 0; always on discrete data."""
    largest = largest_informative_size(instance.family, distribution_of(instance).dim, spare=spare)
    return largest is None or int(instance["n"]) <= largest


def _number(value: object) -> float:
    try:
        return float(Fraction(value) if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return math.nan


def upper_side_below_one(instance: Instance, evidence: Evidence) -> bool:
    """The compared upper side (a risk bound, or ``E p(∠)`` of the sharper link) is below 1 by
    more than the check's tolerance (:func:`~kdverify.claims._cases.below_one`), and ``n < d``
    (continuous data)."""
    return size_below_dimension(instance) and below_one(_number(evidence.rhs), evidence.tolerance or 0.0)


def either_side_positive(instance: Instance, evidence: Evidence, *, spare: int = 0) -> bool:
    """A comparison of two risks where at least one is positive, at a size where risks can be
    (the risks are the two sides, or ``details["mean_risks"]`` for a paired difference, whose two
    risks must also differ on some training set: ``details["differing"]``); for a sweep of sizes
    (``details["per_size"]``), at some size of the window."""
    largest = largest_informative_size(instance.family, distribution_of(instance).dim, spare=spare)
    tolerance = evidence.tolerance or 0.0
    details = evidence.details
    whole = {
        "n": instance["n"],
        "mean_risks": details.get("mean_risks"),
        "differing": details.get("differing"),
        "lhs": evidence.lhs,
        "rhs": evidence.rhs,
    }
    return any(
        (largest is None or int(size["n"]) <= largest)
        and any(side > tolerance for side in _risk_sides(size))
        and size.get("differing") != 0
        for size in details.get("per_size") or [whole]
    )


def _risk_sides(comparison: dict[str, Any]) -> tuple[float, ...]:
    """The two risks of one comparison: its ``mean_risks`` (a paired difference), else its sides."""
    means = comparison.get("mean_risks")
    return tuple(map(_number, means.values())) if means else (_number(comparison["lhs"]), _number(comparison["rhs"]))


def both(first: Test, second: Test) -> Test:
    """The conjunction of two tests."""
    return lambda instance, evidence: first(instance, evidence) and second(instance, evidence)


SPAN_DEFICIENT = Content("rank X < d (the off-span part of the first layer is there to keep)", span_deficient)
INIT_OFF_SPAN = Content("rank X < d and P⊥w0 ≠ 0 (the initialisation matters)", init_off_span)
STRICT_ANGLE = Content("2 ≤ rank X < d (the angle to w* can be strict and nonzero)", strict_angle)
STRICT_EXTENSION = Content(
    "rank X < rank X' (X' adds a direction) and rank X < d", both(strict_extension, span_deficient)
)
BOUND_BELOW_ONE = Content(
    "n < d on continuous data and the bound (or E p(∠) of the sharper link) below 1", upper_side_below_one
)
RISKS_POSITIVE = Content("n < d on continuous data and a compared risk above 0", either_side_positive)
TWO_POINTS_WITH_RISK = Content(
    "2 ≤ n (trained on one point, both compared students point along it), n < d on continuous data and a risk above 0",
    lambda instance, evidence: int(instance["n"]) >= 2 and either_side_positive(instance, evidence),
)
NEXT_RISK_POSITIVE = Content(
    "at some size n of its window: n + 1 < d on continuous data and a compared risk above 0",
    lambda instance, evidence: either_side_positive(instance, evidence, spare=1),
)
EXTENSION_WITH_RISK = Content(
    "X' adds a direction and a compared risk above 0", both(strict_extension, either_side_positive)
)
INIT_WITH_BOUND_BELOW_ONE = Content(
    "w0 ≠ 0, n < d on continuous data and the bound below 1",
    lambda instance, evidence: instance.get("w0") is not None and upper_side_below_one(instance, evidence),
)


def _teacher_in_and_off_span(instance: Instance, evidence: Evidence) -> bool:
    """``P w* ≠ 0`` and ``P⊥w0 ≠ 0``: only then can the angle of ``P w*/T + P⊥w0`` change with ``T``."""
    projector = span_projector(instance.data())
    w_star = instance.array("w_star")
    in_span = float(np.linalg.norm(projector.project(w_star)))
    return init_off_span(instance, evidence) and in_span > OFF_SPAN * float(np.linalg.norm(w_star))


TEACHER_AND_INIT = Content("P w* ≠ 0 and P⊥w0 ≠ 0 (the angle can depend on T)", _teacher_in_and_off_span)


def _student_tilted_bound_below_one(instance: Instance, evidence: Evidence) -> bool:
    """``0 < ∠(w, w*)`` and ``p(∠) < 1``: the lemma bounds a risk that is not forced to 0 or to ≤ 1."""
    details = evidence.details
    tilted = _number(details.get("beta", details.get("sin2_beta"))) > 0
    return tilted and _number(evidence.rhs) < 1


TILTED_STUDENT = Content("0 < ∠(w, w*) and p(∠(w, w*)) < 1", _student_tilted_bound_below_one)
