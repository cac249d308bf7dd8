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

import numpy as np
from numpy.typing import ArrayLike

from kdverify.errors import InvalidArgument
from kdverify.measure.stats import MeanEstimate, betting_mean

__all__ = ["Finding", "Verdict", "below", "findings_table", "order", "overall", "paired_increase"]

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


def paired_increase(before: ArrayLike | None, after: ArrayLike | None) -> tuple[MeanEstimate, Verdict]:
    """The mean of ``after − before`` over paired trials (risks in ``[0, 1]`` on the same training
    sets), with the betting interval of ``(after − before + 1)/2`` mapped back; ``supports`` (an
    increase) when its interval lies above 0, ``contradicts`` when below, else ``inconclusive``.
    Pairing removes the variation between training sets that independent intervals carry; a
    curve point that kept no per-trial risks (``None``) cannot be paired and is refused."""
    if before is None or after is None:
        raise InvalidArgument("paired_increase needs the per-trial risks of both curve points; one kept none.")
    shifted = betting_mean((np.asarray(after, dtype=float) - np.asarray(before, dtype=float) + 1) / 2)
    difference = MeanEstimate(
        2 * shifted.mean - 1,
        2 * shifted.lower - 1,
        2 * shifted.upper - 1,
        shifted.confidence,
        shifted.trials,
        f"paired {shifted.method}",
    )
    verdict: Verdict = "supports" if difference.lower > 0 else "contradicts" if difference.upper < 0 else "inconclusive"
    return difference, verdict


def overall(verdicts: Sequence[Verdict]) -> Verdict:
    """One verdict for several comparisons of one conclusion: ``contradicts`` if any does,
    ``supports`` if at least one does and none contradicts, else ``inconclusive``."""
    if "contradicts" in verdicts:
        return "contradicts"
    return "supports" if "supports" in verdicts else "inconclusive"


def findings_table(findings: Sequence[Finding], *, header: str = "the paper's conclusion") -> str:
    """The findings side by side as a Markdown table (``header`` names the first column)."""
    lines = [f"| {header} | what this figure shows | verdict |", "|---|---|---|"]
    lines += [f"| {f.conclusion} | {f.measured} | **{f.verdict}** |" for f in findings]
    return "\n".join(lines)


def below(pairs: Sequence[tuple[MeanEstimate, float]]) -> Verdict:
    """An upper bound against estimates: ``contradicts`` when some interval lies entirely above
    its bound, ``supports`` when every interval lies at or below it, else ``inconclusive``."""
    if any(estimate.lower > bound for estimate, bound in pairs):
        return "contradicts"
    return "supports" if all(estimate.upper <= bound for estimate, bound in pairs) else "inconclusive"
