"""The pytest adapter: every (claim, family) pair of the registry as a test case.

>>> # in a test module
>>> # @pytest.mark.parametrize("claim, family", claim_cases("risk"), ids=case_id)
>>> # def test_claim(claim, family): check_claim(claim, family)

Theorems must hold, on at least one informative example (:attr:`Claim.content`). An open claim
with a stored certificate replays it (and the test documents that the claim is false); without
one it is hunted within the profile's budget, and a new counterexample fails the run with the
command that stores it.
"""

from __future__ import annotations

import json
from typing import Any

from kdverify.claims.base import Claim
from kdverify.claims.registry import all_claims, claims_in_group
from kdverify.claims.runner import certificate_payload, search
from kdverify.claims.suite import budget_for, certificate_name, replay, stored_certificate
from kdverify.profiles import current_profile

__all__ = ["case_id", "check_claim", "claim_cases"]


def claim_cases(group: str | None = None) -> list[tuple[Claim, str]]:
    """The (claim, family) pairs of one group of claims (all groups when ``None``)."""
    claims = claims_in_group(group) if group else all_claims()
    return [(claim, family) for claim in claims for family in claim.families]


def case_id(value: Any) -> str:
    """Readable pytest ids: the claim id and the family name."""
    return value.id if isinstance(value, Claim) else str(value)


def check_claim(claim: Claim, family: str) -> str:
    """Run one pair under the active hypothesis profile; raise ``AssertionError`` with the
    evidence when a theorem is falsified or a counterexample to an open claim does not replay.
    Returns a one-line verdict for the test report."""
    profile = current_profile()
    if claim.status == "open":
        stored = stored_certificate(claim.id, family)
        if stored is not None:
            outcome = replay(stored)
            assert outcome.valid, f"stored certificate of {claim.id} on {family} no longer replays: {outcome.reason}"
            return f"falsified by its stored certificate: {outcome.evidence.summary()}"
    budget = budget_for(profile, claim_cases())
    result = search(claim, family, profile, budget=budget)
    assert result.verdict != "error", f"{claim.id} on {family}: the check crashed: {result.error}\n" + json.dumps(
        result.to_json().get("error_instance"), indent=1
    )
    if result.verdict == "falsified":
        certificate = json.dumps(certificate_payload(result), indent=1, sort_keys=True)
        if claim.status == "theorem":
            raise AssertionError(f"THEOREM FALSIFIED: {claim.id} on {family}\n{certificate}")
        # A new counterexample to an open claim fails the run until it is stored: the verdict of
        # an open claim is a measured fact of the repository, so a change in it must be seen.
        outcome = replay(certificate_payload(result))
        replays = "it replays on its own" if outcome.valid else f"but it does NOT replay: {outcome.reason}"
        raise AssertionError(
            f"NEW COUNTEREXAMPLE to the open claim {claim.id} on {family} ({replays}). Store it: save the "
            f"certificate below as kdverify/certificates/{certificate_name(claim.id, family)}, or hunt for a "
            f"shrunk one with `kdverify hunt {claim.id} --family {family} --out kdverify-out` and copy it "
            f"from there.\n{certificate}"
        )
    if result.verdict == "vacuous" and claim.status == "theorem":
        raise AssertionError(
            f"VACUOUS: {claim.id} on {family} drew no informative example in {result.examples} "
            f"({result.undecided} undecided); informative means: {claim.content.description}"
        )
    return (
        f"{result.verdict}: {result.informative}/{result.examples} examples informative, {result.undecided} undecided"
    )
