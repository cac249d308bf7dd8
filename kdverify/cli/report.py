"""``kdverify report``: one Markdown report with PNG figures — the verdict table of
``kdverify check``, the five experiments of THEORY.md §5 and a section on §8."""

from __future__ import annotations

import argparse
from dataclasses import replace

from kdverify._util.progress import ProgressBar
from kdverify.claims.profiles import PROFILES
from kdverify.cli._args import add_method_argument, positive_integer
from kdverify.experiments.paper import EXPERIMENTS, SETTINGS, progress_ticks
from kdverify.experiments.plotting import require_matplotlib
from kdverify.experiments.report import scale_for, write_report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a Markdown report: the verdict table, the paper's five experiments and a section on THEORY.md §8",
        description="Writes DIR/report.md with PNG figures, report.json, check.json and check.txt.",
    )
    parser.add_argument("--out", default="kdverify-report", help="output directory (default ./kdverify-report)")
    parser.add_argument("--profile", default="ci", choices=sorted(PROFILES), help="budget profile (default: ci)")
    parser.add_argument(
        "--scale",
        default="ci",
        choices=sorted(SETTINGS),
        help="the experiments' dimensions and sizes: ci (quick, default) or paper (THEORY.md §7: d = 1000, "
        "MNIST 0 vs 1 with n = 100, deep students at d = 100; about 20 minutes on two cores)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the experiments (default 0)")
    parser.add_argument("--trials", type=positive_integer, help="override the profile's training sets per point")
    parser.add_argument("--max-n", type=positive_integer, help="cap every grid of training set sizes (quick runs)")
    parser.add_argument("--claim", action="append", default=[], metavar="ID", help="narrow the check (repeatable)")
    parser.add_argument("--family", action="append", default=[], help="narrow the check to a family (repeatable)")
    parser.add_argument(
        "--experiments",
        default=",".join(EXPERIMENTS),
        help=f"comma-separated experiments to run (default all: {','.join(EXPERIMENTS)})",
    )
    add_method_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    experiments = [name.strip() for name in args.experiments.split(",") if name.strip()]
    require_matplotlib()
    scale = replace(scale_for(args.profile, args.trials, args.max_n, args.scale), method=args.method)
    ticks = progress_ticks(scale.settings)
    with ProgressBar(sum(ticks.get(name, 1) for name in experiments), "report") as bar:
        done = [0]

        def tick(note: str) -> None:
            done[0] += 1
            bar.update(done[0], note)

        path = write_report(
            args.out,
            profile=args.profile,
            seed=args.seed,
            scale=scale,
            claims=args.claim,
            families=args.family,
            experiments=experiments,
            tick=tick,
        )
    print(f"wrote {path}")
    return 0
