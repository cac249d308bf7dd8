"""The hard-label student: max-margin by least-distance programming (known answers, KKT, rejection
of non-separable sets) and the slow convergence of gradient descent to its direction."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kdverify._util.numerics import angle
from kdverify.errors import InvalidArgument
from kdverify.training import hard_label_descent, max_margin, train_distilled, train_hard_label
from kdverify.training.teacher import Teacher

EPS = np.finfo(np.float64).eps


class TestMaxMargin:
    def test_hand_made_example_in_the_plane(self) -> None:
        """(1,1)+, (1,−1)−, (0,3)+: the first two constraints add to w₂ ≥ 1, so w = (0, 1) with
        multipliers (½, ½, 0) — the third point is inactive."""
        result = max_margin([[1.0, 1.0, 0.0], [1.0, -1.0, 3.0]], [1, -1, 1])
        np.testing.assert_allclose(result.w, [0.0, 1.0], atol=10 * EPS)
        np.testing.assert_allclose(result.multipliers, [0.5, 0.5, 0.0], atol=10 * EPS)
        assert result.margin == pytest.approx(1.0, rel=10 * EPS)
        assert "nnls" in result.solver

    def test_hand_made_example_in_a_subspace(self) -> None:
        """(2,0,0)+ and (0,1,0)−: 2w₁ ≥ 1 and −w₂ ≥ 1 give w = (½, −1, 0), margin 1/‖w‖ = 2/√5."""
        result = max_margin([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [1, -1])
        np.testing.assert_allclose(result.w, [0.5, -1.0, 0.0], atol=10 * EPS)
        assert result.margin == pytest.approx(2 / np.sqrt(5), rel=10 * EPS)

    def test_kkt_conditions_hold_on_random_separable_data(self, rng) -> None:
        """Recomputed here: y_i wᵀx_i ≥ 1, λ ≥ 0, w = Σλ_i y_i x_i, λ_i(y_i wᵀx_i − 1) = 0 — which
        proves optimality of the convex problem — to the solver's stated rounding tolerance."""
        data = rng.standard_normal((4, 30))
        signs = np.sign(rng.standard_normal(4) @ data)
        result = max_margin(data, signs)
        margins = signs * (result.w @ data)
        scale = np.max(np.linalg.norm(data, axis=0)) * np.linalg.norm(result.w)
        assert result.tolerance <= 1e3 * (4 + 30) * EPS * scale
        assert np.min(margins) >= 1 - result.tolerance
        assert np.all(result.multipliers >= 0) and np.sum(result.multipliers > 0) >= 1
        stationarity = np.linalg.norm(data @ (result.multipliers * signs) - result.w)
        assert stationarity <= result.tolerance * np.linalg.norm(result.w)
        assert np.max(result.multipliers * np.abs(margins - 1)) <= result.tolerance * np.sum(result.multipliers)
        reported = (result.feasibility_residual, result.complementarity_residual, result.stationarity_residual)
        assert max(reported) <= result.tolerance

    @pytest.mark.parametrize(
        ("data", "labels"),
        [([[1.0, -1.0], [0.0, 0.0]], [1, 1]), ([[1.0, -1.0, 1.0, -1.0], [1.0, -1.0, -1.0, 1.0]], [1, 1, -1, -1])],
        ids=["x-and-minus-x-same-label", "xor"],
    )
    def test_non_separable_data_are_rejected(self, data, labels) -> None:
        """No w with y_i wᵀx_i > 0 for all i ⇒ InvalidArgument, not a bogus separator."""
        with pytest.raises(InvalidArgument, match="not linearly separable"):
            max_margin(data, labels)


class TestHardLabelDescent:
    def test_direction_approaches_the_max_margin_direction(self, rng) -> None:
        """w_k = ŵ·log k + ρ_k with ρ_k = o(log k) (Soudry et al.), ŵ the max-margin solution.

        The angle ∠(w_k, ŵ) itself is NOT monotone: on this seed it is 0.028 at k = 10², 0.039 at
        10³ and 0.031 at 10⁵ (the path passes close to ŵ early, then converges at rate 1/log k).
        So measure what the theory fixes: the growth over each decade, w_{10k} − w_k, turns towards
        ŵ (its angle shrinks decade after decade), and the residual ‖w_k − ŵ log k‖ grows by less
        each decade, far less than the ‖ŵ‖·log 10 by which ‖w_k‖ grows."""
        data = rng.standard_normal((3, 10))
        w_star = rng.standard_normal(3)
        teacher = Teacher(w_star / np.linalg.norm(w_star))
        solution = max_margin(data, 2 * teacher.hard_labels(data) - 1)
        decades = (100, 1000, 10000)
        iterates = [train_hard_label(data, teacher, iterations=k).w for k in decades]
        growth_angles = [float(angle(b - a, solution.w)) for a, b in pairwise(iterates)]
        residuals = [np.linalg.norm(w - solution.w * np.log(k)) for w, k in zip(iterates, decades, strict=True)]
        residual_growth = np.diff(residuals)
        assert growth_angles[0] > growth_angles[1]
        assert abs(residual_growth[1]) < abs(residual_growth[0]) < np.linalg.norm(solution.w) * np.log(10)

    def test_iterates_from_zero_stay_in_the_span(self, rng) -> None:
        """THEORY.md distill-best-in-span: P⊥w_k = 0 to rounding (k·eps·max‖w_k‖, ‖w_k‖ growing)."""
        data = rng.standard_normal((6, 3))
        teacher = Teacher(rng.standard_normal(6))
        result = train_hard_label(data, teacher, iterations=2000, check_every=1)
        assert result.off_span_max <= 10 * EPS * (2000 + 9) * np.linalg.norm(result.w)

    def test_distilled_student_is_better_aligned_than_hard_label_student(self, rng) -> None:
        """THEORY.md distill-best-in-span on one instance: ∠(ŵ_distilled, w*) ≤ ∠(w_hard, w*)
        (both in span X; the distilled limit is P w*/T)."""
        data = rng.standard_normal((6, 3))
        teacher = Teacher(rng.standard_normal(6))
        hard = train_hard_label(data, teacher, iterations=1000)
        distilled = train_distilled(data, teacher)
        assert angle(distilled.w, teacher.w_star) <= angle(hard.w, teacher.w_star) + 1e-12

    def test_batch_equals_single_runs(self, rng) -> None:
        """Same engine, batched: each problem's iterate is the single run's to rounding."""
        data = rng.standard_normal((3, 4, 5))
        labels = (rng.standard_normal((3, 5)) > 0).astype(float)
        batched = hard_label_descent(data, labels, iterations=300)
        for b in range(3):
            single = hard_label_descent(data[b], labels[b], iterations=300)
            # 300 steps each rounding by eps relative to ‖w‖: the runs agree to 300·eps·‖w‖·10.
            np.testing.assert_allclose(batched.w[b], single.w, atol=3000 * EPS * np.linalg.norm(single.w))

    @given(st.integers(1, 6), st.integers(1, 8), st.integers(2, 5), st.integers(0, 2**32 - 1))
    def test_batch_equals_single_runs_for_any_shape(self, dim, n, batch, seed) -> None:
        """Batched hard-label GD (which drops no problem: there is no tolerance) returns each
        problem's single-run iterate and off-span maximum, to the rounding of 200 steps."""
        rng = np.random.default_rng(seed)
        data = rng.standard_normal((batch, dim, n))
        labels = (rng.standard_normal((batch, n)) > 0).astype(float)
        batched = hard_label_descent(data, labels, iterations=200, check_every=7)
        for b in range(batch):
            single = hard_label_descent(data[b], labels[b], iterations=200, check_every=7)
            scale = 2000 * EPS * max(1.0, float(np.linalg.norm(single.w)))
            np.testing.assert_allclose(batched.w[b], single.w, rtol=0, atol=scale)
            assert batched.iterations[b] == single.iterations == 200
            assert abs(batched.off_span_max[b] - single.off_span_max) <= scale


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: max_margin([[1.0, 2.0]], [1, 0]), "labels"),
        (lambda: max_margin([[1.0, 2.0]], [1]), "labels"),
        (lambda: max_margin([[1.0, np.nan]], [1, 1]), "non-finite"),
        (lambda: hard_label_descent([[1.0, 2.0]], [1.0, -1.0], iterations=5), "labels"),
        (lambda: hard_label_descent([[1.0, 2.0]], [1.0, 0.0], iterations=-1), "max_iter"),
        (lambda: hard_label_descent([[1.0, 2.0]], [1.0, 0.0], iterations=5, step=100.0), "step"),
        (lambda: train_hard_label([[1.0, 2.0]], [1.0], iterations=5), "Teacher"),
        (lambda: train_hard_label([[1.0, 0.0], [0.0, 1.0]], Teacher([1.0, 0.0]), iterations=5), "boundary"),
    ],
    ids=["labels-not-pm1", "labels-wrong-length", "data-nan", "hard-labels-not-01", "negative-iterations",
         "unsafe-step", "teacher-not-a-Teacher", "point-on-boundary"],
)
def test_bad_input_is_rejected(call, fragment) -> None:
    """Each bad argument raises InvalidArgument naming the argument or rule."""
    with pytest.raises(InvalidArgument, match=fragment):
        call()
