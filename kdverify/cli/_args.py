"""Argument types shared by the verbs: sample-size ranges and ``key=value`` family parameters."""

from __future__ import annotations

import argparse

__all__ = ["add_family_arguments", "parse_params", "sample_sizes"]

MAX_SAMPLE_SIZE = 10**7


def sample_sizes(text: str) -> list[int]:
    """Parse ``"5"``, ``"1,2,10"``, ``"1:50"`` or ``"1:50:5"`` (inclusive ranges) into sizes ≥ 1.

    >>> sample_sizes("1:7:3"), sample_sizes("4,2")
    ([1, 4, 7], [4, 2])
    """
    sizes: list[int] = []
    try:
        for part in text.split(","):
            fields = [int(field) for field in part.split(":")]
            if len(fields) == 1:
                sizes.append(fields[0])
            elif len(fields) in (2, 3):
                start, stop, step = (*fields, 1)[:3]
                if step < 1:
                    raise ValueError
                sizes.extend(range(start, stop + 1, step))
            else:
                raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--n={text!r} is not a size list; write N, N1,N2,… or START:STOP[:STEP]"
        ) from None
    if not sizes or min(sizes) < 1 or max(sizes) > MAX_SAMPLE_SIZE:
        raise argparse.ArgumentTypeError(f"--n={text!r}: sizes must lie in 1..{MAX_SAMPLE_SIZE}")
    return sizes


def parse_params(pairs: list[str]) -> dict[str, str]:
    """Turn ``["a=2", "b=3"]`` into ``{"a": "2", "b": "3"}``; values stay strings for the family."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--param {pair!r} is not of the form key=value")
        params[key.strip()] = value.strip()
    return params


def add_family_arguments(parser: argparse.ArgumentParser) -> None:
    """``--family`` and repeated ``--param key=value`` (see ``kdverify families``)."""
    parser.add_argument("--family", required=True, help="family id (see `kdverify families`)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a family parameter; repeat for several (e.g. --param dim=3 --param b=2)",
    )
