"""Self-distillation in kernel ridge regression (THEORY.md §8.3), exact or in floats.

Round 0 fits ``α_0 = (G + λI)⁻¹ y``; round ``t`` refits to the previous round's training
predictions, ``α_t = (G + λI)⁻¹ G α_{t−1}``; the training predictions are ``f_t = G α_t``.

The rounds, the matrix ``A = G(G + λI)⁻¹`` and the expected test error are written once, over
Python numbers: with Fractions (a linear kernel on rational points, rational ``λ``) every value is
exact; with floats (any kernel) the same code runs in double precision. The spectral filter
``f_t = V diag((g/(g + λ))^{t+1}) Vᵀ y`` is computed separately from ``numpy.linalg.eigh``, so the
theorem ``self-distillation-filter`` compares two computations that share nothing but ``G``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from kdverify._util.validation import FloatArray, as_float_array, positive_float
from kdverify.data.exact import solve
from kdverify.errors import InvalidArgument

__all__ = [
    "KERNELS",
    "expected_test_error",
    "expected_test_errors",
    "filter_matrix",
    "filtered",
    "gram",
    "gram_matrices",
    "predictions",
    "rounds",
    "spectral_filter",
]

KERNELS = ("linear", "rbf")
Kernel = Literal["linear", "rbf"]
Number = Any
"""A Fraction (exact; the linear kernel on rational data) or a float: the code is the same."""
Matrix = list[list[Number]]


def gram(
    left: Sequence[Sequence[Number]], right: Sequence[Sequence[Number]], kernel: str, bandwidth: float = 1.0
) -> Matrix:
    """``k(a_i, b_j)`` for points given as rows: ``aᵀb`` (``linear``; exact on Fractions) or
    ``exp(−‖a − b‖²/(2h²))`` (``rbf``, bandwidth ``h``; floats)."""
    if kernel == "linear":
        return [[sum((x * z for x, z in zip(a, b, strict=True)), 0 * a[0]) for b in right] for a in left]
    if kernel == "rbf":
        h2 = 2 * positive_float("bandwidth", float(bandwidth)) ** 2
        return [
            [float(np.exp(-sum((float(x) - float(z)) ** 2 for x, z in zip(a, b, strict=True)) / h2)) for b in right]
            for a in left
        ]
    raise InvalidArgument(f"kernel={kernel!r} is unknown; choose one of {', '.join(KERNELS)}.")


def _shifted(matrix: Matrix, lam: Number) -> Matrix:
    return [[value + (lam if i == j else 0 * lam) for j, value in enumerate(row)] for i, row in enumerate(matrix)]


def _times(matrix: Matrix, vector: Sequence[Number]) -> list[Number]:
    return [sum((a * b for a, b in zip(row, vector, strict=True)), 0 * vector[0]) for row in matrix]


def _solved(matrix: Matrix, rhs: Sequence[Number]) -> list[Number]:
    solution = solve(matrix, list(rhs))
    if solution is None:
        raise InvalidArgument("G + λI is singular: λ must be > 0 and G positive semidefinite.")
    return solution


def rounds(matrix: Matrix, labels: Sequence[Number], lam: Number, count: int) -> list[list[Number]]:
    """``[α_0, …, α_count]``: ``α_0 = (G + λI)⁻¹y``, ``α_t = (G + λI)⁻¹ G α_{t−1}`` — literally,
    one linear solve per round (Fractions stay exact)."""
    if not lam > 0:
        raise InvalidArgument(f"lam={lam!r} must be > 0.")
    shifted = _shifted(matrix, lam)
    alphas = [_solved(shifted, labels)]
    for _ in range(count):
        alphas.append(_solved(shifted, _times(matrix, alphas[-1])))
    return alphas


def predictions(matrix: Matrix, alpha: Sequence[Number]) -> list[Number]:
    """Training predictions ``f = G α``."""
    return _times(matrix, alpha)


def filter_matrix(matrix: Matrix, lam: Number) -> Matrix:
    """``A = G(G + λI)⁻¹``, column by column (``(G + λI)⁻¹`` applied to the unit vectors, then
    ``G``): the matrix whose powers THEORY.md §8.3 says the rounds apply."""
    size = len(matrix)
    shifted = _shifted(matrix, lam)
    unit = [[lam * 0 + (1 if i == j else 0) for i in range(size)] for j in range(size)]
    columns = [_times(matrix, _solved(shifted, e)) for e in unit]
    return [[columns[j][i] for j in range(size)] for i in range(size)]


def filtered(matrix: Matrix, labels: Sequence[Number], lam: Number, power: int) -> list[Number]:
    """``A^power y`` with ``A`` from :func:`filter_matrix`."""
    a = filter_matrix(matrix, lam)
    vector = list(labels)
    for _ in range(power):
        vector = _times(a, vector)
    return vector


def spectral_filter(matrix: ArrayLike, labels: ArrayLike, lam: float, power: int) -> FloatArray:
    """``V diag((g/(g + λ))^power) Vᵀ y`` from the eigendecomposition ``G = V diag(g) Vᵀ`` (floats);
    eigenvalues of ``G`` below 0 by rounding are clipped to 0."""
    g_matrix = as_float_array("matrix", matrix, ndim=2)
    values, vectors = np.linalg.eigh(g_matrix)
    values = np.maximum(values, 0.0)
    factors = (values / (values + positive_float("lam", lam))) ** power
    return vectors @ (factors * (vectors.T @ as_float_array("labels", labels, ndim=1)))


def expected_test_error(
    matrix: Matrix,
    cross: Matrix,
    train_target: Sequence[Number],
    test_target: Sequence[Number],
    lam: Number,
    noise: Number,
    round_index: int,
) -> Number:
    """``E_ε (1/m) Σ_j (f̂_t(x'_j) − f*(x'_j))²`` for labels ``y = f*(X) + ε``, ``ε ~ N(0, σ²I)``.

    ``cross`` holds ``k(x'_j, x_i)`` (rows: test points), ``noise`` is ``σ²``. The round-``t``
    coefficients are ``α_t = M_t y`` with ``M_t`` a symmetric function of ``G``, so the error at a
    test point is ``(k_jᵀ M_t f*)² − …``: bias ``(k_jᵀ α_t(f*) − f*(x'_j))²`` plus variance
    ``σ² ‖M_t k_j‖² = σ² ‖α_t(k_j)‖²`` — the rounds applied to ``k_j`` as labels. Exact on Fractions.
    """
    alpha = rounds(matrix, train_target, lam, round_index)[-1]
    total = 0 * lam
    for k, target in zip(cross, test_target, strict=True):
        bias = sum((a * b for a, b in zip(k, alpha, strict=True)), 0 * lam) - target
        spread = rounds(matrix, k, lam, round_index)[-1]
        total += bias * bias + noise * sum((c * c for c in spread), 0 * lam)
    return total / len(cross)


def gram_matrices(left: FloatArray, right: FloatArray, kernel: str, bandwidth: float = 1.0) -> FloatArray:
    """:func:`gram` in floats for batches of data ``(..., d, n)`` and ``(..., d, m)`` (points as
    columns): ``(..., n, m)``; squared RBF distances below 0 by rounding are clipped to 0."""
    inner = np.swapaxes(left, -1, -2) @ right
    if kernel == "linear":
        return inner
    if kernel == "rbf":
        h2 = 2 * positive_float("bandwidth", float(bandwidth)) ** 2
        squared = np.sum(left**2, axis=-2)[..., :, None] + np.sum(right**2, axis=-2)[..., None, :] - 2 * inner
        return np.exp(-np.maximum(squared, 0.0) / h2)
    raise InvalidArgument(f"kernel={kernel!r} is unknown; choose one of {', '.join(KERNELS)}.")


def expected_test_errors(
    matrix: FloatArray,
    cross: FloatArray,
    train_target: FloatArray,
    test_target: FloatArray,
    lam: float,
    noises: Sequence[float],
    rounds_done: int,
) -> FloatArray:
    """:func:`expected_test_error` of rounds ``0..rounds_done`` for a batch in floats, for several
    noise variances at once, through one eigendecomposition ``G = V diag(g) Vᵀ`` per problem:
    round ``t`` is ``α_t = V diag(h_t(g)) Vᵀy`` with ``h_t(g) = g^t/(g + λ)^{t+1}``, so with
    ``P = K'V`` (``K'`` the ``cross`` kernel ``(..., m, n)``) the error at test point ``j`` is
    ``(Σ_i P_ji h_t(g_i) (Vᵀf*)_i − f*(x'_j))² + σ² Σ_i h_t(g_i)² P_ji²``. ``matrix`` ``(..., n, n)``,
    targets ``(..., n)`` and ``(..., m)``; returns ``(..., len(noises), rounds_done + 1)``.
    Eigenvalues below 0 by rounding are clipped to 0 (as in :func:`spectral_filter`)."""
    lam = positive_float("lam", lam)
    values, vectors = np.linalg.eigh(matrix)
    values = np.maximum(values, 0.0)
    projected = cross @ vectors
    coefficients = np.einsum("...ni,...n->...i", vectors, train_target)
    biases, spreads = [], []
    for t in range(rounds_done + 1):
        factors = (values / (values + lam)) ** t / (values + lam)
        bias = np.einsum("...mi,...i->...m", projected, factors * coefficients) - test_target
        biases.append(np.mean(bias**2, axis=-1))
        spreads.append(np.mean(np.einsum("...mi,...i->...m", projected**2, factors**2), axis=-1))
    bias_part, spread_part = np.stack(biases, axis=-1), np.stack(spreads, axis=-1)
    return np.stack([bias_part + float(noise) * spread_part for noise in noises], axis=-2)
