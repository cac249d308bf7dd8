"""The same command with the same seed gives byte-identical output (issue 6).

Every command runs in a fresh interpreter (``python -m kdverify``), as a user would, because
what hypothesis generates depends on process state: it mixes constants mined from the loaded
local modules into its choices, so an in-process run under pytest is not "the same command".
Byte-identity holds for one kdverify source tree and one hypothesis version.

``check`` and ``hunt`` report wall times in ``"seconds"``; ``--no-timings`` writes ``null``
there (the key stays, so the format does not change) and prints no times. A hunt's ``--out``
directory is part of its input: its example database makes a second hunt replay what the first
found (see ``test_durable_hunts.py``). "The same hunt" therefore means the same command on a
fresh ``--out`` directory, and the hunts below run in two of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from kdverify.claims.base import Evidence, Instance
from kdverify.claims.registry import get_claim
from kdverify.claims.runner import SearchResult
from kdverify.cli._table import verdict_rows

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def kdverify(arguments: list[str], cwd: Path) -> str:
    """Run ``python -m kdverify ARGUMENTS`` in ``cwd``; its standard output (exit 0 or 1)."""
    completed = subprocess.run(
        [sys.executable, "-m", "kdverify", *arguments],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stderr
    return completed.stdout


def without_timings(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with every claim's ``"seconds"`` set to ``None``."""
    return {**payload, "claims": [{**entry, "seconds": None} for entry in payload["claims"]]}


CHECK = ["check", "risk-bound", "--family", "isotropic", "--family", "discrete"]


def test_check_with_no_timings_is_byte_identical(tmp_path: Path) -> None:
    """Two runs of ``check --no-timings`` write the same JSON and print the same table; two runs
    without the flag carry measured seconds, and their JSON differs from it in nothing else."""
    outputs, payloads = [], []
    for run, flags in (("a", ["--no-timings"]), ("b", ["--no-timings"]), ("timed-1", []), ("timed-2", [])):
        stdout = kdverify([*CHECK, *flags, "--json", f"{run}.json"], tmp_path)
        outputs.append((stdout, (tmp_path / f"{run}.json").read_bytes()))
        payloads.append(json.loads(outputs[-1][1]))
    assert outputs[0] == outputs[1]
    untimed, _, timed_1, timed_2 = payloads
    assert [entry["seconds"] for entry in untimed["claims"]] == [None, None]
    assert all(isinstance(entry["seconds"], float) for entry in timed_1["claims"] + timed_2["claims"])
    assert without_timings(timed_1) == without_timings(timed_2) == untimed


def test_seeded_check_is_byte_identical(tmp_path: Path) -> None:
    """A non-derandomised profile with ``--seed`` is reproducible too."""
    seeded = [*CHECK, "--profile", "dev", "--seed", "3", "--no-timings"]
    outputs = [
        (kdverify([*seeded, "--json", f"{run}.json"], tmp_path), (tmp_path / f"{run}.json").read_bytes())
        for run in ("a", "b")
    ]
    assert outputs[0] == outputs[1]


def test_hunt_on_fresh_directories_is_byte_identical(tmp_path: Path) -> None:
    """Two hunts with one seed on two fresh ``--out`` directories agree byte for byte: JSON,
    certificates and output (one family falsified, one where the claim survives)."""
    hunt = ["hunt", "monotone-risk-pointwise", "--family", "anisotropic", "--family", "margin"]
    runs = []
    for out in ("out-1", "out-2"):
        flags = ["--max-examples", "60", "--seed", "5", "--no-timings", "--out", out, "--json", f"{out}/hunt.json"]
        stdout = kdverify([*hunt, *flags], tmp_path)
        files = {path.name: path.read_bytes() for path in (tmp_path / out).glob("*.json")}
        runs.append((stdout.replace(out, "OUT"), files))
    assert runs[0] == runs[1]
    assert {"hunt.json", "monotone-risk-pointwise--anisotropic.json"} <= set(runs[0][1]), runs[0][0]


def test_curve_is_byte_identical(tmp_path: Path) -> None:
    """Two ``curve`` runs with one seed write identical JSON, CSV and PNG files."""
    pytest.importorskip("matplotlib")
    curve = ["curve", "--family", "isotropic", "--param", "dim=3", "--n", "2,5", "--trials", "12", "--seed", "7"]
    outputs = []
    for out in ("out-1", "out-2"):
        stdout = kdverify([*curve, "--out", out], tmp_path)
        files = {path.name: path.read_bytes() for path in sorted((tmp_path / out).iterdir())}
        outputs.append((stdout.replace(out, "OUT"), files))
    assert outputs[0] == outputs[1]
    assert sorted(outputs[0][1]) == ["isotropic-curve.csv", "isotropic-curve.json", "isotropic-curve.png"]


def test_verdict_rows_read_the_json_like_the_evidence() -> None:
    """The verdict table is rebuilt from ``check --json`` entries without changing a cell, so
    ``check`` and the report share one row builder; exact sides come back as Fractions."""
    evidence = Evidence(False, Fraction(1, 3), "<=", Fraction(2, 7_000_000_000_001), exact=True)
    result = SearchResult(get_claim("temperature-monotone"), "generic", verdict="falsified", evidence=evidence)
    result.counterexample = Instance("generic", {"w0": [1, 0]})
    entry = json.loads(json.dumps(result.to_json(timings=False)))
    row = ["temperature-monotone", "open", "generic", "falsified", "0/0", evidence.summary(), ""]
    assert verdict_rows([entry]) == [row]
    survivor = SearchResult(get_claim("temperature-monotone"), "generic", informative=2, examples=3)
    assert verdict_rows([survivor.to_json()])[0][3:] == ["no counterexample", "2/3", "", ""]
    nothing = SearchResult(get_claim("temperature-monotone"), "generic", examples=3)
    nothing.settle()
    assert verdict_rows([nothing.to_json()])[0][3:5] == ["vacuous", "0/3"]
