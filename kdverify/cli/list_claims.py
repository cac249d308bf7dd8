"""``kdverify list``: the claims with their status and families (``--markdown`` prints the
README's table, which a test keeps in step with the registry)."""

from __future__ import annotations

import argparse

from kdverify.claims.registry import all_claims
from kdverify.cli._table import format_table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("list", help="list the claims, their status and families")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.set_defaults(func=run)


HEADER = ("claim", "status", "families", "statement", "an example is informative when")


def _rows() -> list[list[str]]:
    return [
        [claim.id, claim.status, ", ".join(claim.families), claim.statement, claim.content.description]
        for claim in all_claims()
    ]


def markdown_table() -> str:
    """The claims as a Markdown table: id, status, families, statement, non-vacuity condition."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for claim_id, *cells in _rows():
        lines.append(f"| `{claim_id}` | " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown_table())
        return 0
    print(format_table(HEADER, _rows()))
    return 0
