"""``kdverify hunt``: a long counterexample search that never loses what it found.

Found counterexamples persist twice: hypothesis's example database under ``OUT/.hypothesis``
(keyed by claim and family, so a second hunt with the same ``--out`` replays them before
generating anything new) and a certificate ``OUT/<claim>--<family>.json``, rewritten atomically
every time the search finds or shrinks a violation. A hunt stopped by Ctrl-C (SIGINT) says what
it kept and exits 130; one killed outright keeps the same files, as both are written as found.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kdverify._util.jsonio import write_json_atomic
from kdverify._util.progress import ProgressBar
from kdverify.claims.base import Budget, Claim, Evidence, Instance
from kdverify.claims.certificates import certificate_name, make_certificate
from kdverify.claims.databases import check_database, open_database
from kdverify.claims.profiles import Profile, get_profile
from kdverify.claims.registry import get_claim
from kdverify.claims.runner import SearchResult, database_key, search
from kdverify.claims.suite import budget_for, plan
from kdverify.cli._args import add_cluster_arguments, positive_float, positive_integer, writable_file

EXIT_INTERRUPTED = 130
EXIT_INCOMPLETE = 3
"""A cluster hunt that lost a work unit for good (its pairs read ``error``)."""
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
            "from it), 3 when a --workers/--scheduler hunt lost a work unit for good, 2 on usage errors "
            "(an unreachable scheduler too). Equal commands on fresh --out directories give identical output "
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
        "--database",
        default=None,
        metavar="DIR|redis://HOST:PORT",
        help="hypothesis's example database: a directory every worker reaches (default OUT/.hypothesis) "
        "or a Redis server shared by a cluster",
    )
    add_cluster_arguments(
        parser,
        workers_help="spread the search over N worker processes of an embedded Dask cluster (auto: one per core); "
        "with --scheduler, the shards per (claim, family) (default: the cluster's worker threads)",
    )
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


def hunt_budget(profile: Profile, pairs: list[tuple[Claim, str]], *, timed: bool, shards: int = 1) -> Budget:
    """A count-based hunt splits δ over every check it can make (sharding splits the examples, not
    their number); a timed one gives each statistical pair an equal share, and each of its
    ``shards`` an equal part of that, which its checks spend by
    :func:`~kdverify.claims.runner.anytime_alpha`."""
    if not timed:
        return budget_for(profile, pairs)
    statistical = sum(1 for claim, _ in pairs if claim.statistical)
    alpha = profile.delta / (max(1, statistical) * shards)
    return Budget(alpha=alpha, trials=profile.trials, max_iter=profile.max_iter)


class RememberedInterrupt:
    """Ctrl-C that cannot be swallowed. Python drops an exception raised inside a garbage-collection
    callback (printing "Exception ignored"), and hypothesis times the collector with one, so a
    ``KeyboardInterrupt`` that lands there would be lost and the hunt would go on. This SIGINT handler
    also remembers the signal; :meth:`check` (after every example and between families) raises it
    again; the dropped exception is not printed either (``sys.unraisablehook``), since it is not lost.
    Installed only where SIGINT has Python's default handler (not when it is ignored)."""

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None
        self._hook: Any = None

    def __enter__(self) -> RememberedInterrupt:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            sys.unraisablehook = self._hook

    def _unraisable(self, unraisable: Any) -> None:
        """Drop a remembered ``KeyboardInterrupt`` silently; hand anything else to the old hook."""
        if not (self.seen and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            self._hook(unraisable)

    def _handle(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if SIGINT arrived, even if its first raise was swallowed."""
        if self.seen:
            raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    claim = get_claim(args.id)
    seconds = args.max_time if args.max_time is not None or args.max_examples is not None else DEFAULT_SECONDS
    profile = hunt_profile(TIMED_CAP if args.max_examples is None else args.max_examples)
    pairs = plan([claim.id], args.family)
    out = Path(args.out)
    write_json_atomic(out / ".kdverify-hunt.json", {"claim": claim.id, "seed": args.seed})  # fails early if unwritable
    database = args.database or str(out / ".hypothesis")
    check_database(database)
    hunt = Hunt(
        claim,
        profile,
        hunt_budget(profile, pairs, timed=seconds is not None),
        database,
        out,
        seed=args.seed,
        timings=not args.no_timings,
        seconds=seconds,
    )
    results: list[SearchResult] = []
    family = pairs[0][1]
    status = 0
    try:
        if args.workers is None and args.scheduler is None:
            with RememberedInterrupt() as interrupt:
                hunt.check_interrupt = interrupt.check
                for _, family in pairs:
                    interrupt.check()
                    results.append(hunt.search(family))
        else:
            family = "the cluster"
            results, status = hunt.search_on_cluster(pairs, args.workers, args.scheduler)
    except KeyboardInterrupt:
        kept = "".join(f"\n  certificate {path}" for path in hunt.kept) or "\n  no certificate yet"
        print(
            f"\nkdverify hunt: interrupted while hunting {claim.id} on {family}; kept:{kept}\n"
            f"  example database {database} (every counterexample found; "
            f"rerun with --out {out} to resume from it)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if args.json:
        write_json_atomic(args.json, {"seed": args.seed, "claims": [r.to_json(timings=hunt.timings) for r in results]})
    return status


@dataclass
class Hunt:
    """One hunt of ``claim``: its budget, where it keeps what it finds (``database``: a directory or
    a ``redis://`` URL), and the certificates this run has written so far (``kept``)."""

    claim: Claim
    profile: Profile
    budget: Budget
    database: str
    out: Path
    seed: int
    timings: bool
    seconds: float | None = None
    kept: list[Path] = field(default_factory=list)
    check_interrupt: Callable[[], None] = field(default=lambda: None)

    def search(self, family: str) -> SearchResult:
        """Hunt on one family in this process, rewriting its certificate atomically at every
        violation found, and print what the search replayed from the database and what it found."""
        claim = self.claim
        self.resume(family)
        first_violation: list[int] = []

        def keep(result: SearchResult, instance: Instance, evidence: Evidence) -> None:
            self.keep(family, instance, evidence, result.budget)
            if not first_violation:
                first_violation.append(result.examples + result.undecided)

        limit = self.profile.examples_for(statistical=claim.statistical, descent=claim.literal_descent)
        started = time.monotonic()

        def advance(result: SearchResult) -> None:
            self.check_interrupt()
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
                database=open_database(self.database),
                on_example=advance,
                on_violation=keep,
            )
        self.report(result, f"example {first_violation[0]}" if first_violation else "")
        return result

    def search_on_cluster(
        self, pairs: list[tuple[Claim, str]], workers: int | None, scheduler: str | None
    ) -> tuple[list[SearchResult], int]:
        """Hunt every pair on Dask (:mod:`kdverify.claims.distributed`): certificates are written here
        as the workers' violations arrive and once more when each pair is done. Returns the results
        and the exit status: :data:`EXIT_INCOMPLETE` when a work unit was lost for good."""
        from kdverify.claims import distributed

        for _, family in pairs:
            self.resume(family)
        with distributed.connect(workers, scheduler) as client:
            shards = workers or distributed.worker_threads(client)
            self.budget = hunt_budget(self.profile, pairs, timed=self.seconds is not None, shards=shards)

            def settled(result: SearchResult) -> None:
                if result.counterexample is not None and result.evidence is not None and result.verdict == "falsified":
                    self.keep(result.family, result.counterexample, result.evidence, result.budget)

            run = distributed.search_pairs(
                client,
                pairs,
                self.profile,
                budget=self.budget,
                shards=shards,
                seed=self.seed,
                max_seconds=self.seconds,
                database=self.database if self.database.startswith("redis://") else str(Path(self.database).resolve()),
                label=f"hunt {self.claim.id} on {shards} shard(s)",
                on_violation=lambda claim, family, instance, evidence: self.keep(
                    family, instance, evidence, self.budget
                ),
                on_result=settled,
            )
        for result in run.results:
            self.report(result, run.first_violation.get((self.claim.id, result.family), ""))
        if run.lost_workers:
            print(
                f"kdverify hunt: {len(run.lost_workers)} worker(s) left during the hunt "
                f"({', '.join(run.lost_workers)}); their work units were run again on the others",
                file=sys.stderr,
            )
        if run.lost_units:
            print(
                f"kdverify hunt: incomplete: {run.lost_units} work unit(s) were lost for good "
                "(their pairs read 'error'); every counterexample found is kept",
                file=sys.stderr,
            )
            return run.results, EXIT_INCOMPLETE
        return run.results, 0

    def resume(self, family: str) -> None:
        """Say how many counterexamples of ``family`` the example database already holds."""
        saved = sum(1 for _ in open_database(self.database).fetch(database_key(self.claim.id, family)))
        if saved:
            print(f"{self.claim.id} on {family}: resuming from {saved} saved counterexample(s) in {self.database}")

    def keep(self, family: str, instance: Instance, evidence: Evidence, budget: Budget) -> None:
        """Write (atomically) the certificate of a violation of the claim on ``family``."""
        target = self.out / certificate_name(self.claim.id, family)
        write_json_atomic(target, make_certificate(self.claim, family, instance, evidence, budget))
        if target not in self.kept:
            self.kept.append(target)

    def report(self, result: SearchResult, first_violation: str) -> None:
        """Print one family's outcome: its examples, wall time and what it found."""
        timing = f" in {result.seconds:.1f}s" if self.timings else ""
        found = result.verdict
        if result.verdict == "falsified":
            target = self.out / certificate_name(self.claim.id, result.family)
            found = f"counterexample (first violation at {first_violation}) written to {target}"
        elif result.verdict == "error" and result.error:
            found = f"error: {result.error}"
        print(
            f"{self.claim.id} on {result.family}: {result.examples} examples ({result.informative} informative)"
            f"{timing}: {found}"
        )
        if result.verdict == "falsified" and result.evidence is not None:
            print(f"  evidence: {result.evidence.summary()}")
