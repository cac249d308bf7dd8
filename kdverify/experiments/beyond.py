"""Section 6 of the report: beyond the paper (THEORY.md §8), three figures, each with its caption.

- Softmax students (§8.1): ``E R_n`` against ``n`` for ``K`` classes beside the binary distilled
  student, trained and scored by :func:`~kdverify.experiments.curves.risk_curve` (argmax risk
  against the ``K``-class teacher of :func:`~kdverify.experiments.students.multiclass_teacher`).
- ρ-mixed students (§8.2, perfect teacher): ``E R_n`` against ``n`` per ``ρ`` and against ``ρ``
  per ``n``, beside the hard-label student, all on the same training sets.
- Kernel ridge self-distillation (§8.3): the expected test error of rounds ``t = 0..T`` (exact over
  the label noise, :func:`~kdverify.training.kernel_ridge.expected_test_errors`), averaged over
  training sets on the unit sphere, for the linear and RBF kernels at several noise variances.

Every mean has a 95% betting interval per point; students and rounds compared on the same
training sets are compared pairwise (:func:`~kdverify.experiments.findings.paired_increase`).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from kdverify._util.validation import FloatArray
from kdverify.experiments.curves import Curve, risk_curve
from kdverify.experiments.findings import Finding, order, overall, paired_increase
from kdverify.experiments.paper import (
    BeyondSettings,
    FamilyChoice,
    Scale,
    Section,
    Tick,
    _caption,
    _interval,
    build,
    markdown_table,
)
from kdverify.experiments.plotting import COLOURS, Series, curve_series, new_figure, plot_series, save_figure
from kdverify.experiments.students import student_name
from kdverify.measure.stats import MeanEstimate, bernoulli_mean, betting_mean
from kdverify.training.kernel_ridge import KERNELS, expected_test_errors, gram_matrices

__all__ = ["KERNEL_SETS_PER_TRIAL", "beyond_section", "error_range", "kernel_errors"]

HEADER = "claim (THEORY.md §8) or question"
KERNEL_SETS_PER_TRIAL = 25
"""Kernel training sets per Monte Carlo trial of the other figures: a set costs one small
eigendecomposition, and the errors' a-priori range (:func:`error_range`) is several times their
mean, so the betting intervals need many sets to decide."""
MIXED_TRIALS_PER_TRIAL = 4
"""Training sets of the mixed figure per Monte Carlo trial of the others: neighbouring ratios differ
by a few thousandths to hundredths of risk, which a 95% betting interval resolves only with
several hundred sets (a batch of closed forms is cheap)."""
KERNEL_CHUNK = 1000
ROUNDING = 1e-12
"""Relative to an error's range, the least change of the kernel errors counted as better or worse:
far above the rounding of an ``n × n`` eigendecomposition and a few sums, far below the changes."""
AGREEMENT = 1e-6
"""Largest per-trial risk difference counted as agreement of the two-class softmax and the
distilled student: both are certified to ``1e-9·max(1, ‖ŵ‖)``, so only a test point within that
of a boundary could differ, and the risks are exact (or on shared test points)."""


def beyond_section(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Section 6: the three figures of the module docstring with their captions and findings."""
    settings = scale.settings.beyond
    parts = [
        _softmax(settings, scale, directory, seed, tick),
        _mixed(settings, scale, directory, seed, tick),
        _kernel(settings, scale, directory, seed, tick),
    ]
    findings = [finding for _, _, _, found in parts for finding in found]
    data = {key: value for _, _, numbers, _ in parts for key, value in numbers.items()}
    data["findings"] = [f.as_dict() for f in findings]
    text = (
        "Verdicts compare the figure's 95% intervals (paired where students or rounds share training sets); "
        "the open claims of §8 are decided by `kdverify check` in the table above, exactly where data allow — "
        "these figures measure the same questions over random training sets (expected risks on average, the kernel "
        "rounds set by set)."
    )
    return Section(
        "beyond",
        "6. Beyond the paper: multi-class, mixed targets, self-distillation (THEORY.md §8)",
        text,
        tuple(figure for figure, _, _, _ in parts),
        data,
        tuple(caption for _, caption, _, _ in parts),
    )


Part = tuple[str, str, dict[str, Any], list[Finding]]
"""A figure's file, caption, numbers and findings."""


def _curve(family_choice: FamilyChoice, sizes: tuple[int, ...], students: list[str], scale: Scale, seed: int,
           tick: Tick, trials: int) -> Curve:
    family = build(family_choice)
    return risk_curve(
        family, scale.sizes(sizes), students=students, trials=trials, seed=seed, training=scale.training,
        on_point=lambda p: tick(f"{family.name} n={p.n} {p.student}"),
    )


def _softmax(settings: BeyondSettings, scale: Scale, directory: Path, seed: int, tick: Tick) -> Part:
    """§8.1: the distilled student and softmax students with ``K`` classes on the same sets."""
    softmax = [student_name("softmax", k) for k in settings.classes]
    curve = _curve(settings.softmax_family, settings.softmax_sizes, ["distilled", *softmax], scale, seed, tick,
                   scale.trials)
    figure, (axes,) = new_figure()
    plot_series(axes, curve_series(curve, with_p_angle=False))
    axes.set_xlabel("training set size n")
    axes.set_ylabel("expected risk E R_n (argmax disagreement)")
    axes.set_title(f"{curve.family.describe()}: softmax students, W0 = 0", fontsize=8)
    axes.legend(fontsize=7, loc="lower left")
    axes.set_ylim(-0.02, 1.02)
    save_figure(figure, directory / "beyond-softmax.png")
    sizes = sorted({p.n for p in curve.points})
    findings = []
    if "softmax:K=2" in softmax:
        gaps = [float(np.max(np.abs(two.risks - one.risks)))  # type: ignore[operator]
                for one, two in zip(curve.select("distilled"), curve.select("softmax:K=2"), strict=True)]
        findings.append(Finding(
            "multiclass-optimization-bias at K = 2: w_1 − w_2 is §3's distilled limit, so the two-class softmax "
            "student has the distilled student's risk on every training set",
            f"largest per-trial |R(softmax, K=2) − R(distilled)| over {len(sizes)} sizes: {max(gaps):.2g}",
            "supports" if max(gaps) <= AGREEMENT else "contradicts",
        ))
    for student in softmax:
        points = curve.select(student)
        steps = [order(large.risk, small.risk) for small, large in itertools.pairwise(points)]
        findings.append(Finding(
            f"multiclass-monotone-risk-expected (open), {student}: n ↦ E R_n is non-increasing",
            f"of {len(steps)} steps to the next n the interval falls below the previous one at "
            f"{steps.count('supports')}, rises above it at {steps.count('contradicts')}, overlaps at "
            f"{steps.count('inconclusive')}; E R_n {_interval(points[0].risk)} at n={points[0].n}, "
            f"{_interval(points[-1].risk)} at n={points[-1].n}",
            overall(steps),
        ))
    more = [paired_increase(curve.select(fewer)[i].risks, curve.select(extra)[i].risks)[1]
            for fewer, extra in itertools.pairwise(softmax) for i in range(len(sizes))]
    findings.append(Finding(
        "(question) more classes, higher E R_n at the same n (paired over the same training sets)",
        f"of {len(more)} (n, consecutive K) comparisons: higher at {more.count('supports')}, lower at "
        f"{more.count('contradicts')}, undecided at {more.count('inconclusive')}",
        overall(more),
    ))
    rows = [[p.n, p.student, _interval(p.risk), "/".join("-" if v is None else str(v) for v in p.counts.values())]
            for p in curve.points]
    caption = _caption(
        f"{curve.family.describe()}, n ∈ {{{', '.join(map(str, sizes))}}}, {scale.trials} training sets per n "
        f"shared by all students, W0 = 0, T = 1. Softmax students: {scale.training.describe(softmax[-1])} "
        f"(K ∈ {{{', '.join(map(str, settings.classes))}}}); distilled: {scale.training.describe('distilled')}.",
        findings,
        "The K-class teacher extends the family's w*: columns w*/2 and −w*/2 (split by w*'s boundary) and "
        "‖w*‖/2 times unit vectors orthogonal to w* and to each other, so K = 2 is the binary teacher. The risk is "
        "P_x[argmax Wᵀx ≠ argmax W*ᵀx] (THEORY.md §8.1), a tie at the student's top counted wrong; for K ≥ 3 it is "
        "measured on 64 fresh points per training set (shared by the students of one n). With n ≥ d the limit "
        "P W*C/T has the teacher's argmax everywhere, so E R_n = 0. The dashed line is §4's bound for the binary "
        "student.\n\n"
        + markdown_table(["n", "student", "E R_n [95%]", "certified / Newton-finished / uncertified"], rows),
        header=HEADER,
    )
    return "beyond-softmax.png", caption, {"softmax": curve.to_json()}, findings


def _mixed(settings: BeyondSettings, scale: Scale, directory: Path, seed: int, tick: Tick) -> Part:
    """§8.2 with a perfect teacher: ρ-mixed students for each ``ρ`` and the hard-label student."""
    mixed = [student_name("mixed", rho) for rho in sorted(settings.rhos)]
    curve = _curve(settings.mixed_family, settings.mixed_sizes, [*mixed, "hard"], scale, seed, tick,
                   MIXED_TRIALS_PER_TRIAL * scale.trials)
    figure, (left, right) = new_figure(2)
    plot_series(left, curve_series(curve, with_p_angle=False), log_y=True)
    left.set_xlabel("training set size n")
    left.set_ylabel("expected transfer risk E R_n")
    left.legend(fontsize=7, loc="lower left")
    left.set_title(f"{curve.family.describe()}", fontsize=8)
    sizes = sorted({p.n for p in curve.points})
    rhos = sorted(settings.rhos)
    lines = [
        Series.of_estimates(f"n={n}", rhos, [next(p.risk for p in curve.select(s) if p.n == n) for s in mixed],
                            colour=COLOURS[index % len(COLOURS)])
        for index, n in enumerate(sizes)
    ]
    plot_series(right, lines, log_y=True)
    right.set_xlabel("soft-label ratio ρ (targets ρ σ(w*ᵀx/T) + (1 − ρ) 1[w*ᵀx > 0])")
    right.set_ylabel("expected transfer risk E R_n")
    right.set_title("the same students against ρ (ρ = 1: the distilled student)", fontsize=8)
    right.legend(fontsize=7, loc="lower left")
    save_figure(figure, directory / "beyond-mixed.png")
    by_ratio = [paired_increase(curve.select(high)[i].risks, curve.select(low)[i].risks)[1]
                for low, high in itertools.pairwise(mixed) for i in range(len(sizes))]
    hard, soft = curve.select("hard"), curve.select(mixed[-1])
    by_size = [order(large.risk, small.risk) for s in mixed for small, large in itertools.pairwise(curve.select(s))]
    findings = [
        Finding(
            "soft-ratio-monotone (open, perfect teacher): ρ ↦ E R_n is non-increasing (more soft label, lower risk)",
            f"of {len(by_ratio)} (n, consecutive ρ) comparisons on the same training sets the smaller ρ has higher "
            f"risk at {by_ratio.count('supports')}, lower at {by_ratio.count('contradicts')}, undecided at "
            f"{by_ratio.count('inconclusive')}",
            overall(by_ratio),
        ),
        Finding(
            "(question) n ↦ E R_n is non-increasing for every ρ (as for ρ = 1, monotone-risk-expected)",
            f"of {len(by_size)} (ρ, consecutive n) steps the interval falls below the previous one at "
            f"{by_size.count('supports')}, rises above it at {by_size.count('contradicts')}, overlaps at "
            f"{by_size.count('inconclusive')}",
            overall(by_size),
        ),
        Finding(
            f"(question) {mixed[-1]} beats hard labels (max-margin) on the same training sets",
            "; ".join(f"n={s.n}: {_interval(s.risk)} vs {_interval(h.risk)}" for s, h in zip(soft, hard, strict=True)),
            overall([paired_increase(s.risks, h.risks)[1] for s, h in zip(soft, hard, strict=True)]),
        ),
    ]
    rows = [[p.n, *[_interval(next(q.risk for q in curve.select(s) if q.n == p.n)) for s in (*mixed, "hard")]]
            for p in curve.select(mixed[0])]
    caption = _caption(
        f"{curve.family.describe()}, n ∈ {{{', '.join(map(str, sizes))}}}, "
        f"ρ ∈ {{{', '.join(f'{r:g}' for r in rhos)}}}, {curve.trials} training sets per n shared by all students, "
        "perfect teacher (hard labels from w*), T = 1, w0 = 0. Mixed students: "
        f"{scale.training.describe(mixed[0]).partition('; ')[2]}; hard labels: "
        f"{scale.training.describe('hard')}.",
        findings,
        "Every target lies in (0, 1), so the loss has a unique minimiser in span X (mixed-targets-limit); with "
        "n ≤ d independent points it interpolates the target logits logit(ρσ(z) + (1 − ρ)1[z > 0]), a monotone but "
        "nonlinear transform of the teacher's logits z, so only ρ = 1 recovers the direction P w*. Left: E R_n against "
        "n with the bound of §4 (dashed, proved for ρ = 1); right: the same estimates against ρ.\n\n"
        + markdown_table(["n", *[f"ρ={s.partition('=')[2]}" for s in mixed], "hard"], rows),
        header=HEADER,
    )
    return "beyond-mixed.png", caption, {"mixed": curve.to_json()}, findings


def error_range(lam: float, noise: float) -> float:
    """An upper bound on every expected test error of the kernel figure, ``4 + σ²/(4λ)``: the
    targets have RKHS norm 1 and ``k(x, x) = 1`` on the unit sphere, so ``|f*| ≤ 1``; each round's
    ridge objective at the previous round's (noiseless) fit is ``λ‖f̂_{t−1}‖²``, so
    ``‖f̂_t‖ ≤ ‖f̂_{t−1}‖ ≤ … ≤ ‖f*‖ = 1`` and the mean prediction is within 1, the squared bias within
    4; the variance ``σ²‖M_t k'‖²`` is at most ``σ² max_g g/(g + λ)² = σ²/(4λ)``."""
    return 4.0 + noise / (4.0 * lam)


def _sphere(rng: np.random.Generator, trials: int, dim: int, size: int) -> FloatArray:
    """``trials`` sets of ``size`` points uniform on the unit sphere of ``R^dim`` (as columns)."""
    points = rng.standard_normal((trials, dim, size))
    return points / np.linalg.norm(points, axis=-2, keepdims=True)


def kernel_errors(settings: BeyondSettings, trials: int, seed: int) -> tuple[dict[str, FloatArray], dict[str, float]]:
    """Per kernel, the expected test errors ``(trials, noises, rounds + 1)`` of the kernel figure,
    and the mean squared target on the test points (the error of predicting 0, where the rounds
    go as ``t → ∞``). Targets of RKHS norm 1: ``e_1ᵀx`` (linear) and ``k(x, e_1)`` (RBF); points and
    test points uniform on the unit sphere, drawn once from ``(seed, 83)`` for both kernels."""
    rng = np.random.default_rng([seed, 83])
    train = _sphere(rng, trials, settings.kernel_dim, settings.kernel_size)
    test = _sphere(rng, trials, settings.kernel_dim, settings.kernel_test_points)
    centre = np.eye(settings.kernel_dim)[:, :1]
    errors, null = {}, {}
    for kernel in KERNELS:

        def target(points: FloatArray, kernel: str = kernel) -> FloatArray:
            if kernel == "linear":
                return points[:, 0, :]
            return gram_matrices(centre, points, "rbf", settings.kernel_bandwidth)[..., 0, :]

        chunks = []
        for start in range(0, trials, KERNEL_CHUNK):
            part, held = train[start : start + KERNEL_CHUNK], test[start : start + KERNEL_CHUNK]
            chunks.append(expected_test_errors(
                gram_matrices(part, part, kernel, settings.kernel_bandwidth),
                gram_matrices(held, part, kernel, settings.kernel_bandwidth),
                target(part), target(held), settings.kernel_lam, settings.kernel_noises, settings.kernel_rounds,
            ))
        errors[kernel] = np.concatenate(chunks)
        null[kernel] = float(np.mean(target(test) ** 2))
    return errors, null


def _kernel(settings: BeyondSettings, scale: Scale, directory: Path, seed: int, tick: Tick) -> Part:
    """§8.3: expected test error against the round, per kernel and noise variance."""
    trials = scale.trials * KERNEL_SETS_PER_TRIAL
    errors, null = kernel_errors(settings, trials, seed)
    rounds = list(range(settings.kernel_rounds + 1))
    figure, axes_list = new_figure(2)
    findings, rows, data = [], [], {}
    for axes, kernel in zip(axes_list, KERNELS, strict=True):
        lines = []
        for index, noise in enumerate(settings.kernel_noises):
            values = errors[kernel][:, index, :]
            scale_by = error_range(settings.kernel_lam, noise)
            if np.any(values > scale_by):
                raise ArithmeticError(f"an expected test error passed its proven bound {scale_by:g}: a bug")
            estimates = [_scaled(betting_mean(values[:, t] / scale_by), scale_by) for t in rounds]
            lines.append(Series.of_estimates(f"σ²={noise:g}", rounds, estimates, colour=COLOURS[index]))
            change = _scaled(paired_increase(values[:, 1] / scale_by, values[:, 0] / scale_by)[0], scale_by)
            slack = ROUNDING * scale_by
            better = bernoulli_mean((values[:, 1] < values[:, 0] - slack).astype(float))
            worse = int(np.sum(values[:, 1] > values[:, 0] + slack))
            best = int(np.argmin([e.mean for e in estimates]))
            findings.append(Finding(
                f"self-distillation-helps (open), {kernel} kernel, σ² = {noise:g}: round 1's expected test error "
                "is below round 0's on most training sets",
                f"round 1 better on a fraction {_interval(better)} of the sets, worse on {worse} of {trials} (each a "
                f"counterexample to the for-all reading); E[err_0 − err_1] = {_interval(change)}; lowest mean error "
                f"at round {best}",
                "supports" if better.lower > 0.5 else "contradicts" if better.upper < 0.5 else "inconclusive",
            ))
            rows.append([kernel, f"{noise:g}", *[_interval(estimates[t]) for t in (0, 1, rounds[-1])], best])
            data[f"{kernel} σ²={noise:g}"] = {"round": rounds, "error": [e.as_dict() for e in estimates],
                                             "round_1_better": better.as_dict()}
        lines.append(Series("predicting 0 (t → ∞)", rounds, [null[kernel]] * len(rounds), style=":", marker=None,
                            colour="black"))
        plot_series(axes, lines, log_y=True)
        axes.set_xlabel("round t (t = 0: kernel ridge on the labels)")
        axes.set_ylabel("expected test error (squared, noiseless target)")
        axes.set_title(f"{kernel} kernel, λ = {settings.kernel_lam:g}", fontsize=9)
        axes.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 0.05))  # above the floor note
        tick(f"kernel ridge rounds, {kernel}")
    save_figure(figure, directory / "beyond-kernel.png")
    caption = _caption(
        f"{trials} training sets of n = {settings.kernel_size} points uniform on the unit sphere of "
        f"R^{settings.kernel_dim}, {settings.kernel_test_points} test points each; λ = {settings.kernel_lam:g}, "
        f"noise variances σ² ∈ {{{', '.join(f'{s:g}' for s in settings.kernel_noises)}}}, rounds t ≤ "
        f"{settings.kernel_rounds}; targets of RKHS norm 1: e_1ᵀx (linear) and exp(−‖x − e_1‖²/"
        f"(2·{settings.kernel_bandwidth:g}²)) (RBF, the same bandwidth).",
        findings,
        "Round 0 is kernel ridge regression on y = f*(X) + ε; round t refits the previous round's training "
        "predictions, f_t = A^{t+1}y (self-distillation-filter). Each training set's error is exact over ε "
        "(squared bias plus variance, through the eigendecomposition of G); the intervals are over training sets, "
        "betting intervals of the errors divided by their proven range 4 + σ²/(4λ). Extra rounds shrink the fit "
        "(self-distillation-shrinks), which trades variance for bias: a noise-free fit only loses, a noisy one "
        "can gain. Verdicts use the exact Clopper–Pearson interval of the fraction of training sets on which round 1 "
        "is better (each set with its test points is an instance of the open claim). The dotted line is the error "
        "of predicting 0, where the rounds end.\n\n"
        + markdown_table(["kernel", "σ²", "round 0", "round 1", f"round {rounds[-1]}", "best round"], rows),
        header=HEADER,
    )
    return "beyond-kernel.png", caption, {"kernel": data}, findings


def _scaled(estimate: MeanEstimate, factor: float) -> MeanEstimate:
    """An estimate of ``X/factor`` mapped back to ``X``."""
    return MeanEstimate(estimate.mean * factor, estimate.lower * factor, estimate.upper * factor,
                        estimate.confidence, estimate.trials, estimate.method)
