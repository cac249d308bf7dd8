"""The risk-curve workload (BENCHMARKS.md §1) trained three ways, side by side in one run.

Workload: isotropic data, d = 50, n in ``sizes`` (default 1..50), ``trials`` training sets per n
(500 in the full workload), two students per set, the distilled one and the hard-label one.

Engines:

- ``auto``: :func:`kdverify.training.fit_distilled` / :func:`~kdverify.training.fit_hard_label` with
  ``method="auto"``: the closed-form limit in ``w0 + span X``, certified by the a-posteriori
  certificate of gradient descent (Newton in the span for what it refuses), and the max-margin
  direction (the hard-label student's limit direction), KKT-certified;
- ``batched-gd``: the same entries with ``method="gd"``: today's batched literal gradient descent
  (step ``1/L_max``, the certificate checked every 10 steps, ≤ ``max_iter`` = 20 000 steps, then
  batched Newton for the trials it left) and hard-label GD for exactly ``hard_iterations`` steps;
- ``numpy-loop``: the per-trial loop a researcher would write in plain numpy: the same gradient
  step, stopped at the same certified accuracy (the certificate formula of
  :func:`kdverify.training.limits.span_error_bound`, checked every 10 steps) or at ``loop_cap`` = 10⁶ steps,
  no Newton; hard-label GD for ``hard_iterations`` steps. It runs on the first ``loop_trials``
  sets of every n and is extrapolated linearly to ``trials`` (labelled as such);
- ``torch-loop``: the per-trial PyTorch loop written the usual way (:mod:`benchmarks.loops`:
  ``nn.Linear`` without bias started at 0, ``BCEWithLogitsLoss`` on the soft targets,
  ``torch.optim.SGD`` at the same step, CPU, float64), stopped by the same certificate or at
  ``loop_cap``; hard labels ``hard_iterations`` SGD steps. It runs on the first ``torch_trials``
  sets of every n (a subset of the numpy loop's) and is extrapolated linearly to ``trials``;
  skipped, with the reason in the result, when torch is not installed. Its iterates are the
  numpy loop's up to rounding (the step counts are compared and reported), so a problem is run
  for at most ``torch_step_budget`` steps and, when cut there, its time is extrapolated linearly
  to the numpy loop's step count on the same set (listed per n as ``torch_extrapolated``): one
  problem at the 10⁶-step cap costs the PyTorch loop most of an hour on this machine.

For every n the engines run one after the other on the same sets, so they share the load.
The distilled students are compared through their certificates: two certified
students are within ``bound_a + bound_b`` of each other, so their transfer risks (the angle to
``w*`` over π for isotropic data) differ by at most ``asin((bound_a + bound_b)/‖w‖)/π``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks.loops import MISSING, RTOL, load_torch, loop_distilled, loop_hard, torch_distilled, torch_hard
from kdverify.data import Isotropic
from kdverify.training import fit_distilled, fit_hard_label

SHORT = {"numpy_loop": "loop", "torch_loop": "torch"}
"""Per-trial loops as named in the per-n rows and the risk comparisons."""


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
    torch_trials: int = 1,
    torch_step_budget: int = 20_000,
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
    torch = load_torch()
    if torch is None:
        print(f"  skipping the PyTorch loop: {MISSING}", flush=True)
    engines = ("auto", "batched_gd", "numpy_loop") + (() if torch is None else ("torch_loop",))
    wall = {e: {"distilled": 0.0, "hard": 0.0} for e in engines}
    cpu = {e: {"distilled": 0.0, "hard": 0.0} for e in engines}
    rows = []
    worst = {key: [0.0, 0.0, True] for key in ("auto_vs_gd", "auto_vs_loop", "auto_vs_torch")}
    scales = {"numpy_loop": trials / loop_trials, "torch_loop": trials / torch_trials}

    def timed(engine: str, student: str, call, *args):
        w0, c0 = time.perf_counter(), time.process_time()
        out = call(*args)
        wall[engine][student] += time.perf_counter() - w0
        cpu[engine][student] += time.process_time() - c0
        return out

    for n in sizes:
        data = family.sample(n, np.random.default_rng([seed, n]), trials=trials)
        auto = timed("auto", "distilled", lambda x=data: fit_distilled(x, teacher))
        timed("auto", "hard", lambda x=data: fit_hard_label(x, teacher))
        gd = timed("batched_gd", "distilled", lambda x=data: fit_distilled(x, teacher, method="gd", max_iter=max_iter))
        timed("batched_gd", "hard", lambda x=data: fit_hard_label(x, teacher, method="gd", iterations=hard_iterations))
        loops = {
            "numpy_loop": (
                loop_trials,
                lambda p: loop_distilled(p, teacher.logits(p), teacher.target, loop_cap),
                lambda p, y: loop_hard(p, y, hard_iterations),
            )
        }
        if torch is not None:
            loops["torch_loop"] = (
                torch_trials,
                lambda p: torch_distilled(
                    torch, p, teacher.logits(p), teacher.target, min(loop_cap, torch_step_budget)
                ),
                lambda p, y: torch_hard(torch, p, y, hard_iterations),
            )
        both = np.asarray(auto.converged) & np.asarray(gd.converged)
        comparisons = {
            "auto_vs_gd": _risk_gap(family, auto.w[both], gd.w[both], auto.bound[both], gd.bound[both]),
        }
        row: dict[str, Any] = {
            "n": n,
            "auto": auto.counts(),
            "batched_gd": gd.counts(),
            "batched_gd_steps": int(np.sum(gd.iterations)),
        }
        for engine, (count, distilled, hard) in loops.items():
            results = []
            for b, points in enumerate(data[:count]):
                spent = wall[engine]["distilled"], cpu[engine]["distilled"]
                results.append(timed(engine, "distilled", distilled, points))
                if engine == "torch_loop" and not results[-1].certified and results[-1].steps < loop_cap:
                    # Cut by the step budget: the numpy loop ran the same iterates on this set.
                    factor = row["loop_steps"][b] / results[-1].steps
                    wall[engine]["distilled"] += (factor - 1) * (wall[engine]["distilled"] - spent[0])
                    cpu[engine]["distilled"] += (factor - 1) * (cpu[engine]["distilled"] - spent[1])
                    row.setdefault("torch_extrapolated", []).append(
                        {"set": b, "steps_run": results[-1].steps, "steps_of_numpy_loop": row["loop_steps"][b]}
                    )
                labels = teacher.hard_labels(points)
                timed(engine, "hard", hard, points, labels)
            loop_w, loop_bound = np.array([r.w for r in results]), np.array([r.bound for r in results])
            certified = np.array([r.certified for r in results]) & np.asarray(auto.converged)[:count]
            if np.any(certified):
                comparisons[f"auto_vs_{SHORT[engine]}"] = _risk_gap(
                    family,
                    auto.w[:count][certified],
                    loop_w[certified],
                    auto.bound[:count][certified],
                    loop_bound[certified],
                )
            row[f"{SHORT[engine]}_steps"] = [r.steps for r in results]
            row[f"{SHORT[engine]}_uncertified"] = sum(not r.certified for r in results)
        if "torch_steps" in row:
            cut = {e["set"] for e in row.get("torch_extrapolated", [])}
            row["torch_uncertified"] -= len(cut)
            row["torch_same_steps_as_numpy"] = all(
                s == row["loop_steps"][b] for b, s in enumerate(row["torch_steps"]) if b not in cut
            )
        for key, (gap, allowed, ok) in comparisons.items():
            worst[key] = [max(worst[key][0], gap), max(worst[key][1], allowed), worst[key][2] and ok]
        row["mean_risk"] = {
            "auto": float(np.mean(family.risk(auto.w))),
            "batched_gd": float(np.mean(family.risk(gd.w))),
        }
        rows.append(row)
        if verbose:
            looped = ", ".join(
                f"{engine} {sum(wall[engine].values()):.1f} s (of {loops[engine][0]} sets/n)" for engine in loops
            )
            print(
                f"  n={n}: auto {auto.counts()} gd {gd.counts()} loop steps {row['loop_steps']} "
                f"(uncertified {row['loop_uncertified']}); cumulative wall auto "
                f"{sum(wall['auto'].values()):.1f} s, gd {sum(wall['batched_gd'].values()):.1f} s, {looped}",
                flush=True,
            )
    for table in (wall, cpu):
        for engine, scale in scales.items():
            if engine in engines:
                for student in ("distilled", "hard"):
                    table[engine][student] *= scale
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
            "loop_extrapolation": scales["numpy_loop"],
            "torch_trials": torch_trials,
            "torch_step_budget": torch_step_budget,
            "torch_extrapolation": scales["torch_loop"] if torch is not None else None,
            "torch": f"{torch.__version__}, CPU, float64, 1 thread" if torch is not None else MISSING,
            "max_iter": max_iter,
            "hard_iterations": hard_iterations,
            "loop_cap": loop_cap,
            "rtol": RTOL,
            "seed": seed,
        },
        "seconds": wall,
        "cpu_seconds": cpu,
        "speedups": {
            engine: {key: ratio(wall, engine, key) for key in ("distilled", "hard", "total")} for engine in engines[1:]
        },
        "cpu_speedups": {
            engine: {key: ratio(cpu, engine, key) for key in ("distilled", "hard", "total")} for engine in engines[1:]
        },
        "risk_agreement": {
            key: {"max_risk_difference": gap, "max_allowed_by_certificates": allowed, "within": ok}
            for key, (gap, allowed, ok) in worst.items()
        },
        "per_n": rows,
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    from kdverify._util.jsonio import write_json_atomic
    from kdverify._util.threads import limit_blas_threads

    limit_blas_threads()
    parser = argparse.ArgumentParser(prog="python -m benchmarks.training", description=__doc__.split("\n")[0])
    parser.add_argument("--n", default=None, help="comma-separated sizes (default 1..50)")
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--loop-trials", type=int, default=4)
    parser.add_argument("--torch-trials", type=int, default=1, help="sets per n of the PyTorch loop")
    parser.add_argument(
        "--torch-step-budget", type=int, default=20_000, help="PyTorch steps run per problem before extrapolating"
    )
    parser.add_argument("--out", default="benchmarks/training.json")
    args = parser.parse_args(argv)
    sizes = None if args.n is None else [int(n) for n in args.n.split(",")]
    result = training_benchmark(
        sizes=sizes,
        trials=args.trials,
        loop_trials=args.loop_trials,
        torch_trials=args.torch_trials,
        torch_step_budget=args.torch_step_budget,
    )
    for key in ("seconds", "cpu_seconds", "speedups", "cpu_speedups", "risk_agreement"):
        print(f"{key}: {result[key]}")
    write_json_atomic(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
