"""The five experiments of THEORY.md §5 and a section on §8, each a function ``(scale, directory,
seed, tick) -> Section`` that writes its figures into ``directory`` and returns its Markdown and
its numbers.

What each experiment runs on (dimensions, sizes, families) is a :class:`Settings`: the quick
:data:`CI_SETTINGS` or the paper's own :data:`PAPER_SETTINGS` (THEORY.md §7). Every caption
states its settings and, side by side, the paper's conclusions the figure supports or
contradicts, decided from its intervals (:mod:`kdverify.experiments.findings`).

All students are trained by the solvers (:mod:`kdverify.experiments.students`); every expected
risk carries a 95% betting interval per point (``betting_mean``);
every index of one-point extensions an exact Clopper–Pearson interval.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from kdverify._util.linalg import span_projector
from kdverify._util.validation import positive_int
from kdverify.data import BetaPolarised, Discrete, Family, Margin, from_params
from kdverify.experiments.curves import Curve, CurvePoint, draw_training_sets, risk_curve
from kdverify.experiments.findings import Finding, below, findings_table, order, overall, paired_increase
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
from kdverify.measure.stats import MeanEstimate, bernoulli_mean, betting_mean
from kdverify.theory import rate_polynomial_constants

__all__ = [
    "CI_BEYOND",
    "CI_SETTINGS",
    "EXPERIMENTS",
    "PAPER_SETTINGS",
    "SETTINGS",
    "BeyondSettings",
    "BiasPanel",
    "Scale",
    "Section",
    "Settings",
    "markdown_table",
    "progress_ticks",
]

Tick = Callable[[str], None]

MONOTONE_TOLERANCE = 1e-6
"""A risk change below this counts as "no increase" in the monotonicity index. The solvers
certify ``‖w − ŵ‖ ≤ 1e-9·max(1, ‖ŵ‖)`` and the risk quadratures are accurate to ``1e-8``, so
rounding cannot move a risk by this much; a real increase can be smaller and is then missed."""


FamilyChoice = tuple[str, dict[str, Any]]
"""A family by registry id and parameters (:func:`~kdverify.data.from_params`)."""


@dataclass(frozen=True)
class BiasPanel:
    """One panel of the optimisation-bias experiment: a family, its sizes ``n`` and the
    off-span displacements ``δ``."""

    family: FamilyChoice
    sizes: tuple[int, ...]
    deltas: tuple[float, ...]


@dataclass(frozen=True)
class BeyondSettings:
    """The data of the section on THEORY.md §8: the softmax students' family, sizes and numbers of
    classes; the ρ-mixed students' family, sizes and ratios; and the kernel ridge rounds' points
    (dimension, training and test sizes, on the unit sphere), ``λ``, noise variances, number of
    rounds and RBF bandwidth."""

    softmax_family: FamilyChoice
    softmax_sizes: tuple[int, ...]
    classes: tuple[int, ...]
    mixed_family: FamilyChoice
    mixed_sizes: tuple[int, ...]
    rhos: tuple[float, ...]
    kernel_dim: int
    kernel_size: int
    kernel_test_points: int
    kernel_lam: float
    kernel_noises: tuple[float, ...]
    kernel_rounds: int
    kernel_bandwidth: float = 1.0


CI_BEYOND = BeyondSettings(
    softmax_family=("isotropic", {"dim": 8}),
    softmax_sizes=(1, 2, 3, 4, 6, 10),
    classes=(2, 3, 5),
    mixed_family=("beta-polarised", {"dim": 10, "a": 1.0, "b": 2.0}),
    mixed_sizes=(1, 2, 4, 6, 8, 10),
    rhos=(0.25, 0.5, 0.75, 1.0),
    kernel_dim=3,
    kernel_size=20,
    kernel_test_points=20,
    kernel_lam=0.1,
    kernel_noises=(0.0, 0.25, 1.0),
    kernel_rounds=5,
)


@dataclass(frozen=True)
class Settings:
    """What each experiment runs on: the data geometry's dimension, sizes, Beta shapes ``b``
    (``κ``, with ``a = λ = 1``) and margins; the optimisation-bias panels; the monotonicity
    experiment's dimension and sizes; the deep students' family and sizes; the real data sets and
    their sizes; the section on THEORY.md §8 (:class:`BeyondSettings`). ``name`` says which
    (``ci`` or ``paper``) in the report."""

    name: str
    geometry_dim: int
    geometry_sizes: tuple[int, ...]
    geometry_b: tuple[float, ...]
    geometry_margins: tuple[float, ...]
    bias: tuple[BiasPanel, ...]
    monotonicity_dim: int
    monotonicity_sizes: tuple[int, ...]
    deep_family: FamilyChoice
    deep_sizes: tuple[int, ...]
    real: tuple[FamilyChoice, ...]
    real_sizes: tuple[int, ...]
    beyond: BeyondSettings = CI_BEYOND


_SMALL_DELTAS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)

CI_SETTINGS = Settings(
    name="ci",
    geometry_dim=20,
    geometry_sizes=(1, 2, 3, 4, 6, 8, 10, 12, 16),
    geometry_b=(0.5, 1.0, 2.0, 4.0),
    geometry_margins=(0.1, 0.2, 0.3),
    bias=(
        BiasPanel(("isotropic", {"dim": 10}), (2, 5), _SMALL_DELTAS),
        BiasPanel(("beta-polarised", {"dim": 10, "a": 1.0, "b": 2.0}), (2, 5), _SMALL_DELTAS),
    ),
    monotonicity_dim=10,
    monotonicity_sizes=(1, 3, 6, 9),
    deep_family=("isotropic", {"dim": 8}),
    deep_sizes=(1, 2, 3, 4, 5, 6, 8, 10),
    real=(
        ("digits", {"pair": (0, 1)}),
        ("digits", {"pair": (3, 8)}),
        ("digits", {"pair": (4, 9)}),
        ("breast-cancer", {}),
    ),
    real_sizes=(1, 2, 4, 8, 16, 32, 64),
)
"""Small dimensions and scikit-learn's data sets: the whole report in a few minutes."""

PAPER_SETTINGS = Settings(
    name="paper",
    geometry_dim=1000,
    geometry_sizes=(1, 2, 3, 4, 6, 8, 10, 12, 15, 20),
    geometry_b=(0.5, 1.0, 2.0, 4.0),
    geometry_margins=(0.1, 0.2, 0.3),
    bias=(
        BiasPanel(("mnist", {"pair": (0, 1)}), (100,), tuple(float(d) for d in range(0, 100, 10))),
        BiasPanel(
            ("beta-polarised", {"dim": 1000, "a": 1.0, "b": 1.0}), (5, 20), (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 90.0)
        ),
    ),
    monotonicity_dim=1000,
    monotonicity_sizes=(1, 5, 10, 19),
    deep_family=("beta-polarised", {"dim": 100, "a": 1.0, "b": 1.0}),
    deep_sizes=(1, 2, 3, 4, 5),
    real=(("mnist", {"pair": (0, 1)}), ("digits", {"pair": (0, 1)})),
    real_sizes=(1, 2, 5, 10, 20, 50, 100),
    beyond=BeyondSettings(
        softmax_family=("isotropic", {"dim": 50}),
        softmax_sizes=(1, 5, 10, 20, 30, 40, 60),
        classes=(2, 3, 5),
        mixed_family=("beta-polarised", {"dim": 100, "a": 1.0, "b": 1.0}),
        mixed_sizes=(1, 2, 5, 10, 20),
        rhos=(0.25, 0.5, 0.75, 1.0),
        kernel_dim=5,
        kernel_size=30,
        kernel_test_points=30,
        kernel_lam=0.1,
        kernel_noises=(0.0, 0.25, 1.0),
        kernel_rounds=8,
    ),
)
"""The paper's settings (THEORY.md §7): angularly polarised data with d = 1000 and n ≤ 20;
MNIST 0 versus 1 with n = 100 and students ``w_δ``, δ ∈ {0, 10, …, 90}; deep linear students on
κ = 1 data with d = 100, n ≤ 5. The section on §8 (beyond the paper) uses the paper's κ = 1
geometry and sizes n ≤ 20 at d = 100 for the ρ-mixed students (at d = 1000 their three SVDs per
batch cost minutes), and larger sizes than ``ci`` elsewhere; sizes avoid n = d, where a square X
leaves a few students to slow Newton refinement."""

SETTINGS = {settings.name: settings for settings in (CI_SETTINGS, PAPER_SETTINGS)}


def progress_ticks(settings: Settings) -> dict[str, int]:
    """How many progress ticks each experiment makes under ``settings`` (for a progress bar)."""
    return {
        "geometry": len(settings.geometry_sizes) * (len(settings.geometry_b) + len(settings.geometry_margins)),
        "bias": sum(len(panel.sizes) * len(panel.deltas) for panel in settings.bias),
        "monotonicity": 4 * 2 * len(settings.monotonicity_sizes),
        "deep": 3 * len(settings.deep_sizes),
        "real": 2 * len(settings.real) * len(settings.real_sizes),
        "beyond": (len(settings.beyond.classes) + 1) * len(settings.beyond.softmax_sizes)
        + (len(settings.beyond.rhos) + 1) * len(settings.beyond.mixed_sizes)
        + 2,
    }


@lru_cache(maxsize=16)
def _built(name: str, key: str) -> Family:
    return from_params(name, **json.loads(key))


def build(choice: FamilyChoice) -> Family:
    """The family of a :data:`FamilyChoice` (cached: real data sets fit their teacher once)."""
    name, params = choice
    return _built(name, json.dumps(params, sort_keys=True))


@dataclass(frozen=True)
class Scale:
    """How much each experiment spends: Monte Carlo training sets per point (``trials``), per
    deep-student point (``deep_trials``), the gradient-descent budget before Newton, an
    optional cap ``max_n`` on every grid of sizes (quick runs) and the training ``method`` of the
    distilled and hard students (``auto``: certified closed form / max-margin; ``gd``: literal GD);
    ``settings`` are the experiments' data (:class:`Settings`)."""

    trials: int
    deep_trials: int
    max_iter: int = 20_000
    max_n: int | None = None
    method: str = "auto"
    settings: Settings = CI_SETTINGS

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
    the numbers behind them (plain JSON); ``captions``, when given, go under their figures (one
    per figure) and the body after them."""

    key: str
    title: str
    text: str
    figures: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)
    captions: tuple[str, ...] = ()


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _interval(estimate: MeanEstimate | None) -> str:
    """``mean [lower, upper]``, or a dash where nothing was estimated."""
    return "—" if estimate is None else f"{estimate.mean:.3g} [{estimate.lower:.3g}, {estimate.upper:.3g}]"


def _caption(settings: str, findings: list[Finding], details: str, *, header: str = "the paper's conclusion") -> str:
    """A section's text: its settings, the findings side by side, then the details."""
    return f"**Settings.** {settings}\n\n{findings_table(findings, header=header)}\n\n{details}"


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


def _bound_finding(conclusion: str, pairs: list[tuple[MeanEstimate, float]]) -> Finding:
    """An upper bound against the points it covers; bounds of 1 or more (a risk is at most 1,
    so they say nothing, like the corollaries' ``inf`` below ``n_0``) are left out."""
    finite = [(e, b) for e, b in pairs if b < 1]
    if not finite:
        return Finding(
            conclusion, f"the bound is 1 or more at all {len(pairs)} points: it says nothing here", "inconclusive"
        )
    violations = sum(e.lower > b for e, b in finite)
    wide = sum(e.lower <= b < e.upper for e, b in finite)
    measured = (
        f"of {len(finite)} points with a bound below 1 (of {len(pairs)}): {len(finite) - violations - wide} "
        "intervals lie at or below the bound, "
        f"{violations} entirely above it, {wide} straddle it (too wide to decide); largest E R_n / bound "
        f"{max((e.mean / b for e, b in finite if b > 0), default=0):.3g}"
    )
    return Finding(conclusion, measured, below(finite))


def data_geometry(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Experiment 1: ``E R_n`` of the distilled student on Beta-polarised data at several
    ``b = κ`` (beside the risk bound and the corollary's rate ``C (log n / n)^κ``) and on margin
    data (beside the corollary's ``p(π/2 − θ_m)^n``)."""
    settings = scale.settings
    dim, sizes = settings.geometry_dim, scale.sizes(settings.geometry_sizes)
    beta = {
        b: _curve(BetaPolarised(dim, 1.0, b), sizes, ["distilled"], scale.trials, scale, seed, tick)
        for b in settings.geometry_b
    }
    margin = {
        m: _curve(Margin(dim, m), sizes, ["distilled"], scale.trials, scale, seed, tick)
        for m in settings.geometry_margins
    }
    rates = {b: rate_polynomial_constants(1.0, b) for b in beta}
    figure, (left, right) = new_figure(2)
    lines = []
    for index, (b, curve) in enumerate(beta.items()):
        ours = curve_series(curve, with_p_angle=False)
        lines += [_recolour(ours[0], f"κ=b={b:g}: E R_n", COLOURS[index]), _recolour(ours[1], None, COLOURS[index])]
        valid = [n for n in sizes if n >= rates[b].n0 and rates[b].bound(n) <= 1]
        if valid:
            rate = [rates[b].bound(n) for n in valid]
            lines.append(Series("", valid, rate, style=":", marker=None, colour=COLOURS[index]))
    plot_series(left, lines, log_y=True)
    left.set_title(f"Beta-polarised (a=λ=1, d={dim}): dashed = bound, dotted = corollary C(log n/n)^κ", fontsize=9)
    rows, lines = [], []
    for index, (m, curve) in enumerate(margin.items()):
        points = curve.select("distilled")
        margin_rate = float(curve.family.p(np.pi / 2 - m))
        fitted = fitted_rate(points)
        ours = curve_series(curve, with_p_angle=False)
        lines += [
            _recolour(ours[0], f"θ_m={m:g}: E R_n", COLOURS[index]),
            Series(
                "",
                [p.n for p in points],
                [margin_rate**p.n for p in points],
                style="--",
                marker=None,
                colour=COLOURS[index],
            ),
        ]
        rows.append(
            [
                f"{m:g}",
                f"{margin_rate:.4f}",
                "—" if fitted is None else f"{fitted:.4f}",
                _interval(points[-1].risk),
                f"{margin_rate ** points[-1].n:.3g}",
            ]
        )
    plot_series(right, lines, log_y=True)
    right.set_title(f"margin data (d={dim}): dashed = corollary p(π/2−θ_m)^n", fontsize=9)
    for axes in (left, right):
        axes.set_xlabel("training set size n")
        axes.set_ylabel("expected transfer risk E R_n")
        axes.legend(fontsize=7, loc="lower left")
    save(figure, directory / "geometry.png")
    last = {b: curve.select("distilled")[-1].risk for b, curve in beta.items()}
    by_size = list(zip(*(curve.select("distilled") for curve in beta.values()), strict=True))
    ordered = [order(large.risk, small.risk) for points in by_size for small, large in itertools.pairwise(points)]
    means_ordered = all(small.risk.mean >= large.risk.mean for p in by_size for small, large in itertools.pairwise(p))
    findings = [
        Finding(
            "Thinner mass near the teacher's boundary (larger κ) makes E R_n fall faster",
            f"over {len(ordered)} (n, consecutive κ) comparisons the larger κ's interval lies below in "
            f"{ordered.count('supports')}, above in {ordered.count('contradicts')}, overlaps in "
            f"{ordered.count('inconclusive')}; means {'ordered by κ at every n' if means_ordered else 'not ordered'}; "
            f"at n={sizes[-1]}: " + "; ".join(f"κ={b:g}: {_interval(e)}" for b, e in last.items()),
            overall(ordered),
        ),
        _bound_finding(
            "E R_n ≤ min_θ p(θ) + p(π/2 − θ)^n (the main risk bound)",
            [(p.risk, p.bound) for curve in (*beta.values(), *margin.values()) for p in curve.points],
        ),
        _bound_finding(
            "Polynomial geometry: E R_n ≤ C (log n / n)^κ for n ≥ n_0 (corollary, λ = 1)",
            [
                (p.risk, rates[b].bound(p.n) if p.n >= rates[b].n0 else np.inf)
                for b, curve in beta.items()
                for p in curve.points
            ],
        ),
        _bound_finding(
            "Margin θ_m: E R_n ≤ p(π/2 − θ_m)^n, an exponential rate (corollary)",
            [(p.risk, float(c.family.p(np.pi / 2 - m)) ** p.n) for m, c in margin.items() for p in c.points],
        ),
    ]
    table_b = markdown_table(
        ["κ = b", *[f"n={n}" for n in sizes[::3]]],
        [[f"{b:g}", *[_interval(p.risk) for p in curve.select("distilled")[::3]]] for b, curve in beta.items()],
    )
    table_m = markdown_table(
        ["θ_m", "corollary rate p(π/2−θ_m)", "fitted rate", f"E R_n at n={sizes[-1]}", "corollary bound there"], rows
    )
    text = _caption(
        f"distilled linear students from 0 (T = 1), d = {dim}, n ∈ {{{', '.join(map(str, sizes))}}}, "
        f"{scale.trials} training sets per point; Beta-polarised data with a = λ = 1 and κ = b ∈ "
        f"{{{', '.join(f'{b:g}' for b in beta)}}}, margin data θ_m ∈ {{{', '.join(f'{m:g}' for m in margin)}}}; "
        f"{scale.training.describe('distilled')}.",
        findings,
        "The corollary's constants C and n_0 are derived symbolically (`kdverify derive rate-polynomial`); its "
        "curve is drawn where it is below 1. The fitted rate is exp of the least-squares slope of log E R_n against "
        "n over the points with E R_n ≥ 1e-8 (smaller values are the solvers' residuals); it should not exceed "
        f"the corollary's rate.\n\nE R_n [95% interval] on Beta-polarised data:\n\n{table_b}\n\nMargin data:\n\n"
        f"{table_m}",
    )
    data = {
        "beta": {str(b): c.to_json() for b, c in beta.items()},
        "margin": {str(m): c.to_json() for m, c in margin.items()},
        "findings": [f.as_dict() for f in findings],
    }
    return Section("geometry", "1. Data geometry", text, ("geometry.png",), data)


def _recolour(line: Series, label: str | None, colour: str) -> Series:
    return Series(label or "", line.x, line.y, line.lower, line.upper, line.style, line.marker, colour)


def optimisation_bias(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Experiment 2: risk of the students ``w_δ = P w*/T + δu`` (``u ⊥ span X`` a random unit
    vector), the limit of gradient descent from ``w_0 = δu``, against ``δ``; on a real data set
    also the risk on the rows each training set did not draw (held out)."""
    panels = [replace_sizes(panel, scale.sizes(panel.sizes)) for panel in scale.settings.bias]
    figure, axes_list = new_figure(len(panels))
    results: dict[str, Any] = {}
    rows, findings = [], []
    for axes, panel in zip(axes_list, panels, strict=True):
        family = build(panel.family)
        teacher, lines = family.teacher(), []
        for index, n in enumerate(panel.sizes):
            rng = np.random.default_rng([seed, n, 99])
            data, drawn = draw_training_sets(family, n, scale.trials, rng)
            direction = span_projector(data).complement(rng.standard_normal(data.shape[:2]))
            direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
            estimates, held, compared = [], [], []
            for delta in panel.deltas:
                trained = distilled_students(data, teacher, scale.training, w0=delta * direction)
                risks = np.clip(family.risk(trained.w), 0, 1)
                estimates.append(betting_mean(risks))
                if isinstance(family, Discrete) and drawn is not None:
                    risks = np.clip(family.held_out_risk(trained.w, drawn), 0, 1)
                    held.append(betting_mean(risks))
                compared.append(risks)
                tick(f"{family.name} n={n} δ={delta:g}")
            colour = COLOURS[index]
            lines.append(Series.of_estimates(f"n={n}", panel.deltas, estimates, colour=colour))
            if held:
                lines.append(
                    Series.of_estimates(f"n={n}, held-out rows", panel.deltas, held, style="--", colour=colour)
                )
            key = f"{family.name} n={n}"
            results[key] = {"delta": list(panel.deltas), "risk": [e.as_dict() for e in estimates]}
            if held:
                results[key]["held_out"] = [e.as_dict() for e in held]
            rows.append([family.describe(), n, *[_interval(e) for e in estimates]])
            shown = held or estimates
            means = [e.mean for e in shown]
            increase, verdict = paired_increase(compared[0], compared[-1])
            findings.append(
                Finding(
                    f"{family.name}, n = {n}: the risk of w_δ grows with δ",
                    f"{'held-out ' if held else ''}risk {_interval(shown[0])} at δ=0, {_interval(shown[-1])} at "
                    f"δ={panel.deltas[-1]:g}, paired increase {_interval(increase)}; means "
                    + ("non-decreasing in δ" if all(np.diff(means) >= 0) else "not monotone in δ"),
                    verdict,
                )
            )
        plot_series(axes, lines)
        axes.set_xlabel("off-span displacement δ = ‖P⊥ w_0‖ (‖w*‖ = 1, T = 1)")
        axes.set_ylabel("expected transfer risk")
        axes.set_title(family.describe(), fontsize=8)
        axes.legend(fontsize=8)
    save(figure, directory / "bias.png")
    text = _caption(
        "; ".join(
            f"{build(p.family).describe()}, n ∈ {{{', '.join(map(str, p.sizes))}}}, "
            f"δ ∈ {{{', '.join(f'{d:g}' for d in p.deltas)}}}"
            for p in panels
        )
        + f". {scale.trials} training sets per point, the same sets and directions u for every δ; "
        f"students {scale.training.describe('distilled')}.",
        findings,
        "Gradient descent from w_0 = δu with u ⊥ span X converges to P w*/T + δu (optimization-bias-linear); the "
        "off-span part is never corrected. δ is in the units of the standard normalisation (‖w*‖ = 1, unit "
        "teacher-logit variance), not the paper's raw pixels. On real data the expected risk is over all rows "
        "(training rows included, the distribution the theory is about); the dashed lines are the risk on the rows "
        "each training set did not draw.\n\n"
        + markdown_table(["family", "n", *[f"δ={d:g}" for d in panels[0].deltas]], rows[: len(panels[0].sizes)])
        + (
            "\n\n"
            + markdown_table(
                ["family", "n", *[f"δ={d:g}" for d in panels[1].deltas]],
                rows[len(panels[0].sizes) :],
            )
            if len(panels) > 1
            else ""
        ),
    )
    results["findings"] = [f.as_dict() for f in findings]
    return Section("bias", "2. Optimisation bias", text, ("bias.png",), results)


def replace_sizes(panel: BiasPanel, sizes: tuple[int, ...]) -> BiasPanel:
    """``panel`` with other sizes (a quick run's cap)."""
    return BiasPanel(panel.family, sizes, panel.deltas)


def monotonicity(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Experiment 3: the monotonicity index (fraction of one-point extensions ``X → X ∪ {x}``
    whose risk does not increase) of the distilled and the max-margin student."""
    dim = scale.settings.monotonicity_dim
    families = [
        from_params("isotropic", dim=dim),
        BetaPolarised(dim, 1.0, 2.0),
        from_params("anisotropic", dim=dim, condition=100.0),
        Margin(dim, 0.2),
    ]
    sizes = scale.sizes(scale.settings.monotonicity_sizes)
    figure, axes_list = new_figure(2, rows=2, height=3.4)
    results: dict[str, Any] = {}
    rows, comparisons = [], []
    for axes, family in zip(axes_list, families, strict=True):
        teacher, lines = family.teacher(), []
        outcomes: dict[str, list[Any]] = {}
        for index, student in enumerate(("distilled", "hard")):
            estimates, outcomes[student] = [], []
            for n in sizes:
                rng = np.random.default_rng([seed, n, 7])
                extended = family.sample(n + 1, rng, trials=scale.trials)
                before = train_students(student, extended[..., :n], teacher, scale.training, rng=rng)
                after = train_students(student, extended, teacher, scale.training, rng=rng)
                kept = family.risk(after.w) <= family.risk(before.w) + MONOTONE_TOLERANCE
                estimates.append(bernoulli_mean(kept.astype(float)))
                outcomes[student].append(kept.astype(float))
                tick(f"{family.name} n={n} {student}")
            lines.append(Series.of_estimates(STUDENT_LABELS[student], sizes, estimates, colour=COLOURS[index]))
            results[f"{family.describe()} {student}"] = {"n": list(sizes), "index": [e.as_dict() for e in estimates]}
            rows.append(
                [family.describe(), student, *[f"{e.mean:.3f} [{e.lower:.3f}, {e.upper:.3f}]" for e in estimates]]
            )
        # The two students see the same extensions (the same seeds): compare them pairwise.
        comparisons += [paired_increase(h, d)[1] for d, h in zip(outcomes["distilled"], outcomes["hard"], strict=True)]
        plot_series(axes, lines)
        axes.set_ylim(-0.02, 1.02)
        axes.set_xlabel("size n of X (extension to n + 1)")
        axes.set_ylabel("monotonicity index")
        axes.set_title(family.describe(), fontsize=9)
        axes.legend(fontsize=8, loc="lower right")
    save(figure, directory / "monotonicity.png")
    distilled_min = min(e["mean"] for k, v in results.items() if k.endswith("distilled") for e in v["index"])
    findings = [
        Finding(
            "Strong monotonicity: one more training point (almost) never increases the distilled student's risk, "
            "more reliably than with hard labels (index distilled ≥ hard)",
            f"over {len(comparisons)} (family, n) pairs the distilled index is above the hard-label one (paired "
            f"over the same extensions) in "
            f"{comparisons.count('supports')}, below in {comparisons.count('contradicts')}, undecided in "
            f"{comparisons.count('inconclusive')}; smallest distilled index {distilled_min:.3f}",
            overall(comparisons),
        )
    ]
    text = _caption(
        f"d = {dim}, n ∈ {{{', '.join(map(str, sizes))}}}, {scale.trials} pairs (X, x) per point; distilled "
        f"students {scale.training.describe('distilled')}; hard-label students {scale.training.describe('hard')}.",
        findings,
        "For each training set X of size n and one more independent point x, the index is the fraction with "
        f"R(ŵ_{{X∪{{x}}}}) ≤ R(ŵ_X) + {MONOTONE_TOLERANCE:g} (exact Clopper–Pearson 95% intervals). On isotropic "
        "data the distilled student's index is 1 by the theorem monotone-distance (its angle never grows); "
        "elsewhere the risk of a better-aligned student can still increase (the open claim "
        "monotone-risk-pointwise). The hard-label (max-margin) student has no such guarantee.\n\n"
        + markdown_table(["family", "student", *[f"n={n}" for n in sizes]], rows),
    )
    results["findings"] = [f.as_dict() for f in findings]
    return Section("monotonicity", "3. Strong monotonicity", text, ("monotonicity.png",), results)


def deep_students(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Experiment 4: risk curves of deep linear students from small and balanced inits."""
    family, sizes = build(scale.settings.deep_family), scale.sizes(scale.settings.deep_sizes)
    students = ["distilled", "deep", "deep-balanced"]
    curve = _curve(family, sizes, students, scale.deep_trials, scale, seed, tick)
    figure, (axes,) = new_figure()
    plot_series(axes, curve_series(curve, with_p_angle=False))
    axes.set_xlabel("training set size n")
    axes.set_ylabel("expected transfer risk E R_n")
    axes.set_title(f"{family.describe()}, two-layer students (hidden width d)", fontsize=8)
    axes.legend(fontsize=8, loc="upper right")
    save(figure, directory / "deep.png")
    linear, small, balanced = (curve.select(s) for s in students)
    gaps = [abs(d.risk.mean - lin.risk.mean) for d, lin in zip(small, linear, strict=True)]
    separated = [paired_increase(lin.risks, d.risks)[1] != "inconclusive" for d, lin in zip(small, linear, strict=True)]
    findings = [
        Finding(
            "Deep linear students from a small initialisation have the linear student's favourable bias "
            "(same limit P w*/T up to O(ε), so the same risk)",
            f"largest |E R_n(deep, small init) − E R_n(linear)| {max(gaps):.2g}; the paired difference is "
            f"away from 0 at {sum(separated)} of {len(separated)} sizes",
            "contradicts" if any(separated) else "supports",
        ),
        Finding(
            "The bias needs a small off-span part W_1(0)P⊥ (optimization-bias-deep): a balanced initialisation at "
            f"scale {scale.training.balanced_scale:g} keeps an O(1) part, so its risk is higher",
            "E R_n balanced vs linear: "
            + "; ".join(
                f"n={b.n}: {_interval(b.risk)} vs {_interval(lin.risk)}"
                for b, lin in zip(balanced, linear, strict=True)
            ),
            overall([paired_increase(lin.risks, b.risks)[1] for b, lin in zip(balanced, linear, strict=True)]),
        ),
    ]
    rows = [
        [p.n, p.student, _interval(p.risk), "/".join("-" if v is None else str(v) for v in p.counts.values())]
        for p in curve.points
    ]
    text = _caption(
        f"{family.describe()}, n ∈ {{{', '.join(map(str, sizes))}}}, {scale.deep_trials} training sets per n, shared "
        f"by the three students. Deep students: {scale.training.describe('deep')}; "
        f"{scale.training.describe('deep-balanced')}.",
        findings,
        "From a small initialisation the off-span part W_1(0)P⊥ is O(ε), so the deep student lands next to the "
        "linear one; the balanced initialisation at scale 1 keeps an O(1) off-span part, and its risk stays higher "
        "until n ≥ d removes the off-span space. Students that did not reach the certified tolerance within budget "
        "are kept and counted.\n\n"
        + markdown_table(["n", "student", "E R_n [95%]", "certified / Newton-finished / uncertified"], rows),
    )
    data = {**curve.to_json(), "findings": [f.as_dict() for f in findings]}
    return Section("deep", "4. Deep linear students", text, ("deep.png",), data)


def real_data(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Experiment 5: distillation against hard labels on real data sets (MNIST and
    scikit-learn's digits and breast-cancer), on all rows and on the held-out rows."""
    families = [build(choice) for choice in scale.settings.real]
    sizes = scale.sizes(scale.settings.real_sizes)
    columns = 2 if len(families) > 1 else 1
    figure, axes_list = new_figure(columns, rows=-(-len(families) // columns), height=3.6)
    curves: dict[str, Any] = {}
    rows, findings = [], []
    for axes, family in zip(axes_list, families, strict=False):
        curve = _curve(family, sizes, ["distilled", "hard"], scale.trials, scale, seed, tick)
        curves[family.describe()] = curve.to_json()
        lines = curve_series(curve)
        for index, student in enumerate(curve.students):
            points = curve.select(student)
            lines.append(
                Series(
                    f"held-out rows, {STUDENT_LABELS[student]}",
                    [p.n for p in points],
                    [p.held_out.mean for p in points if p.held_out is not None],
                    style="-.",
                    marker=None,
                    colour=COLOURS[index],
                )
            )
        plot_series(axes, lines, log_y=True)
        axes.set_xscale("log", base=2)
        axes.set_xlabel("training set size n")
        axes.set_ylabel("expected transfer risk")
        axes.set_title(family.describe(), fontsize=8)
        axes.legend(fontsize=6, loc="lower left")
        distilled, hard = curve.select("distilled"), curve.select("hard")
        name = family.describe().split(";")[0] + ")"
        for d, h in zip(distilled, hard, strict=True):
            rows.append([name, d.n, _interval(d.risk), _interval(h.risk), _interval(d.held_out), _interval(h.held_out)])
            rows[-1].append(f"{d.bound:.3g}")
        comparisons = [
            paired_increase(d.held_out_risks, h.held_out_risks)[1] for d, h in zip(distilled, hard, strict=True)
        ]
        findings.append(
            Finding(
                f"{name}: distillation beats training on hard labels (lower test error)",
                f"held-out risk lower with distillation (paired over the same training sets) at "
                f"{comparisons.count('supports')} of {len(sizes)} sizes, "
                f"higher at {comparisons.count('contradicts')}; at n={sizes[-1]}: {_interval(distilled[-1].held_out)} "
                f"vs {_interval(hard[-1].held_out)}",
                overall(comparisons),
            )
        )
        findings.append(
            _bound_finding(f"{name}: E R_n ≤ min_θ p(θ) + p(π/2 − θ)^n", [(p.risk, p.bound) for p in distilled])
        )
    for axes in axes_list[len(families) :]:
        axes.set_visible(False)
    save(figure, directory / "real.png")
    text = _caption(
        "; ".join(f.describe() for f in families)
        + f". n ∈ {{{', '.join(map(str, sizes))}}}, {scale.trials} training sets per n (rows drawn with "
        "replacement), shared by both students; distilled "
        f"{scale.training.describe('distilled')}; hard labels {scale.training.describe('hard')}.",
        findings,
        "Features are standardised, a logistic-regression teacher is fitted to the real labels on all rows "
        "(‖w*‖ = 1, unit logit variance) and the distribution is uniform over the rows, so p(θ) and R(w) are exact "
        "and the bound min_θ p(θ) + p(π/2−θ)^n uses the data's own p. E R_n is over all rows (training rows "
        "included); the held-out risk (dash-dotted) over the rows each training set did not draw.\n\n"
        + markdown_table(
            ["data", "n", "distilled E R_n", "hard E R_n", "distilled held-out", "hard held-out", "bound"], rows
        ),
    )
    curves["findings"] = [f.as_dict() for f in findings]
    return Section("real", "5. Real data", text, ("real.png",), curves)


def beyond_the_paper(scale: Scale, directory: Path, seed: int, tick: Tick) -> Section:
    """Section 6: THEORY.md §8 — softmax students, ρ-mixed students and kernel ridge
    self-distillation (:mod:`kdverify.experiments.beyond`, which builds on this module)."""
    from kdverify.experiments.beyond import beyond_section

    return beyond_section(scale, directory, seed, tick)


EXPERIMENTS: dict[str, Callable[[Scale, Path, int, Tick], Section]] = {
    "geometry": data_geometry,
    "bias": optimisation_bias,
    "monotonicity": monotonicity,
    "deep": deep_students,
    "real": real_data,
    "beyond": beyond_the_paper,
}
"""The experiments in report order."""
