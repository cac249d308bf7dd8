"""The loss calculus of THEORY.md §1 against finite differences, and stability at huge logits."""

from __future__ import annotations

import numpy as np
import pytest

from kdverify._util.numerics import binary_entropy, sigmoid, sigmoid_prime, softplus
from kdverify.training.losses import loss_gradient, loss_hessian, loss_value
from kdverify.training.teacher import Teacher

EPS = np.finfo(np.float64).eps


def central_difference(f, w: np.ndarray, h: float) -> np.ndarray:
    """Gradient of scalar ``f`` by central differences with step ``h``."""
    basis = np.eye(w.size)
    return np.array([(f(w + h * e) - f(w - h * e)) / (2 * h) for e in basis])


class TestScalars:
    def test_softplus_and_sigmoid_at_extreme_logits(self) -> None:
        """softplus(±1000), σ(±1000), σ'(±1000) are finite and exact to rounding."""
        z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
        assert np.all(np.isfinite(softplus(z)))
        assert softplus(1000.0) == 1000.0 and softplus(-1000.0) == 0.0
        np.testing.assert_allclose(softplus(-40.0), np.exp(-40.0), rtol=4 * EPS)
        np.testing.assert_allclose(sigmoid(z), [0.0, np.exp(-40.0), 0.5, 1.0, 1.0], rtol=4 * EPS)
        # σ'(40) = e^{-40}/(1+e^{-40})² — the naive σ(1−σ) would return 0 here.
        np.testing.assert_allclose(sigmoid_prime(40.0), np.exp(-40.0), rtol=8 * EPS)
        assert sigmoid_prime(1000.0) == 0.0 and sigmoid_prime(0.0) == 0.25

    def test_binary_entropy(self) -> None:
        """H(0) = H(1) = 0, H(1/2) = log 2."""
        np.testing.assert_allclose(binary_entropy([0.0, 0.5, 1.0]), [0.0, np.log(2), 0.0], atol=0)


class TestLoss:
    @pytest.mark.parametrize("scale", [1.0, 30.0])
    def test_gradient_and_hessian_match_finite_differences(self, rng, scale) -> None:
        """∇L and ∇²L against central differences; tolerance = truncation h² + rounding eps/h."""
        d, n = 4, 6
        data = scale * rng.standard_normal((d, n))
        targets = Teacher(rng.standard_normal(d), 1.5).soft_labels(data)
        w = rng.standard_normal(d) / scale
        h = 1e-5 / scale
        # Third derivatives of L are bounded by ‖x‖³/n·(1/6√3); rounding in L is ~eps·|L|·‖x‖/h.
        third = np.max(np.linalg.norm(data, axis=0)) ** 3
        tolerance = third * h**2 + 10 * EPS * (1 + abs(loss_value(w, data, targets))) / h
        numeric_gradient = central_difference(lambda v: loss_value(v, data, targets), w, h)
        np.testing.assert_allclose(loss_gradient(w, data, targets), numeric_gradient, atol=tolerance)
        numeric_hessian = np.stack(
            [central_difference(lambda v, i=i: loss_gradient(v, data, targets)[i], w, h) for i in range(d)]
        )
        np.testing.assert_allclose(loss_hessian(w, data), numeric_hessian, atol=tolerance * scale)

    def test_stable_at_logits_of_1000(self) -> None:
        """Value, gradient and Hessian stay finite and exact when the student's logits are ±1000."""
        data = np.array([[1000.0, -1000.0], [0.0, 0.0]])
        w = np.array([1.0, 0.0])
        targets = np.array([1.0, 0.0])
        assert loss_value(w, data, targets) == 0.0
        assert np.all(loss_gradient(w, data, targets) == 0.0)
        assert np.all(np.isfinite(loss_hessian(w, data)))
        wrong = np.array([0.0, 1.0])
        np.testing.assert_allclose(loss_value(-w, data, targets), 1000.0, rtol=4 * EPS)
        assert np.all(np.isfinite(loss_gradient(wrong, data, targets)))

    def test_broadcasts_over_a_batch(self, rng) -> None:
        """A batch of problems gives the same numbers as the problems one by one."""
        data = rng.standard_normal((3, 4, 5))
        w = rng.standard_normal((3, 4))
        targets = rng.random((3, 5))
        batched = loss_gradient(w, data, targets)
        for b in range(3):
            np.testing.assert_allclose(batched[b], loss_gradient(w[b], data[b], targets[b]), rtol=1e-14)
