"""Figures of the experiments, drawn with matplotlib's object API (no pyplot global state) and
saved atomically as PNG. matplotlib is the optional extra ``plots``."""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kdverify.errors import MissingDependency
from kdverify.experiments.curves import Curve
from kdverify.experiments.files import write_atomic
from kdverify.experiments.students import student_kind
from kdverify.measure.stats import MeanEstimate

__all__ = [
    "Series",
    "curve_series",
    "new_figure",
    "plot_curve",
    "plot_series",
    "require_matplotlib",
    "save_figure",
    "student_label",
]

MARKERS = ("o", "s", "^", "D", "v")
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")
STUDENT_LABELS = {
    "distilled": "distilled (soft labels)",
    "hard": "hard labels (max-margin)",
    "hard-gd": "hard labels (GD, fixed budget)",
    "deep": "deep linear, small init",
    "deep-balanced": "deep linear, balanced init",
    "softmax": "softmax, K={}",
    "mixed": "mixed targets, ρ={}",
}
DPI = 110
LOG_FLOOR = 1e-8
"""Lowest risk shown on a log axis: the students are certified to ``‖w − ŵ‖ ≤ 1e-9·max(1, ‖ŵ‖)``,
so a risk near ``1e-9`` is the solver's residual, not a feature of the curve."""


def student_label(student: str) -> str:
    """The legend label of a student (``softmax:K=3`` → ``softmax, K=3``)."""
    kind, _ = student_kind(student)
    return STUDENT_LABELS[kind].format(student.partition("=")[2])


def require_matplotlib() -> None:
    """Fail early, before a long computation, when matplotlib is missing."""
    _figure_class()


def _figure_class() -> Any:
    try:
        return importlib.import_module("matplotlib.figure").Figure
    except ImportError:
        raise MissingDependency(
            "Figures need matplotlib, which is not installed; install it with pip install 'kdverify[plots]'."
        ) from None


def new_figure(columns: int = 1, *, rows: int = 1, width: float = 6.4, height: float = 4.2) -> tuple[Any, list[Any]]:
    """A figure with a ``rows × columns`` grid of axes (matplotlib's object API), row by row."""
    figure = _figure_class()(figsize=(width * columns, height * rows), layout="constrained")
    return figure, list(figure.subplots(rows, columns, squeeze=False).ravel())


def save_figure(figure: Any, path: str | os.PathLike[str]) -> Path:
    """Save ``figure`` as a PNG atomically (no timestamp in the metadata)."""
    return write_atomic(path, lambda stream: figure.savefig(stream, format="png", dpi=DPI, metadata={"Software": None}))


@dataclass(frozen=True)
class Series:
    """One line of a figure: ``y`` against ``x`` with an optional band ``[lower, upper]``."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    lower: Sequence[float] | None = None
    upper: Sequence[float] | None = None
    style: str = "-"
    marker: str | None = "o"
    colour: str | None = None

    @classmethod
    def of_estimates(cls, label: str, x: Sequence[float], estimates: Sequence[MeanEstimate], **style: Any) -> Series:
        """The means of ``estimates`` against ``x``, banded by their confidence intervals."""
        return cls(
            label,
            x,
            [e.mean for e in estimates],
            [e.lower for e in estimates],
            [e.upper for e in estimates],
            **style,
        )


def plot_series(axes: Any, series: Sequence[Series], *, log_y: bool = False) -> None:
    """Draw lines with shaded confidence bands.

    With ``log_y`` the axis starts at the floor of :func:`_log_floor`; anything below it, zeros
    included, is drawn on the bottom edge, and a note on the axes says so.
    """
    floor = _log_floor(series) if log_y else None
    for index, line in enumerate(series):
        colour = line.colour or COLOURS[index % len(COLOURS)]
        y = np.asarray(line.y, dtype=float)
        shown = y if floor is None else np.maximum(y, floor)
        # Earlier lines on top, later ones with larger markers: coinciding curves (the deep student
        # from a small initialisation and the linear one) stay visible as a dot inside a marker.
        axes.plot(
            line.x,
            shown,
            line.style,
            marker=line.marker,
            markersize=3.5 + 1.5 * index,
            color=colour,
            label=line.label,
            zorder=2 + len(series) - index,
        )
        if line.lower is not None and line.upper is not None:
            lower, upper = np.asarray(line.lower, dtype=float), np.asarray(line.upper, dtype=float)
            if floor is not None:
                lower, upper = np.maximum(lower, floor), np.maximum(upper, floor)
            axes.fill_between(line.x, lower, upper, color=colour, alpha=0.13, linewidth=0)
    if floor is not None:
        axes.set_yscale("log")
        axes.set_ylim(bottom=floor)
        axes.annotate(
            f"values below {floor:.0e} drawn at the bottom edge",
            xy=(0.99, 0.01),
            xycoords="axes fraction",
            horizontalalignment="right",
            fontsize=7,
            color="gray",
        )
    axes.grid(True, which="major", alpha=0.3)


def _log_floor(series: Sequence[Series]) -> float:
    """A power of ten a decade below the smallest positive value of the lines with a band, but
    not below :data:`LOG_FLOOR`: bound lines and residual risks cannot stretch the axis."""
    values = [np.asarray(line.y, dtype=float) for line in series if line.upper is not None]
    positive = np.concatenate(values)[np.concatenate(values) > 0] if values else np.array([])
    smallest = float(positive.min()) if positive.size else 1e-2
    return max(LOG_FLOOR, float(10 ** (np.floor(np.log10(smallest)) - 1)))


def curve_series(curve: Curve, *, with_p_angle: bool = True) -> list[Series]:
    """The lines of a risk curve: each student's ``E R_n`` with its band, the per-dataset bound
    ``E p(∠)`` of the distilled student (dotted) and the risk bound (black dashed)."""
    series = []
    for index, student in enumerate(curve.students):
        points = curve.select(student)
        colour = COLOURS[index % len(COLOURS)]
        series.append(
            Series.of_estimates(
                f"E R_n, {student_label(student)}",
                [p.n for p in points],
                [p.risk for p in points],
                marker=MARKERS[index % len(MARKERS)],
                colour=colour,
            )
        )
        if with_p_angle and student == "distilled":
            series.append(
                Series(
                    "E p(∠(ŵ, w*)), distilled",
                    [p.n for p in points],
                    [p.p_angle.mean for p in points if p.p_angle is not None],
                    style=":",
                    marker=None,
                    colour=colour,
                )
            )
    points = curve.select(curve.students[0])
    series.append(
        Series(
            "bound min_θ p(θ) + p(π/2−θ)^n",
            [p.n for p in points],
            [p.bound for p in points],
            style="--",
            marker=None,
            colour="black",
        )
    )
    return series


def plot_curve(curve: Curve, path: str | os.PathLike[str], *, title: str | None = None, log_y: bool = True) -> Path:
    """The PNG of one risk curve (see :func:`curve_series`)."""
    figure, (axes,) = new_figure()
    plot_series(axes, curve_series(curve), log_y=log_y)
    axes.set_xlabel("training set size n")
    axes.set_ylabel("expected transfer risk")
    setting = f"T={curve.temperature:g}, {curve.trials} trials/n, method {curve.training.method}"
    default = f"{curve.family.describe()}, {setting}"
    axes.set_title(title or default, fontsize=9)
    axes.legend(fontsize=8)
    return save_figure(figure, path)
