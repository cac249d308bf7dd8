"""Claims about self-distillation in kernel ridge regression (THEORY.md §8.3): the theorems
``self-distillation-filter`` and ``self-distillation-shrinks``, and both readings of the open
``self-distillation-helps`` — for every instance of a family (``self-distillation-helps``) and for
some instance (``self-distillation-helps-exists``, an existence claim).

Families are kernels: ``linear-kernel`` (``G = XᵀX`` on integer points, rational ``λ``, labels and
noise: every quantity is an exact Fraction) and ``rbf-kernel`` (``exp(−‖x − x'‖²/(2h²))``, in
floats with tolerances derived from the conditioning of ``G + λI``).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np
from hypothesis import strategies as st

from kdverify.claims._cases import EPS, ratio_evidence
from kdverify.claims.base import Budget, Claim, Content, Evidence, Instance, Mutant
from kdverify.training.kernel_ridge import expected_test_error, filtered, gram, predictions, rounds, spectral_filter

KERNEL_FAMILIES = ("linear-kernel", "rbf-kernel")
LAMBDAS = ("1/4", "1/2", "1", "2", "4")
NOISES = ("0", "1/4", "1", "4")
BANDWIDTHS = ("1/2", "1", "2")


def _kernel(instance: Instance) -> str:
    return "linear" if instance.family == "linear-kernel" else "rbf"


def _exact(instance: Instance) -> bool:
    return instance.family == "linear-kernel"


def _number(instance: Instance, key: str) -> Fraction | float:
    value = Fraction(instance[key])
    return value if _exact(instance) else float(value)


def _points(instance: Instance, key: str) -> list[list[Fraction | float]]:
    rows = instance.rationals(key)
    return rows if _exact(instance) else [[float(x) for x in row] for row in rows]


def _gram(instance: Instance, left: str = "points", right: str = "points") -> list[list[Any]]:
    bandwidth = float(Fraction(instance.get("bandwidth", 1)))
    return gram(_points(instance, left), _points(instance, right), _kernel(instance), bandwidth)


def _labels(instance: Instance) -> list[Any]:
    values = instance.rationals("labels")
    return values if _exact(instance) else [float(x) for x in values]


def _sup(vector: list[Any]) -> Any:
    return max(abs(x) for x in vector)


def _float_tolerance(matrix: list[list[float]], lam: float, size: float, rounds_done: int) -> float:
    """Rounding slack for ``rounds_done`` kernel ridge solves and an eigendecomposition of ``G``:
    each solve of the SPD system ``G + λI`` is backward stable, so its relative error is at most
    ``c·n·eps·κ`` with ``κ = (‖G‖ + λ)/λ``; ``eigh`` perturbs each filter factor ``g/(g + λ)`` by
    ``n·eps·‖G‖/λ``. Summed over the rounds, times 16, relative to ``size``."""
    n = len(matrix)
    norm = float(np.linalg.norm(np.array(matrix), 2))
    condition = (norm + lam) / lam
    return 16.0 * (rounds_done + 1) * n * n * EPS * condition * max(1.0, norm) * size


PowerOf = Callable[[int], int]


def check_filter(instance: Instance, budget: Budget, *, power_of: PowerOf = lambda t: t + 1) -> Evidence:
    """``f_t = G α_t`` from the literal rounds equals ``A^{power_of(t)} y`` (the claim: ``t + 1``)
    for every round ``t ≤ rounds``: exactly (``A = G(G + λI)⁻¹`` in Fractions) for the linear
    kernel; against the spectral filter of ``eigh`` within the derived rounding for RBF."""
    matrix, labels, lam = _gram(instance), _labels(instance), _number(instance, "lam")
    count = int(instance["rounds"])
    fits = [predictions(matrix, alpha) for alpha in rounds(matrix, labels, lam, count)]
    informative = any(x != 0 for x in fits[0]) if _exact(instance) else _sup(fits[0]) > 1e-12
    if _exact(instance):
        gaps = [_sup([a - b for a, b in zip(f, filtered(matrix, labels, lam, power_of(t)), strict=True)])
                for t, f in enumerate(fits)]
        worst = max(gaps)
        details = {"meaning": "max_t ‖f_t − A^{t+1}y‖_∞", "informative": informative, "predictions": fits}
        return Evidence(worst == 0, worst, "<=", 0, exact=True, details=details)
    parts = {}
    for t, f in enumerate(fits):
        claimed = spectral_filter(matrix, labels, float(lam), power_of(t))
        size = float(np.linalg.norm(labels))
        error = float(np.linalg.norm(np.array(f) - claimed))
        parts[f"round {t}"] = (error, _float_tolerance(matrix, float(lam), size, t))
    return ratio_evidence(parts, informative=informative, predictions=fits)


RateOf = Callable[[Any, Any], Any]


def check_shrinks(
    instance: Instance, budget: Budget, *, rate_of: RateOf = lambda g, lam: g / (g + lam), reverse: bool = False
) -> Evidence:
    """``‖f_{t+1}‖ ≤ ‖f_t‖`` for every round, and ``‖f_t‖² ≤ a^{2(t+1)}‖y‖²`` with
    ``a = rate_of(tr G, λ) = tr G/(tr G + λ) < 1`` (``tr G ≥ g_max``, so ``a ≥ g_max/(g_max + λ)``):
    the norms fall to 0 geometrically. Squared norms, exact for the linear kernel. ``reverse``
    (a mutant) claims the norms grow."""
    matrix, labels, lam = _gram(instance), _labels(instance), _number(instance, "lam")
    count = int(instance["rounds"])
    fits = [predictions(matrix, alpha) for alpha in rounds(matrix, labels, lam, count)]
    squares = [sum((x * x for x in f), 0 * lam) for f in fits]
    trace = sum((matrix[i][i] for i in range(len(matrix))), 0 * lam)
    rate = rate_of(trace, lam)
    label_square = sum((x * x for x in labels), 0 * lam)
    # margin = claimed upper side − actual side, per inequality; the claim holds when all are ≥ 0
    margins = [
        (squares[t + 1] - squares[t]) if reverse else (squares[t] - squares[t + 1]) for t in range(count)
    ] + [rate ** (2 * (t + 1)) * label_square - squares[t] for t in range(count + 1)]
    worst = min(margins)
    informative = squares[0] != 0 if _exact(instance) else squares[0] > 1e-24
    details = {"squared_norms": squares, "rate": rate, "informative": informative}
    if _exact(instance):
        return Evidence(worst >= 0, -worst, "<=", 0, exact=True, details=details)
    tolerance = 2 * _float_tolerance(matrix, float(lam), float(label_square), count)
    return Evidence(worst >= -tolerance, -worst, "<=", 0, tolerance=tolerance, details=details)


def _test_errors(instance: Instance) -> tuple[Any, Any]:
    """Expected test errors of rounds 0 and 1 for labels ``y = βᵀx + ε``, ``ε ~ N(0, σ²I)``, on the
    instance's test points (equally weighted), against the noiseless target ``βᵀx``."""
    matrix, cross = _gram(instance), _gram(instance, "test_points", "points")
    beta = _points(instance, "beta_rows")[0]
    train = [sum((b * x for b, x in zip(beta, p, strict=True)), 0 * beta[0]) for p in _points(instance, "points")]
    test = [sum((b * x for b, x in zip(beta, p, strict=True)), 0 * beta[0]) for p in _points(instance, "test_points")]
    lam, noise = _number(instance, "lam"), _number(instance, "noise")
    return tuple(expected_test_error(matrix, cross, train, test, lam, noise, t) for t in (0, 1))


def _helps_evidence(instance: Instance, lhs: Any, rhs: Any, meaning: str) -> Evidence:
    if _exact(instance):
        return Evidence(lhs <= rhs, lhs, "<=", rhs, exact=True, details={"meaning": meaning})
    tolerance = _float_tolerance(_gram(instance), float(_number(instance, "lam")), max(lhs, rhs, 1e-300), 1)
    return Evidence(lhs <= rhs + tolerance, lhs, "<=", rhs, tolerance=tolerance, details={"meaning": meaning})


def check_helps(instance: Instance, budget: Budget) -> Evidence:
    """For-all reading: round 1's expected test error is at most round 0's."""
    first, second = _test_errors(instance)
    return _helps_evidence(instance, second, first, "expected test error of round 1 (lhs) and round 0 (rhs)")


def check_helps_witness(instance: Instance, budget: Budget) -> Evidence:
    """Existence reading, as its negation on one instance: round 1 does *not* lower the expected
    test error (``err_0 ≤ err_1``). A violation is a witness: round 1 strictly better."""
    first, second = _test_errors(instance)
    return _helps_evidence(instance, first, second, "expected test error of round 0 (lhs) and round 1 (rhs)")


# ----------------------------------------------------------------------------------------------
# Instances and content.


def _integer_rows(count: st.SearchStrategy[int], dim: int) -> st.SearchStrategy[list[list[int]]]:
    return count.flatmap(
        lambda size: st.lists(st.lists(st.integers(-3, 3), min_size=dim, max_size=dim), min_size=size, max_size=size)
    )


@st.composite
def kernel_problems(draw: st.DrawFn, family: str, *, test: bool = False) -> Instance:
    """Integer training points (rows), ``λ`` and, for the RBF kernel, a bandwidth; then integer
    labels and a number of rounds, or with ``test`` the test points, a linear target ``β`` (labels
    ``βᵀx + ε``) and a noise variance ``σ²``."""
    dim = draw(st.integers(1, 3))
    points = draw(_integer_rows(st.integers(2, 5), dim))
    values: dict[str, Any] = {"points": points, "lam": draw(st.sampled_from(LAMBDAS))}
    if family == "rbf-kernel":
        values["bandwidth"] = draw(st.sampled_from(BANDWIDTHS))
    if test:
        values["test_points"] = draw(_integer_rows(st.integers(1, 4), dim))
        values["beta_rows"] = [draw(st.lists(st.integers(-2, 2), min_size=dim, max_size=dim).filter(any))]
        values["noise"] = draw(st.sampled_from(NOISES))
    else:
        values["labels"] = draw(st.lists(st.integers(-3, 3), min_size=len(points), max_size=len(points)).filter(any))
        values["rounds"] = draw(st.integers(1, 4))
    return Instance(family, values)


FIT_NONZERO = Content(
    "f_0 ≠ 0 (the labels are not in the kernel's null space, so the rounds have something to filter)",
    lambda instance, evidence: bool(evidence.details.get("informative")),
)


def _errors_positive(instance: Instance, evidence: Evidence) -> bool:
    """A compared test error above 0 (beyond its tolerance)."""
    return max(float(evidence.lhs), float(evidence.rhs)) > (evidence.tolerance or 0.0)


ERRORS_POSITIVE = Content("a compared expected test error above 0", _errors_positive)

CLAIMS = (
    Claim(
        id="self-distillation-filter",
        status="theorem",
        statement="kernel ridge self-distillation: f_t = G α_t = A^{t+1} y with A = G(G + λI)⁻¹",
        latex=r"f_t = G\alpha_t = \bigl(G (G + \lambda I)^{-1}\bigr)^{t+1} y",
        source="THEORY.md §8.3 (after Mobahi, Farajtabar & Bartlett 2020); derivation self-distillation",
        families=KERNEL_FAMILIES,
        instances=kernel_problems,
        check=check_filter,
        content=FIT_NONZERO,
        mutants=(
            Mutant("power-t", "f_t = A^t y: one round too few", partial(check_filter, power_of=lambda t: t)),
            Mutant(
                "power-2t",
                "f_t = A^{2t+1} y: rounds compound twice",
                partial(check_filter, power_of=lambda t: 2 * t + 1),
            ),
        ),
    ),
    Claim(
        id="self-distillation-shrinks",
        status="theorem",
        statement="‖f_t‖ is non-increasing in t and ‖f_t‖ ≤ (tr G/(tr G + λ))^{t+1}‖y‖ → 0",
        latex=(
            r"\|f_{t+1}\| \le \|f_t\| \le "
            r"\Bigl(\tfrac{\operatorname{tr} G}{\operatorname{tr} G + \lambda}\Bigr)^{t+1} \|y\|"
        ),
        source="THEORY.md §8.3; derivation self-distillation",
        families=KERNEL_FAMILIES,
        instances=kernel_problems,
        check=check_shrinks,
        content=FIT_NONZERO,
        mutants=(
            Mutant("grows", "‖f_t‖ ≤ ‖f_{t+1}‖: rounds add norm", partial(check_shrinks, reverse=True)),
            Mutant(
                "rate-lambda",
                "‖f_t‖ ≤ (λ/(tr G + λ))^{t+1}‖y‖: the complementary factor",
                partial(check_shrinks, rate_of=lambda g, lam: lam / (g + lam)),
            ),
        ),
    ),
    Claim(
        id="self-distillation-helps",
        status="open",
        statement="for every instance: round 1's expected test error (squared, noiseless target) ≤ round 0's",
        latex=r"\forall\ \text{instances}:\ \mathbb E\,\mathrm{err}(f_1) \le \mathbb E\,\mathrm{err}(f_0)",
        source="THEORY.md §8.3 (open, the for-all reading)",
        families=KERNEL_FAMILIES,
        instances=partial(kernel_problems, test=True),
        check=check_helps,
        content=ERRORS_POSITIVE,
    ),
    Claim(
        id="self-distillation-helps-exists",
        status="open",
        statement="some instance: round 1's expected test error (squared, noiseless target) < round 0's",
        latex=r"\exists\ \text{instance}:\ \mathbb E\,\mathrm{err}(f_1) < \mathbb E\,\mathrm{err}(f_0)",
        source="THEORY.md §8.3 (open, the existence reading of self-distillation-helps)",
        families=KERNEL_FAMILIES,
        instances=partial(kernel_problems, test=True),
        check=check_helps_witness,
        content=ERRORS_POSITIVE,
        quantifier="exists",
    ),
)
