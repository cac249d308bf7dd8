"""The README's promises: its two opening commands (the second is exactly what CI runs), its
claims table (generated from the registry) and its Python examples, which are executed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kdverify.cli.list_claims import markdown_table

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_opens_with_the_main_job_and_the_test_command() -> None:
    """The first two code blocks install and run `kdverify check`, then the tests; .ci/run runs the latter."""
    blocks = re.findall(r"```\n(.*?)\n```", README, flags=re.S)
    assert blocks[0].endswith("kdverify check")
    assert blocks[1].endswith("pytest --hypothesis-profile=ci")
    assert blocks[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_claims_table_matches_the_registry() -> None:
    """The README's table is `kdverify list --markdown` verbatim."""
    assert markdown_table() in README


@pytest.mark.parametrize("index", range(len(re.findall(r"```python\n", README))))
def test_python_examples_run(index: int) -> None:
    """Every Python example in the README runs (and a test function it defines passes)."""
    code = re.findall(r"```python\n(.*?)\n```", README, flags=re.S)[index]
    namespace: dict[str, object] = {}
    exec(compile(code, f"README example {index}", "exec"), namespace)
    for name, value in namespace.items():
        if name.startswith("test_") and callable(value):
            value()
