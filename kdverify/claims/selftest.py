"""The self-test: every mutant (a deliberately wrong variant of a theorem, kept next to its claim)
runs through the claim's own search on *every* family of the claim. A mutant is *killed* when some
family catches (falsifies) it; the *power* of a (claim, family) pair is the set of its claim's
mutants it catches. A verification suite is only worth its power to fail, family by family."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kdverify.claims.base import Budget, Claim, Mutant
from kdverify.claims.profiles import Profile
from kdverify.claims.registry import all_claims, get_claim
from kdverify.claims.runner import search
from kdverify.claims.suite import budget_for, plan
from kdverify.errors import InvalidArgument

__all__ = [
    "MutantResult",
    "Outcome",
    "PairPower",
    "mutant_cases",
    "pair_powers",
    "run_mutant",
    "run_selftest",
    "selftest_budget",
]


@dataclass(frozen=True)
class Outcome:
    """One mutant searched on one family of its claim. ``verdict`` is the search's ("falsified":
    caught); ``examples`` counts decided examples, so a caught mutant was caught at its
    ``examples``-th (the search stops there), ``undecided`` the others."""

    claim: Claim
    mutant: Mutant
    family: str
    verdict: str
    examples: int
    informative: int
    undecided: int
    seconds: float

    @property
    def caught(self) -> bool:
        return self.verdict == "falsified"

    @property
    def blind_reason(self) -> str | None:
        """Why this mutant is known to be invisible on this family (see :attr:`Mutant.blind`)."""
        return self.mutant.blind.get(self.family)

    def to_json(self) -> dict[str, Any]:
        """The record of ``selftest --json``: one per (claim, family, mutant)."""
        return {
            "claim": self.claim.id,
            "family": self.family,
            "mutant": self.mutant.name,
            "description": self.mutant.description,
            "caught": self.caught,
            "verdict": self.verdict,
            "caught_after": self.examples if self.caught else None,
            "examples": self.examples,
            "informative": self.informative,
            "undecided": self.undecided,
            "seconds": round(self.seconds, 3),
            "blind": self.blind_reason,
        }


@dataclass(frozen=True)
class MutantResult:
    """A mutant's outcomes on the families of its claim it was run on, in the claim's order."""

    claim: Claim
    mutant: Mutant
    outcomes: tuple[Outcome, ...]

    @property
    def killed(self) -> bool:
        """Some family caught the mutant."""
        return any(outcome.caught for outcome in self.outcomes)

    @property
    def seconds(self) -> float:
        return sum(outcome.seconds for outcome in self.outcomes)


@dataclass(frozen=True)
class PairPower:
    """What one (claim, family) pair catches: the names of the mutants it falsified, out of
    ``mutants``; ``reason`` explains a pair that catches none (the mutants' declared blindness
    on this family), ``None`` when it catches some or nobody explained why not."""

    claim: Claim
    family: str
    caught: tuple[str, ...]
    mutants: tuple[str, ...]
    reason: str | None


def mutant_cases(claim_ids: Sequence[str] = ()) -> list[tuple[Claim, Mutant]]:
    """Every (claim, mutant) pair of the named claims (all when empty), in THEORY.md's order."""
    claims = [get_claim(claim_id) for claim_id in claim_ids] if claim_ids else list(all_claims())
    bare = [claim.id for claim in claims if not claim.mutants]
    if claim_ids and bare:
        raise InvalidArgument(f"claim {bare[0]!r} has no mutants (only theorems have them)")
    return [(claim, mutant) for claim in claims for mutant in claim.mutants]


def selftest_budget(profile: Profile) -> Budget:
    """What each mutant check may spend: the budget of a full ``kdverify check`` run."""
    return budget_for(profile, plan())


def run_mutant(
    claim: Claim,
    mutant: Mutant,
    profile: Profile,
    *,
    budget: Budget | None = None,
    max_examples: int | None = None,
    families: Sequence[str] = (),
    on_outcome: Callable[[Outcome], None] | None = None,
) -> MutantResult:
    """Search ``mutant`` on every family of its claim (those of ``families`` when given), without
    shrinking; each search stops at its first counterexample.

    Each family gets the profile's deterministic example budget (statistical mutants too: the
    self-test asks for power, not for a false-alarm rate), or ``max_examples`` when given;
    ``on_outcome`` sees each family's outcome as it comes.
    """
    planted = replace(claim, check=mutant.check, statistical=False)
    budget = budget or selftest_budget(profile)
    outcomes = []
    for family in [family for family in claim.families if not families or family in families]:
        found = search(planted, family, profile, budget=budget, shrink=False, max_examples=max_examples)
        outcome = Outcome(
            claim,
            mutant,
            family,
            found.verdict,
            found.examples,
            found.informative,
            found.undecided,
            found.seconds,
        )
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return MutantResult(claim, mutant, tuple(outcomes))


def run_selftest(
    profile: Profile,
    claim_ids: Sequence[str] = (),
    families: Sequence[str] = (),
    *,
    max_examples: int | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[MutantResult]:
    """:func:`run_mutant` for every mutant of the named claims (all when empty) on the named
    families (each claim's own when empty; claims checked on none of them are left out)."""
    budget = selftest_budget(profile)
    selected = {claim.id for claim, _ in plan(claim_ids, families)}
    return [
        run_mutant(
            claim, mutant, profile, budget=budget, max_examples=max_examples, families=families, on_outcome=on_outcome
        )
        for claim, mutant in mutant_cases(claim_ids)
        if claim.id in selected
    ]


def pair_powers(results: Sequence[MutantResult]) -> list[PairPower]:
    """The power of every (claim, family) pair the results cover, in the results' order."""
    by_pair: dict[tuple[str, str], list[Outcome]] = {}
    for result in results:
        for outcome in result.outcomes:
            by_pair.setdefault((outcome.claim.id, outcome.family), []).append(outcome)
    powers = []
    for outcomes in by_pair.values():
        caught = tuple(o.mutant.name for o in outcomes if o.caught)
        reasons = [f"{o.mutant.name}: {o.blind_reason}" for o in outcomes if o.blind_reason]
        explained = not caught and len(reasons) == len(outcomes)
        powers.append(
            PairPower(
                outcomes[0].claim,
                outcomes[0].family,
                caught,
                tuple(o.mutant.name for o in outcomes),
                "; ".join(reasons) if explained else None,
            )
        )
    return powers
