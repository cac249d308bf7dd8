"""``kdverify curve``: ``E R_n`` against ``n`` for trained students, with confidence bands and
the risk bounds, as a PNG, a CSV and a JSON file."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from kdverify._util.jsonio import write_json_atomic
from kdverify._util.progress import ProgressBar
from kdverify.cli._args import (
    add_family_arguments,
    add_method_argument,
    confidence_level,
    parse_params,
    positive_float,
    positive_integer,
    sample_sizes,
)
from kdverify.cli._table import format_table
from kdverify.data import family_from_params
from kdverify.errors import InvalidArgument
from kdverify.experiments.curves import COLUMNS, Curve, CurvePoint, risk_curve
from kdverify.experiments.files import csv_text, ensure_directory, write_text_atomic
from kdverify.experiments.plotting import plot_curve, require_matplotlib
from kdverify.experiments.students import STUDENTS, Training, parse_students
from kdverify.training.softmax import MAX_CLASSES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "curve",
        help="plot E R_n against n for trained students, with confidence bands and the bounds",
        description="Writes DIR/<family>-curve.png, .csv and .json (byte-identical for a given seed).",
    )
    add_family_arguments(parser)
    parser.add_argument("--n", type=sample_sizes, required=True, help="sizes: N, N1,N2 or START:STOP[:STEP]")
    parser.add_argument("--trials", type=positive_integer, required=True, help="training sets per n")
    parser.add_argument(
        "--student",
        default="distilled,hard",
        help=f"comma-separated student kinds (default distilled,hard): {', '.join(STUDENTS)}; "
        "softmax and mixed take --classes and --rho (or write softmax:K=3, mixed:rho=0.5)",
    )
    parser.add_argument(
        "--classes",
        type=class_counts,
        help="numbers of classes K of the softmax student, e.g. 2,3,5 (default 3; K = 2 is the distilled student)",
    )
    parser.add_argument(
        "--rho",
        type=soft_ratios,
        help="soft-label ratios ρ in (0, 1] of the mixed student, e.g. 0.25,0.5,1 (default 0.5; ρ = 1 is distilled)",
    )
    parser.add_argument("--temperature", type=positive_float, default=1.0, help="teacher temperature T (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training sets (default 0)")
    parser.add_argument(
        "--confidence", type=confidence_level, default=0.95, help="confidence of each interval (default 0.95)"
    )
    parser.add_argument("--max-iter", type=int, default=Training.max_iter, help="GD steps before Newton finishes")
    add_method_argument(parser)
    parser.add_argument("--out", default="kdverify-curve", help="output directory (default ./kdverify-curve)")
    parser.set_defaults(func=run)


def _numbers(text: str, option: str, read: Callable[[str], float]) -> list[float]:
    """A comma-separated list for ``option``, each entry read by ``read``."""
    try:
        values = [read(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{option}={text!r} is not a comma-separated list of numbers") from None
    if not values:
        raise argparse.ArgumentTypeError(f"{option}={text!r} names no value")
    return values


def class_counts(text: str) -> list[int]:
    """``--classes``: whole numbers K with 2 <= K <= 64 (``"2,3,5"``)."""
    values = _numbers(text, "--classes", int)
    if any(not 2 <= k <= MAX_CLASSES for k in values):
        raise argparse.ArgumentTypeError(
            f"--classes={text!r}: every K must lie in 2..{MAX_CLASSES} (a softmax student needs two classes at least)"
        )
    return [int(k) for k in values]


def soft_ratios(text: str) -> list[float]:
    """``--rho``: soft-label ratios in (0, 1] (``"0.25,1"``); 0 is the hard-label student."""
    values = _numbers(text, "--rho", float)
    if any(not 0 < rho <= 1 for rho in values):
        raise argparse.ArgumentTypeError(
            f"--rho={text!r}: every ρ must lie in (0, 1] (ρ = 0 is pure hard labels: use --student hard)"
        )
    return values


def chosen_students(args: argparse.Namespace) -> tuple[str, ...]:
    """The students of ``--student``, with ``softmax`` and ``mixed`` expanded by ``--classes`` and
    ``--rho``; either option without its student is an error (it would silently do nothing)."""
    kinds = {name.strip().partition(":")[0] for name in args.student.split(",")}
    for option, value, kind in (("--classes", args.classes, "softmax"), ("--rho", args.rho, "mixed")):
        if value is not None and kind not in kinds:
            raise InvalidArgument(f"{option} is given, but --student={args.student!r} has no {kind} student.")
    return parse_students(args.student, classes=args.classes or (3,), rhos=args.rho or (0.5,))


def write_curve(curve: Curve, directory: Path, stem: str) -> dict[str, Path]:
    """Write ``stem``.json, .csv and .png into ``directory``; returns the paths by suffix."""
    rows = [point.row() for point in curve.points]
    return {
        "json": write_json_atomic(directory / f"{stem}.json", curve.to_json()),
        "csv": write_text_atomic(directory / f"{stem}.csv", csv_text(COLUMNS, rows)),
        "png": plot_curve(curve, directory / f"{stem}.png"),
    }


def summary(curve: Curve) -> str:
    """The curve as a terminal table."""
    rows = [
        [
            p.n,
            p.student,
            f"{p.risk.mean:.4g}",
            f"[{p.risk.lower:.4g}, {p.risk.upper:.4g}]",
            "—" if p.p_angle is None else f"{p.p_angle.mean:.4g}",
            f"{p.bound:.4g}",
            "/".join("-" if v is None else str(v) for v in p.counts.values()),
        ]
        for p in curve.points
    ]
    header = ["n", "student", "E R_n", "interval", "E p(angle)", "bound", "certified/newton/uncertified"]
    return format_table(header, rows)


def run(args: argparse.Namespace) -> int:
    students = chosen_students(args)
    family = family_from_params(args.family, parse_params(args.param))
    training = Training(max_iter=args.max_iter, method=args.method)
    require_matplotlib()
    directory = ensure_directory(args.out)
    with ProgressBar(len(args.n) * len(students), "curve") as bar:
        done: list[CurvePoint] = []

        def advance(point: CurvePoint) -> None:
            done.append(point)
            bar.update(len(done), f"n={point.n} {point.student}")

        curve = risk_curve(
            family,
            args.n,
            students=students,
            trials=args.trials,
            temperature=args.temperature,
            seed=args.seed,
            training=training,
            confidence=args.confidence,
            on_point=advance,
        )
    setting = f"T={args.temperature:g}  trials={args.trials}  seed={args.seed}  method={args.method}"
    print(f"# {family.describe()}  {setting}")
    print(summary(curve))
    for path in write_curve(curve, directory, f"{family.name}-curve").values():
        print(f"wrote {path}")
    return 0
