"""Exact comparisons on discrete data decided under both tie conventions of the risk
(:data:`~kdverify.data.discrete.Ties`), so that evidence says whether its verdict
depends on a student scoring exactly 0 on a support point (:attr:`Evidence.tie_free`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from kdverify.claims.base import Evidence
from kdverify.data.discrete import Ties

Sides = Callable[[Ties], tuple[Fraction | float, Fraction | float]]


def tie_aware_comparison(sides: Sides, details: Mapping[str, Any] | None = None) -> Evidence:
    """Exact evidence of ``lhs ≤ rhs`` with ``(lhs, rhs) = sides(ties)``: ``holds``, ``lhs`` and
    ``rhs`` under THEORY.md §1's convention (``"error"``: ``sign(0) = 0`` is wrong), the sides under
    ``"correct"`` in ``details["ties_correct"]``, and ``tie_free`` true when both verdicts agree."""
    lhs, rhs = sides("error")
    other_lhs, other_rhs = sides("correct")
    holds = lhs <= rhs
    return Evidence(
        holds,
        lhs,
        "<=",
        rhs,
        exact=True,
        details={**(details or {}), "ties_correct": {"lhs": other_lhs, "rhs": other_rhs}},
        tie_free=holds == (other_lhs <= other_rhs),
    )
