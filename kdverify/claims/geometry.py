"""Claims about angles: ``angle-lemma``, ``risk-angle-lemma``, ``distill-best-in-span`` and the
open ``distill-beats-hard-expected`` (THEORY.md §3)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from functools import partial

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from kdverify._util.linalg import SpanProjector
from kdverify._util.numerics import ANGLE_ROUNDING, angle, line_angles
from kdverify.claims._cases import Case, numeric_tolerance
from kdverify.claims._content import STRICT_ANGLE, TILTED_STUDENT, TWO_POINTS_WITH_RISK
from kdverify.claims._estimates import paired_difference
from kdverify.claims._instances import (
    COSTLY_FAMILIES,
    DATA_FAMILIES,
    DISTRIBUTION_FAMILIES,
    distribution_of,
    problems,
    sized_families,
)
from kdverify.claims._ties import tie_aware_comparison
from kdverify.claims.base import Budget, Claim, Evidence, Instance, Mutant, TrainerCheck
from kdverify.claims.optimisation import not_converged
from kdverify.data.discrete import TIE_CONVENTIONS, Discrete, Ties
from kdverify.data.exact import dot, max_margin_on_active_set
from kdverify.data.registry import family_spec
from kdverify.errors import NotConverged
from kdverify.measure.expected import exact_expected_risk
from kdverify.training import UserTrainer, fit_hard_label, hard_label_descent, max_margin
from kdverify.training.limits import linear_limit
from kdverify.training.teacher import Teacher


def certified_angle_error(w: np.ndarray, distance: float) -> float | None:
    """A bound on ``∠(w, ŵ)`` when ``‖w − ŵ‖ ≤ distance``: ``arcsin(distance/‖w‖)``; ``None``
    when the ball reaches the origin (no angle bound)."""
    norm = float(np.linalg.norm(w))
    return None if distance >= norm else math.asin(distance / norm)


def check_angle_lemma(
    instance: Instance,
    budget: Budget,
    *,
    aligned: Callable[[np.ndarray], float] = np.min,
    trainer: UserTrainer | None = None,
) -> Evidence:
    """From ``w0 = 0``: the trained student's angle to ``w*`` is at most ``min_i α(x_i)``
    (``aligned`` of the points' angles), up to the angle its certified distance allows (a user's
    ``trainer``: the distance it promises)."""
    case = Case.from_instance(instance)
    trained = case.student(budget, trainer)
    slack = certified_angle_error(trained.w, float(trained.bound)) if trained.converged else None
    if slack is None:
        return not_converged(str(trained.method), int(trained.iterations))
    student_angle = float(angle(trained.w, case.teacher.w_star))
    best_point = float(aligned(line_angles(case.data, case.teacher.w_star)))
    tolerance = slack + ANGLE_ROUNDING
    return Evidence(
        holds=student_angle <= best_point + tolerance,
        lhs=student_angle,
        relation="<=",
        rhs=best_point,
        tolerance=tolerance,
        details={"method": str(trained.method), "certified_distance": float(trained.bound)},
    )


@st.composite
def students_at_acute_angle(draw: st.DrawFn, family: str) -> Instance:
    """A family and an integer student ``w`` with ``wᵀw* ≥ 0`` (so ``β ≤ π/2``): ``m·g + v``, with ``g``
    the teacher rounded to an integer grid (8 levels), ``m ∈ {1, 2}`` and ``v`` up to three
    small integer nudges, or (``m = 0``) any small integer vector, so that ``β`` is often small
    and ``p(β) < 1`` even in high dimension (a random
    integer vector in ``R^53`` is nearly orthogonal to ``w*``, where ``p(β) = 1`` says nothing)."""
    params = draw(family_spec(family).parameters)
    distribution = distribution_of(Instance(family, {"family_params": params}))
    dim = distribution.dim
    grid = np.round(8 * distribution.w_star / np.max(np.abs(distribution.w_star))).astype(int)
    multiple = draw(st.sampled_from((0, 1, 2)))
    if multiple == 0:  # a student in no relation to the teacher
        w = np.array(draw(st.lists(st.integers(-3, 3), min_size=dim, max_size=dim)))
    else:
        w = multiple * grid
        for index, nudge in draw(st.lists(st.tuples(st.integers(0, dim - 1), st.integers(-3, 3)), max_size=3)):
            w[index] += nudge
    assume(bool(np.any(w)) and float(np.dot(w, distribution.w_star)) >= 0)
    return Instance(family, {"family_params": params, "w": w.tolist()})


def check_risk_angle_lemma(instance: Instance, budget: Budget, *, factor: Fraction = Fraction(1)) -> Evidence:
    """``R(w) ≤ factor·p(∠(w, w*))`` (``factor = 1``: the lemma): exactly (rationals) on discrete
    families, otherwise within the families' stated accuracy, using the upper limit of ``p``."""
    distribution = distribution_of(instance)
    if isinstance(distribution, Discrete):
        w = instance.rationals("w")
        w_star = distribution.exact_w_star
        sin2 = 1 - dot(w, w_star) ** 2 / (dot(w, w) * dot(w_star, w_star))
        exact_risk, exact_bound = distribution.exact_risk(w), factor * distribution.exact_p(sin2)
        return Evidence(
            exact_risk <= exact_bound, exact_risk, "<=", exact_bound, exact=True, details={"sin2_beta": sin2}
        )
    student = instance.array("w")
    beta = float(distribution.student_angle(student))
    risk = float(distribution.risk(student))
    _, upper = distribution.p_bounds(np.array([beta]))
    bound = float(factor) * float(np.asarray(upper).reshape(-1)[0])
    tolerance = numeric_tolerance(distribution)
    return Evidence(
        holds=risk <= bound + tolerance,
        lhs=risk,
        relation="<=",
        rhs=bound,
        tolerance=tolerance,
        details={"beta": beta, "p_exact": distribution.p_is_exact},
    )


ANGLE_CLAIMS = (
    Claim(
        id="angle-lemma",
        status="theorem",
        statement="w0 = 0: ∠(ŵ, w*) ≤ min_i α(x_i)",
        latex=r"\angle(\hat w, w^*) \le \min_i \alpha(x_i)",
        source="Phuong & Lampert 2019, proof of the risk bound; THEORY.md §3",
        families=(*DATA_FAMILIES, *COSTLY_FAMILIES),
        instances=lambda family: problems(family, init=False, min_rank=2, deficient=True),
        check=check_angle_lemma,
        content=STRICT_ANGLE,
        trainer_check=TrainerCheck(lambda trainer: partial(check_angle_lemma, trainer=trainer)),
        mutants=(
            Mutant(
                "half-angle",
                "∠(ŵ, w*) ≤ min_i α(x_i)/2: a bound too tight by a factor 2",
                partial(check_angle_lemma, aligned=lambda angles: float(np.min(angles)) / 2),
            ),
        ),
    ),
    Claim(
        id="risk-angle-lemma",
        status="theorem",
        statement="∠(w, w*) = β ≤ π/2 ⇒ R(w) ≤ p(β)",
        latex=r"\angle(w, w^*) = \beta \le \pi/2 \Rightarrow R(w) \le p(\beta)",
        source="Phuong & Lampert 2019, proof of the risk bound; THEORY.md §3",
        families=DISTRIBUTION_FAMILIES,
        instances=students_at_acute_angle,
        check=check_risk_angle_lemma,
        content=TILTED_STUDENT,
        mutants=(
            Mutant(
                "third-of-p",
                "R(w) ≤ p(β)/3: a bound 3× too tight",
                partial(check_risk_angle_lemma, factor=Fraction(1, 3)),
            ),
        ),
    ),
)


HARD_LABEL_CHECKPOINTS = (10, 100, 1000)


def check_distill_best_in_span(
    instance: Instance,
    budget: Budget,
    *,
    distilled_direction: Callable[[SpanProjector, np.ndarray], np.ndarray] = SpanProjector.project,
) -> Evidence:
    """Hard-label gradient descent from 0 stays in ``span X`` (to rounding), and neither its
    iterates (at a few checkpoints) nor its max-margin limit direction are better aligned with
    ``w*`` than ``P w*``; on isotropic data also ``R(P w*) ≤ R(hard)``."""
    case = Case.from_instance(instance)
    projector = case.projector
    distilled = distilled_direction(projector, case.teacher.w_star)
    if not np.any(distilled):
        return Evidence(None, "P w* = 0", "<=", "angle undefined")
    best = float(angle(distilled, case.teacher.w_star))
    labels = case.teacher.hard_labels(case.data)
    hard = []
    drift = 0.0
    for iterations in HARD_LABEL_CHECKPOINTS:
        run = hard_label_descent(case.data, labels, iterations=iterations)
        drift = max(drift, float(run.off_span_max))
        hard.append(run.w)
    try:
        margin = max_margin(case.data, 2 * labels - 1)
    except NotConverged as reason:  # a margin below what float64 resolves: no verdict
        return Evidence(None, str(reason), "<=", "resolution")
    hard.append(margin.direction)
    hard_angles = [float(angle(w, case.teacher.w_star)) for w in hard]
    # The span drift is rounding of the iterates: each step rounds by a few eps·‖w_k‖·(n + 2).
    tolerance = ANGLE_ROUNDING
    drift_tolerance = (
        4
        * np.finfo(float).eps
        * max(HARD_LABEL_CHECKPOINTS)
        * max(float(np.linalg.norm(w)) for w in hard)
        * (case.data.shape[1] + 2)
    )
    holds = best <= min(hard_angles) + tolerance and drift <= drift_tolerance
    details: dict[str, object] = {
        "hard_angles": dict(zip([*map(str, HARD_LABEL_CHECKPOINTS), "max-margin"], hard_angles, strict=False)),
        "span_drift": drift,
        "span_drift_tolerance": drift_tolerance,
        "max_margin_solver": margin.solver,
    }
    if instance.family == "isotropic":
        risks = [best / np.pi, min(hard_angles) / np.pi]
        details["risks"] = {"distilled": risks[0], "hard": risks[1]}
    return Evidence(holds, best, "<=", min(hard_angles), tolerance=tolerance, details=details)


def hard_students(data: np.ndarray, teacher: Teacher) -> np.ndarray:
    """Max-margin directions (the hard-label student's limit) of each training set of a batch, by
    the batched :func:`~kdverify.training.fit_hard_label` (one NNLS per set, KKT certificates
    checked for the whole batch at once); the teacher's labels always make the set separable."""
    result = fit_hard_label(data, teacher)
    if not np.all(result.converged):
        raise NotConverged(f"{int(np.sum(~np.asarray(result.converged)))} max-margin students not certified")
    return np.asarray(result.w)


# Discrete instances with at most this many ordered training sets are decided by enumerating them.
ENUMERATED = 4096


def enumerated_hard_risk(distribution: Discrete, n: int, *, ties: Ties = "error") -> Fraction | None:
    """``E R_n`` of the max-margin student on a rational discrete distribution, exactly: all
    ``m^n`` ordered training sets with their probabilities, grouped by the set of distinct points
    drawn (a repeated point is a repeated constraint, so the student depends only on that set).
    Each student is the float solver's active set confirmed in rationals
    (:func:`~kdverify.data.exact.max_margin_on_active_set`), so ties (a support point orthogonal to the
    student) are seen exactly, and count as ``ties`` says (:data:`~kdverify.data.discrete.Ties`).
    ``None`` when a guess is refused."""
    probabilities: dict[tuple[int, ...], Fraction] = {}
    for chosen in itertools.product(range(distribution.support_size), repeat=n):
        drawn = tuple(sorted(set(chosen)))
        probability = math.prod((distribution.exact_weights[i] for i in chosen), start=Fraction(1))
        probabilities[drawn] = probabilities.get(drawn, Fraction(0)) + probability
    total = Fraction(0)
    for drawn, probability in probabilities.items():
        labels = [int(distribution.teacher_signs[i]) for i in drawn]
        multipliers = max_margin(distribution.points[list(drawn)].T, labels).multipliers
        # Only a guess: any threshold is safe, since a wrong active set is refused exactly below.
        active = np.flatnonzero(multipliers > 1e-9 * np.max(multipliers))
        w = max_margin_on_active_set([distribution.support[i] for i in drawn], labels, active.tolist())
        if w is None:
            return None
        total += probability * distribution.exact_risk(w, ties=ties)
    return total


def check_distill_beats_hard_expected(instance: Instance, budget: Budget) -> Evidence:
    """``E R_n(distilled) ≤ E R_n(max-margin)``. On small rational discrete families both sides
    are decided without sampling: the distilled side exactly (inclusion–exclusion), the max-margin
    side by enumerating every training set (it depends on the points, not only their span).
    Elsewhere a paired Monte Carlo on the same training sets, falsified only when the lower
    confidence limit of the mean risk difference is above 0."""
    distribution = distribution_of(instance)
    n = int(instance["n"])
    if isinstance(distribution, Discrete) and distribution.is_exact and distribution.support_size**n <= ENUMERATED:
        return _enumerated_comparison(distribution, n, Fraction(instance["temperature"]))
    rng = np.random.default_rng(int(instance["seed"]))
    teacher = distribution.teacher(float(instance["temperature"]))

    def draw(trials: int) -> tuple[np.ndarray, np.ndarray]:
        data = distribution.sample(n, rng, trials=trials)
        return distribution.risk(linear_limit(data, teacher)), distribution.risk(hard_students(data, teacher))

    try:
        return paired_difference(
            draw, budget, students="closed-form distilled limit (compared) vs max-margin direction (reference)"
        )
    except NotConverged as reason:  # a training set whose margin is below rounding
        return Evidence(None, str(reason), "<=", "resolution")


def _enumerated_comparison(distribution: Discrete, n: int, temperature: Fraction) -> Evidence:
    """Both sides exactly, under both tie conventions (:func:`~kdverify.claims._ties.tie_aware_comparison`)."""
    hard: dict[Ties, Fraction] = {}
    for ties in TIE_CONVENTIONS:
        try:
            risk = enumerated_hard_risk(distribution, n, ties=ties)
        except NotConverged as reason:
            return Evidence(None, str(reason), "<=", "resolution")
        if risk is None:
            return Evidence(None, "a max-margin active set could not be confirmed exactly", "<=", "resolution")
        hard[ties] = risk
    distilled = partial(exact_expected_risk, distribution, n, temperature=temperature)
    details = {"method": f"all {distribution.support_size**n} training sets", "hard_students": "max-margin"}
    return tie_aware_comparison(lambda ties: (distilled(ties=ties), hard[ties]), details)


def _halved_hard_angle(evidence: Evidence) -> Evidence:
    """Mutant of ``distill-best-in-span``: the evidence with the hard-label side halved."""
    if evidence.holds is None:
        return evidence
    halved = evidence.rhs / 2
    return replace(evidence, holds=evidence.holds and evidence.lhs <= halved + evidence.tolerance, rhs=halved)


CLAIMS = (
    *ANGLE_CLAIMS,
    Claim(
        id="distill-best-in-span",
        status="theorem",
        statement="w0 = 0: hard-label GD stays in span X and is never better aligned than P w*",
        latex=r"\angle(P w^*, w^*) \le \angle(u, w^*)\;\forall u \in \operatorname{span} X \setminus \{0\}",
        source="THEORY.md §3",
        families=(*DATA_FAMILIES, *COSTLY_FAMILIES),
        instances=lambda family: problems(family, init=False, off_boundary=True, min_rank=2, deficient=True),
        check=check_distill_best_in_span,
        content=STRICT_ANGLE,
        mutants=(
            Mutant(
                "wrong-subspace",
                "the distilled student P⊥w* instead of P w*",
                partial(check_distill_best_in_span, distilled_direction=SpanProjector.complement),
            ),
            Mutant(
                "half-hard-angle",
                "∠(P w*, w*) ≤ ∠(u, w*)/2: distillation claimed to halve the hard-label student's angle",
                lambda instance, budget: _halved_hard_angle(check_distill_best_in_span(instance, budget)),
            ),
        ),
    ),
    Claim(
        id="distill-beats-hard-expected",
        status="open",
        statement="E R_n(distilled) ≤ E R_n(hard-label, max-margin limit)",
        latex=r"\mathbb E\, R_n^{\mathrm{distill}} \le \mathbb E\, R_n^{\mathrm{hard}}",
        source="THEORY.md §3 (open)",
        families=(*DISTRIBUTION_FAMILIES, *COSTLY_FAMILIES),
        instances=lambda family: sized_families(family, min_n=2),
        check=check_distill_beats_hard_expected,
        content=TWO_POINTS_WITH_RISK,
        statistical=True,
    ),
)
