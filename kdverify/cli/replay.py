"""``kdverify replay FILE``: re-check a certificate with no randomness."""

from __future__ import annotations

import argparse
import json

from kdverify.claims.certificates import load_certificate, replay

TIE_DEPENDENCE = {
    True: "violation under both tie conventions (sign(0) counted as wrong, as in THEORY.md §1, or as correct)",
    False: "depends on ties: holds when sign(0) counts as correct",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="re-check a counterexample certificate",
        description="Exit status: 0 when the certificate is a valid counterexample, 1 when not, 2 when malformed.",
    )
    parser.add_argument("file", help="a certificate JSON file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    certificate = load_certificate(args.file)
    outcome = replay(certificate)
    print(f"claim {certificate['claim']} on {certificate['family']}: {outcome.reason}")
    print(f"evidence: {outcome.evidence.summary()}")
    if outcome.evidence.holds is False and outcome.tie_free is not None:
        print(f"ties: {TIE_DEPENDENCE[outcome.tie_free]}")
    print(json.dumps(outcome.evidence.to_json(), indent=2, sort_keys=True))
    return 0 if outcome.valid else 1
