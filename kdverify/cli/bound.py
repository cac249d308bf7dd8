"""``kdverify bound``: the risk bound ``min_θ [p(θ) + p(π/2 − θ)^n]`` of a family for each ``n``,
and with ``--estimate`` the expected risk ``E R_n`` beside it (exact for rational discrete data)."""

from __future__ import annotations

import argparse
from fractions import Fraction

import numpy as np

from kdverify._util.jsonio import write_json_atomic
from kdverify._util.progress import ProgressBar
from kdverify.cli._args import (
    add_family_arguments,
    confidence_level,
    parse_params,
    positive_float,
    positive_integer,
    sample_sizes,
    writable_file,
)
from kdverify.cli._table import format_table
from kdverify.data import family_from_params
from kdverify.measure.bounds import risk_bound
from kdverify.measure.expected import expected_risk


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bound", help="print the risk bound (and E R_n) of a family for each n")
    add_family_arguments(parser)
    parser.add_argument("--n", type=sample_sizes, required=True, help="sizes: N, N1,N2 or START:STOP[:STEP]")
    parser.add_argument("--estimate", action="store_true", help="also print E R_n (exact for discrete data)")
    parser.add_argument("--trials", type=positive_integer, default=1000, help="Monte Carlo trials per n (default 1000)")
    parser.add_argument("--temperature", type=positive_float, default=1.0, help="teacher temperature T (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo estimate (default 0)")
    parser.add_argument(
        "--confidence", type=confidence_level, default=0.95, help="confidence of the intervals (default 0.95)"
    )
    parser.add_argument("--json", type=writable_file, metavar="PATH", help="also write the rows as JSON")
    parser.set_defaults(func=run)


def _estimate(family, n: int, args: argparse.Namespace, rng: np.random.Generator) -> dict[str, object]:
    """``E R_n`` as a JSON row: exact on small rational discrete families, estimated otherwise."""
    value = expected_risk(
        family, n, trials=args.trials, rng=rng, temperature=args.temperature, confidence=args.confidence
    )
    if isinstance(value, Fraction):
        return {"expected_risk": str(value), "expected_risk_float": float(value), "method": "exact"}
    return {"expected_risk": value.mean, "lower": value.lower, "upper": value.upper, "method": value.method}


def run(args: argparse.Namespace) -> int:
    family = family_from_params(args.family, parse_params(args.param))
    rng = np.random.default_rng(args.seed)
    rows: list[dict[str, object]] = []
    with ProgressBar(len(args.n), "bound") as bar:
        for done, n in enumerate(args.n, start=1):
            bound = risk_bound(lambda theta: family.p_bounds(theta)[1], n, breakpoints=family.breakpoints())
            row: dict[str, object] = {"n": n, "bound": bound.value, "theta": bound.theta}
            if args.estimate:
                row.update(_estimate(family, n, args, rng))
            rows.append(row)
            bar.update(done)
    print(f"# {family.describe()}  T={args.temperature:g}  seed={args.seed}")
    header = ["n", "bound", "argmin θ"] + (["E R_n", "interval", "method"] if args.estimate else [])
    table = []
    for row in rows:
        cells: list[object] = [row["n"], f"{row['bound']:.6g}", f"{row['theta']:.4f}"]
        if args.estimate:
            interval = f"[{row['lower']:.4g}, {row['upper']:.4g}]" if "lower" in row else "exact"
            shown = row["expected_risk"] if row["method"] == "exact" else f"{row['expected_risk']:.4g}"
            cells += [shown, interval, row["method"]]
        table.append(cells)
    print(format_table(header, table))
    if args.json:
        write_json_atomic(args.json, {"family": family.describe(), "params": family.params(), "rows": rows})
    return 0
