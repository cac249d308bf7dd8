"""kdverify's pytest plugin and ``parametrize_with_claims``: profiles under kdverify's own names,
``--kdverify-profile``, a user's trainer checked against the theory (a correct one passes, a broken
one fails with its evidence, an expected failure is a strict xfail) and the JUnit properties."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import settings
from scipy.special import logit

from kdverify.claims.profiles import PROFILES, current_profile
from kdverify.claims.registry import get_claim
from kdverify.errors import InvalidArgument
from kdverify.testing import ClaimCase, parametrize_with_claims, trainer_claims
from kdverify.training.train import Fit, UserTrainer

pytest_plugins = ["pytester"]


def fit_limit(X: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The minimum-norm solution of ``Xᵀw = logit(targets)``: gradient descent's limit from 0."""
    return np.linalg.pinv(X.T) @ logit(targets)


def fit_ridge(X: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Logistic regression with weight decay 0.1: its limit is not the distilled student's."""
    w = np.zeros(X.shape[0])
    for _ in range(300):
        w -= X @ (1 / (1 + np.exp(-(X.T @ w))) - targets) / X.shape[1] + 0.1 * w
    return w


class TestProfiles:
    def test_hypothesis_own_ci_profile_is_untouched(self) -> None:
        ci = settings.get_profile("ci")
        assert ci.max_examples == 100 and ci.database is None and ci.derandomize

    def test_kdverify_profiles_are_registered_under_their_own_names(self) -> None:
        for profile in PROFILES.values():
            registered = settings.get_profile(f"kdverify-{profile.name}")
            assert registered.max_examples == profile.given_examples
            assert registered.derandomize == profile.derandomize
        assert settings.get_profile("kdverify-ci").database is None

    def test_this_run_is_derandomised_under_the_ci_profile(self) -> None:
        assert settings.get_current_profile_name() == "kdverify-ci" and settings.default.derandomize
        assert current_profile().name == "ci"

    def test_kdverify_profile_option_loads_its_hypothesis_profile(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(
            """
            from hypothesis import settings
            from kdverify.claims.profiles import current_profile

            def test_profile():
                assert settings.get_current_profile_name() == "kdverify-dev"
                assert current_profile().name == "dev"
            """
        )
        result = pytester.runpytest_subprocess("-p", "kdverify.testing.pytest_plugin", "--kdverify-profile=dev")
        result.assert_outcomes(passed=1)

    def test_without_the_option_a_user_run_keeps_its_settings(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(
            """
            from hypothesis import settings

            def test_profile():  # "default", or hypothesis's own "ci" when the CI variable is set
                assert settings.get_current_profile_name() in ("default", "ci")
            """
        )
        pytester.runpytest_subprocess("-p", "kdverify.testing.pytest_plugin").assert_outcomes(passed=1)


class TestParametrizeWithClaims:
    def test_trainer_claims_are_the_theorems_about_a_trained_student(self) -> None:
        assert [claim.id for claim in trainer_claims()] == [
            "optimization-bias-linear",
            "angle-lemma",
            "risk-bound",
            "rate-margin",
            "rate-polynomial",
            "monotone-distance",
        ]
        assert all(claim.status == "theorem" for claim in trainer_claims())

    def test_one_case_per_claim_and_family_with_strict_expected_failures(self) -> None:
        mark = parametrize_with_claims(
            fit_ridge, families=["margin"], expected_failed={"optimization-bias-linear": "weight decay"}
        )
        params = mark.args[1]
        assert [param.id for param in params] == [
            "optimization-bias-linear-margin",
            "angle-lemma-margin",
            "risk-bound-margin",
            "rate-margin-margin",
            "monotone-distance-margin",
        ]
        xfail = params[0].marks[0]
        assert xfail.kwargs["strict"] and xfail.kwargs["reason"] == "weight decay"
        assert not params[1].marks

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"claims": ["loss-calculus"]}, "say nothing about a trained student"),
            ({"families": ["nowhere"]}, "not families of the chosen claims"),
            ({"expected_failed": {"loss-calculus": "x"}}, "not among the claims checked"),
            ({"claims": ["no-such-claim"]}, "unknown"),
            ({"rtol": -1.0}, "rtol=-1"),
        ],
        ids=["claim-not-about-training", "unknown-family", "stray-expected-failure", "unknown-claim", "bad-rtol"],
    )
    def test_bad_arguments_are_refused(self, arguments: dict, message: str) -> None:
        with pytest.raises(InvalidArgument, match=message):
            parametrize_with_claims(fit_limit, **arguments)

    def test_the_limit_passes_and_records_its_verdict(self) -> None:
        recorded: dict[str, object] = {}
        case = _case("optimization-bias-linear", fit_limit)
        assert case.check(recorded.__setitem__).startswith("holds")
        assert recorded["verdict"] == "holds" and int(recorded["examples"]) > 0
        assert '"relation": "<="' in str(recorded["evidence"])

    def test_weight_decay_fails_the_optimisation_bias_with_its_evidence(self) -> None:
        case = _case("optimization-bias-linear", fit_ridge)
        with pytest.raises(AssertionError, match="TRAINER FAILS: optimization-bias-linear on generic with trainer"):
            case.check()

    def test_a_trainer_returning_the_wrong_shape_is_an_error(self) -> None:
        case = _case("angle-lemma", lambda X, t: X)
        with pytest.raises(AssertionError, match=r"the check crashed: .*expected a finite vector of shape"):
            case.check()


def _case(claim_id: str, fit: Fit, family: str = "generic") -> ClaimCase:
    trainer = UserTrainer(fit)
    return ClaimCase(get_claim(claim_id).for_trainer(trainer), family, trainer)


def test_junit_xml_carries_the_verdicts(pytester: pytest.Pytester) -> None:
    """A user's test file: a correct trainer passes, a broken one is a strict xfail, and the JUnit
    XML holds every case's verdict, examples, undecided and evidence."""
    pytester.makepyfile(
        """
        import numpy as np
        from scipy.special import logit
        from kdverify.testing import parametrize_with_claims

        def fit(X, targets):
            return np.linalg.pinv(X.T) @ logit(targets)

        def fit_decayed(X, targets):
            return 0.5 * fit(X, targets)

        @parametrize_with_claims(fit, claims=["optimization-bias-linear"], families=["generic"])
        def test_fit(claim_case, record_property):
            claim_case.check(record_property)

        @parametrize_with_claims(
            fit_decayed,
            claims=["optimization-bias-linear"],
            families=["generic"],
            expected_failed={"optimization-bias-linear": "halved on purpose"},
        )
        def test_decayed(claim_case, record_property):
            claim_case.check(record_property)
        """
    )
    result = pytester.runpytest(
        "-p",
        "kdverify.testing.pytest_plugin",
        "--kdverify-profile=ci",
        "--junitxml=out.xml",
        "-o",
        "junit_family=xunit1",
    )
    result.assert_outcomes(passed=1, xfailed=1)
    result.stdout.fnmatch_lines(["kdverify: 2 claim cases (1 falsified, 1 holds); * examples decided, 0 undecided"])
    cases = {case.get("name"): case for case in ET.parse(pytester.path / "out.xml").iter("testcase")}
    properties = {
        name: {p.get("name"): p.get("value") for p in case.iter("property")} for name, case in cases.items()
    }
    passed = properties["test_fit[optimization-bias-linear-generic]"]
    assert passed["verdict"] == "holds" and int(passed["examples"]) > 0 and passed["undecided"] == "0"
    assert '"holds": true' in passed["evidence"]
    assert properties["test_decayed[optimization-bias-linear-generic]"]["verdict"] == "falsified"
