"""A hunt killed mid-run keeps every counterexample it found, and a second hunt resumes (issue 6).

The hunt runs as a subprocess on two families of ``monotone-risk-pointwise``: ``anisotropic``,
where a counterexample turns up within a second or two, then ``beta-polarised``, where the
claim holds (its risk depends on the angle alone, which ``monotone-distance`` makes
non-increasing), so with a huge ``--max-examples`` the hunt is still running when the signal
arrives — during the shrink of the first counterexample or the search of the second family.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis.database import DirectoryBasedExampleDatabase

from kdverify.claims.runner import database_key
from kdverify.cli.hunt import EXIT_INTERRUPTED

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
CLAIM, FAMILY = "monotone-risk-pointwise", "anisotropic"
HUNT = [sys.executable, "-m", "kdverify", "hunt", CLAIM, "--max-examples", "1000000", "--seed", "0"]


def saved_examples(out: Path) -> int:
    """How many counterexamples the hunt's example database holds for ``CLAIM`` on ``FAMILY``."""
    return sum(1 for _ in DirectoryBasedExampleDatabase(out / ".hypothesis").fetch(database_key(CLAIM, FAMILY)))


def kdverify(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m kdverify ARGUMENTS``, run to completion."""
    return subprocess.run(
        [sys.executable, "-m", "kdverify", *arguments], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_a_killed_hunt_keeps_its_counterexample_and_resumes(tmp_path: Path, sent: signal.Signals) -> None:
    """Signal the hunt once its first certificate is on disk: the certificate replays, the
    database keeps the counterexample, and a second hunt replays it as its first example."""
    out = tmp_path / "out"
    certificate = out / f"{CLAIM}--{FAMILY}.json"
    command = [*HUNT, "--family", FAMILY, "--family", "beta-polarised", "--out", str(out)]
    hunt = subprocess.Popen(command, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        # The certificate is written just before hypothesis saves the example: wait for both.
        while not (certificate.exists() and saved_examples(out)):
            assert hunt.poll() is None, hunt.communicate()
            assert time.monotonic() < deadline, "no counterexample within 60 s"
            time.sleep(0.05)
        assert hunt.poll() is None, "the hunt ended before it could be interrupted"
        hunt.send_signal(sent)
        stderr = hunt.communicate(timeout=30)[1]
    finally:
        if hunt.poll() is None:
            hunt.kill()
            hunt.wait()

    if sent == signal.SIGINT:
        assert hunt.returncode == EXIT_INTERRUPTED, stderr
        assert "Traceback" not in stderr
        assert "interrupted while hunting" in stderr and f"certificate {certificate}" in stderr, stderr
    else:
        assert hunt.returncode == -signal.SIGKILL

    assert json.loads(certificate.read_text())["claim"] == CLAIM
    replayed = kdverify(["replay", str(certificate)], tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert saved_examples(out) >= 1

    resumed = kdverify(["hunt", CLAIM, "--family", FAMILY, "--max-examples", "1000000", "--out", str(out)], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout, resumed.stdout
    assert "counterexample (first violation at example 1)" in resumed.stdout, resumed.stdout
    assert kdverify(["replay", str(certificate)], tmp_path).returncode == 0


def test_an_interrupt_swallowed_where_python_drops_exceptions_still_stops_the_hunt() -> None:
    """A SIGINT whose KeyboardInterrupt is lost (raised inside a garbage-collection callback, which
    Python only prints) is remembered and raised again at the next check."""
    from kdverify.cli.hunt import RememberedInterrupt

    with RememberedInterrupt() as interrupt:
        interrupt.check()  # nothing yet
        with contextlib.suppress(KeyboardInterrupt):  # what a gc callback would swallow
            signal.raise_signal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
