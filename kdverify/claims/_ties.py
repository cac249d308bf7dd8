"""Exact comparisons on discrete data decided under both tie conventions of the risk
(:data:`~kdverify.data.discrete.Ties`), so that evidence says whether its verdict
depends on a student scoring exactly 0 on a support point (:attr:`Evidence.tie_free`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
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


def worst_size(comparisons: Mapping[int, Evidence]) -> Evidence:
    """One evidence for a sweep of exact comparisons, one per sample size ``n``: the worst size's
    (a violation under both tie conventions before one that depends on them, then the largest
    ``lhs − rhs``), with ``details["n"]``, ``details["sizes"]`` (how many were compared) and
    ``details["per_size"]`` (each size's sides and verdict)."""
    n, worst = max(
        comparisons.items(),
        key=lambda item: (item[1].holds is False, bool(item[1].tie_free), item[1].lhs - item[1].rhs),
    )
    per_size = [
        {"n": size, "lhs": evidence.lhs, "rhs": evidence.rhs, "holds": evidence.holds, "tie_free": evidence.tie_free}
        for size, evidence in comparisons.items()
    ]
    details = {**worst.details, "n": n, "sizes": len(comparisons), "per_size": per_size}
    return replace(worst, details=details)
