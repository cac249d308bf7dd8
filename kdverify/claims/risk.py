"""Claims about the expected risk: ``risk-bound``, ``rate-margin``, ``rate-polynomial`` and the
open ``risk-bound-with-init`` (THEORY.md §3).

On discrete families the expected risk and the bound are exact rationals. Elsewhere ``E R_n``
is a Monte Carlo mean over students trained by gradient descent, with a two-sided interval at
confidence ``1 − α`` (``α`` the check's share of the run's δ): a theorem is falsified only when
the lower limit exceeds the bound. Every check is :func:`bound_check` of a bound; the mutants
swap one ingredient of that bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from hypothesis import strategies as st

from kdverify.bounds import risk_bound
from kdverify.claims._cases import numeric_tolerance
from kdverify.claims._estimates import (
    Student,
    TrainedStudents,
    Undecided,
    closed_form_students,
    exact_margin_bound,
    exact_risk_bound,
    expected_risk,
)
from kdverify.claims._instances import DISTRIBUTION_FAMILIES, distribution_of, sized_families
from kdverify.claims.base import Budget, Check, Claim, Evidence, Instance, Mutant
from kdverify.distributions.base import HALF_PI, Family
from kdverify.distributions.discrete import Discrete
from kdverify.expected import exact_expected_p_angle, exact_expected_risk

if TYPE_CHECKING:
    from kdverify.symbolic import RateConstants

ExactBound = Callable[[Discrete, int], Fraction]
NumericBound = Callable[[Family, int], float]


def bound_check(
    exact_bound: ExactBound | None,
    numeric_bound: NumericBound | None,
    *,
    student: Student | None = None,
    through_p_angle: bool = False,
) -> Check:
    """A check of ``E R_n ≤ bound(n)``: exact on discrete families, else a Monte Carlo estimate
    over trained students (or ``student``) whose lower confidence limit must not exceed it.
    Instances of a kind the bound has no form for (``None``) are left undecided.

    ``through_p_angle``: the exact check decides the whole chain of the proof (w0 = 0),
    ``E R_n ≤ E p(∠(ŵ_X, w*)) ≤ bound``, and reports its tighter link.
    """

    def check(instance: Instance, budget: Budget) -> Evidence:
        distribution = distribution_of(instance)
        n, temperature, w0 = int(instance["n"]), instance["temperature"], instance.get("w0")
        if isinstance(distribution, Discrete) and distribution.is_exact:
            if exact_bound is None:
                return Evidence(None, "no exact form of the bound", "<=", "bound")
            risk = exact_expected_risk(distribution, n, temperature=Fraction(temperature), w0=w0)
            p_angle = exact_expected_p_angle(distribution, n, temperature=Fraction(temperature), w0=w0)
            bound = exact_bound(distribution, n)
            if through_p_angle:
                lhs, rhs = min((risk, p_angle), (p_angle, bound), key=lambda link: link[1] - link[0])
                details = {"expected_risk": risk, "expected_p_angle": p_angle, "bound": bound}
                return Evidence(risk <= p_angle <= bound, lhs, "<=", rhs, exact=True, details=details)
            return Evidence(risk <= bound, risk, "<=", bound, exact=True, details={"expected_p_angle": p_angle})
        if numeric_bound is None:
            return Evidence(None, "no numeric form of the bound", "<=", "bound")
        trained = student or TrainedStudents(budget)
        try:
            estimate = expected_risk(
                distribution,
                n,
                budget=budget,
                seed=int(instance["seed"]),
                temperature=float(temperature),
                w0=w0,
                student=trained,
            )
        except Undecided as reason:
            return Evidence(None, str(reason), "<=", "budget")
        value = numeric_bound(distribution, n)
        tolerance = numeric_tolerance(distribution, n + 1)
        return Evidence(
            holds=estimate.lower <= value + tolerance,
            lhs=estimate.lower,
            relation="<=",
            rhs=value,
            tolerance=tolerance,
            interval=estimate.as_dict(),
            details={
                "mean": estimate.mean,
                "students": "trained by gradient descent" if student is None else "closed form",
            },
        )

    return check


def numeric_risk_bound(distribution: Family, n: int) -> float:
    """``min_θ [p(θ) + p(π/2 − θ)^n]`` with the upper confidence limits of ``p`` when estimated."""
    breakpoints = distribution.breakpoints()
    return risk_bound(lambda theta: distribution.p_bounds(theta)[1], n, breakpoints=breakpoints).value


def numeric_margin_bound(
    distribution: Family, n: int, *, angle: Callable[[float], float] = lambda margin: HALF_PI - margin
) -> float:
    """``p(angle(θ_m))^n`` for a margin family (``p(θ_m) = 0``); the corollary's angle is ``π/2 − θ_m``."""
    margin = float(distribution.params()["margin"])
    return float(distribution.p_bounds(np.array([angle(margin)]))[1][0]) ** n


def derived_rate_constants(a: float, b: float) -> RateConstants:
    """``C``, ``n_0`` and the exponent ``κ/λ`` of ``rate-polynomial`` for the Beta-polarised
    family ``(a, b)`` (``κ = b``, ``λ = a``), derived symbolically."""
    from kdverify.symbolic import rate_polynomial_constants

    return rate_polynomial_constants(a, b)


def rate_polynomial_bound(
    distribution: Family, n: int, *, constants_of: Callable[[float, float], RateConstants] = derived_rate_constants
) -> float:
    """``C (log n / n)^{κ/λ}`` with the constants ``constants_of(a, b)`` of the Beta-polarised
    family; ``inf`` below ``n_0``, where the corollary is silent."""
    params = distribution.params()
    constants = constants_of(float(params["a"]), float(params["b"]))
    return constants.bound(n) if n >= constants.n0 else math.inf


# Sizes stay n ≤ n_0 + 3 < d ≤ n + 3 with n_0 ≤ POLYNOMIAL_MAX_N0 (this drops (a, b) = (1, 3), whose
# n_0 is 27), so the Monte Carlo estimate stays cheap. (2, 1/2), whose data crowd the boundary and
# so have the largest risk, comes first: the search starts (and shrinks) there.
POLYNOMIAL_SHAPES = tuple((a, b) for a in (2.0, 1.0, 3.0) for b in (0.5, 1.0, 2.0, 3.0))
POLYNOMIAL_MAX_N0 = 12


@st.composite
def polynomial_instances(draw: st.DrawFn, family: str) -> Instance:
    """Beta-polarised families ``(a, b)`` with a size ``n ≥ n_0`` of the corollary, in a
    dimension ``d > n``: with ``n ≥ d`` points span ``R^d`` almost surely and the risk is 0."""
    shapes = st.sampled_from(POLYNOMIAL_SHAPES).filter(lambda ab: derived_rate_constants(*ab).n0 <= POLYNOMIAL_MAX_N0)
    a, b = draw(shapes)
    n = derived_rate_constants(a, b).n0 + draw(st.integers(0, 3))
    params = {"dim": n + draw(st.integers(1, 3)), "a": a, "b": b}
    instance = draw(sized_families(family, params=st.just(params)))
    return Instance(family, {**instance.values, "n": n})


RISK_FAMILIES = DISTRIBUTION_FAMILIES

# The mutants of risk-bound swap the objective of its exact minimisation (kdverify.bounds fixes its
# own), so they are decided on exact families, where the chain through E p(∠) also exposes a 10%
# tightening that the union bound's slack hides from E R_n; elsewhere they are undecided at no cost.
CLAIMS = (
    Claim(
        id="risk-bound",
        status="theorem",
        statement="w0 = 0: E R_n ≤ min_θ [p(θ) + p(π/2 − θ)^n]",
        latex=r"\mathbb E\, R(\hat w_X) \le \min_{\theta} \big[p(\theta) + p(\pi/2 - \theta)^n\big]",
        source="Phuong & Lampert 2019, main risk bound; THEORY.md §3",
        families=RISK_FAMILIES,
        instances=sized_families,
        check=bound_check(exact_risk_bound, numeric_risk_bound, through_p_angle=True),
        statistical=True,
        mutants=(
            Mutant(
                "no-p-theta-term",
                "E R_n ≤ min_θ p(π/2 − θ)^n: the bound without its p(θ) term",
                bound_check(
                    partial(exact_risk_bound, objective=lambda p_theta, p_complement, n: p_complement**n),
                    None,
                    through_p_angle=True,
                ),
            ),
            Mutant(
                "bound-too-tight",
                "E R_n ≤ 0.9·min_θ [p(θ) + p(π/2 − θ)^n]: a bound too tight by 10%",
                bound_check(
                    lambda distribution, n: Fraction(9, 10) * exact_risk_bound(distribution, n),
                    None,
                    through_p_angle=True,
                ),
            ),
        ),
    ),
    Claim(
        id="rate-margin",
        status="theorem",
        statement="p(θ_m) = 0 ⇒ E R_n ≤ p(π/2 − θ_m)^n",
        latex=r"p(\theta_m) = 0 \Rightarrow \mathbb E\, R_n \le p(\pi/2 - \theta_m)^n",
        source="Phuong & Lampert 2019, corollary for separated classes; THEORY.md §3",
        families=("margin", "discrete"),
        instances=sized_families,
        check=bound_check(exact_margin_bound, numeric_margin_bound, through_p_angle=True),
        statistical=True,
        mutants=(
            Mutant(
                "margin-angle-swapped",
                "E R_n ≤ p(θ_m)^n: p evaluated at the margin instead of π/2 − θ_m",
                bound_check(None, partial(numeric_margin_bound, angle=lambda margin: margin), through_p_angle=True),
            ),
        ),
    ),
    Claim(
        id="rate-polynomial",
        status="theorem",
        statement="p(θ) ≤ cθ^κ, P[α ≤ θ] ≥ c'θ^λ ⇒ E R_n ≤ C (log n / n)^{κ/λ} for n ≥ n0",
        latex=r"\mathbb E\, R_n \le C \left(\frac{\log n}{n}\right)^{\kappa/\lambda},\; n \ge n_0",
        source="Phuong & Lampert 2019, corollary for polynomial geometry; THEORY.md §3",
        families=("beta-polarised",),
        instances=polynomial_instances,
        check=bound_check(None, rate_polynomial_bound),
        statistical=True,
        mutants=(
            Mutant(
                "exponent-inverted",
                "E R_n ≤ C (log n / n)^{λ/κ}: the exponent's ratio inverted (C and n_0 as derived)",
                bound_check(
                    None,
                    partial(
                        rate_polynomial_bound,
                        constants_of=lambda a, b: derived_rate_constants(a, b)._replace(kappa=a, lam=b),
                    ),
                ),
            ),
        ),
    ),
    Claim(
        id="risk-bound-with-init",
        status="open",
        statement="w0 ≠ 0: E R_n ≤ min_θ [p(θ) + p(π/2 − θ)^n]",
        latex=r"w_0 \ne 0:\; \mathbb E\, R(\hat w_X) \le \min_{\theta} \big[p(\theta) + p(\pi/2 - \theta)^n\big]",
        source="THEORY.md §3 (open)",
        families=RISK_FAMILIES,
        instances=lambda family: sized_families(family, init=True),
        check=bound_check(exact_risk_bound, numeric_risk_bound, student=closed_form_students),
        statistical=True,
    ),
)
