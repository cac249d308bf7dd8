"""The mixed-target claims of THEORY.md §8.2, one test per (claim, family) pair, from the registry."""

import pytest

from kdverify.testing import case_id, check_claim, claim_cases


@pytest.mark.parametrize(("claim", "family"), claim_cases("mixed"), ids=case_id)
def test_claim(claim, family):
    print(check_claim(claim, family))
