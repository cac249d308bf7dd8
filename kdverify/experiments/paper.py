"""The five experiments of THEORY.md §5, each a function ``(scale, directory, seed, tick) ->
Section`` that writes its figure into ``directory`` and returns its Markdown and its numbers.

All students are trained by the solvers (:mod:`kdverify.experiments.students`); every expected
risk carries a 95% betting interval per point (``betting_mean``);
every index of one-point extensions an exact Clopper–Pearson interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kdverify._validation import positive_int
from kdverify.distributions import BetaPolarised, Family, Isotropic, Margin, from_params
from kdverify.experiments.curves import Curve, CurvePoint, risk_curve
from kdverify.experiments.plotting import (
    COLOURS,
    LOG_FLOOR,
    STUDENT_LABELS,
    Series,
    curve_series,
    new_figure,
    plot_series,
)
from kdverify.experiments.plotting import save_figure as save
from kdverify.experiments.students import Training, distilled_students, train_students
from kdverify.linalg import span_projector
from kdverify.stats import bernoulli_mean, betting_mean

__all__ = ["EXPERIMENTS", "Scale", "Section", "markdown_table"]

Tick = Callable[[str], None]

MONOTONE_TOLERANCE = 1e-6
"""A risk change below this counts as "no increase" in the monotonicity index. The solvers
certify ``‖w − ŵ‖ ≤ 1e-9·max(1, ‖ŵ‖)`` and the risk quadratures are accurate to ``1e-8``, so
rounding cannot move a risk by this much; a real increase can be smaller and is then missed."""


@dataclass(frozen=True)
class Scale:
    """How much each experiment spends: Monte Carlo training sets per point (``trials``), per
    deep-student point (``deep_trials``), the gradient-descent budget before Newton, an
    optional cap ``max_n`` on every grid of sizes (quick runs) and the training ``method`` of the
    distilled and hard students (``auto``: certified closed form / max-margin; ``gd``: literal GD)."""

    trials: int
    deep_trials: int
    max_iter: int = 20_000
    max_n: int | None = None
    method: str = "auto"

    def __post_init__(self) -> None:
        positive_int("trials", self.trials)
        positive_int("deep_trials", self.deep_trials)
        if self.max_n is not None:
            positive_int("max_n", self.max_n)

    def sizes(self, sizes: tuple[int, ...]) -> tuple[int, ...]:
        """``sizes`` up to ``max_n`` (at least the smallest), for quick runs."""
        return tuple(n for n in sizes if self.max_n is None or n <= self.max_n) or sizes[:1]

    @property
    def training(self) -> Training:
        """The students' budgets at this scale."""
        return Training(max_iter=self.max_iter, method=self.method)


@dataclass(frozen=True)
class Section:
    """One experiment's part of the report: Markdown body, figure files (relative names) and
    the numbers behind them (plain JSON)."""

    key: str
    title: str
    text: str
    figures: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _interval(point: CurvePoint) -> str:
    return f"{point.risk.mean:.3g} [{point.risk.lower:.3g}, {point.risk.upper:.3g}]"


def _curve(
    family: Family, sizes: tuple[int, ...], students: list[str], trials: int, scale: Scale, seed: int, tick: Tick
) -> Curve:
    return risk_curve(
        family,
        sizes,
        students=students,
        trials=trials,
        seed=seed,
        training=scale.training,
        on_point=lambda p: tick(f"{family.name} n={p.n} {p.student}"),
    )


def fitted_rate(points: list[CurvePoint]) -> float | None:
    """``exp`` of the least-squares slope of ``log E R_n`` against ``n`` over the points with
    ``E R_n ≥`` :data:`~kdverify.experiments.plotting.LOG_FLOOR` (below it a risk is the solver's
    residual, not the curve); ``None`` with fewer than two such points."""
    kept = [(p.n, np.log(p.risk.mean)) for p in points if p.risk.mean >= LOG_FLOOR]
    if len(kept) < 2:
        return None
    n, log_risk = np.array(kept).T
    return float(np.exp(np.polyfit(n, log_risk, 1)[0]))


def data_geometry(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Experiment 1: ``E R_n`` of the distilled student on Beta-polarised data at several ``b``
    and on margin data, with the fitted exponential rate beside the corollary's ``p(π/2 − θ_m)``."""
    dim, sizes = 20, scale.sizes((1, 2, 3, 4, 6, 8, 10, 12, 16))
    beta = {
        b: _curve(BetaPolarised(dim, 1.0, b), sizes, ["distilled"], scale.trials, scale, seed, tick)
        for b in (0.5, 1.0, 2.0, 4.0)
    }
    margin = {m: _curve(Margin(dim, m), sizes, ["distilled"], scale.trials, scale, seed, tick) for m in (0.1, 0.2, 0.3)}
    figure, (left, right) = new_figure(2)
    lines = []
    for index, (b, curve) in enumerate(beta.items()):
        ours = curve_series(curve, with_p_angle=False)
        lines += [_recolour(ours[0], f"b={b:g}: E R_n", COLOURS[index]), _recolour(ours[1], None, COLOURS[index])]
    plot_series(left, lines, log_y=True)
    left.set_title(f"Beta-polarised (a=1, d={dim}): dashed = bound min_θ p(θ)+p(π/2−θ)^n", fontsize=9)
    rows, lines = [], []
    for index, (m, curve) in enumerate(margin.items()):
        points = curve.select("distilled")
        rate = float(curve.family.p(np.pi / 2 - m))
        fitted = fitted_rate(points)
        ours = curve_series(curve, with_p_angle=False)
        lines += [
            _recolour(ours[0], f"θ_m={m:g}: E R_n", COLOURS[index]),
            Series(
                "", [p.n for p in points], [rate**p.n for p in points], style="--", marker=None, colour=COLOURS[index]
            ),
        ]
        rows.append(
            [
                f"{m:g}",
                f"{rate:.4f}",
                "—" if fitted is None else f"{fitted:.4f}",
                _interval(points[-1]),
                f"{rate ** points[-1].n:.3g}",
            ]
        )
    plot_series(right, lines, log_y=True)
    right.set_title(f"margin data (d={dim}): dashed = corollary p(π/2−θ_m)^n", fontsize=9)
    for axes in (left, right):
        axes.set_xlabel("training set size n")
        axes.set_ylabel("expected transfer risk E R_n")
        axes.legend(fontsize=7, loc="lower left")
    save(figure, directory / "geometry.png")
    table_b = markdown_table(
        ["b", *[f"n={n}" for n in sizes[::3]]],
        [[f"{b:g}", *[_interval(p) for p in curve.select("distilled")[::3]]] for b, curve in beta.items()],
    )
    table_m = markdown_table(
        ["θ_m", "corollary rate p(π/2−θ_m)", "fitted rate", f"E R_n at n={sizes[-1]}", "corollary bound there"], rows
    )
    text = (
        f"Distilled linear students from 0 (T = 1), d = {dim}, {scale.trials} training sets per point; "
        f"{scale.training.describe('distilled')}. "
        "Thinner mass near the teacher's boundary (larger b) should make E R_n fall faster; on margin data "
        "the corollary gives E R_n ≤ p(π/2 − θ_m)^n. The fitted rate is exp of the least-squares slope of "
        "log E R_n against n over the points with E R_n ≥ 1e-8 (smaller values are the solvers' residuals); "
        "it should not exceed the corollary's rate.\n\n"
        f"E R_n [95% interval] on Beta-polarised data:\n\n{table_b}\n\nMargin data:\n\n{table_m}"
    )
    data = {
        "beta": {str(b): c.to_json() for b, c in beta.items()},
        "margin": {str(m): c.to_json() for m, c in margin.items()},
    }
    return Section("geometry", "1. Data geometry", text, ("geometry.png",), data)


def _recolour(line: Series, label: str | None, colour: str) -> Series:
    return Series(label or "", line.x, line.y, line.lower, line.upper, line.style, line.marker, colour)


def optimisation_bias(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Experiment 2: risk of the students ``P w*/T + δu`` (``u ⊥ span X`` a random unit vector),
    trained by gradient descent from ``w_0 = δu``, against ``δ``."""
    deltas, sizes = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0), scale.sizes((2, 5))
    families = [Isotropic(10), BetaPolarised(10, 1.0, 2.0)]
    figure, axes_list = new_figure(len(families))
    results: dict[str, Any] = {}
    rows = []
    for axes, family in zip(axes_list, families, strict=True):
        teacher, lines = family.teacher(), []
        for index, n in enumerate(sizes):
            rng = np.random.default_rng([seed, n, 99])
            data = family.sample(n, rng, trials=scale.trials)
            direction = span_projector(data).complement(rng.standard_normal(data.shape[:2]))
            direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
            estimates = []
            for delta in deltas:
                trained = distilled_students(data, teacher, scale.training, w0=delta * direction)
                estimates.append(betting_mean(np.clip(family.risk(trained.w), 0, 1)))
                tick(f"{family.name} n={n} δ={delta:g}")
            lines.append(Series.of_estimates(f"n={n}", deltas, estimates, colour=COLOURS[index]))
            results[f"{family.name} n={n}"] = {"delta": list(deltas), "risk": [e.as_dict() for e in estimates]}
            rows.append([family.describe(), n, *[f"{e.mean:.3g} [{e.lower:.3g}, {e.upper:.3g}]" for e in estimates]])
        plot_series(axes, lines)
        axes.set_xlabel("off-span displacement δ = ‖P⊥ w_0‖ (‖w*‖ = 1, T = 1)")
        axes.set_ylabel("expected transfer risk")
        axes.set_title(family.describe(), fontsize=9)
        axes.legend(fontsize=8)
    save(figure, directory / "bias.png")
    text = (
        "Gradient descent from w_0 = δu with u ⊥ span X converges to P w*/T + δu (optimization-bias-linear); "
        f"the off-span part is never corrected, so the risk grows with δ. d = 10, {scale.trials} training sets "
        "per point, the same sets and directions u for every δ. Students: "
        f"{scale.training.describe('distilled')}.\n\n"
        + markdown_table(["family", "n", *[f"δ={d:g}" for d in deltas]], rows)
    )
    return Section("bias", "2. Optimisation bias", text, ("bias.png",), results)


def monotonicity(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Experiment 3: the monotonicity index (fraction of one-point extensions ``X → X ∪ {x}``
    whose risk does not increase) of the distilled and the max-margin student."""
    families = [
        Isotropic(10),
        BetaPolarised(10, 1.0, 2.0),
        from_params("anisotropic", dim=10, condition=100.0),
        Margin(10, 0.2),
    ]
    sizes = scale.sizes((1, 3, 6, 9))
    figure, axes_list = new_figure(2, rows=2, height=3.4)
    results, rows = {}, []
    for axes, family in zip(axes_list, families, strict=True):
        teacher, lines = family.teacher(), []
        for index, student in enumerate(("distilled", "hard")):
            estimates = []
            for n in sizes:
                rng = np.random.default_rng([seed, n, 7])
                extended = family.sample(n + 1, rng, trials=scale.trials)
                before = train_students(student, extended[..., :n], teacher, scale.training, rng=rng)
                after = train_students(student, extended, teacher, scale.training, rng=rng)
                kept = family.risk(after.w) <= family.risk(before.w) + MONOTONE_TOLERANCE
                estimates.append(bernoulli_mean(kept.astype(float)))
                tick(f"{family.name} n={n} {student}")
            lines.append(Series.of_estimates(STUDENT_LABELS[student], sizes, estimates, colour=COLOURS[index]))
            results[f"{family.describe()} {student}"] = {"n": list(sizes), "index": [e.as_dict() for e in estimates]}
            rows.append(
                [family.describe(), student, *[f"{e.mean:.3f} [{e.lower:.3f}, {e.upper:.3f}]" for e in estimates]]
            )
        plot_series(axes, lines)
        axes.set_ylim(-0.02, 1.02)
        axes.set_xlabel("size n of X (extension to n + 1)")
        axes.set_ylabel("monotonicity index")
        axes.set_title(family.describe(), fontsize=9)
        axes.legend(fontsize=8, loc="lower right")
    save(figure, directory / "monotonicity.png")
    text = (
        "For each of "
        f"{scale.trials} training sets X of size n and one more independent point x, the index is the fraction "
        f"with R(ŵ_{{X∪{{x}}}}) ≤ R(ŵ_X) + {MONOTONE_TOLERANCE:g} (exact Clopper–Pearson 95% intervals). On "
        "isotropic data the distilled student's index is 1 by the theorem monotone-distance (its angle never "
        "grows); elsewhere the risk of a better-aligned student can still increase (the open claim "
        "monotone-risk-pointwise). The hard-label (max-margin) student has no such guarantee.\n\n"
        + markdown_table(["family", "student", *[f"n={n}" for n in sizes]], rows)
    )
    return Section("monotonicity", "3. Strong monotonicity", text, ("monotonicity.png",), results)


def deep_students(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Experiment 4: risk curves of deep linear students from small and balanced inits."""
    family, sizes = Isotropic(8), scale.sizes((1, 2, 3, 4, 5, 6, 8, 10))
    students = ["distilled", "deep", "deep-balanced"]
    curve = _curve(family, sizes, students, scale.deep_trials, scale, seed, tick)
    figure, (axes,) = new_figure()
    plot_series(axes, curve_series(curve, with_p_angle=False))
    axes.set_xlabel("training set size n")
    axes.set_ylabel("expected transfer risk E R_n")
    axes.set_title(f"{family.describe()}, two-layer students (hidden width d)", fontsize=9)
    axes.legend(fontsize=8, loc="center right")
    save(figure, directory / "deep.png")
    rows = [
        [p.n, p.student, _interval(p), "/".join("-" if v is None else str(v) for v in p.counts.values())]
        for p in curve.points
    ]
    text = (
        f"{scale.deep_trials} training sets per n, shared by the three students. "
        f"Deep students: {scale.training.describe('deep')}; {scale.training.describe('deep-balanced')}. "
        "From a small initialisation the off-span part W_1(0)P⊥ is O(ε), so the deep student lands next to "
        "the linear one (optimization-bias-deep); the balanced initialisation at scale 1 keeps an O(1) "
        "off-span part, and its risk stays higher until n ≥ d removes the off-span space. Students that "
        "did not reach the certified tolerance within budget are kept and counted.\n\n"
        + markdown_table(["n", "student", "E R_n [95%]", "certified / Newton-finished / uncertified"], rows)
    )
    return Section("deep", "4. Deep linear students", text, ("deep.png",), curve.to_json())


def real_data(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Experiment 5: distillation against hard labels on scikit-learn's digits and breast-cancer."""
    families = [from_params("digits", pair=pair) for pair in ((0, 1), (3, 8), (4, 9))]
    families.append(from_params("breast-cancer"))
    sizes = scale.sizes((1, 2, 4, 8, 16, 32, 64))
    figure, axes_list = new_figure(2, rows=2, height=3.6)
    curves, rows = {}, []
    for axes, family in zip(axes_list, families, strict=True):
        curve = _curve(family, sizes, ["distilled", "hard"], scale.trials, scale, seed, tick)
        curves[family.describe()] = curve.to_json()
        plot_series(axes, curve_series(curve), log_y=True)
        axes.set_xscale("log", base=2)
        axes.set_xlabel("training set size n")
        axes.set_ylabel("expected transfer risk")
        axes.set_title(family.describe(), fontsize=8)
        axes.legend(fontsize=7, loc="lower left")
        for distilled, hard in zip(curve.select("distilled"), curve.select("hard"), strict=True):
            rows.append(
                [
                    family.describe().split(";")[0] + ")",
                    distilled.n,
                    _interval(distilled),
                    _interval(hard),
                    f"{distilled.bound:.3g}",
                ]
            )
    save(figure, directory / "real.png")
    text = (
        "Rows of each data set are standardised, a logistic-regression teacher is fitted to the real labels "
        "(‖w*‖ = 1, unit logit variance) and the distribution is uniform over the rows, so p(θ) and R(w) are "
        f"exact and the bound min_θ p(θ) + p(π/2−θ)^n uses the data's own p. {scale.trials} training sets per n "
        "(rows drawn with replacement), shared by both students.\n\n"
        + markdown_table(["data", "n", "distilled E R_n [95%]", "hard labels E R_n [95%]", "bound"], rows)
    )
    return Section("real", "5. Real data", text, ("real.png",), curves)


EXPERIMENTS: dict[str, Callable[[Scale, Path, int, Tick], Section]] = {
    "geometry": data_geometry,
    "bias": optimisation_bias,
    "monotonicity": monotonicity,
    "deep": deep_students,
    "real": real_data,
}
"""The experiments in report order."""
