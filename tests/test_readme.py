"""The README's promises: its two opening commands (the second is exactly what CI runs), its
claims table (generated from the registry) and its Python examples, which are executed."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from kdverify.claims.certificates import certificate_directory
from kdverify.claims.registry import all_claims
from kdverify.cli.list_claims import markdown_table

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["pytester"]

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_opens_with_the_main_job_and_the_test_command() -> None:
    """The first two code blocks install and run `kdverify check`, then the tests; .ci/run runs the latter."""
    blocks = re.findall(r"```\n(.*?)\n```", README, flags=re.S)
    assert blocks[0].endswith("kdverify check --workers auto")  # the default profile, on every core
    assert blocks[1].endswith("pytest -n auto --kdverify-profile=ci")
    assert blocks[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_claims_table_matches_the_registry() -> None:
    """The README's table is `kdverify list --markdown` verbatim."""
    assert markdown_table() in README


@pytest.mark.parametrize("index", range(len(re.findall(r"```python\n", README))))
def test_python_examples_run(index: int) -> None:
    """Every Python example in the README runs (and a test function it defines passes; those that
    take pytest fixtures run under pytest, below)."""
    code = re.findall(r"```python\n(.*?)\n```", README, flags=re.S)[index]
    namespace: dict[str, object] = {}
    exec(compile(code, f"README example {index}", "exec"), namespace)
    for name, value in namespace.items():
        if name.startswith("test_") and callable(value) and not inspect.signature(value).parameters:
            value()


def test_plugin_example_runs_under_pytest(pytester: pytest.Pytester) -> None:
    """The README's test file for a user's trainer, run by pytest as the README shows it, on the
    cases of the generic and discrete families (integer data, where ties in score and in angle
    occur; the whole file takes a minute): its trainer passes and its weight-decayed trainer is the
    expected failure."""
    (example,) = [code for code in re.findall(r"```python\n(.*?)\n```", README, flags=re.S) if "claim_case" in code]
    command = re.search(r"\$ (pytest .*test_my_student\.py)", README)
    assert command, "the README shows the command that runs its plugin example"
    pytester.makepyfile(test_my_student=example)
    arguments = command.group(1).split()[1:]
    cases = "generic or discrete"
    result = pytester.runpytest_subprocess(*arguments, "-p", "kdverify.testing.pytest_plugin", "-k", cases)
    result.assert_outcomes(passed=8, xfailed=1)


def test_verdict_table_covers_every_pair_and_every_stored_certificate() -> None:
    """The printed table in the README lists every (claim, family) pair of the registry; theorems
    hold, and exactly the pairs with a stored certificate are falsified."""
    table = re.search(r"```text\n\$ kdverify check[^\n]*\n(.*?)\n```", README, flags=re.S)
    assert table, "the README shows `kdverify check` as printed"
    rows = {tuple(line.split()[:4]) for line in table.group(1).splitlines()[2:] if line.strip()}
    stored = {path.stem for path in certificate_directory().glob("*.json")}
    for claim in all_claims():
        for family in claim.families:
            falsified = f"{claim.id}--{family}" in stored
            # An open claim's search may also find no informative instance (vacuous); a theorem never.
            verdicts = ["falsified"] if falsified else (["holds"] if claim.status == "theorem" else ["no", "vacuous"])
            if claim.quantifier == "exists":  # searched as its negation: a violation is a witness
                verdicts = ["witness"] if falsified else ["no", "vacuous"]
            assert any((claim.id, claim.status, family, v) in rows for v in verdicts), (claim.id, family)


def test_profile_table_is_the_profiles() -> None:
    """The README's profile table states every budget of every profile as the code has it."""
    from kdverify.claims.profiles import PROFILES

    for profile in PROFILES.values():
        row = re.search(rf"^\| `{profile.name}` \|(.*)\|$", README, flags=re.M)
        assert row, f"no README row for profile {profile.name}"
        cells = [cell.strip() for cell in row.group(1).split("|")]
        numbers = [int(cell.replace(" ", "")) for cell in cells[:6]]
        assert numbers == [
            profile.max_examples,
            profile.statistical_examples,
            profile.descent_examples,
            profile.given_examples,
            profile.trials,
            profile.max_iter,
        ], profile.name
        assert cells[6] == ("yes" if profile.derandomize else "no") and cells[7] == profile.description
