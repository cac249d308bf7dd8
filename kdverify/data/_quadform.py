"""Cone probabilities of Gaussian laws by Imhof's formula, with a rigorous error bound.

For ``x ~ N(μ, Σ)`` and ``τ = tan²θ`` the event ``γ(x) ≤ θ`` is ``(ŵᵀx)² ≤ τ‖P⊥x‖²``
(``ŵ = w*/‖w*‖``, ``P⊥`` the projector onto ``ŵ⊥``). In coordinates ``y = Hx`` with ``y_1 = ŵᵀx``
(``H`` a Householder reflection) and the Cholesky factor of ``Cov(y)`` taken with ``y_1`` last,
``y_⊥ = L_⊥(z_⊥ + m_⊥)`` and ``y_1 = vᵀ(z + m)`` with ``v = (s, β)``, so the event is ``Q ≤ 0`` for

    Q = (z + m)ᵀ M (z + m),   M = vvᵀ − τ diag(0, L_⊥ᵀL_⊥),   z ~ N(0, I).

By Gil-Pelaez (Imhof 1961),

    P[Q ≤ 0] = ½ − (1/π) ∫_0^∞ Im Ψ(u) du/u,   Ψ(u) = E exp(iuQ/2)
             = det(I − iuM)^{−1/2} · exp((iu/2) mᵀM(I − iuM)⁻¹m).

The eigenvalues of ``M`` are never formed: for angles near 0 or π/2 one of them is tiny next to
the others, and a dense eigensolver would lose it (and with it ``p(θ)``) to rounding. With
``diag(0, L_⊥ᵀL_⊥) = W diag(σ) Wᵀ`` (``σ_1 = 0`` exactly), ``A = I + iuτ diag(σ)``, ``g = Wᵀv``,
``n = Wᵀm`` and ``h = 1 − iu gᵀA⁻¹g`` (determinant lemma and Sherman–Morrison):

    det(I − iuM) = h · Π_j (1 + iuτσ_j),
    mᵀM(I − iuM)⁻¹m = (nᵀg)(gᵀA⁻¹n)/h − τ [nᵀΣA⁻¹n + iu (nᵀΣA⁻¹g)(gᵀA⁻¹n)/h],

with no cancellation. ``Im h < 0`` and ``Re(1 + iuτσ_j) > 0`` for ``u > 0``, so principal
logarithms give the continuous branch of ``Ψ``. The integral runs over ``t = log u`` between
limits where each truncated tail is provably below ``TAIL``; the returned error bound is the
quadrature's estimate plus both tails, divided by ``π``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import linalg

from kdverify._util.validation import FloatArray
from kdverify.errors import NotConverged

__all__ = ["cone_probabilities"]

# Absolute accuracy asked of the shared quadrature, and the bound imposed on each truncated tail.
QUADRATURE_TOLERANCE = 1e-11
TAIL = 1e-15
# The trapezoidal sum's first step in t = log u, the smallest it may halve to, and how many complex
# entries one block of nodes × rows × d may hold (memory).
FIRST_STEP = 0.5
SMALLEST_STEP = 2.0**-7
CHUNK_ENTRIES = 2**18


def _log_range(
    kappa: FloatArray, sigma: FloatArray, g: FloatArray, shift2: FloatArray, mean_q: FloatArray
) -> tuple[float, float]:
    """Limits of ``t = log u`` beyond which every row's tails of ``Im Ψ(e^t) − s(t)`` (the
    integrand less :func:`_leading_term`) are at most ``TAIL`` each.

    Rows are normalised so that ``‖g‖² + τ Σσ = 1``, which bounds ``Σ_j |λ_j(M)|`` and so
    ``|Q| ≤ ‖z + m‖²``. Below: ``Im Ψ(u) = E sin(uQ/2)`` and ``|sin x − x| ≤ |x|³/6``, while
    ``s = (E Q/2) u e^{−u}`` differs from ``(u/2) E Q`` by at most ``(|E Q|/2) u²``; so below ``U``
    the tail is at most ``U³ E‖z + m‖⁶/144 + U² |E Q|/4``, with ``E‖z + m‖⁶ = E X³`` for
    ``X ~ χ²_d(‖m‖²)`` (from its cumulants ``κ₁ = d + λ``, ``κ₂ = 2(d + 2λ)``, ``κ₃ = 8(d + 3λ)``);
    each term is held to ``TAIL/2``. Above: ``|Ψ(u)| ≤ Π_j (u|λ_j|)^{−1/2} = u^{−d/2} |det M|^{−1/2}``
    with ``|det M| = g_1² Π_{j≥2} τσ_j`` (expand along the zero diagonal entry), so the tail is at
    most ``(2/d) U^{−d/2} |det M|^{−1/2}`` (``s`` is integrated exactly, and is below rounding there).
    """
    d = sigma.shape[1]
    first = d + shift2
    sixth = np.max(first**3 + 6 * first * (d + 2 * shift2) + 8 * (d + 3 * shift2))
    largest_mean = max(float(np.max(np.abs(mean_q))), TAIL)
    low = min(np.log(72 * TAIL / sixth) / 3, np.log(2 * TAIL / largest_mean) / 2)
    log_det = 2 * np.log(np.abs(g[:, 0])) + np.sum(np.log(kappa[:, None] * sigma[:, 1:]), axis=1)
    high = (2 / d) * (np.log(2 / (d * TAIL)) - 0.5 * log_det)
    return float(low), float(np.max(high))


def _leading_term(t: FloatArray, mean_q: FloatArray) -> FloatArray:
    """``s(t) = (E Q/2) u e^{−u}`` (``u = e^t``) for every node and row (``(N, R)``): it matches
    ``Im Ψ(e^t) = (u/2) E Q + O(u³)`` as ``t → −∞`` up to ``O(u²)``, so the sum needs few nodes in
    the long left tail; ``∫ s dt = E Q/2``; ``s`` is entire and bounded in the strip
    ``|Im t| < π/2`` where ``Ψ`` is analytic, and negligible at the upper limit."""
    u = np.exp(t)[:, None]
    return 0.5 * mean_q * u * np.exp(-u)


def _integrand(
    t: FloatArray, kappa: FloatArray, sigma: FloatArray, g: FloatArray, n: FloatArray, ng: FloatArray
) -> FloatArray:
    """``Im Ψ(e^t)`` for every node ``t`` (``(N,)``) and row: an ``(N, R)`` array (module docstring)."""
    u = np.exp(t)[:, None]
    diagonal = 1.0 + 1j * u[..., None] * (kappa * sigma)  # A, (N, R, d)
    inverse = 1.0 / diagonal
    h = 1.0 - 1j * u * np.einsum("rd,nrd->nr", g * g, inverse)
    g_n = np.einsum("rd,nrd->nr", g * n, inverse)
    quadratic = ng * g_n / h - kappa[:, 0] * (
        np.einsum("rd,nrd->nr", n * n * sigma, inverse)
        + 1j * u * np.einsum("rd,nrd->nr", n * g * sigma, inverse) * g_n / h
    )
    log_det = np.sum(np.log(diagonal), axis=-1) + np.log(h)
    return np.imag(np.exp(-0.5 * log_det + 0.5j * u * quadratic))


def _below_zero(kappa: FloatArray, sigma: FloatArray, g: FloatArray, n: FloatArray) -> tuple[FloatArray, float]:
    """``P[Q ≤ 0]`` for every row (module docstring) and the absolute error bound.

    The integral over ``t = log u`` is a trapezoidal sum on nodes shared by every row, evaluated
    for all nodes and rows at once. ``Ψ(e^t)`` is analytic in the strip ``|Im t| < π/2`` (its
    singularities sit at ``u = ∓i/λ_j``), so the sum converges geometrically as the step halves
    (error ``O(e^{−π²/h})``); the step is halved, reusing the nodes, until two successive sums
    agree to :data:`QUADRATURE_TOLERANCE` on every row, and their difference — which bounds the
    coarser sum's error, far above the finer one's — is reported as the quadrature's error.
    """
    scale = np.sum(g * g, axis=1) + kappa * np.sum(sigma, axis=1)
    kappa = (kappa / scale)[:, None]
    g = g / np.sqrt(scale)[:, None]
    ng = np.sum(n * g, axis=1)
    # E Q = tr M + mᵀMm with M = ggᵀ − κ diag(σ) in these coordinates.
    mean_q = np.sum(g * g, axis=1) - kappa[:, 0] * np.sum(sigma, axis=1) + ng**2 - kappa[:, 0] * np.sum(
        sigma * n * n, axis=1
    )
    low, high = _log_range(kappa[:, 0], sigma, g, np.sum(n * n, axis=1), mean_q)

    def total(nodes: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        """``Σ_k f(t_k)`` over ``nodes`` for the given rows, in blocks of bounded memory."""
        terms = kappa[rows], sigma[rows], g[rows], n[rows], ng[rows]
        chunk = max(1, CHUNK_ENTRIES // max(1, terms[1].size))
        result = np.zeros(rows.size)
        for first in range(0, nodes.size, chunk):
            block = nodes[first : first + chunk]
            result += np.sum(_integrand(block, *terms) - _leading_term(block, mean_q[rows]), axis=0)
        return result

    step = FIRST_STEP
    nodes: FloatArray = low + step * np.arange(int(np.ceil((high - low) / step)) + 1, dtype=np.float64)
    rows = np.arange(len(g))
    # Σ' f(t_k) with the trapezoid's half weights at both ends; the integral is step times it.
    sums = total(nodes[1:-1], rows) + 0.5 * total(nodes[[0, -1]], rows)
    integral, error = step * sums, np.zeros(len(g))
    while rows.size and step > SMALLEST_STEP:
        # Halve the step on the rows whose last two sums still differ by more than the tolerance.
        middles: FloatArray = nodes[:-1] + step / 2
        sums[rows] += total(middles, rows)
        nodes = np.sort(np.concatenate([nodes, middles]))
        step /= 2
        finer = step * sums[rows]
        error[rows] = np.abs(finer - integral[rows])
        integral[rows] = finer
        rows = rows[error[rows] > QUADRATURE_TOLERANCE]
    worst = float(np.max(error))
    if not worst <= 100 * QUADRATURE_TOLERANCE:
        raise NotConverged(f"Imhof quadrature error estimate {worst:.3g} exceeds its tolerance.")
    integral += 0.5 * mean_q  # ∫ s dt
    return np.clip(0.5 - integral / np.pi, 0.0, 1.0), float((worst + 2 * TAIL) / np.pi)


def _component_terms(
    w_star: FloatArray, mean: FloatArray, chol: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``σ``, ``g`` and ``n`` of the module docstring for the component ``N(μ, LLᵀ)``."""
    d = w_star.size
    reflector = np.eye(d)[0] - w_star / np.linalg.norm(w_star)
    rotation = np.eye(d)
    if reflector @ reflector > 0:
        rotation -= 2 * np.outer(reflector, reflector) / (reflector @ reflector)
    order = [*range(1, d), 0]  # y_⊥ first, y_1 = ŵᵀx last
    factor = rotation[order] @ chol  # Cov(y) = factor factorᵀ, y in the new order
    lower = linalg.cholesky(factor @ factor.T, lower=True)
    shifted = rotation[order] @ mean
    l_perp, beta, s = lower[:-1, :-1], lower[-1, :-1], lower[-1, -1]
    m_perp = linalg.solve_triangular(l_perp, shifted[:-1], lower=True)
    sigma, vectors = linalg.eigh(l_perp.T @ l_perp)
    return (
        np.concatenate([[0.0], sigma]),
        np.concatenate([[s], vectors.T @ beta]),
        np.concatenate([[(shifted[-1] - beta @ m_perp) / s], vectors.T @ m_perp]),
    )


def cone_probabilities(
    tan2: FloatArray, w_star: FloatArray, means: FloatArray, cholesky: FloatArray
) -> tuple[FloatArray, float]:
    """``P_k[γ(x) ≤ θ]`` for ``x ~ N(μ_k, L_k L_kᵀ)``, each ``tan²θ`` and each component ``k``.

    ``tan2`` is ``(C,)`` in ``(0, ∞)``, ``means`` ``(K, d)``, ``cholesky`` ``(K, d, d)`` with
    ``d ≥ 2``. Returns a ``(C, K)`` array and the absolute error bound shared by all entries.
    """
    sigma, g, n = (
        np.array(t)
        for t in zip(*(_component_terms(w_star, m, c) for m, c in zip(means, cholesky, strict=True)), strict=True)
    )
    rows = len(tan2)
    probabilities, error = _below_zero(
        np.repeat(np.asarray(tan2, dtype=np.float64), len(means)),
        np.tile(sigma, (rows, 1)),
        np.tile(g, (rows, 1)),
        np.tile(n, (rows, 1)),
    )
    return probabilities.reshape(rows, len(means)), error
