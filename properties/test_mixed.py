"""The mixed-target claims of THEORY.md §8.2, one test per (claim, family) pair, from the registry."""

from kdverify.claims.registry import claims_in_group
from kdverify.testing import parametrize_with_claims


@parametrize_with_claims(claims=claims_in_group("mixed"))
def test_claim(claim_case, record_property):
    print(claim_case.check(record_property))
