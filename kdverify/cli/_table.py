"""Tables for terminal output, and the rows of the verdict table (``check``, ``report``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kdverify.claims.base import Evidence

__all__ = ["VERDICT_HEADER", "format_table", "verdict_rows"]


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a rule under the header.

    >>> print(format_table(["a", "bb"], [[1, "x"]]))
    a  bb
    -  --
    1  x
    """
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


VERDICT_HEADER = ("claim", "status", "family", "verdict", "informative", "evidence", "detects")


def verdict_rows(entries: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows of the verdict table (columns :data:`VERDICT_HEADER`) from ``check --json`` entries
    (:meth:`SearchResult.to_json`). Open claims that survive read "no counterexample", not "holds";
    existence claims (``quantifier`` "exists") read "witness found" or "no witness";
    ``informative`` is informative examples / decided examples; ``detects`` the smallest violation a
    statistical check could have seen (its interval's width), empty for exact and deterministic ones."""
    rows = []
    for entry in entries:
        verdict = entry["verdict"]
        if entry.get("quantifier") == "exists":  # searched as its negation: a violation is a witness
            verdict = {"falsified": "witness found", "holds": "no witness"}.get(verdict, verdict)
        elif verdict == "holds" and entry["status"] == "open":
            verdict = "no counterexample"
        evidence = entry["evidence"]
        if evidence:
            shown = Evidence.from_json(evidence).summary()
            if evidence.get("tie_free") is False:
                shown += " (depends on ties)"
        else:
            shown = entry["error"] or ""
        effect = entry.get("detectable_effect")
        rows.append(
            [
                entry["id"],
                entry["status"],
                entry["family"],
                verdict,
                f"{entry['informative']}/{entry['examples']}",
                shown,
                "" if effect is None else f"{effect:.2g}",
            ]
        )
    return rows
