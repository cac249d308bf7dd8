"""The Markdown report: the verdict table of ``kdverify check``, the five experiments and the
section beyond the paper (THEORY.md §8).

The check runs in a child process (``python -m kdverify check --json``, i.e.
:func:`kdverify.claims.suite.plan` and :func:`~kdverify.claims.suite.run` under the chosen
profile) while this process runs the experiments, so a two-core machine does both at once; the
table is rebuilt from the check's JSON file, which the report keeps beside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from kdverify._util.jsonio import read_json, write_json_atomic
from kdverify.claims.profiles import get_profile
from kdverify.claims.suite import plan
from kdverify.cli._table import VERDICT_HEADER, verdict_rows
from kdverify.errors import InvalidArgument
from kdverify.experiments.files import ensure_directory, write_text_atomic
from kdverify.experiments.paper import EXPERIMENTS, SETTINGS, Scale, Section, markdown_table

__all__ = ["SCALES", "CheckRun", "scale_for", "write_report"]

SCALES: dict[str, Scale] = {
    "ci": Scale(trials=60, deep_trials=10),
    "dev": Scale(trials=200, deep_trials=24),
    "thorough": Scale(trials=1000, deep_trials=100),
    "hunt": Scale(trials=2000, deep_trials=200),
}
"""Experiment budgets per profile: ``ci`` keeps the whole report to a few minutes on two cores."""

PAPER_MINIMUM = Scale(trials=200, deep_trials=30)
"""The least budget of the paper's settings (d = 1000 needs tighter intervals than ``ci``'s 60
training sets to separate its small risks); larger profiles keep their own."""


def scale_for(profile: str, trials: int | None = None, max_n: int | None = None, settings: str = "ci") -> Scale:
    """The profile's scale on the experiments' ``settings`` (``ci`` or ``paper``; ``paper`` spends
    at least :data:`PAPER_MINIMUM`); ``trials`` overrides the training sets per point (and a
    fifth of that, at least two, per deep-student point), ``max_n`` caps every grid of sizes."""
    if settings not in SETTINGS:
        raise InvalidArgument(f"settings={settings!r} is unknown; choose from {', '.join(SETTINGS)}.")
    base = replace(SCALES[get_profile(profile).name], settings=SETTINGS[settings])
    if settings == "paper":
        base = replace(
            base,
            trials=max(base.trials, PAPER_MINIMUM.trials),
            deep_trials=max(base.deep_trials, PAPER_MINIMUM.deep_trials),
        )
    if trials is not None:
        base = replace(base, trials=trials, deep_trials=max(2, trials // 5))
    return replace(base, max_n=max_n)


@dataclass
class CheckRun:
    """``kdverify check`` running in a child process, writing ``check.json`` and ``check.txt``."""

    process: subprocess.Popen[bytes]
    json_path: Path
    text_path: Path

    @classmethod
    def start(
        cls, directory: Path, profile: str, claims: Sequence[str], families: Sequence[str], seed: int
    ) -> CheckRun:
        """Validate the selection in-process (:func:`plan`), then start the child, seeded and
        without wall times so that ``check.json`` is reproducible."""
        plan(claims, families)
        json_path, text_path = directory / "check.json", directory / "check.txt"
        command = [sys.executable, "-m", "kdverify", "check", *claims, "--profile", profile, "--seed", str(seed)]
        command += ["--no-timings", "--json", str(json_path)]
        for family in families:
            command += ["--family", family]
        with open(text_path, "wb") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=dict(os.environ))
        return cls(process, json_path, text_path)

    def finish(self) -> dict[str, Any]:
        """Wait for the child; its JSON (exit 0: no theorem falsified, 1: one was or a check
        crashed — both are results); any other exit is an error with the child's output."""
        status = self.process.wait()
        if status not in (0, 1):
            output = self.text_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise InvalidArgument(f"kdverify check exited with status {status}:\n{output}")
        payload: dict[str, Any] = read_json(self.json_path)
        payload["exit_status"] = status
        return payload


def verdict_section(check: dict[str, Any]) -> str:
    """Summary counts and the verdict table (rows as in ``kdverify check``'s terminal table)."""
    claims = check["claims"]
    rows = [[f"`{row[0]}`", *row[1:5], str(row[5]).replace("|", "\\|"), row[6]] for row in verdict_rows(claims)]
    theorems = [e for e in claims if e["status"] == "theorem"]
    falsified_theorems = [e for e in theorems if e["verdict"] == "falsified"]
    open_claims = [e for e in claims if e["status"] == "open"]
    summary = (
        f"`kdverify check --profile {check['profile']}` (exit status {check['exit_status']}): "
        f"{len(claims)} (claim, family) pairs; theorems: {sum(e['verdict'] == 'holds' for e in theorems)} hold, "
        f"{len(falsified_theorems)} falsified, {sum(e['verdict'] == 'vacuous' for e in theorems)} vacuous; "
        "open claims: "
        f"{sum(e['verdict'] == 'falsified' for e in open_claims)} falsified, "
        f"{sum(e['verdict'] == 'holds' for e in open_claims)} without counterexample; "
        f"{sum(e['verdict'] == 'error' for e in claims)} errors. The raw output is in `check.txt`, "
        "the full evidence in `check.json`."
    )
    return summary + "\n\n" + markdown_table(list(VERDICT_HEADER), rows)


def write_report(
    directory: str | os.PathLike[str],
    *,
    profile: str = "ci",
    seed: int = 0,
    scale: Scale | None = None,
    claims: Sequence[str] = (),
    families: Sequence[str] = (),
    experiments: Sequence[str] = tuple(EXPERIMENTS),
    tick: Callable[[str], None] = lambda note: None,
) -> Path:
    """Run the check and the experiments and write ``report.md`` (with its PNG figures and
    ``report.json``) into ``directory``; returns the Markdown file's path."""
    unknown = [name for name in experiments if name not in EXPERIMENTS]
    if unknown:
        raise InvalidArgument(f"experiment {unknown[0]!r} is unknown; choose from {', '.join(EXPERIMENTS)}.")
    scale = scale or scale_for(profile)
    out = ensure_directory(directory)
    check = CheckRun.start(out, profile, claims, families, seed)
    try:
        sections = [EXPERIMENTS[name](scale, out, seed, tick) for name in experiments]
    except BaseException:
        check.process.kill()
        check.process.wait()
        raise
    tick("waiting for kdverify check")
    verdicts = check.finish()
    write_json_atomic(
        out / "report.json",
        {"profile": profile, "seed": seed, "scale": asdict(scale), "sections": {s.key: s.data for s in sections}},
    )
    return write_text_atomic(out / "report.md", _markdown(profile, seed, scale, verdicts, sections))


def _markdown(profile: str, seed: int, scale: Scale, check: dict[str, Any], sections: list[Section]) -> str:
    parts = [
        "# kdverify report",
        f"Settings `{scale.settings.name}`"
        + (" (the paper's dimensions and sizes, THEORY.md §7)" if scale.settings.name == "paper" else "")
        + f", profile `{profile}`, seed {seed}: {scale.trials} training sets per Monte Carlo point "
        f"({scale.deep_trials} for deep students). Training method `{scale.method}`: "
        + (
            "distilled students are the closed-form limit P w*/T + P⊥w0, certified (rtol 1e-9) by the "
            "a-posteriori certificate of gradient descent (Newton in w0 + span X for any it refuses), hard-label "
            "students the max-margin direction"
            if scale.method == "auto"
            else f"distilled students by batched gradient descent ≤ {scale.max_iter} steps before Newton finishes, "
            "hard-label students by hard-label gradient descent"
        )
        + "; deep students by gradient descent. Under each figure, the paper's conclusions it tests and a verdict "
        "decided from its intervals (supports: they separate in the paper's direction; contradicts: the other way; "
        "inconclusive: they overlap). Intervals are 95% intervals per point "
        "(betting intervals for expected risks, exact Clopper–Pearson for proportions); they are not "
        "simultaneous. Numbers behind every figure are in `report.json`.",
        "## Verdicts",
        verdict_section(check),
    ]
    for section in sections:
        parts.append(f"## {section.title}")
        for index, figure in enumerate(section.figures):
            parts.append(f"![{section.title}]({figure})")
            parts += section.captions[index : index + 1]
        parts.append(section.text)
    return "\n\n".join(parts) + "\n"
