"""The risk-curve workload: kdverify's batched engine against per-trial loops.

Workload: isotropic data, d = 50, n = 1..50, ``trials`` training sets per n (500 in the full
run), two students per set: the distilled student trained by gradient descent to kdverify's
certified tolerance (``rtol = 1e-9``, checked every 10 steps; trials still uncertified after
``max_iter`` steps are finished by :func:`kdverify.training.newton_refine`), and the hard-label
student, gradient descent on hard labels for a fixed budget of steps (it has no limit, hence no
tolerance to reach).

Engines, all running the same iterations:

- ``batched``: :mod:`kdverify.experiments.students` (batched solvers, cache-sized chunks; the
  Newton finish is one batched call on all unfinished problems of an n);
- ``batched-one-chunk``: the same solvers on the whole batch of ``trials`` problems at once;
- ``numpy-loop``: one problem at a time in plain numpy: the same step, the same certificate
  (the formula of :func:`kdverify.training.limits.span_error_bound` with its constants computed once per
  problem, as the batched engine does, checked every 10 steps), then
  :func:`kdverify.training.newton_refine` called on one problem at a time;
- ``torch-loop``: the loop in PyTorch (:mod:`benchmarks.loops`), when torch is installed.

The machine is shared, so the engines are interleaved: for each n the chunked engine, the
one-batch engine and the loop run one after the other, and every phase records wall-clock and
process CPU seconds (CPU time is not inflated when another job takes the core). The loops run on
the first ``loop_trials`` training sets of each n and are extrapolated linearly
to ``trials`` (the cost per trial does not depend on how many trials there are). The loop's
logistic function is ``scipy.special.expit`` (one call; the batched engine's ``1/(1 + e^{−z})``
takes four ufunc calls, which costs a single problem more than it saves), so the two agree to
rounding, not bit for bit; both are certified to the same tolerance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from benchmarks.loops import (
    CHECK_EVERY,
    MISSING,
    RTOL,
    load_torch,
    loop_distilled,
    loop_hard,
    torch_distilled,
    torch_hard,
)
from kdverify.data import Isotropic
from kdverify.experiments import students as batched
from kdverify.training import gradient_descent, hard_label_descent, newton_refine
from kdverify.training.train import chunk_size


def workload(dim: int, sizes: list[int], trials: int, seed: int) -> list[tuple[int, np.ndarray, Any]]:
    """``(n, data (trials, d, n), teacher)`` for every size, seeded per n."""
    family = Isotropic(dim)
    return [(n, family.sample(n, np.random.default_rng([seed, n]), trials=trials), family.teacher()) for n in sizes]


PHASES = ("distilled_gd", "newton", "hard_gd")


class Clock:
    """Wall-clock and process-CPU seconds per phase, in total and per n."""

    def __init__(self) -> None:
        self.wall = dict.fromkeys(PHASES, 0.0)
        self.cpu = dict.fromkeys(PHASES, 0.0)
        self.per_n: list[dict[str, Any]] = []

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall[phase] += time.perf_counter() - wall
        self.cpu[phase] += time.process_time() - cpu

    def summary(self, scale: float = 1.0) -> dict[str, Any]:
        """Totals (times ``scale``, the extrapolation factor of a loop) and the per-n rows."""
        return {
            "seconds": {key: value * scale for key, value in self.wall.items()},
            "cpu_seconds": {key: value * scale for key, value in self.cpu.items()},
            "total": sum(self.wall.values()) * scale,
            "cpu_total": sum(self.cpu.values()) * scale,
            "scale": scale,
            "per_n": self.per_n,
        }


def batched_case(n: int, data: np.ndarray, teacher: Any, training: batched.Training, size: int, clock: Clock) -> None:
    """kdverify's engine on one n, in chunks of ``size`` problems: GD to the certificate, one
    batched Newton call on the rest, hard-label GD."""
    logits = teacher.logits(data)
    parts = [slice(s, s + size) for s in range(0, len(data), size)]
    with clock("distilled_gd"):
        results = [
            gradient_descent(data[p], logits[p], max_iter=training.max_iter, check_every=CHECK_EVERY) for p in parts
        ]
    left = ~np.concatenate([r.converged for r in results])
    w = np.concatenate([r.w for r in results])
    certified = 0
    if left.any():
        with clock("newton"):
            certified = int(np.sum(newton_refine(data[left], logits[left], w[left]).converged))
    labels = teacher.hard_labels(data)
    with clock("hard_gd"):
        for p in parts:
            hard_label_descent(data[p], labels[p], iterations=training.hard_iterations, check_every=100)
    steps = int(sum(r.iterations.sum() for r in results))
    clock.per_n.append(
        {"n": n, "distilled_gd_steps": steps, "newton_trials": int(left.sum()), "newton_certified": certified}
    )


def loop_case(n: int, data: np.ndarray, teacher: Any, training: batched.Training, clock: Clock) -> None:
    """The per-trial numpy loop on every set of ``data``, with :func:`newton_refine` called on
    one problem at a time for the sets the loop left uncertified."""
    row = {"n": n, "distilled_gd_steps": 0, "newton_trials": 0, "newton_certified": 0}
    for points in data:
        logits = teacher.logits(points)
        with clock("distilled_gd"):
            w, _, certified, steps = loop_distilled(points, logits, teacher.target, training.max_iter)
        row["distilled_gd_steps"] += steps
        if not certified:
            with clock("newton"):
                row["newton_certified"] += int(newton_refine(points, logits, w).converged)
            row["newton_trials"] += 1
        labels = teacher.hard_labels(points)
        with clock("hard_gd"):
            loop_hard(points, labels, training.hard_iterations)
    clock.per_n.append(row)


def run_torch_loop(cases: list, training: batched.Training, scale: float) -> dict[str, Any]:
    """The loop in PyTorch (:func:`benchmarks.loops.torch_distilled`, ``torch_hard``; no Newton
    finish: what it leaves uncertified after ``max_iter`` steps is counted), times extrapolated by
    ``scale`` as the numpy loop's; skipped without torch."""
    torch = load_torch()
    if torch is None:
        return {"skipped": MISSING}
    clock = Clock()
    uncertified = 0
    for _, data, teacher in cases:
        for points in data:
            with clock("distilled_gd"):
                result = torch_distilled(torch, points, teacher.logits(points), teacher.target, training.max_iter)
            uncertified += not result.certified
            labels = teacher.hard_labels(points)
            with clock("hard_gd"):
                torch_hard(torch, points, labels, training.hard_iterations)
    return {**clock.summary(scale), "uncertified": uncertified}


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
    sizes: list[int] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The whole comparison, interleaved per n; times in seconds, loop times extrapolated to
    ``trials``. GFLOP/s count ``4·d·n`` flops per GD step and problem (certificate not counted)."""
    training = batched.Training(max_iter=max_iter, hard_iterations=hard_iterations)
    sizes = list(range(1, max_n + 1)) if sizes is None else sizes
    peak = matmul_gflops()
    log(f"matmul: {peak:.1f} GFLOP/s")
    chunked, whole, loop = Clock(), Clock(), Clock()
    flops = 0.0
    for n, data, teacher in workload(dim, sizes, trials, seed):
        batched_case(n, data, teacher, training, chunk_size(*data.shape[1:]), chunked)
        batched_case(n, data, teacher, training, len(data), whole)
        loop_case(n, data[:loop_trials], teacher, training, loop)
        flops += 4.0 * dim * n * (chunked.per_n[-1]["distilled_gd_steps"] + hard_iterations * trials)
        log(f"  n={n}: batched {sum(chunked.wall.values()):.1f} s, one batch {sum(whole.wall.values()):.1f} s, "
            f"loop {sum(loop.wall.values()):.1f} s (of {loop_trials} trials) so far")
    scale = trials / loop_trials
    engine, one_chunk, numpy_loop = chunked.summary(), whole.summary(), loop.summary(scale)
    log(f"batched engine: {engine['total']:.1f} s {engine['seconds']}")
    log(f"batched, one chunk of {trials}: {one_chunk['total']:.1f} s")
    log(f"numpy loop ({loop_trials} trials/n, ×{scale:g}): {numpy_loop['total']:.1f} s {numpy_loop['seconds']}")
    torch_loop = run_torch_loop(workload(dim, sizes, loop_trials, seed), training, scale)

    def speedups(key: str) -> dict[str, float | None]:
        loop_phases, engine_phases = numpy_loop[key], engine[key]
        ratios = {p: loop_phases[p] / engine_phases[p] if engine_phases[p] else None for p in PHASES}
        gd = [phase for phase in PHASES if phase != "newton"]
        ratios["gd"] = sum(numpy_loop[key][p] for p in gd) / sum(engine[key][p] for p in gd)
        ratios["total"] = sum(numpy_loop[key].values()) / sum(engine[key].values())
        return ratios

    gd_seconds = engine["seconds"]["distilled_gd"] + engine["seconds"]["hard_gd"]
    return {
        "workload": {
            "family": f"isotropic(d={dim})",
            "n": sizes if sizes != list(range(1, max_n + 1)) else [1, max_n],
            "trials": trials,
            "seed": seed,
            "rtol": RTOL,
            "check_every": CHECK_EVERY,
            "max_iter": max_iter,
            "hard_iterations": hard_iterations,
            "loop_trials": loop_trials,
        },
        "matmul_gflops": peak,
        "batched": {**engine, "gd_flops": flops},
        "batched_one_chunk": one_chunk,
        "numpy_loop": numpy_loop,
        "torch_loop": torch_loop,
        "speedups_vs_numpy_loop": speedups("seconds"),
        "cpu_speedups_vs_numpy_loop": speedups("cpu_seconds"),
        "speedup_vs_numpy_loop": numpy_loop["total"] / engine["total"],
        "gd_speedup_vs_numpy_loop": speedups("seconds")["gd"],
        "gd_gflops": flops / gd_seconds / 1e9,
        "fraction_of_matmul": flops / gd_seconds / 1e9 / peak,
    }
