"""The ρ-mixed student (THEORY.md §8.2): the derivation's identities and its numpy twins, the
training entry ``fit_mixed`` (both methods, batches, inconsistent targets, the reduction to the
distilled student at ρ = 1), its certificate held against a 50-digit minimiser, the exact
expected risk against §3's at ρ = 1, and bad arguments."""

from __future__ import annotations

from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kdverify._util.linalg import span_projector
from kdverify.claims.mixed import exact_expected_mixed_risk
from kdverify.data import Discrete
from kdverify.data.strategies import discrete_distributions
from kdverify.errors import InvalidArgument
from kdverify.measure.expected import exact_expected_risk
from kdverify.theory import get_derivation
from kdverify.training import fit_distilled, fit_mixed
from kdverify.training.losses import loss_gradient
from kdverify.training.mixed import _distinct_columns, certify_mixed, mixed_limit, mixed_logits, mixed_targets
from kdverify.training.teacher import Teacher

DERIVATION = get_derivation("mixed-targets")
RNG = np.random.default_rng(20)


def test_distinct_columns_of_a_batch_match_numpy_unique() -> None:
    """The batched count of distinct columns (one sort for all problems) is ``np.unique``'s, with
    duplicated columns and a ``−0`` that equals ``+0``."""
    rng = np.random.default_rng(3)
    data = rng.integers(-1, 2, (300, 3, 6)).astype(float)
    data[::2, :, 4] = data[::2, :, 1]
    data[7, :, 0], data[7, :, 5] = [0.0, 1.0, -1.0], [-0.0, 1.0, -1.0]
    expected = [np.unique(problem.T, axis=0).shape[0] for problem in data]
    np.testing.assert_array_equal(_distinct_columns(data), expected)


def test_derivation_confirms_gradient_limit_and_reduction() -> None:
    report = DERIVATION.check()
    assert report.confirmed, [failure.identity for failure in report.failures]


@given(st.integers(0, 2**32 - 1), st.sampled_from([0.25, 0.5, 1.0]))
def test_lambdified_limit_and_gradient_match_the_library(seed: int, rho: float) -> None:
    """The derivation's ``ŵ_ρ`` (3×2) and ``∇L`` equal :func:`mixed_limit` and :func:`loss_gradient`."""
    rng = np.random.default_rng(seed)
    data, w0, w = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=3)
    targets, complements = mixed_targets(data, Teacher(rng.normal(size=3)), rho, labeller=rng.normal(size=3))
    logits = mixed_logits(targets, complements)
    limit = np.ravel(DERIVATION.numpy_function("limit[3×2]")(data.tolist(), logits.tolist(), w0.tolist()))
    assert np.allclose(limit, mixed_limit(data, logits, w0), atol=1e-9 * (1 + np.linalg.norm(limit)))
    grad = np.ravel(DERIVATION.numpy_function("gradient[3×2]")(data.tolist(), w.tolist(), targets.tolist()))
    assert np.allclose(grad, loss_gradient(w, data, targets), atol=1e-12)
    assert DERIVATION.numpy_function("target")(0.8, 1.0, rho) == pytest.approx(rho * 0.8 + (1 - rho))


def test_targets_keep_their_distance_to_one() -> None:
    """``1 − t`` is computed directly, so a target within 1e-20 of 1 keeps a finite logit."""
    targets, complements = mixed_targets(np.array([[50.0]]), Teacher([1.0]), 1.0)
    assert targets[0] == 1.0 and 0 < complements[0] < 1e-20


@pytest.mark.parametrize("method", ["auto", "gd"])
def test_both_methods_reach_the_closed_form_when_consistent(method: str) -> None:
    """``n < d``: every route ends within its certificate of ``P⊥w_0 + X(XᵀX)⁺u``."""
    data, teacher = RNG.normal(size=(5, 3)), Teacher(RNG.normal(size=5))
    w0, labeller = RNG.normal(size=5), RNG.normal(size=5)
    result = fit_mixed(data, teacher, 0.5, w0, labeller=labeller, method=method)
    targets, complements = mixed_targets(data, teacher, 0.5, labeller)
    closed = mixed_limit(data, mixed_logits(targets, complements), w0)
    assert result.converged and result.student == "mixed"
    assert str(result.method).startswith("closed form" if method == "auto" else "gradient descent")
    assert np.linalg.norm(result.w - closed) <= result.bound + 1e-12 * np.linalg.norm(closed)


def test_inconsistent_targets_are_certified_by_newton_and_by_gd() -> None:
    """Six points in the plane (``n > d``): ``Xᵀŵ ≠ u``; Newton and GD agree within their certificates."""
    data, teacher = RNG.normal(size=(2, 6)), Teacher([1.0, -0.5])
    auto = fit_mixed(data, teacher, 0.3, labeller=[1.0, 1.0])
    descent = fit_mixed(data, teacher, 0.3, labeller=[1.0, 1.0], method="gd", newton_iter=0)
    assert auto.converged and descent.converged and str(auto.method) == "newton in span X"
    assert np.linalg.norm(auto.w - descent.w) <= auto.bound + descent.bound


def test_rho_one_is_the_distilled_student() -> None:
    data, teacher, w0 = RNG.normal(size=(4, 2)), Teacher(RNG.normal(size=4), 2.0), RNG.normal(size=4)
    mixed, distilled = fit_mixed(data, teacher, 1.0, w0), fit_distilled(data, teacher, w0)
    assert np.linalg.norm(mixed.w - distilled.w) <= mixed.bound + distilled.bound


def test_a_batch_returns_what_single_problems_return() -> None:
    data, teacher = RNG.normal(size=(4, 3, 5)), Teacher([1.0, 2.0, -1.0])
    batch = fit_mixed(data, teacher, 0.25)
    for b in range(4):
        single = fit_mixed(data[b], teacher, 0.25)
        assert np.allclose(batch.w[b], single.w) and batch.converged[b] == single.converged


@pytest.mark.parametrize("seed", range(4))
def test_certificate_bounds_the_distance_to_a_50_digit_minimiser(seed: int) -> None:
    """At perturbed points ``w`` the certificate is at least the true ``‖w − ŵ‖``, with ``ŵ`` from
    Newton in mpmath at 50 digits (duplicated points: inconsistent targets)."""
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(3, 2))
    data = np.hstack([data, data[:, :1]])  # x_3 = x_1 with a different hard label below
    targets, complements = np.array([0.3, 0.8, 0.6]), np.array([0.7, 0.2, 0.4])
    mp.mp.dps = 50
    rows = [mp.matrix([[mp.mpf(data[:, i] @ data[:, k]) for k in range(2)]]) for i in range(3)]  # x_iᵀB, B = x_1, x_2
    v = mp.matrix(2, 1)
    for _ in range(100):
        gradient, hessian = mp.matrix(2, 1), mp.matrix(2, 2)
        for row, t in zip(rows, targets, strict=True):
            s = 1 / (1 + mp.exp(-(row * v)[0]))
            gradient += row.T * (s - mp.mpf(t))
            hessian += row.T * row * (s * (1 - s))
        v -= mp.lu_solve(hessian, gradient)
    exact = data[:, :2] @ np.array([float(v[0]), float(v[1])])
    projector = span_projector(data[None])
    for scale in (1e-3, 1e-6, 1e-9):
        w = exact + scale * (data @ rng.normal(size=3))
        bound = certify_mixed(w[None], data[None], targets[None], complements[None], np.zeros((1, 3)), projector)[0]
        assert np.linalg.norm(w - exact) <= bound


@given(discrete_distributions(max_dim=3, max_support=3), st.integers(1, 2))
def test_exact_mixed_risk_at_rho_one_is_section_three(dist: Discrete, n: int) -> None:
    """At ρ = 1 the mixed student is the distilled one, so its exact expected risk (multisets,
    certified signs) equals §3's inclusion–exclusion sum."""
    ours = exact_expected_mixed_risk(dist, n, Fraction(1), temperature=1.0)
    assert ours == exact_expected_risk(dist, n, temperature=Fraction(1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"rho": 0.0}, "rho=0"), ({"rho": 1.5}, "rho"), ({"rho": 0.5, "method": "newton"}, "method='newton'")],
    ids=["zero-rho", "rho-above-one", "unknown-method"],
)
def test_bad_arguments_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        fit_mixed(np.eye(2), Teacher([1.0, 1.0]), **kwargs)
