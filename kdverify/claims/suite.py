"""Whole runs: every requested (claim, family) pair under one profile, with the run's
false-alarm budget δ split evenly over all statistical checks (Bonferroni) and the stored
certificates of open claims replayed (:mod:`kdverify.claims.certificates`) instead of hunted."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kdverify.claims.base import Budget, Claim, Instance
from kdverify.claims.certificates import replay, stored_certificate
from kdverify.claims.profiles import Profile
from kdverify.claims.registry import all_claims, get_claim
from kdverify.claims.runner import SearchResult, search
from kdverify.errors import InvalidArgument

__all__ = ["budget_for", "plan", "replayed", "run"]


def plan(claim_ids: Sequence[str] = (), families: Sequence[str] = ()) -> list[tuple[Claim, str]]:
    """The (claim, family) pairs of a run: the named claims (all when empty) on the named
    families (each claim's own when empty). A family no selected claim applies to is an error."""
    claims = [get_claim(claim_id) for claim_id in claim_ids] if claim_ids else list(all_claims())
    pairs = [(claim, family) for claim in claims for family in claim.families if not families or family in families]
    if families:
        known = {family for claim in all_claims() for family in claim.families}
        unknown = [family for family in families if family not in known]
        if unknown:
            raise InvalidArgument(f"family {unknown[0]!r} is unknown; known families: {', '.join(sorted(known))}.")
    if not pairs:
        raise InvalidArgument("no selected claim applies to the selected families")
    return pairs


def budget_for(profile: Profile, pairs: Iterable[tuple[Claim, str]]) -> Budget:
    """Split δ over every statistical check the run can make (generation phase examples)."""
    checks = sum(profile.statistical_examples for claim, _ in pairs if claim.statistical)
    return Budget(alpha=profile.delta / max(1, checks), trials=profile.trials, max_iter=profile.max_iter)


def run(
    pairs: Sequence[tuple[Claim, str]],
    profile: Profile,
    *,
    seed: int | None = None,
    on_result: Callable[[SearchResult], None] | None = None,
) -> list[SearchResult]:
    """Check every pair. Open claims with a stored certificate replay it instead of hunting."""
    budget = budget_for(profile, pairs)
    results = []
    for claim, family in pairs:
        result = replayed(claim, family) or search(claim, family, profile, budget=budget, seed=seed)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def replayed(claim: Claim, family: str) -> SearchResult | None:
    """The result of an open claim's stored certificate for ``family``, replayed; ``None`` when
    the pair has none (it is then searched)."""
    stored = stored_certificate(claim.id, family) if claim.status == "open" else None
    return _from_certificate(claim, family, stored) if stored else None


def _from_certificate(claim: Claim, family: str, certificate: dict[str, Any]) -> SearchResult:
    outcome = replay(certificate)
    result = SearchResult(claim, family, verdict="falsified" if outcome.valid else "error")
    result.counterexample = Instance.from_json({**certificate["instance"], "family": family})
    result.evidence = outcome.evidence
    result.examples = result.informative = 1
    if not outcome.valid:
        result.error = f"stored certificate no longer replays: {outcome.reason}"
    return result
