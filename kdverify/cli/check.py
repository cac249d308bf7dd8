"""``kdverify check``: the verdict table of every claim on every family it applies to."""

from __future__ import annotations

import argparse

from kdverify.claims.runner import SearchResult
from kdverify.claims.suite import budget_for, plan
from kdverify.claims.suite import run as run_suite
from kdverify.cli._table import format_table
from kdverify.jsonio import write_json_atomic
from kdverify.profiles import PROFILES, get_profile
from kdverify.progress import ProgressBar

EXIT_FALSIFIED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check claims and print the verdict table",
        description=(
            "Exit status: 0 when no theorem is falsified, 1 when one is (or a check crashed), 2 on usage errors."
        ),
    )
    parser.add_argument("ids", nargs="*", metavar="ID", help="claim ids (default: all; see `kdverify list`)")
    parser.add_argument("--family", action="append", default=[], help="restrict to this family (repeatable)")
    parser.add_argument("--profile", default="ci", choices=sorted(PROFILES), help="budget profile (default: ci)")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed for non-derandomised profiles")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.set_defaults(func=run)


def verdict_text(result: SearchResult) -> str:
    """Table wording: open claims that survive say so instead of claiming truth."""
    if result.verdict == "holds" and result.claim.status == "open":
        return "no counterexample"
    return result.verdict


def run(args: argparse.Namespace) -> int:
    profile = get_profile(args.profile)
    pairs = plan(args.ids, args.family)
    budget = budget_for(profile, pairs)
    with ProgressBar(len(pairs), "check") as bar:
        done = []

        def advance(result: SearchResult) -> None:
            done.append(result)
            bar.update(len(done), f"{result.claim.id}/{result.family}")

        results = run_suite(pairs, profile, seed=args.seed, on_result=advance)
    rows = [
        [
            result.claim.id,
            result.claim.status,
            result.family,
            verdict_text(result),
            result.examples,
            (result.evidence or result.tightest).summary()
            if (result.evidence or result.tightest)
            else result.error or "",
            f"{result.seconds:.1f}",
        ]
        for result in results
    ]
    print(format_table(["claim", "status", "family", "verdict", "examples", "evidence", "seconds"], rows))
    statistical = sum(1 for claim, _ in pairs if claim.statistical)
    print(
        f"\nprofile={profile.name} seed={args.seed} pairs={len(results)} "
        f"examples={sum(r.examples for r in results)} undecided={sum(r.undecided for r in results)} "
        f"delta={profile.delta:g} split over {statistical} statistical pairs (alpha={budget.alpha:.2e} per check)"
    )
    if args.json:
        write_json_atomic(
            args.json, {"profile": profile.name, "seed": args.seed, "claims": [r.to_json() for r in results]}
        )
    failed = [r for r in results if (r.claim.status == "theorem" and r.verdict == "falsified") or r.verdict == "error"]
    for result in failed:
        print(f"\n{result.claim.id} on {result.family}: {result.verdict}: {result.error or result.evidence.summary()}")
    return EXIT_FALSIFIED if failed else 0
