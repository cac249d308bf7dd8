"""Hostile input: every public function and every command-line verb meets malformed arguments and
must answer with a kdverify error that names the argument and its rule (or, on the command line,
with that message, exit status 2 and no traceback) — never a NumPy or SciPy exception, a hang, or
a silently wrong value. Each table row is one bad argument; its id says which."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from kdverify._util.jsonio import ensure_writable, read_json, write_json_atomic
from kdverify._util.linalg import span_projector
from kdverify.cli import main
from kdverify.data import (
    AnisotropicGaussian,
    BetaPolarised,
    Digits,
    Discrete,
    GaussianMixture,
    Isotropic,
    Margin,
    RealData,
    exact,
    family_from_params,
    from_params,
)
from kdverify.errors import CertificateError, InvalidArgument, KDVerifyError
from kdverify.measure.bounds import risk_bound
from kdverify.measure.expected import (
    estimate_expected_p_angle,
    estimate_expected_risk,
    exact_expected_p_angle,
    exact_expected_risk,
)
from kdverify.measure.stats import bernoulli_mean, bonferroni, bounded_mean, clopper_pearson
from kdverify.training import (
    balance_defect,
    balanced_init,
    flow_distilled,
    gradient_descent,
    gradient_flow,
    hard_label_descent,
    max_margin,
    newton_refine,
    small_init,
    train_deep,
    train_distilled,
    train_hard_label,
)
from kdverify.training.limits import deep_limit, linear_limit, span_error_bound
from kdverify.training.losses import loss_gradient, loss_hessian, loss_value, student_logits
from kdverify.training.teacher import Teacher

# A small valid problem every case perturbs: 3-D data, two points, the limit is known exactly.
X = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
Z = np.array([0.5, -1.0])
TEACHER = Teacher([1.0, -1.0, 0.5])
LAYERS = [np.full((2, 3), 0.1), np.full((1, 2), 0.1)]
ISOTROPIC = Isotropic(3)
BETA = BetaPolarised(3, 1.0, 2.0)
DISCRETE = Discrete([[1, 1], [2, -1]], ["1/3", "2/3"], w_star=[1, 0])
RNG = np.random.default_rng(0)

Case = tuple[str, Callable[[], object], str]


def _with(array: np.ndarray, index: tuple[int, ...], value: float) -> np.ndarray:
    copy = array.astype(float)
    copy[index] = value
    return copy


# Malformed data sets, each passed where a (d, n) array of points is expected.
BAD_DATA = [
    ("string", "abc", "not a numeric array"),
    ("strings-of-numbers", [["1", "0"], ["0", "2"], ["0", "0"]], "not a numeric array"),
    ("object-with-None", np.array([[1.0, None], [0.0, 2.0], [0.0, 0.0]], dtype=object), "None"),
    ("complex", X + 1j, "complex"),
    ("nan", _with(X, (0, 1), np.nan), "non-finite entry nan"),
    ("inf", _with(X, (1, 0), -np.inf), "non-finite entry -inf"),
    ("no-points", np.ones((3, 0)), "empty|n >= 1"),
    ("vector", np.ones(3), "shape"),
    ("ragged", [[1.0, 0.0], [0.0], [0.0, 0.0]], "not a numeric array"),
    ("wrong-dimension", np.eye(2), "shape"),
]

DATA_CONSUMERS: dict[str, Callable[[object], object]] = {
    "Teacher.logits": TEACHER.logits,
    "Teacher.hard_labels": TEACHER.hard_labels,
    "span_projector": span_projector,
    "linear_limit": lambda data: linear_limit(data, TEACHER),
    "span_error_bound": lambda data: span_error_bound(np.zeros(3), data, Z),
    "loss_value": lambda data: loss_value(np.zeros(3), data, [0.5, 0.5]),
    "loss_gradient": lambda data: loss_gradient(np.zeros(3), data, [0.5, 0.5]),
    "loss_hessian": lambda data: loss_hessian(np.zeros(3), data),
    "student_logits": lambda data: student_logits(np.zeros(3), data),
    "gradient_descent": lambda data: gradient_descent(data, Z),
    "gradient_flow": lambda data: gradient_flow(data, Z),
    "newton_refine": lambda data: newton_refine(data, Z, np.zeros(3)),
    "train_deep": lambda data: train_deep(data, Z, LAYERS),
    "hard_label_descent": lambda data: hard_label_descent(data, [1, 0], iterations=3),
    "max_margin": lambda data: max_margin(data, [1, -1]),
}

# Two-dimensional data are wrong only next to an argument of dimension 3 (the teacher, w, w0 or
# the first layer); the consumers without one accept them.
DIMENSION_FREE = ("span_projector", "max_margin", "gradient_descent", "gradient_flow", "hard_label_descent")
DATA_CASES = [
    (f"{consumer}-{bad}", consumer, value, fragment)
    for consumer in DATA_CONSUMERS
    for bad, value, fragment in BAD_DATA
    if not (bad == "wrong-dimension" and consumer in DIMENSION_FREE)
]


@pytest.mark.parametrize(("consumer", "value", "fragment"), [c[1:] for c in DATA_CASES], ids=[c[0] for c in DATA_CASES])
def test_malformed_data_is_rejected(consumer: str, value: object, fragment: str) -> None:
    """Every function that takes data names the bad data set (or its problem) in its error."""
    with pytest.raises(InvalidArgument, match=fragment):
        DATA_CONSUMERS[consumer](value)


def _core_cases() -> list[Case]:
    """Teacher, losses, projector, limits, statistics and the risk bound."""
    projector = span_projector(X)
    return [
        ("Teacher-w_star-string", lambda: Teacher("abc"), "w_star='abc'"),
        ("Teacher-w_star-complex", lambda: Teacher([1 + 1j, 2.0]), "complex"),
        ("Teacher-w_star-None", lambda: Teacher(np.array([1.0, None], dtype=object)), "w_star has the entry None"),
        ("Teacher-w_star-nan", lambda: Teacher([np.nan, 1.0]), "w_star has a non-finite"),
        ("Teacher-w_star-matrix", lambda: Teacher([[1.0, 2.0]]), "w_star has shape"),
        ("Teacher-w_star-scalar", lambda: Teacher(3.0), "w_star has shape"),
        ("Teacher-w_star-empty", lambda: Teacher([]), "w_star is empty"),
        ("Teacher-w_star-zero", lambda: Teacher([0.0, 0.0]), "w_star is the zero vector"),
        ("Teacher-temperature-zero", lambda: Teacher([1.0], temperature=0), "temperature=0 must be"),
        ("Teacher-temperature-bool", lambda: Teacher([1.0], temperature=True), "temperature=True is not a number"),
        ("Teacher-temperature-string", lambda: Teacher([1.0], temperature="hot"), "temperature='hot'"),
        ("Teacher-temperature-complex", lambda: Teacher([1.0], temperature=1j), "temperature=1j"),
        ("Teacher-temperature-nan", lambda: Teacher([1.0], temperature=float("nan")), "temperature=nan"),
        ("Teacher-temperature-overflows-w*/T", lambda: Teacher([1.0], temperature=1e-320), "temperature=1e-320"),
        ("Teacher-logits-overflow", lambda: Teacher([1e300, 1.0]).logits([[1e10], [0.0]]), "overflows"),
        ("Teacher-hard-label-on-boundary", lambda: TEACHER.hard_labels([[1.0], [1.0], [0.0]]), "boundary"),
        ("loss-w-wrong-length", lambda: loss_value(np.ones(2), X, [0.5, 0.5]), "w has shape"),
        ("loss-w-string", lambda: loss_gradient("abc", X, [0.5, 0.5]), "w='abc'"),
        ("loss-w-complex", lambda: loss_hessian(np.ones(3) * 1j, X), "complex"),
        ("loss-targets-wrong-length", lambda: loss_value(np.ones(3), X, np.ones(5)), "targets has shape"),
        ("loss-targets-nan", lambda: loss_gradient(np.ones(3), X, [np.nan, 0.5]), "targets has a non-finite"),
        ("loss-batches-do-not-broadcast", lambda: loss_value(np.ones((4, 3)), np.stack([X] * 3), [0.5, 0.5]),
         "do not broadcast"),
        ("projector-rtol-negative", lambda: span_projector(X, rtol=-1.0), "rtol=-1.0"),
        ("projector-rtol-one", lambda: span_projector(X, rtol=1.0), r"rtol=1.0 must lie in \(0, 1\)"),
        ("projector-project-wrong-length", lambda: projector.project(np.ones(2)), "v has shape"),
        ("projector-complement-string", lambda: projector.complement("ab"), "v='ab'"),
        ("linear_limit-teacher-not-Teacher", lambda: linear_limit(X, "teacher"), "teacher='teacher'"),
        ("linear_limit-w0-wrong-length", lambda: linear_limit(X, TEACHER, np.ones(2)), "w0 has shape"),
        ("linear_limit-w0-nan", lambda: linear_limit(X, TEACHER, [np.nan, 0.0, 0.0]), "w0 has a non-finite"),
        ("linear_limit-w0-batch-mismatch", lambda: linear_limit(X, TEACHER, np.ones((4, 3))), "w0 has shape"),
        ("deep_limit-first-layer-columns", lambda: deep_limit(X, TEACHER, np.ones((2, 2)), np.ones(2)),
         "first_layer_init"),
        ("deep_limit-upper-length", lambda: deep_limit(X, TEACHER, np.ones((2, 3)), np.ones(3)), "upper_product"),
        ("span_error_bound-w-wrong-length", lambda: span_error_bound(np.ones(2), X, Z), "w has shape"),
        ("span_error_bound-logits-wrong-length", lambda: span_error_bound(np.ones(3), X, np.ones(5)),
         "target_logits"),
        ("span_error_bound-logits-inf", lambda: span_error_bound(np.ones(3), X, [np.inf, 0.0]), "target_logits"),
        ("clopper_pearson-negative", lambda: clopper_pearson(-1, 10), "successes=-1"),
        ("clopper_pearson-float-count", lambda: clopper_pearson(1.5, 10), "successes=1.5"),
        ("clopper_pearson-more-than-trials", lambda: clopper_pearson(11, 10), "successes=11 cannot exceed"),
        ("clopper_pearson-no-trials", lambda: clopper_pearson(0, 0), "trials=0"),
        ("clopper_pearson-confidence-one", lambda: clopper_pearson(1, 10, confidence=1.0), "confidence=1.0"),
        ("clopper_pearson-confidence-nan", lambda: clopper_pearson(1, 10, confidence=float("nan")), "confidence=nan"),
        ("clopper_pearson-confidence-string", lambda: clopper_pearson(1, 10, confidence="x"), "confidence='x'"),
        ("bernoulli_mean-not-binary", lambda: bernoulli_mean([0, 2]), "outcomes must be 0 or 1, not 2.0"),
        ("bernoulli_mean-empty", lambda: bernoulli_mean([]), "outcomes is empty"),
        ("bernoulli_mean-matrix", lambda: bernoulli_mean([[0, 1]]), "outcomes has shape"),
        ("bounded_mean-above-one", lambda: bounded_mean([0.5, 1.5], rng=RNG), "values must lie in"),
        ("bounded_mean-nan", lambda: bounded_mean([0.5, np.nan], rng=RNG), "values has a non-finite"),
        ("bounded_mean-rng-None", lambda: bounded_mean([0.5], rng=None), "rng=None is not a numpy"),
        ("bounded_mean-rng-seed", lambda: bounded_mean([0.5], rng=3), "rng=3"),
        ("bonferroni-delta-zero", lambda: bonferroni(0, 3), "delta=0"),
        ("bonferroni-tests-float", lambda: bonferroni(0.1, 2.0), "tests=2.0"),
        ("risk_bound-p-not-callable", lambda: risk_bound(3, 2), "p=3 must be"),
        ("risk_bound-p-nan", lambda: risk_bound(lambda t: np.full_like(t, np.nan), 2), "p\\(θ=0.0\\) = nan"),
        ("risk_bound-p-above-one", lambda: risk_bound(lambda t: 2 + 0 * t, 2), "takes values in"),
        ("risk_bound-p-not-vectorised", lambda: risk_bound(lambda t: 0.5, 2), "vectorised"),
        ("risk_bound-n-zero", lambda: risk_bound(np.sin, 0), "n=0"),
        ("risk_bound-n-float", lambda: risk_bound(np.sin, 2.5), "n=2.5"),
        ("risk_bound-n-bool", lambda: risk_bound(np.sin, True), "n=True"),
        ("risk_bound-breakpoint-nan", lambda: risk_bound(np.sin, 2, breakpoints=[np.nan]), "breakpoints"),
        ("risk_bound-breakpoint-out-of-range", lambda: risk_bound(np.sin, 2, breakpoints=[5.0]), "breakpoints"),
        ("risk_bound-breakpoints-string", lambda: risk_bound(np.sin, 2, breakpoints="ab"), "breakpoints"),
        ("risk_bound-grid-one-point", lambda: risk_bound(np.sin, 2, grid_size=1), "grid_size=1"),
        # A 10^9-point grid would allocate 8 GB per evaluation; it is refused, not attempted.
        ("risk_bound-grid-huge", lambda: risk_bound(np.sin, 2, grid_size=10**9), "grid_size=1000000000"),
        ("risk_bound-zooms-negative", lambda: risk_bound(np.sin, 2, zooms=-1), "zooms=-1"),
    ]


def _family_cases() -> list[Case]:
    """Every family constructor and method."""
    return [
        ("Isotropic-dim-one", lambda: Isotropic(1), "dim=1"),
        ("Isotropic-dim-string", lambda: Isotropic("3"), "dim='3'"),
        ("Isotropic-dim-float", lambda: Isotropic(3.0), "dim=3.0"),
        ("Isotropic-dim-huge", lambda: Isotropic(10**9), "dim=1000000000"),
        ("Isotropic-radius", lambda: Isotropic(3, radius="cube"), "radius='cube'"),
        ("Isotropic-scale-zero", lambda: Isotropic(3, scale=0), "scale=0"),
        ("Isotropic-scale-string", lambda: Isotropic(3, scale="big"), "scale='big'"),
        ("Isotropic-w_star-length", lambda: Isotropic(3, w_star=[1.0, 2.0]), "w_star has length 2"),
        ("Isotropic-w_star-zero", lambda: Isotropic(3, w_star=[0.0, 0.0, 0.0]), "w_star is the zero vector"),
        ("Isotropic-w_star-subnormal", lambda: Isotropic(3, w_star=[1e-320, 0.0, 0.0]), "scale=1.0"),
        ("Isotropic-p-negative", lambda: ISOTROPIC.p(-0.1), "theta=-0.1 must lie in"),
        ("Isotropic-p-above-half-pi", lambda: ISOTROPIC.p(2.0), "must lie in \\[0, π/2\\]"),
        ("Isotropic-p-nan", lambda: ISOTROPIC.p(np.nan), "theta has a non-finite"),
        ("Isotropic-p-string", lambda: ISOTROPIC.p("a"), "theta='a'"),
        ("Isotropic-p-complex", lambda: ISOTROPIC.p(0.1 + 1j), "complex"),
        ("Isotropic-p-empty", lambda: ISOTROPIC.p([]), "theta is empty"),
        ("Isotropic-mass-near-teacher-range", lambda: ISOTROPIC.mass_near_teacher(3.0), "theta="),
        ("Isotropic-sample-n-zero", lambda: ISOTROPIC.sample(0, RNG), "n=0"),
        ("Isotropic-sample-n-float", lambda: ISOTROPIC.sample(2.0, RNG), "n=2.0"),
        # 3·10^12 coordinates would need 24 TB; the sampler refuses instead of raising MemoryError.
        ("Isotropic-sample-n-huge", lambda: ISOTROPIC.sample(10**12, RNG), "coordinates"),
        ("Isotropic-sample-trials-zero", lambda: ISOTROPIC.sample(2, RNG, trials=0), "trials=0"),
        ("Isotropic-sample-rng-None", lambda: ISOTROPIC.sample(2, None), "rng=None"),
        ("Isotropic-sample-rng-seed", lambda: ISOTROPIC.sample(2, 3), "rng=3"),
        ("Isotropic-risk-wrong-dimension", lambda: ISOTROPIC.risk([1.0, 2.0]), "w has shape"),
        ("Isotropic-risk-nan", lambda: ISOTROPIC.risk([np.nan, 1.0, 1.0]), "w has a non-finite"),
        ("Isotropic-risk-string", lambda: ISOTROPIC.risk("abc"), "w='abc'"),
        ("Isotropic-student_angle-complex", lambda: ISOTROPIC.student_angle([1j, 0.0, 0.0]), "complex"),
        ("BetaPolarised-a-zero", lambda: BetaPolarised(3, 0, 1), "a=0"),
        ("BetaPolarised-b-inf", lambda: BetaPolarised(3, 1, float("inf")), "b=inf"),
        ("BetaPolarised-a-string", lambda: BetaPolarised(3, "a", 1), "a='a'"),
        ("BetaPolarised-dim-one", lambda: BetaPolarised(1, 1, 1), "dim=1"),
        ("BetaPolarised-risk_at_angle-range", lambda: BETA.risk_at_angle(4.0), "beta=4.0"),
        ("BetaPolarised-risk_at_angle-string", lambda: BETA.risk_at_angle("x"), "beta='x'"),
        ("Margin-negative", lambda: Margin(3, -0.1), "margin=-0.1"),
        ("Margin-half-pi", lambda: Margin(3, np.pi / 2), "margin=1.57"),
        ("Margin-nan", lambda: Margin(3, float("nan")), "margin=nan"),
        ("Anisotropic-not-symmetric", lambda: AnisotropicGaussian([[1, 2], [0, 1]], w_star=[1, 0]), "not symmetric"),
        ("Anisotropic-not-positive-definite", lambda: AnisotropicGaussian([[1, 0], [0, -1]], w_star=[1, 0]),
         "not positive definite"),
        ("Anisotropic-singular", lambda: AnisotropicGaussian([[1, 0], [0, 0]], w_star=[1, 0]), "not positive definite"),
        ("Anisotropic-wrong-shape", lambda: AnisotropicGaussian(np.ones((2, 3)), w_star=[1, 0]), "cov has shape"),
        ("Anisotropic-nan", lambda: AnisotropicGaussian([[1, np.nan], [np.nan, 1]], w_star=[1, 0]), "cov has a non"),
        ("Anisotropic-complex", lambda: AnisotropicGaussian([[1, 1j], [-1j, 1]], w_star=[1, 0]), "complex"),
        ("Anisotropic-dim-one", lambda: AnisotropicGaussian([[1.0]], w_star=[1]), "d >= 2"),
        ("Mixture-weights-sum", lambda: GaussianMixture([[0, 1], [0, -1]], [np.eye(2)] * 2, [0.5, 0.6], w_star=[1, 0]),
         "weights sum to"),
        ("Mixture-weights-negative", lambda: GaussianMixture([[0, 1], [0, -1]], [np.eye(2)] * 2, [1.5, -0.5],
                                                             w_star=[1, 0]), "must all be > 0"),
        ("Mixture-component-counts", lambda: GaussianMixture([[0, 1]], [np.eye(2)] * 2, [0.5, 0.5], w_star=[1, 0]),
         "components"),
        ("Mixture-means-dimension", lambda: GaussianMixture([[0, 1, 2]], [np.eye(2)], [1.0], w_star=[1, 0]), "means"),
        ("Mixture-covariance-underflows", lambda: GaussianMixture([[0, 1]], [1e-400 * np.eye(2)], [1.0],
                                                                  w_star=[1, 0]), "positive definite"),
        ("Discrete-weights-sum", lambda: Discrete([[1], [2]], ["1/3", "1/3"], w_star=[1]), "weights sum to 2/3"),
        ("Discrete-weight-zero", lambda: Discrete([[1], [2]], ["1", "0"], w_star=[1]), r"weights\[1\]"),
        ("Discrete-weight-count", lambda: Discrete([[1], [2]], ["1"], w_star=[1]), "weights has 1 entries"),
        ("Discrete-point-on-boundary", lambda: Discrete([[1, 0], [0, 1]], ["1/2", "1/2"], w_star=[1, 0]),
         r"points\[1\] lies on the teacher's boundary"),
        ("Discrete-w_star-zero", lambda: Discrete([[1], [2]], ["1/2", "1/2"], w_star=[0]), "w_star is the zero"),
        ("Discrete-w_star-length", lambda: Discrete([[1], [2]], ["1/2", "1/2"], w_star=[1, 0]), "w_star has length 2"),
        ("Discrete-point-string", lambda: Discrete([["a"], [2]], ["1/2", "1/2"], w_star=[1]), r"points\[0, 0\]='a'"),
        ("Discrete-point-nan", lambda: Discrete([[np.nan], [2]], ["1/2", "1/2"], w_star=[1]), "not finite"),
        ("Discrete-point-complex", lambda: Discrete([[1j], [2]], ["1/2", "1/2"], w_star=[1]), r"points\[0, 0\]=1j"),
        ("Discrete-point-bool", lambda: Discrete([[True], [2]], ["1/2", "1/2"], w_star=[1]), "boolean"),
        ("Discrete-point-None", lambda: Discrete([[None], [2]], ["1/2", "1/2"], w_star=[1]), r"points\[0, 0\]=None"),
        ("Discrete-points-vector", lambda: Discrete([1, 2], ["1/2", "1/2"], w_star=[1]), "points has shape"),
        ("Discrete-points-ragged", lambda: Discrete([[1, 2], [1]], ["1/2", "1/2"], w_star=[1, 1]), "points has shape"),
        ("Discrete-weight-division-by-zero", lambda: Discrete([[1], [2]], ["1/0", "1"], w_star=[1]), r"weights\[0\]"),
        # Exact rationals are fine, but the float mirror the solvers train on must exist.
        ("Discrete-point-beyond-float", lambda: Discrete([[10**400], [-1]], ["1/2", "1/2"], w_star=[1]), "float64"),
        ("Discrete-point-below-float", lambda: Discrete([[Fraction(1, 10**400)], [-1]], ["1/2", "1/2"], w_star=[1]),
         "rounds to zero"),
        ("Discrete-exact_risk-string", lambda: DISCRETE.exact_risk("ab"), "w has length 1"),
        ("Discrete-exact_p-range", lambda: DISCRETE.exact_p(2), "sin2_theta=2"),
        ("Discrete-sample-rng", lambda: DISCRETE.sample(2, "seed"), "rng='seed'"),
        ("RealData-three-classes", lambda: RealData(np.ones((3, 2)), [0, 1, 2]), "labels"),
        ("RealData-nan-feature", lambda: RealData([[np.nan, 1], [1, 2]], [0, 1]), "features has a non-finite"),
        ("RealData-C-zero", lambda: RealData([[0.0, 1], [1, 2], [2, 0]], [0, 1, 0], C=0), "C=0"),
        ("RealData-constant-features", lambda: RealData(np.ones((3, 2)), [0, 1, 0]), "no column that varies"),
        ("Digits-same-pair", lambda: Digits((1, 1)), "pair=\\(1, 1\\)"),
        ("Digits-pair-int", lambda: Digits(5), "pair=5"),
        ("from_params-unknown-family", lambda: from_params("nope"), "unknown family 'nope'"),
        ("from_params-unknown-parameter", lambda: from_params("isotropic", foo=1), "unknown parameter"),
        ("family_from_params-unreadable", lambda: family_from_params("isotropic", {"dim": "x"}), "dim='x'"),
        ("family_from_params-dim-huge", lambda: family_from_params("isotropic", {"dim": "100000000"}), "dim="),
        ("family_from_params-condition-zero", lambda: family_from_params("anisotropic", {"condition": "0"}),
         "condition=0.0"),
        ("family_from_params-ragged-points", lambda: family_from_params("discrete", {"points": "1,2;3"}), "points="),
        ("family_from_params-weights-nan", lambda: family_from_params("discrete", {"weights": "nan,1"}), "weights="),
        ("family_from_params-mixture-weight-one", lambda: family_from_params("mixture", {"weight": "1"}), "weight=1.0"),
        ("family_from_params-mixture-separation-inf", lambda: family_from_params("mixture", {"separation": "inf"}),
         "separation=inf"),
        ("family_from_params-mixture-tilt-nan", lambda: family_from_params("mixture", {"tilt": "nan"}), "tilt=nan"),
        ("family_from_params-bias", lambda: family_from_params("digits", {"bias": "maybe"}), "bias='maybe'"),
    ]


def _solver_and_expectation_cases() -> list[Case]:
    """Solvers, exact arithmetic and expected risks."""
    return [
        ("gd-target_logits-wrong-length", lambda: gradient_descent(X, np.ones(3)), "target_logits has shape"),
        ("gd-target_logits-nan", lambda: gradient_descent(X, [np.nan, 1.0]), "target_logits has a non-finite"),
        ("gd-target_logits-not-interpolable", lambda: gradient_descent([[1.0, 1.0]], [1.0, 2.0]), "not Xᵀv"),
        ("gd-data-all-zero", lambda: gradient_descent(np.zeros((3, 2)), Z), "only zero columns"),
        ("gd-w0-wrong-length", lambda: gradient_descent(X, Z, np.ones(2)), "w0 has shape"),
        ("gd-step-zero", lambda: gradient_descent(X, Z, step=0), "step=0.0 is unsafe"),
        # A step beyond 2/L_max diverges; it is refused before any iteration.
        ("gd-step-divergent", lambda: gradient_descent(X, Z, step=100.0), "step=100.0 is unsafe"),
        ("gd-step-nan", lambda: gradient_descent(X, Z, step=np.nan), "step=nan is unsafe"),
        ("gd-step-string", lambda: gradient_descent(X, Z, step="big"), "step='big'"),
        ("gd-step-per-problem-mismatch", lambda: gradient_descent(X, Z, step=[1.0, 2.0]), "step has shape"),
        ("gd-tol-zero", lambda: gradient_descent(X, Z, tol=0), "tol=0"),
        ("gd-tol-string", lambda: gradient_descent(X, Z, tol="x"), "tol='x'"),
        ("gd-rtol-zero", lambda: gradient_descent(X, Z, rtol=0), "rtol=0"),
        ("gd-max_iter-negative", lambda: gradient_descent(X, Z, max_iter=-1), "max_iter=-1"),
        ("gd-max_iter-float", lambda: gradient_descent(X, Z, max_iter=1.5), "max_iter=1.5"),
        ("gd-check_every-zero", lambda: gradient_descent(X, Z, check_every=0), "check_every=0"),
        ("train_distilled-teacher", lambda: train_distilled(X, "t"), "teacher='t'"),
        ("flow-method", lambda: gradient_flow(X, Z, method="Euler"), "method='Euler'"),
        ("flow-batch", lambda: gradient_flow(np.stack([X, X]), Z), "one \\(d, n\\) problem"),
        ("flow-max_time-zero", lambda: gradient_flow(X, Z, max_time=0), "max_time=0"),
        ("flow-ode_rtol-negative", lambda: gradient_flow(X, Z, ode_rtol=-1), "ode_rtol=-1"),
        ("flow_distilled-teacher", lambda: flow_distilled(X, None), "teacher=None"),
        ("newton-w-wrong-length", lambda: newton_refine(X, Z, np.ones(2)), "w has shape"),
        ("newton-w-string", lambda: newton_refine(X, Z, "abc"), "w='abc'"),
        ("newton-w-nan", lambda: newton_refine(X, Z, [np.nan, 0.0, 0.0]), "w has a non-finite"),
        ("newton-target_logits-not-interpolable", lambda: newton_refine([[1.0, 1.0]], [1.0, 2.0], [0.0]), "not Xᵀv"),
        ("deep-layers-None", lambda: train_deep(X, Z, None), "layers must be a sequence"),
        ("deep-layers-string", lambda: train_deep(X, Z, "ab"), "layers must be a sequence"),
        ("deep-layers-mismatch", lambda: train_deep(X, Z, [np.ones((2, 3)), np.ones((1, 3))]), r"layers\[1\]"),
        ("deep-step-divergent", lambda: train_deep(X, Z, LAYERS, step=1e6), "step=1000000.0 is unsafe"),
        ("small_init-rng-None", lambda: small_init(3, [2], scale=1.0, rng=None), "rng=None"),
        ("small_init-widths-int", lambda: small_init(3, 2, scale=1.0, rng=RNG), "widths=2"),
        ("balanced_init-dim-zero", lambda: balanced_init(0, [2], scale=1.0, rng=RNG), "dim=0"),
        ("balance_defect-empty", lambda: balance_defect([]), "layers must be a sequence"),
        ("hard-labels-not-binary", lambda: hard_label_descent(X, [0, 2], iterations=5), "labels"),
        ("hard-iterations-negative", lambda: hard_label_descent(X, [0, 1], iterations=-1), "max_iter=-1"),
        ("hard-teacher-boundary-point", lambda: train_hard_label(np.eye(2), Teacher([1.0, 0.0]), iterations=5),
         "boundary"),
        ("max_margin-labels-zero-one", lambda: max_margin(X, [0, 1]), "labels"),
        ("max_margin-labels-length", lambda: max_margin(X, [1, 1, 1]), "labels"),
        ("max_margin-batch", lambda: max_margin(np.ones((2, 2, 2)), [1, 1]), "data has shape"),
        ("max_margin-opposite-labels", lambda: max_margin([[1.0, 1.0]], [1, -1]), "not linearly separable"),
        ("max_margin-not-separable", lambda: max_margin([[1.0, -1.0, 1.0], [0.0, 0.0, 1.0]], [1, 1, -1]),
         "not linearly separable"),
        ("max_margin-zero-point", lambda: max_margin([[1.0, 0.0], [0.0, 0.0]], [1, 1]), "not linearly separable"),
        ("exact-to_fraction-inf", lambda: exact.to_fraction("x", float("inf")), "x=inf is not finite"),
        ("exact-to_fraction-None", lambda: exact.to_fraction("x", None), "x=None"),
        ("exact-to_fraction-division-by-zero", lambda: exact.to_fraction("x", "1/0"), "x='1/0'"),
        ("exact-column_span-vector", lambda: exact.column_span([1, 2]), "data has shape"),
        ("exact-column_span-ragged", lambda: exact.column_span([[1, 2], [3]]), "data has shape"),
        ("exact-student-temperature-zero", lambda: exact.exact_student([[1], [0]], [1, 1], temperature=0),
         "temperature=0"),
        ("exact-student-w0-length", lambda: exact.exact_student([[1], [0]], [1, 1], w0=[1]), "w0 has length 1"),
        ("exact-dot-lengths", lambda: exact.dot((Fraction(1),), (Fraction(1), Fraction(2))), "1 and 2"),
        ("exact_expected_risk-not-discrete", lambda: exact_expected_risk(ISOTROPIC, 2), "Discrete"),
        ("exact_expected_risk-n-zero", lambda: exact_expected_risk(DISCRETE, 0), "n=0"),
        ("exact_expected_risk-temperature-string", lambda: exact_expected_risk(DISCRETE, 2, temperature="x"),
         "temperature='x'"),
        ("exact_expected_p_angle-w0-length", lambda: exact_expected_p_angle(DISCRETE, 2, w0=[1]), "w0 has length"),
        ("estimate-family-not-Family", lambda: estimate_expected_risk("iso", 2, trials=5, rng=RNG), "family='iso'"),
        ("estimate-trials-zero", lambda: estimate_expected_risk(ISOTROPIC, 2, trials=0, rng=RNG), "trials=0"),
        # 10^12 trials would run for weeks and 10^9 points per set exhaust memory: both refused.
        ("estimate-trials-huge", lambda: estimate_expected_risk(ISOTROPIC, 2, trials=10**12, rng=RNG),
         "trials=1000000000000"),
        ("estimate-n-huge", lambda: estimate_expected_p_angle(ISOTROPIC, 10**9, trials=1, rng=RNG), "n=1000000000"),
        ("estimate-rng-None", lambda: estimate_expected_risk(ISOTROPIC, 2, trials=5, rng=None), "rng=None"),
        ("estimate-batch_size-zero", lambda: estimate_expected_risk(ISOTROPIC, 2, trials=5, rng=RNG, batch_size=0),
         "batch_size=0"),
        ("estimate-w0-length", lambda: estimate_expected_risk(ISOTROPIC, 2, trials=5, rng=RNG, w0=[1]),
         "w0 has length"),
        ("estimate-confidence", lambda: estimate_expected_risk(ISOTROPIC, 2, trials=5, rng=RNG, confidence=2),
         "confidence=2"),
        ("estimate-student-shape", lambda: estimate_expected_risk(ISOTROPIC, 2, trials=5, rng=RNG,
                                                                   student=lambda x, t, w: np.ones(3)),
         "student returned shape"),
        ("estimate-student-nan", lambda: estimate_expected_risk(ISOTROPIC, 2, trials=5, rng=RNG,
                                                                 student=lambda x, t, w: np.full((5, 3), np.nan)),
         "w has a non-finite"),
        ("ensure_writable-under-a-file", lambda: ensure_writable(Path(__file__) / "x.json"), "is a file"),
        ("write_json_atomic-nan", lambda: write_json_atomic("/tmp/kdverify-hostile-nan.json", {"x": float("nan")}),
         "not valid JSON"),
    ]


CASES = _core_cases() + _family_cases() + _solver_and_expectation_cases()


@pytest.mark.parametrize(("call", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_argument_is_rejected(call: Callable[[], object], fragment: str) -> None:
    """Each bad argument raises InvalidArgument whose message names it (or its rule)."""
    with pytest.raises(InvalidArgument, match=fragment):
        call()


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_student_propagates_through_losses_and_certificate() -> None:
    """A NaN or infinite w is not an input error for the loss (a diverging run must show as one):
    the loss is NaN and the certificate NaN or inf — never a finite, certifying value."""
    for w in ([np.nan, 0.0, 0.0], [np.inf, -np.inf, 0.0]):
        assert np.isnan(loss_value(w, X, [0.5, 0.5]))
        bound = span_error_bound(w, X, Z)
        assert not bound <= 1e300


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"claim": "risk-bound", "family": "discrete"', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"claim": "risk-bound"}', "lacks family, exact, instance, evidence"),
        ('{"claim": "nope", "family": "discrete", "exact": true, "instance": {}, "evidence": {}}',
         "claim id 'nope' is unknown"),
        ('{"claim": "risk-bound", "family": "discrete", "exact": true, "instance": [], "evidence": {}}',
         "'instance' must be a JSON object"),
    ],
    ids=["truncated", "not-an-object", "missing-keys", "unknown-claim", "instance-not-object"],
)
def test_malformed_certificate_is_rejected(tmp_path: Path, content: str, fragment: str) -> None:
    """Certificates are read with CertificateError (or the claim registry's InvalidArgument)."""
    from kdverify.claims.certificates import load_certificate, replay

    path = tmp_path / "certificate.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KDVerifyError, match=fragment):
        replay(load_certificate(path))


def test_binary_and_missing_files_are_certificate_errors(tmp_path: Path) -> None:
    """read_json never lets an OSError or a decoding error through."""
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CertificateError, match="not UTF-8"):
        read_json(binary)
    with pytest.raises(CertificateError, match="No such file"):
        read_json(tmp_path / "missing.json")
    with pytest.raises(CertificateError, match="Is a directory"):
        read_json(tmp_path)


# --- the command line ----------------------------------------------------------------------

EXIT_USAGE = 2


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``kdverify ARGV`` in-process: exit status, stdout and stderr. An exception escaping
    :func:`kdverify.cli.main` is what a user would see as a traceback, so it propagates."""
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def _certificate_files(directory: Path) -> dict[str, Path]:
    files = {
        "truncated": '{"claim": "monotone-risk-pointwise", "family": "discrete"',
        "not-object": "[1, 2]",
        "unknown-claim": '{"claim": "nope", "family": "discrete", "exact": true, "instance": {}, "evidence": {}}',
        "empty-instance": '{"claim": "monotone-risk-pointwise", "family": "discrete", "exact": true, '
        '"instance": {}, "evidence": {}}',
        "bad-points": '{"claim": "monotone-risk-pointwise", "family": "discrete", "exact": true, '
        '"instance": {"family_params": {"points": [["a"]]}}, "evidence": {}}',
    }
    paths = {}
    for name, content in files.items():
        paths[name] = directory / f"{name}.json"
        paths[name].write_text(content, encoding="utf-8")
    binary = directory / "binary.json"
    binary.write_bytes(b"\xff\xfe")
    paths["binary"] = binary
    return paths


# (id, argv with {tmp} and {file} placeholders, fragment expected on stderr)
CLI_CASES = [
    ("replay-truncated", ["replay", "{tmp}/truncated.json"], "not valid JSON"),
    ("replay-not-an-object", ["replay", "{tmp}/not-object.json"], "must be a JSON object"),
    ("replay-unknown-claim", ["replay", "{tmp}/unknown-claim.json"], "claim id 'nope' is unknown"),
    ("replay-empty-instance", ["replay", "{tmp}/empty-instance.json"], "has no entry 'family_params'"),
    ("replay-bad-points", ["replay", "{tmp}/bad-points.json"], "points[0, 0]='a'"),
    ("replay-binary", ["replay", "{tmp}/binary.json"], "not UTF-8"),
    ("replay-missing-file", ["replay", "{tmp}/missing.json"], "No such file"),
    ("replay-directory", ["replay", "{tmp}"], "Is a directory"),
    ("check-unknown-claim", ["check", "nope-claim"], "claim id 'nope-claim' is unknown"),
    ("check-unknown-family", ["check", "--family", "nofam"], "family 'nofam' is unknown"),
    ("check-family-does-not-apply", ["check", "loss-calculus", "--family", "isotropic"], "no selected claim"),
    ("check-unknown-profile", ["check", "--profile", "bogus"], "invalid choice: 'bogus'"),
    ("hunt-unknown-claim", ["hunt", "nope-claim"], "claim id 'nope-claim' is unknown"),
    ("hunt-unknown-family", ["hunt", "risk-bound", "--family", "nofam"], "family 'nofam' is unknown"),
    ("hunt-max-examples-zero", ["hunt", "risk-bound", "--max-examples", "0"], "'0' must be >= 1"),
    ("hunt-out-under-a-file", ["hunt", "loss-calculus", "--max-examples", "1", "--out", "{file}/out"], "is a file"),
    ("bound-unknown-family", ["bound", "--family", "nofam", "--n", "3"], "unknown family 'nofam'"),
    ("bound-n-zero", ["bound", "--family", "isotropic", "--n", "0"], "sizes must lie in"),
    # A sample size of 10^8 is refused by the parser rather than attempted.
    ("bound-n-huge", ["bound", "--family", "isotropic", "--n", "100000000"], "sizes must lie in"),
    ("bound-n-not-a-list", ["bound", "--family", "isotropic", "--n", "abc"], "not a size list"),
    ("bound-param-unreadable", ["bound", "--family", "isotropic", "--n", "3", "--param", "dim=x"], "dim='x'"),
    ("bound-param-unknown", ["bound", "--family", "isotropic", "--n", "3", "--param", "foo=1"], "unknown parameter"),
    ("bound-param-dim-huge", ["bound", "--family", "isotropic", "--n", "3", "--param", "dim=100000000"], "dim="),
    ("bound-trials-zero", ["bound", "--family", "isotropic", "--n", "3", "--trials", "0"], "'0' must be >= 1"),
    ("bound-confidence", ["bound", "--family", "isotropic", "--n", "3", "--estimate", "--confidence", "2"],
     "'2' must lie strictly between 0 and 1"),
    ("bound-param-without-equals", ["bound", "--family", "isotropic", "--n", "3", "--param", "dimx"], "key=value"),
    ("bound-temperature-zero", ["bound", "--family", "isotropic", "--n", "3", "--temperature", "0"], "temperature"),
    ("bound-temperature-nan", ["bound", "--family", "isotropic", "--n", "3", "--temperature", "nan"], "temperature"),
    ("bound-n-huge-range", ["bound", "--family", "isotropic", "--n", "1:1000000000000"], "sizes must lie in"),
    ("bound-n-empty-range", ["bound", "--family", "isotropic", "--n", "5:3"], "names no size"),
    ("bound-estimate-too-large", ["bound", "--family", "isotropic", "--n", "10000000", "--estimate"], "coordinates"),
    ("bound-json-unwritable", ["bound", "--family", "isotropic", "--n", "3", "--json", "/proc/nope/x.json"],
     "cannot write /proc/nope/x.json"),
    ("bound-json-under-a-file", ["bound", "--family", "isotropic", "--n", "3", "--json", "{file}/x.json"],
     "is a file"),
    ("bound-discrete-boundary-point", ["bound", "--family", "discrete", "--n", "3", "--param", "points=1,0;0,1"],
     "boundary"),
    ("bound-discrete-beyond-float", ["bound", "--family", "discrete", "--n", "3", "--param", "points=1e999,1;1,2"],
     "float64"),
    ("curve-trials-zero", ["curve", "--family", "isotropic", "--n", "3", "--trials", "0"], "'0' must be >= 1"),
    ("curve-unknown-family", ["curve", "--family", "nofam", "--n", "3", "--trials", "5"], "unknown family 'nofam'"),
    ("curve-out-under-a-file", ["curve", "--family", "isotropic", "--n", "3", "--trials", "5", "--out", "{file}/x"],
     "is a file, not a directory"),
    ("selftest-unknown-profile", ["selftest", "--profile", "bogus"], "invalid choice: 'bogus'"),
    ("derive-unknown", ["derive", "nope"], "derivation id='nope' is unknown"),
    ("list-unknown-option", ["list", "--bogus"], "unrecognized arguments"),
    ("families-extra-argument", ["families", "extra"], "unrecognized arguments"),
    ("no-verb", [], "required: VERB"),
]


@pytest.mark.parametrize(("argv", "fragment"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str) -> None:
    """Usage errors exit with status 2 and a one-line message on stderr naming the problem."""
    _certificate_files(tmp_path)
    regular_file = tmp_path / "regular-file"
    regular_file.write_text("not a directory", encoding="utf-8")
    argv = [arg.format(tmp=tmp_path, file=regular_file) for arg in argv]
    status, _, err = run_cli(argv, capsys)
    assert status == EXIT_USAGE, err
    assert "Traceback" not in err
    assert fragment in err, f"{fragment!r} not in {err!r}"


def test_check_json_unwritable_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unwritable --json path is a usage error (the one quick claim keeps this test short)."""
    status, _, err = run_cli(["check", "loss-calculus", "--json", "/proc/nope/x.json"], capsys)
    assert status == EXIT_USAGE and "cannot write /proc/nope/x.json" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["replay", "{tmp}/truncated.json"], "not valid JSON"),
        (["bound", "--family", "discrete", "--n", "2", "--param", "points=1e999,1;1,2"], "float64"),
        (["check", "--family", "nofam"], "family 'nofam' is unknown"),
    ],
    ids=["replay-truncated", "bound-beyond-float", "check-unknown-family"],
)
def test_cli_subprocess_has_no_traceback(tmp_path: Path, argv: list[str], fragment: str) -> None:
    """The real command (python -m kdverify) prints one message, no traceback, and exits 2."""
    _certificate_files(tmp_path)
    argv = [arg.format(tmp=tmp_path) for arg in argv]
    completed = subprocess.run(
        [sys.executable, "-m", "kdverify", *argv], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == EXIT_USAGE, completed.stderr
    assert "Traceback" not in completed.stderr
    assert fragment in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
