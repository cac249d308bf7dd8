"""Searches spread over processes and machines with dask.distributed (``--workers``, ``--scheduler``).

A run is cut into *work units* (claim, family, shard). Shard ``k`` of ``S`` runs
:func:`kdverify.claims.runner.search` on a Dask worker with its own seed (shard 0 keeps the run's
seed, so one shard reproduces a single-process run) and its share of the pair's examples; in a timed
hunt every shard searches for the whole time. Workers save what they find in the shared example
database and stream every violation to the client as a Dask event, so certificates are written by
the client as the violations arrive; the shards of a pair then merge into one
:class:`~kdverify.claims.runner.SearchResult` of the same shape as a single-process search.

Soundness of the statistical verdicts (Bonferroni over shards): a count-based run splits each pair's
examples over its shards, so the run makes exactly as many statistical checks as one process would,
each at α = δ / checks; a timed run gives each of the ``S`` shards ``α_pair / S``, which the shard
spends as ``α_pair / (S k(k+1))`` on its k-th check — at most ``α_pair`` over all shards together.

A unit lost with its worker is run again on another (Dask retries it); one lost for good
(:class:`distributed.KilledWorker`, or no worker left) makes its pair's verdict ``error``.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import socket
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hypothesis.errors import HypothesisDeprecationWarning

from kdverify._util.progress import ProgressBar
from kdverify._util.threads import limit_blas_threads
from kdverify.claims.base import Budget, Claim, Evidence, Instance
from kdverify.claims.databases import open_database
from kdverify.claims.profiles import Profile
from kdverify.claims.registry import get_claim
from kdverify.claims.runner import SearchResult, relative_slack, search
from kdverify.errors import ClusterUnavailable, MissingDependency

try:
    from distributed import Client, KilledWorker, LocalCluster, get_worker
except ImportError:  # pragma: no cover - exercised only without the extra
    raise MissingDependency("--workers and --scheduler need dask.distributed: pip install 'kdverify[dask]'") from None

__all__ = ["ClusterRun", "Unit", "connect", "merge", "plan_units", "run_unit", "search_pairs", "shard_seed"]

CONNECT_TIMEOUT = 10.0
"""Seconds to reach a scheduler named by ``--scheduler`` (and to see its first worker)."""
WORKERLESS_GRACE = 60.0
"""Seconds a run waits with no worker alive before it gives its remaining units up as lost."""
PROGRESS_INTERVAL = 0.5
"""Seconds between two progress events of one unit."""
WORKER_POLL = 1.0
"""Seconds between two looks at the cluster's workers (alive, lost)."""
VIOLATIONS, PROGRESS = "kdverify-violations", "kdverify-progress"

Violation = Callable[[Claim, str, Instance, Evidence], None]


@dataclass(frozen=True)
class Unit:
    """One work unit: shard ``shard`` of ``shards`` of the search of ``claim`` on ``family``."""

    claim: str
    family: str
    shard: int
    shards: int
    seed: int | None
    profile: Profile
    budget: Budget
    max_examples: int
    max_seconds: float | None
    database: str | None
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:  # readable in Dask's dashboard and logs, unique across runs
            key = f"kdverify:{self.claim}:{self.family}:shard-{self.shard}:{uuid.uuid4().hex[:12]}"
            object.__setattr__(self, "key", key)


def shard_seed(seed: int | None, claim: str, family: str, shard: int) -> int | None:
    """Shard 0 keeps ``seed`` (``None``: the profile's derandomised stream); shard ``k > 0`` gets a
    seed of its own, fixed by the run's seed, the pair and ``k``, so sharded runs are reproducible.

    >>> shard_seed(3, "loss-calculus", "generic", 0), shard_seed(3, "loss-calculus", "generic", 1)
    (3, 3110972928)
    """
    if shard == 0:
        return seed
    digest = hashlib.sha256(f"{seed}:{claim}:{family}:{shard}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def plan_units(
    pairs: Sequence[tuple[Claim, str]],
    profile: Profile,
    *,
    budget: Budget,
    shards: int,
    seed: int | None,
    max_seconds: float | None = None,
    database: str | None = None,
) -> list[Unit]:
    """The work units of a run: each pair's examples (the profile's number for its kind of claim)
    split as evenly as possible over ``shards``; shards that would get no example are left out."""
    units = []
    for claim, family in pairs:
        limit = profile.examples_for(statistical=claim.statistical, descent=claim.literal_descent)
        for shard in range(min(shards, limit)):
            share = limit // shards + (shard < limit % shards)
            units.append(
                Unit(
                    claim.id,
                    family,
                    shard,
                    min(shards, limit),
                    shard_seed(seed, claim.id, family, shard),
                    profile,
                    budget,
                    share,
                    max_seconds,
                    database,
                )
            )
    return units


def run_unit(unit: Unit) -> dict[str, Any]:
    """Search one unit on a Dask worker, streaming violations and progress as events; return the
    outcome as plain data (:func:`merge` reads it)."""
    limit_blas_threads()
    # The worker's own threads (Dask's event loop) draw from the global ``random`` while hypothesis
    # generates, which hypothesis takes for a strategy using ``random``; kdverify's strategies do not.
    warnings.filterwarnings("ignore", "Do not use the `random` module inside strategies", HypothesisDeprecationWarning)
    worker = get_worker()
    last = [0.0]
    first: list[int] = []

    def progress(result: SearchResult) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL:
            last[0] = now
            worker.log_event(PROGRESS, {"key": unit.key, "examples": result.examples + result.undecided})

    def violation(result: SearchResult, instance: Instance, evidence: Evidence) -> None:
        if not first:
            first.append(result.examples + result.undecided)
        payload = {"key": unit.key, "instance": instance.to_json(), "evidence": evidence.to_json()}
        worker.log_event(VIOLATIONS, payload)

    result = search(
        get_claim(unit.claim),
        unit.family,
        unit.profile,
        budget=unit.budget,
        max_examples=unit.max_examples,
        max_seconds=unit.max_seconds,
        seed=unit.seed,
        database=None if unit.database is None else open_database(unit.database),
        on_example=progress,
        on_violation=violation,
    )
    return {
        "verdict": result.verdict,
        "examples": result.examples,
        "informative": result.informative,
        "undecided": result.undecided,
        "seconds": result.seconds,
        "shown": None if result.shown is None else result.shown.to_json(),
        "counterexample": None if result.counterexample is None else result.counterexample.to_json(),
        "evidence": None if result.evidence is None else result.evidence.to_json(),
        "error": result.error,
        "first_violation": first[0] if first else None,
        "worker": worker.address,
    }


def merge(claim: Claim, family: str, budget: Budget, outcomes: Sequence[dict[str, Any]]) -> SearchResult:
    """One result from the outcomes of a pair's shards, in shard order: counts add up, the shown
    example is the most informative of all, and the verdict is that of the first shard that did not
    hold — as if the shards had run one after another, each stopping the pair at its finding. A lost
    shard (``{"lost": reason}``) makes the verdict ``error``, unless an earlier shard found something."""
    result = SearchResult(claim, family, budget=budget)
    for outcome in outcomes:
        if "lost" in outcome:
            if result.verdict == "holds":
                result.verdict, result.error = "error", outcome["lost"]
            continue
        result.examples += outcome["examples"]
        result.informative += outcome["informative"]
        result.undecided += outcome["undecided"]
        result.seconds += outcome["seconds"]
        shown = outcome["shown"] and Evidence.from_json(outcome["shown"])
        if shown and (result.shown is None or relative_slack(shown) < relative_slack(result.shown)):
            result.shown = shown
        if result.verdict == "holds" and outcome["verdict"] in ("falsified", "error"):
            result.verdict, result.error = outcome["verdict"], outcome["error"]
            if outcome["counterexample"] is not None:
                result.counterexample = Instance.from_json(outcome["counterexample"])
            if outcome["evidence"] is not None:
                result.evidence = Evidence.from_json(outcome["evidence"])
    result.settle()
    return result


@contextmanager
def connect(workers: int | None, scheduler: str | None) -> Iterator[Client]:
    """A client of the cluster at ``scheduler`` (which must have a worker within
    :data:`CONNECT_TIMEOUT`), or of an embedded cluster of ``workers`` single-threaded processes."""
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",  # Dask's HTTP server (and dashboard) on a free loopback port
            silence_logs=logging.ERROR,
        )
        with cluster, Client(cluster, set_as_default=False) as client:
            yield client
        return
    hint = "start one with `dask scheduler` and `dask worker ADDRESS`, or drop --scheduler for an embedded cluster"
    try:
        if scheduler.startswith("tcp://"):  # a refused connection fails at once, not after Dask's retries
            host, port = scheduler.removeprefix("tcp://").rsplit(":", 1)
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise ClusterUnavailable(f"--scheduler {scheduler}: no Dask scheduler answers ({error}); {hint}") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError):
            raise ClusterUnavailable(
                f"--scheduler {scheduler}: the scheduler has no worker after {CONNECT_TIMEOUT:g} s; {hint}"
            ) from None
        yield client


def worker_threads(client: Client) -> int:
    """The threads of every worker of the cluster: the default number of shards of a pair."""
    return sum(worker["nthreads"] for worker in client.scheduler_info()["workers"].values())


@dataclass
class ClusterRun:
    """What a cluster run found: a result per pair (in the order asked), where each pair's first
    violation was seen (``"example k of shard s/S"``), and the workers that left during the run."""

    results: list[SearchResult]
    first_violation: dict[tuple[str, str], str]
    lost_workers: list[str]
    lost_units: int


def search_pairs(
    client: Client,
    pairs: Sequence[tuple[Claim, str]],
    profile: Profile,
    *,
    budget: Budget,
    shards: int,
    seed: int | None,
    max_seconds: float | None = None,
    database: str | None = None,
    label: str = "search",
    on_violation: Violation | None = None,
    on_result: Callable[[SearchResult], None] | None = None,
) -> ClusterRun:
    """Search every pair on the cluster, with one progress bar for the whole run.

    ``on_violation(claim, family, instance, evidence)`` sees, as they arrive, the violations of the
    pair's lowest-numbered shard that has found one so far (the one whose counterexample the merged
    result keeps), and ``on_result`` each pair's merged result as soon as its shards are done."""
    units = plan_units(
        pairs, profile, budget=budget, shards=shards, seed=seed, max_seconds=max_seconds, database=database
    )
    by_key = {unit.key: unit for unit in units}
    events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    for topic in (VIOLATIONS, PROGRESS):
        client.subscribe_topic(topic, lambda event, topic=topic: events.put((topic, event[1])))
    claims = {claim.id: claim for claim, _ in pairs}
    # The claims about gradient descent itself run 100 literal-descent examples a pair and cost the
    # most: starting them first leaves the cheap pairs to fill the workers at the end, not idle cores.
    futures = {
        client.submit(run_unit, unit, key=unit.key, pure=False, priority=int(claims[unit.claim].literal_descent)): unit
        for unit in units
    }
    outcomes: dict[str, dict[str, Any]] = {}
    examples: dict[str, int] = {}
    chosen: dict[tuple[str, str], int] = {}  # pair -> lowest shard with a violation so far
    settled: dict[tuple[str, str], SearchResult] = {}
    alive = set(client.scheduler_info()["workers"])
    workers = set(alive)
    polled = time.monotonic()
    lost: list[str] = []
    last_worker_seen = time.monotonic()
    timed = max_seconds is not None
    total = len(units) if timed else sum(unit.max_examples for unit in units)

    def handle(topic: str, message: dict[str, Any]) -> None:
        unit = by_key.get(message["key"])
        if unit is None or unit.key in outcomes or (unit.claim, unit.family) in settled:
            return
        if topic == PROGRESS:
            examples[unit.key] = message["examples"]
            return
        pair = (unit.claim, unit.family)
        if unit.shard <= chosen.get(pair, unit.shard):
            chosen[pair] = unit.shard
            if on_violation is not None:
                instance, evidence = Instance.from_json(message["instance"]), Evidence.from_json(message["evidence"])
                on_violation(claims[unit.claim], unit.family, instance, evidence)

    def settle(claim: Claim, family: str) -> None:
        pair_units = [unit for unit in units if (unit.claim, unit.family) == (claim.id, family)]
        if (claim.id, family) in settled or any(unit.key not in outcomes for unit in pair_units):
            return
        result = merge(claim, family, budget, [outcomes[unit.key] for unit in pair_units])
        settled[(claim.id, family)] = result
        if on_result is not None:
            on_result(result)

    with ProgressBar(total, label) as bar:
        pending = dict(futures)
        while pending:
            time.sleep(0.1)
            while not events.empty():
                handle(*events.get())
            if time.monotonic() - polled >= WORKER_POLL:
                polled = time.monotonic()
                alive = set(client.scheduler_info()["workers"])
                lost.extend(sorted(workers - alive - set(lost)))
                workers |= alive
                if alive:
                    last_worker_seen = polled
            for future in [future for future in pending if future.done()]:
                unit = pending.pop(future)
                outcomes[unit.key] = _outcome(future)
                examples[unit.key] = outcomes[unit.key].get("examples", 0) + outcomes[unit.key].get("undecided", 0)
                settle(claims[unit.claim], unit.family)
            if pending and time.monotonic() - last_worker_seen > WORKERLESS_GRACE:
                for future, unit in pending.items():
                    outcomes[unit.key] = {"lost": f"shard {unit.shard}: no worker left for {WORKERLESS_GRACE:g} s"}
                    future.cancel()
                pending.clear()
                for claim, family in pairs:
                    settle(claim, family)
            found = sum(1 for result in settled.values() if result.verdict == "falsified") + sum(
                1 for pair in chosen if pair not in settled
            )
            done = len(outcomes) if timed else sum(examples.values())
            bar.update(
                done,
                f"{sum(examples.values())} examples, {found} counterexample(s), {len(alive)} workers alive"
                + (f", {len(lost)} lost" if lost else ""),
            )
    for topic in (VIOLATIONS, PROGRESS):
        client.unsubscribe_topic(topic)
    first = {  # the lowest shard's, written last
        (unit.claim, unit.family): f"example {at} of shard {unit.shard + 1}/{unit.shards}"
        for unit in reversed(units)
        if (at := outcomes[unit.key].get("first_violation")) is not None
    }
    return ClusterRun(
        [settled[(claim.id, family)] for claim, family in pairs],
        first,
        lost,
        sum(1 for outcome in outcomes.values() if "lost" in outcome),
    )


def _outcome(future: Any) -> dict[str, Any]:
    """A finished unit's outcome; a unit that killed every worker it ran on is lost, not a crash."""
    if future.status == "error":
        error = future.exception()
        if isinstance(error, KilledWorker):
            return {"lost": f"work unit lost with its workers ({error})"}
        raise error
    if future.status == "cancelled":
        raise ClusterUnavailable("the Dask scheduler cancelled a work unit (did the scheduler stop?)")
    return future.result()
