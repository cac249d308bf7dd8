"""The self-test: every mutant (a deliberately wrong variant of a theorem, kept next to its claim)
runs through the claim's own search; a mutant is *caught* when some family falsifies it.
A verification suite is only worth its power to fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from kdverify.claims.base import Claim, Mutant
from kdverify.claims.registry import all_claims
from kdverify.claims.runner import search
from kdverify.claims.suite import budget_for, plan
from kdverify.profiles import Profile

__all__ = ["MutantResult", "run_selftest"]


@dataclass(frozen=True)
class MutantResult:
    """Whether ``mutant`` of ``claim`` was caught, on which family, after how many examples."""

    claim: Claim
    mutant: Mutant
    caught: bool
    family: str | None
    examples: int
    seconds: float


def run_selftest(
    profile: Profile, *, on_result: Callable[[MutantResult], None] | None = None
) -> list[MutantResult]:
    """Search every mutant of every claim family by family, without shrinking, until caught.

    Each search gets the profile's deterministic example budget (statistical mutants too: the
    self-test asks for power, not for a false-alarm rate).
    """
    budget = budget_for(profile, plan())
    results = []
    for claim in all_claims():
        for mutant in claim.mutants:
            planted = replace(claim, check=mutant.check, statistical=False)
            examples, seconds, caught_on = 0, 0.0, None
            for family in claim.families:
                outcome = search(planted, family, profile, budget=budget, shrink=False)
                examples += outcome.examples
                seconds += outcome.seconds
                if outcome.verdict == "falsified":
                    caught_on = family
                    break
            result = MutantResult(claim, mutant, caught_on is not None, caught_on, examples, seconds)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results
