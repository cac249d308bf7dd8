"""Argument types shared by the verbs: sample-size ranges, ``key=value`` family parameters and
positive finite numbers. Each raises ``argparse.ArgumentTypeError``, so argparse reports the bad
argument with the usage line and exit status 2."""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

from kdverify._util.jsonio import ensure_directory, ensure_writable
from kdverify.errors import InvalidArgument
from kdverify.training import METHODS

__all__ = [
    "add_cluster_arguments",
    "add_family_arguments",
    "confidence_level",
    "param_pair",
    "parse_params",
    "positive_float",
    "positive_integer",
    "sample_sizes",
    "scheduler_address",
    "worker_count",
    "writable_directory",
    "writable_file",
]

MAX_SAMPLE_SIZE = 10**7


def sample_sizes(text: str) -> list[int]:
    """Parse ``"5"``, ``"1,2,10"``, ``"1:50"`` or ``"1:50:5"`` (inclusive ranges) into sizes ≥ 1.

    >>> sample_sizes("1:7:3"), sample_sizes("4,2")
    ([1, 4, 7], [4, 2])
    """
    out_of_range = argparse.ArgumentTypeError(f"--n={text!r}: sizes must lie in 1..{MAX_SAMPLE_SIZE}")
    sizes: list[int] = []
    try:
        for part in text.split(","):
            fields = [int(field) for field in part.split(":")]
            if len(fields) == 1:  # "N" is the range N:N
                fields *= 2
            if len(fields) > 3 or (len(fields) == 3 and fields[2] < 1):
                raise ValueError
            # Bounds are checked before a range is built: "1:10**12" must not allocate.
            if min(fields[:2]) < 1 or max(fields[:2]) > MAX_SAMPLE_SIZE:
                raise out_of_range
            start, stop, step = (*fields, 1)[:3]
            sizes.extend(range(start, stop + 1, step))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--n={text!r} is not a size list; write N, N1,N2,… or START:STOP[:STEP]"
        ) from None
    if not sizes:
        raise argparse.ArgumentTypeError(f"--n={text!r} names no size (is START > STOP?)")
    return sizes


def positive_float(text: str) -> float:
    """A finite number > 0 (temperatures, scales): ``0``, ``-1``, ``nan`` and ``inf`` are refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return value


def positive_integer(text: str) -> int:
    """A whole number ≥ 1 (trials, examples)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def confidence_level(text: str) -> float:
    """A confidence level strictly between 0 and 1."""
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must lie strictly between 0 and 1")
    return value


def writable_file(text: str) -> Path:
    """An output file whose directory exists (created if needed) and accepts new files, checked
    when the arguments are parsed so that a long run cannot fail at its end."""
    try:
        return ensure_writable(text)
    except InvalidArgument as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def writable_directory(text: str) -> Path:
    """An output directory, created if needed, that accepts new files (checked as ``writable_file``)."""
    try:
        return ensure_directory(text)
    except InvalidArgument as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def param_pair(text: str) -> tuple[str, str]:
    """One ``--param key=value``; the value stays a string for the family to parse."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"--param {text!r} is not of the form key=value")
    return key.strip(), value.strip()


def parse_params(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The ``--param`` pairs as a dict (a repeated key keeps its last value)."""
    return dict(pairs)


def add_family_arguments(parser: argparse.ArgumentParser) -> None:
    """``--family`` and repeated ``--param key=value`` (see ``kdverify families``)."""
    parser.add_argument("--family", required=True, help="family id (see `kdverify families`)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        type=param_pair,
        metavar="KEY=VALUE",
        help="a family parameter; repeat for several (e.g. --param dim=3 --param b=2)",
    )


def add_method_argument(parser: argparse.ArgumentParser) -> None:
    """``--method auto|gd``: how the distilled and hard-label students reach their limits."""
    parser.add_argument(
        "--method",
        default="auto",
        choices=METHODS,
        help="training of the distilled and hard students: auto (certified closed form / max-margin, default) "
        "or gd (literal gradient descent)",
    )


def worker_count(text: str) -> int:
    """``--workers``: a whole number ≥ 1, or ``auto`` for the machine's cores."""
    if text == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return positive_integer(text)


ADDRESS = re.compile(r"^(tcp|tls|ws|wss)://[^\s/:]+:\d{1,5}$")


def scheduler_address(text: str) -> str:
    """``--scheduler``: a Dask scheduler address ``tcp://HOST:PORT`` (or ``tls://``, ``ws://``)."""
    if not ADDRESS.match(text):
        raise argparse.ArgumentTypeError(f"--scheduler {text!r} is not an address like tcp://HOST:PORT")
    return text


def add_cluster_arguments(parser: argparse.ArgumentParser, *, workers_help: str) -> None:
    """``--workers N|auto`` and ``--scheduler tcp://HOST:PORT``: run the searches on Dask
    (kdverify.claims.distributed); without either the run stays in this process."""
    parser.add_argument("--workers", type=worker_count, default=None, metavar="N|auto", help=workers_help)
    parser.add_argument(
        "--scheduler",
        type=scheduler_address,
        default=None,
        metavar="tcp://HOST:PORT",
        help="run on the existing Dask cluster of this scheduler (`dask scheduler`, `dask worker ADDRESS`)",
    )
