"""Numerical hazards: extreme teacher logits, nearly rank-deficient and duplicated data, data at
scales 1e±150, and angles at 0 and π/2. Solvers and closed forms must stay within their
certified (or derived) tolerance, or say that they did not converge or cannot decide — never
return a false result.

The references are exact: the limit of gradient descent for the float data and target logits
actually given is computed in rational arithmetic (every float is a rational), so a certificate
``‖w − ŵ‖ ≤ bound`` is checked against the truth, not against another rounded computation.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from kdverify._util.linalg import span_projector
from kdverify._util.numerics import binary_entropy, sigmoid
from kdverify.data import (
    AnisotropicGaussian,
    BetaPolarised,
    Discrete,
    GaussianMixture,
    Isotropic,
    Margin,
    exact,
    family_from_params,
)
from kdverify.errors import InvalidArgument, NotConverged
from kdverify.training import gradient_descent, gradient_flow, max_margin, newton_refine
from kdverify.training.limits import linear_limit, span_error_bound
from kdverify.training.losses import loss_gradient, loss_hessian, loss_value
from kdverify.training.teacher import Teacher

EPS = float(np.finfo(np.float64).eps)
HALF_PI = np.pi / 2


def exact_limit(data: np.ndarray, logits: np.ndarray, w0: np.ndarray) -> np.ndarray:
    """The point of ``w0 + span X`` with ``Xᵀŵ = z`` in rational arithmetic, for ``X`` of full
    column rank: ``ŵ = w0 + X (XᵀX)⁻¹ (z − Xᵀw0)``, rounded to float once at the end."""
    columns = [[Fraction(float(v)) for v in column] for column in data.T]
    start = [Fraction(float(v)) for v in w0]
    rhs = [Fraction(float(z)) - exact.dot(c, start) for z, c in zip(logits, columns, strict=True)]
    gram = [[exact.dot(a, b) for b in columns] for a in columns]
    coefficients = _solve(gram, rhs)
    point = [s + sum(coef * c[i] for coef, c in zip(coefficients, columns, strict=True)) for i, s in enumerate(start)]
    return np.array([float(v) for v in point])


def _solve(matrix: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction]:
    """Gauss–Jordan elimination in Fractions (the Gram matrix is positive definite: no pivoting)."""
    rows = [[*row, b] for row, b in zip(matrix, rhs, strict=True)]
    size = len(rows)
    for k in range(size):
        rows[k] = [v / rows[k][k] for v in rows[k]]
        for i in range(size):
            if i != k and rows[i][k]:
                rows[i] = [a - rows[i][k] * b for a, b in zip(rows[i], rows[k], strict=True)]
    return [row[-1] for row in rows]


def conditioned_data(rng: np.random.Generator, condition: float, dim: int = 5, n: int = 3) -> np.ndarray:
    """``U diag(s) Vᵀ`` with orthonormal ``U``, ``V`` and singular values from 1 down to 1/condition."""
    u, _ = np.linalg.qr(rng.standard_normal((dim, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (u * np.geomspace(1.0, 1.0 / condition, n)) @ v.T


def assert_certified(w: np.ndarray, bound: float, truth: np.ndarray) -> None:
    """``‖w − ŵ‖ ≤ bound``, allowing only the rounding of the final float conversion and norm."""
    error = float(np.linalg.norm(w - truth))
    assert error <= bound * (1 + 8 * EPS) + 4 * EPS * float(np.linalg.norm(truth)), (error, bound)


# --- extreme logits --------------------------------------------------------------------------

LOGIT_SIZES = [1.0, 30.0, 700.0, 1e3]


def extreme_problem(size: float) -> tuple[np.ndarray, Teacher, np.ndarray]:
    """4-d data, three points, a teacher scaled so that the largest |logit| is ``size``, and w0."""
    rng = np.random.default_rng(11)
    data = rng.standard_normal((4, 3))
    w_star = rng.standard_normal(4)
    teacher = Teacher(size * w_star / np.max(np.abs(w_star @ data)))
    return data, teacher, rng.standard_normal(4)


@pytest.mark.parametrize("size", LOGIT_SIZES, ids=lambda s: f"logits-{s:g}")
def test_loss_at_extreme_logits_is_finite_and_minimal_at_the_teacher(size: float) -> None:
    """At w = w*/T the loss equals mean H(s_i) (its minimum) up to rounding, even when σ saturates;
    gradient and Hessian stay finite and the Hessian positive semi-definite."""
    data, teacher, _ = extreme_problem(size)
    targets = teacher.soft_labels(data)
    logits = teacher.logits(data)
    value = float(loss_value(teacher.target, data, targets))
    # softplus(z) − t z at the minimiser: each of the two terms of size ≤ |z| + 1 rounds by a few eps,
    # and t = σ(z) itself is off by an ulp, which moves the value by |z|·eps.
    slack = 8 * EPS * float(np.mean(np.abs(logits) + 1))
    assert abs(value - float(np.mean(binary_entropy(targets)))) <= slack
    assert np.all(np.isfinite(loss_gradient(teacher.target, data, targets)))
    hessian = loss_hessian(teacher.target, data)
    assert np.all(np.isfinite(hessian))
    assert np.min(np.linalg.eigvalsh(hessian)) >= -8 * EPS * np.max(np.abs(hessian))


@pytest.mark.parametrize("size", LOGIT_SIZES, ids=lambda s: f"logits-{s:g}")
def test_descent_at_extreme_logits_never_certifies_falsely(size: float) -> None:
    """With saturated soft labels gradient descent crawls: a short run must either certify a
    distance that is true or report converged=False — and its bound is true either way."""
    data, teacher, w0 = extreme_problem(size)
    logits = teacher.logits(data)
    truth = exact_limit(data, logits, w0)
    result = gradient_descent(data, logits, w0, max_iter=300)
    assert_certified(result.w, float(result.bound), truth)
    if size >= 30:  # σ' ≤ 1e-13 at the largest logit: 300 steps cannot get within 1e-9
        assert not result.converged


@pytest.mark.parametrize("size", LOGIT_SIZES, ids=lambda s: f"logits-{s:g}")
def test_newton_at_extreme_logits_is_certified_or_unconverged(size: float) -> None:
    """Newton steps scale by 1/σ' and may stall where σ' underflows; whatever they return is
    covered by its certificate."""
    data, teacher, w0 = extreme_problem(size)
    logits = teacher.logits(data)
    result = newton_refine(data, logits, w0, w0, max_iter=30)
    assert_certified(result.w, float(result.bound), exact_limit(data, logits, w0))
    if size == 1.0:
        assert result.converged


def test_flow_with_underflowing_curvature_refuses_or_reports() -> None:
    """At logits of 1e3 the curvature σ'(z*) underflows: the flow's time scale is beyond float64,
    so without max_time it raises NotConverged; with one it ends unconverged with a true bound."""
    data, teacher, w0 = extreme_problem(1e3)
    logits = teacher.logits(data)
    with pytest.raises(NotConverged, match="underflows"):
        gradient_flow(data, logits, w0)
    result = gradient_flow(data, logits, w0, max_time=50.0)
    assert not result.converged
    assert_certified(result.w, result.bound, exact_limit(data, logits, w0))


def test_certificate_needs_no_curvature() -> None:
    """At the exact limit the bound is at rounding level even for logits of 1e3, where the old
    gradient bound n‖∇L‖/(λ·σ') was inf (σ' = e^{-1000} underflows)."""
    data, teacher, w0 = extreme_problem(1e3)
    logits = teacher.logits(data)
    truth = exact_limit(data, logits, w0)
    projector = span_projector(data)
    # Rounding: logits of the float ŵ are off by ~(d+1)·eps·|x|ᵀ|ŵ|, divided by σ_min.
    floor = 4 * (data.shape[0] + 2) * EPS * np.linalg.norm(np.abs(data).T @ np.abs(truth))
    bound = float(span_error_bound(truth, data, logits, projector=projector))
    assert bound <= floor / float(projector.smallest_singular_lower_bound)


# --- near rank deficiency --------------------------------------------------------------------


def householder_data(smallest: float) -> np.ndarray:
    """Columns ``H e_1, H e_2 / 2, H e_3 · smallest`` with ``H = I − ones/2`` (4×4): entries ±1/2
    are exact and ``H`` is exactly orthogonal, so the singular values are exactly 1, 1/2, smallest."""
    householder = np.eye(4) - 0.5
    return householder[:, :3] * np.array([1.0, 0.5, smallest])


@pytest.mark.parametrize(
    ("smallest", "rank"),
    [(1e-4, 3), (1e-8, 3), (1e-12, 3), (1e-14, 3), (1e-16, 2), (1e-300, 2)],
    ids=["sigma-1e-4", "sigma-1e-8", "sigma-1e-12", "sigma-1e-14", "sigma-1e-16", "sigma-1e-300"],
)
def test_projector_rank_follows_the_tolerance(smallest: float, rank: int) -> None:
    """The rank counts singular values above max(d, n)·eps·σ_max = 4·eps ≈ 8.9e-16: condition
    numbers up to 1e14 keep full rank, smaller singular values do not count."""
    projector = span_projector(householder_data(smallest))
    assert int(projector.rank) == rank
    assert float(projector.tolerance) == pytest.approx(4 * EPS, rel=4 * EPS)


@pytest.mark.parametrize("condition", [1e2, 1e6, 1e10, 1e12], ids=lambda c: f"cond-{c:.0e}")
def test_closed_form_limit_within_its_derived_tolerance(condition: float) -> None:
    """linear_limit = P̃ t + (I − P̃) w0 differs from the exact P t + (I − P) w0 by
    (P̃ − P)(t − w0) plus the rounding of two projections: at most
    (‖P − P̃‖ + 4(d + n)·eps)·(‖t‖ + 2‖w0‖), with ‖P − P̃‖ bounded by subspace_error."""
    rng = np.random.default_rng(int(np.log10(condition)))
    data = conditioned_data(rng, condition)
    teacher = Teacher(rng.standard_normal(5))
    w0 = rng.standard_normal(5)
    rows = [[Fraction(float(v)) for v in row] for row in data]
    truth = np.array([float(v) for v in exact.exact_student(rows, [Fraction(float(v)) for v in teacher.w_star],
                                                            w0=[Fraction(float(v)) for v in w0])])
    projector = span_projector(data)
    tolerance = (float(projector.subspace_error) + 4 * sum(data.shape) * EPS) * (
        np.linalg.norm(teacher.target) + 2 * np.linalg.norm(w0)
    )
    assert np.linalg.norm(linear_limit(data, teacher, w0) - truth) <= tolerance


@pytest.mark.parametrize("condition", [1e2, 1e4, 1e6, 1e8, 1e10, 1e12], ids=lambda c: f"cond-{c:.0e}")
def test_newton_certificate_is_true_near_rank_deficiency(condition: float) -> None:
    """Newton's method reaches the float solution of Xᵀw = z* within a few steps, where the
    computed residual vanishes; the certificate must still bound the distance to the exact limit
    (it accounts for the rounding of the logits and of the SVD), so at high condition numbers it
    reports converged=False instead of a false certificate."""
    rng = np.random.default_rng(7)
    data = conditioned_data(rng, condition)
    teacher = Teacher(rng.standard_normal(5) / 2)
    w0 = rng.standard_normal(5)
    logits = teacher.logits(data)
    result = newton_refine(data, logits, w0, w0, max_iter=50)
    assert_certified(result.w, float(result.bound), exact_limit(data, logits, w0))
    if condition <= 1e4:  # the rounding floor is about 1e-16·condition·‖w‖ ≪ the tolerance 1e-9
        assert result.converged


@pytest.mark.parametrize("condition", [1e8, 1e12], ids=lambda c: f"cond-{c:.0e}")
def test_short_descent_on_ill_conditioned_data_reports_non_convergence(condition: float) -> None:
    """Gradient descent contracts the smallest direction by 1 − 1/condition² per step: a short run
    returns converged=False with a bound that is still true."""
    rng = np.random.default_rng(3)
    data = conditioned_data(rng, condition)
    teacher = Teacher(rng.standard_normal(5) / 2)
    w0 = rng.standard_normal(5)
    logits = teacher.logits(data)
    result = gradient_descent(data, logits, w0, max_iter=500)
    assert not result.converged and result.iterations == 500
    assert_certified(result.w, float(result.bound), exact_limit(data, logits, w0))


def test_duplicated_points() -> None:
    """Exact duplicates and a copy one ulp away add no direction: the rank is that of the distinct
    points, descent converges to the limit of the distinct points, and a duplicated point with two
    different targets is rejected (no limit interpolates it)."""
    rng = np.random.default_rng(5)
    distinct = rng.standard_normal((5, 2))
    nudged = np.nextafter(distinct[:, :1], np.inf)
    data = np.column_stack([distinct, distinct[:, :1], distinct[:, 1:], nudged])
    assert int(span_projector(data).rank) == 2
    teacher = Teacher(rng.standard_normal(5))
    w0 = rng.standard_normal(5)
    result = gradient_descent(data, teacher.logits(data), w0)
    assert result.converged
    assert_certified(result.w, float(result.bound), exact_limit(distinct, teacher.logits(distinct), w0))
    clash = teacher.logits(data) + np.array([0.0, 0.0, 1.0, 0.0, 0.0])
    with pytest.raises(InvalidArgument, match="not Xᵀv"):
        gradient_descent(data, clash, w0)


# --- data at scales 1e±150 -------------------------------------------------------------------

SCALES = [1e-150, 2.0**-500, 1e150, 2.0**500]


def base_problem() -> tuple[np.ndarray, Teacher, np.ndarray]:
    rng = np.random.default_rng(9)
    data = rng.standard_normal((5, 3))
    w_star = rng.standard_normal(5)
    return data, Teacher(w_star / np.linalg.norm(w_star)), rng.standard_normal(5)


@pytest.mark.parametrize("scale", SCALES, ids=lambda c: f"scale-{c:.0e}")
def test_limit_is_invariant_under_data_scale(scale: float) -> None:
    """P does not depend on the length of the data, so linear_limit(cX, t, w0) = linear_limit(X, t,
    w0); with the teacher scaled to keep the logits, the limit scales by 1/c. Both to rounding of
    the two SVDs: 8(d + n)·eps relative."""
    data, teacher, w0 = base_problem()
    base = linear_limit(data, teacher, w0)
    tolerance = 8 * sum(data.shape) * EPS * (np.linalg.norm(teacher.target) + np.linalg.norm(w0))
    assert np.linalg.norm(linear_limit(scale * data, teacher, w0) - base) <= tolerance
    rescaled = Teacher(teacher.w_star / scale)
    assert np.linalg.norm(scale * linear_limit(scale * data, rescaled, w0 / scale) - base) <= tolerance


@pytest.mark.parametrize("scale", SCALES, ids=lambda c: f"scale-{c:.0e}")
def test_descent_is_invariant_under_data_scale(scale: float) -> None:
    """With the logits fixed, descent on cX from w0/c is descent on X scaled by 1/c (the default
    step 1/L_max scales by 1/c²). Given the tolerance relative to ‖ŵ‖, it takes as many steps,
    and its certificate, scaled back, is true of the unscaled problem."""
    data, teacher, w0 = base_problem()
    logits = teacher.logits(data)
    reference = gradient_descent(data, logits, w0, tol=1e-9 * np.linalg.norm(linear_limit(data, teacher, w0)))
    scaled = gradient_descent(scale * data, logits, w0 / scale, tol=float(reference.tol) / scale)
    assert scaled.converged and reference.converged
    assert abs(int(scaled.iterations) - int(reference.iterations)) <= 10  # one check interval
    assert_certified(scale * scaled.w, scale * float(scaled.bound), exact_limit(data, logits, w0))


@pytest.mark.parametrize("scale", [2.0**-600, 2.0**600], ids=["scale-2^-600", "scale-2^600"])
def test_descent_refuses_data_whose_curvature_leaves_float64(scale: float) -> None:
    """At 2^±600 the curvature λ_max(XXᵀ) = σ_max² (and with it the step 1/L_max) is not a
    float64; descent says so instead of running with a step of 0 or inf."""
    data, teacher, w0 = base_problem()
    with pytest.raises(InvalidArgument, match="leave the float64 range"):
        gradient_descent(scale * data, teacher.logits(data), w0)


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300], ids=lambda c: f"scale-{c:.0e}")
def test_max_margin_is_invariant_under_data_scale(scale: float) -> None:
    """The max-margin direction does not depend on the scale and its margin scales with it; at
    1e±300, where w = 1/margin or λ = 1/margin² leave the float range, it says so."""
    data = np.array([[1.0, 1.0, 2.0], [1.0, -1.0, 0.5]])
    labels = np.array([1, -1, 1])
    reference = max_margin(data, labels)
    if abs(np.log10(scale)) > 200:
        with pytest.raises(InvalidArgument, match="beyond float64"):
            max_margin(scale * data, labels)
        return
    scaled = max_margin(scale * data, labels)
    # KKT residuals of both solves are within their tolerance, so the directions agree to it.
    assert np.linalg.norm(scaled.direction - reference.direction) <= 4 * (scaled.tolerance + reference.tolerance)
    assert scaled.margin / scale == pytest.approx(reference.margin, rel=4 * (scaled.tolerance + reference.tolerance))


def test_max_margin_decides_or_says_it_cannot() -> None:
    """Margins below what float64 resolves are neither reported as a separator nor as proof of
    non-separability: margin 1e-9 → NotConverged; a hull within rounding of 0 → InvalidArgument
    that states the distance; a clear margin → a separator whose margins are all positive."""
    with pytest.raises(NotConverged, match=r"could not decide|cannot decide"):
        max_margin([[1.0, 1.0], [1e-9, -1e-9]], [1, -1])
    with pytest.raises(InvalidArgument, match=r"within .* of the convex hull"):
        max_margin([[1.0, 1.0], [1e-17, -1e-17]], [1, -1])
    rng = np.random.default_rng(2)
    data = rng.standard_normal((3, 12))
    labels = np.where(np.array([1.0, -0.5, 0.25]) @ data > 0, 1, -1)
    result = max_margin(data, labels)
    assert np.min(labels * (result.direction @ data)) > 0


@pytest.mark.parametrize("exponent", [-700, -500, 500, 700], ids=lambda k: f"2^{k}")
def test_discrete_family_is_exactly_scale_invariant(exponent: int) -> None:
    """Scaling the support and the teacher by a power of two is exact, and angles, p, and the
    risk of students of any size are computed on power-of-two normalised vectors: identical."""
    points = np.array([[1.0, 2.0, -1.0, 3.0], [1.0, -1.0, 3.0, 0.5]])
    weights, w_star = [0.25, 0.25, 0.25, 0.25], np.array([1.0, 0.5])
    base = Discrete(points.T, weights, w_star=w_star)
    scaled = Discrete(np.ldexp(points.T, exponent), weights, w_star=np.ldexp(w_star, exponent))
    students = np.array([[1.0, 0.0], [1e-100, 1e-100], [1e100, -1e100], [-2.0, 1.0]])
    thetas = np.array([0.0, 0.3, 0.9, HALF_PI])
    np.testing.assert_array_equal(scaled.gammas, base.gammas)
    np.testing.assert_array_equal(scaled.p(thetas), base.p(thetas))
    np.testing.assert_array_equal(scaled.risk(students), base.risk(students))
    np.testing.assert_array_equal(base.risk(np.ldexp(students, np.sign(exponent) * 600)), base.risk(students))


@pytest.mark.parametrize("scale", [1e-150, 1e150], ids=lambda c: f"scale-{c:.0e}")
def test_continuous_families_are_scale_invariant(scale: float) -> None:
    """p and R do not depend on the length of the data, of w* or of the student: families built
    from parameters at 1e±150 (no standard normalisation) agree with the unscaled ones to their
    stated accuracy, and their samples have the requested teacher-logit scale."""
    thetas = np.array([1e-6, 0.4, 1.2])
    students = np.array([[1.0, 0.2, 0.0], [-0.3, 1.0, 0.5]])
    cases = [
        (Isotropic(3, w_star=[1.0, 1.0, 0.0]), Isotropic(3, w_star=[scale, scale, 0.0])),
        (BetaPolarised(3, 1.0, 2.0, w_star=[1.0, 0.0, 1.0]), BetaPolarised(3, 1.0, 2.0, w_star=[scale, 0.0, scale])),
        (
            AnisotropicGaussian(np.diag([4.0, 1.0, 0.25]), w_star=[1.0, 1.0, 1.0], scale=None),
            AnisotropicGaussian(np.diag([4.0, 1.0, 0.25]) * scale**2, w_star=[1.0, 1.0, 1.0], scale=None),
        ),
        (
            GaussianMixture([[0.5, 1.0, 0.0], [-0.5, -1.0, 0.0]], [np.eye(3)] * 2, [0.3, 0.7], w_star=[1, 0, 0],
                            scale=None),
            GaussianMixture(np.array([[0.5, 1.0, 0.0], [-0.5, -1.0, 0.0]]) * scale, [np.eye(3) * scale**2] * 2,
                            [0.3, 0.7], w_star=[1, 0, 0], scale=None),
        ),
    ]
    for base, scaled in cases:
        # Imhof and the risk quadratures report their accuracy; closed forms round at 1e-12.
        tolerance = 2 * max(base.accuracy, 1e-12) + 1e-11
        np.testing.assert_allclose(scaled.p(thetas), base.p(thetas), rtol=0, atol=tolerance)
        np.testing.assert_allclose(scaled.risk(students * scale), base.risk(students), rtol=0, atol=tolerance)
    sample = Isotropic(3, w_star=[scale, scale, 0.0]).sample(4000, np.random.default_rng(1))
    logits = np.array([scale, scale, 0.0]) @ sample
    # Unit variance by the standard normalisation; the sample variance of 4000 normals is 1 ± 0.1 (4.5σ).
    assert abs(float(np.var(logits)) - 1.0) < 0.1


def test_hard_labels_and_certificates_at_extreme_scales() -> None:
    """Hard labels of data at 1e-300 against a 1e-200 teacher do not underflow to a false boundary
    point, and the certificate of the exact limit at data scale 1e150 stays finite and tiny."""
    teacher = Teacher([1e-200, 1.0])
    points = np.array([[1e-300, -1e-300, 3e-300], [1e-300, 2e-300, -1e-300]])
    np.testing.assert_array_equal(teacher.hard_labels(points), [1.0, 1.0, 0.0])
    data, unit_teacher, w0 = base_problem()
    scaled = 1e150 * data
    logits = unit_teacher.logits(data)
    truth = exact_limit(scaled, logits, w0 / 1e150)
    bound = float(span_error_bound(truth, scaled, logits))
    assert np.isfinite(bound) and bound <= 1e-12 * np.linalg.norm(truth)


# --- angles at 0 and π/2 -------------------------------------------------------------------

ANGLES = np.array([0.0, 5e-324, 1e-300, 1e-16, 1e-8, 0.5, HALF_PI - 1e-8, np.nextafter(HALF_PI, 0), HALF_PI])

FAMILIES = {
    "isotropic-2": lambda: Isotropic(2),
    "isotropic-sphere-5": lambda: Isotropic(5, radius="sphere"),
    "beta-polarised": lambda: BetaPolarised(3, 1.0, 2.0),
    "beta-polarised-singular": lambda: BetaPolarised(4, 0.3, 0.4),
    "margin": lambda: Margin(3, 0.2),
    "anisotropic": lambda: AnisotropicGaussian(np.diag([100.0, 1.0, 0.01]), w_star=[1.0, 1.0, 1.0]),
    "mixture": lambda: family_from_params("mixture", {"dim": "3"}),
    "discrete": lambda: Discrete([[1, 1], [2, -1], [-1, 3]], ["1/4", "1/4", "1/2"], w_star=[1, "1/2"]),
}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_geometry_functions_at_extreme_angles(name: str) -> None:
    """p(θ) and P[α ≤ θ] at θ = 0, subnormal, 1e-300, …, the float just below π/2 and π/2 are
    finite, in [0, 1], non-decreasing (up to the family's accuracy), with p(0) = 0, p(π/2) = 1,
    and p within its own bounds."""
    family = FAMILIES[name]()
    p = family.p(ANGLES)
    near = family.mass_near_teacher(ANGLES)
    lower, upper = family.p_bounds(ANGLES)
    for values in (p, near, lower, upper):
        assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1))
        assert np.all(np.diff(values) >= -2 * family.accuracy)
    assert p[0] == 0 and p[-1] == 1 and near[0] == 0 and near[-1] == 1
    assert np.all(lower <= p) and np.all(p <= upper)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_risks_of_aligned_and_orthogonal_students(name: str) -> None:
    """Students at angles 0, 1e-300, 1e-12, π/2 ∓ 1e-12, π/2 and π from w* (and of size 1e-300
    or 1e300) have risks in [0, 1] with R(w*) = 0, R(−w*) = 1 and, for continuous families,
    R(w) + R(−w) = 1 to the stated accuracy; a quadrature that cannot reach its accuracy says
    NotConverged instead of returning a number."""
    family = FAMILIES[name]()
    unit = family.w_star / np.linalg.norm(family.w_star)
    side = np.zeros(family.dim)
    side[1] = 1.0
    side -= (side @ unit) * unit
    side /= np.linalg.norm(side)
    students = [unit, unit + 1e-300 * side, unit + 1e-12 * side, side + 1e-12 * unit, side, side - 1e-12 * unit,
                1e-300 * unit, 1e300 * (unit + side)]
    for student in students:
        try:
            risk, opposite = float(family.risk(student)), float(family.risk(-student))
        except NotConverged:
            continue
        assert 0 <= risk <= 1 and 0 <= opposite <= 1
        if not isinstance(family, Discrete):
            assert risk + opposite == pytest.approx(1.0, abs=4 * family.accuracy + 1e-12)
    assert float(family.risk(unit)) == pytest.approx(0.0, abs=family.accuracy)
    assert float(family.risk(-unit)) == pytest.approx(1.0, abs=family.accuracy)


def test_soft_labels_saturate_without_nan() -> None:
    """Teacher logits of ±1e3 give soft labels exactly 0 and 1 (not NaN), and the teacher's hard
    labels agree with them."""
    teacher = Teacher([1e3, 0.0])
    data = np.array([[1.0, -1.0, 1e-3], [0.0, 5.0, 0.0]])
    labels = teacher.soft_labels(data)
    np.testing.assert_array_equal(labels, [1.0, 0.0, sigmoid(1.0)])
    np.testing.assert_array_equal(teacher.hard_labels(data), [1.0, 0.0, 1.0])
