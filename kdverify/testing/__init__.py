"""kdverify inside pytest: the ``pytest11`` plugin (:mod:`kdverify.testing.pytest_plugin`, profiles
``kdverify-ci`` …) and :func:`parametrize_with_claims`, one test case per (claim, family) pair for
kdverify's own students or a user's trainer. Strategies for writing properties are in
:mod:`kdverify.data.strategies`."""

from kdverify.testing.parametrize import ClaimCase, claim_cases, parametrize_with_claims, trainer_claims

__all__ = ["ClaimCase", "claim_cases", "parametrize_with_claims", "trainer_claims"]
