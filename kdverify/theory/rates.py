"""Derivations ``risk-bound``, ``rate-margin`` and ``rate-polynomial`` (THEORY.md §3), and the
explicit constants of the polynomial rate for the Beta-polarised family.

``rate-polynomial``. Assume ``p(θ) ≤ c θ^κ`` and ``P[α ≤ θ] ≥ c' θ^λ`` on ``[0, θ_0]``, ``w_0 = 0``.

1. For ``0 < θ ≤ θ_0``, ``P[α < θ] = lim_{θ'↑θ} P[α ≤ θ'] ≥ c' θ^λ``, so
   ``p(π/2 − θ) = P[α ≥ θ] ≤ 1 − c' θ^λ`` (and ``c' θ^λ ≤ 1``).
2. ``risk-bound`` and ``(1 − y)^n ≤ e^{−ny}`` (``0 ≤ y ≤ 1``) give
   ``E R_n ≤ c θ^κ + exp(−n c' θ^λ)`` for every ``θ ∈ [0, θ_0]``.
3. ``θ_n = (κ log n / (λ c' n))^{1/λ}`` makes the second term ``n^{−κ/λ}`` and the first
   ``c (κ/(λc'))^{κ/λ} (log n / n)^{κ/λ}``.
4. ``n^{−κ/λ} ≤ (log n / n)^{κ/λ}`` once ``log n ≥ 1``, i.e. ``n ≥ 3``. So with
   ``C = c (κ/(λc'))^{κ/λ} + 1``, ``E R_n ≤ C (log n / n)^{κ/λ}`` whenever ``n ≥ 3`` and
   ``θ_n ≤ θ_0``, i.e. ``log n / n ≤ y := (λ/κ) c' θ_0^λ``.
5. ``log n / n`` decreases for ``n ≥ e``, so the condition holds for all ``n ≥ n_0`` with
   ``n_0 = 3`` if ``y ≥ 1/e`` and otherwise ``n_0 = max(3, ⌈n*⌉)``, ``n* = −W_{−1}(−y)/y`` the
   larger root of ``log n / n = y`` (Lambert W, lower branch).

Beta-polarised ``(a, b)``, ``x_0 = 2θ_0/π``: ``κ = b``, ``λ = a``,
``c = (2/π)^b (1 − x_0)^{min(a−1, 0)} / (b B(a, b))`` (bound ``(1 − u)^{a−1}`` by its largest
value on ``[0, x_0]`` inside ``p = I_x(b, a)``) and
``c' = (2/π)^a (1 − x_0)^{max(b−1, 0)} / (a B(a, b))`` (bound ``(1 − u)^{b−1}`` by its smallest).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
import sympy as sp

from kdverify._util.validation import positive_float
from kdverify.errors import InvalidArgument
from kdverify.theory.core import Derivation, Derived, FunctionSpec, Identity, Step
from kdverify.theory.geometry import DERIVATIONS as GEOMETRY
from kdverify.theory.geometry import MARGIN, MARGIN_PARAMETERS, THETA
from kdverify.theory.symbols import HALF_PI

__all__ = ["DERIVATIONS", "RateConstants", "rate_polynomial_constants"]

N = sp.Symbol("n", positive=True)
P = sp.Function("p")


@functools.cache
def _risk_bound() -> Derived:
    xi = sp.Dummy("xi")
    derivative = sp.diff(P(xi), xi)
    objective = P(THETA) + P(HALF_PI - THETA) ** N
    stationarity = derivative.subs(xi, THETA) - N * P(HALF_PI - THETA) ** (N - 1) * derivative.subs(
        xi, HALF_PI - THETA
    )
    p_theta, miss = sp.symbols("p_theta Q", positive=True)
    m = sp.Symbol("m", positive=True)
    n = 1 + m  # n ≥ 2 written as 1 + m with m > 0, so that 1/(n − 1) is finite
    isotropic = 2 * THETA / sp.pi + (1 - 2 * THETA / sp.pi) ** n
    minimiser = HALF_PI * (1 - n ** (-1 / (n - 1)))
    minimum = 1 - n ** (-1 / (n - 1)) + n ** (-n / (n - 1))
    identities = (
        Identity("B_n'(θ) = p'(θ) − n p(π/2 − θ)^(n−1) p'(π/2 − θ)", sp.diff(objective, THETA), stationarity),
        Identity("with Q = P[α > θ]: p(θ) + Q^n − [p(θ)(1 − Q^n) + Q^n] = p(θ) Q^n ≥ 0",
                 p_theta + miss**N - (p_theta * (1 - miss**N) + miss**N), p_theta * miss**N),
        Identity("[isotropic d=2, n ≥ 2] B_n'(θ*) = 0 at θ* = (π/2)(1 − n^(−1/(n−1)))",
                 sp.diff(isotropic, THETA).subs(THETA, minimiser), 0),
        Identity("[isotropic d=2] B_n'' = n(n−1)(2/π)²(1 − 2θ/π)^(n−2) ≥ 0: θ* is the global minimiser",
                 sp.diff(isotropic, THETA, 2), n * (n - 1) * (2 / sp.pi) ** 2 * (1 - 2 * THETA / sp.pi) ** (n - 2)),
        Identity("[isotropic d=2] min_θ B_n = 1 − n^(−1/(n−1)) + n^(−n/(n−1))",
                 isotropic.subs(THETA, minimiser), minimum),
        Identity("[isotropic d=2] B_n(0) = B_n(π/2) = 1",
                 sp.Matrix([isotropic.subs(THETA, 0), isotropic.subs(THETA, HALF_PI)]), sp.Matrix([1, 1])),
    )
    shown_minimiser, shown_minimum = (sp.simplify(e.subs(m, N - 1)) for e in (minimiser, minimum))
    steps = (
        Step("Let A = {some training point has α(x_i) ≤ θ}; P[not A] = P[α > θ]^n ≤ p(π/2 − θ)^n"),
        Step("On A, the angle lemma gives ∠(ŵ, w*) ≤ θ and the risk-angle lemma R(ŵ) ≤ p(θ); off A, R ≤ 1"),
        Step("Hence E R_n ≤ p(θ) + p(π/2 − θ)^n =: B_n(θ) for every θ; minimise over θ",
             sp.Eq(sp.Symbol("B_n'(θ)"), stationarity)),
        Step("Isotropic d = 2 (p(θ) = 2θ/π): B_n is convex with minimiser",
             sp.Eq(sp.Symbol("θ*"), shown_minimiser)),
        Step("and minimum", sp.Eq(sp.Symbol("min B_n"), shown_minimum)),
    )
    functions = {
        "bound[isotropic d=2]": FunctionSpec((N,), shown_minimum, "min_θ B_n(θ) for p(θ) = 2θ/π, n ≥ 2"),
        "minimiser[isotropic d=2]": FunctionSpec(
            (N,), shown_minimiser, "argmin_θ B_n(θ) for p(θ) = 2θ/π, n ≥ 2"
        ),
    }
    expressions = {"stationarity": sp.Eq(stationarity, 0), "bound[isotropic d=2]": shown_minimum}
    return Derived(expressions, steps, identities, functions)


@functools.cache
def _rate_margin() -> Derived:
    objective = P(THETA) + P(HALF_PI - THETA) ** N
    at_margin = objective.subs(THETA, MARGIN).subs(P(MARGIN), 0)
    margin_p = GEOMETRY["geometry-margin"].expressions
    identities = [Identity("p(θ_m) = 0 ⇒ B_n(θ_m) = p(π/2 − θ_m)^n", at_margin, P(HALF_PI - MARGIN) ** N)]
    functions = {}
    expressions = {"bound": P(HALF_PI - MARGIN) ** N}
    for a, b in MARGIN_PARAMETERS:
        label = f"a={a},b={b}"
        base = margin_p[f"p[{label}]"].subs(THETA, HALF_PI - MARGIN)
        functions[f"bound[margin {label}]"] = FunctionSpec(
            (MARGIN, N), base**N, f"p(π/2 − θ_m)^n for the margin family {label}"
        )
        expressions[f"bound[margin {label}]"] = base**N
    uniform = sp.Piecewise(((sp.pi - 4 * MARGIN) / (sp.pi - 2 * MARGIN), sp.Lt(MARGIN, sp.pi / 4)), (0, True))
    identities.append(
        Identity("[margin a=1,b=1] p(π/2 − θ_m) = (π − 4θ_m)/(π − 2θ_m) < 1 for θ_m < π/4, else 0",
                 margin_p["p[a=1,b=1]"].subs(THETA, HALF_PI - MARGIN), uniform, _piecewise_reducer)
    )
    steps = (
        Step("Take θ = θ_m in the risk bound; p(θ_m) = 0 removes the first term",
             sp.Le(sp.Symbol("E R_n"), P(HALF_PI - MARGIN) ** N)),
        Step("p(π/2 − θ_m) < 1 as soon as some mass lies within π/2 − θ_m of the boundary: "
             "exponential decay in n; for the uniform margin family",
             sp.Eq(sp.Symbol("p(π/2 − θ_m)"), uniform)),
    )
    return Derived(expressions, steps, tuple(identities), functions)


def _piecewise_reducer(residual: sp.Expr) -> sp.Expr:
    """Piecewise residuals: fold the pieces (``piecewise_fold``), then simplify each piece."""
    folded = sp.piecewise_fold(residual)
    if isinstance(folded, sp.Piecewise):
        pieces = [(sp.simplify(expr), cond) for expr, cond in folded.args]
        return sp.Piecewise(*pieces).simplify()
    return sp.simplify(folded)


KAPPA, LAM, C, C_PRIME, THETA0, LOG_N = sp.symbols("kappa lambda c c' theta_0 L", positive=True)
A, B = sp.symbols("a b", positive=True)


@functools.cache
def _rate_polynomial() -> Derived:
    n = sp.exp(LOG_N)  # n = e^L, L = log n > 0
    target = KAPPA * LOG_N / (LAM * n)
    (theta_n,) = sp.solve(sp.Eq(C_PRIME * THETA**LAM, target), THETA)
    constant = C * (KAPPA / (LAM * C_PRIME)) ** (KAPPA / LAM) + 1
    rate = (LOG_N / n) ** (KAPPA / LAM)
    y, w, v = sp.Symbol("y", positive=True), sp.Symbol("w", negative=True), sp.Symbol("v", positive=True)
    x0 = 2 * THETA0 / sp.pi
    c_beta = (2 / sp.pi) ** B * (1 - x0) ** sp.Min(A - 1, 0) / (B * sp.beta(A, B))
    c_prime_beta = (2 / sp.pi) ** A * (1 - x0) ** sp.Max(B - 1, 0) / (A * sp.beta(A, B))
    identities = (
        Identity("θ_n = (κ log n / (λ c' n))^(1/λ) solves c'θ^λ = (κ/λ) log n / n",
                 C_PRIME * theta_n**LAM, target),
        Identity("g(y) = e^(−y) − (1 − y) has g(0) = 0 and g' = 1 − e^(−y) ≥ 0 (y ≥ 0): 1 − y ≤ e^(−y)",
                 sp.Matrix([(sp.exp(-y) - 1 + y).subs(y, 0), sp.diff(sp.exp(-y) - 1 + y, y)]),
                 sp.Matrix([0, 1 - sp.exp(-y)])),
        Identity("exp(−n c'θ_n^λ) = n^(−κ/λ)", sp.exp(-n * C_PRIME * theta_n**LAM), n ** (-KAPPA / LAM)),
        Identity("c θ_n^κ = c (κ/(λc'))^(κ/λ) (log n / n)^(κ/λ)", C * theta_n**KAPPA,
                 C * (KAPPA / (LAM * C_PRIME)) ** (KAPPA / LAM) * rate),
        Identity("C (log n/n)^(κ/λ) − c θ_n^κ − n^(−κ/λ) = n^(−κ/λ)((log n)^(κ/λ) − 1) ≥ 0 for log n ≥ 1",
                 constant * rate - C * theta_n**KAPPA - n ** (-KAPPA / LAM),
                 n ** (-KAPPA / LAM) * (LOG_N ** (KAPPA / LAM) - 1)),
        Identity("d/dn (log n / n) = (1 − log n)/n² < 0 for n > e", sp.diff(sp.log(v) / v, v),
                 (1 - sp.log(v)) / v**2),
        Identity("n* = e^(−w) with w = W_(−1)(−y) (so −w e^w = y) solves log n / n = y",
                 sp.log(sp.exp(-w)) / sp.exp(-w), -w * sp.exp(w)),
        Identity("[Beta-polarised] ∫_0^x u^(b−1) du / B(a, b) = x^b / (b B(a, b)) bounds p when a ≥ 1",
                 sp.integrate(v ** (B - 1), (v, 0, y)) / sp.beta(A, B), y**B / (B * sp.beta(A, B))),
        Identity("[Beta-polarised] ∫_0^x u^(a−1) du / B(a, b) = x^a / (a B(a, b)) bounds P[α ≤ θ] below when b ≤ 1",
                 sp.integrate(v ** (A - 1), (v, 0, y)) / sp.beta(A, B), y**A / (A * sp.beta(A, B))),
    )
    steps = (
        Step("For θ ≤ θ_0: E R_n ≤ p(θ) + p(π/2 − θ)^n ≤ c θ^κ + (1 − c'θ^λ)^n ≤ c θ^κ + exp(−n c'θ^λ)"),
        Step("Choose θ_n with c'θ_n^λ = (κ/λ) log n / n", sp.Eq(sp.Symbol("θ_n"), theta_n.subs(LOG_N, sp.log(N)))),
        Step("Then E R_n ≤ C (log n / n)^(κ/λ) with", sp.Eq(sp.Symbol("C"), constant)),
        Step("valid for n ≥ n_0 = max(3, ⌈−W_(−1)(−y)/y⌉) (n_0 = 3 when y ≥ 1/e), y = (λ/κ) c' θ_0^λ: "
             "then log n ≥ 1 and θ_n ≤ θ_0"),
        Step("Beta-polarised (a, b): κ = b, λ = a, x_0 = 2θ_0/π and", sp.Eq(sp.Symbol("c"), c_beta)),
        Step("and", sp.Eq(sp.Symbol("c'"), c_prime_beta)),
    )
    functions = {
        "theta_n": FunctionSpec((N, KAPPA, LAM, C_PRIME), theta_n.subs(LOG_N, sp.log(N)),
                                "θ_n(n, κ, λ, c')"),
        "C": FunctionSpec((C, C_PRIME, KAPPA, LAM), constant, "C(c, c', κ, λ)"),
        "bound": FunctionSpec((N, C, KAPPA, LAM), C * (sp.log(N) / N) ** (KAPPA / LAM),
                              "C (log n / n)^(κ/λ)"),
        "lambert_root": FunctionSpec((y,), sp.re(-sp.LambertW(-y, -1) / y),
                                     "n* = −W_(−1)(−y)/y, the larger root of log n / n = y < 1/e"),
        "c[beta]": FunctionSpec((A, B, THETA0), c_beta, "c(a, b, θ_0): p(θ) ≤ c θ^b on [0, θ_0]"),
        "c_prime[beta]": FunctionSpec((A, B, THETA0), c_prime_beta,
                                      "c'(a, b, θ_0): P[α ≤ θ] ≥ c' θ^a on [0, θ_0]"),
    }
    expressions = {"theta_n": theta_n.subs(LOG_N, sp.log(N)), "C": constant,
                   "c[beta]": c_beta, "c_prime[beta]": c_prime_beta}
    return Derived(expressions, steps, identities, functions)


class RateConstants(NamedTuple):
    """``E R_n ≤ C (log n / n)^{κ/λ}`` for all ``n ≥ n0`` (module docstring), with the
    assumption constants it was derived from: ``p(θ) ≤ c θ^κ``, ``P[α ≤ θ] ≥ c' θ^λ`` on
    ``[0, θ_0]``."""

    C: float
    n0: int
    c: float
    c_prime: float
    theta0: float
    kappa: float
    lam: float

    def bound(self, n: float) -> float:
        """``C (log n / n)^{κ/λ}``."""
        return float(self.C * (math.log(n) / n) ** (self.kappa / self.lam))

    def theta_n(self, n: float) -> float:
        """The angle ``θ_n`` the bound is evaluated at."""
        return float((self.kappa * math.log(n) / (self.lam * self.c_prime * n)) ** (1 / self.lam))


def rate_polynomial_constants(a: float, b: float, *, theta0: float = math.pi / 4) -> RateConstants:
    """Explicit ``C`` and ``n_0`` of ``rate-polynomial`` for the Beta-polarised family ``(a, b)``.

    ``θ_0 ∈ (0, π/2]`` is where the power bounds are used (``π/2`` only when ``a ≥ 1`` and
    ``b ≤ 1``, where they hold on the whole range).

    >>> constants = rate_polynomial_constants(1, 1)
    >>> round(constants.C, 12), constants.n0
    (2.0, 3)
    """
    a, b = positive_float("a", a), positive_float("b", b)
    theta0 = positive_float("theta0", theta0)
    if theta0 > math.pi / 2:
        raise InvalidArgument(f"theta0={theta0!r} must lie in (0, π/2].")
    rate = DERIVATIONS["rate-polynomial"]
    c = float(rate.numpy_function("c[beta]")(a, b, theta0))
    c_prime = float(rate.numpy_function("c_prime[beta]")(a, b, theta0))
    if not (math.isfinite(c) and c_prime > 0):
        raise InvalidArgument(
            f"theta0={theta0!r} gives c={c}, c'={c_prime} for a={a}, b={b}: the power bounds need "
            "θ_0 < π/2 unless a ≥ 1 and b ≤ 1."
        )
    kappa, lam = b, a
    constant = float(rate.numpy_function("C")(c, c_prime, kappa, lam))
    threshold = c_prime * theta0**lam

    def valid(n: int) -> bool:  # θ_n ≤ θ_0  ⇔  (κ/λ) log n / n ≤ c' θ_0^λ
        return kappa * math.log(n) / (lam * n) <= threshold

    y = lam * threshold / kappa
    n0 = 3 if y >= 1 / math.e else max(3, math.ceil(float(np.real(rate.numpy_function("lambert_root")(y)))))
    while not valid(n0):
        n0 += 1
    while n0 > 3 and valid(n0 - 1):
        n0 -= 1
    return RateConstants(constant, n0, c, c_prime, theta0, kappa, lam)


DERIVATIONS = {
    derivation.id: derivation
    for derivation in (
        Derivation(
            "risk-bound",
            "the bound B_n(θ) = p(θ) + p(π/2 − θ)^n, its stationarity condition and the d = 2 minimum",
            ("w_0 = 0; p non-decreasing on [0, π/2] and differentiable where differentiated",
             "n ≥ 1 (n ≥ 2 for the d = 2 minimiser)"),
            _risk_bound,
        ),
        Derivation(
            "rate-margin",
            "separated classes: E R_n ≤ p(π/2 − θ_m)^n",
            ("w_0 = 0; p(θ_m) = 0", "margin family α = (π/2 − θ_m)·B, B ~ Beta(a, b)"),
            _rate_margin,
        ),
        Derivation(
            "rate-polynomial",
            "polynomial geometry: E R_n ≤ C (log n / n)^(κ/λ) for n ≥ n_0, explicit C and n_0",
            ("w_0 = 0", "p(θ) ≤ c θ^κ and P[α ≤ θ] ≥ c' θ^λ for 0 ≤ θ ≤ θ_0 ≤ π/2; c, c', κ, λ > 0",
             "n = e^L with L = log n; n ≥ 3 so that log n ≥ 1"),
            _rate_polynomial,
        ),
    )
}
