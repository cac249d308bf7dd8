"""The risk-curve workload: kdverify's batched engine against per-trial loops.

Workload: isotropic data, d = 50, n = 1..50, ``trials`` training sets per n (500 in the full
run), two students per set: the distilled student trained by gradient descent to kdverify's
certified tolerance (``rtol = 1e-9``, checked every 10 steps; trials still uncertified after
``max_iter`` steps are finished by :func:`kdverify.solvers.newton_refine`), and the hard-label
student, gradient descent on hard labels for a fixed budget of steps (it has no limit, hence no
tolerance to reach).

Engines, all running the same iterations:

- ``batched``: :mod:`kdverify.experiments.students` (batched solvers, cache-sized chunks);
- ``batched-one-chunk``: the same solvers on the whole batch of ``trials`` problems at once;
- ``numpy-loop``: one problem at a time in plain numpy (same step, same certificate
  :func:`kdverify.limits.span_error_bound` every 10 steps, same Newton finish);
- ``torch-loop``: the same loop in PyTorch on the CPU, when torch is installed.

The loops run on the first ``loop_trials`` training sets of each n and are extrapolated linearly
to ``trials`` (the cost per trial does not depend on how many trials there are). Newton's cost is
per problem in both engines (the same function, whose work is not shared across a batch), so it
is timed on at most ``newton_sample`` unfinished problems per n and scaled linearly too.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

from kdverify.distributions import Isotropic
from kdverify.experiments import students as batched
from kdverify.limits import span_error_bound
from kdverify.linalg import span_projector
from kdverify.solvers import gradient_descent, hard_label_descent, newton_refine

RTOL = 1e-9
CHECK_EVERY = 10


def workload(dim: int, sizes: list[int], trials: int, seed: int) -> list[tuple[int, np.ndarray, Any]]:
    """``(n, data (trials, d, n), teacher)`` for every size, seeded per n."""
    family = Isotropic(dim)
    return [(n, family.sample(n, np.random.default_rng([seed, n]), trials=trials), family.teacher()) for n in sizes]


def _newton_sample(data: np.ndarray, logits: np.ndarray, w: np.ndarray, sample: int) -> float:
    """Seconds of :func:`newton_refine` on all of ``data``, measured on the first ``sample``
    problems and scaled linearly (its cost is per problem: no work is shared in a batch)."""
    if len(data) == 0:
        return 0.0
    kept = min(sample, len(data))
    started = time.perf_counter()
    newton_refine(data[:kept], logits[:kept], w[:kept])
    return (time.perf_counter() - started) * len(data) / kept


def run_batched(cases: list, training: batched.Training, *, one_chunk: bool, newton_sample: int) -> dict[str, Any]:
    """Time kdverify's engine (chunked, or on the whole batch at once) and count its GD flops;
    the Newton finish is timed on at most ``newton_sample`` problems per n and scaled."""
    seconds = {"distilled_gd": 0.0, "newton": 0.0, "hard_gd": 0.0}
    flops, finished, iterations = 0.0, 0, 0
    for n, data, teacher in cases:
        logits = teacher.logits(data)
        size = len(data) if one_chunk else batched.chunk_size(*data.shape[1:])
        started = time.perf_counter()
        results = [
            gradient_descent(
                data[s : s + size], logits[s : s + size], max_iter=training.max_iter, check_every=CHECK_EVERY
            )
            for s in range(0, len(data), size)
        ]
        seconds["distilled_gd"] += time.perf_counter() - started
        steps = np.concatenate([r.iterations for r in results])
        w = np.concatenate([r.w for r in results])
        left = ~np.concatenate([r.converged for r in results])
        seconds["newton"] += _newton_sample(data[left], logits[left], w[left], newton_sample)
        labels = teacher.hard_labels(data)
        started = time.perf_counter()
        for s in range(0, len(data), size):
            hard_label_descent(data[s : s + size], labels[s : s + size], iterations=training.hard_iterations)
        seconds["hard_gd"] += time.perf_counter() - started
        dim = data.shape[1]
        flops += 4.0 * dim * n * (float(steps.sum()) + training.hard_iterations * len(data))
        finished += int(left.sum())
        iterations += int(steps.sum())
    return {
        "seconds": seconds,
        "total": sum(seconds.values()),
        "gd_flops": flops,
        "newton_trials": finished,
        "distilled_gd_steps": iterations,
    }


def _loop_distilled(data: np.ndarray, logits: np.ndarray, target: np.ndarray, max_iter: int) -> tuple[np.ndarray, bool]:
    """kdverify's gradient descent for one problem, in plain numpy."""
    dim, n = data.shape
    projector = span_projector(data)
    step = 4 * n / projector.largest_eigenvalue
    tol = RTOL * max(1.0, float(np.linalg.norm(projector.project(target))))
    transposed, scaled, soft = np.ascontiguousarray(data.T), data * (step / n), special.expit(logits)
    w = np.zeros(dim)
    for done in range(0, max_iter + 1, CHECK_EVERY):
        bound = span_error_bound(w, data, logits, projector=projector) + np.linalg.norm(projector.complement(w))
        if bound <= tol or done == max_iter:
            return w, bool(bound <= tol)
        for _ in range(CHECK_EVERY):
            w -= scaled @ (special.expit(transposed @ w) - soft)
    return w, False


def _loop_hard(data: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """Hard-label gradient descent for one problem, in plain numpy (no diagnostics)."""
    n = data.shape[1]
    step = 4 * n / float(np.linalg.norm(data, 2) ** 2)
    transposed, scaled, w = np.ascontiguousarray(data.T), data * (step / n), np.zeros(data.shape[0])
    for _ in range(iterations):
        w -= scaled @ (special.expit(transposed @ w) - labels)
    return w


def run_numpy_loop(cases: list, training: batched.Training, loop_trials: int, newton_sample: int) -> dict[str, Any]:
    """Time the per-trial numpy loop on the first ``loop_trials`` sets of every n (Newton, one
    problem per call, on at most ``newton_sample`` of them, scaled)."""
    seconds = {"distilled_gd": 0.0, "newton": 0.0, "hard_gd": 0.0}
    for _, data, teacher in cases:
        unfinished: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for points in data[:loop_trials]:
            logits = teacher.logits(points)
            started = time.perf_counter()
            w, certified = _loop_distilled(points, logits, teacher.target, training.max_iter)
            seconds["distilled_gd"] += time.perf_counter() - started
            if not certified:
                unfinished.append((points, logits, w))
            started = time.perf_counter()
            _loop_hard(points, teacher.hard_labels(points), training.hard_iterations)
            seconds["hard_gd"] += time.perf_counter() - started
        started = time.perf_counter()
        for points, logits, w in unfinished[:newton_sample]:
            newton_refine(points, logits, w)
        if unfinished:
            seconds["newton"] += (time.perf_counter() - started) * len(unfinished) / min(newton_sample, len(unfinished))
    return {"seconds": seconds, "total": sum(seconds.values())}


def run_torch_loop(cases: list, training: batched.Training, loop_trials: int) -> dict[str, Any]:
    """The numpy loop's GD phases in PyTorch (CPU, float64); skipped without torch."""
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return {"skipped": "torch is not installed (not installed on purpose on this machine)"}
    torch.set_num_threads(1)
    seconds = {"distilled_gd": 0.0, "hard_gd": 0.0}
    for _, data, teacher in cases:
        for points in data[:loop_trials]:
            x = torch.from_numpy(points)
            soft = torch.sigmoid(torch.from_numpy(teacher.logits(points)))
            labels = torch.from_numpy(teacher.hard_labels(points))
            scaled = x * (4.0 / float(np.linalg.norm(points, 2) ** 2))
            for key, targets, count in (
                ("distilled_gd", soft, training.max_iter),
                ("hard_gd", labels, training.hard_iterations),
            ):
                w = torch.zeros(points.shape[0], dtype=torch.float64)
                started = time.perf_counter()
                for _ in range(count):
                    w -= scaled @ (torch.sigmoid(x.T @ w) - targets)
                seconds[key] += time.perf_counter() - started
    return {
        "seconds": seconds,
        "total": sum(seconds.values()),
        "note": "no certificate checks: a fixed budget of max_iter steps",
    }


def matmul_gflops(size: int = 2000, repeats: int = 3) -> float:
    """This machine's float64 matrix-multiply throughput (best of ``repeats``), GFLOP/s."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def risk_curve_benchmark(
    *,
    dim: int = 50,
    max_n: int = 50,
    trials: int = 500,
    loop_trials: int = 25,
    seed: int = 0,
    max_iter: int = 20_000,
    hard_iterations: int = 1_000,
    newton_sample: int = 5,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The whole comparison; times in seconds, loop times extrapolated to ``trials``."""
    training = batched.Training(max_iter=max_iter, hard_iterations=hard_iterations)
    cases = workload(dim, list(range(1, max_n + 1)), trials, seed)
    peak = matmul_gflops()
    log(f"matmul: {peak:.1f} GFLOP/s")
    engine = run_batched(cases, training, one_chunk=False, newton_sample=newton_sample)
    log(f"batched engine: {engine['total']:.1f} s {engine['seconds']}")
    one_chunk = run_batched(cases, training, one_chunk=True, newton_sample=newton_sample)
    log(f"batched, one chunk of {trials}: {one_chunk['total']:.1f} s")
    scale = trials / loop_trials
    loop = run_numpy_loop(cases, training, loop_trials, newton_sample)
    loop["extrapolated"] = {key: value * scale for key, value in loop["seconds"].items()}
    loop["extrapolated_total"] = loop["total"] * scale
    log(f"numpy loop ({loop_trials} trials/n, ×{scale:g}): {loop['extrapolated_total']:.1f} s")
    torch_loop = run_torch_loop(cases, training, loop_trials)
    if "total" in torch_loop:
        torch_loop["extrapolated_total"] = torch_loop["total"] * scale
    gd_seconds = engine["seconds"]["distilled_gd"] + engine["seconds"]["hard_gd"]
    return {
        "workload": {
            "family": f"isotropic(d={dim})",
            "n": [1, max_n],
            "trials": trials,
            "seed": seed,
            "rtol": RTOL,
            "check_every": CHECK_EVERY,
            "max_iter": max_iter,
            "hard_iterations": hard_iterations,
            "loop_trials": loop_trials,
            "newton_sample": newton_sample,
        },
        "matmul_gflops": peak,
        "batched": engine,
        "batched_one_chunk": one_chunk,
        "numpy_loop": loop,
        "torch_loop": torch_loop,
        "speedup_vs_numpy_loop": loop["extrapolated_total"] / engine["total"],
        "gd_speedup_vs_numpy_loop": (loop["extrapolated"]["distilled_gd"] + loop["extrapolated"]["hard_gd"])
        / gd_seconds,
        "gd_gflops": engine["gd_flops"] / gd_seconds / 1e9,
        "fraction_of_matmul": engine["gd_flops"] / gd_seconds / 1e9 / peak,
    }
