"""``kdverify derive [ID] [--latex]``: print the symbolic derivations and whether their checks
reduced every claimed identity to zero (exit 0 if all did, 1 otherwise, 2 for an unknown id)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kdverify.theory import all_derivations, derivation_ids, get_derivation

if TYPE_CHECKING:
    from kdverify.theory.core import Derivation

EXIT_UNCONFIRMED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "derive",
        help="derive the closed forms with sympy and check their identities",
        description=(
            "Print the symbolic derivations and whether their checks reduced every claimed identity to zero "
            "(exit 0 if all did, 1 otherwise, 2 for an unknown id)."
        ),
    )
    parser.add_argument(
        "id", nargs="?", metavar="ID", help=f"one derivation (default: all): {', '.join(derivation_ids())}"
    )
    parser.add_argument("--latex", action="store_true", help="print LaTeX instead of plain text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    derivations = (get_derivation(args.id),) if args.id else all_derivations()
    confirmed = 0
    for derivation in derivations:
        print(derivation.latex() if args.latex else render_text(derivation))
        print()
        confirmed += derivation.check().confirmed
    print(f"{confirmed} of {len(derivations)} derivation(s) confirmed by their symbolic checks.")
    return 0 if confirmed == len(derivations) else EXIT_UNCONFIRMED


def render_text(derivation: Derivation) -> str:
    """Plain-text rendering: assumptions, steps, results and one line per checked identity."""
    # Imported here, not at the top: building the CLI parser must not import sympy.
    import sympy as sp

    from kdverify.theory.symbols import readable

    report = derivation.check()
    lines = [f"== {derivation.id}: {derivation.title}", "assumptions:"]
    lines += [f"  - {text}" for text in derivation.assumptions]
    lines.append("steps:")
    for number, step in enumerate(derivation.steps, start=1):
        lines.append(f"  {number}. {step.text}")
        if step.expr is not None:
            lines.append(f"       {sp.sstr(readable(step.expr))}")
    lines.append("results:")
    lines += [f"  {name} = {sp.sstr(readable(expr))}" for name, expr in derivation.expressions.items()]
    passed = len(report.results) - len(report.failures)
    lines.append(f"checks ({passed}/{len(report.results)} identities reduce to zero):")
    for result in report.results:
        mark = "ok  " if result.confirmed else "FAIL"
        residual = "" if result.confirmed else f"   residual: {sp.sstr(result.residual)}"
        lines.append(f"  [{mark}] {result.identity}{residual}")
    lines.append(f"verdict: {'confirmed' if report.confirmed else 'NOT confirmed'}")
    return "\n".join(lines)
