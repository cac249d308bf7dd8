"""Gradient descent and gradient flow for the linear student against the closed-form limit
(THEORY.md ``optimization-bias-linear``, ``span-invariance``), batching, budgets and bad input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import qr

from kdverify._util.linalg import span_projector
from kdverify._util.numerics import sigmoid_prime
from kdverify.errors import InvalidArgument, NotConverged
from kdverify.training import flow_distilled, gradient_descent, gradient_flow, newton_refine, train_distilled
from kdverify.training._common import Certificate, certify
from kdverify.training.limits import linear_limit
from kdverify.training.teacher import Teacher

EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class Instance:
    """A standard-normalised instance: ‖w*‖ = 1, x ~ N(0, I) (unit-variance teacher logits)."""

    data: np.ndarray
    teacher: Teacher
    w0: np.ndarray

    @property
    def limit(self) -> np.ndarray:
        return linear_limit(self.data, self.teacher, self.w0)


def make_instance(rng: np.random.Generator, dim: int, n: int, *, duplicate: bool = False) -> Instance:
    """``duplicate`` repeats each of n/2 distinct columns twice (rank n/2)."""
    w_star = rng.standard_normal(dim)
    data = rng.standard_normal((dim, n // 2 if duplicate else n))
    if duplicate:
        data = np.repeat(data, 2, axis=1)
    return Instance(data, Teacher(w_star / np.linalg.norm(w_star), temperature=0.5), rng.standard_normal(dim))


CASES = {"full-rank-n>d": (4, 9, False), "rank-deficient-n<d": (8, 4, False), "duplicated-columns": (6, 6, True)}


def rounding_allowance(instance: Instance) -> float:
    """What rounding can add to ``‖w − ŵ‖`` beyond the certificate.

    (i) ŵ comes from an SVD projector: its subspace is accurate to about (d + n)·eps·κ⁺,
    κ⁺ = σ_max/σ_min⁺, so ŵ is off by that times ‖ŵ‖. (ii) The certificate n‖∇L‖/(λ_min⁺ m) uses a
    computed gradient whose absolute error is about (d + n)·eps·‖X‖_F/√n (residuals are ≤ 1),
    inflated by n/(λ_min⁺·m) with m the smallest curvature σ'(z*_i). A factor 10 covers the
    constants of the first-order error bounds.
    """
    data = instance.data
    dim, n = data.shape
    singular = np.linalg.svd(data, compute_uv=False)
    positive = singular[singular > max(dim, n) * EPS * singular[0]]
    curvature = np.min(sigmoid_prime(instance.teacher.logits(data)))
    limit_error = singular[0] / positive[-1] * np.linalg.norm(instance.limit)
    certificate_error = np.sqrt(n) * np.linalg.norm(data) / (positive[-1] ** 2 * curvature)
    return 10 * (dim + n) * EPS * (limit_error + certificate_error)


def off_span(data: np.ndarray, v: np.ndarray) -> float:
    """‖P⊥v‖ from a QR of X (independent of the solver's SVD projector); rank from the SVD."""
    q, _, _ = qr(data, pivoting=True, mode="economic")
    basis = q[:, : np.linalg.matrix_rank(data)]
    return float(np.linalg.norm(v - basis @ (basis.T @ v)))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
class TestClosedFormLimit:
    def test_gradient_descent_reaches_the_limit_within_its_certificate(self, rng, case) -> None:
        """GD from w_0 ≠ 0 at T = 0.5: ‖w − ŵ‖ ≤ certified bound + rounding, bound ≤ tol."""
        instance = make_instance(rng, *case[:2], duplicate=case[2])
        result = train_distilled(instance.data, instance.teacher, instance.w0)
        error = np.linalg.norm(result.w - instance.limit)
        assert result.converged and result.bound <= result.tol
        assert error <= result.bound + rounding_allowance(instance)

    def test_gradient_flow_reaches_the_limit_within_its_certificate(self, rng, case) -> None:
        """Gradient flow: same certified comparison; the flow ends at the time reported."""
        instance = make_instance(rng, *case[:2], duplicate=case[2])
        result = flow_distilled(instance.data, instance.teacher, instance.w0)
        error = np.linalg.norm(result.w - instance.limit)
        assert result.converged and result.bound <= result.tol and result.time > 0
        assert error <= result.bound + rounding_allowance(instance)

    def test_span_invariance_along_the_flow(self, rng, case) -> None:
        """max over accepted steps of ‖P⊥(w(t) − w_0)‖ is rounding: each step's state is a sum of
        O(1) terms of size ≤ 2‖ŵ‖ + ‖w_0‖ (the flow is Fejér-monotone towards ŵ), each rounding by
        eps, so `steps`·eps·(2‖ŵ‖ + ‖w_0‖)·10 bounds the drift (plus the projector's (d + n)·eps)."""
        instance = make_instance(rng, *case[:2], duplicate=case[2])
        result = flow_distilled(instance.data, instance.teacher, instance.w0)
        size = 2 * np.linalg.norm(instance.limit) + np.linalg.norm(instance.w0)
        allowance = 10 * EPS * size * (result.steps + sum(instance.data.shape))
        assert result.off_span_max <= allowance
        assert off_span(instance.data, result.w - instance.w0) <= allowance


class TestSpanInvariance:
    def test_every_gradient_descent_iterate_stays_in_w0_plus_span(self, rng) -> None:
        """‖P⊥(w_k − w_0)‖ at rounding level for k up to 2000, measured by the solver at every
        iterate and independently (QR projector) at selected k. One step rounds each coordinate of
        w_{k+1} by eps relative, and ‖w_k‖ ≤ 2‖ŵ‖ + ‖w_0‖ (GD with η < 2/L is Fejér-monotone
        towards ŵ), so after k steps the drift is ≤ k·eps·(2‖ŵ‖ + ‖w_0‖) up to a small factor."""
        instance = make_instance(rng, 8, 3)
        size = 2 * np.linalg.norm(instance.limit) + np.linalg.norm(instance.w0)
        logits = instance.teacher.logits(instance.data)
        for k in [1, 10, 100, 2000]:
            result = gradient_descent(instance.data, logits, instance.w0, tol=1e-300, max_iter=k, check_every=1)
            allowance = 10 * EPS * size * (k + sum(instance.data.shape))
            assert result.iterations == k and not result.converged
            assert result.off_span_max <= allowance
            assert off_span(instance.data, result.w - instance.w0) <= allowance
        # The run really moved inside the span, so the invariance is not vacuous.
        assert np.linalg.norm(result.w - instance.w0) > 1e6 * allowance


class TestSteps:
    @pytest.mark.parametrize("fraction", [0.3, 1.0, 1.95], ids=["eta=0.3/L", "eta=1/L", "eta=1.95/L"])
    def test_every_safe_step_converges_to_the_same_limit(self, rng, fraction) -> None:
        """η ∈ (0, 2/L_max) all reach ŵ within the certificate."""
        instance = make_instance(rng, 5, 3)
        lipschitz = np.linalg.norm(instance.data, 2) ** 2 / (4 * instance.data.shape[1])
        result = train_distilled(instance.data, instance.teacher, instance.w0, step=fraction / lipschitz)
        assert result.converged and result.step == pytest.approx(fraction / lipschitz)
        assert np.linalg.norm(result.w - instance.limit) <= result.bound + rounding_allowance(instance)

    def test_budget_exhausted_reports_not_converged(self, rng) -> None:
        """With max_iter = 3 the bound is above tol: converged=False, or NotConverged on request."""
        instance = make_instance(rng, 5, 3)
        result = train_distilled(instance.data, instance.teacher, instance.w0, max_iter=3)
        assert not result.converged and result.iterations == 3 and result.bound > result.tol
        with pytest.raises(NotConverged, match="max_iter=3"):
            train_distilled(instance.data, instance.teacher, instance.w0, max_iter=3, raise_on_failure=True)

    def test_flow_time_budget_exhausted_reports_not_converged(self, rng) -> None:
        """max_time = 0.01 is far too short: the flow stops there with converged=False."""
        instance = make_instance(rng, 5, 3)
        result = flow_distilled(instance.data, instance.teacher, instance.w0, max_time=0.01)
        assert not result.converged and result.time == pytest.approx(0.01) and result.bound > result.tol

    def test_flow_step_budget_bounds_a_crawling_flow(self) -> None:
        """At target logits of ±36 the curvature σ'(z*) ≈ 2e-16 puts the flow's time scale near 10¹⁷
        (THEORY.md §6): the integrator stops at ``max_steps`` accepted steps, uncertified, with the
        off-span drift still measured along the path — it once stepped for minutes and gigabytes."""
        data = np.array([[1.0, 0.5], [0.0, 1.0], [0.0, 0.0]])
        result = gradient_flow(data, [36.0, -36.0], w0=[0.0, 0.0, 1.0], max_steps=300)
        assert not result.converged and 0 < result.steps <= 300 and result.bound > result.tol
        assert result.off_span_max <= 1e-12
        with pytest.raises(InvalidArgument, match="max_steps"):
            gradient_flow(data, [1.0, -1.0], max_steps=0)


class TestBatch:
    def test_batch_equals_per_problem_runs(self, rng) -> None:
        """A batch of 6 problems (varied conditioning) returns, per problem, the iterate and
        iteration count of the single run — each freezing at its own tolerance — and every w is
        certified within tol of its own limit."""
        dim, n, batch = 5, 3, 6
        data = rng.standard_normal((batch, dim, n))
        data[:, :, -1] *= np.geomspace(1.0, 0.15, batch)[:, None]  # shrinking λ_min⁺: slower problems
        w_star = rng.standard_normal(dim)
        teacher = Teacher(w_star / np.linalg.norm(w_star), temperature=0.5)
        w0 = rng.standard_normal((batch, dim))
        batched = train_distilled(data, teacher, w0)
        assert batched.w.shape == (batch, dim) and np.all(batched.converged)
        assert len(set(batched.iterations.tolist())) > 1, "problems should converge at different times"
        limits = linear_limit(data, teacher, w0)
        for b in range(batch):
            single = train_distilled(data[b], teacher, w0[b])
            assert single.iterations == batched.iterations[b]
            assert np.linalg.norm(batched.w[b] - single.w) <= batched.tol[b] + single.tol
            instance = Instance(data[b], teacher, w0[b])
            assert np.linalg.norm(batched.w[b] - limits[b]) <= batched.bound[b] + rounding_allowance(instance)


@st.composite
def batches(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(data (B, d, n), logits (B, n), w0 (B, d))``: 2–5 standard-normalised problems (‖w*‖ = 1,
    T = 1/2) with n < d, n = d or n > d, some with a duplicated column (rank below n) and one
    column shrunk so that the problems converge at different speeds. Shrinks towards fewer,
    smaller problems."""
    batch, dim, n = draw(st.integers(2, 5)), draw(st.integers(2, 6)), draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    data = rng.standard_normal((batch, dim, n))
    if n > 1 and draw(st.booleans()):
        data[0, :, -1] = data[0, :, 0]
    data[:, :, 0] *= np.geomspace(1.0, draw(st.sampled_from([1.0, 0.3])), batch)[:, None]
    w_star = rng.standard_normal(dim)
    teacher = Teacher(w_star / np.linalg.norm(w_star), temperature=0.5)
    return data, teacher.logits(data), rng.standard_normal((batch, dim))


class TestBatchedEqualsSingle:
    """Batched solvers return, per problem, what one run per problem returns: the same stopping
    rule and certificate, so the two iterates lie within their certified bounds of the same limit
    (‖w_batch − w_single‖ ≤ bound_batch + bound_single ≤ 2·tol)."""

    @given(batches())
    def test_gradient_descent(self, problems) -> None:
        """Batched GD against one run per problem: same convergence, within the certified bounds."""
        data, logits, w0 = problems
        batched = gradient_descent(data, logits, w0)
        for b in range(len(data)):
            single = gradient_descent(data[b], logits[b], w0[b])
            assert bool(single.converged) == bool(batched.converged[b])
            if single.converged:
                gap = np.linalg.norm(batched.w[b] - single.w)
                assert gap <= batched.bound[b] + single.bound <= batched.tol[b] + single.tol

    @given(batches())
    def test_newton_refine(self, problems) -> None:
        """Newton on a batch of unfinished GD iterates against Newton on each alone, and both
        against the closed-form limit within their certificates."""
        data, logits, w0 = problems
        start = gradient_descent(data, logits, w0, max_iter=5).w
        batched = newton_refine(data, logits, start, w0)
        for b in range(len(data)):
            single = newton_refine(data[b], logits[b], start[b], w0[b])
            assert bool(single.converged) == bool(batched.converged[b])
            assert single.iterations == batched.iterations[b]
            if single.converged:
                gap = np.linalg.norm(batched.w[b] - single.w)
                assert gap <= batched.bound[b] + single.bound <= batched.tol[b] + single.tol

    def test_newton_reaches_the_limit_of_gradient_descent(self, rng) -> None:
        """From 5 GD steps, batched Newton certifies every problem in a few steps, within its
        bound (plus rounding) of P w*/T + P⊥w0 and within 2·tol of fully converged GD."""
        for case in CASES.values():
            instances = [make_instance(rng, *case[:2], duplicate=case[2]) for _ in range(4)]
            data = np.stack([i.data for i in instances])
            logits = np.stack([i.teacher.logits(i.data) for i in instances])
            w0 = np.stack([i.w0 for i in instances])
            refined = newton_refine(data, logits, gradient_descent(data, logits, w0, max_iter=5).w, w0)
            descended = gradient_descent(data, logits, w0)
            assert np.all(refined.converged) and np.all(refined.iterations <= 10)
            for b, instance in enumerate(instances):
                assert np.linalg.norm(refined.w[b] - instance.limit) <= refined.bound[b] + rounding_allowance(instance)
                assert np.linalg.norm(refined.w[b] - descended.w[b]) <= refined.tol[b] + descended.tol[b]


class TestCertificate:
    def test_batched_certificate_is_certify(self, rng) -> None:
        """Certificate (constants computed once, stacked products) gives certify's numbers
        (span_error_bound's formula) to rounding, on full-rank, rank-deficient and n > d data."""
        for dim, n in [(6, 3), (4, 9), (5, 5)]:
            data = rng.standard_normal((7, dim, n))
            data[0, :, -1] = data[0, :, 0]
            logits = np.einsum("d,bdn->bn", rng.standard_normal(dim), data)
            projector = span_projector(data)
            w0, w = rng.standard_normal((7, dim)), rng.standard_normal((7, dim))
            fast = Certificate.build(data, logits, projector)(w, w0)
            for got, expected in zip(fast, certify(w, w0, data, logits, projector), strict=True):
                np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)

    @pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
    def test_nan_or_infinite_iterate_is_never_certified(self, rng) -> None:
        """A NaN or infinite w gives a NaN or infinite bound, as span_error_bound does."""
        data = rng.standard_normal((2, 3, 2))
        certificate = Certificate.build(data, np.ones((2, 2)), span_projector(data))
        _, _, bound = certificate(np.array([[np.nan, 0.0, 0.0], [np.inf, -np.inf, 0.0]]), np.zeros((2, 3)))
        assert not np.any(bound <= 1e300)


def _bad_inputs():
    """(id, call, message fragment) for argument checks."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 4))
    logits = rng.standard_normal(3) @ data  # interpolable, as teacher logits are
    lipschitz = np.linalg.norm(data, 2) ** 2 / (4 * 4)
    nan_data = data.copy()
    nan_data[1, 2] = np.nan
    return [
        ("step-zero", lambda: gradient_descent(data, logits, step=0.0), "step=0.0"),
        ("step-negative", lambda: gradient_descent(data, logits, step=-1.0), "step=-1.0"),
        ("step-above-2/L", lambda: gradient_descent(data, logits, step=2.001 / lipschitz), "2/L_max"),
        ("step-per-problem-one-unsafe", lambda: gradient_descent(np.stack([data, data]), logits,
                                                                 step=[1.0, 100.0]), "problem 1"),
        ("logits-wrong-length", lambda: gradient_descent(data, logits[:3]), "target_logits"),
        ("logits-not-interpolable", lambda: gradient_descent(np.column_stack([data, data[:, 0]]),
                                                             [0.0, 1.0, 1.0, 1.0, 2.0]), "not Xᵀv"),
        ("logits-nan", lambda: gradient_descent(data, [0.0, np.nan, 1.0, 1.0]), "non-finite"),
        ("w0-wrong-dim", lambda: gradient_descent(data, logits, np.zeros(4)), "w0"),
        ("w0-batch-mismatch", lambda: gradient_descent(np.stack([data, data]), logits, np.zeros((3, 3))), "w0"),
        ("data-nan", lambda: gradient_descent(nan_data, logits), "non-finite"),
        ("data-1d", lambda: gradient_descent(logits, logits), "data"),
        ("data-all-zero", lambda: gradient_descent(np.zeros((3, 4)), logits), "zero columns"),
        ("zero-teacher", lambda: train_distilled(data, Teacher(np.zeros(3))), "zero vector"),
        ("teacher-not-a-Teacher", lambda: train_distilled(data, np.ones(3)), "Teacher"),
        ("teacher-wrong-dim", lambda: train_distilled(data, Teacher(np.ones(5))), "rows"),
        ("tol-negative", lambda: gradient_descent(data, logits, tol=-1.0), "tol"),
        ("rtol-zero", lambda: gradient_descent(data, logits, rtol=0.0), "rtol"),
        ("max_iter-negative", lambda: gradient_descent(data, logits, max_iter=-1), "max_iter"),
        ("check_every-zero", lambda: gradient_descent(data, logits, check_every=0), "check_every"),
        ("flow-batch", lambda: gradient_flow(np.stack([data, data]), logits), "one"),
        ("flow-method", lambda: gradient_flow(data, logits, method="Euler"), "method"),
        ("flow-ode-rtol", lambda: gradient_flow(data, logits, ode_rtol=0.0), "ode_rtol"),
    ]


@pytest.mark.parametrize(("call", "fragment"), [c[1:] for c in _bad_inputs()], ids=[c[0] for c in _bad_inputs()])
def test_bad_input_is_rejected(call, fragment) -> None:
    """Each bad argument raises InvalidArgument naming the argument or rule."""
    with pytest.raises(InvalidArgument, match=fragment):
        call()
