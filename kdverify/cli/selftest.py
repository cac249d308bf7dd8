"""``kdverify selftest``: run every mutant of every theorem through the real checks, on every
family of its claim, and print one table per claim: a row per family, a column per mutant."""

from __future__ import annotations

import argparse

from kdverify._util.jsonio import write_json_atomic
from kdverify._util.progress import ProgressBar
from kdverify.claims.profiles import PROFILES, get_profile
from kdverify.claims.selftest import MutantResult, Outcome, PairPower, mutant_cases, pair_powers, run_selftest
from kdverify.cli._args import positive_integer, writable_file
from kdverify.cli._table import format_table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "selftest",
        help="check that every planted wrong theorem (mutant) is caught, family by family",
        description=(
            "Runs each mutant on every family of its claim. A cell reads 'caught@k' (falsified at the "
            "k-th decided example), 'missed k' (k decided examples, none falsified it), 'undecided' or "
            "'error'. Exit status: 0 when every mutant is caught on some family, 1 when one survives."
        ),
    )
    parser.add_argument("ids", nargs="*", metavar="ID", help="claim ids (default: every claim with mutants)")
    parser.add_argument("--family", action="append", default=[], help="restrict to this family (repeatable)")
    parser.add_argument("--profile", default="ci", choices=sorted(PROFILES), help="budget profile (default: ci)")
    parser.add_argument(
        "--max-examples", type=positive_integer, metavar="N", help="examples per family and mutant (default: profile's)"
    )
    parser.add_argument(
        "--json", type=writable_file, metavar="PATH", help="also write one record per (claim, family, mutant)"
    )
    parser.set_defaults(func=run)


def cell(outcome: Outcome) -> str:
    """One table cell: how the search of one mutant on one family ended."""
    if outcome.caught:
        return f"caught@{outcome.examples}"
    if outcome.verdict == "error":
        return "error"
    return f"missed {outcome.examples}" if outcome.examples else "undecided"


def claim_table(results: list[MutantResult], powers: list[PairPower]) -> str:
    """The table of one claim's mutants: a row per family, a column per mutant, then its power."""
    header = ["family", *(result.mutant.name for result in results), "power", "seconds"]
    rows = [
        [
            power.family,
            *(cell(result.outcomes[row]) for result in results),
            f"{len(power.caught)}/{len(power.mutants)}",
            f"{sum(result.outcomes[row].seconds for result in results):.1f}",
        ]
        for row, power in enumerate(powers)
    ]
    return format_table(header, rows)


def run(args: argparse.Namespace) -> int:
    profile = get_profile(args.profile)
    cases = mutant_cases(args.ids)
    total = sum(len([f for f in claim.families if not args.family or f in args.family]) for claim, _ in cases)
    done: list[Outcome] = []
    with ProgressBar(total, "selftest") as bar:

        def progress(outcome: Outcome) -> None:
            done.append(outcome)
            bar.update(len(done), f"{outcome.claim.id}/{outcome.mutant.name} on {outcome.family}")

        results = run_selftest(profile, args.ids, args.family, max_examples=args.max_examples, on_outcome=progress)
    powers = pair_powers(results)
    for claim_id in dict.fromkeys(result.claim.id for result in results):
        mine = [result for result in results if result.claim.id == claim_id]
        print(f"{claim_id} ({sum(r.seconds for r in mine):.1f} s)")
        print(claim_table(mine, [power for power in powers if power.claim.id == claim_id]) + "\n")
    killed = sum(result.killed for result in results)
    powerless = [power for power in powers if not power.caught]
    print(
        f"mutants killed {killed}/{len(results)}, pairs with power {len(powers) - len(powerless)}/{len(powers)} "
        f"on profile {profile.name}"
    )
    for power in powerless:
        print(f"no power: {power.claim.id} on {power.family}: {power.reason or 'unexplained'}")
    for result in results:
        if not result.killed:
            print(f"survived: {result.claim.id}/{result.mutant.name}: {result.mutant.description}")
        for outcome in result.outcomes:
            if outcome.caught and outcome.blind_reason:
                print(f"declared blind but caught: {result.claim.id}/{result.mutant.name} on {outcome.family}")
    if args.json:
        records = [outcome.to_json() for result in results for outcome in result.outcomes]
        write_json_atomic(
            args.json, {"profile": profile.name, "killed": killed, "mutants": len(results), "records": records}
        )
    return 0 if killed == len(results) else 1
