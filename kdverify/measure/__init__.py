"""Measuring students (THEORY.md §2.4, §3, §4): expected transfer risk (exact on discrete data,
Monte Carlo elsewhere), the paper's risk bound, and the confidence intervals that every Monte
Carlo estimate carries."""

from kdverify.measure.bounds import BoundValue, risk_bound
from kdverify.measure.expected import (
    estimate_expected_p_angle,
    estimate_expected_risk,
    exact_expected_p_angle,
    exact_expected_risk,
    expected_risk,
)
from kdverify.measure.stats import BettingSequence, MeanEstimate, betting_mean, bonferroni, clopper_pearson

__all__ = [
    "BettingSequence",
    "BoundValue",
    "MeanEstimate",
    "betting_mean",
    "bonferroni",
    "clopper_pearson",
    "estimate_expected_p_angle",
    "estimate_expected_risk",
    "exact_expected_p_angle",
    "exact_expected_risk",
    "expected_risk",
    "risk_bound",
]
