"""The claim registry: the single source of truth for the CLI, the property suite and the README.

Claims live in one module per family of claims (``GROUPS``); each exposes ``CLAIMS``, a tuple
of :class:`~kdverify.claims.base.Claim`. The registry is built on first use, so importing
kdverify stays cheap.
"""

from __future__ import annotations

import importlib
from functools import cache

from kdverify.claims.base import Claim
from kdverify.errors import InvalidArgument

__all__ = ["CLAIM_IDS", "GROUPS", "all_claims", "claims_in_group", "get_claim", "group_of"]

GROUPS = ("calculus", "optimisation", "geometry", "risk", "monotonicity", "multiclass", "mixed", "selfdistill")

# THEORY.md §3 then §8, in its order: the public vocabulary of the CLI, the JSON output and the tests.
CLAIM_IDS = (
    "loss-calculus",
    "global-minimizers",
    "span-invariance",
    "optimization-bias-linear",
    "optimization-bias-deep",
    "angle-lemma",
    "risk-angle-lemma",
    "risk-bound",
    "rate-margin",
    "rate-polynomial",
    "monotone-distance",
    "distill-best-in-span",
    "monotone-risk-pointwise",
    "monotone-risk-expected",
    "risk-bound-with-init",
    "temperature-monotone",
    "distill-beats-hard-expected",
    "multiclass-optimization-bias",
    "multiclass-monotone-risk-expected",
    "mixed-targets-limit",
    "soft-ratio-monotone",
    "imperfect-teacher-mixing-helps",
    "self-distillation-filter",
    "self-distillation-shrinks",
    "self-distillation-helps",
    "self-distillation-helps-exists",
)


@cache
def _by_group() -> dict[str, tuple[Claim, ...]]:
    groups = {name: importlib.import_module(f"kdverify.claims.{name}").CLAIMS for name in GROUPS}
    found = sorted(claim.id for claims in groups.values() for claim in claims)
    if found != sorted(CLAIM_IDS):
        raise RuntimeError(f"claim modules define {found}, but THEORY.md's ids are {sorted(CLAIM_IDS)}")
    return groups


def all_claims() -> tuple[Claim, ...]:
    """Every claim, in THEORY.md's order."""
    by_id = {claim.id: claim for claims in _by_group().values() for claim in claims}
    return tuple(by_id[claim_id] for claim_id in CLAIM_IDS)


def claims_in_group(group: str) -> tuple[Claim, ...]:
    """The claims of one module of ``GROUPS``."""
    if group not in GROUPS:
        raise InvalidArgument(f"group={group!r} is unknown; choose one of {', '.join(GROUPS)}.")
    return _by_group()[group]


def group_of(claim_id: str) -> str:
    """The module of ``GROUPS`` that defines ``claim_id``."""
    return next(group for group, claims in _by_group().items() if any(c.id == claim_id for c in claims))


def get_claim(claim_id: str) -> Claim:
    """The claim with this id; unknown ids are rejected with the list of known ones."""
    if claim_id not in CLAIM_IDS:
        raise InvalidArgument(f"claim id {claim_id!r} is unknown; known ids: {', '.join(CLAIM_IDS)}.")
    return next(claim for claim in all_claims() if claim.id == claim_id)
