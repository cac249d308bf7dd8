"""The step budget of the checks about gradient descent itself: a run cut by the budget decides its
example only at a certified distance that resolves the claimed limit, hopeless runs are not made,
the deep student's in-place steps leave the caller's layers alone, and the mixed solver's sparser
checks keep a batch equal to its single runs."""

from __future__ import annotations

import numpy as np
import pytest

from kdverify.claims._cases import DESCENT_MAX_ITER, RESOLUTION
from kdverify.claims.base import Budget, Instance
from kdverify.claims.optimisation import check_linear_bias
from kdverify.training import small_init, train_deep
from kdverify.training.limits import linear_limit
from kdverify.training.mixed import fit_mixed
from kdverify.training.teacher import Teacher


def ill_conditioned(spread: float) -> Instance:
    """Two points at angle ≈ ``spread`` in R³ (rank 2, so P⊥w0 ≠ 0): GD needs ≈ 1/spread² steps."""
    return Instance(
        "generic",
        {
            "points": [[1.0, 0.0, 0.0], [1.0, spread, 0.0]],
            "w_star": [1.0, 2.0, 0.5],
            "temperature": 1.0,
            "w0": [0.5, -1.0, 2.0],
            "step_fraction": 1.0,
        },
    )


def without_off_span_term(data, teacher, w0):
    """The mutant limit P w*/T (the P⊥w0 term dropped)."""
    return linear_limit(data, teacher)


def test_a_run_that_certifies_in_budget_reaches_the_full_tolerance() -> None:
    """Within budget the run stops at 10⁻⁹·max(1, ‖ŵ‖), resolution about 10⁻⁹."""
    evidence = check_linear_bias(ill_conditioned(0.3), Budget(max_iter=100_000))
    assert evidence.holds is True
    assert evidence.details["descent_converged"] is True
    assert evidence.details["resolution"] < 1e-8


def test_a_budget_cut_run_decides_at_the_resolution_it_certified() -> None:
    """Cut at 1000 of the ≈1500 steps it needs, the run still certifies ≈10⁻⁶ of the limit's smallest
    term: the theorem holds and the dropped-term mutant is caught at the same budget."""
    budget = Budget(max_iter=1000)
    evidence = check_linear_bias(ill_conditioned(0.3), budget)
    assert evidence.holds is True
    assert evidence.details["descent_converged"] is False
    assert evidence.details["iterations"] == 1000
    assert evidence.details["resolution"] <= RESOLUTION
    assert check_linear_bias(ill_conditioned(0.3), budget, limit_formula=without_off_span_term).holds is False


def test_a_run_that_resolves_nothing_is_undecided() -> None:
    """300 steps certify no useful distance: undecided, for the theorem and the mutant alike."""
    budget = Budget(max_iter=300)
    assert check_linear_bias(ill_conditioned(0.3), budget).holds is None
    assert check_linear_bias(ill_conditioned(0.3), budget, limit_formula=without_off_span_term).holds is None


@pytest.mark.parametrize(("budget", "ran"), [(300, 0), (100_000, DESCENT_MAX_ITER)])
def test_hopeless_runs_are_not_made_and_every_run_is_capped(budget: int, ran: int) -> None:
    """Predicted ≈ 4000 steps to resolve the limit: not run at a budget of 300 (> 4× over), run to
    :data:`DESCENT_MAX_ITER` at a budget of 10⁵."""
    evidence = check_linear_bias(ill_conditioned(0.1), Budget(max_iter=budget))
    assert evidence.details["iterations"] == ran
    if ran == 0:
        assert evidence.holds is None and "predicted" in str(evidence.lhs)


def test_deep_student_leaves_the_given_layers_alone(rng) -> None:
    """The layers are stepped in place on copies: the caller's init is unchanged."""
    data = rng.standard_normal((4, 2))
    layers = small_init(4, (3,), scale=0.5, rng=rng)
    before = [layer.copy() for layer in layers]
    result = train_deep(data, data.T @ np.array([1.0, 0.0, 0.0, 0.0]), layers, max_iter=50)
    assert result.iterations == 50
    assert all(np.array_equal(layer, kept) for layer, kept in zip(layers, before, strict=True))


def test_mixed_descent_batch_returns_what_single_runs_return() -> None:
    """The mixed solver's literal descent checks each problem on its own schedule: a batch stops
    every problem at the same iterate as its single run (400, 900 and 800 steps), bit for bit."""
    rng = np.random.default_rng(1)
    data, w0 = rng.standard_normal((3, 6, 4)), rng.standard_normal((3, 6))
    teacher = Teacher(rng.standard_normal(6))
    batch = fit_mixed(data, teacher, 0.5, w0, method="gd", newton_iter=0)
    for b in range(3):
        single = fit_mixed(data[b], teacher, 0.5, w0[b], method="gd", newton_iter=0)
        assert bool(single.converged)
        assert np.array_equal(batch.w[b], single.w) and batch.iterations[b] == single.iterations


def test_a_limit_with_no_term_to_resolve_needs_the_full_tolerance() -> None:
    """w* ⊥ span X and w0 ∈ span X: the limit is 0 and has no term to measure a resolution by, so a
    run cut after one step is undecided (not decided at 'resolution 0')."""
    instance = Instance(
        "generic",
        {"points": [[1.0, 0.0, 0.0]], "w_star": [0.0, 1.0, 0.0], "temperature": 1.0, "w0": [1.0, 0.0, 0.0]},
    )
    assert check_linear_bias(instance, Budget(max_iter=1)).holds is None
    assert check_linear_bias(instance, Budget(max_iter=100_000)).holds is True
