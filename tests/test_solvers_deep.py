"""Deep linear students (THEORY.md ``optimization-bias-deep``): the frozen off-span part of W_1,
the limit formula, balanced inits, the step-safety monitor and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import null_space

from kdverify._util.linalg import span_projector
from kdverify.errors import InvalidArgument
from kdverify.training import (
    balance_defect,
    balanced_init,
    small_init,
    train_deep,
    train_deep_distilled,
)
from kdverify.training.limits import deep_limit
from kdverify.training.teacher import Teacher

EPS = np.finfo(np.float64).eps
DIM, N = 6, 3
WIDTHS = {"depth-2": (4,), "depth-3": (4, 3)}
INITS = {"small": small_init, "balanced": balanced_init}


@pytest.fixture
def problem(rng):
    """Standard normalisation (‖w*‖ = 1, x ~ N(0, I)), T = 0.5, rank 3 < d = 6."""
    w_star = rng.standard_normal(DIM)
    return rng.standard_normal((DIM, N)), Teacher(w_star / np.linalg.norm(w_star), temperature=0.5)


def first_layer_allowance(initial, final, iterations: int) -> float:
    """Rounding scale of ‖(W_1(K) − W_1(0))P⊥‖_F, from the sizes alone.

    Each step W_1 ← W_1 − ηG_1 rounds every entry by eps relative, and the rows of the computed
    G_1 = v ∇L(w)ᵀ carry an off-span error of about n·eps relative to their size; the layer norms
    grow monotonically in these runs, so ‖W_1(k)‖_F ≤ ‖W_1(0)‖_F + ‖W_1(K)‖_F. Measuring P⊥ of the
    change adds (d + n)·eps·‖W_1(K) − W_1(0)‖_F. A factor 10 covers the constants.
    """
    size = np.linalg.norm(initial) + np.linalg.norm(final)
    return 10 * EPS * ((iterations + N) * size + (DIM + N) * np.linalg.norm(final - initial))


@pytest.mark.parametrize("widths", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("init", INITS.values(), ids=INITS.keys())
class TestDeepStudent:
    def test_first_layer_off_span_part_is_frozen(self, rng, problem, widths, init) -> None:
        """W_1(t)P⊥ = W_1(0)P⊥ to rounding, at every checked iterate and (independently, with a
        null-space basis from scipy) at the end; and W_1 did move inside the span."""
        data, teacher = problem
        layers = init(DIM, widths, scale=0.5, rng=rng)
        result = train_deep_distilled(data, teacher, layers, check_every=1)
        allowance = first_layer_allowance(layers[0], result.layers[0], result.iterations)
        complement = null_space(data.T)
        change = result.layers[0] - layers[0]
        assert result.first_layer_drift <= allowance
        assert np.linalg.norm(change @ complement) <= allowance
        assert np.linalg.norm(change) > 1e6 * allowance

    def test_converged_end_to_end_vector_matches_deep_limit(self, rng, problem, widths, init) -> None:
        """‖w − (P w*/T + P⊥W_1(0)ᵀv_∞)‖ ≤ span_bound + ‖v‖·drift + rounding, with v read off the
        trained upper layers; the off-span part is large, so the formula is really tested."""
        data, teacher = problem
        layers = init(DIM, widths, scale=0.5, rng=rng)
        result = train_deep_distilled(data, teacher, layers)
        assert result.converged, result.reason
        assert result.span_bound <= result.tol
        v = result.upper_product
        limit = deep_limit(data, teacher, layers[0], v)
        # deep_limit's SVD projector is accurate to (d + n)·eps·κ⁺ relative (as for linear_limit).
        singular = np.linalg.svd(data, compute_uv=False)
        rounding = 10 * (DIM + N) * EPS * singular[0] / singular[-1] * np.linalg.norm(limit)
        allowance = result.span_bound + np.linalg.norm(v) * result.first_layer_drift + rounding
        assert np.linalg.norm(result.w - limit) <= allowance
        off_span = span_projector(data).complement(layers[0].T @ v)
        assert np.linalg.norm(off_span) > 1e3 * allowance

    def test_balance_defect_grows_by_at_most_the_second_order_budget(self, rng, problem, widths, init) -> None:
        """GD changes W_{j+1}ᵀW_{j+1} − W_jW_jᵀ only at second order: defect(K) ≤ defect(0) +
        η²Σ‖G‖² + rounding (K·eps times the squared layer norms); from a balanced init it stays
        far below the layers' own scale ε² = 0.25."""
        data, teacher = problem
        layers = init(DIM, widths, scale=0.5, rng=rng)
        result = train_deep_distilled(data, teacher, layers)
        squared = max(np.linalg.norm(w) ** 2 for w in (*layers, *result.layers))
        rounding = 10 * EPS * (result.iterations + DIM) * squared
        assert balance_defect(result.layers) <= balance_defect(layers) + result.balance_budget + rounding
        if init is balanced_init:
            assert balance_defect(result.layers) <= 0.25 * 0.25


class TestInits:
    @pytest.mark.parametrize("widths", [(4,), (5, 4, 3), (1, 1)], ids=["2-layers", "4-layers", "width-1"])
    def test_balanced_init_is_balanced_and_small_init_is_not(self, rng, widths) -> None:
        """balanced_init: defect ≤ a few eps·ε²; every layer has norm ε; small_init is not balanced."""
        scale = 0.3
        layers = balanced_init(DIM, widths, scale=scale, rng=rng)
        inner = zip(widths[1:], widths[:-1], strict=True)
        assert [w.shape for w in layers] == [(widths[0], DIM), *inner, (1, widths[-1])]
        assert balance_defect(layers) <= 8 * EPS * scale**2
        np.testing.assert_allclose([np.linalg.norm(w, 2) for w in layers], scale, rtol=4 * EPS)
        if max(widths) > 1:
            assert balance_defect(small_init(DIM, widths, scale=scale, rng=rng)) > 1e-3 * scale**2


class TestStepSafety:
    def test_an_unsafe_step_is_reported_not_trusted(self, rng, problem) -> None:
        """A step that is safe at a tiny init but not once the layers grow stops the run with
        converged=False and the failed condition as the reason."""
        data, teacher = problem
        layers = small_init(DIM, (4,), scale=0.01, rng=rng)
        lipschitz = np.linalg.norm(data, 2) ** 2 / (4 * N)
        result = train_deep_distilled(data, teacher, layers, step=50.0 / lipschitz)
        assert not result.converged and result.reason.startswith("unsafe step")

    def test_budget_exhausted(self, rng, problem) -> None:
        """max_iter = 5: not converged, reason max_iter, five iterations."""
        data, teacher = problem
        result = train_deep_distilled(data, teacher, balanced_init(DIM, (4,), scale=0.5, rng=rng), max_iter=5)
        assert (result.converged, result.reason, result.iterations) == (False, "max_iter", 5)


def _bad_inputs():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((DIM, N))
    logits = rng.standard_normal(N)
    good = balanced_init(DIM, (4,), scale=0.5, rng=rng)
    nan_layer = good[0].copy()
    nan_layer[0, 0] = np.nan
    return [
        ("one-layer", lambda: train_deep(data, logits, [np.ones((1, DIM))]), "N ≥ 2"),
        ("array-not-sequence", lambda: train_deep(data, logits, np.ones((2, 1, DIM))), "sequence"),
        ("first-layer-wrong-columns", lambda: train_deep(data, logits, [np.ones((4, 5)), np.ones((1, 4))]),
         r"layers\[0\]"),
        ("widths-do-not-chain", lambda: train_deep(data, logits, [np.ones((4, DIM)), np.ones((1, 3))]),
         r"layers\[1\]"),
        ("top-layer-two-rows", lambda: train_deep(data, logits, [np.ones((4, DIM)), np.ones((2, 4))]), "1 row"),
        ("nan-layer", lambda: train_deep(data, logits, [nan_layer, good[1]]), "non-finite"),
        ("unsafe-initial-step", lambda: train_deep(data, logits, good, step=1e6), "unsafe"),
        ("negative-step", lambda: train_deep(data, logits, good, step=-1.0), "step"),
        ("batched-data", lambda: train_deep(np.stack([data, data]), logits, good), "one"),
        ("teacher-not-a-Teacher", lambda: train_deep_distilled(data, np.ones(DIM), good), "Teacher"),
        ("no-hidden-width", lambda: balanced_init(DIM, (), scale=0.5, rng=rng), "N ≥ 2"),
        ("zero-width", lambda: small_init(DIM, (4, 0), scale=0.5, rng=rng), "widths"),
        ("zero-scale", lambda: small_init(DIM, (4,), scale=0.0, rng=rng), "scale"),
        ("balance-one-layer", lambda: balance_defect([np.ones((1, DIM))]), "N ≥ 2"),
    ]


@pytest.mark.parametrize(("call", "fragment"), [c[1:] for c in _bad_inputs()], ids=[c[0] for c in _bad_inputs()])
def test_bad_input_is_rejected(call, fragment) -> None:
    """Each bad argument raises InvalidArgument naming the argument or rule."""
    with pytest.raises(InvalidArgument, match=fragment):
        call()
