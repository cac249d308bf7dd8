"""Derivations of the data-geometry functions ``p(θ) = P[γ(x) ≤ θ]`` (THEORY.md §2):
``geometry-isotropic``, ``geometry-beta-polarised`` and ``geometry-margin``.

Two functions are shown equal by equal derivatives on the open interval and equal values at its
left end (both sides are continuous there), which is how the incomplete beta enters.
"""

from __future__ import annotations

import functools

import sympy as sp

from kdverify.theory.core import Derivation, Derived, FunctionSpec, Identity, Reducer, Step
from kdverify.theory.reduce import quadrant_reducer
from kdverify.theory.symbols import HALF_PI

__all__ = ["BETA_PARAMETERS", "DERIVATIONS", "ISOTROPIC_DIMENSIONS", "MARGIN_PARAMETERS"]

THETA = sp.Symbol("theta", positive=True)
GAMMA = sp.Symbol("gamma", positive=True)
MARGIN = sp.Symbol("theta_m", positive=True)
ISOTROPIC_DIMENSIONS = (2, 3, 4, 5)
BETA_PARAMETERS = tuple((a, b) for a in (1, 2, 3) for b in (1, 2, 3))
MARGIN_PARAMETERS = ((1, 1), (2, 3))


def _beta_function(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """``B(a, b)`` evaluated to a closed form (π or a rational for the parameters used here)."""
    return sp.gammasimp(sp.gamma(a) * sp.gamma(b) / sp.gamma(a + b))


def _agree_with(text: str, f: sp.Expr, g: sp.Expr, variable: sp.Symbol, start: sp.Expr,
                reducer: Reducer | None = None) -> list[Identity]:
    """``f = g`` on an interval from ``start``: equal derivatives and equal values at ``start``."""
    return [
        Identity(f"{text}: derivatives agree", sp.diff(f, variable), sp.diff(g, variable), reducer),
        Identity(f"{text}: values agree at {start}", f.subs(variable, start), g.subs(variable, start)),
    ]


def incomplete_beta(a: sp.Expr, b: sp.Expr, x: sp.Expr) -> sp.Expr:
    """The regularised incomplete beta ``I_x(a, b)`` as sympy's ``betainc_regularized``."""
    return sp.betainc_regularized(a, b, 0, x)


@functools.cache
def _isotropic() -> Derived:
    u = sp.Symbol("u", real=True)
    quadrant = quadrant_reducer(THETA)
    identities: list[Identity] = []
    expressions: dict[str, sp.Expr] = {}
    functions: dict[str, FunctionSpec] = {}
    for d in ISOTROPIC_DIMENSIONS:
        half = sp.Rational(d - 1, 2)
        norm = _beta_function(sp.Rational(1, 2), half)
        coordinate = (1 - u**2) ** sp.Rational(d - 3, 2) / norm
        # γ = arcsin|u|: two values ±u per γ, |du/dγ| = cos γ.
        angle_density = 2 * coordinate.subs(u, sp.sin(GAMMA)) * sp.cos(GAMMA)
        cos_form = 2 * sp.cos(GAMMA) ** (d - 2) / norm
        p = sp.simplify(sp.integrate(cos_form, (GAMMA, 0, THETA)))
        closed = incomplete_beta(sp.Rational(1, 2), half, sp.sin(THETA) ** 2)
        identities += [
            Identity(f"[d={d}] the coordinate u = ⟨x, w*⟩/‖x‖‖w*‖ has a probability density on (−1, 1)",
                     sp.integrate(coordinate, (u, -1, 1)), 1),
            Identity(f"[d={d}] density of γ = arcsin|u| is 2 cos^(d−2)γ / B(1/2, (d−1)/2)",
                     angle_density, cos_form, quadrant_reducer(GAMMA)),
            Identity(f"[d={d}] p(π/2) = 1", p.subs(THETA, HALF_PI), 1),
            *_agree_with(f"[d={d}] p(θ) = I_(sin²θ)(1/2, (d−1)/2)", p, closed, THETA, 0, quadrant),
        ]
        expressions[f"p[d={d}]"] = p
        functions[f"p[d={d}]"] = FunctionSpec((THETA,), p, f"p(θ) of the isotropic family, d={d}")
    identities += [
        Identity("[d=2] p(θ) = 2θ/π", expressions["p[d=2]"], 2 * THETA / sp.pi),
        Identity("[d=3] p(θ) = sin θ", expressions["p[d=3]"], sp.sin(THETA)),
    ]
    steps = (
        Step("For x uniform on S^(d−1) (or N(0, σ²I)), u = ⟨x/‖x‖, w*/‖w*‖⟩ has density "
             "(1 − u²)^((d−3)/2) / B(1/2, (d−1)/2) on (−1, 1)"),
        Step("The angle to the boundary is γ = arcsin|u|; changing variables (both signs of u)",
             sp.Eq(sp.Symbol("f_γ"), 2 * sp.cos(GAMMA) ** sp.Symbol("d−2") / sp.Symbol("B(1/2,(d−1)/2)"))),
        Step("Integrate from 0 to θ", sp.Eq(sp.Symbol("p_3(θ)"), expressions["p[d=3]"])),
        Step("Substituting v = sin²γ turns the integral into the incomplete beta",
             sp.Eq(sp.Symbol("p(θ)"), incomplete_beta(sp.Rational(1, 2), sp.Symbol("(d−1)/2"),
                                                       sp.sin(THETA) ** 2))),
    )
    return Derived(expressions, steps, tuple(identities), functions)


@functools.cache
def beta_polynomial(a: int, b: int) -> sp.Expr:
    """``I_x(a, b)`` for integers ``a, b ≥ 1`` as a polynomial in ``x``, by integrating the density."""
    x, v = sp.Symbol("x", positive=True), sp.Symbol("v", positive=True)
    density = v ** (a - 1) * (1 - v) ** (b - 1) / _beta_function(a, b)
    return sp.expand(sp.integrate(density, (v, 0, x)))


def _polynomial_at(a: int, b: int, value: sp.Expr) -> sp.Expr:
    return beta_polynomial(a, b).subs(sp.Symbol("x", positive=True), value)


@functools.cache
def _beta_polarised() -> Derived:
    identities: list[Identity] = []
    expressions: dict[str, sp.Expr] = {}
    functions: dict[str, FunctionSpec] = {}
    x = 2 * THETA / sp.pi
    for a, b in BETA_PARAMETERS:
        label = f"a={a},b={b}"
        near = sp.expand(_polynomial_at(a, b, x))
        p = sp.expand(1 - near.subs(THETA, HALF_PI - THETA))
        leading = (2 / sp.pi) ** b / (b * _beta_function(a, b))
        identities += [
            *_agree_with(f"[{label}] P[α ≤ θ] = I_(2θ/π)(a, b)", near, incomplete_beta(a, b, x), THETA, 0),
            *_agree_with(f"[{label}] p(θ) = 1 − P[α < π/2 − θ] = I_(2θ/π)(b, a)", p,
                         incomplete_beta(b, a, x), THETA, 0),
            Identity(f"[{label}] p(π/2) = 1", p.subs(THETA, HALF_PI), 1),
            Identity(f"[{label}] p(θ) ~ (2/π)^b θ^b / (b B(a, b)) as θ → 0",
                     sp.limit(p / THETA**b, THETA, 0), leading),
        ]
        expressions[f"p[{label}]"] = p
        expressions[f"mass_near_teacher[{label}]"] = near
        functions[f"p[{label}]"] = FunctionSpec((THETA,), p, f"p(θ), Beta-polarised {label}")
        functions[f"mass_near_teacher[{label}]"] = FunctionSpec(
            (THETA,), near, f"P[α ≤ θ], Beta-polarised {label}"
        )
    steps = (
        Step("α = (π/2)·B with B ~ Beta(a, b), so P[α ≤ θ] = P[B ≤ 2θ/π] = I_(2θ/π)(a, b); for "
             "integer a, b integrating the Beta density gives a polynomial, e.g. (a, b) = (2, 3)",
             sp.Eq(sp.Symbol("P[α≤θ]"), expressions["mass_near_teacher[a=2,b=3]"])),
        Step("p(θ) = P[α ≥ π/2 − θ] = 1 − I_(1−2θ/π)(a, b) = I_(2θ/π)(b, a); for (2, 3)",
             sp.Eq(sp.Symbol("p(θ)"), expressions["p[a=2,b=3]"])),
        Step("Near the boundary p(θ) ~ θ^b and near ±w* P[α ≤ θ] ~ θ^a"),
    )
    return Derived(expressions, steps, tuple(identities), functions)


@functools.cache
def _margin() -> Derived:
    identities: list[Identity] = []
    expressions: dict[str, sp.Expr] = {}
    functions: dict[str, FunctionSpec] = {}
    largest = HALF_PI - MARGIN
    for a, b in MARGIN_PARAMETERS:
        label = f"a={a},b={b}"
        by_definition = 1 - _polynomial_at(a, b, (HALF_PI - THETA) / largest)
        rescaled = _polynomial_at(b, a, (THETA - MARGIN) / largest)
        p = sp.Piecewise((0, THETA <= MARGIN), (rescaled, THETA <= HALF_PI), (1, True))
        near = sp.Piecewise((_polynomial_at(a, b, THETA / largest), sp.Le(THETA, largest)), (1, True))
        identities += [
            Identity(f"[{label}] for θ ≥ θ_m: p(θ) = 1 − I_((π/2−θ)/(π/2−θ_m))(a, b) "
                     "= I_((θ−θ_m)/(π/2−θ_m))(b, a)", by_definition, rescaled),
            Identity(f"[{label}] p(θ_m) = 0: the pieces join continuously", rescaled.subs(THETA, MARGIN), 0),
            Identity(f"[{label}] p(π/2) = 1", rescaled.subs(THETA, HALF_PI), 1),
        ]
        expressions[f"p[{label}]"] = p
        expressions[f"mass_near_teacher[{label}]"] = near
        functions[f"p[{label}]"] = FunctionSpec((THETA, MARGIN), p, f"p(θ), margin family {label}")
        functions[f"mass_near_teacher[{label}]"] = FunctionSpec(
            (THETA, MARGIN), near, f"P[α ≤ θ], margin family {label}"
        )
    steps = (
        Step("α = (π/2 − θ_m)·B with B ~ Beta(a, b): α ≤ π/2 − θ_m, so no point lies within θ_m "
             "of the boundary and p(θ) = 0 for θ ≤ θ_m"),
        Step("For θ ≥ θ_m, p(θ) = P[B ≥ (π/2 − θ)/(π/2 − θ_m)]; for (a, b) = (1, 1)",
             sp.Eq(sp.Symbol("p(θ)"), expressions["p[a=1,b=1]"])),
    )
    return Derived(expressions, steps, tuple(identities), functions)


DERIVATIONS = {
    derivation.id: derivation
    for derivation in (
        Derivation(
            "geometry-isotropic",
            "p(θ) of the isotropic family is the incomplete beta I_(sin²θ)(1/2, (d−1)/2)",
            (f"d ∈ {set(ISOTROPIC_DIMENSIONS)}; x/‖x‖ uniform on S^(d−1)", "0 < θ < π/2"),
            _isotropic,
        ),
        Derivation(
            "geometry-beta-polarised",
            "p(θ) = I_(2θ/π)(b, a) and P[α ≤ θ] = I_(2θ/π)(a, b) as explicit polynomials",
            (f"(a, b) ∈ {list(BETA_PARAMETERS)} (integers)", "α = (π/2)·B, B ~ Beta(a, b)",
             "0 ≤ θ ≤ π/2"),
            _beta_polarised,
        ),
        Derivation(
            "geometry-margin",
            "p(θ) of the margin family: zero up to θ_m, then a rescaled incomplete beta",
            (f"(a, b) ∈ {list(MARGIN_PARAMETERS)}", "α = (π/2 − θ_m)·B, B ~ Beta(a, b)",
             "0 < θ_m < π/2, 0 ≤ θ ≤ π/2"),
            _margin,
        ),
    )
}
