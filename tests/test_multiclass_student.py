"""The softmax student of THEORY.md §8.1: numerics against the symbolic derivation, the solvers
against each other and the closed form, the certificate's soundness, the risk's exact and Monte
Carlo forms against independent computations, and bad input."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from kdverify._util.linalg import span_projector
from kdverify.claims.base import Instance
from kdverify.claims.multiclass import exact_expected_risk, wrong_predictions
from kdverify.data.exact import column_span, dot
from kdverify.errors import InvalidArgument
from kdverify.theory import get_derivation
from kdverify.training import SoftmaxTeacher, fit_distilled, fit_softmax, softmax_limit
from kdverify.training.softmax import logsumexp, softmax, softmax_certificate, softmax_gradient
from kdverify.training.teacher import Teacher


def _problem(rng: np.random.Generator, dim: int, n: int, classes: int) -> tuple[np.ndarray, SoftmaxTeacher, np.ndarray]:
    data = rng.standard_normal((dim, n))
    teacher = SoftmaxTeacher(rng.standard_normal((dim, classes)) / np.sqrt(dim), temperature=1.5)
    return data, teacher, rng.standard_normal((dim, classes))


class TestAgainstTheDerivation:
    def test_gradient_is_the_lambdified_symbolic_gradient(self) -> None:
        """The numpy gradient equals the derivation's numpy twin at random points (K = 3, X 3×2)."""
        twin = get_derivation("multiclass-limit").numpy_function("gradient")
        rng = np.random.default_rng(0)
        for _ in range(5):
            w, data = rng.standard_normal((3, 3)), rng.standard_normal((3, 2))
            targets = softmax(rng.standard_normal((2, 3)))
            expected = np.array(twin(w.tolist(), data.tolist(), targets[:, :2].tolist()), dtype=float)
            np.testing.assert_allclose(softmax_gradient(w, data, targets), expected, rtol=1e-12, atol=1e-14)

    def test_limit_is_the_lambdified_symbolic_limit(self) -> None:
        """softmax_limit equals the derivation's closed form for one point in R^3, K = 3."""
        twin = get_derivation("multiclass-limit").numpy_function("limit")
        rng = np.random.default_rng(1)
        for _ in range(5):
            point, w_star, w0 = rng.standard_normal(3), rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
            expected = np.array(twin(point.tolist(), w_star.tolist(), 0.7, w0.tolist()), dtype=float)
            got = softmax_limit(point[:, None], SoftmaxTeacher(w_star, 0.7), w0)
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


class TestSolvers:
    @pytest.mark.parametrize("classes", [2, 3, 5])
    def test_gradient_descent_reaches_the_closed_form_within_its_certificate(self, classes: int) -> None:
        """Literal batched GD ends within its certified bound of §8.1's limit and keeps the invariants."""
        rng = np.random.default_rng(classes)
        data = rng.standard_normal((8, 5, 3))
        teacher = SoftmaxTeacher(rng.standard_normal((5, classes)) / 2, temperature=0.8)
        w0 = rng.standard_normal((8, 5, classes))
        result = fit_softmax(data, teacher, w0, method="gd", rtol=1e-8, finish=False)
        assert result.converged.all() and set(result.method) == {"softmax gradient descent"}
        distance = np.linalg.norm(result.w - softmax_limit(data, teacher, w0), axis=(1, 2))
        assert np.all(distance <= result.bound + 1e-12)
        projector = span_projector(data)
        moved = result.w - w0
        assert np.abs(moved.sum(axis=-1)).max() < 1e-10
        assert np.abs(moved - projector.basis @ (np.swapaxes(projector.basis, -1, -2) @ moved)).max() < 1e-10

    def test_auto_and_newton_agree_with_gradient_descent(self) -> None:
        """The closed form (auto) and GD cut short then finished by Newton are certified at the same limit."""
        data, teacher, w0 = _problem(np.random.default_rng(2), 6, 4, 4)
        auto = fit_softmax(data, teacher, w0)
        finished = fit_softmax(data, teacher, w0, method="gd", max_iter=20)
        assert bool(auto.converged) and bool(finished.converged)
        assert str(finished.method) == "softmax gradient descent + newton"
        assert np.linalg.norm(auto.w - finished.w) <= auto.bound + finished.bound

    def test_two_classes_reduce_to_the_binary_student(self) -> None:
        """K = 2: w_1 − w_2 of the softmax student is §3's distilled student for w*_1 − w*_2."""
        data, teacher, w0 = _problem(np.random.default_rng(3), 5, 3, 2)
        softmax_student = fit_softmax(data, teacher, w0, method="gd", rtol=1e-10)
        binary = fit_distilled(data, Teacher(teacher.w_star[:, 0] - teacher.w_star[:, 1], 1.5), w0[:, 0] - w0[:, 1])
        difference = softmax_student.w[:, 0] - softmax_student.w[:, 1]
        assert np.linalg.norm(difference - binary.w) <= np.sqrt(2) * softmax_student.bound + binary.bound

    def test_certificate_is_sound_for_any_matrix(self) -> None:
        """The bound is at least the true distance to W_∞, on and off W0 + A (it never uses the closed form)."""
        rng = np.random.default_rng(4)
        data, teacher, w0 = _problem(rng, 5, 3, 3)
        limit = softmax_limit(data, teacher, w0)
        projector = span_projector(data)
        for scale in (1e-8, 1e-3, 1.0):
            for _ in range(10):
                w = limit + scale * rng.standard_normal(limit.shape)
                bound = softmax_certificate(w[None], w0[None], data[None], teacher, span_projector(data[None]))[0]
                assert np.linalg.norm(w - limit) <= bound
        assert int(projector.rank) == 3

    def test_logsumexp_is_stable(self) -> None:
        """Huge logits neither overflow nor lose the answer; softmax rows sum to 1."""
        z = np.array([[1000.0, 999.0, -1000.0], [-800.0, -800.0, -800.0]])
        np.testing.assert_allclose(logsumexp(z), [1000.0 + np.log1p(np.exp(-1.0)), -800.0 + np.log(3.0)])
        np.testing.assert_allclose(softmax(z).sum(axis=-1), 1.0)


class TestRisk:
    def test_monte_carlo_risk_matches_sheppard_for_two_classes(self) -> None:
        """K = 2 on isotropic Gaussian data: the mean disagreement is ∠(w_1 − w_2, w*_1 − w*_2)/π."""
        rng = np.random.default_rng(5)
        w_star, student = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
        points = rng.standard_normal((1, 4, 200_000))
        estimate = wrong_predictions(student[None], w_star, points).mean()
        u, v = student[:, 0] - student[:, 1], w_star[:, 0] - w_star[:, 1]
        exact = np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)) / np.pi
        assert abs(estimate - exact) < 5 * np.sqrt(exact * (1 - exact) / 200_000)

    def test_student_ties_count_as_errors(self) -> None:
        """A student tied at the top is wrong (THEORY.md §1's convention for sign(0))."""
        points = np.array([[[1.0]], [[0.0]]])  # one point e_1 in R^2
        tied = np.array([[[1.0, 1.0], [0.0, 0.0]]])
        assert wrong_predictions(tied, np.array([[1.0, 0.0], [0.0, 0.0]]), points[None, :, :, 0]).item() == 1.0


def _brute_force_expected_risk(instance: Instance, n: int) -> Fraction:
    """``E R_n`` by enumerating all ``m^n`` training sequences (independent of the Möbius sums):
    student columns ``P(w*_k − mean)/T`` from a fresh rational span, errors counted with ties wrong."""
    points = [tuple(p) for p in instance.rationals("points")]
    weights = instance.rationals("weights")
    columns = list(zip(*instance.rationals("w_star"), strict=True))
    classes = len(columns)
    mean = [sum(entries) / classes for entries in zip(*columns, strict=True)]
    total = Fraction(0)
    for sequence in itertools.product(range(len(points)), repeat=n):
        span = column_span([list(row) for row in zip(*(points[j] for j in sequence), strict=True)])
        student = [span.project([c - m for c, m in zip(column, mean, strict=True)]) for column in columns]
        risk = Fraction(0)
        for point, weight in zip(points, weights, strict=True):
            teacher = [dot(column, point) for column in columns]
            scores = [dot(column, point) for column in student]
            winners = [k for k, s in enumerate(scores) if s == max(scores)]
            risk += weight * (winners != [teacher.index(max(teacher))])
        probability = Fraction(1)
        for j in sequence:
            probability *= weights[j]
        total += probability * risk
    return total


class TestExactExpectedRisk:
    @pytest.mark.parametrize("seed", range(4))
    def test_moebius_sums_match_brute_force(self, seed: int) -> None:
        """Exact E R_n (span Möbius sums) equals enumeration over all training sequences."""
        rng = np.random.default_rng(seed)
        classes = 2 + seed % 3
        w_star = rng.integers(-2, 3, size=(3, classes)).tolist()
        points = [p for p in rng.integers(-2, 3, size=(4, 3)).tolist() if any(p)]
        scores = np.array(points) @ np.array(w_star)
        points = [p for p, s in zip(points, scores, strict=True) if np.sum(s == s.max()) == 1]
        if len(points) < 2:
            pytest.skip("drawn support has fewer than two points with a unique teacher class")
        instance = Instance("discrete", {
            "points": points, "weights": [str(Fraction(1, len(points)))] * len(points),
            "w_star": w_star, "temperature": 1, "n": 2,
        })
        for n in (1, 2, 3):
            assert exact_expected_risk(instance, n) == _brute_force_expected_risk(instance, n)


class TestBadInput:
    @pytest.mark.parametrize(
        ("w_star", "temperature"),
        [([[1.0], [2.0]], 1.0), ([[1.0, 0.0]], 0.0), ([[1.0, np.nan]], 1.0)],
        ids=["one-class", "zero-temperature", "nan-teacher"],
    )
    def test_teacher_is_validated(self, w_star: list[list[float]], temperature: float) -> None:
        with pytest.raises(InvalidArgument):
            SoftmaxTeacher(np.array(w_star), temperature)

    def test_fit_softmax_rejects_a_wrong_initialisation_and_method(self) -> None:
        teacher = SoftmaxTeacher(np.eye(3))
        with pytest.raises(InvalidArgument, match="w0 has shape"):
            fit_softmax(np.eye(3), teacher, np.zeros((3, 2)))
        with pytest.raises(InvalidArgument, match="method"):
            fit_softmax(np.eye(3), teacher, method="sgd")
