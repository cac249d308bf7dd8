"""Time to counterexample for every stored certificate, at two commits side by side.

``python -m benchmarks.hunt_ttc [--before COMMIT] [--cap SECONDS]``: for each certificate in
``kdverify/certificates/`` (an open claim falsified on a family), the search that
``kdverify hunt CLAIM --family FAMILY --seed 0 --max-time CAP --out FRESH`` runs — the ``hunt``
profile, its timed budget (δ per statistical pair spent by ``anytime_alpha``), hypothesis seed 0,
an empty example database — until it finds the counterexample the hunt keeps (for open claims a
tie-free violation, see :func:`kdverify.claims.runner.search`), or for ``CAP`` seconds. Reported:
seconds and examples (decided + undecided, the hunt's own count) to that counterexample, not
counting the shrinking that follows, and the same for the first violation of any kind.

Each hunt runs in its own process on the tree under test (``PYTHONPATH``): this tree, and
``COMMIT`` exported by ``git archive`` into a temporary directory that is removed afterwards.
The two trees' hunts of a pair run one after the other, so they share the machine's load. This
file is run as a script in those processes and imports nothing but kdverify there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
BEFORE = "c5f50dc"
"""The commit before issue 11's first commit (``afda013``: solvers/train.py, betting intervals)."""


class _Found(BaseException):
    """Stops the search at its counterexample (a BaseException: hypothesis does not catch it)."""


def one_hunt(claim_id: str, family: str, cap: float, out: str) -> dict[str, Any]:
    """The hunt's search on one pair in this process's kdverify (child side)."""
    import kdverify
    from kdverify._util.threads import limit_blas_threads

    limit_blas_threads()
    from hypothesis.database import DirectoryBasedExampleDatabase

    from kdverify.claims.registry import get_claim
    from kdverify.claims.runner import search
    from kdverify.claims.suite import plan
    from kdverify.cli.hunt import TIMED_CAP, hunt_budget, hunt_profile

    claim = get_claim(claim_id)
    profile = hunt_profile(TIMED_CAP)
    budget = hunt_budget(profile, plan([claim.id], [family]), timed=True)
    started = time.perf_counter()
    row: dict[str, Any] = {"claim": claim_id, "family": family, "kdverify": str(Path(kdverify.__file__).parent)}
    row.update(first_violation=None, counterexample=None)

    def seen(result: Any, instance: Any, evidence: Any) -> None:
        found = {"seconds": time.perf_counter() - started, "examples": result.examples + result.undecided}
        if row["first_violation"] is None:
            row["first_violation"] = found
        if claim.status != "open" or evidence.tie_free is not False:
            row["counterexample"] = found
            raise _Found

    try:
        result = search(
            claim,
            family,
            profile,
            budget=budget,
            max_seconds=cap,
            seed=0,
            database=DirectoryBasedExampleDatabase(str(Path(out) / ".hypothesis")),
            on_violation=seen,
        )
        row.update(verdict=result.verdict, examples=result.examples + result.undecided, error=result.error)
    except _Found:
        row["verdict"] = "falsified"
    row["seconds"] = time.perf_counter() - started
    return row


def run_tree(tree: Path, claim_id: str, family: str, cap: float) -> dict[str, Any]:
    """One hunt in a fresh process on ``tree``, a fresh ``--out``; a process that outlives the cap
    by a minute (the search only checks the time between examples) is reported as such."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="kdverify-ttc-") as out:
        command = [sys.executable, str(HERE), "--one", claim_id, family, "--cap", str(cap), "--out", out]
        try:
            done = subprocess.run(command, env=env, cwd=out, capture_output=True, text=True, timeout=cap + 60)
        except subprocess.TimeoutExpired:
            return {"claim": claim_id, "family": family, "verdict": "killed", "seconds": cap + 60}
    if done.returncode != 0:
        return {"claim": claim_id, "family": family, "verdict": "crashed", "error": done.stderr.strip()[-500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def export(commit: str, into: str) -> Path:
    """``commit`` of this repository as a plain tree under ``into`` (``git archive``)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return Path(into)


def hunt_ttc(
    before: str = BEFORE,
    cap: float = 120.0,
    claims: list[str] | None = None,
    out: str | None = None,
    families: list[str] | None = None,
) -> dict[str, Any]:
    """Every stored certificate's pair (of ``claims`` and ``families``, when given) hunted on
    ``before`` and on this tree; the figures so far are written to ``out`` (JSON) after every pair."""
    from kdverify._util.jsonio import write_json_atomic

    stored = [json.loads(path.read_text()) for path in (ROOT / "kdverify" / "certificates").glob("*.json")]
    pairs = sorted(
        (c["claim"], c["family"])
        for c in stored
        if (not claims or c["claim"] in claims) and (not families or c["family"] in families)
    )
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    rows: list[dict[str, Any]] = []
    result = {"before": before, "after": head.stdout.strip(), "cap_seconds": cap, "seed": 0, "pairs": rows}
    with tempfile.TemporaryDirectory(prefix="kdverify-before-") as directory:
        old = export(before, directory)
        for claim_id, family in pairs:
            row = {"claim": claim_id, "family": family}
            for name, tree in (("before", old), ("after", ROOT)):
                row[name] = run_tree(tree, claim_id, family, cap)
                found = row[name].get("counterexample")
                shown = f"{found['seconds']:.2f} s, {found['examples']} examples" if found else f"> cap ({cap:g} s)"
                print(f"  {claim_id:28s} {family:14s} {name:6s} {shown} [{row[name]['verdict']}]", flush=True)
            rows.append(row)
            if out:
                write_json_atomic(out, result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hunt_ttc", description=__doc__.split("\n")[0])
    parser.add_argument("--before", default=BEFORE, help=f"the commit to compare with (default {BEFORE})")
    parser.add_argument("--cap", type=float, default=120.0, help="seconds per hunt (default 120)")
    parser.add_argument("--claim", action="append", help="only these claims' certificates (default: all)")
    parser.add_argument("--family", action="append", help="only these families' certificates (default: all)")
    parser.add_argument("--out", default="benchmarks/hunt_ttc.json")
    parser.add_argument("--one", nargs=2, metavar=("CLAIM", "FAMILY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one_hunt(*args.one, cap=args.cap, out=args.out)))
        return 0
    hunt_ttc(args.before, args.cap, args.claim, args.out, args.family)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
