"""Projector, closed-form limits, certificate, angles, statistics and the risk bound."""

from __future__ import annotations

import numpy as np
import pytest

from kdverify._util.linalg import span_projector
from kdverify._util.numerics import angle, boundary_angles, line_angles
from kdverify.errors import InvalidArgument
from kdverify.measure.bounds import risk_bound
from kdverify.measure.stats import bernoulli_mean, bonferroni, bounded_mean, clopper_pearson
from kdverify.training.limits import linear_limit, span_error_bound
from kdverify.training.teacher import Teacher

EPS = np.finfo(np.float64).eps


class TestProjector:
    def test_rank_deficient_and_duplicated_columns(self, rng) -> None:
        """Rank counts distinct directions; P is idempotent, symmetric and fixes the columns."""
        basis = rng.standard_normal((5, 2))
        data = np.column_stack([basis, basis[:, 0], basis @ [2.0, -1.0]])
        projector = span_projector(data)
        P = projector.matrix
        assert projector.rank == 2
        # Rounding of an SVD-built projector is a few eps times the dimension.
        tolerance = 50 * EPS
        np.testing.assert_allclose(P @ P, P, atol=tolerance)
        np.testing.assert_allclose(P, P.T, atol=tolerance)
        np.testing.assert_allclose(P @ data, data, atol=tolerance * np.abs(data).max())
        nonzero_eigenvalues = np.sort(np.linalg.eigvalsh(data @ data.T))[-2:]
        assert projector.smallest_positive_eigenvalue == pytest.approx(nonzero_eigenvalues[0], rel=1e-10)

    def test_near_singular_rank_uses_tolerance(self) -> None:
        """A direction below max(d, n)·eps·σ_max does not count; one above does."""
        data = np.array([[1.0, 1.0], [0.0, 1e-17]])
        assert span_projector(data).rank == 1
        assert span_projector(np.array([[1.0, 1.0], [0.0, 1e-10]])).rank == 2


class TestLimit:
    def test_limit_interpolates_and_keeps_off_span_part(self, rng) -> None:
        """Xᵀŵ = Xᵀw*/T and P⊥ŵ = P⊥w_0 (THEORY.md optimization-bias-linear)."""
        data = rng.standard_normal((6, 3))
        teacher = Teacher(rng.standard_normal(6), temperature=0.7)
        w0 = rng.standard_normal(6)
        limit = linear_limit(data, teacher, w0)
        projector = span_projector(data)
        scale = np.linalg.norm(data) * (np.linalg.norm(teacher.target) + np.linalg.norm(w0))
        np.testing.assert_allclose(data.T @ limit, teacher.logits(data), atol=20 * EPS * scale)
        np.testing.assert_allclose(projector.complement(limit), projector.complement(w0), atol=20 * EPS * scale)

    def test_full_rank_recovers_the_teacher(self, rng) -> None:
        """rank X = d ⇒ ŵ = w*/T whatever w_0."""
        data = rng.standard_normal((3, 5))
        teacher = Teacher(rng.standard_normal(3), temperature=2.0)
        np.testing.assert_allclose(linear_limit(data, teacher, rng.standard_normal(3)), teacher.target, atol=1e-14)

    def test_certificate_bounds_the_true_error(self, rng) -> None:
        """span_error_bound(w) ≥ ‖P(w − ŵ)‖ for points around the limit (it is a proof, not a guess)."""
        data = rng.standard_normal((5, 3))
        teacher = Teacher(rng.standard_normal(5))
        limit = linear_limit(data, teacher)
        projector = span_projector(data)
        for radius in [1e-6, 1e-2, 1.0, 5.0]:
            w = limit + radius * projector.project(rng.standard_normal(5))
            true_error = np.linalg.norm(projector.project(w - limit))
            assert span_error_bound(w, data, teacher.logits(data)) >= true_error * (1 - 1e-12)


class TestAngles:
    def test_angle_is_accurate_near_zero_and_pi(self) -> None:
        """angle() resolves 1e-12 rad, where arccos of a cosine returns 0."""
        u = np.array([1.0, 0.0])
        v = np.array([np.cos(1e-12), np.sin(1e-12)])
        np.testing.assert_allclose(angle(u, v), 1e-12, rtol=1e-6)
        np.testing.assert_allclose(angle(u, -v), np.pi - 1e-12, rtol=1e-15)
        assert np.isnan(angle(u, np.zeros(2)))

    def test_boundary_and_line_angles_are_complementary(self, rng) -> None:
        """γ(x) + α(x) = π/2 for every point."""
        data = rng.standard_normal((4, 10))
        w_star = rng.standard_normal(4)
        np.testing.assert_allclose(boundary_angles(data, w_star) + line_angles(data, w_star), np.pi / 2, atol=1e-14)


class TestStatistics:
    def test_clopper_pearson_known_values(self) -> None:
        """Exact intervals: 0/10 → [0, 1 − 0.025^{1/10}]; 10/10 mirrors it."""
        lower, upper = clopper_pearson(0, 10, confidence=0.95)
        assert lower == 0.0 and upper == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-12)
        lower, upper = clopper_pearson(10, 10, confidence=0.95)
        assert upper == 1.0 and lower == pytest.approx(0.025 ** (1 / 10), rel=1e-12)

    def test_bounded_mean_covers_the_true_mean(self, rng) -> None:
        """Over 400 seeded repetitions the 90% interval misses the true mean at most ~15% of the time
        (binomial(400, 0.1) exceeds 60 with probability < 1e-3)."""
        misses = 0
        for _ in range(400):
            values = rng.beta(0.5, 3.0, size=50)
            estimate = bounded_mean(values, confidence=0.9, rng=rng)
            misses += not (estimate.lower <= 0.5 / 3.5 <= estimate.upper)
        assert misses <= 60

    def test_bernoulli_mean_and_bonferroni(self) -> None:
        """Mean of 0/1 outcomes; Bonferroni divides δ by the number of tests."""
        estimate = bernoulli_mean([0, 1, 1, 0])
        assert estimate.mean == 0.5 and estimate.lower < 0.5 < estimate.upper
        assert bonferroni(1e-3, 10) == pytest.approx(1e-4)
        with pytest.raises(ValueError):
            bernoulli_mean([0.5])


class TestRiskBound:
    def test_uniform_angle_closed_form(self) -> None:
        """d = 2: p(θ) = 2θ/π; B_n(θ) = u + (1−u)^n with u = 2θ/π is minimised at
        1 − u = n^{−1/(n−1)}."""
        for n in [2, 5, 50]:
            u = 1 - n ** (-1 / (n - 1))
            expected = u + (1 - u) ** n
            result = risk_bound(lambda t: 2 * t / np.pi, n)
            assert result.value == pytest.approx(expected, abs=1e-12)

    def test_step_function_minimum_is_exact(self) -> None:
        """A step p with jumps at given angles: the minimum over the critical points is exact."""
        gammas = np.array([0.1, 0.5, 1.2])

        def p(theta: np.ndarray) -> np.ndarray:
            return np.mean(gammas[:, None] <= np.atleast_1d(theta)[None, :], axis=0)

        dense = np.linspace(0, np.pi / 2, 200001)
        brute = np.min(p(dense) + p(np.pi / 2 - dense) ** 3)
        assert risk_bound(p, 3, breakpoints=gammas).value <= brute + 1e-15

    def test_rejects_bad_n(self) -> None:
        """n must be a positive integer."""
        with pytest.raises(InvalidArgument, match="n=0"):
            risk_bound(lambda t: t, 0)
