"""The self-test's promise (issue 6): on the ci profile every theorem has a mutant and every
mutant is caught by the claim's own search (mutation score 100%); ``kdverify selftest`` prints
one row per mutant and the score, and exits 0 only when every mutant is caught."""

from __future__ import annotations

import re

import pytest

import kdverify.claims.selftest
import kdverify.cli.selftest
from kdverify.claims.base import Budget, Claim, Mutant
from kdverify.claims.registry import all_claims
from kdverify.claims.selftest import MutantResult, mutant_cases, run_mutant, run_selftest, selftest_budget
from kdverify.cli import main
from kdverify.profiles import PROFILES

CI = PROFILES["ci"]
CASES = mutant_cases()


@pytest.fixture(scope="module")
def budget() -> Budget:
    """The budget every mutant check gets in ``kdverify selftest --profile ci``."""
    return selftest_budget(CI)


def test_every_theorem_has_a_mutant() -> None:
    """A theorem without a mutant has a check nobody has seen fail."""
    bare = [claim.id for claim in all_claims() if claim.status == "theorem" and not claim.mutants]
    assert not bare, f"theorems without mutants: {bare}"


def test_mutant_names_are_unique_within_a_claim() -> None:
    """``claim/mutant`` names a mutant in the CLI table and in these test ids."""
    names = [f"{claim.id}/{mutant.name}" for claim, mutant in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("claim", "mutant"), CASES, ids=[f"{claim.id}/{mutant.name}" for claim, mutant in CASES])
def test_mutant_is_caught_on_ci(claim: Claim, mutant: Mutant, budget: Budget) -> None:
    """The mutant is falsified on some family within the ci profile's example budget, unless it
    is declared blind, with a measured reason, on every family of its claim."""
    if set(claim.families) <= set(mutant.blind):
        assert all(mutant.blind[family].strip() for family in claim.families)
        return
    result = run_mutant(claim, mutant, CI, budget=budget)
    assert result.caught, (
        f"{claim.id}/{mutant.name} ({mutant.description}) survived {result.examples} decided and "
        f"{result.undecided} undecided examples on {', '.join(claim.families)}"
    )


def test_run_selftest_reports_every_case_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run_selftest`` runs each case once, in order, and hands each result to ``on_result``."""
    cheap = [(claim, mutant) for claim, mutant in CASES if claim.id == "loss-calculus"]
    monkeypatch.setattr(kdverify.claims.selftest, "mutant_cases", lambda: cheap)
    seen: list[MutantResult] = []
    results = run_selftest(CI, on_result=seen.append)
    assert seen == results
    assert [(r.claim.id, r.mutant.name) for r in results] == [(c.id, m.name) for c, m in cheap]
    assert all(r.caught and r.family == "generic" and r.examples >= 1 for r in results)


def canned(caught: list[bool]) -> list[MutantResult]:
    """Results for the first mutants, caught or not as given (no search)."""
    return [
        MutantResult(claim, mutant, hit, "generic" if hit else None, 3, 1, 0.5)
        for (claim, mutant), hit in zip(CASES, caught, strict=False)
    ]


@pytest.mark.parametrize(
    ("caught", "status"), [([True, True], 0), ([True, False], 1)], ids=["all-caught", "one-survives"]
)
def test_cli_prints_the_table_and_the_score(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caught: list[bool], status: int
) -> None:
    """One row per mutant, the score, a line per survivor naming what it plants; exit 0 iff all caught."""
    results = canned(caught)
    monkeypatch.setattr(kdverify.cli.selftest, "run_selftest", lambda profile, on_result: results)
    assert main(["selftest", "--profile", "ci"]) == status
    out = capsys.readouterr().out
    assert re.split(r"\s{2,}", out.splitlines()[0].strip()) == list(kdverify.cli.selftest.HEADER)
    for result in results:
        row = next(line.split() for line in out.splitlines() if result.mutant.name in line.split())
        assert row[:3] == [result.claim.id, result.mutant.name, "caught" if result.caught else "SURVIVED"]
    assert f"mutation score {sum(caught)}/{len(caught)} on profile ci" in out
    survivors = [r for r in results if not r.caught]
    for result in survivors:
        assert f"survived: {result.claim.id}/{result.mutant.name}: {result.mutant.description}" in out
    assert out.count("survived:") == len(survivors)
