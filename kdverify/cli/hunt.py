"""``kdverify hunt``: a long counterexample search that never loses what it found.

Found counterexamples persist twice: hypothesis's example database under ``OUT/.hypothesis``
(keyed by claim and family, so a second hunt with the same ``--out`` replays them before
generating anything new) and a certificate ``OUT/<claim>--<family>.json``, rewritten atomically
every time the search finds or shrinks a violation. A hunt stopped by Ctrl-C (SIGINT) says what
it kept and exits 130; one killed outright keeps the same files, as both are written as found.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase

from kdverify.claims.base import Budget, Claim, Evidence, Instance
from kdverify.claims.registry import get_claim
from kdverify.claims.runner import SearchResult, database_key, make_certificate, search
from kdverify.claims.suite import budget_for, certificate_name, plan
from kdverify.cli._args import positive_integer, writable_file
from kdverify.jsonio import write_json_atomic
from kdverify.profiles import Profile, get_profile
from kdverify.progress import ProgressBar

EXIT_INTERRUPTED = 130


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hunt",
        help="search long for a counterexample to a claim",
        description=(
            "Exit status: 0 when the hunt finished (whatever it found), 130 when interrupted by Ctrl-C "
            "(every counterexample found so far is kept in OUT and a rerun with the same --out resumes "
            "from it), 2 on usage errors. Equal commands on fresh --out directories give identical output "
            "with --no-timings."
        ),
    )
    parser.add_argument("id", help="claim id (see `kdverify list`)")
    parser.add_argument("--family", action="append", default=[], help="family to hunt on (default: all of the claim's)")
    parser.add_argument(
        "--max-examples", type=positive_integer, default=None, help="examples per family (default: hunt profile)"
    )
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    parser.add_argument("--out", default="kdverify-out", help="directory for certificates and the example database")
    parser.add_argument(
        "--json", type=writable_file, metavar="PATH", help="also write the results as JSON (when the hunt finishes)"
    )
    parser.add_argument(
        "--no-timings", action="store_true", help='write "seconds": null and print no wall times (reproducible output)'
    )
    parser.set_defaults(func=run)


def hunt_profile(max_examples: int | None) -> Profile:
    """The ``hunt`` profile with ``max_examples`` (when given) as every search's budget, so the
    run's δ is split over the statistical checks the hunt really makes."""
    profile = get_profile("hunt")
    if max_examples is None:
        return profile
    return replace(profile, max_examples=max_examples, statistical_examples=max_examples)


def run(args: argparse.Namespace) -> int:
    claim = get_claim(args.id)
    profile = hunt_profile(args.max_examples)
    pairs = plan([claim.id], args.family)
    out = Path(args.out)
    write_json_atomic(out / ".kdverify-hunt.json", {"claim": claim.id, "seed": args.seed})  # fails early if unwritable
    hunt = Hunt(
        claim,
        profile,
        budget_for(profile, pairs),
        DirectoryBasedExampleDatabase(str(out / ".hypothesis")),
        out,
        seed=args.seed,
        timings=not args.no_timings,
    )
    results: list[SearchResult] = []
    family = pairs[0][1]
    try:
        for _, family in pairs:
            results.append(hunt.search(family))
    except KeyboardInterrupt:
        kept = "".join(f"\n  certificate {path}" for path in hunt.kept) or "\n  no certificate yet"
        print(
            f"\nkdverify hunt: interrupted while hunting {claim.id} on {family}; kept:{kept}\n"
            f"  example database {hunt.database.path} (every counterexample found; "
            f"rerun with --out {out} to resume from it)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if args.json:
        write_json_atomic(args.json, {"seed": args.seed, "claims": [r.to_json(timings=hunt.timings) for r in results]})
    return 0


@dataclass
class Hunt:
    """One hunt of ``claim``: its budget, where it keeps what it finds, and the certificates
    this run has written so far (``kept``)."""

    claim: Claim
    profile: Profile
    budget: Budget
    database: DirectoryBasedExampleDatabase
    out: Path
    seed: int
    timings: bool
    kept: list[Path] = field(default_factory=list)

    def search(self, family: str) -> SearchResult:
        """Hunt on one family, rewriting its certificate atomically at every violation found,
        and print what the search replayed from the database and what it found."""
        claim = self.claim
        target = self.out / certificate_name(claim.id, family)
        saved = sum(1 for _ in self.database.fetch(database_key(claim.id, family)))
        if saved:
            print(f"{claim.id} on {family}: resuming from {saved} saved counterexample(s) in {self.database.path}")
        first_violation: list[int] = []

        def keep(result: SearchResult, instance: Instance, evidence: Evidence) -> None:
            write_json_atomic(target, make_certificate(claim, family, instance, evidence, result.budget))
            if not first_violation:
                first_violation.append(result.examples + result.undecided)
                self.kept.append(target)

        limit = self.profile.statistical_examples if claim.statistical else self.profile.max_examples
        with ProgressBar(limit, f"hunt {claim.id}/{family}") as bar:
            result = search(
                claim,
                family,
                self.profile,
                budget=self.budget,
                seed=self.seed,
                database=self.database,
                on_example=lambda r: bar.update(r.examples + r.undecided),
                on_violation=keep,
            )
        timing = f" in {result.seconds:.1f}s" if self.timings else ""
        found = result.verdict
        if result.verdict == "falsified":
            found = f"counterexample (first violation at example {first_violation[0]}) written to {target}"
        print(f"{claim.id} on {family}: {result.examples} examples{timing}: {found}")
        if result.verdict == "falsified" and result.evidence is not None:
            print(f"  evidence: {result.evidence.summary()}")
        return result
