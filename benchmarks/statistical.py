"""Hunting throughput of the statistical claims, comparable across trees:
``python benchmarks/statistical.py EXAMPLES CLAIM:FAMILY ... [--log FILE]`` prints one JSON line per
pair.

Each pair is :func:`kdverify.claims.runner.search` under the ``ci`` profile (derandomised) with
``EXAMPLES`` examples and one fixed per-check ``α`` (:data:`ALPHA`, the ``ci`` share at 20 examples
per statistical pair), after a 2-example warm-up of the same pair, so that the figures do not depend
on the tree's own profile numbers. Run it with another checkout first on ``PYTHONPATH`` to measure
that tree (``PYTHONPATH=/path/to/old python benchmarks/statistical.py …``). Process CPU time is
reported beside wall time: the machine is shared.

Only examples that can tell the claim from a false one are evidence: ``informative_size_checks``
counts the sizes of the examples that pass the claim's own non-vacuity test (its ``content``). A tree
older than those tests (issue 11's "before", 27 Nov) is run with ``--log FILE``, which writes every
timed example's instance and evidence as JSON, and judged by this tree's tests with
``python benchmarks/statistical.py --judge FILE``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from typing import Any

try:  # where the modules live since 30 Nov; the fallbacks let the 27 Nov tree be measured too
    from kdverify._util.threads import limit_blas_threads
except ImportError:  # pragma: no cover - an older tree on PYTHONPATH
    from kdverify._threads import limit_blas_threads  # type: ignore[no-redef]

limit_blas_threads()

from kdverify.claims.base import Budget, Evidence, Instance  # noqa: E402
from kdverify.claims.registry import get_claim  # noqa: E402
from kdverify.claims.runner import search  # noqa: E402

try:
    from kdverify.claims.profiles import get_profile
except ImportError:  # pragma: no cover - an older tree on PYTHONPATH
    from kdverify.profiles import get_profile  # type: ignore[no-redef]

ALPHA = 1e-3 / (20 * 46)
"""δ = 10⁻³ split over 20 examples on each of the 46 statistical pairs."""


def throughput(claim_id: str, family: str, examples: int) -> dict[str, Any]:
    """Examples and sample sizes compared per second (wall and CPU) of one pair's search: an
    example of a sweep check compares ``details["sizes"]`` sizes, any other one size."""
    profile = get_profile("ci")
    records: list[dict[str, Any]] = []

    def counted(instance: Instance, budget: Budget) -> Evidence:
        evidence = original.check(instance, budget)
        records.append({"instance": instance.to_json(), "evidence": evidence.to_json()})
        return evidence

    original = get_claim(claim_id)
    claim = replace(original, check=counted)
    budget = Budget(alpha=ALPHA, trials=profile.trials, max_iter=profile.max_iter)
    search(claim, family, profile, budget=budget, max_examples=2)
    records.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    result = search(claim, family, profile, budget=budget, max_examples=examples)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    count = result.examples + result.undecided
    sizes = sum(_sizes(record) for record in records)
    informative = _informative(claim_id, records)
    return {
        "claim": claim_id,
        "family": family,
        "examples": count,
        "size_checks": sizes,
        "informative_size_checks": informative,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "examples_per_cpu_s": round(count / cpu, 2),
        "size_checks_per_cpu_s": round(sizes / cpu, 2),
        "informative_size_checks_per_cpu_s": None if informative is None else round(informative / cpu, 2),
        "verdict": result.verdict,
        "records": records,
    }


def _sizes(record: dict[str, Any]) -> int:
    """The sample sizes one example compared: ``details["sizes"]`` of a sweep, else one."""
    return int(record["evidence"]["details"].get("sizes", 1))


def _informative(claim_id: str, records: list[dict[str, Any]]) -> int | None:
    """The sizes compared by the examples that pass the claim's non-vacuity test; ``None`` on a
    tree without such tests."""
    content = getattr(get_claim(claim_id), "content", None)
    if content is None:
        return None
    return sum(
        _sizes(record)
        for record in records
        if content.test(Instance.from_json(record["instance"]), Evidence.from_json(record["evidence"]))
    )


def judge(path: str) -> None:
    """Re-count a logged run's informative size-checks with this tree's non-vacuity tests."""
    with open(path, encoding="utf-8") as stream:
        runs = json.load(stream)
    for run in runs:
        informative = _informative(run["claim"], run["records"])
        assert informative is not None, "this tree has no non-vacuity tests to judge with"
        summary = {key: value for key, value in run.items() if key != "records"}
        summary.update(
            informative_size_checks=informative,
            informative_size_checks_per_cpu_s=round(informative / run["cpu_s"], 2),
            judged_by="this tree's content tests",
        )
        print(json.dumps(summary), flush=True)


def main(argv: list[str]) -> None:
    """``EXAMPLES CLAIM:FAMILY ... [--log FILE]`` or ``--judge FILE``."""
    if argv[0] == "--judge":
        judge(argv[1])
        return
    log = argv[argv.index("--log") + 1] if "--log" in argv else None
    pairs = [arg for arg in argv[1:] if ":" in arg]
    runs = []
    for pair in pairs:
        claim_id, family = pair.split(":")
        run = throughput(claim_id, family, int(argv[0]))
        runs.append(run)
        print(json.dumps({key: value for key, value in run.items() if key != "records"}), flush=True)
    if log is not None:
        with open(log, "w", encoding="utf-8") as stream:
            json.dump(runs, stream)


if __name__ == "__main__":
    main(sys.argv[1:])
