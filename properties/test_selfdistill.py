"""The kernel ridge self-distillation claims of THEORY.md §8.3, one test per (claim, family) pair, from the registry."""

import pytest

from kdverify.testing import case_id, check_claim, claim_cases


@pytest.mark.parametrize(("claim", "family"), claim_cases("selfdistill"), ids=case_id)
def test_claim(claim, family):
    print(check_claim(claim, family))
