"""The self-test's promise (issues 6 and 10): on the ci profile every theorem has a mutant and every
mutant is killed (caught by the claim's own search on some family); every mutant runs on every
family of its claim, so ``kdverify selftest`` prints a (claim, family) × mutant table, the score, and the pairs
that catch nothing, and exits 0 only when every mutant is killed.

The kill test runs the self-test on the ci profile with at most :data:`EXAMPLES` examples per
(claim, family, mutant) search instead of the profile's 12, and runs risk-bound only on the families
of :data:`RISK_BOUND_FAMILIES`: on the others each of its examples trains 300 students on slowly
converging data (anisotropic, mixture, gaussian-mixture, digits: about 130 s of a 190 s run at three
examples). That keeps it near a minute; the full ``kdverify selftest`` measures every pair."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import kdverify.claims.selftest
import kdverify.cli.selftest
from kdverify.claims.base import Claim, Mutant
from kdverify.claims.profiles import PROFILES
from kdverify.claims.registry import all_claims
from kdverify.claims.runner import SearchResult
from kdverify.claims.selftest import MutantResult, Outcome, mutant_cases, pair_powers, run_selftest
from kdverify.cli import main

CI = PROFILES["ci"]
CASES = mutant_cases()
EXAMPLES = 3
RISK_BOUND_FAMILIES = ("isotropic", "beta-polarised", "margin", "discrete", "breast-cancer")


@pytest.fixture(scope="module")
def results() -> dict[tuple[str, str], MutantResult]:
    """Every mutant on every family of its claim (risk-bound's on :data:`RISK_BOUND_FAMILIES`),
    by ``(claim id, mutant name)``."""
    others = [claim.id for claim in all_claims() if claim.mutants and claim.id != "risk-bound"]
    found = run_selftest(CI, others, max_examples=EXAMPLES)
    found += run_selftest(CI, ["risk-bound"], RISK_BOUND_FAMILIES, max_examples=EXAMPLES)
    return {(r.claim.id, r.mutant.name): r for r in found}


@pytest.fixture
def verdicts(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Replace the search by a lookup: a mutant is falsified on a family iff ``verdicts`` says so
    for its ``"claim/family"`` (it holds elsewhere), after two examples, at no cost."""
    table: dict[str, str] = {}

    def search(claim: Claim, family: str, profile: Any, **options: Any) -> SearchResult:
        return SearchResult(claim, family, table.get(f"{claim.id}/{family}", "holds"), examples=2, informative=2)

    monkeypatch.setattr(kdverify.claims.selftest, "search", search)
    return table


def test_every_theorem_has_a_mutant() -> None:
    """A theorem without a mutant has a check nobody has seen fail."""
    bare = [claim.id for claim in all_claims() if claim.status == "theorem" and not claim.mutants]
    assert not bare, f"theorems without mutants: {bare}"


def test_mutant_names_are_unique_within_a_claim() -> None:
    """``claim/mutant`` names a mutant in the CLI table and in these test ids."""
    names = [f"{claim.id}/{mutant.name}" for claim, mutant in CASES]
    assert len(names) == len(set(names))


def test_blindness_is_declared_on_the_claims_families() -> None:
    """A mutant's declared blind spots name families its claim is checked on, each with a reason."""
    stray = [(c.id, m.name, f) for c, m in CASES for f, reason in m.blind.items() if f not in c.families]
    assert not stray
    assert all(reason.strip() for _, m in CASES for reason in m.blind.values())


@pytest.mark.parametrize(("claim", "mutant"), CASES, ids=[f"{claim.id}/{mutant.name}" for claim, mutant in CASES])
def test_mutant_is_killed_on_ci(claim: Claim, mutant: Mutant, results: dict[tuple[str, str], MutantResult]) -> None:
    """The mutant is falsified on some family within the ci profile's budget (declared blind spots
    only explain pairs in the table; they never excuse a mutant)."""
    result = results[claim.id, mutant.name]
    assert result.killed, f"{claim.id}/{mutant.name} ({mutant.description}) survived: " + ", ".join(
        f"{o.family} {o.verdict} ({o.examples} decided, {o.undecided} undecided)" for o in result.outcomes
    )


def test_one_outcome_per_claim_family_and_mutant(verdicts: dict[str, str]) -> None:
    """The table has one entry per (claim, family, mutant), in the claims' family order, and one
    power per (claim, family) pair: the mutants of its claim it caught, or why it catches none."""
    verdicts.update({"risk-bound/discrete": "falsified", "angle-lemma/generic": "falsified"})
    results = run_selftest(CI)
    assert [(o.claim.id, o.family, o.mutant.name) for r in results for o in r.outcomes] == [
        (claim.id, family, mutant.name) for claim, mutant in CASES for family in claim.families
    ]
    powers = pair_powers(results)
    assert [(p.claim.id, p.family) for p in powers] == [
        (claim.id, family) for claim in all_claims() if claim.mutants for family in claim.families
    ]
    for power in powers:
        names = tuple(m.name for m in power.claim.mutants)
        assert power.mutants == names
        assert power.caught == (names if f"{power.claim.id}/{power.family}" in verdicts else ())
        blind = [m.blind.get(power.family) for m in power.claim.mutants]
        assert (power.reason is not None) == (not power.caught and all(blind))
    killed = {(r.claim.id, r.mutant.name) for r in results if r.killed}
    assert killed == {(c.id, m.name) for c, m in CASES if c.id in ("risk-bound", "angle-lemma")}


def test_claims_and_families_can_be_selected(verdicts: dict[str, str]) -> None:
    """``run_selftest(profile, ids, families)`` runs the named claims' mutants on the named
    families only, and leaves out claims checked on none of them."""
    results = run_selftest(CI, ["rate-margin"], ["discrete"])
    assert [(r.claim.id, [o.family for o in r.outcomes]) for r in results] == [
        ("rate-margin", ["discrete"]) for c, _ in CASES if c.id == "rate-margin"
    ]
    assert {r.claim.id for r in run_selftest(CI, families=["generic"])} == {
        c.id for c, _ in CASES if "generic" in c.families
    }


def test_a_claim_without_mutants_cannot_be_selected() -> None:
    """An open claim has no mutants: naming it is a usage error (exit 2)."""
    assert main(["selftest", "temperature-monotone"]) == 2


def canned(killed: list[bool]) -> list[MutantResult]:
    """Results of the first mutants on each family of their claims: the first ones killed or not
    as given, caught on the first family only (no search); the first mutant is declared blind there."""
    results = []
    for index, ((claim, mutant), hit) in enumerate(zip(CASES, killed, strict=False)):
        if index == 0:
            mutant = replace(mutant, blind={claim.families[0]: "measured"})
        outcomes = tuple(
            Outcome(claim, mutant, family, "falsified" if hit and i == 0 else "holds", 3, 2, 1, 0.5)
            for i, family in enumerate(claim.families)
        )
        results.append(MutantResult(claim, mutant, outcomes))
    return results


@pytest.mark.parametrize(
    ("killed", "status"), [([True, True], 0), ([True, False], 1)], ids=["all-killed", "one-survives"]
)
def test_cli_prints_a_table_per_claim_and_the_score(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    killed: list[bool],
    status: int,
) -> None:
    """A table per claim (a row per family, a column per mutant, its power), the score, a line per
    pair without power, per survivor and per stale blindness; exit 0 iff all killed; ``--json`` one
    record per outcome."""
    results = canned(killed)
    monkeypatch.setattr(
        kdverify.cli.selftest, "run_selftest", lambda profile, ids, families, max_examples, on_outcome: results
    )
    path = tmp_path / "selftest.json"
    assert main(["selftest", "--profile", "ci", "--json", str(path)]) == status
    lines = capsys.readouterr().out.splitlines()
    claim = results[0].claim
    assert {r.claim.id for r in results} == {claim.id}
    top = lines.index(next(line for line in lines if line.startswith("family")))
    assert lines[top - 1].startswith(f"{claim.id} (")
    table = [re.split(r"\s{2,}", line.strip()) for line in lines[top : top + 2 + len(claim.families)]]
    assert table[0] == ["family", *(r.mutant.name for r in results), "power", "seconds"]
    assert table[2][:-1] == [
        claim.families[0],
        *("caught@3" if hit else "missed 3" for hit in killed),
        f"{sum(killed)}/{len(killed)}",
    ]
    powered = int(any(killed))
    score = f"mutants killed {sum(killed)}/{len(killed)}, pairs with power {powered}/{len(claim.families)}"
    assert f"{score} on profile ci" in lines
    assert sum(line.startswith("no power:") for line in lines) == len(claim.families) - powered
    survivors = [r for r in results if not r.killed]
    for result in survivors:
        assert f"survived: {result.claim.id}/{result.mutant.name}: {result.mutant.description}" in lines
    assert sum(line.startswith("survived:") for line in lines) == len(survivors)
    first = results[0]
    assert lines.count(f"declared blind but caught: {claim.id}/{first.mutant.name} on {claim.families[0]}") == 1
    records = json.loads(path.read_text())["records"]
    assert [(r["claim"], r["family"], r["mutant"]) for r in records] == [
        (o.claim.id, o.family, o.mutant.name) for r in results for o in r.outcomes
    ]
    assert [r["caught_after"] for r in records] == [3 if o.caught else None for r in results for o in r.outcomes]
