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
from scipy import integrate, linalg

from kdverify._util.validation import FloatArray
from kdverify.errors import NotConverged

__all__ = ["cone_probabilities"]

# Absolute accuracy asked of the shared quadrature, and the bound imposed on each truncated tail.
QUADRATURE_TOLERANCE = 1e-11
TAIL = 1e-15


def _log_range(kappa: FloatArray, sigma: FloatArray, g: FloatArray, shift2: FloatArray) -> tuple[float, float]:
    """Limits of ``t = log u`` beyond which every row's tails are at most ``TAIL`` each.

    Rows are normalised so that ``‖g‖² + τ Σσ = 1``, which bounds ``Σ_j |λ_j(M)|``.
    Below: ``|Im Ψ| ≤ |arg Ψ| ≤ u·½ Σ_j |λ_j|(1 + δ_j²) ≤ u·½(1 + ‖m‖²)``.
    Above: ``|Ψ(u)| ≤ Π_j (u|λ_j|)^{−1/2} = u^{−d/2} |det M|^{−1/2}`` with
    ``|det M| = g_1² Π_{j≥2} τσ_j`` (expand along the zero diagonal entry), so the tail is at most
    ``(2/d) U^{−d/2} |det M|^{−1/2}``.
    """
    low = np.log(TAIL / np.max(0.5 * (1.0 + shift2)))
    d = sigma.shape[1]
    log_det = 2 * np.log(np.abs(g[:, 0])) + np.sum(np.log(kappa[:, None] * sigma[:, 1:]), axis=1)
    high = (2 / d) * (np.log(2 / (d * TAIL)) - 0.5 * log_det)
    return float(low), float(np.max(high))


def _below_zero(kappa: FloatArray, sigma: FloatArray, g: FloatArray, n: FloatArray) -> tuple[FloatArray, float]:
    """``P[Q ≤ 0]`` for every row (module docstring) and the absolute error bound."""
    scale = np.sum(g * g, axis=1) + kappa * np.sum(sigma, axis=1)
    kappa = (kappa / scale)[:, None]
    g = g / np.sqrt(scale)[:, None]
    low, high = _log_range(kappa[:, 0], sigma, g, np.sum(n * n, axis=1))
    ng = np.sum(n * g, axis=1)

    def integrand(t: float) -> FloatArray:
        u = np.exp(t)
        diagonal = 1.0 + 1j * u * kappa * sigma  # A
        inverse = 1.0 / diagonal
        h = 1.0 - 1j * u * np.sum(g * g * inverse, axis=1)
        g_n = np.sum(g * n * inverse, axis=1)
        quadratic = ng * g_n / h - kappa[:, 0] * (
            np.sum(n * n * sigma * inverse, axis=1) + 1j * u * np.sum(n * g * sigma * inverse, axis=1) * g_n / h
        )
        log_det = np.sum(np.log(diagonal), axis=1) + np.log(h)
        return np.imag(np.exp(-0.5 * log_det + 0.5j * u * quadratic))

    # Ψ changes on the scales u ≈ 1/|λ_j|: near 1/(τσ_j), near 1 and, for the small eigenvalue
    # of wide cones, near 1/g_1².
    with np.errstate(divide="ignore"):
        scales = np.concatenate([(kappa * sigma).ravel(), g[:, 0] ** 2, [1.0]])
        features = np.unique(np.round(-np.log(scales[scales > 0])))
    features = features[(features > low) & (features < high)]
    integral, error = integrate.quad_vec(
        integrand,
        low,
        high,
        epsabs=QUADRATURE_TOLERANCE,
        epsrel=0.0,
        norm="max",
        limit=2000,
        points=features.tolist(),
    )
    if not error <= 100 * QUADRATURE_TOLERANCE:
        raise NotConverged(f"Imhof quadrature error estimate {error:.3g} exceeds its tolerance.")
    return np.clip(0.5 - integral / np.pi, 0.0, 1.0), float((error + 2 * TAIL) / np.pi)


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
