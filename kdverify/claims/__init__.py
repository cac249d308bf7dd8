"""Claims of THEORY.md §3 as checked properties: the registry, the evidence a check returns,
and the runner that searches instances with hypothesis."""

from kdverify.claims.base import Budget, Claim, Evidence, Instance, Mutant
from kdverify.claims.registry import CLAIM_IDS, all_claims, get_claim

__all__ = ["CLAIM_IDS", "Budget", "Claim", "Evidence", "Instance", "Mutant", "all_claims", "get_claim"]
