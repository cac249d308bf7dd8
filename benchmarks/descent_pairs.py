"""CPU per (claim, family) pair of the claims about gradient descent itself (``Claim.literal_descent``)
at a given number of examples per pair: ``python benchmarks/descent_pairs.py EXAMPLES --out FILE``.

Runs :func:`kdverify.claims.runner.search` on every pair of those claims under the ``ci`` profile
with ``descent_examples=EXAMPLES``, one pair after another, and records process CPU and wall time,
decided and undecided examples per pair. It imports only ``kdverify``, so the same file measures any
tree (``PYTHONPATH=<tree> python benchmarks/descent_pairs.py …``): before/after side by side.
CPU time, because the machine is shared and wall time follows its load.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time
from dataclasses import replace
from typing import Any

from kdverify._util.jsonio import write_json_atomic
from kdverify.claims.profiles import get_profile
from kdverify.claims.registry import all_claims
from kdverify.claims.runner import search
from kdverify.claims.suite import budget_for, plan


def descent_pairs(examples: int) -> dict[str, Any]:
    """Per-pair CPU and wall seconds, decided and undecided examples, and the totals."""
    profile = replace(get_profile("ci"), descent_examples=examples)
    pairs = plan([claim.id for claim in all_claims() if claim.literal_descent])
    budget = budget_for(profile, pairs)
    rows, load = [], os.getloadavg()
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    for claim, family in pairs:
        cpu, wall = time.process_time(), time.perf_counter()
        result = search(claim, family, profile, budget=budget)
        rows.append(
            {
                "claim": claim.id,
                "family": family,
                "verdict": result.verdict,
                "examples": result.examples,
                "informative": result.informative,
                "undecided": result.undecided,
                "cpu": round(time.process_time() - cpu, 3),
                "wall": round(time.perf_counter() - wall, 3),
            }
        )
        print(rows[-1], flush=True)
    total = {
        "cpu": round(time.process_time() - started_cpu, 2),
        "wall": round(time.perf_counter() - started_wall, 2),
        "load_start": load,
        "load_end": os.getloadavg(),
        "examples": sum(row["examples"] for row in rows),
        "undecided": sum(row["undecided"] for row in rows),
    }
    return {"examples_per_pair": examples, "rows": rows, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples", type=int, help="examples per literal-descent pair")
    parser.add_argument("--out", required=True, help="JSON file for the figures")
    args = parser.parse_args()
    figures = descent_pairs(args.examples)
    write_json_atomic(args.out, figures)
    print(figures["total"])


if __name__ == "__main__":
    main()
