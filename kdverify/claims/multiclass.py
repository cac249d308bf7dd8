"""Claims about multi-class distillation from a softmax teacher (THEORY.md §8.1): the theorem
``multiclass-optimization-bias`` and the open ``multiclass-monotone-risk-expected``.

The derivation (``kdverify derive multiclass-limit``) agrees with §8.1: gradient descent stays in
``W_0 + {D : columns in span X, D1 = 0}`` and converges to ``W_∞ = P W*C/T + P W_011ᵀ/K + P⊥W_0``.
Note what singles it out: *every* ``W`` with ``XᵀW = XᵀW*/T + c1ᵀ`` minimises the loss (for example
``P W*/T + P⊥W_0``, without ``C``); the limit is the minimiser whose rows still sum as ``W_0``'s.

Families. ``generic``: small integer data sets; ``isotropic``/``anisotropic``: points sampled from
those families (their binary ``w*`` unused) with a ``K``-class teacher ``W*`` drawn per instance;
``discrete``: rational support points and weights with an integer teacher, every expectation exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from kdverify._util.linalg import SpanProjector, span_projector
from kdverify._util.validation import FloatArray
from kdverify.claims._cases import EPS, descent_steps, not_converged
from kdverify.claims._estimates import paired_difference
from kdverify.claims._instances import GENERIC
from kdverify.claims._ties import tie_aware_comparison
from kdverify.claims.base import Budget, Claim, Content, Evidence, Instance, Mutant
from kdverify.data.discrete import Ties
from kdverify.data.exact import RationalSpan, dot
from kdverify.data.registry import family_spec
from kdverify.data.strategies import data_sets, step_fractions, temperatures
from kdverify.measure.expected import span_expectation
from kdverify.training import SoftmaxTeacher, fit_softmax, softmax_limit
from kdverify.training.limits import linear_limit
from kdverify.training.softmax import softmax_descent
from kdverify.training.teacher import Teacher

ISOTROPIC, ANISOTROPIC, DISCRETE = "isotropic", "anisotropic", "discrete"
BIAS_FAMILIES = (GENERIC, ISOTROPIC)
RISK_FAMILIES = (ISOTROPIC, ANISOTROPIC, DISCRETE)

LARGEST_LOGIT = 2.0
"""Data are scaled by a power of two so that centred teacher logits stay within ±2 (THEORY.md §6)."""
DESCENT_RTOL = 1e-7
"""Gradient descent stops at a certified ``‖W − W_∞‖ ≤ 1e-7·(1 + ‖W*‖/T + ‖W_0‖)``: far below
the O(1) error of a wrong limit, and reached within the profile's budget."""
TEST_POINTS = 16
"""Fresh test points per training set of a Monte Carlo risk (both students of a pair see the same)."""
OFF_SPAN = 1e-6

SoftmaxLimit = Callable[[FloatArray, SoftmaxTeacher, FloatArray], FloatArray]


def _integer_matrices(rows: int, cols: int, bound: int) -> st.SearchStrategy[list[list[int]]]:
    row = st.lists(st.integers(-bound, bound), min_size=cols, max_size=cols)
    return st.lists(row, min_size=rows, max_size=rows)


def _scaled(data: FloatArray, w_star: FloatArray, temperature: float) -> FloatArray:
    """``data`` divided by a power of two (exact) so that ``max |XᵀW*C|/T ≤`` :data:`LARGEST_LOGIT`."""
    centred = w_star - w_star.mean(axis=1, keepdims=True)
    largest = float(np.max(np.abs(data.T @ centred))) / temperature
    if largest <= LARGEST_LOGIT:
        return data
    return data / 2.0 ** math.ceil(math.log2(largest / LARGEST_LOGIT))


@st.composite
def bias_problems(draw: st.DrawFn, family: str) -> Instance:
    """A rank-deficient training set (generic integers, or ``n < d`` Gaussian points), ``K ∈ [2, 5]``,
    an integer teacher ``W*`` with distinct columns, a nonzero initialisation ``W_0`` (halved
    integers), a temperature and a safe step fraction."""
    classes = draw(st.integers(2, 5))
    extra: dict[str, Any] = {}
    if family == GENERIC:
        data = draw(data_sets(max_dim=4, max_size=4, max_rank=-1, max_condition=10.0)).astype(float)
    else:
        dim = draw(st.integers(3, 6))
        seed = draw(st.integers(0, 2**32 - 1))
        data = np.random.default_rng(seed).standard_normal((dim, draw(st.integers(1, dim - 1))))
        extra = {"seed": seed}
    dim = data.shape[0]
    w_star = np.array(draw(_integer_matrices(dim, classes, 3)), dtype=float)
    w0 = np.array(draw(_integer_matrices(dim, classes, 3)), dtype=float) / 2
    assume(np.any(w_star != w_star[:, :1]) and np.any(w0 != 0))
    temperature = draw(temperatures())
    return Instance(
        family,
        {
            "points": _scaled(data, w_star, temperature).T.tolist(),
            "w_star": w_star.tolist(),
            "temperature": temperature,
            "w0": w0.tolist(),
            "step_fraction": draw(step_fractions()),
            **extra,
        },
    )


def _closed_form_error(data: FloatArray, teacher: SoftmaxTeacher, w0: FloatArray, projector: SpanProjector) -> float:
    """Rounding of the closed form built from an SVD (as :meth:`Case.closed_form_error`, per column):
    ``10·eps·max(d, n)·σ_max/σ_min⁺·(‖W*‖/T + ‖W_0‖)·√K``."""
    condition = float(np.sqrt(projector.largest_eigenvalue / projector.smallest_positive_eigenvalue))
    scale = float(np.linalg.norm(teacher.w_star) / teacher.temperature + np.linalg.norm(w0))
    return 10.0 * EPS * max(data.shape) * condition * scale * math.sqrt(teacher.classes)


def _drift_rounding(data: FloatArray, w: FloatArray, w0: FloatArray, step: float, iterations: int,
                    projector: SpanProjector) -> float:
    """Rounding a run of ``k`` steps can leave in ``P⊥(W − W_0)`` or ``(W − W_0)1``: each update
    ``η X(softmax − S)/n`` (entries of ``softmax − S`` in ``[−1, 1]``) is computed within
    ``γ_{n+K+2}`` of ``(η/n)‖X‖_F√(nK)``, each subtraction within ``eps‖W‖``; the measurement adds
    ``max(d, n, K)·eps·‖W‖`` and the computed projector ``‖P − P̃‖·‖W − W_0‖``. Times 4."""
    dim, n = data.shape
    classes = w.shape[1]
    update = step / n * float(np.linalg.norm(data)) * math.sqrt(n * classes) * (n + classes + 2)
    size = float(max(np.linalg.norm(w), np.linalg.norm(w0)))
    measured = max(dim, n, classes) * size + float(projector.subspace_error) / EPS * float(np.linalg.norm(w - w0))
    return 4.0 * EPS * ((iterations + 1) * (update + size) + measured)


def check_multiclass_bias(
    instance: Instance, budget: Budget, *, limit_formula: SoftmaxLimit = softmax_limit
) -> Evidence:
    """Literal gradient descent on the softmax student: its iterates keep ``P⊥W = P⊥W_0`` and
    ``W1 = W_01`` (within the run's rounding), and it ends within its certified distance (a bound
    that does not use the closed form, :func:`~kdverify.training.softmax.softmax_certificate`) of
    ``limit_formula`` — §8.1's ``P W*C/T + P W_011ᵀ/K + P⊥W_0``. For ``K = 2`` the difference of its
    columns is also held against §3's binary limit for ``w*_1 − w*_2``."""
    data = instance.data()
    teacher = SoftmaxTeacher(instance.array("w_star"), float(instance["temperature"]))
    w0 = instance.array("w0")
    scale = 1.0 + float(np.linalg.norm(teacher.w_star)) / teacher.temperature + float(np.linalg.norm(w0))
    fraction = float(instance.get("step_fraction", 1.0))
    run = softmax_descent(
        data[None], teacher, w0[None], np.array([DESCENT_RTOL * scale]), step_fraction=fraction,
        max_iter=descent_steps(budget),
    )
    iterations = int(run.iterations[0])
    if not run.converged[0]:
        return not_converged("softmax gradient descent", iterations)
    w, bound = run.w[0], float(run.bound[0])
    projector = span_projector(data)
    closed_form = _closed_form_error(data, teacher, w0, projector)
    step = fraction * 2 * data.shape[1] / float(projector.largest_eigenvalue)
    drift = _drift_rounding(data, w, w0, step, iterations, projector)
    limit = limit_formula(data, teacher, w0)
    parts = {
        "limit": (float(np.linalg.norm(w - limit)), bound + closed_form),
        "off-span-drift": (float(run.off_span_max[0]), drift),
        "row-sum-drift": (float(run.row_sum_max[0]), drift * math.sqrt(teacher.classes)),
    }
    difference = teacher.w_star[:, 0] - teacher.w_star[:, 1]
    if teacher.classes == 2 and np.any(difference != 0):
        binary = linear_limit(data, Teacher(difference, teacher.temperature), w0[:, 0] - w0[:, 1])
        parts["binary-limit"] = (float(np.linalg.norm(w[:, 0] - w[:, 1] - binary)), math.sqrt(2) * bound + closed_form)
    ratios = {name: error / tolerance if error else 0.0 for name, (error, tolerance) in parts.items()}
    worst = max(ratios, key=ratios.__getitem__)
    return Evidence(
        holds=ratios[worst] <= 1.0,
        lhs=ratios[worst],
        relation="<=",
        rhs=1.0,
        details={
            "worst": worst,
            **{name: {"error": e, "tolerance": t} for name, (e, t) in parts.items()},
            "iterations": iterations,
            "classes": teacher.classes,
            "rank": int(projector.rank),
        },
    )


def _every_term_matters(instance: Instance, evidence: Evidence) -> bool:
    """``rank X < d``, ``P⊥W_0 ≠ 0``, ``P W_01 ≠ 0`` and ``P W*1 ≠ 0``: dropping any term of the
    limit (or ``C``) moves it."""
    projector = span_projector(instance.data())
    w_star, w0 = instance.array("w_star"), instance.array("w0")
    off = np.linalg.norm(w0 - projector.basis @ (projector.basis.T @ w0))
    mean_init = np.linalg.norm(projector.project(w0.sum(axis=1)))
    mean_teacher = np.linalg.norm(projector.project(w_star.sum(axis=1)))
    size = OFF_SPAN * float(np.linalg.norm(w0) + np.linalg.norm(w_star))
    return bool(int(projector.rank) < projector.basis.shape[0] and min(off, mean_init, mean_teacher) > size)


EVERY_TERM = Content("rank X < d, P⊥W0 ≠ 0, P W0 1 ≠ 0 and P W* 1 ≠ 0 (every term of the limit matters)",
                     _every_term_matters)


# ----------------------------------------------------------------------------------------------
# Risk: R(W) = P_x[argmax_k (Wᵀx)_k ≠ argmax_k (W*ᵀx)_k], a student's tie at the top counted wrong.


def wrong_predictions(students: FloatArray, w_star: FloatArray, points: FloatArray) -> FloatArray:
    """``1[argmax_k (Wᵀx)_k ≠ argmax_k (W*ᵀx)_k]`` per point, a tie for the student's top counted as
    an error (as ``sign(0)`` in §1): ``students`` ``(B, d, K)``, ``points`` ``(B, d, m)`` → ``(B, m)``."""
    scores = np.swapaxes(points, -1, -2) @ students
    labels = np.argmax(np.swapaxes(points, -1, -2) @ w_star, axis=-1)
    top = np.max(scores, axis=-1, keepdims=True)
    winners = scores == top
    right = np.take_along_axis(winners, labels[..., None], axis=-1)[..., 0] & (np.sum(winners, axis=-1) == 1)
    return (~right).astype(np.float64)


def _support(instance: Instance) -> tuple[list[tuple[Fraction, ...]], list[Fraction], list[tuple[Fraction, ...]]]:
    """Support points, weights and the teacher's columns of a discrete instance, exactly."""
    points = [tuple(p) for p in instance.rationals("points")]
    weights = list(instance.rationals("weights"))
    columns = [tuple(column) for column in zip(*instance.rationals("w_star"), strict=True)]
    return points, weights, columns


def _argmax_errors(columns: list[tuple[Fraction, ...]], points: list[tuple[Fraction, ...]],
                   labels: list[int], ties: Ties) -> list[bool]:
    """Which points a student with these columns gets wrong; a tie at the top counts as ``ties`` says."""
    errors = []
    for point, label in zip(points, labels, strict=True):
        scores = [dot(column, point) for column in columns]
        winners = [k for k, score in enumerate(scores) if score == max(scores)]
        errors.append(winners != [label] if ties == "error" else label not in winners)
    return errors


def teacher_labels(columns: list[tuple[Fraction, ...]], points: list[tuple[Fraction, ...]]) -> list[int]:
    """The teacher's class of each support point (its top score is unique there)."""
    labels = []
    for point in points:
        scores = [dot(column, point) for column in columns]
        labels.append(scores.index(max(scores)))
    return labels


def exact_limit_columns(span: RationalSpan, teacher_columns: list[tuple[Fraction, ...]],
                        temperature: Fraction) -> list[tuple[Fraction, ...]]:
    """The columns of ``W_∞ = P W*C/T`` (``W_0 = 0``) exactly."""
    classes = len(teacher_columns)
    mean = [sum(entries, Fraction(0)) / classes for entries in zip(*teacher_columns, strict=True)]
    return [tuple(x / temperature for x in span.project([c - m for c, m in zip(column, mean, strict=True)]))
            for column in teacher_columns]


def exact_expected_risk(instance: Instance, n: int, *, ties: Ties = "error") -> Fraction:
    """``E R(W_∞(X))`` over ``n`` i.i.d. draws of a discrete instance, exactly: ``W_∞`` depends on
    ``X`` only through ``span X`` (:func:`~kdverify.measure.expected.span_expectation`)."""
    points, weights, columns = _support(instance)
    labels = teacher_labels(columns, points)
    temperature = Fraction(instance["temperature"])
    return span_expectation(
        len(points[0]), points, weights, n,
        lambda span: _argmax_errors(exact_limit_columns(span, columns, temperature), points, labels, ties),
    )


@st.composite
def risk_problems(draw: st.DrawFn, family: str) -> Instance:
    """A family, ``K``, a size ``n`` and a seed. Discrete: 2–5 integer support points in ``R^3`` or
    ``R^2`` with rational weights, an integer ``W*`` whose top class is unique on each point, and
    ``n ≤ 4`` (small sets are where one more point changes the span the most).
    Gaussian: the family's parameters (``d ≥ 3``) and ``n + 1 < d``, so neither student is exact."""
    classes = draw(st.integers(2, 4 if family == DISCRETE else 5))
    if family == DISCRETE:
        dim = draw(st.sampled_from((3, 2)))  # in R^2 two points already span the plane
        vector = st.lists(st.integers(-2, 2), min_size=dim, max_size=dim).filter(any)
        points = draw(st.lists(vector, min_size=2, max_size=5, unique_by=tuple))
        counts = draw(st.lists(st.integers(1, 4), min_size=len(points), max_size=len(points)))
        w_star = draw(_integer_matrices(dim, classes, 2))
        scores = np.array(points) @ np.array(w_star)
        assume(bool(np.all(np.sum(scores == scores.max(axis=1, keepdims=True), axis=1) == 1)))
        return Instance(family, {
            "points": points,
            "weights": [str(Fraction(c, sum(counts))) for c in counts],
            "w_star": w_star,
            "temperature": 1,
            "n": draw(st.integers(1, 4)),
        })
    spec = family_spec(family)
    params = draw(spec.parameters.filter(lambda p: spec.from_json(p).dim >= 3))
    dim = spec.from_json(params).dim
    return Instance(family, {
        "family_params": params,
        "classes": classes,
        "n": draw(st.integers(1, dim - 2)),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "temperature": draw(st.sampled_from((1.0, 2.0, 0.5))),
    })


def check_multiclass_monotone(instance: Instance, budget: Budget) -> Evidence:
    """``E R_{n+1} ≤ E R_n`` for the softmax student from ``W_0 = 0``: exact on discrete instances
    (both tie conventions); elsewhere on coupled samples — each trial draws ``n + 1`` points, trains
    on the first ``n`` and on all (:func:`~kdverify.training.fit_softmax`, certified) and scores both
    on the same :data:`TEST_POINTS` fresh points — falsified only when the lower confidence limit of
    ``E[R_{n+1} − R_n]`` is above 0."""
    n = int(instance["n"])
    if instance.family == DISCRETE:
        return tie_aware_comparison(
            lambda ties: (exact_expected_risk(instance, n + 1, ties=ties), exact_expected_risk(instance, n, ties=ties))
        )
    distribution = family_spec(instance.family).from_json(instance["family_params"])
    rng = np.random.default_rng(int(instance["seed"]))
    w_star = rng.standard_normal((distribution.dim, int(instance["classes"])))
    teacher = SoftmaxTeacher(w_star, float(instance["temperature"]))
    uncertified = []

    def students(data: FloatArray) -> FloatArray:
        result = fit_softmax(data, teacher)
        uncertified.append(int(np.sum(~result.converged)))
        return np.asarray(result.w)

    def draw(trials: int) -> tuple[FloatArray, FloatArray]:
        data = distribution.sample(n + 1, rng, trials=trials)
        test = distribution.sample(TEST_POINTS, rng, trials=trials)
        larger, smaller = (wrong_predictions(students(x), w_star, test).mean(axis=-1) for x in (data, data[..., :n]))
        return larger, smaller

    evidence = paired_difference(
        draw, budget, students="fit_softmax(method='auto'): closed form in W0 + span X, certified rtol 1e-9",
        test_points=TEST_POINTS,
    )
    if sum(uncertified):
        return Evidence(None, f"{sum(uncertified)} softmax students not certified", "<=", "budget")
    return evidence


def _a_risk_positive(instance: Instance, evidence: Evidence) -> bool:
    """A compared (expected) risk is above 0."""
    means = evidence.details.get("mean_risks")
    sides = means.values() if means else (evidence.lhs, evidence.rhs)
    return any(float(side) > 0 for side in sides)


A_RISK_POSITIVE = Content("a compared expected risk above 0 (n + 1 < d on Gaussian data)", _a_risk_positive)


def _no_centring(data: FloatArray, teacher: SoftmaxTeacher, w0: FloatArray) -> FloatArray:
    """``P W*/T + P W_011ᵀ/K + P⊥W_0``: a minimiser, but not in ``W_0 + A`` (rows sum wrongly)."""
    shifted = teacher.w_star.mean(axis=1, keepdims=True) / teacher.temperature
    projector = span_projector(data)
    return softmax_limit(data, teacher, w0) + projector.basis @ (projector.basis.T @ np.broadcast_to(
        shifted, teacher.w_star.shape))


def _no_init_mean(data: FloatArray, teacher: SoftmaxTeacher, w0: FloatArray) -> FloatArray:
    """``P W*C/T + P⊥W_0``: the initialisation's in-span row mean forgotten."""
    projector = span_projector(data)
    mean = np.broadcast_to(w0.mean(axis=1, keepdims=True), w0.shape)
    return softmax_limit(data, teacher, w0) - projector.basis @ (projector.basis.T @ mean)


CLAIMS = (
    Claim(
        id="multiclass-optimization-bias",
        status="theorem",
        statement="softmax student: GD (safe step) keeps P⊥W = P⊥W0 and W1 = W0 1 and converges to "
        "P W*C/T + P W0 11ᵀ/K + P⊥W0 (C = I − 11ᵀ/K); for K = 2, w1 − w2 → §3's binary limit",
        latex=r"W_\infty = P W^* C/T + P W_0 \mathbf 1\mathbf 1^\top/K + P_\perp W_0",
        source="THEORY.md §8.1 (derived and confirmed: kdverify derive multiclass-limit)",
        families=BIAS_FAMILIES,
        instances=bias_problems,
        check=check_multiclass_bias,
        literal_descent=True,
        content=EVERY_TERM,
        mutants=(
            Mutant("no-centring", "P W*/T + P W0 11ᵀ/K + P⊥W0: a minimiser, but off W0 + A",
                   partial(check_multiclass_bias, limit_formula=_no_centring)),
            Mutant("no-init-mean", "P W*C/T + P⊥W0: the in-span row mean of W0 forgotten",
                   partial(check_multiclass_bias, limit_formula=_no_init_mean)),
            Mutant("no-temperature", "P W*C + P W0 11ᵀ/K + P⊥W0: the temperature forgotten",
                   partial(check_multiclass_bias, limit_formula=lambda data, teacher, w0: softmax_limit(
                       data, SoftmaxTeacher(teacher.w_star), w0))),
        ),
    ),
    Claim(
        id="multiclass-monotone-risk-expected",
        status="open",
        statement="softmax student, W0 = 0: n ↦ E R_n is non-increasing (R: argmax disagreement)",
        latex=r"\mathbb E\, R_{n+1} \le \mathbb E\, R_n,\quad R(W) = P_x[\arg\max W^\top x \ne \arg\max W^{*\top} x]",
        source="THEORY.md §8.1 (open)",
        families=RISK_FAMILIES,
        instances=risk_problems,
        check=check_multiclass_monotone,
        content=A_RISK_POSITIVE,
        statistical=True,
    ),
)
