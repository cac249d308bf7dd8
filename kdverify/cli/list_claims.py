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


def markdown_table() -> str:
    """The claims as a Markdown table: id, status, families, statement."""
    lines = ["| claim | status | families | statement |", "|---|---|---|---|"]
    for claim in all_claims():
        statement = claim.statement.replace("|", "\\|")
        lines.append(f"| `{claim.id}` | {claim.status} | {', '.join(claim.families)} | {statement} |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown_table())
        return 0
    rows = [[claim.id, claim.status, ", ".join(claim.families), claim.statement] for claim in all_claims()]
    print(format_table(["claim", "status", "families", "statement"], rows))
    return 0
