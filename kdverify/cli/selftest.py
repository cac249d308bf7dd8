"""``kdverify selftest``: run every mutant of every theorem through the real checks."""

from __future__ import annotations

import argparse

from kdverify.claims.selftest import MutantResult, mutant_cases, run_selftest
from kdverify.cli._table import format_table
from kdverify.profiles import PROFILES, get_profile
from kdverify.progress import ProgressBar

HEADER = ("claim", "mutant", "outcome", "caught on", "examples", "undecided", "seconds")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "selftest",
        help="check that every planted wrong theorem (mutant) is caught",
        description="Exit status: 0 when every mutant is caught, 1 when one survives.",
    )
    parser.add_argument("--profile", default="ci", choices=sorted(PROFILES), help="budget profile (default: ci)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    profile = get_profile(args.profile)
    done: list[MutantResult] = []
    with ProgressBar(len(mutant_cases()), "selftest") as bar:

        def progress(result: MutantResult) -> None:
            done.append(result)
            bar.update(len(done), result.mutant.name)

        results = run_selftest(profile, on_result=progress)
    rows = [
        [
            r.claim.id,
            r.mutant.name,
            "caught" if r.caught else "SURVIVED",
            r.family or "-",
            r.examples,
            r.undecided,
            f"{r.seconds:.1f}",
        ]
        for r in results
    ]
    print(format_table(HEADER, rows))
    caught = sum(r.caught for r in results)
    print(f"\nmutation score {caught}/{len(results)} on profile {profile.name}")
    for result in results:
        if not result.caught:
            print(f"survived: {result.claim.id}/{result.mutant.name}: {result.mutant.description}")
    return 0 if caught == len(results) else 1
