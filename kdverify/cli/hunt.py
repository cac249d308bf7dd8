"""``kdverify hunt``: a long counterexample search that never loses what it found.

Found counterexamples persist twice: hypothesis's example database under ``OUT/.hypothesis``
(so a second run replays them first) and a certificate ``OUT/<claim>--<family>.json``,
rewritten atomically every time the search finds or shrinks a violation, so an interrupted
hunt keeps its best counterexample so far.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase

from kdverify.claims.base import Evidence, Instance
from kdverify.claims.registry import get_claim
from kdverify.claims.runner import SearchResult, make_certificate, search
from kdverify.claims.suite import budget_for, certificate_name, plan
from kdverify.errors import InvalidArgument
from kdverify.jsonio import write_json_atomic
from kdverify.profiles import get_profile
from kdverify.progress import ProgressBar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("hunt", help="search long for a counterexample to a claim")
    parser.add_argument("id", help="claim id (see `kdverify list`)")
    parser.add_argument("--family", action="append", default=[], help="family to hunt on (default: all of the claim's)")
    parser.add_argument("--max-examples", type=int, default=None, help="examples per family (default: hunt profile)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    parser.add_argument("--out", default="kdverify-out", help="directory for certificates and the example database")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    claim = get_claim(args.id)
    if args.max_examples is not None and args.max_examples < 1:
        raise InvalidArgument(f"--max-examples={args.max_examples} must be >= 1")
    profile = get_profile("hunt")
    pairs = plan([claim.id], args.family)
    budget = budget_for(profile, pairs)
    out = Path(args.out)
    write_json_atomic(out / ".kdverify-hunt.json", {"claim": claim.id, "seed": args.seed})  # fails early if unwritable
    database = DirectoryBasedExampleDatabase(str(out / ".hypothesis"))
    limit = args.max_examples or (profile.statistical_examples if claim.statistical else profile.max_examples)
    results: list[SearchResult] = []
    for _, family in pairs:
        target = out / certificate_name(claim.id, family)

        def keep(result: SearchResult, instance: Instance, evidence: Evidence, target: Path = target) -> None:
            write_json_atomic(target, make_certificate(result.claim, result.family, instance, evidence, result.budget))

        with ProgressBar(limit, f"hunt {claim.id}/{family}") as bar:
            result = search(
                claim,
                family,
                profile,
                budget=budget,
                max_examples=limit,
                seed=args.seed,
                database=database,
                on_example=lambda r: bar.update(r.examples + r.undecided),
                on_violation=keep,
            )
        results.append(result)
        found = f"counterexample written to {target}" if result.verdict == "falsified" else result.verdict
        print(f"{claim.id} on {family}: {result.examples} examples in {result.seconds:.1f}s: {found}")
        if result.verdict == "falsified":
            print(f"  evidence: {result.evidence.summary()}")
    if args.json:
        write_json_atomic(args.json, {"seed": args.seed, "claims": [r.to_json() for r in results]})
    return 0
