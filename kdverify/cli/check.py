"""``kdverify check``: the verdict table of every claim on every family it applies to."""

from __future__ import annotations

import argparse
import sys

from kdverify._util.jsonio import write_json_atomic
from kdverify._util.progress import ProgressBar
from kdverify.claims.base import Claim
from kdverify.claims.profiles import PROFILES, Profile, get_profile
from kdverify.claims.runner import SearchResult
from kdverify.claims.suite import budget_for, plan, replayed
from kdverify.claims.suite import run as run_suite
from kdverify.cli._args import add_cluster_arguments, writable_file
from kdverify.cli._table import VERDICT_HEADER, format_table, verdict_rows

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
    add_cluster_arguments(
        parser,
        workers_help="spread the (claim, family) pairs over N worker processes of an embedded Dask cluster "
        "(auto: one per core); every pair is searched whole, so the output is that of one process",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    profile = get_profile(args.profile)
    pairs = plan(args.ids, args.family)
    budget = budget_for(profile, pairs)
    # Derandomised profiles need no seed; the others get one (0 unless given), printed with the
    # results, so that every run can be reproduced from its own output.
    seed = args.seed if args.seed is not None or profile.derandomize else 0
    if args.workers is not None or args.scheduler is not None:
        results = run_on_cluster(pairs, profile, seed, args.workers, args.scheduler)
    else:
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


def run_on_cluster(
    pairs: list[tuple[Claim, str]], profile: Profile, seed: int | None, workers: int | None, scheduler: str | None
) -> list[SearchResult]:
    """The results of :func:`kdverify.claims.suite.run`, with the searches on Dask
    (:mod:`kdverify.claims.distributed`): stored certificates are replayed here, and every other pair
    is one work unit, searched whole with the run's seed, so the results are those of one process
    (the δ split, the examples, the verdicts), only sooner."""
    from kdverify.claims import distributed

    stored = {(claim.id, family): replayed(claim, family) for claim, family in pairs}
    searched = [(claim, family) for claim, family in pairs if stored[(claim.id, family)] is None]
    if searched:
        with distributed.connect(workers, scheduler) as client:
            label = f"check on {distributed.worker_threads(client)} worker(s)"
            run = distributed.search_pairs(
                client, searched, profile, budget=budget_for(profile, pairs), shards=1, seed=seed, label=label
            )
        stored.update({(result.claim.id, result.family): result for result in run.results})
        if run.lost_workers:
            print(
                f"kdverify check: {len(run.lost_workers)} worker(s) left during the check; their work units were "
                f"run again on the others{'' if not run.lost_units else f', {run.lost_units} lost for good'}",
                file=sys.stderr,
            )
    return [stored[(claim.id, family)] for claim, family in pairs]  # type: ignore[misc]
