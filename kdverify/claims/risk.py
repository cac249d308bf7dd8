"""Claims about the expected risk: ``risk-bound``, ``rate-margin``, ``rate-polynomial`` and the
open ``risk-bound-with-init`` (THEORY.md §3).

On discrete families the expected risk and the bound are exact rationals. Elsewhere ``E R_n``
is a Monte Carlo mean over trained students (``fit_distilled(method="auto")``: the certified
limit of gradient descent, THEORY.md §6c), with a two-sided interval at
confidence ``1 − α`` (``α`` the check's share of the run's δ): a theorem is falsified only when
the lower limit exceeds the bound. Every check is :func:`bound_check` of a bound; the mutants
swap one ingredient of that bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

import numpy as np
from hypothesis import strategies as st

from kdverify._util.numerics import HALF_PI
from kdverify._util.validation import FloatArray
from kdverify.claims._cases import below_one, numeric_tolerance
from kdverify.claims._content import BOUND_BELOW_ONE, INIT_WITH_BOUND_BELOW_ONE
from kdverify.claims._estimates import (
    CERTIFIED_RTOL,
    CertifiedTrainer,
    Undecided,
    closed_form_students,
    exact_margin_bound,
    exact_risk_bound,
    round_sizes,
)
from kdverify.claims._instances import DISTRIBUTION_FAMILIES, distribution_of, sized_families
from kdverify.claims._ties import tie_aware_comparison
from kdverify.claims.base import Budget, Check, Claim, Evidence, Instance, Mutant, TrainerCheck
from kdverify.data.base import Family
from kdverify.data.discrete import TIE_CONVENTIONS, Discrete
from kdverify.errors import InvalidArgument
from kdverify.measure.bounds import risk_bound
from kdverify.measure.expected import (
    StudentFunction,
    exact_expected_p_angle,
    exact_expected_risk,
    student_risks_and_p_angles,
)
from kdverify.measure.stats import BettingSequence, MeanEstimate
from kdverify.training import UserTrainer, fit_user
from kdverify.training.teacher import Teacher

if TYPE_CHECKING:
    from kdverify.theory import RateConstants

ExactBound = Callable[[Discrete, int], Fraction]
NumericBound = Callable[[Family, int], float]


def bound_check(
    exact_bound: ExactBound | None,
    numeric_bound: NumericBound | None,
    *,
    student: StudentFunction | None = None,
    through_p_angle: bool = False,
    trainer: UserTrainer | None = None,
) -> Check:
    """A check of ``E R_n ≤ bound(n)``: exact on discrete families (under both tie conventions of
    ``R``, :func:`~kdverify.claims._ties.tie_aware_comparison`), else a Monte Carlo estimate
    over trained students (or ``student``) whose lower confidence limit must not exceed it.
    Instances of a kind the bound has no form for (``None``) are left undecided.

    ``through_p_angle``: the check decides the whole chain of the proof (w0 = 0),
    ``E R_n ≤ E p(∠(ŵ_X, w*)) ≤ bound`` — exactly on discrete data, reporting its tighter link;
    elsewhere the first link per training set and the second by the lower confidence limit of
    ``E p(∠)``, so a bound that is too small is caught even where it still exceeds ``E R_n``.

    ``trainer``: the students are a user's (:class:`~kdverify.training.UserTrainer`, from 0), whose
    risks are estimated by Monte Carlo on every family, against the exact bound where there is one.
    """

    def check(instance: Instance, budget: Budget) -> Evidence:
        distribution = distribution_of(instance)
        n, temperature, w0 = int(instance["n"]), instance["temperature"], instance.get("w0")
        if trainer is None and isinstance(distribution, Discrete) and distribution.is_exact:
            if exact_bound is None:
                return Evidence(None, "no exact form of the bound", "<=", "bound")
            risks = {
                ties: exact_expected_risk(distribution, n, temperature=Fraction(temperature), w0=w0, ties=ties)
                for ties in TIE_CONVENTIONS
            }
            p_angle = exact_expected_p_angle(distribution, n, temperature=Fraction(temperature), w0=w0)
            bound = exact_bound(distribution, n)
            if through_p_angle:  # the chain holds exactly when its tighter link does
                details = {"expected_risk": risks["error"], "expected_p_angle": p_angle, "bound": bound}
                return tie_aware_comparison(
                    lambda ties: min((risks[ties], p_angle), (p_angle, bound), key=lambda link: link[1] - link[0]),
                    details,
                )
            return tie_aware_comparison(lambda ties: (risks[ties], bound), {"expected_p_angle": p_angle})
        if isinstance(distribution, Discrete) and distribution.is_exact and exact_bound is not None:
            value = float(exact_bound(distribution, n))
        elif numeric_bound is not None:
            value = numeric_bound(distribution, n)
        else:
            return Evidence(None, "no numeric form of the bound", "<=", "bound")
        trained = student or (trainer_students(trainer) if trainer else CertifiedTrainer(budget))
        tolerance = numeric_tolerance(distribution, n + 1)
        students = trained.describe() if isinstance(trained, CertifiedTrainer) else "closed form"
        certified_rtol = CERTIFIED_RTOL if isinstance(trained, CertifiedTrainer) else 0.0
        if trainer is not None:
            students = f"user trainer {trainer.name}, promised ‖w − ŵ‖ ≤ {trainer.rtol:g}·max(1, ‖w‖)"
            certified_rtol = trainer.rtol
        rng = np.random.default_rng(int(instance["seed"]))
        # Trials come in rounds; the betting interval (tuned to the whole budget, valid at every
        # round) of the mean on trial — E R_n, or E p(∠) for the chain — stops them once it lies
        # on one side of the bound.
        sequence = BettingSequence(confidence=1 - budget.alpha, horizon=budget.trials)
        drawn: list[tuple[np.ndarray, np.ndarray]] = []
        for size in round_sizes(budget.trials):
            try:
                drawn.append(
                    student_risks_and_p_angles(
                        distribution,
                        n,
                        trials=size,
                        rng=rng,
                        temperature=float(temperature),
                        w0=w0,
                        student=trained,
                        rtol=certified_rtol,
                    )
                )
            except Undecided as reason:
                return Evidence(None, str(reason), "<=", "budget")
            sequence.update(drawn[-1][1] if through_p_angle else drawn[-1][0])
            if sequence.side_of(value + tolerance):
                break
        estimate = sequence.estimate()
        student_risks, p_angles = (np.concatenate(side) for side in zip(*drawn, strict=True))
        if not through_p_angle:
            return _mean_below(estimate, value, tolerance, students=students)
        # The chain E R_n ≤ E p(∠) ≤ bound: its first link holds per training set (risk-angle
        # lemma for each trained student), its second is a confidence statement on E p(∠).
        gap = float(np.max(student_risks - p_angles))
        second = _mean_below(estimate, value, tolerance, students=students)
        details = {**second.details, "mean_risk": float(student_risks.mean()), "largest_risk_minus_p_angle": gap}
        holds = bool(second.holds) and gap <= numeric_tolerance(distribution)
        if below_one(value, tolerance) or not second.details["mean"] < 1:
            return replace(second, holds=holds, details=details)
        # The bound is 1 (no content): show the link that has some, per training set.
        return Evidence(
            holds=holds,
            lhs=float(student_risks.mean()),
            relation="<=",
            rhs=float(p_angles.mean()),
            tolerance=numeric_tolerance(distribution),
            details={**details, "link": "R(ŵ_X) ≤ p(∠(ŵ_X, w*)) for every training set; means shown"},
        )

    return check


def trainer_students(trainer: UserTrainer) -> StudentFunction:
    """The students of a user's trainer for a batch of training sets (it starts from 0)."""

    def train(data: FloatArray, teacher: Teacher, w0: Any) -> FloatArray:
        if w0 is not None and np.any(np.asarray(w0, dtype=float)):
            raise InvalidArgument(f"trainer {trainer.name} starts from w0 = 0, but the instance has w0 = {w0}.")
        return np.asarray(fit_user(trainer, data, teacher).w)

    return train


def _for_trainer(exact: ExactBound | None, numeric: NumericBound | None) -> TrainerCheck:
    """The risk claims on a user's trainer: :func:`bound_check` through ``E p(∠)`` of its students."""
    return TrainerCheck(lambda trainer: bound_check(exact, numeric, through_p_angle=True, trainer=trainer))


def _mean_below(estimate: MeanEstimate, bound: float, tolerance: float, *, students: str) -> Evidence:
    """``E v ≤ bound`` for values in ``[0, 1]``, falsified only when the lower limit of the mean's
    betting interval (confidence ``1 − alpha``, :class:`~kdverify.measure.stats.BettingSequence`) exceeds
    ``bound + tolerance``."""
    return Evidence(
        holds=estimate.lower <= bound + tolerance,
        lhs=estimate.lower,
        relation="<=",
        rhs=bound,
        tolerance=tolerance,
        interval=estimate.as_dict(),
        details={"mean": estimate.mean, "students": students},
    )


@lru_cache(maxsize=256)
def _memoised_p(distribution: Family) -> Callable[[np.ndarray], np.ndarray]:
    """The upper confidence limit of ``p`` for ``distribution``, remembering every angle it was
    asked: the bound's first grid is the same for every ``n``, and ``p`` by quadrature costs a
    tenth of a second per call, so the sizes' search and every check would pay it again."""
    known: dict[float, float] = {}

    def p(theta: np.ndarray) -> np.ndarray:
        angles = np.asarray(theta, dtype=np.float64)
        new = np.array(sorted({float(a) for a in angles.ravel()} - known.keys()))
        if new.size:
            values = np.asarray(distribution.p_bounds(new)[1], dtype=float)
            known.update(zip(new.tolist(), values.tolist(), strict=True))
        return np.array([known[float(a)] for a in angles.ravel()]).reshape(angles.shape)

    return p


ZOOM_SIZE = 9
"""Points per zoom of :func:`numeric_risk_bound`: each zoom shrinks the cell fourfold for 18 new
angles (the default 65 would spend 130 quadrature rows per zoom for a 32-fold shrink)."""


@lru_cache(maxsize=1024)
def numeric_risk_bound(distribution: Family, n: int, *, zooms: int = 6) -> float:
    """``min_θ [p(θ) + p(π/2 − θ)^n]`` with the upper confidence limits of ``p`` when estimated,
    on :func:`~kdverify.measure.bounds.risk_bound`'s 65-point grid and ``zooms`` zooms of
    :data:`ZOOM_SIZE` points (fewer give a larger, still valid bound: any θ gives an upper bound).
    Cached: families are immutable (and built once per parameters)."""
    breakpoints = distribution.breakpoints()
    return risk_bound(
        _memoised_p(distribution), n, breakpoints=breakpoints, zooms=zooms, zoom_size=ZOOM_SIZE
    ).value


def smallest_size_below_one(distribution: Family, largest: int) -> int | None:
    """The smallest ``n ≤ largest`` at which the risk bound on the first grid (one quadrature of
    ``p`` per family, shared by every ``n``) is below 1 (bisection: it does not increase with
    ``n``), or ``None`` when there is none — a family where the bound never says anything at a
    size with a non-trivial risk (isotropic data, say). The grid's bound is an upper bound, so
    every size drawn has a bound below 1 by more than the check's tolerance (a bound of 1 up to
    rounding says nothing); sizes where only a zoom would show it are left out."""
    def informative(n: int) -> bool:
        if isinstance(distribution, Discrete) and distribution.is_exact:
            return exact_risk_bound(distribution, n) < 1
        return below_one(numeric_risk_bound(distribution, n, zooms=0), numeric_tolerance(distribution, n + 1))

    if not informative(largest):
        return None
    low, high = 1, largest  # informative(high)
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if informative(middle) else (middle + 1, high)
    return high


def bounded_sizes(family: str, *, init: bool = False) -> st.SearchStrategy[Instance]:
    """:func:`~kdverify.claims._instances.sized_families` at sizes where the risk bound is below 1.
    From ``w0 = 0`` (``risk-bound``) a family without such sizes is still drawn, at any size: its
    check shows the per-training-set link ``R ≤ p(∠)`` through ``E p(∠)``. With ``init`` that
    link is not the claim, so such a family is rejected — on isotropic data, where the bound is
    1 at every ``n < d``, no example is drawn and the pair is vacuous without spending a check."""

    def smallest(distribution: Family, largest: int) -> int | None:
        size = smallest_size_below_one(distribution, largest)
        return size if size is not None or init else 1

    return sized_families(family, init=init, smallest_size=smallest)


def numeric_margin_bound(
    distribution: Family, n: int, *, angle: Callable[[float], float] = lambda margin: HALF_PI - margin
) -> float:
    """``p(angle(θ_m))^n`` for a margin family (``p(θ_m) = 0``); the corollary's angle is ``π/2 − θ_m``."""
    margin = float(distribution.params()["margin"])
    return float(distribution.p_bounds(np.array([angle(margin)]))[1][0]) ** n


def derived_rate_constants(a: float, b: float) -> RateConstants:
    """``C``, ``n_0`` and the exponent ``κ/λ`` of ``rate-polynomial`` for the Beta-polarised
    family ``(a, b)`` (``κ = b``, ``λ = a``), derived symbolically."""
    from kdverify.theory import rate_polynomial_constants

    return rate_polynomial_constants(a, b)


def rate_polynomial_bound(
    distribution: Family, n: int, *, constants_of: Callable[[float, float], RateConstants] = derived_rate_constants
) -> float:
    """``C (log n / n)^{κ/λ}`` with the constants ``constants_of(a, b)`` of the Beta-polarised
    family; ``inf`` below ``n_0``, where the corollary is silent."""
    params = distribution.params()
    constants = constants_of(float(params["a"]), float(params["b"]))
    return constants.bound(n) if n >= constants.n0 else math.inf


# Shapes (a, b) whose bound C (log n / n)^{b/a} falls below 1 by n = POLYNOMIAL_MAX_N; the others
# need n in the hundreds (e.g. (2, 1/2) at n = 156, (3, 1/2) at 3 027) and are said so in the content.
# (1, 1/2) first: its data crowd the boundary (p(θ) ~ θ^{1/2}), so E p(∠) is largest relative to the
# bound, and the search starts (and shrinks) where a wrong bound shows soonest.
POLYNOMIAL_SHAPES = tuple((a, b) for a in (1.0, 2.0, 3.0) for b in (0.5, 1.0, 2.0, 3.0))
POLYNOMIAL_MAX_N = 20


def first_informative_size(a: float, b: float) -> int | None:
    """The smallest ``n ≥ n_0`` at which the corollary's bound for Beta-polarised ``(a, b)`` is
    below 1 (so the rate says something), or ``None`` beyond :data:`POLYNOMIAL_MAX_N`."""
    constants = derived_rate_constants(a, b)
    return next((n for n in range(max(2, constants.n0), POLYNOMIAL_MAX_N + 1) if constants.bound(n) < 1), None)


@st.composite
def polynomial_instances(draw: st.DrawFn, family: str) -> Instance:
    """Beta-polarised families ``(a, b)`` with a size ``n ≥ n_0`` at which the corollary's bound is
    below 1 (up to 3 past the first such ``n``), in a dimension ``d > n``: with ``n ≥ d`` points
    span ``R^d`` almost surely and the risk is 0."""
    shapes = st.sampled_from(POLYNOMIAL_SHAPES).filter(lambda ab: first_informative_size(*ab) is not None)
    a, b = draw(shapes)
    n = int(first_informative_size(a, b) or 0) + draw(st.integers(0, 3))
    params = {"dim": n + draw(st.integers(1, 3)), "a": a, "b": b}
    instance = draw(sized_families(family, params=st.just(params)))
    return Instance(family, {**instance.values, "n": n})


RISK_FAMILIES = DISTRIBUTION_FAMILIES


def tightened(exact: ExactBound, numeric: NumericBound, factor: Fraction) -> Check:
    """A mutant's check: :func:`bound_check` (through ``E p(∠)``) of ``factor`` times the bound,
    a bound too tight by ``1/factor``."""
    return bound_check(
        lambda distribution, n: factor * exact(distribution, n),
        lambda distribution, n: float(factor) * numeric(distribution, n),
        through_p_angle=True,
    )


def numeric_complement_only_bound(distribution: Family, n: int) -> float:
    """The numeric form of ``no-p-theta-term``: ``min_θ p(π/2 − θ)^n = p(0)^n`` (``p`` is
    non-decreasing), with the upper confidence limit of ``p``."""
    return float(distribution.p_bounds(np.array([0.0]))[1][0]) ** n


# The mutants of risk-bound and rate-margin are decided on exact and numeric families alike; through
# the chain E R_n ≤ E p(∠) ≤ bound, exact families also expose a 10% tightening that the union
# bound's slack hides from E R_n.
CLAIMS = (
    Claim(
        id="risk-bound",
        status="theorem",
        statement="w0 = 0: E R_n ≤ min_θ [p(θ) + p(π/2 − θ)^n]",
        latex=r"\mathbb E\, R(\hat w_X) \le \min_{\theta} \big[p(\theta) + p(\pi/2 - \theta)^n\big]",
        source="Phuong & Lampert 2019, main risk bound; THEORY.md §3",
        families=RISK_FAMILIES,
        instances=bounded_sizes,
        check=bound_check(exact_risk_bound, numeric_risk_bound, through_p_angle=True),
        content=BOUND_BELOW_ONE,
        trainer_check=_for_trainer(exact_risk_bound, numeric_risk_bound),
        statistical=True,
        mutants=(
            Mutant(
                "no-p-theta-term",
                "E R_n ≤ min_θ p(π/2 − θ)^n: the bound without its p(θ) term",
                bound_check(
                    partial(exact_risk_bound, objective=lambda p_theta, p_complement, n: p_complement**n),
                    numeric_complement_only_bound,
                    through_p_angle=True,
                ),
            ),
            Mutant(
                "bound-too-tight",
                "E R_n ≤ 0.9·min_θ [p(θ) + p(π/2 − θ)^n]: a bound too tight by 10%",
                tightened(exact_risk_bound, numeric_risk_bound, Fraction(9, 10)),
            ),
            Mutant(
                "bound-third",
                "E R_n ≤ min_θ [p(θ) + p(π/2 − θ)^n]/3: a bound 3× too tight",
                tightened(exact_risk_bound, numeric_risk_bound, Fraction(1, 3)),
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
        content=BOUND_BELOW_ONE,
        trainer_check=_for_trainer(exact_margin_bound, numeric_margin_bound),
        statistical=True,
        mutants=(
            Mutant(
                "margin-angle-swapped",
                "E R_n ≤ p(θ_m)^n: p evaluated at the margin instead of π/2 − θ_m",
                bound_check(
                    # exactly: p(θ_m) for θ_m below the smallest boundary angle (where p = 0)
                    lambda distribution, n: distribution.exact_p(min(distribution.boundary_sin2) / 2) ** n,
                    partial(numeric_margin_bound, angle=lambda margin: margin),
                    through_p_angle=True,
                ),
            ),
            Mutant(
                "bound-third",
                "E R_n ≤ p(π/2 − θ_m)^n/3: a bound 3× too tight",
                tightened(exact_margin_bound, numeric_margin_bound, Fraction(1, 3)),
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
        check=bound_check(None, rate_polynomial_bound, through_p_angle=True),
        content=BOUND_BELOW_ONE,
        trainer_check=_for_trainer(None, rate_polynomial_bound),
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
                    through_p_angle=True,
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
        instances=lambda family: bounded_sizes(family, init=True),
        check=bound_check(exact_risk_bound, numeric_risk_bound, student=closed_form_students),
        content=INIT_WITH_BOUND_BELOW_ONE,
        statistical=True,
    ),
)
