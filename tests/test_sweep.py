"""One example, a sweep of sample sizes (issue 11): the multi-size paired comparison
(:func:`kdverify.claims._estimates.paired_difference` with ``sizes``), the exact sums at several
sizes, and ``monotone-risk-expected`` on a window ``n..n_hi``."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from kdverify.claims._estimates import paired_difference
from kdverify.claims._instances import sweep_sizes
from kdverify.claims.base import Budget, Instance
from kdverify.claims.certificates import make_certificate, replay, stored_certificate
from kdverify.claims.registry import get_claim
from kdverify.data import from_params
from kdverify.errors import InvalidArgument
from kdverify.measure.expected import exact_expected_risk, exact_expected_risks
from kdverify.training.limits import linear_limit, nested_limits

BUDGET = Budget(alpha=1e-3, trials=500)
SIZES = (2, 3, 4, 5)


def planted_draw(rng: np.random.Generator, shifts: dict[int, float]):
    """Risks ``U(0, 1/2)`` paired per size, the compared side raised by ``shifts[n]`` (a planted
    violation of that size) and otherwise lowered by 0.1 (the claim holds with room)."""

    def draw(trials: int) -> tuple[np.ndarray, np.ndarray]:
        reference = rng.uniform(0, 0.5, (len(SIZES), trials))
        noise = rng.uniform(-0.1, 0.1, (len(SIZES), trials))
        shift = np.array([[shifts.get(n, -0.1)] for n in SIZES])
        return np.clip(reference + noise + shift, 0, 1), reference

    return draw


def test_planted_violation_at_one_size_is_the_reported_worst_size(rng: np.random.Generator) -> None:
    evidence = paired_difference(planted_draw(rng, {4: 0.15}), BUDGET, sizes=SIZES)
    assert evidence.holds is False
    assert evidence.details["n"] == 4 and evidence.details["sizes"] == len(SIZES)
    worst = next(size for size in evidence.details["per_size"] if size["n"] == 4)
    assert evidence.lhs == worst["lower"] > 0 and evidence.interval["upper"] == worst["upper"]
    assert all(size["lower"] <= 0 for size in evidence.details["per_size"] if size["n"] != 4)


def test_every_size_holding_holds_with_every_size_decided(rng: np.random.Generator) -> None:
    evidence = paired_difference(planted_draw(rng, {}), BUDGET, sizes=SIZES)
    assert evidence.holds is True
    per_size = evidence.details["per_size"]
    assert [size["n"] for size in per_size] == list(SIZES)
    assert all(size["upper"] <= 0 for size in per_size)  # every size decided, so the rounds stopped early
    assert max(size["trials"] for size in per_size) < BUDGET.trials
    assert evidence.lhs == max(size["lower"] for size in per_size)


def test_one_size_is_the_unsplit_check(rng: np.random.Generator) -> None:
    """Without ``sizes`` the evidence is the single comparison it always was (no sweep details)."""
    evidence = paired_difference(lambda k: (np.full(k, 0.2), np.full(k, 0.3)), BUDGET)
    assert evidence.holds is True and "sizes" not in evidence.details
    assert evidence.details["mean_risks"] == pytest.approx({"compared": 0.2, "reference": 0.3})


def test_risks_equal_on_every_training_set_are_no_evidence(rng: np.random.Generator) -> None:
    """Two students whose risks agree on every trial cannot show a violation, whatever their level
    (one training point gives the distilled and the max-margin student the same direction): the
    evidence says so (``differing``), and the claims' content tests do not count it; one trial that
    differs is enough to count, at one size or at some size of a window."""
    claim = get_claim("distill-beats-hard-expected")
    instance = Instance("isotropic", {"family_params": {"dim": 5, "radius": "gaussian"}, "n": 3, "seed": 0})
    same = rng.uniform(0, 0.5, BUDGET.trials)
    tied = paired_difference(lambda k: (same[:k], same[:k]), BUDGET)
    assert tied.holds is True and tied.details["differing"] == 0
    assert not claim.content.test(instance, tied)
    apart = paired_difference(lambda k: (same[:k], np.r_[same[: k - 1], same[k - 1] + 0.1]), BUDGET)
    assert apart.details["differing"] >= 1 and claim.content.test(instance, apart)
    window = Instance("isotropic", {**instance.values, "n": 2, "n_hi": 3})
    monotone = get_claim("monotone-risk-expected")
    rows = rng.uniform(0, 0.5, (2, BUDGET.trials))
    swept = paired_difference(lambda k: (rows[:, :k], rows[:, :k]), BUDGET, sizes=[2, 3])
    assert [size["differing"] for size in swept.details["per_size"]] == [0, 0]
    assert not monotone.content.test(window, swept)
    lowered = paired_difference(lambda k: (rows[:, :k] * [[1.0], [0.5]], rows[:, :k]), BUDGET, sizes=[2, 3])
    assert monotone.content.test(window, lowered)


def test_exact_sums_at_several_sizes_match_one_size_at_a_time() -> None:
    family = from_params("discrete", points=[[0, 1, 0], [1, -2, 0], [-2, 1, 2]], weights=["1/3"] * 3, w_star=[1, 1, 1])
    sizes = [1, 2, 3, 5]
    for ties in ("error", "correct"):
        expected = [exact_expected_risk(family, n, temperature=Fraction(2), ties=ties) for n in sizes]
        assert exact_expected_risks(family, sizes, temperature=Fraction(2), ties=ties) == expected


def test_exact_window_reports_the_violating_size() -> None:
    """The stored counterexample (a violation at n = 1) still replays, and a window around it
    reports n = 1 as its worst size, each size's sides the exact risks."""
    certificate = stored_certificate("monotone-risk-expected", "discrete")
    assert certificate is not None and replay(certificate).valid
    values = {**certificate["instance"], "n": 1, "n_hi": 4}
    instance = Instance("discrete", values)
    evidence = get_claim("monotone-risk-expected").check(instance, BUDGET)
    assert evidence.holds is False and evidence.exact and evidence.details["n"] == 1
    assert evidence.details["sizes"] == 4 and evidence.lhs == Fraction(2, 27)
    windowed = make_certificate(get_claim("monotone-risk-expected"), "discrete", instance, evidence, BUDGET)
    assert windowed["instance"]["n_hi"] == 4 and replay(windowed).valid  # the certificate holds the window
    family = from_params("discrete", **values["family_params"])
    for size in evidence.details["per_size"]:
        n = size["n"]
        assert (size["lhs"], size["rhs"]) == (exact_expected_risk(family, n + 1), exact_expected_risk(family, n))


def test_monte_carlo_window_checks_every_size() -> None:
    values = {"family_params": {"dim": 6}, "n": 1, "n_hi": 4, "seed": 7, "temperature": 1.0, "w0": None}
    instance = Instance("anisotropic", values)  # isotropic windows are exact (tests/test_isotropic_expected.py)
    claim = get_claim("monotone-risk-expected")
    evidence = claim.check(instance, BUDGET)
    assert evidence.holds is True and [size["n"] for size in evidence.details["per_size"]] == sweep_sizes(instance)
    assert claim.content.test(instance, evidence)


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        sweep_sizes(Instance("isotropic", {"n": 3, "n_hi": 2}))


def test_nested_limits_match_linear_limit_on_every_prefix(rng: np.random.Generator) -> None:
    """One QR for all prefixes agrees with an SVD per prefix, on independent columns and on sets
    whose columns repeat or vanish (those take ``linear_limit`` itself)."""
    teacher = from_params("isotropic", dim=5).teacher(2.0)
    data = rng.standard_normal((6, 5, 4))
    data[0, :, 2] = data[0, :, 0]
    data[1, :, 3] = 0.0
    sizes = (1, 2, 3, 4)
    expected = np.stack([linear_limit(data[:, :, :k], teacher) for k in sizes])
    np.testing.assert_allclose(nested_limits(data, teacher, sizes), expected, atol=1e-13)
    np.testing.assert_allclose(nested_limits(data[3], teacher, (2, 4)), expected[[1, 3], 3], atol=1e-13)
    wide = rng.standard_normal((2, 5, 7))  # more points than dimensions
    np.testing.assert_allclose(nested_limits(wide, teacher, (7,))[0], linear_limit(wide, teacher), atol=1e-13)
    with pytest.raises(InvalidArgument, match="prefix lengths"):
        nested_limits(data, teacher, (0, 2))
