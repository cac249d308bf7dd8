"""kdverify's benchmarks: ``python -m benchmarks [--quick] [--out FILE]``.

Prints each figure as it is measured and saves them as JSON (default ``benchmarks/results.json``)
with the machine they were measured on, after each section; ``--only`` re-measures some sections
and keeps the others already in the file. BLAS is single-threaded
(``kdverify._util.threads.limit_blas_threads``): threaded OpenBLAS makes batched SVDs 10–100× slower
on this class of machine.
"""

from __future__ import annotations

from kdverify._util.threads import limit_blas_threads

limit_blas_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from fractions import Fraction  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.engine import risk_curve_benchmark  # noqa: E402
from benchmarks.parallel import parallel_benchmark  # noqa: E402
from benchmarks.power import power_benchmark  # noqa: E402
from benchmarks.training import training_benchmark  # noqa: E402
from kdverify._util.jsonio import read_json, write_json_atomic  # noqa: E402
from kdverify.claims.registry import all_claims  # noqa: E402
from kdverify.data import Discrete  # noqa: E402
from kdverify.measure.expected import MAX_SUPPORT, exact_expected_risk  # noqa: E402


def machine() -> dict[str, Any]:
    """CPU, core count, numpy and its BLAS, thread settings."""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        lscpu = ""
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    config = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
    blas = config.get("Build Dependencies", {}).get("blas", {}) if isinstance(config, dict) else {}
    return {
        "cpu": fields.get("Model name", platform.processor()).strip(),
        "nproc": os.cpu_count(),
        "l2_cache": fields.get("L2 cache", "").strip(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": f"{blas.get('name', '?')} {blas.get('version', '')}".strip(),
        "blas_config": blas.get("openblas configuration", ""),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
    }


def hunting_throughput(max_examples: int, timeout: float = 300.0) -> list[dict[str, Any]]:
    """Examples per second of :func:`kdverify.claims.runner.search` for every claim
    (:mod:`benchmarks.hunt`, one process per claim so that one stuck search is cut after
    ``timeout`` seconds and reported as such)."""
    rows = []
    for claim in all_claims():
        command = [sys.executable, "-m", "benchmarks.hunt", claim.id, str(max_examples)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rate = row["examples_per_second"]
            print(f"  {claim.id:30s} {row['family']:15s} {row['examples']:3d} examples {rate:8.2f}/s")
        except subprocess.TimeoutExpired:
            row = {"claim": claim.id, "family": claim.families[0], "timeout": timeout}
            print(f"  {claim.id:30s} did not finish within {timeout:g} s")
        rows.append(row)
    return rows


def discrete_support(m: int, rng: np.random.Generator) -> Discrete:
    """``m`` distinct integer points in ``[-9, 9]^4`` off the boundary of ``w* = (1, 2, 3, 5)``,
    uniform exact weights."""
    w_star = [1, 2, 3, 5]
    points: list[tuple[int, ...]] = []
    while len(points) < m:
        point = tuple(int(v) for v in rng.integers(-9, 10, size=4))
        if point not in points and np.dot(point, w_star) != 0:
            points.append(point)
    return Discrete([list(point) for point in points], [Fraction(1, m)] * m, w_star=w_star)


def exact_growth(n: int = 10, limit: float = 60.0) -> dict[str, Any]:
    """Seconds of the exact ``E R_n`` as the support size ``m`` grows, until one call passes
    ``limit`` seconds or ``m`` reaches :data:`MAX_SUPPORT`; the largest ``m`` within one second
    and within one minute (extrapolated from the last doubling factor when not reached)."""
    rng = np.random.default_rng(0)
    timings = []
    for m in range(2, MAX_SUPPORT + 1):
        dist = discrete_support(m, rng)
        started = time.perf_counter()
        exact_expected_risk(dist, n)
        seconds = time.perf_counter() - started
        timings.append({"m": m, "seconds": seconds})
        print(f"  m={m:2d}: {seconds:.4f} s")
        if seconds > limit:
            break
    growth = timings[-1]["seconds"] / timings[-2]["seconds"]

    def largest(budget: float) -> dict[str, Any]:
        within = [t["m"] for t in timings if t["seconds"] <= budget]
        last = timings[-1]
        if last["seconds"] <= budget and last["m"] == MAX_SUPPORT:
            return {"m": last["m"], "how": f"measured; MAX_SUPPORT={MAX_SUPPORT} is the library's limit"}
        if last["seconds"] > budget:
            return {"m": max(within), "how": "measured"}
        extra = int(np.log(budget / last["seconds"]) / np.log(growth))
        return {"m": last["m"] + extra, "how": f"extrapolated at ×{growth:.2f} per point"}

    return {
        "n": n,
        "timings": timings,
        "growth_per_point": growth,
        "one_second": largest(1.0),
        "one_minute": largest(60.0),
    }


def check_wall_time() -> dict[str, Any]:
    """``kdverify check`` on its default profile, once, as a subprocess."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kdverify", "check"], capture_output=True, text=True, check=False)
    return {
        "seconds": time.perf_counter() - started,
        "exit_status": done.returncode,
        "last_line": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
    }


SECTIONS = ("engine", "training", "power", "hunting", "exact", "check", "parallel")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results.json", help="JSON file of the figures")
    parser.add_argument("--quick", action="store_true", help="a small version of every benchmark (smoke test)")
    parser.add_argument(
        "--engine-n",
        default=None,
        help="engine section: comma-separated n (default all of 1..50), to measure a subset of the workload",
    )
    parser.add_argument("--engine-trials", type=int, default=500, help="engine section: training sets per n")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections: {','.join(SECTIONS)}")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    # Sections already measured stay in the file; each new one is saved as soon as it is done.
    results: dict[str, Any] = read_json(args.out) if os.path.exists(args.out) and not args.quick else {}
    results.update(machine=machine(), quick=args.quick)
    print("machine:", results["machine"])
    sizes = None if args.engine_n is None else [int(n) for n in args.engine_n.split(",")]
    runs = {
        "engine": lambda: (
            risk_curve_benchmark(dim=10, max_n=10, trials=40, loop_trials=10)
            if args.quick
            else risk_curve_benchmark(sizes=sizes, trials=args.engine_trials, loop_trials=args.engine_trials // 20)
        ),
        "training": lambda: (
            training_benchmark(dim=10, sizes=[2, 5, 10], trials=40, loop_trials=2)
            if args.quick
            else training_benchmark(sizes=sizes, trials=args.engine_trials, loop_trials=4)
        ),
        "power": lambda: power_benchmark(20 if args.quick else 200),
        "hunting": lambda: hunting_throughput(2, timeout=60.0) if args.quick else hunting_throughput(10),
        "exact": lambda: exact_growth(limit=1.0 if args.quick else 60.0),
        "check": check_wall_time,
        "parallel": lambda: parallel_benchmark(20 if args.quick else 240),
    }
    for name in chosen:
        print(f"{name}:")
        results[name] = runs[name]()
        write_json_atomic(args.out, results)
    if "engine" in chosen:
        for key in ("speedups_vs_numpy_loop", "cpu_speedups_vs_numpy_loop", "gd_gflops", "fraction_of_matmul"):
            value = results["engine"][key]
            print(f"  {key}: {value if isinstance(value, dict) else f'{value:.3g}'}")
    if "training" in chosen:
        for key in ("speedups", "cpu_speedups", "risk_agreement"):
            print(f"  {key}: {results['training'][key]}")
    if "check" in chosen:
        print(f"  {results['check']['seconds']:.1f} s, exit {results['check']['exit_status']}")
    if "parallel" in chosen:
        print(f"  scaling efficiency: {results['parallel']['efficiency']}")
    print(f"wrote {args.out}")
    return 0
