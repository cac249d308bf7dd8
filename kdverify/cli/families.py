"""``kdverify families``: the data-geometry families, their parameters and defaults."""

from __future__ import annotations

import argparse

from kdverify.data import FAMILIES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("families", help="list the data families and their parameters")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for spec in FAMILIES.values():
        print(f"{spec.name}: {spec.summary}")
        for param in spec.params:
            print(f"    --param {param.name}=…  {param.help} (default: {param.default})")
    return 0
