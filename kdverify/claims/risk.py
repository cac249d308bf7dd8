"""Claims about the expected risk: ``risk-bound``, ``rate-margin``, ``rate-polynomial`` and the
open ``risk-bound-with-init`` (THEORY.md §3).

On discrete families the expected risk and the bound are exact rationals. Elsewhere ``E R_n``
is a Monte Carlo mean over students trained by gradient descent, with a two-sided interval at
confidence ``1 − α`` (``α`` the check's share of the run's δ): a theorem is falsified only when
the lower limit exceeds the bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

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
from kdverify.claims.base import Budget, Claim, Evidence, Instance
from kdverify.distributions.base import HALF_PI, Family
from kdverify.distributions.discrete import Discrete
from kdverify.expected import exact_expected_p_angle, exact_expected_risk

ExactBound = Callable[[Discrete, int], Fraction]
NumericBound = Callable[[Family, int], float]


def bound_check(exact_bound: ExactBound, numeric_bound: NumericBound, *, student: Student | None = None):
    """A check of ``E R_n ≤ bound(n)``: exact on discrete families, else a Monte Carlo estimate
    over trained students (or ``student``) whose lower confidence limit must not exceed it."""

    def check(instance: Instance, budget: Budget) -> Evidence:
        distribution = distribution_of(instance)
        n, temperature, w0 = int(instance["n"]), instance["temperature"], instance.get("w0")
        if isinstance(distribution, Discrete) and distribution.is_exact:
            risk = exact_expected_risk(distribution, n, temperature=Fraction(temperature), w0=w0)
            p_angle = exact_expected_p_angle(distribution, n, temperature=Fraction(temperature), w0=w0)
            bound = exact_bound(distribution, n)
            return Evidence(risk <= bound, risk, "<=", bound, exact=True, details={"expected_p_angle": p_angle})
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
        bound = numeric_bound(distribution, n)
        tolerance = numeric_tolerance(distribution, n + 1)
        return Evidence(
            holds=estimate.lower <= bound + tolerance,
            lhs=estimate.lower,
            relation="<=",
            rhs=bound,
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


def numeric_margin_bound(distribution: Family, n: int) -> float:
    """``p(π/2 − θ_m)^n`` for a margin family (``p(θ_m) = 0``)."""
    margin = float(distribution.params()["margin"])
    return float(distribution.p_bounds(np.array([HALF_PI - margin]))[1][0]) ** n


def rate_polynomial_bound(distribution: Family, n: int) -> float:
    """``C (log n / n)^{κ/λ}`` with the explicit constants derived symbolically for the
    Beta-polarised family (κ = b, λ = a); ``inf`` below ``n_0``, where the corollary is silent."""
    from kdverify.symbolic import rate_polynomial_constants

    params = distribution.params()
    constants = rate_polynomial_constants(float(params["a"]), float(params["b"]))
    return constants.bound(n) if n >= constants.n0 else math.inf


@st.composite
def polynomial_instances(draw: st.DrawFn, family: str) -> Instance:
    """Beta-polarised families with integer shapes and a size ``n ≥ n_0`` of the corollary."""
    from kdverify.symbolic import rate_polynomial_constants

    params = draw(
        st.fixed_dictionaries(
            {"dim": st.integers(2, 5), "a": st.sampled_from((1.0, 2.0)), "b": st.sampled_from((1.0, 2.0, 3.0))}
        )
    )
    n0 = rate_polynomial_constants(params["a"], params["b"]).n0
    instance = draw(sized_families(family, params=st.just(params)))
    return Instance(family, {**instance.values, "n": n0 + draw(st.integers(0, 60))})


RISK_FAMILIES = DISTRIBUTION_FAMILIES

CLAIMS = (
    Claim(
        id="risk-bound",
        status="theorem",
        statement="w0 = 0: E R_n ≤ min_θ [p(θ) + p(π/2 − θ)^n]",
        latex=r"\mathbb E\, R(\hat w_X) \le \min_{\theta} \big[p(\theta) + p(\pi/2 - \theta)^n\big]",
        source="Phuong & Lampert 2019, main risk bound; THEORY.md §3",
        families=RISK_FAMILIES,
        instances=sized_families,
        check=bound_check(exact_risk_bound, numeric_risk_bound),
        statistical=True,
    ),
    Claim(
        id="rate-margin",
        status="theorem",
        statement="p(θ_m) = 0 ⇒ E R_n ≤ p(π/2 − θ_m)^n",
        latex=r"p(\theta_m) = 0 \Rightarrow \mathbb E\, R_n \le p(\pi/2 - \theta_m)^n",
        source="Phuong & Lampert 2019, corollary for separated classes; THEORY.md §3",
        families=("margin", "discrete"),
        instances=sized_families,
        check=bound_check(exact_margin_bound, numeric_margin_bound),
        statistical=True,
    ),
    Claim(
        id="rate-polynomial",
        status="theorem",
        statement="p(θ) ≤ cθ^κ, P[α ≤ θ] ≥ c'θ^λ ⇒ E R_n ≤ C (log n / n)^{κ/λ} for n ≥ n0",
        latex=r"\mathbb E\, R_n \le C \left(\frac{\log n}{n}\right)^{\kappa/\lambda},\; n \ge n_0",
        source="Phuong & Lampert 2019, corollary for polynomial geometry; THEORY.md §3",
        families=("beta-polarised",),
        instances=polynomial_instances,
        check=bound_check(exact_risk_bound, rate_polynomial_bound),
        statistical=True,
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
