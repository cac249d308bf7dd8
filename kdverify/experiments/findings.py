"""What a figure says about the paper's conclusions, decided from its numbers.

Each experiment states the paper's conclusions it tests as :class:`Finding` rows — the
conclusion, what the figure measured and a verdict — so a caption never says more than the
intervals do. A verdict compares 95% intervals per point (not simultaneous): *supports* when
the intervals separate in the paper's direction, *contradicts* when they separate the other way,
*inconclusive* when they overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from kdverify.stats import MeanEstimate

__all__ = ["Finding", "Verdict", "below", "findings_table", "order", "overall"]

Verdict = Literal["supports", "contradicts", "inconclusive"]


@dataclass(frozen=True)
class Finding:
    """One of the paper's conclusions, what a figure measured about it, and the verdict."""

    conclusion: str
    measured: str
    verdict: Verdict

    def as_dict(self) -> dict[str, str]:
        """Plain-JSON form."""
        return {"conclusion": self.conclusion, "measured": self.measured, "verdict": self.verdict}


def order(smaller: MeanEstimate, larger: MeanEstimate) -> Verdict:
    """``supports`` when ``smaller``'s interval lies entirely below ``larger``'s, ``contradicts``
    when entirely above, else ``inconclusive``."""
    if smaller.upper < larger.lower:
        return "supports"
    if smaller.lower > larger.upper:
        return "contradicts"
    return "inconclusive"


def overall(verdicts: Sequence[Verdict]) -> Verdict:
    """One verdict for several comparisons of one conclusion: ``contradicts`` if any does,
    ``supports`` if at least one does and none contradicts, else ``inconclusive``."""
    if "contradicts" in verdicts:
        return "contradicts"
    return "supports" if "supports" in verdicts else "inconclusive"


def findings_table(findings: Sequence[Finding]) -> str:
    """The findings side by side as a Markdown table."""
    lines = ["| the paper's conclusion | what this figure shows | verdict |", "|---|---|---|"]
    lines += [f"| {f.conclusion} | {f.measured} | **{f.verdict}** |" for f in findings]
    return "\n".join(lines)


def below(pairs: Sequence[tuple[MeanEstimate, float]]) -> Verdict:
    """An upper bound against estimates: ``contradicts`` when some interval lies entirely above
    its bound, ``supports`` when every interval lies at or below it, else ``inconclusive``."""
    if any(estimate.lower > bound for estimate, bound in pairs):
        return "contradicts"
    return "supports" if all(estimate.upper <= bound for estimate, bound in pairs) else "inconclusive"
