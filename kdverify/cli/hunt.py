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
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase

from kdverify.claims.base import Budget, Claim, Evidence, Instance
from kdverify.claims.registry import get_claim
from kdverify.claims.runner import SearchResult, database_key, make_certificate, search
from kdverify.claims.suite import budget_for, certificate_name, plan
from kdverify.cli._args import positive_float, positive_integer, writable_file
from kdverify.jsonio import write_json_atomic
from kdverify.profiles import Profile, get_profile
from kdverify.progress import ProgressBar

EXIT_INTERRUPTED = 130
DEFAULT_SECONDS = 120.0
"""A hunt's default time per family: minutes of search, whatever a claim's cost per example."""
TIMED_CAP = 1_000_000
"""The example cap of a timed hunt: time decides, not the count."""


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
        "--max-time",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help=f"time per family: each claim draws as many examples as its cost allows (default {DEFAULT_SECONDS:g} s, "
        "unless --max-examples is given)",
    )
    parser.add_argument(
        "--max-examples",
        type=positive_integer,
        default=None,
        help="examples per family (alone: a reproducible count-based hunt; with --max-time: a cap)",
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
    return replace(
        profile, max_examples=max_examples, statistical_examples=max_examples, descent_examples=max_examples
    )


def hunt_budget(profile: Profile, pairs: list[tuple[Claim, str]], *, timed: bool) -> Budget:
    """A count-based hunt splits δ over every check it can make; a timed one gives each
    statistical pair an equal share, which its checks spend by
    :func:`~kdverify.claims.runner.anytime_alpha`."""
    if not timed:
        return budget_for(profile, pairs)
    statistical = sum(1 for claim, _ in pairs if claim.statistical)
    return Budget(alpha=profile.delta / max(1, statistical), trials=profile.trials, max_iter=profile.max_iter)


def run(args: argparse.Namespace) -> int:
    claim = get_claim(args.id)
    seconds = args.max_time if args.max_time is not None or args.max_examples is not None else DEFAULT_SECONDS
    profile = hunt_profile(TIMED_CAP if args.max_examples is None else args.max_examples)
    pairs = plan([claim.id], args.family)
    out = Path(args.out)
    write_json_atomic(out / ".kdverify-hunt.json", {"claim": claim.id, "seed": args.seed})  # fails early if unwritable
    hunt = Hunt(
        claim,
        profile,
        hunt_budget(profile, pairs, timed=seconds is not None),
        DirectoryBasedExampleDatabase(str(out / ".hypothesis")),
        out,
        seed=args.seed,
        timings=not args.no_timings,
        seconds=seconds,
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
    seconds: float | None = None
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

        limit = self.profile.examples_for(statistical=claim.statistical, descent=claim.literal_descent)
        started = time.monotonic()

        def advance(result: SearchResult) -> None:
            done = result.examples + result.undecided
            if self.seconds is None:
                bar.update(done)
            else:  # a timed hunt's bar shows the time spent; the note counts the examples
                bar.update(int(min(self.seconds, time.monotonic() - started)), f"s, {done} examples")

        with ProgressBar(limit if self.seconds is None else int(self.seconds), f"hunt {claim.id}/{family}") as bar:
            result = search(
                claim,
                family,
                self.profile,
                budget=self.budget,
                max_seconds=self.seconds,
                seed=self.seed,
                database=self.database,
                on_example=advance,
                on_violation=keep,
            )
        timing = f" in {result.seconds:.1f}s" if self.timings else ""
        found = result.verdict
        if result.verdict == "falsified":
            found = f"counterexample (first violation at example {first_violation[0]}) written to {target}"
        print(f"{claim.id} on {family}: {result.examples} examples ({result.informative} informative){timing}: {found}")
        if result.verdict == "falsified" and result.evidence is not None:
            print(f"  evidence: {result.evidence.summary()}")
        return result
