"""The training entries of :mod:`kdverify.training.train` (issue 11, item 1): ``method="auto"`` and
``method="gd"`` return the same certified limit (within the sum of their certificates), the
certificate — not the method — decides what counts as converged, and bad input is rejected."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kdverify._util.linalg import span_projector
from kdverify.errors import InvalidArgument
from kdverify.training import (
    TrainingResult,
    certify_distilled,
    fit_deep,
    fit_distilled,
    fit_hard_label,
    max_margin,
)
from kdverify.training import train as train_module
from kdverify.training.limits import linear_limit
from kdverify.training.teacher import Teacher

EPS = np.finfo(np.float64).eps


def batch(seed: int, dim: int, n: int, size: int, *, duplicate: bool, w0: bool, temperature: float):
    """``size`` Gaussian training sets ``(size, d, n)`` (``duplicate`` repeats columns, so rank <
    n), a unit teacher at ``temperature`` and ``w0`` (``(size, d)`` Gaussian, or ``None``)."""
    rng = np.random.default_rng(seed)
    w_star = rng.standard_normal(dim)
    data = rng.standard_normal((size, dim, (n + 1) // 2 if duplicate else n))
    if duplicate:
        data = np.repeat(data, 2, axis=-1)[..., :n]
    start = rng.standard_normal((size, dim)) if w0 else None
    return data, Teacher(w_star / np.linalg.norm(w_star), temperature=temperature), start


SHAPES = {"n<d": lambda d: max(1, d // 2), "n=d": lambda d: d, "n>d": lambda d: 2 * d}


@st.composite
def batches(draw: st.DrawFn):
    dim = draw(st.integers(2, 8))
    n = SHAPES[draw(st.sampled_from(sorted(SHAPES)))](dim)
    return batch(
        draw(st.integers(0, 2**32 - 1)),
        dim,
        n,
        draw(st.integers(1, 6)),
        duplicate=draw(st.booleans()),
        w0=draw(st.booleans()),
        temperature=draw(st.sampled_from([0.5, 1.0, 2.0])),
    )


def rounding(w: np.ndarray) -> np.ndarray:
    """Rounding of the computed ``‖a − b‖`` between two students of size ``‖w‖``."""
    return 8 * w.shape[-1] * EPS * np.maximum(1.0, np.linalg.norm(w, axis=-1))


@settings(max_examples=30, deadline=None)
@given(batches())
def test_auto_and_gd_agree_within_their_certificates(case) -> None:
    """Both certified (bound ≤ tol), and ‖w_auto − w_gd‖ ≤ bound_auto + bound_gd (triangle
    inequality through the limit ŵ, which both bounds are about); the closed-form limit lies
    within each certificate too."""
    data, teacher, w0 = case
    auto = fit_distilled(data, teacher, w0)
    gd = fit_distilled(data, teacher, w0, method="gd")
    for result in (auto, gd):
        assert isinstance(result, TrainingResult) and result.w.shape == data.shape[:2]
        assert np.all(result.converged) and np.all(result.bound <= result.tol)
    assert set(auto.method) <= {"closed form", "closed form + newton"}
    assert set(gd.method) <= {"gradient descent", "gradient descent + newton"}
    assert np.all(auto.iterations[auto.method == "closed form"] == 0)
    assert np.all(gd.iterations > 0) or np.all(np.linalg.norm(gd.w - (0 if w0 is None else w0), axis=-1) <= gd.bound)
    gap = np.linalg.norm(auto.w - gd.w, axis=-1)
    assert np.all(gap <= auto.bound + gd.bound + rounding(auto.w))
    limit = linear_limit(data, teacher, w0)
    assert np.all(np.linalg.norm(gd.w - limit, axis=-1) <= gd.bound + rounding(limit) * 1e3)
    assert sum(auto.counts().values()) - auto.counts()["uncertified"] == len(data)


@settings(max_examples=20, deadline=None)
@given(batches(), st.floats(1e-6, 1.0), st.booleans())
def test_the_certificate_refuses_a_planted_wrong_student(case, size: float, in_span: bool) -> None:
    """A student moved by ``δ`` from the limit (inside span X or orthogonal to it) gets a bound
    ≥ ‖δ‖ — a certificate is a proof, so it can never claim less than the true distance."""
    data, teacher, w0 = case
    rng = np.random.default_rng(len(data))
    limit = linear_limit(data, teacher, w0)
    projector = span_projector(data)
    direction = rng.standard_normal(limit.shape)
    direction = projector.project(direction) if in_span else projector.complement(direction)
    norms = np.linalg.norm(direction, axis=-1, keepdims=True)
    if np.any(norms < 1e-3):  # no room off the span (n ≥ d, full rank)
        return
    planted = limit + size * direction / norms
    bound = certify_distilled(planted, data, teacher, w0)
    assert np.all(bound >= size * (1 - 1e-6))
    assert np.all(bound > 1e-9 * np.maximum(1.0, np.linalg.norm(limit, axis=-1)))


def test_auto_refines_what_the_certificate_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong closed form (planted) is refused, refined by Newton and certified again; without
    Newton steps it comes back unconverged — never silently as converged."""
    data, teacher, w0 = batch(1, 5, 4, 6, duplicate=False, w0=True, temperature=1.0)
    right = train_module._closed_form

    def wrong(projector, teacher_, start):
        return right(projector, teacher_, start) + projector.project(np.ones_like(start))

    monkeypatch.setattr(train_module, "_closed_form", wrong)
    refined = fit_distilled(data, teacher, w0)
    assert np.all(refined.converged) and set(refined.method) == {"closed form + newton"}
    assert np.all(refined.iterations > 0)
    np.testing.assert_allclose(refined.w, linear_limit(data, teacher, w0), atol=1e-8)
    refused = fit_distilled(data, teacher, w0, newton_iter=0)
    assert not np.any(refused.converged) and np.all(refused.bound > refused.tol)
    assert refused.counts() == {"closed form": 6, "uncertified": 6}


def test_gd_without_finish_reports_unconverged_students() -> None:
    """Literal GD cut off after 10 steps, with no Newton finish: unconverged, bound > tol."""
    data, teacher, w0 = batch(2, 6, 6, 4, duplicate=False, w0=True, temperature=0.5)
    result = fit_distilled(data, teacher, w0, method="gd", max_iter=10, finish=False)
    assert not np.any(result.converged) and np.all(result.bound > result.tol)
    assert np.all(result.iterations == 10) and set(result.method) == {"gradient descent"}


def test_single_problem_and_batch_agree() -> None:
    """A ``(d, n)`` problem returns unbatched fields equal to its row of the batch."""
    data, teacher, w0 = batch(3, 4, 3, 3, duplicate=False, w0=True, temperature=1.0)
    batched = fit_distilled(data, teacher, w0)
    single = fit_distilled(data[1], teacher, w0[1])
    assert single.w.shape == (4,) and bool(single.converged) and str(single.method) == "closed form"
    np.testing.assert_allclose(single.w, batched.w[1], rtol=0, atol=1e-14)


def test_hard_label_auto_is_the_max_margin_direction_and_gd_tends_to_it() -> None:
    """``auto`` returns the unit max-margin direction of each set, KKT-certified; hard-label GD has
    no certificate (``inf``, unconverged) and its direction approaches auto's as steps grow."""
    data, teacher, _ = batch(4, 3, 5, 4, duplicate=False, w0=False, temperature=1.0)
    auto = fit_hard_label(data, teacher)
    assert np.all(auto.converged) and np.all(auto.bound <= 1) and set(auto.method) == {"max-margin (LDP)"}
    signs = 2.0 * teacher.hard_labels(data) - 1.0
    for b in range(len(data)):
        np.testing.assert_allclose(auto.w[b], max_margin(data[b], signs[b]).direction, atol=1e-12)
    cosines = []
    for steps in (100, 10_000):
        gd = fit_hard_label(data, teacher, method="gd", iterations=steps)
        assert not np.any(gd.converged) and np.all(np.isinf(gd.bound)) and np.all(gd.iterations == steps)
        unit = gd.w / np.linalg.norm(gd.w, axis=-1, keepdims=True)
        cosines.append(np.einsum("bd,bd->b", unit, auto.w))
    assert np.all(cosines[1] >= cosines[0] - 1e-12) and np.all(cosines[1] > 0.97)


def test_deep_auto_is_gradient_descent_and_certified() -> None:
    """``auto`` equals ``gd`` for the deep student (same draws, same students); the certified
    bound covers ``‖P(w − w*/T)‖``."""
    data, teacher, _ = batch(5, 3, 2, 2, duplicate=False, w0=False, temperature=1.0)
    auto = fit_deep(data, teacher, rng=np.random.default_rng(0), max_iter=20_000)
    gd = fit_deep(data, teacher, method="gd", rng=np.random.default_rng(0), max_iter=20_000)
    np.testing.assert_array_equal(auto.w, gd.w)
    assert np.all(auto.converged) and set(auto.method) == {"deep gradient descent"}
    projector = span_projector(data)
    error = np.linalg.norm(projector.project(auto.w - teacher.target), axis=-1)
    assert np.all(error <= auto.bound + rounding(auto.w))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda d, t: fit_distilled(d, t, method="newton"), "method"),
        (lambda d, t: fit_distilled(d, np.ones(4)), "Teacher"),  # type: ignore[arg-type]
        (lambda d, t: fit_distilled(d, Teacher(np.ones(5))), "rows"),
        (lambda d, t: fit_distilled(d, t, np.ones(3)), "w0"),
        (lambda d, t: fit_distilled(np.full((4, 3), np.nan), t), "finite"),
        (lambda d, t: fit_distilled(np.zeros((4, 3)), t), "zero"),
        (lambda d, t: fit_distilled(d, t, max_iter=-1), "max_iter"),
        (lambda d, t: certify_distilled(np.ones(3), d, t), "shape"),
        (lambda d, t: fit_hard_label(d, t, method="sgd"), "method"),
        (lambda d, t: fit_hard_label(d, t, method="gd", iterations=0), "iterations"),
        (lambda d, t: fit_deep(d, t, method="exact", rng=np.random.default_rng(0)), "method"),
        (lambda d, t: fit_deep(d, t, scale=-1.0, rng=np.random.default_rng(0)), "scale"),
    ],
    ids=[
        "unknown-method",
        "not-a-teacher",
        "teacher-wrong-dim",
        "w0-wrong-shape",
        "nan-data",
        "zero-data",
        "negative-max-iter",
        "certify-wrong-shape",
        "hard-unknown-method",
        "hard-zero-iterations",
        "deep-unknown-method",
        "deep-negative-scale",
    ],
)
def test_bad_input_is_rejected(call, match: str) -> None:
    data, teacher, _ = batch(6, 4, 3, 1, duplicate=False, w0=False, temperature=1.0)
    with pytest.raises(InvalidArgument, match=match):
        call(data[0], teacher)


def test_hard_label_sets_failing_the_batched_checks_go_to_max_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    """A set whose batched NNLS result fails max_margin's checks (here: a planted all-zero NNLS
    solution, i.e. "not separable") is handed to max_margin itself, which certifies it (or raises)."""
    data, teacher, _ = batch(7, 4, 6, 3, duplicate=False, w0=False, temperature=1.0)
    expected = fit_hard_label(data, teacher)
    monkeypatch.setattr(train_module, "nnls", lambda matrix, target: (np.zeros(matrix.shape[1]), 0.0))
    fallback = fit_hard_label(data, teacher)
    np.testing.assert_allclose(fallback.w, expected.w, atol=1e-12)
    assert np.all(fallback.converged) and np.all(fallback.bound <= 1)


@pytest.mark.parametrize("method", ["auto", "gd"])
def test_curve_records_its_method(method: str, tmp_path) -> None:
    """``kdverify curve --method`` trains with that method and says so in the CSV and JSON."""
    import csv
    import json

    pytest.importorskip("matplotlib")
    from kdverify.cli import main

    argv = ["curve", "--family", "isotropic", "--param", "dim=3", "--n", "2,3", "--trials", "8", "--seed", "1"]
    assert main([*argv, "--method", method, "--out", str(tmp_path)]) == 0
    with open(tmp_path / "isotropic-curve.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["method"] for row in rows} == {method}
    payload = json.loads((tmp_path / "isotropic-curve.json").read_text())
    assert payload["method"] == method and payload["students"]["distilled"].startswith(f"method {method}")


def test_unknown_method_is_a_usage_error(capsys) -> None:
    from kdverify.cli import main

    base = ["curve", "--family", "isotropic", "--n", "1", "--trials", "5", "--method", "newton"]
    assert main(base) == 2
    assert main(["report", "--method", "newton"]) == 2


def _newton_in_float64(X: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """An exact method in float arithmetic: Newton on the soft-target loss until its step vanishes."""
    w = np.zeros(X.shape[0])
    for _ in range(200):
        p = 1 / (1 + np.exp(-(X.T @ w)))
        step = np.linalg.lstsq((X * (p * (1 - p))) @ X.T, X @ (p - targets), rcond=None)[0]
        w -= step
        if np.linalg.norm(step) <= 1e-15 * max(1.0, np.linalg.norm(w)):
            break
    return w


def test_a_user_trainer_is_held_to_what_its_float_targets_resolve() -> None:
    """At teacher logit 28 the float target σ(28) = 1 − 6.9·10⁻¹³ resolves the logit only to ≈ 1.6·10⁻⁴,
    so even Newton to convergence ends ≈ 5·10⁻⁵ from ŵ, beyond any rtol promise: the bound adds that
    rounding (and still rejects a student off by more); a target that rounds to 1 leaves it undecided."""
    X, teacher = np.array([[1.0], [3.0]]), Teacher([1.0, 2.0], 0.25)
    result = train_module.fit_user(train_module.UserTrainer(_newton_in_float64, rtol=1e-9), X, teacher)
    distance = float(np.linalg.norm(result.w - linear_limit(X, teacher)))
    assert 1e-6 < distance <= float(result.bound) < 2e-4 and bool(result.converged)
    off = train_module.UserTrainer(lambda X, targets: _newton_in_float64(X, targets) * (1 + 1e-4), rtol=1e-9)
    shifted = train_module.fit_user(off, X, teacher)
    assert np.linalg.norm(shifted.w - linear_limit(X, teacher)) > float(shifted.bound)
    saturated = train_module.fit_user(train_module.UserTrainer(_newton_in_float64), X, Teacher([1.0, 2.0], 0.1))
    assert not bool(saturated.converged) and not np.isfinite(saturated.bound)
