"""The self-test: every mutant (a deliberately wrong variant of a theorem, kept next to its claim)
runs through the claim's own search; a mutant is *caught* when some family falsifies it.
A verification suite is only worth its power to fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from kdverify.claims.base import Budget, Claim, Mutant
from kdverify.claims.registry import all_claims
from kdverify.claims.runner import search
from kdverify.claims.suite import budget_for, plan
from kdverify.profiles import Profile

__all__ = ["MutantResult", "mutant_cases", "run_mutant", "run_selftest"]


@dataclass(frozen=True)
class MutantResult:
    """Whether ``mutant`` of ``claim`` was caught, on which family, after how many examples
    (decided ones; ``undecided`` counts the others)."""

    claim: Claim
    mutant: Mutant
    caught: bool
    family: str | None
    examples: int
    undecided: int
    seconds: float


def mutant_cases() -> list[tuple[Claim, Mutant]]:
    """Every (claim, mutant) pair of the registry, in THEORY.md's order."""
    return [(claim, mutant) for claim in all_claims() for mutant in claim.mutants]


def selftest_budget(profile: Profile) -> Budget:
    """What each mutant check may spend: the budget of a full ``kdverify check`` run."""
    return budget_for(profile, plan())


def run_mutant(claim: Claim, mutant: Mutant, profile: Profile, *, budget: Budget | None = None) -> MutantResult:
    """Search ``mutant`` on the claim's families in order, without shrinking, until one falsifies it.

    Each family gets the profile's deterministic example budget (statistical mutants too: the
    self-test asks for power, not for a false-alarm rate).
    """
    planted = replace(claim, check=mutant.check, statistical=False)
    budget = budget or selftest_budget(profile)
    outcomes = []
    for family in claim.families:
        outcomes.append(search(planted, family, profile, budget=budget, shrink=False))
        if outcomes[-1].verdict == "falsified":
            break
    caught = outcomes[-1].verdict == "falsified"
    return MutantResult(
        claim,
        mutant,
        caught,
        outcomes[-1].family if caught else None,
        sum(outcome.examples for outcome in outcomes),
        sum(outcome.undecided for outcome in outcomes),
        sum(outcome.seconds for outcome in outcomes),
    )


def run_selftest(profile: Profile, *, on_result: Callable[[MutantResult], None] | None = None) -> list[MutantResult]:
    """:func:`run_mutant` for every mutant of every claim; ``on_result`` sees each result as it comes."""
    budget = selftest_budget(profile)
    results = []
    for claim, mutant in mutant_cases():
        result = run_mutant(claim, mutant, profile, budget=budget)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
