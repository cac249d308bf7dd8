"""The claims machinery: registry, runner, certificates, and that planted false statements are
caught by properties written with kdverify's public strategies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kdverify._util.linalg import span_projector
from kdverify.claims.base import Budget, Claim, Evidence, Instance
from kdverify.claims.certificates import replay
from kdverify.claims.profiles import get_profile
from kdverify.claims.registry import CLAIM_IDS, all_claims, get_claim
from kdverify.claims.runner import search
from kdverify.cli import main
from kdverify.data.strategies import data_sets, initialisations, teachers
from kdverify.errors import CertificateError, InvalidArgument, NotConverged
from kdverify.testing import ClaimCase
from kdverify.training import gradient_descent
from kdverify.training.limits import linear_limit
from kdverify.training.teacher import Teacher

THEORY = Path(__file__).resolve().parents[2] / "shared" / "THEORY.md"
CI = get_profile("ci")


class TestRegistry:
    def test_ids_are_theory_ids_in_order(self) -> None:
        """The registry holds THEORY.md §3's ids, in its order, with their status, then §8's: each
        named there (an existence reading ``<id>-exists`` by the id it reads)."""
        assert [claim.id for claim in all_claims()] == list(CLAIM_IDS)
        if THEORY.exists():  # shared/ lies beside the checkout in CI and here
            text = THEORY.read_text()
            rows = re.findall(r"^\| `([a-z-]+)` \| (theorem|open)", text, flags=re.M)
            assert [(claim.id, claim.status) for claim in all_claims()][: len(rows)] == rows
            extensions = text[text.index("## 8.") :]
            for claim in all_claims()[len(rows) :]:
                assert f"`{claim.id.removesuffix('-exists')}`" in extensions, claim.id

    def test_unknown_id_is_rejected_with_the_known_ones(self) -> None:
        """A typo names the id and lists the valid ones."""
        with pytest.raises(InvalidArgument, match=r"'risk-bund' is unknown.*risk-bound"):
            get_claim("risk-bund")


class TestPlantedFalseStatements:
    """A property written with kdverify's strategies catches a wrong formula within the ci budget."""

    def test_limit_without_off_span_term_is_falsified(self) -> None:
        """Claiming GD converges to P w*/T (forgetting P⊥w0) fails on some generated problem."""

        @settings(max_examples=CI.given_examples, derandomize=True, deadline=None, database=None)
        @given(data_sets(max_dim=4, max_size=3), st.data())
        def wrong_limit(data: np.ndarray, draw: st.DataObject) -> None:
            teacher = Teacher(draw.draw(teachers(dim=data.shape[0])))
            w0 = draw.draw(initialisations(dim=data.shape[0], zero=False))
            trained = gradient_descent(data / np.abs(data).max(), teacher.logits(data / np.abs(data).max()), w0)
            wrong = span_projector(data).project(teacher.target)  # the planted bug: no P⊥ w0
            assert np.linalg.norm(trained.w - wrong) <= trained.bound + 1e-9

        with pytest.raises(AssertionError):
            wrong_limit()

    def test_correct_limit_holds_on_the_same_property(self) -> None:
        """The same property with the true limit passes: the failure above is the bug's."""

        @settings(max_examples=CI.given_examples, derandomize=True, deadline=None, database=None)
        @given(data_sets(max_dim=4, max_size=3), st.data())
        def right_limit(data: np.ndarray, draw: st.DataObject) -> None:
            scaled = data / np.abs(data).max()
            teacher = Teacher(draw.draw(teachers(dim=data.shape[0])))
            w0 = draw.draw(initialisations(dim=data.shape[0], zero=False))
            trained = gradient_descent(scaled, teacher.logits(scaled), w0, max_iter=200_000)
            if trained.converged:
                assert np.linalg.norm(trained.w - linear_limit(scaled, teacher, w0)) <= trained.bound + 1e-12

        right_limit()

    def test_risk_bound_without_its_p_term_is_falsified(self) -> None:
        """The risk-bound claim with p(θ) dropped from its bound is falsified by the runner."""
        from kdverify.claims import risk

        def bound_without_p(distribution, n: int):
            # min over θ of p(π/2 − θ)^n alone, with s = sin²θ over the same breakpoints (s = 1 gives 0)
            levels = distribution.boundary_sin2
            return min(distribution.exact_p(1 - s) ** n for s in [*levels, 0, 1])

        planted = replace(
            get_claim("risk-bound"),
            families=("discrete",),
            check=risk.bound_check(bound_without_p, risk.numeric_risk_bound),
        )
        result = search(planted, "discrete", CI, budget=Budget())
        assert result.verdict == "falsified", result.to_json()
        assert result.evidence is not None and result.evidence.exact


@pytest.fixture(scope="module")
def certificate() -> dict:
    """A counterexample the ci profile finds to the open claim temperature-monotone."""
    result = search(get_claim("temperature-monotone"), "generic", CI, budget=Budget())
    assert result.verdict == "falsified"
    return json.loads(json.dumps(result.certificate()))


class TestCertificates:
    def test_certificate_is_exact_and_replays(self, certificate: dict, tmp_path: Path) -> None:
        """The certificate holds both sides as exact rationals and replays with exit status 0."""
        assert certificate["exact"] is True
        assert {"claim", "family", "exact", "tie_free", "instance", "evidence"} <= set(certificate)
        assert certificate["tie_free"] is None  # angles: no ties to count
        assert replay(certificate).valid
        path = tmp_path / "certificate.json"
        path.write_text(json.dumps(certificate))
        assert main(["replay", str(path)]) == 0

    def test_tampered_certificate_does_not_replay(self, certificate: dict, tmp_path: Path) -> None:
        """Changing the stored exact value makes the replay fail with exit status 1."""
        tampered = json.loads(json.dumps(certificate))
        tampered["evidence"]["lhs"] = "0"
        path = tmp_path / "tampered.json"
        path.write_text(json.dumps(tampered))
        assert main(["replay", str(path)]) == 1

    def test_replay_reports_tie_dependence(self, tmp_path: Path, capsys) -> None:
        """A violation that only exists because a student scores exactly 0 on a support point
        replays as tie-dependent and says so; claiming it tie-free makes it invalid."""
        tied = {
            "claim": "monotone-risk-expected",
            "family": "discrete",
            "exact": True,
            "tie_free": False,
            "instance": {
                "family_params": {
                    "points": [[1, 1, 0], [2, 0, 1], [2, -1, 0]],
                    "weights": ["1/3", "1/3", "1/3"],
                    "w_star": [1, 0, -1],
                },
                "n": 1,
                "seed": 0,
                "temperature": 1.0,
                "w0": None,
            },
            "evidence": {"holds": False, "lhs": "2/27", "relation": "<=", "rhs": 0},
        }
        outcome = replay(tied)
        assert outcome.valid and outcome.tie_free is False
        assert outcome.evidence.details["ties_correct"] == {"lhs": 0, "rhs": 0}
        path = tmp_path / "tied.json"
        path.write_text(json.dumps(tied))
        assert main(["replay", str(path)]) == 0
        assert "depends on ties: holds when sign(0) counts as correct" in capsys.readouterr().out
        assert not replay({**tied, "tie_free": True}).valid

    @pytest.mark.parametrize(
        "content",
        ["{not json", "[]", '{"claim": "temperature-monotone"}', ""],
        ids=["truncated", "not-an-object", "missing-keys", "empty"],
    )
    def test_malformed_certificate_exits_2(self, content: str, tmp_path: Path, capsys) -> None:
        """A malformed file is a usage error with a message, not a traceback."""
        path = tmp_path / "bad.json"
        path.write_text(content)
        assert main(["replay", str(path)]) == 2
        assert "error" in capsys.readouterr().err

    def test_instance_round_trips_through_json(self) -> None:
        """Fractions become strings and come back exactly."""
        from fractions import Fraction

        instance = Instance("discrete", {"weights": [Fraction(2, 27), 1], "w0": None})
        again = Instance.from_json(json.loads(json.dumps(instance.to_json())))
        assert again.rationals("weights") == [Fraction(2, 27), Fraction(1)]
        with pytest.raises(CertificateError):
            Instance.from_json({"points": []})


class TestCheckCommand:
    def test_json_format_and_exit_status(self, tmp_path: Path) -> None:
        """check --json writes the documented keys; a run with no falsified theorem exits 0."""
        path = tmp_path / "out.json"
        assert main(["check", "loss-calculus", "risk-angle-lemma", "--family", "discrete", "--json", str(path)]) == 0
        entries = json.loads(path.read_text())["claims"]
        assert [entry["id"] for entry in entries] == ["risk-angle-lemma"]
        keys = {"id", "status", "family", "verdict", "examples", "seconds", "evidence", "certificate"}
        assert keys <= set(entries[0]) and entries[0]["verdict"] == "holds"

    @pytest.mark.parametrize(
        "argv",
        [
            ["check", "no-such-claim"],
            ["check", "--family", "no-such-family"],
            ["hunt", "risk-bound", "--max-examples", "0"],
        ],
        ids=["unknown-claim", "unknown-family", "zero-examples"],
    )
    def test_usage_errors_exit_2(self, argv: list[str], capsys) -> None:
        """Unknown ids and families are named in the message; exit status 2."""
        assert main(argv) == 2
        assert "error" in capsys.readouterr().err

    def test_a_falsified_theorem_exits_1(self, monkeypatch) -> None:
        """When a theorem's check reports a violation, check exits 1 and names it."""
        claim = get_claim("loss-calculus")
        broken = replace(claim, check=lambda instance, budget: Evidence(False, 2.0, "<=", 1.0))
        monkeypatch.setattr("kdverify.claims.suite.get_claim", lambda claim_id: broken)
        assert main(["check", "loss-calculus"]) == 1


def test_numpy_verdicts_count_as_violations() -> None:
    """A check returning a numpy bool False is a violation (``np.False_ is False`` is false)."""
    evidence = Evidence(np.float64(2.0) <= 1.0, 2.0, "<=", 1.0)
    assert evidence.holds is False
    claim = replace(get_claim("loss-calculus"), check=lambda instance, budget: evidence)
    assert search(claim, "generic", CI, budget=Budget(), max_examples=2).verdict == "falsified"


def _open_claim(check: Callable[[Instance, Budget], Evidence]) -> Claim:
    """An open claim on instances ``{"k": 0…20}`` (shrinking toward 0) decided by ``check``."""
    return Claim(
        id="fake-open",
        status="open",
        statement="a stand-in",
        latex="",
        source="tests",
        families=("generic",),
        instances=lambda family: st.integers(0, 20).map(lambda k: Instance(family, {"k": k})),
        check=check,
    )


def test_search_prefers_tie_free_counterexamples() -> None:
    """Every instance violates the claim, but only k ≥ 5 under both tie conventions: the search
    ends on a tie-free counterexample and shrinks it to the smallest one, k = 5, although the
    tie-dependent ones are smaller. With only tie-dependent violations it reports one of them."""
    claim = _open_claim(lambda instance, budget: Evidence(False, 1, "<=", 0, tie_free=instance["k"] >= 5))
    result = search(claim, "generic", CI, budget=Budget())
    assert result.verdict == "falsified" and result.evidence is not None and result.evidence.tie_free is True
    assert result.counterexample is not None and result.counterexample["k"] == 5
    tied = search(
        replace(claim, check=lambda instance, budget: Evidence(False, 1, "<=", 0, tie_free=False)),
        "generic",
        CI,
        budget=Budget(),
    )
    assert tied.verdict == "falsified" and tied.evidence is not None and tied.evidence.tie_free is False


def test_unresolvable_max_margin_leaves_distill_best_in_span_undecided(monkeypatch) -> None:
    """A margin below float64 resolution (NotConverged from the solver) is no verdict, not a crash."""

    def unresolved(data: object, labels: object) -> None:
        raise NotConverged("margin below rounding")

    monkeypatch.setattr("kdverify.claims.geometry.max_margin", unresolved)
    instance = Instance("generic", {"points": [[1.0, 0.0], [0.0, 1.0]], "w_star": [1.0, 2.0], "w0": None})
    evidence = get_claim("distill-best-in-span").check(instance, Budget())
    assert evidence.holds is None and "margin below rounding" in str(evidence.lhs)


class TestPytestAdapter:
    """kdverify.testing.ClaimCase, which the property suite runs for every (claim, family)."""

    def test_stored_certificate_of_an_open_claim_replays(self) -> None:
        assert ClaimCase(get_claim("temperature-monotone"), "generic").check().startswith("falsified by its stored")

    def test_new_counterexample_to_an_open_claim_fails_with_how_to_store_it(self, monkeypatch) -> None:
        monkeypatch.setattr("kdverify.testing.parametrize.stored_certificate", lambda claim_id, family: None)
        with pytest.raises(AssertionError, match="NEW COUNTEREXAMPLE") as caught:
            ClaimCase(get_claim("temperature-monotone"), "generic").check()
        message = str(caught.value)
        assert "replays on its own" in message
        assert "kdverify/certificates/temperature-monotone--generic.json" in message

    def test_falsified_theorem_fails(self) -> None:
        broken = replace(get_claim("loss-calculus"), check=lambda instance, budget: Evidence(False, 2.0, "<=", 1.0))
        with pytest.raises(AssertionError, match="THEOREM FALSIFIED: loss-calculus on generic"):
            ClaimCase(broken, "generic").check()


def test_a_bound_of_one_up_to_rounding_is_not_informative() -> None:
    """Isotropic ``d = 2``: ``p(θ) = 2θ/π``, so ``p(θ) + p(π/2 − θ) = 1`` and the risk bound at
    ``n = 1`` is 1 — computed as ``1 − 2.2e-16``. Such an example cannot fail, so it is not counted
    as evidence."""
    from kdverify.claims.risk import numeric_risk_bound
    from kdverify.data.isotropic import Isotropic

    claim = get_claim("risk-bound-with-init")
    instance = Instance(
        "isotropic",
        {"family_params": {"dim": 2, "radius": "gaussian"}, "n": 1, "seed": 3, "temperature": 1.0, "w0": [0, 3]},
    )
    evidence = claim.check(instance, Budget(alpha=1e-3, trials=200, max_iter=1000))
    assert evidence.holds and 1 - 1e-15 < evidence.rhs <= 1
    assert not claim.content.test(instance, evidence)
    assert numeric_risk_bound(Isotropic(2), 1) < 1
    shifted = replace(evidence, rhs=0.5)
    assert claim.content.test(instance, shifted)
