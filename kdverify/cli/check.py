"""``kdverify check``: the verdict table of every claim on every family it applies to."""

from __future__ import annotations

import argparse

from kdverify.claims.runner import VERDICT_HEADER, SearchResult, verdict_rows
from kdverify.claims.suite import budget_for, plan
from kdverify.claims.suite import run as run_suite
from kdverify.cli._args import writable_file
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
            "Exit status: 0 when no theorem is falsified, 1 when one is (or a check crashed), 2 on usage errors. "
            "With --no-timings the same command gives byte-identical output."
        ),
    )
    parser.add_argument("ids", nargs="*", metavar="ID", help="claim ids (default: all; see `kdverify list`)")
    parser.add_argument("--family", action="append", default=[], help="restrict to this family (repeatable)")
    parser.add_argument("--profile", default="ci", choices=sorted(PROFILES), help="budget profile (default: ci)")
    parser.add_argument(
        "--seed", type=int, default=None, help="hypothesis seed (default: 0 for the profiles that are not derandomised)"
    )
    parser.add_argument("--json", type=writable_file, metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--no-timings", action="store_true", help='write "seconds": null and print no wall times (reproducible output)'
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    profile = get_profile(args.profile)
    pairs = plan(args.ids, args.family)
    budget = budget_for(profile, pairs)
    # Derandomised profiles need no seed; the others get one (0 unless given), printed with the
    # results, so that every run can be reproduced from its own output.
    seed = args.seed if args.seed is not None or profile.derandomize else 0
    with ProgressBar(len(pairs), "check") as bar:
        done = []

        def advance(result: SearchResult) -> None:
            done.append(result)
            bar.update(len(done), f"{result.claim.id}/{result.family}")

        results = run_suite(pairs, profile, seed=seed, on_result=advance)
    entries = [result.to_json(timings=not args.no_timings) for result in results]
    rows = [
        [*row, "-" if entry["seconds"] is None else f"{entry['seconds']:.1f}"]
        for row, entry in zip(verdict_rows(entries), entries, strict=True)
    ]
    print(format_table([*VERDICT_HEADER, "seconds"], rows))
    statistical = sum(1 for claim, _ in pairs if claim.statistical)
    print(
        f"\nprofile={profile.name} seed={'derandomised' if seed is None else seed} pairs={len(results)} "
        f"examples={sum(r.examples for r in results)} informative={sum(r.informative for r in results)} "
        f"undecided={sum(r.undecided for r in results)} "
        f"delta={profile.delta:g} split over {statistical} statistical pairs (alpha={budget.alpha:.2e} per check)"
    )
    for result in results:
        if result.verdict == "vacuous":
            print(f"{result.claim.id} on {result.family}: vacuous: no example had {result.claim.content.description}")
    if args.json:
        write_json_atomic(args.json, {"profile": profile.name, "seed": seed, "claims": entries})
    failed = [r for r in results if (r.claim.status == "theorem" and r.verdict == "falsified") or r.verdict == "error"]
    for result in failed:
        reason = result.error or (result.evidence.summary() if result.evidence else "")
        print(f"\n{result.claim.id} on {result.family}: {result.verdict}: {reason}")
    return EXIT_FALSIFIED if failed else 0
