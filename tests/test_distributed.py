"""Hunts and checks on Dask with real processes on 127.0.0.1 (issue 14): a ``dask scheduler`` and
two ``dask worker`` processes on loopback ports, a worker killed with SIGKILL mid-hunt, a scheduler
that does not answer, and two hunts sharing a counterexample through a real ``redis-server``.

The hunts search ``monotone-risk-expected`` on discrete data by count (``--max-examples``), so each
shard's examples are fixed by its seed: with ``SEED`` one of the two shards meets the counterexample
stored in ``kdverify/certificates``: an exact, tie-free ``E R₁ = 0 < E R₂ = 2/27`` on three equally
likely points (hypothesis's shrinking ends on points of its own, with the same exact sides).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kdverify.claims.certificates import stored_certificate
from kdverify.claims.databases import open_database
from kdverify.claims.runner import database_key
from kdverify.cli import main

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
CLAIM, FAMILY = "monotone-risk-expected", "discrete"
SEED, EXAMPLES = 8, 300
"""A seed whose first shard (``EXAMPLES // 2`` examples) meets a tie-free violation at its 148th
example and shrinks it to the stored exact sides."""
HUNT = ["hunt", CLAIM, "--family", FAMILY, "--max-examples", str(EXAMPLES), "--seed", str(SEED)]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list[str], cwd: Path) -> subprocess.Popen:
    """A background process whose output is not needed."""
    return subprocess.Popen(command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, dict[str, subprocess.Popen]]]:
    """A real ``dask scheduler`` and two single-threaded ``dask worker`` processes (no nanny, so a
    killed worker stays dead) on loopback ports; yields the scheduler's address and the workers by
    their addresses."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    processes = [start([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], tmp_path)]
    workers = {}
    try:
        for _ in range(2):
            worker_port = free_port()
            options = ["--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"]
            worker = start([*dask, "worker", address, *options, "--worker-port", str(worker_port)], tmp_path)
            processes.append(worker)
            workers[f"tcp://127.0.0.1:{worker_port}"] = worker
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for process in processes:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One scheduler with two workers, shared by the tests that leave it intact."""
    with dask_cluster(tmp_path_factory.mktemp("cluster")) as (address, _):
        yield address


def assert_exact_counterexample(out: Path, *, stored_sides: bool) -> None:
    """The hunt's certificate replays as an exact, tie-free ``E R_{n+1} > E R_n``; with
    ``stored_sides``, with the very sides of the stored one (``E R₂ = 2/27 > E R₁ = 0``)."""
    path = out / f"{CLAIM}--{FAMILY}.json"
    certificate = json.loads(path.read_text())
    assert certificate["exact"] and certificate["tie_free"] and not certificate["evidence"]["holds"]
    if stored_sides:
        stored = stored_certificate(CLAIM, FAMILY)
        assert stored is not None
        sides = ("lhs", "relation", "rhs", "holds", "exact", "tie_free")
        assert {key: certificate["evidence"][key] for key in sides} == {key: stored["evidence"][key] for key in sides}
    assert main(["replay", str(path)]) == 0


def test_a_hunt_through_the_scheduler_finds_the_stored_counterexample(
    cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two shards on two workers: the merged verdict is ``falsified`` with the stored exact evidence,
    every example of both shards is counted, and the JSON has a single-process hunt's shape."""
    out = tmp_path / "out"
    assert main([*HUNT, "--scheduler", cluster, "--out", str(out), "--json", str(tmp_path / "hunt.json")]) == 0
    printed = capsys.readouterr().out
    assert "first violation at example 148 of shard 1/2" in printed, printed
    (entry,) = json.loads((tmp_path / "hunt.json").read_text())["claims"]
    assert entry["verdict"] == "falsified" and entry["certificate"]["claim"] == CLAIM
    assert entry["examples"] >= EXAMPLES  # both shards' whole share, and the shrinking
    assert_exact_counterexample(out, stored_sides=True)


def test_a_check_on_workers_is_the_single_process_check(
    cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check --workers 2`` (an embedded cluster) and ``check --scheduler`` (the test cluster) search
    every pair whole with the run's seed: they print and write exactly what one process does."""
    pairs = ["loss-calculus", "risk-bound", "--family", "generic", "--family", "isotropic", "--no-timings"]
    runs = {"single": [], "embedded": ["--workers", "2"], "cluster": ["--scheduler", cluster]}
    outputs = {}
    for name, extra in runs.items():
        assert main(["check", *pairs, *extra, "--json", str(tmp_path / f"{name}.json")]) == 0
        outputs[name] = capsys.readouterr().out
    entries = {name: json.loads((tmp_path / f"{name}.json").read_text())["claims"] for name in runs}
    assert [entry["examples"] for entry in entries["single"]] == [100, 20]  # a real search on both pairs
    for name in ("embedded", "cluster"):
        assert outputs[name] == outputs["single"] and entries[name] == entries["single"], name


def test_a_worker_killed_mid_hunt_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL the worker running the first shard as soon as it runs it (before its 148th example,
    where the violation lies): the shard runs again on the other worker, the hunt finishes with
    exit 0 and says which worker left, and the counterexample is found, kept and replays. (Killing
    it after the violation was streamed raced with its short shrink: on a quiet machine the shard
    could finish first, and the kill then tested nothing.)"""
    out = tmp_path / "out"
    with dask_cluster(tmp_path) as (address, workers), distributed.Client(address) as client:
        options = ["--scheduler", address, "--out", str(out), "--json", str(tmp_path / "hunt.json")]
        command = [sys.executable, "-m", "kdverify", *HUNT, *options]
        hunt = subprocess.Popen(
            command, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 90
            runner: list[str] = []
            while not runner:
                assert hunt.poll() is None, hunt.communicate()
                assert time.monotonic() < deadline, "the first shard did not start within 90 s"
                processing = client.processing()
                runner = [worker for worker, keys in processing.items() if any(":shard-0:" in key for key in keys)]
                time.sleep(0.01)
            workers[runner[0]].send_signal(signal.SIGKILL)
            stdout, stderr = hunt.communicate(timeout=120)
        finally:
            if hunt.poll() is None:
                hunt.kill()
                hunt.wait()
    assert hunt.returncode == 0, stdout + stderr
    assert "Traceback" not in stderr
    assert "worker(s) left during the hunt" in stderr and runner[0] in stderr, stderr
    (entry,) = json.loads((tmp_path / "hunt.json").read_text())["claims"]
    assert entry["verdict"] == "falsified"
    # The rerun starts from the shared database, where the killed worker saved what it had reached;
    # the certificate is valid and exact, its sides maybe not yet the fully shrunk ones.
    assert_exact_counterexample(out, stored_sides=False)


def test_an_unreachable_scheduler_is_a_clear_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listens at the address: exit 2 and one line saying so."""
    address = f"tcp://127.0.0.1:{free_port()}"
    assert main([*HUNT, "--scheduler", address, "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"kdverify hunt: error: --scheduler {address}: no Dask scheduler answers"), error
    assert "Traceback" not in error


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real ``redis-server`` on a free loopback port, persisting nothing."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("no redis-server on this machine (Debian: apt-get install redis-server; .ci/run installs it)")
    port = free_port()
    process = start([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], tmp_path)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start within 10 s"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


def test_two_hunts_share_a_counterexample_through_redis(
    cluster: str, redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cluster hunt's workers save their counterexamples in Redis; a later hunt in one process,
    with a fresh ``--out``, finds them there and replays them first."""
    hunt = ["hunt", "temperature-monotone", "--database", redis_url]
    saved = open_database(redis_url)
    key = database_key("temperature-monotone", "generic")
    assert list(saved.fetch(key)) == []
    assert main([*hunt, "--max-examples", "60", "--scheduler", cluster, "--out", str(tmp_path / "a")]) == 0
    shared = len(list(saved.fetch(key)))
    assert shared >= 1, "the workers saved nothing in Redis"
    capsys.readouterr()
    assert main([*hunt, "--max-examples", "3", "--out", str(tmp_path / "b")]) == 0
    printed = capsys.readouterr().out
    assert f"resuming from {shared} saved counterexample(s) in {redis_url}" in printed, printed
    assert main(["replay", str(tmp_path / "b" / "temperature-monotone--generic.json")]) == 0


def test_an_unreachable_redis_is_a_clear_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--database redis://…`` where nothing listens: exit 2 before any search."""
    url = f"redis://127.0.0.1:{free_port()}"
    assert main([*HUNT, "--database", url, "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"kdverify hunt: error: --database {url}: no Redis server answers"), error


def test_shards_split_the_examples_and_keep_the_false_alarm_budget() -> None:
    """A count-based run's shards share each pair's examples exactly (so the number of statistical
    checks, hence α per check, is a single process's), seeds differ per shard but shard 0 keeps the
    run's; a timed hunt gives each shard an equal part of its pair's α."""
    from kdverify.claims.distributed import plan_units
    from kdverify.claims.profiles import get_profile
    from kdverify.claims.registry import get_claim
    from kdverify.claims.suite import budget_for, plan
    from kdverify.cli.hunt import hunt_budget, hunt_profile

    profile = get_profile("ci")
    pairs = plan(["loss-calculus", "risk-bound"], ["generic", "isotropic"])
    budget = budget_for(profile, pairs)
    units = plan_units(pairs, profile, budget=budget, shards=5, seed=None)
    shares = {(claim.id, family): 0 for claim, family in pairs}
    for unit in units:
        shares[(unit.claim, unit.family)] += unit.max_examples
        assert unit.budget == budget and (unit.seed is None) == (unit.shard == 0)
    expected = {("loss-calculus", "generic"): profile.max_examples}
    assert shares == {**expected, ("risk-bound", "isotropic"): profile.statistical_examples}
    assert len({unit.seed for unit in units if unit.claim == "loss-calculus"}) == 5
    # no empty shard: a pair with fewer examples than shards gets one shard per example
    assert max(unit.shards for unit in units if unit.claim == "risk-bound") == min(5, profile.statistical_examples)
    timed = hunt_budget(hunt_profile(None), [(get_claim("risk-bound"), "isotropic")], timed=True, shards=4)
    assert timed.alpha == pytest.approx(hunt_profile(None).delta / 4)


def test_merge_keeps_the_first_shard_that_did_not_hold() -> None:
    """Counts add up, the most informative example is shown, and the verdict and counterexample come
    from the lowest-numbered shard that found something; a lost shard alone reads ``error``."""
    from kdverify.claims.base import Budget, Evidence
    from kdverify.claims.distributed import merge
    from kdverify.claims.registry import get_claim

    claim = get_claim("temperature-monotone")

    def outcome(verdict: str, lhs: str, rhs: str) -> dict:
        evidence = Evidence(verdict != "falsified", lhs, "<=", rhs, exact=True).to_json()
        instance = {"family": "generic", "mark": lhs}
        return {
            "verdict": verdict,
            "examples": 4,
            "informative": 3,
            "undecided": 1,
            "seconds": 0.5,
            "shown": evidence,
            "counterexample": instance if verdict != "holds" else None,
            "evidence": evidence if verdict != "holds" else None,
            "error": None,
        }

    shards = [outcome("holds", "1/2", "1"), outcome("falsified", "1", "9/10"), outcome("falsified", "2", "1")]
    result = merge(claim, "generic", Budget(), shards)
    assert (result.verdict, result.examples, result.informative, result.undecided) == ("falsified", 12, 9, 3)
    assert result.counterexample is not None and result.counterexample["mark"] == "1"
    assert str(result.evidence.lhs) == "1" and str(result.shown.lhs) == "2"  # the furthest past its bound
    assert merge(claim, "generic", Budget(), [{"lost": "gone"}]).verdict == "error"
