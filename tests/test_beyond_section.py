"""The report's section beyond the paper (THEORY.md §8): the batched kernel ridge errors against
the exact ones, the proven range of the errors, and the section itself on reduced sizes."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from kdverify.experiments.beyond import beyond_section, error_range, kernel_errors
from kdverify.experiments.paper import CI_BEYOND, CI_SETTINGS, Scale
from kdverify.training.kernel_ridge import expected_test_error, expected_test_errors, gram, gram_matrices

pytest.importorskip("matplotlib")


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_batched_errors_match_the_exact_rounds(kernel: str) -> None:
    """expected_test_errors (eigendecomposition, floats, batched) equals expected_test_error (one
    solve per round; Fractions for the linear kernel on integer points) at every round and noise."""
    rng = np.random.default_rng(3)
    train, test = rng.integers(-3, 4, size=(2, 3, 5)), rng.integers(-3, 4, size=(2, 3, 4))
    beta = np.array([1, -2, 1])
    lam, noises, rounds = Fraction(1, 3), (0, Fraction(1, 2)), 3
    batched = expected_test_errors(
        gram_matrices(train.astype(float), train.astype(float), kernel, 1.5),
        gram_matrices(test.astype(float), train.astype(float), kernel, 1.5),
        (beta @ train).astype(float), (beta @ test).astype(float), float(lam), [float(s) for s in noises], rounds,
    )
    for b in range(2):
        rows = [[Fraction(int(x)) for x in column] for column in train[b].T]
        tests = [[Fraction(int(x)) for x in column] for column in test[b].T]
        if kernel == "rbf":
            rows, tests = [[float(x) for x in r] for r in rows], [[float(x) for x in r] for r in tests]
        matrix, cross = gram(rows, rows, kernel, 1.5), gram(tests, rows, kernel, 1.5)
        for i, noise in enumerate(noises):
            for t in range(rounds + 1):
                exact = expected_test_error(matrix, cross, list(beta @ train[b]), list(beta @ test[b]), lam, noise, t)
                assert batched[b, i, t] == pytest.approx(float(exact), rel=1e-9, abs=1e-12), (b, noise, t)


def test_kernel_errors_stay_within_their_proven_range() -> None:
    """4 + σ²/(4λ) bounds every error, also at a tiny λ with many close points (where the bound's
    variance term is largest), over many rounds; at a large λ the rounds go to predicting 0."""
    settings = replace(CI_BEYOND, kernel_size=30, kernel_dim=2, kernel_lam=0.01, kernel_rounds=40)
    errors, _ = kernel_errors(settings, 200, 0)
    for values in errors.values():
        for i, noise in enumerate(settings.kernel_noises):
            assert values[:, i, :].max() <= error_range(settings.kernel_lam, noise)
    errors, null = kernel_errors(replace(settings, kernel_lam=100.0), 50, 0)
    for kernel, values in errors.items():
        assert values[:, 0, -1].mean() == pytest.approx(null[kernel], rel=1e-3)


def test_section_on_reduced_sizes(tmp_path: Path) -> None:
    """The section writes three figures, each with a caption that states its settings and a findings
    table, and the two-class softmax student agrees with the distilled one."""
    reduced = replace(
        CI_BEYOND, softmax_sizes=(1, 4), softmax_family=("isotropic", {"dim": 4}), mixed_sizes=(2, 6), kernel_size=10,
    )
    scale = Scale(trials=8, deep_trials=2, settings=replace(CI_SETTINGS, beyond=reduced))
    ticks: list[str] = []
    section = beyond_section(scale, tmp_path, 0, ticks.append)
    assert len(section.figures) == len(section.captions) == 3
    for figure, caption in zip(section.figures, section.captions, strict=True):
        assert (tmp_path / figure).read_bytes().startswith(b"\x89PNG")
        assert caption.startswith("**Settings.**") and "| claim (THEORY.md §8) or question |" in caption
    findings = section.data["findings"]
    assert {f["verdict"] for f in findings} <= {"supports", "contradicts", "inconclusive"}
    assert findings[0]["conclusion"].startswith("multiclass-optimization-bias at K = 2")
    assert findings[0]["verdict"] == "supports"
    assert sum("self-distillation-helps" in f["conclusion"] for f in findings) == 6
    assert len(ticks) == 4 * 2 + 5 * 2 + 2  # as progress_ticks counts them
