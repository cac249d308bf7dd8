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

from kdverify.claims.databases import open_database
from kdverify.claims.runner import database_key
from kdverify.claims.suite import stored_certificate
from kdverify.cli import main

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
CLAIM, FAMILY = "monotone-risk-expected", "discrete"
SEED, EXAMPLES = 7, 300
"""A seed whose first shard (``EXAMPLES // 2`` examples) meets a tie-free violation at its 100th
example and shrinks it to the stored exact sides."""
HUNT = ["hunt", CLAIM, "--family", FAMILY, "--max-examples", str(EXAMPLES), "--seed", str(SEED)]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kdverify(arguments: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m kdverify ARGUMENTS``, run to completion."""
    return subprocess.run(
        [sys.executable, "-m", "kdverify", *arguments],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, dict[str, subprocess.Popen]]]:
    """A real ``dask scheduler`` and two single-threaded ``dask worker`` processes (no nanny, so a
    killed worker stays dead) on loopback ports; yields the scheduler's address and the workers by address."""
    address = f"tcp://127.0.0.1:{free_port()}"
    dask = [sys.executable, "-m", "dask"]
    quiet = {"cwd": tmp_path, "env": ENV, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"], **quiet
        )
    ]
    workers = {}
    try:
        for _ in range(2):
            worker_address = f"tcp://127.0.0.1:{free_port()}"
            worker = subprocess.Popen(
                [
                    *dask,
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--worker-port",
                    worker_address.rsplit(":", 1)[1],
                ],
                **quiet,
            )
            processes.append(worker)
            workers[worker_address] = worker
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
    certificate = json.loads((out / f"{CLAIM}--{FAMILY}.json").read_text())
    assert certificate["exact"] and certificate["tie_free"] and not certificate["evidence"]["holds"]
    if stored_sides:
        stored = stored_certificate(CLAIM, FAMILY)
        assert stored is not None
        sides = ("lhs", "relation", "rhs", "holds", "exact", "tie_free")
        assert {key: certificate["evidence"][key] for key in sides} == {key: stored["evidence"][key] for key in sides}
    replayed = kdverify(["replay", str(out / f"{CLAIM}--{FAMILY}.json")], out)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr


def test_a_hunt_through_the_scheduler_finds_the_stored_counterexample(cluster: str, tmp_path: Path) -> None:
    """Two shards on two workers: the merged verdict is ``falsified`` with the stored exact evidence,
    every example of both shards is counted, and the JSON has a single-process hunt's shape."""
    out = tmp_path / "out"
    hunt = kdverify([*HUNT, "--scheduler", cluster, "--out", str(out), "--json", str(tmp_path / "hunt.json")], tmp_path)
    assert hunt.returncode == 0, hunt.stdout + hunt.stderr
    assert "Traceback" not in hunt.stderr
    assert "first violation at example" in hunt.stdout and "shard" in hunt.stdout, hunt.stdout
    (entry,) = json.loads((tmp_path / "hunt.json").read_text())["claims"]
    assert entry["verdict"] == "falsified" and entry["certificate"]["claim"] == CLAIM
    assert entry["examples"] >= EXAMPLES  # both shards' whole share, and the shrinking
    assert_exact_counterexample(out, stored_sides=True)


def test_a_check_through_the_scheduler_has_the_shape_of_a_single_process_check(
    cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check --scheduler``: the same entries, keys and example counts as in one process (the δ split
    and the examples per pair do not depend on the shards), only drawn from two seeds."""
    pairs = ["loss-calculus", "risk-bound", "--family", "generic", "--family", "isotropic"]
    assert main(["check", *pairs, "--json", str(tmp_path / "single.json")]) == 0
    single = capsys.readouterr().out
    sharded = kdverify(["check", *pairs, "--scheduler", cluster, "--json", str(tmp_path / "sharded.json")], tmp_path)
    assert sharded.returncode == 0, sharded.stdout + sharded.stderr
    ones, shards = (json.loads((tmp_path / name).read_text())["claims"] for name in ("single.json", "sharded.json"))
    assert [sorted(entry) for entry in ones] == [sorted(entry) for entry in shards]
    for one, other in zip(ones, shards, strict=True):
        assert [one[key] for key in ("id", "family", "verdict", "budget")] == [
            other[key] for key in ("id", "family", "verdict", "budget")
        ]
        assert one["examples"] + one["undecided"] == other["examples"] + other["undecided"]
    split = [output.splitlines()[-1].split("delta=")[1] for output in (single, sharded.stdout)]
    assert split[0] == split[1]  # the same δ split over the same number of checks


def test_a_worker_killed_mid_hunt_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL the worker whose shard has just found the counterexample (it is still shrinking it):
    the shard runs again on the other worker, the hunt finishes with exit 0 and says which worker
    left, and the counterexample is kept and replays."""
    out = tmp_path / "out"
    certificate = out / f"{CLAIM}--{FAMILY}.json"
    with dask_cluster(tmp_path) as (address, workers), distributed.Client(address) as client:
        command = [
            *[sys.executable, "-m", "kdverify", *HUNT, "--scheduler", address],
            *["--out", str(out), "--json", str(tmp_path / "hunt.json")],
        ]
        hunt = subprocess.Popen(
            command, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            finder: list[str] = []
            while not (certificate.exists() and finder):
                assert hunt.poll() is None, hunt.communicate()
                assert time.monotonic() < deadline, "no counterexample within 60 s"
                processing = client.processing()
                finder = [worker for worker, keys in processing.items() if any(":shard-0:" in key for key in keys)]
                time.sleep(0.05)
            workers[finder[0]].send_signal(signal.SIGKILL)
            stdout, stderr = hunt.communicate(timeout=120)
        finally:
            if hunt.poll() is None:
                hunt.kill()
                hunt.wait()
    assert hunt.returncode == 0, stdout + stderr
    assert "Traceback" not in stderr
    assert "worker(s) left during the hunt" in stderr and finder[0] in stderr, stderr
    (entry,) = json.loads((tmp_path / "hunt.json").read_text())["claims"]
    assert entry["verdict"] == "falsified"
    # The shard ran again from the shared database, where the killed worker had saved each step of
    # its shrinking; hypothesis does not shrink again an example replayed from there, so the
    # certificate is the last step reached: valid and exact, maybe not yet the stored sides.
    assert_exact_counterexample(out, stored_sides=False)


def test_an_unreachable_scheduler_is_a_clear_usage_error(tmp_path: Path) -> None:
    """Nothing listens at the address: exit 2, one line saying so, no traceback."""
    address = f"tcp://127.0.0.1:{free_port()}"
    hunt = kdverify([*HUNT, "--scheduler", address, "--out", str(tmp_path / "out")], tmp_path)
    assert hunt.returncode == 2, hunt.stdout + hunt.stderr
    assert f"--scheduler {address}: no Dask scheduler answers" in hunt.stderr
    assert "Traceback" not in hunt.stderr


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real ``redis-server`` on a free loopback port, persisting nothing."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("no redis-server on this machine (Debian: apt-get install redis-server; .ci/run installs it)")
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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


def test_two_hunts_share_a_counterexample_through_redis(redis_url: str, tmp_path: Path) -> None:
    """A hunt on an embedded two-worker cluster (``--workers 2``) saves its counterexamples in Redis;
    a later hunt in one process, with a fresh ``--out``, replays one from there as its first example."""
    hunt = ["hunt", "temperature-monotone", "--database", redis_url]
    saved = open_database(redis_url)
    key = database_key("temperature-monotone", "generic")
    assert list(saved.fetch(key)) == []
    first = kdverify([*hunt, "--max-examples", "60", "--workers", "2", "--out", str(tmp_path / "a")], tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "shard 1/2" in first.stdout or "shard 2/2" in first.stdout, first.stdout
    shared = len(list(saved.fetch(key)))
    assert shared >= 1, "the workers saved nothing in Redis"
    second = kdverify([*hunt, "--max-examples", "3", "--out", str(tmp_path / "b")], tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"resuming from {shared} saved counterexample(s) in {redis_url}" in second.stdout, second.stdout
    replayed = kdverify(["replay", str(tmp_path / "b" / "temperature-monotone--generic.json")], tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr


def test_an_unreachable_redis_is_a_clear_usage_error(tmp_path: Path) -> None:
    """``--database redis://…`` where nothing listens: exit 2 before any search, no traceback."""
    url = f"redis://127.0.0.1:{free_port()}"
    hunt = kdverify([*HUNT, "--database", url, "--out", str(tmp_path / "out")], tmp_path)
    assert hunt.returncode == 2, hunt.stdout + hunt.stderr
    assert f"--database {url}: no Redis server answers" in hunt.stderr and "Traceback" not in hunt.stderr
