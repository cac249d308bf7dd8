"""Claims about mixed targets ``t_i = ρ s_i + (1 − ρ) y_i`` (THEORY.md §8.2): the theorem
``mixed-targets-limit`` and the open ``soft-ratio-monotone`` and ``imperfect-teacher-mixing-helps``.

Risks are measured against the labeller ``w_y`` (the ground truth; THEORY.md §8.2 makes the
teacher ``w*`` *imperfect* when ``w_y ≠ w*``); for a perfect teacher that is §1's risk.

On discrete data the expected risk is exact: the training multisets of size ``n`` are enumerated
with their multinomial probabilities (with dependent support points the mixed student depends on
the counts, not only on the set of points drawn), each student is certified by
:func:`~kdverify.training.fit_mixed`, and each sign ``sign(ŵᵀa_j)`` is *decided* — by the certificate
(``|ŵᵀa_j| > ‖a_j‖·bound``) or, for a score that is exactly 0 because ``a_j ⟂ span X`` (with
``w_0 = 0``), exactly in rationals; a sign neither can decide leaves the instance undecided.
The expectation is then a sum of Fractions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np
from hypothesis import strategies as st

from kdverify._util.numerics import sigmoid
from kdverify._util.validation import FloatArray
from kdverify.claims._cases import EPS, Case, descent_steps, not_converged, ratio_evidence
from kdverify.claims._content import RISKS_POSITIVE, TWO_POINTS_WITH_RISK, init_off_span
from kdverify.claims._estimates import Undecided, paired_difference
from kdverify.claims._instances import GENERIC, distribution_of, problems, sized_families
from kdverify.claims._ties import tie_aware_comparison
from kdverify.claims.base import Budget, Claim, Content, Evidence, Instance, Mutant
from kdverify.data.discrete import Discrete, Ties
from kdverify.data.exact import column_span, dot, sign
from kdverify.training.limits import linear_limit
from kdverify.training.mixed import fit_mixed, mixed_limit, mixed_logits, mixed_targets
from kdverify.training.teacher import Teacher

RHOS = ("1/4", "1/2", "3/4", "1")
"""The soft-label ratios the claims compare (exact strings, so certificates read them exactly)."""

MIXED_FAMILIES = (GENERIC, "isotropic", "discrete")

Formula = Callable[[FloatArray, FloatArray, FloatArray, Teacher], FloatArray]
"""``(X, u, w0, teacher) ↦`` the claimed limit for consistent target logits ``u``."""


def _formula(data: FloatArray, logits: FloatArray, w0: FloatArray, teacher: Teacher) -> FloatArray:
    """``P⊥w_0 + X(XᵀX)⁺u`` (THEORY.md §8.2)."""
    return mixed_limit(data, logits, w0)


def _labeller(instance: Instance) -> FloatArray | None:
    labeller = instance.get("labeller")
    return None if labeller is None else instance.array("labeller")


def check_mixed_limit(instance: Instance, budget: Budget, *, formula: Formula = _formula) -> Evidence:
    """Literal gradient descent on the mixed targets ends within its certified distance of the
    limit: of ``formula`` (``P⊥w_0 + X(XᵀX)⁺u``) when the logits are consistent — when the certificate
    accepts that closed form as the limit — else of the Newton minimiser in ``w_0 + span X``,
    with both certificates. At ``ρ = 1`` the closed form is also held against §3's ``P w*/T + P⊥w_0``."""
    case = replace(Case.from_instance(instance), step_fraction=1.0)  # fit_mixed steps at 1/L_max
    rho, labeller = float(Fraction(instance["rho"])), _labeller(instance)
    logits = mixed_logits(*mixed_targets(case.data, case.teacher, rho, labeller))
    hopeless = case.hopeless(budget, logits)  # THEORY.md §6: flat logits make GD hopeless in budget
    if hopeless is not None:
        return hopeless
    descent = fit_mixed(
        case.data, case.teacher, rho, case.w0, labeller=labeller, method="gd", newton_iter=0,
        max_iter=descent_steps(budget),
    )
    if not descent.converged:
        return not_converged("gradient descent on mixed targets", int(descent.iterations))
    reference = fit_mixed(case.data, case.teacher, rho, case.w0, labeller=labeller)
    if not reference.converged:
        return not_converged("newton on mixed targets", int(reference.iterations))
    consistent = str(reference.method) == "closed form X(XᵀX)⁺u"
    rounding = case.closed_form_error() + 10 * EPS * max(case.data.shape) * float(np.linalg.norm(logits))
    parts = {}
    if consistent:
        claimed = formula(case.data, logits, case.w0, case.teacher)
        distance = float(np.linalg.norm(descent.w - claimed))
        parts["closed-form"] = (distance, float(descent.bound + reference.bound) + rounding)
        if rho == 1:
            section3 = linear_limit(case.data, case.teacher, case.w0)
            parts["rho=1 is §3"] = (float(np.linalg.norm(claimed - section3)), float(reference.bound) + 2 * rounding)
    else:
        parts["argmin"] = (float(np.linalg.norm(descent.w - reference.w)), float(descent.bound + reference.bound))
    return ratio_evidence(
        parts,
        rho=rho,
        consistent=consistent,
        imperfect=labeller is not None,
        iterations=int(descent.iterations),
    )


# ----------------------------------------------------------------------------------------------
# Exact expected risks on discrete data.


def _multisets(support: int, n: int) -> list[tuple[int, ...]]:
    return list(itertools.combinations_with_replacement(range(support), n))


def _probability(counts: tuple[int, ...], weights: tuple[Fraction, ...], n: int) -> Fraction:
    """Multinomial probability of drawing exactly these counts in ``n`` i.i.d. draws."""
    ways = math.factorial(n)
    value = Fraction(1)
    for j, count in enumerate(counts):
        ways //= math.factorial(count)
        value *= weights[j] ** count
    return ways * value


def exact_expected_mixed_risk(
    distribution: Discrete, n: int, rho: Fraction, *, temperature: float, labeller: Any = None,
    ties: Ties = "error",
) -> Fraction:
    """``E R_n(ŵ_ρ)`` from ``w_0 = 0`` exactly (module docstring), the risk against the labeller
    (the teacher when ``None``); raises :class:`Undecided` when a sign cannot be decided."""
    return _expected_risks(distribution, n, (rho,), temperature=temperature, labeller=labeller)[rho][ties]


def _expected_risks(
    distribution: Discrete, n: int, rhos: tuple[Fraction, ...], *, temperature: float, labeller: Any = None
) -> dict[Fraction, dict[str, Fraction]]:
    """``{ρ: {ties convention: E R_n(ŵ_ρ)}}`` for every ρ, sharing the enumeration."""
    support = distribution.support
    truth = distribution.exact_w_star if labeller is None else tuple(Fraction(x) for x in labeller)
    truth_signs = [sign(dot(truth, a)) for a in support]
    if not all(truth_signs):
        raise ValueError("a support point lies on the labeller's boundary")
    multisets = _multisets(len(support), n)
    points = distribution.points.T  # the support as columns (d, m)
    data = np.stack([points[:, list(chosen)] for chosen in multisets])
    teacher = distribution.teacher(float(temperature))
    lengths = np.linalg.norm(points, axis=0)
    # Exact zeros: with w0 = 0 the student lies in span X, so a_j ⟂ span X scores exactly 0.
    orthogonal = []
    for chosen in multisets:
        span = column_span([list(row) for row in zip(*(support[i] for i in set(chosen)), strict=True)])
        orthogonal.append([not any(span.project(a)) for a in support])
    labeller_array = None if labeller is None else np.array([float(x) for x in truth])
    out: dict[Fraction, dict[str, Fraction]] = {}
    for rho in rhos:
        result = fit_mixed(data, teacher, float(rho), labeller=labeller_array)
        if not np.all(result.converged):
            raise Undecided(f"{int(np.sum(~result.converged))} mixed students not certified")
        scores = np.asarray(result.w) @ points  # (K, m)
        students = np.asarray(result.w)
        slack = lengths[None, :] * np.asarray(result.bound)[:, None] + 4 * EPS * np.abs(students) @ np.abs(points)
        totals = {"error": Fraction(0), "correct": Fraction(0)}
        for k, chosen in enumerate(multisets):
            counts = tuple(chosen.count(j) for j in range(len(support)))
            probability = _probability(counts, distribution.exact_weights, n)
            for j, q in enumerate(distribution.exact_weights):
                if orthogonal[k][j]:
                    totals["error"] += probability * q  # a tie: wrong under §1's convention only
                    continue
                if abs(scores[k, j]) <= slack[k, j]:
                    raise Undecided(f"sign of ŵᵀa_{j} not decided by the certificate ({scores[k, j]:.3g})")
                if np.sign(scores[k, j]) != truth_signs[j]:
                    totals["error"] += probability * q
                    totals["correct"] += probability * q
        out[rho] = totals
    return out


def _argmin(order: tuple[Fraction, ...], values: dict[Fraction, Fraction]) -> Fraction:
    """The first of ``order`` with the smallest value."""
    return min(order, key=values.__getitem__)


def _exact_comparison(instance: Instance, compared: Fraction, reference: tuple[Fraction, ...]) -> Evidence:
    """Exact evidence ``E R_n(ŵ_compared) ≤ min over reference ρ of E R_n(ŵ_ρ)`` under both tie conventions."""
    distribution = distribution_of(instance)
    if not isinstance(distribution, Discrete):
        raise TypeError(f"exact expected risks need a discrete family, not {instance.family!r}")
    n = int(instance["n"])
    try:
        risks = _expected_risks(
            distribution, n, (compared, *reference), temperature=float(instance["temperature"]),
            labeller=instance.get("labeller"),
        )
    except Undecided as reason:
        return Evidence(None, "undecided", "<=", str(reason))
    best = {ties: _argmin(reference, {rho: risks[rho][ties] for rho in reference}) for ties in ("error", "correct")}
    return tie_aware_comparison(
        lambda ties: (risks[compared][ties], risks[best[ties]][ties]),
        details={
            "meaning": f"E R_{n} at ρ = {compared} (lhs) against the best of ρ ∈ {[str(r) for r in reference]} (rhs)",
            "risks": {str(rho): risks[rho]["error"] for rho in risks},
            "best_rho": str(best["error"]),
        },
    )


# ----------------------------------------------------------------------------------------------
# Open claims.


def check_soft_ratio_monotone(instance: Instance, budget: Budget) -> Evidence:
    """Perfect teacher: ``E R_n(ŵ_{ρ_high}) ≤ E R_n(ŵ_{ρ_low})`` for ``ρ_low < ρ_high`` — exact on
    rational discrete data, else on paired training sets (both students trained on each), falsified
    only when the lower confidence limit of the mean difference is above 0."""
    low, high = sorted(Fraction(instance[key]) for key in ("rho", "rho_other"))
    distribution = distribution_of(instance)
    if isinstance(distribution, Discrete) and distribution.is_exact:
        return _exact_comparison(instance, high, (low,))
    n = int(instance["n"])
    rng = np.random.default_rng(int(instance["seed"]))
    teacher = distribution.teacher(float(instance["temperature"]))

    def draw(trials: int) -> tuple[np.ndarray, np.ndarray]:
        data = distribution.sample(n, rng, trials=trials)
        risks = []
        for rho in (high, low):
            result = fit_mixed(data, teacher, float(rho))
            if not np.all(result.converged):
                raise Undecided("a mixed student was not certified")
            risks.append(distribution.risk(np.asarray(result.w)))
        return risks[0], risks[1]

    try:
        return paired_difference(draw, budget, students=f"fit_mixed(auto) at ρ = {high} (compared) and {low}")
    except Undecided as reason:
        return Evidence(None, "undecided", "<=", str(reason))


def check_mixing_witness(instance: Instance, budget: Budget) -> Evidence:
    """The negation of ``imperfect-teacher-mixing-helps`` on one instance: ``E R_n(ŵ_1) ≤ E R_n(ŵ_ρ)``
    for every ``ρ`` of :data:`RHOS` below 1, risks against the labeller, exactly. A violation is a
    witness: some ``ρ < 1`` has strictly lower expected risk than the pure teacher."""
    return _exact_comparison(instance, Fraction(1), tuple(Fraction(r) for r in RHOS[:-1]))


# ----------------------------------------------------------------------------------------------
# Instances and content.


def _rhos() -> st.SearchStrategy[str]:
    return st.sampled_from(RHOS)


def _labellers(instance: Instance) -> st.SearchStrategy[list[int] | None]:
    """A labeller ``w_y`` not parallel to the teacher, with no training or support point on its
    boundary (so its hard labels are defined), or ``None`` (the teacher itself)."""
    points = instance["family_params"]["points"] if instance.family == "discrete" else instance["points"]
    w_star = np.array(instance["w_star"], dtype=float)
    dim = len(w_star)

    def usable(w: list[int]) -> bool:
        parallel = np.linalg.matrix_rank(np.vstack([w_star, w])) < 2
        return not parallel and all(abs(float(np.dot(w, p))) > 1e-9 for p in points)

    return st.lists(st.integers(-2, 2), min_size=dim, max_size=dim).filter(usable)


@st.composite
def mixed_problems(draw: st.DrawFn, family: str) -> Instance:
    """A training problem with an initialisation off the span, a ratio ``rho`` and, half the time,
    an imperfect ``labeller``."""
    instance = draw(problems(family, require_init=True, deficient=True, off_boundary=True, extra={"rho": _rhos()}))
    labeller = draw(st.one_of(st.none(), _labellers(instance)))
    return Instance(family, {**instance.values, "labeller": labeller})


@st.composite
def ratio_pairs(draw: st.DrawFn, family: str) -> Instance:
    """A family, ``n ≥ 2`` and two different ratios ``rho`` and ``rho_other`` (with a perfect
    teacher, one point's mixed targets have the teacher's sign whatever ``ρ``: both students point
    along it, and the comparison cannot fail)."""
    instance = draw(sized_families(family, max_n=4 if family == "discrete" else 12, min_n=2))
    rho = draw(_rhos())
    other = draw(_rhos().filter(lambda value: value != rho))
    return Instance(family, {**instance.values, "rho": rho, "rho_other": other})


@st.composite
def imperfect_teachers(draw: st.DrawFn, family: str) -> Instance:
    """A discrete family, ``n`` and an imperfect labeller."""
    instance = draw(sized_families(family, max_n=4))
    instance = Instance(family, {**instance.values, "w_star": instance["family_params"]["w_star"]})
    return Instance(family, {**instance.values, "labeller": draw(_labellers(instance))})


def _mixing_matters(instance: Instance, evidence: Evidence) -> bool:
    """``ρ < 1`` and ``P⊥w_0 ≠ 0``: hard labels enter the targets, and the initialisation's off-span part is kept."""
    return Fraction(instance["rho"]) < 1 and init_off_span(instance, evidence)


MIXING_MATTERS = Content("ρ < 1, rank X < d and P⊥w0 ≠ 0 (hard labels and the initialisation matter)", _mixing_matters)


def _swapped_soft_hard(data: FloatArray, logits: FloatArray, w0: FloatArray, teacher: Teacher) -> FloatArray:
    """Mutant formula: the soft labels' logits alone (ρ forgotten: the §3 limit for every ρ)."""
    return linear_limit(data, teacher, w0)


def _swapped_weights(data: FloatArray, logits: FloatArray, w0: FloatArray, teacher: Teacher) -> FloatArray:
    """Mutant formula: targets ``(1 − ρ)s + ρy`` instead of ``ρs + (1 − ρ)y``, rebuilt from the
    correct ones as ``s + y − t`` (with the teacher's hard labels), clipped into ``(0, 1)``."""
    targets = sigmoid(logits)
    soft = teacher.soft_labels(data)
    hard = (teacher.logits(data) > 0).astype(float)
    swapped = np.clip(soft + hard - targets, 1e-12, 1 - 1e-12)
    return mixed_limit(data, mixed_logits(swapped, 1 - swapped), w0)


CLAIMS = (
    Claim(
        id="mixed-targets-limit",
        status="theorem",
        statement="GD on t = ρs + (1 − ρ)y converges to P⊥w0 + argmin_span L; = P⊥w0 + X(XᵀX)⁺logit(t) when consistent",
        latex=r"\hat w_\rho = P_\perp w_0 + X (X^\top X)^+ \operatorname{logit}(t)",
        source="THEORY.md §8.2 (after Ji & Zhu 2020); derivation mixed-targets",
        families=MIXED_FAMILIES,
        instances=mixed_problems,
        check=check_mixed_limit,
        literal_descent=True,
        content=MIXING_MATTERS,
        mutants=(
            Mutant(
                "no-off-span-term",
                "the limit X(XᵀX)⁺u, without P⊥w0",
                partial(check_mixed_limit, formula=lambda x, u, w0, teacher: mixed_limit(x, u)),
            ),
            Mutant(
                "soft-labels-only",
                "the limit P w*/T + P⊥w0 of pure distillation whatever ρ",
                partial(check_mixed_limit, formula=_swapped_soft_hard),
            ),
            Mutant(
                "rho-weights-swapped",
                "targets (1 − ρ)s + ρy: the two weights exchanged",
                partial(check_mixed_limit, formula=_swapped_weights),
            ),
        ),
    ),
    Claim(
        id="soft-ratio-monotone",
        status="open",
        statement="perfect teacher, w0 = 0: ρ ↦ E R_n(ŵ_ρ) is non-increasing",
        latex=r"\rho_1 < \rho_2 \Rightarrow \mathbb E\, R_n(\hat w_{\rho_2}) \le \mathbb E\, R_n(\hat w_{\rho_1})",
        source="THEORY.md §8.2 (open)",
        families=("isotropic", "discrete"),
        instances=ratio_pairs,
        check=check_soft_ratio_monotone,
        content=TWO_POINTS_WITH_RISK,
        statistical=True,
    ),
    Claim(
        id="imperfect-teacher-mixing-helps",
        status="open",
        statement="some imperfect teacher (w_y ≠ w*) has a ρ < 1 with E R_n(ŵ_ρ) < E R_n(ŵ_1), risk against w_y",
        latex=r"\exists\, w_y \ne w^*, \rho < 1:\ \mathbb E\, R_n(\hat w_\rho) < \mathbb E\, R_n(\hat w_1)",
        source="THEORY.md §8.2 (open, existence; after Ji & Zhu 2020)",
        families=("discrete",),
        instances=imperfect_teachers,
        check=check_mixing_witness,
        content=RISKS_POSITIVE,
        quantifier="exists",
    ),
)
