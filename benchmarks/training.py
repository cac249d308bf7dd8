"""The risk-curve workload (BENCHMARKS.md §1) trained three ways, side by side in one run.

Workload: isotropic data, d = 50, n in ``sizes`` (default 1..50), ``trials`` training sets per n
(500 in the full workload), two students per set, the distilled one and the hard-label one.

Engines:

- ``auto``: :func:`kdverify.solvers.fit_distilled` / :func:`~kdverify.solvers.fit_hard_label` with
  ``method="auto"``: the closed-form limit in ``w0 + span X``, certified by the a-posteriori
  certificate of gradient descent (Newton in the span for what it refuses), and the max-margin
  direction (the hard-label student's limit direction), KKT-certified;
- ``batched-gd``: the same entries with ``method="gd"``: today's batched literal gradient descent
  (step ``1/L_max``, the certificate checked every 10 steps, ≤ ``max_iter`` = 20 000 steps, then
  batched Newton for the trials it left) and hard-label GD for exactly ``hard_iterations`` steps;
- ``numpy-loop``: the per-trial loop a researcher would write in plain numpy: the same gradient
  step, stopped at the same certified accuracy (the certificate formula of
  :func:`kdverify.limits.span_error_bound`, checked every 10 steps) or at ``loop_cap`` = 10⁶ steps,
  no Newton; hard-label GD for ``hard_iterations`` steps. It runs on the first ``loop_trials``
  sets of every n and is extrapolated linearly to ``trials`` (labelled as such).

For every n the three engines run one after the other on the same sets, so they share the load.
The distilled students of the three are compared through their certificates: two certified
students are within ``bound_a + bound_b`` of each other, so their transfer risks (the angle to
``w*`` over π for isotropic data) differ by at most ``asin((bound_a + bound_b)/‖w‖)/π``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks.engine import RTOL, loop_distilled, loop_hard
from kdverify.distributions import Isotropic
from kdverify.solvers import fit_distilled, fit_hard_label


def _risk_gap(family: Isotropic, a: np.ndarray, b: np.ndarray, bound_a: np.ndarray, bound_b: np.ndarray):
    """Largest ``|R(a) − R(b)|`` and the largest allowed by the certificates."""
    gap = np.abs(np.asarray(family.risk(a)) - np.asarray(family.risk(b)))
    norm = np.minimum(np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1))
    allowed = np.arcsin(np.minimum(1.0, (bound_a + bound_b) / norm)) / np.pi
    return float(np.max(gap)), float(np.max(allowed)), bool(np.all(gap <= allowed + 1e-15))


def training_benchmark(
    *,
    dim: int = 50,
    sizes: list[int] | None = None,
    trials: int = 500,
    loop_trials: int = 4,
    max_iter: int = 20_000,
    hard_iterations: int = 1_000,
    loop_cap: int = 1_000_000,
    seed: int = 0,
    verbose: bool = True,
) -> dict[str, Any]:
    """Seconds (wall and process CPU) per engine and student, speed-ups, and the certified
    agreement of the distilled students' risks (module docstring)."""
    sizes = sizes or list(range(1, dim + 1))
    family = Isotropic(dim)
    teacher = family.teacher()
    engines = ("auto", "batched_gd", "numpy_loop")
    wall = {e: {"distilled": 0.0, "hard": 0.0} for e in engines}
    cpu = {e: {"distilled": 0.0, "hard": 0.0} for e in engines}
    rows = []
    worst = {"auto_vs_gd": [0.0, 0.0, True], "auto_vs_loop": [0.0, 0.0, True]}
    scale = trials / loop_trials

    def timed(engine: str, student: str, call):
        w0, c0 = time.perf_counter(), time.process_time()
        out = call()
        wall[engine][student] += time.perf_counter() - w0
        cpu[engine][student] += time.process_time() - c0
        return out

    for n in sizes:
        data = family.sample(n, np.random.default_rng([seed, n]), trials=trials)
        auto = timed("auto", "distilled", lambda x=data: fit_distilled(x, teacher))
        timed("auto", "hard", lambda x=data: fit_hard_label(x, teacher))
        gd = timed("batched_gd", "distilled", lambda x=data: fit_distilled(x, teacher, method="gd", max_iter=max_iter))
        timed("batched_gd", "hard", lambda x=data: fit_hard_label(x, teacher, method="gd", iterations=hard_iterations))
        loop_ws: list[np.ndarray] = []
        loop_bounds: list[float] = []
        loop_steps: list[int] = []
        for b in range(loop_trials):
            points = data[b]
            w, bound, _, steps = timed(
                "numpy_loop",
                "distilled",
                lambda p=points: loop_distilled(p, teacher.logits(p), teacher.target, loop_cap),
            )
            loop_ws.append(w)
            loop_bounds.append(bound)
            loop_steps.append(steps)
            labels = teacher.hard_labels(points)
            timed("numpy_loop", "hard", lambda p=points, y=labels: loop_hard(p, y, hard_iterations))
        loop_w, loop_bound = np.array(loop_ws), np.array(loop_bounds)
        loop_tol = np.asarray(auto.tol)[:loop_trials]
        both = np.asarray(auto.converged) & np.asarray(gd.converged)
        comparisons = {
            "auto_vs_gd": _risk_gap(family, auto.w[both], gd.w[both], auto.bound[both], gd.bound[both]),
        }
        certified_loop = (loop_bound <= loop_tol) & np.asarray(auto.converged)[:loop_trials]
        if np.any(certified_loop):
            comparisons["auto_vs_loop"] = _risk_gap(
                family,
                auto.w[:loop_trials][certified_loop],
                loop_w[certified_loop],
                auto.bound[:loop_trials][certified_loop],
                loop_bound[certified_loop],
            )
        for key, (gap, allowed, ok) in comparisons.items():
            worst[key] = [max(worst[key][0], gap), max(worst[key][1], allowed), worst[key][2] and ok]
        row = {
            "n": n,
            "auto": auto.counts(),
            "batched_gd": gd.counts(),
            "batched_gd_steps": int(np.sum(gd.iterations)),
            "loop_steps": [int(s) for s in loop_steps],
            "loop_uncertified": int(np.sum(loop_bound > loop_tol)),
            "mean_risk": {
                "auto": float(np.mean(family.risk(auto.w))),
                "batched_gd": float(np.mean(family.risk(gd.w))),
            },
        }
        rows.append(row)
        if verbose:
            print(
                f"  n={n}: auto {auto.counts()} gd {gd.counts()} loop steps {row['loop_steps']} "
                f"(uncertified {row['loop_uncertified']}); cumulative wall auto "
                f"{sum(wall['auto'].values()):.1f} s, gd {sum(wall['batched_gd'].values()):.1f} s, loop "
                f"{sum(wall['numpy_loop'].values()):.1f} s (×{scale:g})",
                flush=True,
            )
    for table in (wall, cpu):
        for student in ("distilled", "hard"):
            table["numpy_loop"][student] *= scale
        for engine in engines:
            table[engine]["total"] = table[engine]["distilled"] + table[engine]["hard"]

    def ratio(table: dict, engine: str, key: str) -> float:
        return table[engine][key] / table["auto"][key]

    return {
        "workload": {
            "family": "isotropic",
            "dim": dim,
            "sizes": sizes,
            "trials": trials,
            "loop_trials": loop_trials,
            "loop_extrapolation": scale,
            "max_iter": max_iter,
            "hard_iterations": hard_iterations,
            "loop_cap": loop_cap,
            "rtol": RTOL,
            "seed": seed,
        },
        "seconds": wall,
        "cpu_seconds": cpu,
        "speedups": {
            engine: {key: ratio(wall, engine, key) for key in ("distilled", "hard", "total")}
            for engine in ("batched_gd", "numpy_loop")
        },
        "cpu_speedups": {
            engine: {key: ratio(cpu, engine, key) for key in ("distilled", "hard", "total")}
            for engine in ("batched_gd", "numpy_loop")
        },
        "risk_agreement": {
            key: {"max_risk_difference": gap, "max_allowed_by_certificates": allowed, "within": ok}
            for key, (gap, allowed, ok) in worst.items()
        },
        "per_n": rows,
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    from kdverify._threads import limit_blas_threads
    from kdverify.jsonio import write_json_atomic

    limit_blas_threads()
    parser = argparse.ArgumentParser(prog="python -m benchmarks.training", description=__doc__.split("\n")[0])
    parser.add_argument("--n", default=None, help="comma-separated sizes (default 1..50)")
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--loop-trials", type=int, default=4)
    parser.add_argument("--out", default="benchmarks/training.json")
    args = parser.parse_args(argv)
    sizes = None if args.n is None else [int(n) for n in args.n.split(",")]
    result = training_benchmark(sizes=sizes, trials=args.trials, loop_trials=args.loop_trials)
    for key in ("seconds", "cpu_seconds", "speedups", "cpu_speedups", "risk_agreement"):
        print(f"{key}: {result[key]}")
    write_json_atomic(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
