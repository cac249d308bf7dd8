"""Claims about more data: ``monotone-distance`` (theorem) and the open readings of "strong
monotonicity", ``monotone-risk-pointwise`` and ``monotone-risk-expected`` (THEORY.md §3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np
from hypothesis import strategies as st

from kdverify._util.numerics import angle
from kdverify.claims._cases import Case, numeric_tolerance
from kdverify.claims._content import EXTENSION_WITH_RISK, NEXT_RISK_POSITIVE, STRICT_EXTENSION
from kdverify.claims._estimates import paired_difference
from kdverify.claims._instances import (
    COSTLY_FAMILIES,
    DATA_FAMILIES,
    DISTRIBUTION_FAMILIES,
    GENERIC,
    distribution_of,
    problems,
    sized_families,
    sweep_sizes,
    sweep_window,
)
from kdverify.claims._ties import tie_aware_comparison, worst_size
from kdverify.claims.base import Budget, Claim, Evidence, Instance, Mutant, TrainerCheck
from kdverify.claims.geometry import certified_angle_error
from kdverify.claims.optimisation import not_converged
from kdverify.data.discrete import TIE_CONVENTIONS, Discrete, Ties
from kdverify.data.exact import exact_student
from kdverify.data.isotropic import Isotropic
from kdverify.data.registry import family_spec
from kdverify.measure.expected import exact_expected_risks, exact_isotropic_expected_risks
from kdverify.measure.pi_rational import PiRational
from kdverify.training import UserTrainer
from kdverify.training.limits import linear_limit, nested_limits
from kdverify.training.teacher import Teacher


@st.composite
def nested_problems(draw: st.DrawFn, family: str, *, init: bool = True) -> Instance:
    """A problem ``X`` and a larger set ``X' ⊇ X`` (``span X ⊆ span X'``): ``extension`` holds
    the added points — at least one new draw from the family (its ``seed + 1`` stream), which adds
    a direction to the rank-deficient ``X``, and maybe integer combinations of ``X``'s points."""
    instance = draw(problems(family, init=init, deficient=True))
    points = np.array(instance["points"], dtype=float)
    combos = draw(st.lists(st.lists(st.integers(-2, 2), min_size=len(points), max_size=len(points)), max_size=2))
    added = [np.asarray(c, dtype=float) @ points for c in combos if any(c)]
    fresh = draw(st.integers(1, 3))
    if family == GENERIC:
        dim = points.shape[1]
        new = draw(
            st.lists(
                st.lists(st.integers(-3, 3), min_size=dim, max_size=dim).filter(any), min_size=fresh, max_size=fresh
            )
        )
        scale = np.max(np.abs(points)) / 3.0
        added += [np.asarray(p, dtype=float) * scale for p in new]
    else:
        rng = np.random.default_rng(int(instance["seed"]) + 1)
        added += list(distribution_of(instance).sample(fresh, rng).T)
    return Instance(family, {**instance.values, "extension": [list(map(float, p)) for p in added]})


def _extended(case: Case, instance: Instance) -> Case:
    return case.with_data(np.hstack([case.data, instance.array("extension").T]))


def check_monotone_distance(
    instance: Instance,
    budget: Budget,
    *,
    target_of: Callable[[Teacher], np.ndarray] = lambda t: t.target,
    trainer: UserTrainer | None = None,
) -> Evidence:
    """Trained students on ``X`` and ``X' ⊇ X``: ``‖ŵ_{X'} − w*/T‖ ≤ ‖ŵ_X − w*/T‖`` up to the sum of
    their certified distances (a user's ``trainer``: the distances it promises); from ``w0 = 0``
    also the angles (and ``p`` of the angles). ``target_of`` gives the point the distances are
    measured to (``w*/T``)."""
    small = Case.from_instance(instance)
    large = _extended(small, instance)
    runs = [case.student(budget, trainer) for case in (small, large)]
    if not all(run.converged for run in runs):
        return not_converged("the limit", max(int(run.iterations) for run in runs))
    target = target_of(small.teacher)
    distances = [float(np.linalg.norm(run.w - target)) for run in runs]
    tolerance = sum(float(run.bound) for run in runs)
    details: dict[str, Any] = {"distance_small": distances[0], "distance_large": distances[1]}
    holds = distances[1] <= distances[0] + tolerance
    if instance.get("w0") is None:
        slacks = [certified_angle_error(run.w, float(run.bound)) for run in runs]
        certified = [slack for slack in slacks if slack is not None]
        if len(certified) < len(slacks):
            return not_converged("the limit (angle)", max(int(run.iterations) for run in runs))
        angles = [float(angle(run.w, target)) for run in runs]
        angle_tolerance = float(sum(certified))
        details.update(angle_small=angles[0], angle_large=angles[1], angle_tolerance=angle_tolerance)
        holds = holds and angles[1] <= angles[0] + angle_tolerance
        if instance.family != GENERIC and angles[1] < angles[0] - angle_tolerance:
            p_small, p_large = distribution_of(instance).p(np.array(angles))
            details.update(p_small=float(p_small), p_large=float(p_large))
            holds = holds and p_large <= p_small + numeric_tolerance(distribution_of(instance))
    return Evidence(holds, distances[1], "<=", distances[0], tolerance=tolerance, details=details)


def check_monotone_risk_pointwise(instance: Instance, budget: Budget) -> Evidence:
    """``R(ŵ_{X'}) ≤ R(ŵ_X)`` for the limits from 0: exact on rational discrete families, under
    both tie conventions (:func:`~kdverify.claims._ties.tie_aware_comparison`)."""
    distribution = distribution_of(instance)
    if isinstance(distribution, Discrete) and distribution.is_exact:
        points = instance.rationals("points") + instance.rationals("extension")
        count = len(instance["points"])
        columns = [list(c) for c in zip(*points[:count], strict=False)], [list(c) for c in zip(*points, strict=False)]
        temperature = Fraction(instance["temperature"])
        small, large = (exact_student(data, distribution.exact_w_star, temperature=temperature) for data in columns)
        return tie_aware_comparison(
            lambda ties: (distribution.exact_risk(large, ties=ties), distribution.exact_risk(small, ties=ties))
        )
    case = Case.from_instance(instance)
    students = [linear_limit(c.data, c.teacher) for c in (case, _extended(case, instance))]
    risks = [float(distribution.risk(s)) for s in students]
    tolerance = numeric_tolerance(distribution)
    return Evidence(
        holds=risks[1] <= risks[0] + tolerance,
        lhs=risks[1],
        relation="<=",
        rhs=risks[0],
        tolerance=tolerance,
        details={"students": "closed-form limits P w*/T"},
    )


Risk = Fraction | float
ISOTROPIC_METHOD = "exact: E R_n = E θ/π, cos²θ ~ Beta(n/2, (d−n)/2), a rational function of π"


def check_monotone_risk_expected(instance: Instance, budget: Budget) -> Evidence:
    """``E R_{n+1} ≤ E R_n`` at every size ``n`` of the instance's window (:func:`sweep_sizes`):
    exact on rational discrete families (each size under both tie conventions,
    :func:`~kdverify.claims._ties.tie_aware_comparison`, the worst reported) and on isotropic ones
    (closed forms in ``π``, :func:`~kdverify.measure.expected.exact_isotropic_expected_risks`, the
    worst size reported); elsewhere on coupled
    samples — each trial draws ``n_hi + 1`` points and trains on every nested prefix
    (:func:`~kdverify.training.limits.nested_limits`, one QR for all of them), so each pair
    ``(n, n + 1)`` of the window is compared on nested sets from one sampling — falsified only when
    the lower confidence limit of some ``E[R_{n+1} − R_n]`` is above 0 (α split over the sizes,
    :func:`~kdverify.claims._estimates.paired_difference`)."""
    distribution = distribution_of(instance)
    sizes, temperature = sweep_sizes(instance), instance["temperature"]
    prefixes = [*sizes, sizes[-1] + 1]
    if isinstance(distribution, Discrete) and distribution.is_exact:
        risks = {
            ties: exact_expected_risks(distribution, prefixes, temperature=Fraction(temperature), ties=ties)
            for ties in TIE_CONVENTIONS
        }
        return worst_size({n: tie_aware_comparison(partial(_step, risks, i)) for i, n in enumerate(sizes)})
    if isinstance(distribution, Isotropic):
        closed = exact_isotropic_expected_risks(distribution, prefixes, temperature=temperature)
        return worst_size({n: _closed_form_step(closed[i + 1], closed[i]) for i, n in enumerate(sizes)})
    rng = np.random.default_rng(int(instance["seed"]))
    teacher = distribution.teacher(float(temperature))

    def draw(trials: int) -> tuple[np.ndarray, np.ndarray]:
        data = distribution.sample(prefixes[-1], rng, trials=trials)
        risks = distribution.risk(nested_limits(data, teacher, prefixes))
        return risks[1:], risks[:-1]

    return paired_difference(
        draw, budget, sizes=sizes, students="closed-form limits on nested prefixes X ∪ {x} (compared) and X (reference)"
    )


def _step(risks: dict[Ties, list[Risk]], index: int, ties: Ties) -> tuple[Risk, Risk]:
    """``(E R_{n+1}, E R_n)`` for the ``index``-th size of a sweep, from its risks at every prefix."""
    return risks[ties][index + 1], risks[ties][index]


EXACT_SWEEP_DIMS = st.integers(3, 24)
"""Dimensions of the isotropic examples of ``monotone-risk-expected`` (the registry draws 2–6): its
exact check costs well under a millisecond a size there, so wider dimensions let a window hold up to
:data:`~kdverify.claims._instances.MAX_N` sizes (``n + 1 < d``) at little cost (BENCHMARKS.md §2)."""


def expected_risk_sweeps(family: str) -> st.SearchStrategy[Instance]:
    """Sweep instances of ``monotone-risk-expected``: :func:`sized_families` with one spare size and
    a window of :func:`sweep_window` sizes; on ``isotropic`` with dimensions :data:`EXACT_SWEEP_DIMS`."""
    params = None
    if family == "isotropic":
        params = family_spec(family).parameters.flatmap(
            lambda chosen: EXACT_SWEEP_DIMS.map(lambda dim: {**chosen, "dim": dim})
        )
    return sized_families(family, spare=1, window=sweep_window(family), params=params)


def _closed_form_step(lhs: PiRational, rhs: PiRational) -> Evidence:
    """Exact evidence of ``E R_{n+1} ≤ E R_n`` from closed forms in ``π``: the sides as floats (for
    reports and JSON), the closed forms in ``details["closed_forms"]``; ties have probability 0."""
    return Evidence(
        lhs <= rhs,
        float(lhs),
        "<=",
        float(rhs),
        exact=True,
        details={"method": ISOTROPIC_METHOD, "closed_forms": {"lhs": str(lhs), "rhs": str(rhs)}},
    )


def _reversed_distances(evidence: Evidence) -> Evidence:
    """Mutant of ``monotone-distance``: its distance comparison with the two sides swapped."""
    if evidence.holds is None:
        return evidence
    small, large = evidence.rhs, evidence.lhs
    return replace(evidence, holds=small <= large + evidence.tolerance, lhs=small, rhs=large)


CLAIMS = (
    Claim(
        id="monotone-distance",
        status="theorem",
        statement="span X ⊆ span X' ⇒ ‖ŵ_X' − w*/T‖ ≤ ‖ŵ_X − w*/T‖; from 0 also the angle and p(angle)",
        latex=(
            r"\operatorname{span} X \subseteq \operatorname{span} X' \Rightarrow "
            r"\|\hat w_{X'} - w^*/T\| \le \|\hat w_X - w^*/T\|"
        ),
        source="Phuong & Lampert 2019, strong monotonicity (deterministic reading); THEORY.md §3",
        families=DATA_FAMILIES,
        instances=nested_problems,
        check=check_monotone_distance,
        content=STRICT_EXTENSION,
        trainer_check=TrainerCheck(
            lambda trainer: partial(check_monotone_distance, trainer=trainer),
            instances=lambda family: nested_problems(family, init=False),
        ),
        mutants=(
            Mutant(
                "no-temperature",
                "distances measured to w* instead of w*/T",
                partial(check_monotone_distance, target_of=lambda teacher: teacher.w_star),
            ),
            Mutant(
                "reversed",
                "‖ŵ_X − w*/T‖ ≤ ‖ŵ_X' − w*/T‖: more data moves the student away from w*/T",
                lambda instance, budget: _reversed_distances(check_monotone_distance(instance, budget)),
            ),
        ),
    ),
    Claim(
        id="monotone-risk-pointwise",
        status="open",
        statement="w0 = 0, span X ⊆ span X' ⇒ R(ŵ_X') ≤ R(ŵ_X)",
        latex=r"\operatorname{span} X \subseteq \operatorname{span} X' \Rightarrow R(\hat w_{X'}) \le R(\hat w_X)",
        source="THEORY.md §3 (open)",
        families=(*DISTRIBUTION_FAMILIES, *COSTLY_FAMILIES),
        instances=lambda family: nested_problems(family, init=False),
        check=check_monotone_risk_pointwise,
        content=EXTENSION_WITH_RISK,
    ),
    Claim(
        id="monotone-risk-expected",
        status="open",
        statement="w0 = 0: n ↦ E R_n is non-increasing",
        latex=r"\mathbb E\, R_{n+1} \le \mathbb E\, R_n",
        source="Phuong & Lampert 2019, strong monotonicity (literal reading); THEORY.md §3 (open)",
        families=(*DISTRIBUTION_FAMILIES, *COSTLY_FAMILIES),
        instances=expected_risk_sweeps,
        check=check_monotone_risk_expected,
        content=NEXT_RISK_POSITIVE,
        statistical=True,
    ),
)
