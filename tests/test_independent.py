"""Independent recomputation of every claim (issue 10, item 6).

For each claim of THEORY.md §3 and §8 this file runs the claim's real ``check`` on a small,
hand-checkable, *informative* instance (one where the statement has content) and recomputes both
sides of the statement by a route that shares no code with the check:

* exact sides in sympy ``Rational`` matrices (projector ``B(BᵀB)⁻¹Bᵀ`` from ``Matrix.columnspace``,
  every n-tuple of support points enumerated, ``sign(0)`` counted as an error),
* smooth sides in ``mpmath`` at 50 digits (losses, gradients, gradient descent itself),
* expected risks on continuous families by a plain numpy Monte Carlo written here (its own
  sampler, its own projection by QR, its own Hoeffding or Clopper–Pearson interval), next to the
  closed forms THEORY.md gives (isotropic ``R = ∠/π``; Beta-polarised ``p(θ) = I_{2θ/π}(b, a)``).

Nothing here imports kdverify's numerics, limits, expected, exact, losses, solvers or family code:
only the claim registry, ``Instance`` and ``Budget``. Each assertion says which tolerance it uses
and why; exact checks are compared for equality.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from scipy import stats

from kdverify.claims.base import Budget, Evidence, Instance
from kdverify.claims.registry import CLAIM_IDS, get_claim

EPS = float(np.finfo(np.float64).eps)
DIGITS = 50  # mpmath working precision: every high-precision value is exact to ~1e-45
# Each Monte Carlo interval below is at confidence 1 − MC_DELTA. The check's own interval is at
# 1 − Budget().alpha = 1 − 1e-4, so two intervals for the same mean fail to overlap with
# probability at most 1e-4 + 1e-6 (and the seeds are fixed, so the outcome is deterministic).
MC_DELTA = 1e-6

COVERED: set[str] = set()


def covers(*claim_ids: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Record that the decorated test recomputes ``claim_ids`` (see the last test)."""

    def register(test: Callable[..., None]) -> Callable[..., None]:
        COVERED.update(claim_ids)
        return test

    return register


def run_check(claim_id: str, family: str, values: dict[str, Any], budget: Budget | None = None, **kw: Any) -> Evidence:
    """The claim's real check on ``Instance(family, values)`` (``kw`` reaches the check function)."""
    return get_claim(claim_id).check(Instance(family, values), budget or Budget(), **kw)


# ----------------------------------------------------------------------------------------------
# Exact linear algebra in sympy.


def rational(value: Any) -> sp.Rational:
    """A JSON number, rational string or Fraction as a sympy Rational (floats read exactly)."""
    return sp.Rational(value)


def vector(values: Sequence[Any]) -> sp.Matrix:
    return sp.Matrix([rational(v) for v in values])


def columns(points: Sequence[Sequence[Any]]) -> sp.Matrix:
    """A list of points as the ``d × n`` matrix whose columns they are."""
    return sp.Matrix.hstack(*(vector(p) for p in points))


def projector(data: sp.Matrix) -> sp.Matrix:
    """Orthogonal projector onto the column space: ``B(BᵀB)⁻¹Bᵀ`` with ``B`` a basis from
    ``columnspace`` (exact; no rank tolerance is needed in rational arithmetic)."""
    basis = sp.Matrix.hstack(*data.columnspace())
    return basis * (basis.T * basis).inv() * basis.T


def student(data: sp.Matrix, w_star: sp.Matrix, temperature: Any = 1, w0: sp.Matrix | None = None) -> sp.Matrix:
    """The limit ``P w*/T + P⊥ w0`` (THEORY.md §3), exactly."""
    p = projector(data)
    start = sp.zeros(w_star.rows, 1) if w0 is None else w0
    return p * w_star / rational(temperature) + (sp.eye(w_star.rows) - p) * start


def exact_angle(u: sp.Matrix, v: sp.Matrix) -> sp.Expr:
    """``arccos(uᵀv / (‖u‖‖v‖))`` as an exact sympy expression."""
    return sp.acos(u.dot(v) / sp.sqrt(u.dot(u) * v.dot(v)))


def signed_cos2(u: sp.Matrix, v: sp.Matrix) -> sp.Rational:
    """``sign(uᵀv)·cos²∠(u, v)``, rational for rational vectors; decreases as the angle grows."""
    inner = u.dot(v)
    return sp.sign(inner) * inner**2 / (u.dot(u) * v.dot(v))


def as_float(value: sp.Expr) -> float:
    return float(sp.N(value, DIGITS))


def to_numpy(matrix: sp.Matrix) -> np.ndarray:
    return np.array([[float(x) for x in row] for row in matrix.tolist()])


# ----------------------------------------------------------------------------------------------
# Discrete distributions, exactly: p, R, the risk bound and expected risks by enumeration.


@dataclass(frozen=True)
class Law:
    """A discrete distribution from a family's JSON parameters (points as rows, as in the instances)."""

    support: tuple[sp.Matrix, ...]
    weights: tuple[sp.Rational, ...]
    w_star: sp.Matrix

    @classmethod
    def of(cls, params: dict[str, Any]) -> Law:
        return cls(
            tuple(vector(p) for p in params["points"]),
            tuple(rational(q) for q in params["weights"]),
            vector(params["w_star"]),
        )

    def sin2_gamma(self, a: sp.Matrix) -> sp.Rational:
        """``sin²γ(a) = (w*ᵀa)²/(‖w*‖²‖a‖²)``; ``γ ↦ sin²γ`` is increasing on ``[0, π/2]``."""
        return self.w_star.dot(a) ** 2 / (self.w_star.dot(self.w_star) * a.dot(a))

    def p(self, sin2_theta: sp.Rational) -> sp.Rational:
        """``p(θ) = Σ_j q_j 1[γ_j ≤ θ]`` for the ``θ ∈ [0, π/2]`` with ``sin²θ = sin2_theta``."""
        pairs = zip(self.support, self.weights, strict=True)
        return sum((q for a, q in pairs if self.sin2_gamma(a) <= sin2_theta), sp.S.Zero)

    def risk(self, w: sp.Matrix, *, ties_correct: bool = False) -> sp.Rational:
        """``Σ_j q_j 1[sign(wᵀa_j) ≠ sign(w*ᵀa_j)]`` with ``sign(0)`` an error (THEORY.md §1), or
        counted as correct when ``ties_correct`` (the other tie convention)."""
        total = sp.S.Zero
        for a, q in zip(self.support, self.weights, strict=True):
            score = w.dot(a)
            if ties_correct and score == 0:
                continue
            if sp.sign(score) != sp.sign(self.w_star.dot(a)):
                total += q
        return total

    def p_of_angle(self, w: sp.Matrix) -> sp.Rational:
        """``p(∠(w, w*))`` for ``wᵀw* ≥ 0``, through ``sin²∠ = 1 − cos²∠`` (exact)."""
        assert w.dot(self.w_star) >= 0
        return self.p(1 - signed_cos2(w, self.w_star))

    def risk_bound(self, n: int, *, margin: bool = False) -> sp.Rational:
        """``min_θ [p(θ) + p(π/2 − θ)^n]``. In ``s = sin²θ`` the objective is ``p(s) + p(1 − s)^n``,
        two step functions jumping at ``S_j`` and ``1 − S_j``: the minimum is at a jump or strictly
        between two. ``margin``: the corollary's ``p(π/2 − θ_m)^n`` with ``θ_m ↑ min_j γ_j``."""
        levels = [self.sin2_gamma(a) for a in self.support]
        if margin:
            return self.p(1 - min(levels)) ** n
        jumps = sorted({sp.S.Zero, sp.S.One, *levels, *(1 - s for s in levels)})
        candidates = jumps + [(x + y) / 2 for x, y in itertools.pairwise(jumps)]
        return min(self.p(s) + self.p(1 - s) ** n for s in candidates)

    def tuples(self, n: int) -> Iterator[tuple[sp.Rational, sp.Matrix, tuple[int, ...]]]:
        """Every ordered n-tuple of support indices with its probability and data matrix."""
        for chosen in itertools.product(range(len(self.support)), repeat=n):
            probability = sp.prod([self.weights[i] for i in chosen])
            yield probability, sp.Matrix.hstack(*(self.support[i] for i in chosen)), chosen

    def expected(self, n: int, value: Callable[[sp.Matrix, tuple[int, ...]], sp.Rational]) -> sp.Rational:
        """``E value(X)`` over ``X ~ P^n``, summed over all ``m^n`` tuples."""
        return sum((prob * value(data, chosen) for prob, data, chosen in self.tuples(n)), sp.S.Zero)

    def expected_risk(self, n: int, temperature: Any = 1, w0: Any = None, *, ties_correct: bool = False) -> sp.Rational:
        start = None if w0 is None else vector(w0)
        return self.expected(
            n, lambda data, _: self.risk(student(data, self.w_star, temperature, start), ties_correct=ties_correct)
        )


def exact(value: Any) -> sp.Rational:
    """A check's exact side (Fraction, int or rational string) as a sympy Rational."""
    assert isinstance(value, (Fraction, int, str)), f"expected an exact value, got {value!r}"
    return rational(value)


Sides = tuple[sp.Rational, sp.Rational]


def assert_exact_sides(evidence: Evidence, sides: Sides, ties_correct: Sides) -> None:
    """The check's exact ``lhs ≤ rhs`` against ours under THEORY.md §1's convention (``sign(0)`` an
    error): sides and verdict equal. Under the other convention (``sign(0)`` correct) we recompute the
    sides too; where the check reports them (``details["ties_correct"]``) they must be equal, and its
    ``tie_free`` flag must say whether the two verdicts agree."""
    assert evidence.exact
    assert (exact(evidence.lhs), exact(evidence.rhs)) == sides
    assert evidence.holds is bool(sides[0] <= sides[1])
    reported = evidence.details.get("ties_correct")
    if reported is not None:
        assert (exact(reported["lhs"]), exact(reported["rhs"])) == ties_correct
    if evidence.tie_free is not None:
        assert evidence.tie_free is (bool(sides[0] <= sides[1]) == bool(ties_correct[0] <= ties_correct[1]))


def max_margin(rows: Sequence[sp.Matrix]) -> sp.Matrix:
    """The hard-margin SVM direction ``argmin ‖w‖ s.t. rᵀw ≥ 1`` for the rows ``r = y_i x_i``, by
    trying every active set (smallest first) and keeping the one that satisfies the KKT conditions
    (multipliers ≥ 0, every constraint met): exact, no solver."""
    distinct = list(dict.fromkeys(tuple(r) for r in rows))
    for size in range(1, len(distinct) + 1):
        for active in itertools.combinations(distinct, size):
            basis = sp.Matrix.hstack(*(sp.Matrix(r) for r in active))
            gram = basis.T * basis
            if gram.det() == 0:
                continue
            multipliers = gram.solve(sp.ones(size, 1))
            w = basis * multipliers
            if all(m >= 0 for m in multipliers) and all(sp.Matrix(r).dot(w) >= 1 for r in distinct):
                return w
    raise AssertionError("no active set satisfies the KKT conditions")


# ----------------------------------------------------------------------------------------------
# High precision (mpmath) losses.


def mp_sigmoid(z: mp.mpf) -> mp.mpf:
    return 1 / (1 + mp.exp(-z))


def mp_loss(w: Sequence[mp.mpf], data: Sequence[Sequence[mp.mpf]], targets: Sequence[mp.mpf]) -> mp.mpf:
    """``(1/n) Σ_i softplus(wᵀx_i) − t_i wᵀx_i`` (``data`` as a list of points)."""
    total = mp.mpf(0)
    for x, t in zip(data, targets, strict=True):
        z = mp.fsum(wi * xi for wi, xi in zip(w, x, strict=True))
        total += mp.log1p(mp.exp(z)) - t * z
    return total / len(data)


def mp_gradient(w: Sequence[mp.mpf], data: Sequence[Sequence[mp.mpf]], targets: Sequence[mp.mpf]) -> list[mp.mpf]:
    """``(1/n) Σ_i (σ(wᵀx_i) − t_i) x_i``."""
    grad = [mp.mpf(0)] * len(w)
    for x, t in zip(data, targets, strict=True):
        r = mp_sigmoid(mp.fsum(wi * xi for wi, xi in zip(w, x, strict=True))) - t
        grad = [g + r * xi for g, xi in zip(grad, x, strict=True)]
    return [g / len(data) for g in grad]


def mp_descent(
    start: Sequence[mp.mpf], data: Sequence[Sequence[mp.mpf]], targets: Sequence[mp.mpf], step: mp.mpf, steps: int
) -> list[list[mp.mpf]]:
    """Every iterate ``w_0 … w_steps`` of gradient descent with a fixed step, at 50 digits."""
    iterates = [list(start)]
    for _ in range(steps):
        w = iterates[-1]
        iterates.append([wi - step * gi for wi, gi in zip(w, mp_gradient(w, data, targets), strict=True)])
    return iterates


def mp_points(points: Sequence[Sequence[Any]]) -> list[list[mp.mpf]]:
    return [[mp.mpf(sp.Rational(c).p) / sp.Rational(c).q for c in p] for p in points]


def mp_angle(u: Sequence[mp.mpf], v: Sequence[mp.mpf]) -> mp.mpf:
    inner = mp.fsum(a * b for a, b in zip(u, v, strict=True))
    return mp.acos(inner / mp.sqrt(mp.fsum(a * a for a in u) * mp.fsum(b * b for b in v)))


def safe_step(data: sp.Matrix, fraction: Any = 1) -> sp.Expr:
    """``fraction / L_max`` with ``L_max = λ_max(XXᵀ)/(4n)`` (THEORY.md §1), exactly."""
    largest = max(sp.Matrix(data * data.T).eigenvals())
    return rational(fraction) * 4 * data.cols / largest


# ----------------------------------------------------------------------------------------------
# Plain numpy Monte Carlo with its own intervals.


def clopper_pearson(k: int, trials: int, delta: float = MC_DELTA) -> tuple[float, float]:
    """Exact two-sided binomial interval at confidence ``1 − delta``."""
    lower = 0.0 if k == 0 else float(stats.beta.ppf(delta / 2, k, trials - k + 1))
    upper = 1.0 if k == trials else float(stats.beta.ppf(1 - delta / 2, k + 1, trials - k))
    return lower, upper


def hoeffding(values: np.ndarray, delta: float = MC_DELTA) -> tuple[float, float]:
    """Two-sided Hoeffding interval for the mean of i.i.d. values in ``[0, 1]``."""
    half = hoeffding_half_width(values.size, delta)
    return float(values.mean()) - half, float(values.mean()) + half


def hoeffding_half_width(trials: int, delta: float = MC_DELTA) -> float:
    """Half-width of a two-sided Hoeffding interval for a mean of ``trials`` values in ``[0, 1]``."""
    return math.sqrt(math.log(2 / delta) / (2 * trials))


def distilled_students(data: np.ndarray, w_star: np.ndarray) -> np.ndarray:
    """``P w*`` for a batch of training sets ``(N, d, n)``, from a reduced QR (points in general
    position, as they are almost surely); ``T`` and the radius law do not change its direction."""
    q, _ = np.linalg.qr(data)
    return np.einsum("tdk,tek,e->td", q, q, w_star)


def isotropic_points(rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
    """``N(0, I_d)`` points, shape ``(N, d, n)``."""
    return rng.standard_normal(shape)


def angular_points(
    rng: np.random.Generator, shape: tuple[int, int, int], a: float, b: float, margin: float = 0.0
) -> np.ndarray:
    """``x = ±cos α e_1 + sin α v`` with ``α = (π/2 − margin)·Beta(a, b)``, ``v`` uniform on the
    unit sphere of ``e_1⊥`` and a fair sign (THEORY.md §2.3, teacher ``e_1``). The radius law is
    left out: it changes neither the span of a training set nor the sign of a test point."""
    trials, dim, n = shape
    alpha = (math.pi / 2 - margin) * rng.beta(a, b, size=(trials, n))
    signs = rng.choice([-1.0, 1.0], size=(trials, n))
    rest = rng.standard_normal((trials, dim - 1, n))
    rest /= np.linalg.norm(rest, axis=1, keepdims=True)
    return np.concatenate([(signs * np.cos(alpha))[:, None, :], np.sin(alpha)[:, None, :] * rest], axis=1)


@dataclass(frozen=True)
class Draws:
    """Per training set: the angle ``β = ∠(P w*, w*)`` and whether a fresh test point is misclassified."""

    angles: np.ndarray
    wrong: np.ndarray

    def risk_interval(self) -> tuple[float, float]:
        """``E R_n``: each trial is one Bernoulli draw of the error event (Clopper–Pearson)."""
        return clopper_pearson(int(self.wrong.sum()), self.wrong.size)


def monte_carlo(
    sample: Callable[[np.random.Generator, tuple[int, int, int]], np.ndarray], dim: int, n: int, trials: int, seed: int
) -> Draws:
    """``trials`` training sets of ``n`` points and one test point each, teacher ``e_1``; the student
    is ``P w*``, the error event ``sign(ŵᵀx) ≠ sign(x_1)`` (ties have probability 0)."""
    rng = np.random.default_rng(seed)
    students = distilled_students(sample(rng, (trials, dim, n)), np.eye(dim)[0])
    tests = sample(rng, (trials, dim, 1))[:, :, 0]
    angles = np.arccos(np.clip(students[:, 0] / np.linalg.norm(students, axis=1), -1.0, 1.0))
    wrong = np.sign(np.einsum("td,td->t", students, tests)) != np.sign(tests[:, 0])
    return Draws(angles, wrong)


def overlap(first: tuple[float, float], second: tuple[float, float]) -> bool:
    return first[0] <= second[1] and second[0] <= first[1]


def check_interval(evidence: Evidence) -> tuple[float, float]:
    assert evidence.interval is not None
    return float(evidence.interval["lower"]), float(evidence.interval["upper"])


# ==============================================================================================
# loss-calculus and global-minimizers


@covers("loss-calculus")
def test_loss_calculus_against_sympy_derivatives() -> None:
    """X = [(1,1,0), (0,1,1), (1,0,1)] (full rank), w* = (1,1,1), T = 1, student w0 = (½,−½,½):
    logits Xᵀw0 = (0, 0, 1), so σ'(z) = (¼, ¼, σ(1)σ(−1) ≈ 0.1966) — the bound ¼ is attained.

    Recomputed: the symbolic identities ℓ' = σ − t, ℓ'' = σ(1 − σ); ∇L and ∇²L by sympy
    differentiation of L at 50 digits against the §1 formulas; the Hessian's smallest eigenvalue;
    the chord gap the check probes; and the check's own central-difference residuals, which must
    equal ours (exact derivative vs. the same difference quotient at 50 digits) up to float rounding.
    """
    values = {
        "points": [[1, 1, 0], [0, 1, 1], [1, 0, 1]],
        "w_star": [1, 1, 1],
        "temperature": 1.0,
        "w0": [0.5, -0.5, 0.5],
        "step_fraction": 1.0,
    }
    evidence = run_check("loss-calculus", "generic", values)
    details = evidence.details

    z, t = sp.symbols("z t", real=True)
    sigma = 1 / (1 + sp.exp(-z))
    ell = sp.log(1 + sp.exp(z)) - t * z
    assert sp.simplify(sp.diff(ell, z) - (sigma - t)) == 0
    assert sp.simplify(sp.diff(ell, z, 2) - sigma * (1 - sigma)) == 0

    data = columns(values["points"])
    w_star, w0 = vector(values["w_star"]), vector(values["w0"])
    w = sp.Matrix(sp.symbols("w0:3", real=True))
    soft = [1 / (1 + sp.exp(-w_star.dot(data[:, i]))) for i in range(data.cols)]
    loss = (
        sum((sp.log(1 + sp.exp(w.dot(data[:, i]))) - soft[i] * w.dot(data[:, i]) for i in range(data.cols)), sp.S.Zero)
        / data.cols
    )
    at = dict(zip(w, w0, strict=True))
    with mp.workdps(DIGITS):
        grad_sym = [mp.mpf(str(sp.N(sp.diff(loss, wi).subs(at), DIGITS))) for wi in w]
        hess_sym = mp.matrix([[mp.mpf(str(sp.N(sp.diff(loss, wi, wj).subs(at), DIGITS))) for wj in w] for wi in w])
        pts = mp_points(values["points"])
        targets = [mp_sigmoid(mp.fsum(pts[i])) for i in range(3)]  # w* = (1,1,1), T = 1
        start = [mp.mpf(v) for v in values["w0"]]
        grad = mp_gradient(start, pts, targets)
        logits = [mp.fsum(a * b for a, b in zip(start, x, strict=True)) for x in pts]
        curv = [mp_sigmoid(zz) * (1 - mp_sigmoid(zz)) for zz in logits]
        hess = mp.matrix(3, 3)
        for x, c in zip(pts, curv, strict=True):
            for i, j in itertools.product(range(3), repeat=2):
                hess[i, j] += c * x[i] * x[j] / 3
        # 50-digit evaluations of the same exact quantities: agreement to 1e-40 is identity.
        assert max(abs(a - b) for a, b in zip(grad, grad_sym, strict=True)) < mp.mpf("1e-40")
        assert mp.mnorm(hess - hess_sym, 1) < mp.mpf("1e-40")
        assert max(curv) == mp.mpf(1) / 4 and min(curv) > 0
        smallest = min(mp.eigsy(hess)[0])
        assert smallest > mp.mpf("0.01")  # full-rank X: strictly convex

        # The check's central differences, step h (recorded), at the float points w0 ± h e_i.
        h = float(details["step"])
        w_float = np.array(values["w0"])

        def at_float(v: np.ndarray) -> list[mp.mpf]:
            return [mp.mpf(float(c)) for c in v]

        cd = [
            (mp_loss(at_float(w_float + h * e), pts, targets) - mp_loss(at_float(w_float - h * e), pts, targets))
            / (2 * mp.mpf(h))
            for e in np.eye(3)
        ]
        our_gradient_residual = float(max(abs(a - b) for a, b in zip(grad, cd, strict=True)))
        hess_cd = [
            [
                (
                    mp_gradient(at_float(w_float + h * e), pts, targets)[i]
                    - mp_gradient(at_float(w_float - h * e), pts, targets)[i]
                )
                / (2 * mp.mpf(h))
                for e in np.eye(3)
            ]
            for i in range(3)
        ]
        our_hessian_residual = float(max(abs(hess[i, j] - hess_cd[i][j]) for i in range(3) for j in range(3)))
        other = [1 - v + x for v, x in zip(start, pts[0], strict=True)]  # the check's chord end: w*/T − w + x_1
        middle = [(a + b) / 2 for a, b in zip(start, other, strict=True)]
        chord = float(mp_loss(middle, pts, targets) - (mp_loss(start, pts, targets) + mp_loss(other, pts, targets)) / 2)
        scale = float(mp.fsum(abs(mp.log1p(mp.exp(zz))) + abs(zz) for zz in logits) / 3)

    assert evidence.holds is True
    # The float residual differs from ours only by the rounding of the float L (a few ulps of
    # 1 + scale per evaluation, divided by h) and of the float formula: 8·eps·(1 + scale)/h.
    assert abs(details["gradient"]["error"] - our_gradient_residual) <= 8 * EPS * (1 + scale) / h
    assert our_gradient_residual <= details["gradient"]["tolerance"]  # the tolerance covers truncation
    x_norm = math.sqrt(2.0)
    assert abs(details["hessian"]["error"] - our_hessian_residual) <= 8 * EPS * x_norm * (1 + x_norm) / h
    assert our_hessian_residual <= details["hessian"]["tolerance"]
    assert details["curvature"]["error"] == 0.0  # max σ' = ¼ exactly, never above
    assert details["psd"]["error"] == 0.0  # λ_min ≥ 0.01 ≫ rounding
    assert chord < -1e-3 and details["convexity"]["error"] == 0.0  # strictly below the chord


@covers("global-minimizers")
def test_global_minimizers_against_mpmath_minimisation() -> None:
    """X = [(1,1,0), (0,1,1)], w* = (1,1,1), T = 2: both soft labels are s = σ(1) ≈ 0.7311, so
    min L = H(σ(1)) ≈ 0.58220 nats. Xᵀ is onto R², so min L = mean_i min_z ℓ(z, s_i); each 1-D
    minimum is found by mpmath root-finding on a numerical derivative (no logit formula), and the
    argmin logits must be Xᵀw*/T = (1, 1). The minimiser set is ŵ + span(1,−1,1); the check's
    closed-form point P w*/T + P⊥w0 = (5/6, 1/6, 5/6) is checked to lie in it exactly."""
    values = {
        "points": [[1, 1, 0], [0, 1, 1]],
        "w_star": [1, 1, 1],
        "temperature": 2.0,
        "w0": [0.5, -0.5, 0.5],
        "step_fraction": 1.0,
    }
    evidence = run_check("global-minimizers", "generic", values)
    data, w_star = columns(values["points"]), vector(values["w_star"])
    minimiser = student(data, w_star, 2, vector(values["w0"]))
    assert minimiser == sp.Matrix([sp.Rational(5, 6), sp.Rational(1, 6), sp.Rational(5, 6)])
    assert data.T * minimiser == data.T * w_star / 2
    with mp.workdps(DIGITS):
        s = mp_sigmoid(mp.mpf(1))
        entropy = -s * mp.log(s) - (1 - s) * mp.log(1 - s)

        def ell(zz: mp.mpf) -> mp.mpf:
            return mp.log1p(mp.exp(zz)) - s * zz

        root = mp.findroot(lambda zz: mp.diff(ell, zz), mp.mpf(0))
        assert abs(root - 1) < mp.mpf("1e-30")  # argmin logit = w*ᵀx/T = 2/2
        assert abs(ell(root) - entropy) < mp.mpf("1e-30")  # min L = mean binary entropy
        pts = mp_points(values["points"])
        at_minimiser = mp_loss([mp.mpf(float(c)) for c in minimiser], pts, [s, s])
        scale = float(abs(mp.log1p(mp.exp(1))) + 1) + 1
    assert evidence.holds is True
    # The check's H is a float formula: 4 ulps of relative error is generous for a few exps/logs.
    assert abs(evidence.details["mean_entropy"] - float(entropy)) <= 4 * EPS * float(entropy)
    # |L(minimiser) − H| is zero mathematically; the check measured rounding only, within the same
    # 16·eps·scale it allows itself (plus the 1e-16 rounding of (5/6, 1/6, 5/6) to floats).
    measured = evidence.details["minimum-is-mean-entropy"]["error"]
    assert measured <= 16 * EPS * scale and float(abs(at_minimiser - entropy)) <= 16 * EPS * scale


# ==============================================================================================
# span-invariance, optimization-bias-linear, optimization-bias-deep, temperature-monotone

# span X = span{(1,1,0), (0,1,1)} has normal (1,−1,1); w0 = (½,−½,½) is all normal (P⊥w0 = w0 ≠ 0),
# P w* = (1,1,1) − (1/3)(1,−1,1) = (2/3, 4/3, 2/3): ŵ = P w*/T + w0 = (7/6, 5/6, 7/6) at T = 1 and
# (5/6, 1/6, 5/6) at T = 2. XXᵀ has eigenvalues 3, 1, 0, so L_max = 3/8 and the step 1/L_max = 8/3.
PLANE = {"points": [[1, 1, 0], [0, 1, 1]], "w_star": [1, 1, 1], "w0": [0.5, -0.5, 0.5], "step_fraction": 1.0}


@covers("span-invariance")
def test_span_invariance_by_exact_projector_and_mpmath_descent() -> None:
    """Recomputed: P⊥ exactly (P⊥X = 0, so P⊥∇L(w) = 0 for every w: the invariance of descent and
    flow); then the check's own number of gradient-descent steps (step 8/3) at 50 digits, whose
    iterates keep P⊥w_k = P⊥w0 = w0 to 1e-45. The check's float drift must be rounding only."""
    values = {**PLANE, "temperature": 1.0}
    evidence = run_check("span-invariance", "generic", values)
    data, w0 = columns(values["points"]), vector(values["w0"])
    complement = sp.eye(3) - projector(data)
    assert complement * data == sp.zeros(3, 2)
    assert complement * w0 == w0 != sp.zeros(3, 1)
    assert projector(data).rank() == 2
    step = safe_step(data, values["step_fraction"])
    assert step == sp.Rational(8, 3)
    steps = int(evidence.details["descent"]["iterations"])
    with mp.workdps(DIGITS):
        pts = mp_points(values["points"])
        targets = [mp_sigmoid(mp.mpf(2)), mp_sigmoid(mp.mpf(2))]  # w*ᵀx_i/T = 2
        iterates = mp_descent([mp.mpf(v) for v in values["w0"]], pts, targets, mp.mpf(8) / 3, steps)
        normal = [mp.mpf(1) / 3, mp.mpf(-1) / 3, mp.mpf(1) / 3]  # P⊥ = n nᵀ/‖n‖², n = (1,−1,1)
        drift = max(abs(mp.fsum(a * b for a, b in zip(normal, w, strict=True)) - mp.mpf(1) / 2) for w in iterates)
    assert drift < mp.mpf("1e-45")
    assert evidence.holds is True and evidence.lhs <= 1.0
    # Our drift is 0 to 50 digits; the check's is rounding, within the tolerance it derives.
    for run in ("descent", "flow"):
        assert evidence.details[run]["drift"] <= evidence.details[run]["tolerance"]
    # And with the exact complement as the invariant under test, the verdict is the same.
    exact_complement = to_numpy(complement)
    again = run_check(
        "span-invariance", "generic", values, invariant=lambda _projector, w, start: exact_complement @ (w - start)
    )
    assert again.holds is True


@covers("optimization-bias-linear")
def test_linear_limit_against_exact_limit_and_mpmath_descent() -> None:
    """T = 2, rank X = 2 < 3, P⊥w0 = w0 ≠ 0: the limit is (5/6, 1/6, 5/6) (not w*/T, not P w*/T).
    Recomputed: the limit exactly in sympy; gradient descent at 50 digits (step 8/3) converges to it
    to 1e-30; and the check re-run with our exact limit as its closed form reports the same
    distances as with its own (the two closed forms differ by float rounding only)."""
    values = {**PLANE, "temperature": 2.0}
    evidence = run_check("optimization-bias-linear", "generic", values)
    data = columns(values["points"])
    limit = student(data, vector(values["w_star"]), 2, vector(values["w0"]))
    assert limit == sp.Matrix([sp.Rational(5, 6), sp.Rational(1, 6), sp.Rational(5, 6)])
    with mp.workdps(DIGITS):
        pts = mp_points(values["points"])
        targets = [mp_sigmoid(mp.mpf(1))] * 2  # w*ᵀx_i/T = 1
        final = mp_descent([mp.mpf(v) for v in values["w0"]], pts, targets, mp.mpf(8) / 3, 150)[-1]
        assert max(abs(a - mp.mpf(c.p) / c.q) for a, c in zip(final, limit, strict=True)) < mp.mpf("1e-30")
    ours = np.array([float(c) for c in limit])
    independent = run_check("optimization-bias-linear", "generic", values, limit_formula=lambda *_: ours)
    assert evidence.holds is True and independent.holds is True
    assert evidence.details["rank"] == 2 and evidence.details["full_rank_recovers_teacher"] is False
    for run in ("descent", "flow"):
        # Both closed forms are within a few ulps of (5/6, 1/6, 5/6): distances agree to 1e-14.
        assert abs(evidence.details[run]["distance"] - independent.details[run]["distance"]) <= 1e-14
        assert independent.details[run]["distance"] <= independent.details[run]["certified"]


def _deep_descent(
    first: np.ndarray, top: np.ndarray, data: np.ndarray, logits: np.ndarray, step: float, max_steps: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Plain float64 gradient descent on a depth-2 linear student ``w = W_1ᵀ v`` (``v = W_2ᵀ``) until
    ``‖∇L(w)‖ < 1e-14``; returns the final layers and the largest ``‖(W_1(t) − W_1(0))P⊥‖`` seen
    (P⊥ from our own SVD). Fails if it does not converge within ``max_steps``."""
    n = data.shape[1]
    u, s, _ = np.linalg.svd(data)
    basis = u[:, : int(np.sum(s > 1e-12 * s[0]))]
    complement = np.eye(data.shape[0]) - basis @ basis.T
    w1, v = first.copy(), top.copy()
    drift = 0.0
    for _ in range(max_steps):
        w = w1.T @ v
        residual = 1 / (1 + np.exp(-(data.T @ w))) - 1 / (1 + np.exp(-logits))
        grad = data @ residual / n
        if np.linalg.norm(grad) < 1e-14:
            break
        w1, v = w1 - step * np.outer(v, grad), v - step * (w1 @ grad)
        drift = max(drift, float(np.linalg.norm((w1 - first) @ complement)))
    else:
        raise AssertionError(f"deep descent did not converge in {max_steps} steps")
    return w1, v, drift


@covers("optimization-bias-deep")
def test_deep_limit_against_exact_projector_and_own_deep_descent() -> None:
    """Depth 2, hidden width 2, small unbalanced init (scale ½), same plane data, T = 1.
    Recomputed: (1) the limit P w*/T + P⊥W_1(0)ᵀv_∞ with the exact projector, fed to the check as
    its closed form (the check's W_1(0) and v_∞ are what it passes in); (2) our own float64 deep
    descent from our own init with off-span rows: W_1(t)P⊥ stays W_1(0)P⊥ and the end-to-end vector
    lands on the same formula with our v_∞ — the off-span part is nonzero, so the term matters."""
    values = {
        **PLANE,
        "temperature": 1.0,
        "w0": None,
        "init_seed": 3,
        "architecture": {"depth": 2, "widths": [2], "init_scale": 0.5, "balanced": False},
    }
    data = columns(values["points"])
    p_float = to_numpy(projector(data))
    complement = np.eye(3) - p_float
    target = to_numpy(projector(data) * vector(values["w_star"]))[:, 0]  # P w*/T = (2/3, 4/3, 2/3)
    seen: dict[str, np.ndarray] = {}

    def exact_limit(_data: Any, _teacher: Any, first: np.ndarray, upper: np.ndarray) -> np.ndarray:
        seen["first"], seen["upper"] = np.array(first), np.array(upper)
        return target + complement @ (np.asarray(first).T @ np.asarray(upper))

    evidence = run_check("optimization-bias-deep", "generic", values)
    independent = run_check("optimization-bias-deep", "generic", values, limit_formula=exact_limit)
    assert evidence.holds is True and independent.holds is True
    assert evidence.details["converged"] and "limit" in independent.details
    assert np.linalg.norm(complement @ seen["first"].T @ seen["upper"]) > 1e-3  # informative
    # Same run, two closed forms a few ulps apart: the limit errors agree to 1e-14.
    assert abs(evidence.details["limit"]["error"] - independent.details["limit"]["error"]) <= 1e-14

    rng = np.random.default_rng(11)
    first, top = 0.5 * rng.standard_normal((2, 3)), 0.5 * rng.standard_normal(2)
    points = to_numpy(data)
    w1, v, drift = _deep_descent(first, top, points, points.T @ np.ones(3), step=0.5, max_steps=200_000)
    assert drift <= 1e-12  # rounding of ~1e4 updates, each ~1e-16
    predicted = target + complement @ (first.T @ v)
    assert np.linalg.norm(complement @ first.T @ v) > 1e-2
    # Converged to ‖∇L‖ < 1e-14 with σ' ≥ 0.1 and λ_min⁺(XXᵀ)/n = ½ on span X: the span part is
    # within ~1e-12 of P w*/T; the off-span part is P⊥W_1(t)ᵀv = P⊥W_1(0)ᵀv up to the drift.
    assert np.linalg.norm(w1.T @ v - predicted) <= 1e-10


@covers("temperature-monotone")
@pytest.mark.parametrize(
    ("values", "holds"),
    [
        pytest.param(  # the stored counterexample: raising T from 1 to 2 shrinks the angle to 0
            {
                "points": [[0, 1, 0, 0]],
                "w_star": [0, 1, 0, 1],
                "w0": [0, 0, 0, 0.5],
                "temperature": 1.0,
                "temperature_high": 2.0,
                "step_fraction": 1.0,
            },
            False,
            id="e2-counterexample",
        ),
        pytest.param(  # a holding instance with distinct sides: the angle grows 60° → 71.6°
            {
                "points": [[1, 0, 0]],
                "w_star": [1, 1, 0],
                "w0": [0, 0, 1],
                "temperature": 1.0,
                "temperature_high": 2.0,
                "step_fraction": 1.0,
            },
            True,
            id="e1-grows",
        ),
    ],
)
def test_temperature_monotone_exactly(values: dict[str, Any], holds: bool) -> None:
    """ŵ_T = P w*/T + P⊥w0 in sympy and the signed cos² of its angle to w* at both temperatures.
    e2-counterexample: P = e2e2ᵀ, ŵ_1 = (0,1,0,½), cos² = (3/2)²/(5/4·2) = 9/10; ŵ_2 = (0,½,0,½) ∥ w*,
    cos² = 1. e1-grows: ŵ_T = (1/T, 0, 1), cos² = 1/4 (T = 1) and 1/10 (T = 2)."""
    evidence = run_check("temperature-monotone", "generic", values)
    data, w_star, w0 = columns(values["points"]), vector(values["w_star"]), vector(values["w0"])
    low, high = (signed_cos2(student(data, w_star, t, w0), w_star) for t in (1, 2))
    assert (exact(evidence.lhs), exact(evidence.rhs)) == (high, low) and high != low
    assert evidence.holds is holds is bool(high <= low)
    angles = [as_float(exact_angle(student(data, w_star, t, w0), w_star)) for t in (1, 2)]
    assert evidence.details["angles"] == pytest.approx(angles, abs=1e-12)  # float arccos of exact inputs


# ==============================================================================================
# angle-lemma, risk-angle-lemma, distill-best-in-span


@covers("angle-lemma")
@pytest.mark.parametrize(
    ("points", "w_star", "temperature", "student_cos", "best_cos"),
    [
        # P w* = (1,1,0): ∠ = arccos(2/√6) ≈ 0.6155 < α(e1) = α(e2) = arccos(1/√3) ≈ 0.9553.
        pytest.param([[1, 0, 0], [0, 1, 0]], [1, 1, 1], 1.0, 2 / math.sqrt(6), 1 / math.sqrt(3), id="axes"),
        # P w* = (1,0,0): ∠ = π/4 < α(x_i) = arccos(1/2) = π/3, whatever T.
        pytest.param([[1, 1, 0], [1, -1, 0]], [1, 0, 1], 2.0, 1 / math.sqrt(2), 0.5, id="diagonals-T2"),
    ],
)
def test_angle_lemma_exactly(
    points: list, w_star: list, temperature: float, student_cos: float, best_cos: float
) -> None:
    """rank X = 2 < d = 3, so the angle is strictly positive. Recomputed in sympy: ∠(P w*/T, w*) and
    min_i α(x_i) = min_i arccos(|w*ᵀx_i|/(‖w*‖‖x_i‖)); the check's student is trained, so its angle
    may differ from ours by its certified slack (its tolerance); its min α by rounding of arccos."""
    values = {"points": points, "w_star": w_star, "temperature": temperature, "w0": None, "step_fraction": 1.0}
    evidence = run_check("angle-lemma", "generic", values)
    data, teacher = columns(points), vector(w_star)
    assert projector(data).rank() == 2
    ours = exact_angle(student(data, teacher, temperature), teacher)
    best = min(
        sp.acos(sp.Abs(teacher.dot(data[:, i])) / sp.sqrt(teacher.dot(teacher) * data[:, i].dot(data[:, i])))
        for i in range(data.cols)
    )
    assert as_float(ours) == pytest.approx(math.acos(student_cos), abs=1e-15)
    assert as_float(best) == pytest.approx(math.acos(best_cos), abs=1e-15)
    assert abs(evidence.lhs - as_float(ours)) <= evidence.tolerance
    assert abs(evidence.rhs - as_float(best)) <= 16 * EPS * math.pi  # a few ulps of π
    assert evidence.holds is True and as_float(ours) < as_float(best) - 0.1


RISK_ANGLE_DISCRETE = {"points": [[2, 1], [1, -3], [-1, 1]], "weights": ["1/2", "1/3", "1/6"], "w_star": [1, 0]}


@covers("risk-angle-lemma")
def test_risk_angle_lemma_discrete_equality_with_a_tie() -> None:
    """w* = e1, w = (1,1): β = π/4. γ = (63.4°, 18.4°, 45°) for (2,1), (1,−3), (−1,1). The student
    misclassifies (1,−3) (score −2) and scores exactly 0 on (−1,1) (a tie: an error); both lie within
    π/4 of the boundary, so R(w) = 1/3 + 1/6 = 1/2 = p(π/4): the lemma holds with equality."""
    evidence = run_check("risk-angle-lemma", "discrete", {"family_params": RISK_ANGLE_DISCRETE, "w": [1, 1]})
    law, w = Law.of(RISK_ANGLE_DISCRETE), vector([1, 1])
    risk = law.risk(w)
    bound = law.p_of_angle(w)
    assert (risk, bound) == (sp.Rational(1, 2), sp.Rational(1, 2))
    assert law.risk(w, ties_correct=True) == sp.Rational(1, 3)  # without the tie: strictly below
    assert (exact(evidence.lhs), exact(evidence.rhs)) == (risk, bound)
    assert evidence.exact and evidence.holds is True


@covers("risk-angle-lemma")
def test_risk_angle_lemma_isotropic_closed_forms() -> None:
    """Isotropic d = 3, w = (1,1,0): β = π/4, R = β/π = 1/4 (Sheppard) and p(β) = sin β = √2/2
    (d = 3); p also by mpmath.betainc as I_{sin²β}(½, 1): closed forms at 50 digits. The check's
    quadrature-free isotropic formulas are float evaluations: agreement within 1e-12."""
    evidence = run_check(
        "risk-angle-lemma", "isotropic", {"family_params": {"dim": 3, "radius": "gaussian"}, "w": [1, 1, 0]}
    )
    with mp.workdps(DIGITS):
        beta = mp.acos(1 / mp.sqrt(2))
        p_beta = mp.betainc(mp.mpf(1) / 2, mp.mpf(1), 0, mp.sin(beta) ** 2, regularized=True)
        assert abs(p_beta - mp.sin(beta)) < mp.mpf("1e-40")
        risk = beta / mp.pi
    assert abs(evidence.lhs - float(risk)) <= 1e-12 and float(risk) == 0.25
    assert abs(evidence.rhs - float(p_beta)) <= 1e-12
    assert evidence.holds is True


@covers("distill-best-in-span")
def test_distill_best_in_span_symmetric_exact() -> None:
    """X = [e1, e2], w* = (2,1,1), both hard labels +1. P w* = (2,1,0): ∠ = arccos(√(5/6)) ≈ 0.4205.
    Swapping e1 ↔ e2 maps the hard-label problem to itself, so every hard-label iterate from 0 and
    the max-margin direction are along (1,1,0) (max-margin exactly (1,1,0)): ∠ = arccos(√3/2) = π/6."""
    values = {
        "points": [[1, 0, 0], [0, 1, 0]],
        "w_star": [2, 1, 1],
        "temperature": 1.0,
        "w0": None,
        "step_fraction": 1.0,
    }
    evidence = run_check("distill-best-in-span", "generic", values)
    data, teacher = columns(values["points"]), vector(values["w_star"])
    best = exact_angle(projector(data) * teacher, teacher)
    hard = max_margin([data[:, 0], data[:, 1]])
    assert hard == sp.Matrix([1, 1, 0]) and sp.simplify(exact_angle(hard, teacher) - sp.pi / 6) == 0
    assert abs(evidence.lhs - as_float(best)) <= evidence.tolerance
    assert abs(evidence.rhs - math.pi / 6) <= 16 * EPS * math.pi
    assert all(abs(a - math.pi / 6) <= 16 * EPS * math.pi for a in evidence.details["hard_angles"].values())
    assert evidence.holds is True and as_float(best) < math.pi / 6 - 0.1


@covers("distill-best-in-span")
def test_distill_best_in_span_hard_iterates_by_mpmath_descent() -> None:
    """X = [(2,0,0), e2], w* = (1,1,1): P w* = (1,1,0), ∠ = arccos(2/√6) ≈ 0.6155. Hard-label
    descent from 0 (step 1/L_max = 2, L_max = 4/(4·2)) recomputed at 50 digits: its angles at steps
    10, 100, 1000 climb towards the max-margin direction (½, 1, 0) (exact KKT active set),
    ∠ = arccos(3/√15) ≈ 0.6847. The check's float descent accumulates ~1000 roundings of relative
    size eps per step, so its angles agree with ours within 1e-11; its max-margin solver (NNLS)
    within 1e-9."""
    values = {
        "points": [[2, 0, 0], [0, 1, 0]],
        "w_star": [1, 1, 1],
        "temperature": 1.0,
        "w0": None,
        "step_fraction": 1.0,
    }
    evidence = run_check("distill-best-in-span", "generic", values)
    data, teacher = columns(values["points"]), vector(values["w_star"])
    best = as_float(exact_angle(projector(data) * teacher, teacher))
    hard = max_margin([data[:, 0], data[:, 1]])
    assert hard == sp.Matrix([sp.Rational(1, 2), 1, 0])
    assert safe_step(data) == 2
    with mp.workdps(DIGITS):
        iterates = mp_descent([mp.mpf(0)] * 3, mp_points(values["points"]), [mp.mpf(1)] * 2, mp.mpf(2), 1000)
        ours = {str(k): float(mp_angle(iterates[k], [mp.mpf(1)] * 3)) for k in (10, 100, 1000)}
    ours["max-margin"] = as_float(exact_angle(hard, teacher))
    reported = evidence.details["hard_angles"]
    for key in ("10", "100", "1000"):
        assert abs(reported[key] - ours[key]) <= 1e-11
    assert abs(reported["max-margin"] - ours["max-margin"]) <= 1e-9
    assert abs(evidence.lhs - best) <= evidence.tolerance
    assert abs(evidence.rhs - min(ours.values())) <= 1e-11
    assert evidence.holds is True and best < min(ours.values())


# ==============================================================================================
# Expected risks and bounds: exact on discrete data


# γ = (45°, 45°, 54.7°) for (−1,0,1), (1,0,1), (−2,−1,1) with w* = e1 (sin²γ = ½, ½, ⅔): p = ⅔ on
# [45°, 54.7°), 1 above. B_2(θ) = p(θ) + p(90° − θ)² is 0 + (⅔)² = 4/9 for θ ∈ (35.3°, 45°) and ≥ 4/9
# elsewhere; the margin corollary gives p(90° − 45°)² = 4/9 too. n = 2 < d = 3.
BOUND_DISCRETE = {"points": [[-1, 0, 1], [1, 0, 1], [-2, -1, 1]], "weights": ["1/3", "1/3", "1/3"], "w_star": [1, 0, 0]}


@covers("risk-bound", "rate-margin")
@pytest.mark.parametrize("claim_id", ["risk-bound", "rate-margin"])
def test_risk_bounds_discrete_by_enumeration(claim_id: str) -> None:
    """Both sides exactly: E R_2 and E p(∠(ŵ, w*)) by enumerating all 9 ordered pairs of support
    points (student P w* in sympy, sign(0) an error), and the bound by minimising over every jump
    of p. Informative: n < d and the bound 4/9 < 1. The check reports the tighter link of the chain
    E R_n ≤ E p(∠) ≤ bound."""
    values = {"family_params": BOUND_DISCRETE, "n": 2, "seed": 0, "temperature": 1.0, "w0": None}
    evidence = run_check(claim_id, "discrete", values)
    law = Law.of(BOUND_DISCRETE)
    risk = law.expected_risk(2)
    p_angle = law.expected(2, lambda data, _: law.p_of_angle(student(data, law.w_star)))
    bound = law.risk_bound(2, margin=claim_id == "rate-margin")
    assert bound == sp.Rational(4, 9) == law.risk_bound(2)
    assert (risk, p_angle) == (sp.Rational(2, 27), sp.Rational(4, 27))
    details = evidence.details
    assert (exact(details["expected_risk"]), exact(details["expected_p_angle"]), exact(details["bound"])) == (
        risk,
        p_angle,
        bound,
    )

    def tighter(expected_risk: sp.Rational) -> Sides:
        return min([(expected_risk, p_angle), (p_angle, bound)], key=lambda link: link[1] - link[0])

    assert_exact_sides(evidence, tighter(risk), tighter(law.expected_risk(2, ties_correct=True)))
    assert evidence.holds is True and risk <= p_angle <= bound < 1


@covers("risk-bound-with-init")
@pytest.mark.parametrize(
    ("values", "risk", "bound", "ties_correct_risk"),
    [
        # The stored counterexample: w* = e1, points e1, (1,1,0), −e1, w0 = (0,−1,0). Sets inside the
        # e1 axis (probability 4/9) give ŵ = (1,−1,0), which scores 0 on (1,1,0): R = 1/3, E R_2 = 4/27.
        # γ = (90°, 45°, 90°): bound = p(θ) + p(90° − θ)² = 0 + (1/3)² = 1/9 for θ ∈ (0°, 45°).
        pytest.param(
            {
                "family_params": {
                    "points": [[1, 0, 0], [1, 1, 0], [-1, 0, 0]],
                    "weights": ["1/3"] * 3,
                    "w_star": [1, 0, 0],
                },
                "n": 2,
                "w0": [0, -1, 0],
            },
            sp.Rational(4, 27),
            sp.Rational(1, 9),
            sp.Rational(0),
            id="certificate-tie",
        ),
        # Tie-free: w* = (0,1,1), points a1 = (2,−2,−2), a2 = (1,1,2), a3 = (−1,−2,−1) all within 45° of
        # ±w* (sin²γ = ⅔, ¾, ¾), so the bound is p(π/4) + p(π/4) = 0. With w0 = (1,−1,0) and n = 1:
        # ŵ(a1) = (−⅓, ⅓, 4/3) is right everywhere; ŵ(a2) = (3/2, −½, 1) and ŵ(a3) = (5/3, ⅓, ⅔) score
        # 2 and 4/3 on a1 (teacher −). E R_1 = (0 + ⅓ + ⅓)/3 = 2/9, no score is 0.
        pytest.param(
            {
                "family_params": {
                    "points": [[2, -2, -2], [1, 1, 2], [-1, -2, -1]],
                    "weights": ["1/3"] * 3,
                    "w_star": [0, 1, 1],
                },
                "n": 1,
                "w0": [1, -1, 0],
            },
            sp.Rational(2, 9),
            sp.Rational(0),
            sp.Rational(2, 9),
            id="tie-free",
        ),
    ],
)
def test_risk_bound_with_init_discrete_by_enumeration(
    values: dict[str, Any], risk: sp.Rational, bound: sp.Rational, ties_correct_risk: sp.Rational
) -> None:
    """E R_n of P w*/T + P⊥w0 by enumerating every n-tuple in sympy (both tie conventions), the bound
    by its jumps; the two sides differ, so the open claim is decided on this instance."""
    instance = {**values, "seed": 0, "temperature": 1.0}
    evidence = run_check("risk-bound-with-init", "discrete", instance)
    law = Law.of(values["family_params"])
    ours = law.expected_risk(values["n"], 1, values["w0"])
    other = law.expected_risk(values["n"], 1, values["w0"], ties_correct=True)
    ours_bound = law.risk_bound(values["n"])
    assert (ours, ours_bound, other) == (risk, bound, ties_correct_risk)
    assert_exact_sides(evidence, (ours, ours_bound), (other, ours_bound))


@covers("monotone-risk-expected")
def test_monotone_risk_expected_discrete_by_enumeration() -> None:
    """The stored counterexample: w* = (1,0,−1), points (1,1,0), (2,0,1), (2,−1,0), uniform. One point
    pins ŵ ∥ ±x, which classifies all three correctly: E R_1 = 0. Two distinct points can give a
    student scoring 0 on the third (a tie): E R_2 = 2/27 > 0. Both by enumeration in sympy."""
    params = {"points": [[1, 1, 0], [2, 0, 1], [2, -1, 0]], "weights": ["1/3"] * 3, "w_star": [1, 0, -1]}
    evidence = run_check(
        "monotone-risk-expected",
        "discrete",
        {"family_params": params, "n": 1, "seed": 0, "temperature": 1.0, "w0": None},
    )
    law = Law.of(params)
    one, two = law.expected_risk(1), law.expected_risk(2)
    assert (one, two) == (0, sp.Rational(2, 27))
    ties = (law.expected_risk(1, ties_correct=True), law.expected_risk(2, ties_correct=True))
    assert ties == (0, 0)  # the violation is a tie artefact: counted as correct, E R_2 = 0 too
    assert_exact_sides(evidence, (two, one), (ties[1], ties[0]))


@covers("monotone-risk-pointwise")
@pytest.mark.parametrize(
    ("params", "points", "extension", "risks"),
    [
        # w* = e3; X = {(0,−2,−1)}: ŵ ∝ (0,2,1) classifies all three points. X' adds (1,0,1):
        # Gram [[5,−1],[−1,2]], P w* = −(1/9)(0,−2,−1) + (4/9)(1,0,1) = (4/9, 2/9, 5/9), which scores
        # 8/9 − 5/9 = 1/3 > 0 on (2,0,−1) (teacher −): R = 1/3 > 0 = R(ŵ_X), with no tie anywhere.
        pytest.param(
            {"points": [[0, -2, -1], [1, 0, 1], [2, 0, -1]], "weights": ["1/3"] * 3, "w_star": [0, 0, 1]},
            [[0, -2, -1]],
            [[1, 0, 1]],
            (sp.Rational(1, 3), sp.S.Zero),
            id="tie-free",
        ),
        # The stored counterexample (its violation is a student scoring exactly 0 on (1,0,−1)).
        pytest.param(
            {"points": [[1, 0, -1], [1, 1, 1], [0, 2, 1]], "weights": ["1/4", "1/4", "1/2"], "w_star": [0, 0, 1]},
            [[0, 2, 1]],
            [[1, 1, 1]],
            (sp.Rational(1, 4), sp.S.Zero),
            id="certificate-tie",
        ),
    ],
)
def test_monotone_risk_pointwise_exactly(
    params: dict[str, Any], points: list, extension: list, risks: tuple[sp.Rational, sp.Rational]
) -> None:
    """R(P w*) on X and on the strict span extension X' in sympy (both tie conventions)."""
    values = {
        "family_params": params,
        "points": points,
        "extension": extension,
        "w_star": params["w_star"],
        "temperature": 1.0,
        "w0": None,
        "n": len(points),
        "seed": 0,
        "step_fraction": 1.0,
    }
    evidence = run_check("monotone-risk-pointwise", "discrete", values)
    law = Law.of(params)
    small, large = columns(points), columns(points + extension)
    assert projector(large).rank() > projector(small).rank()
    students = [student(small, law.w_star), student(large, law.w_star)]
    ours = (law.risk(students[1]), law.risk(students[0]))
    other = (law.risk(students[1], ties_correct=True), law.risk(students[0], ties_correct=True))
    assert ours == risks
    assert_exact_sides(evidence, ours, other)


@covers("distill-beats-hard-expected")
@pytest.mark.parametrize(
    ("params", "sides"),
    [
        # The stored counterexample (three equally likely points, two draws): 4/27 vs 2/27.
        pytest.param(
            {"points": [[1, 0, 0], [1, -1, 1], [1, 2, 0]], "weights": ["1/3"] * 3, "w_star": [1, 0, 1]},
            (sp.Rational(4, 27), sp.Rational(2, 27)),
            id="certificate",
        ),
        # One whose violation survives counting sign(0) as correct.
        pytest.param(
            {"points": [[1, -1, -2], [-2, 0, -1], [-1, -1, -1]], "weights": ["1/3"] * 3, "w_star": [1, 1, -1]},
            (sp.Rational(8, 27), sp.Rational(2, 9)),
            id="tie-free",
        ),
    ],
)
def test_distill_beats_hard_expected_by_enumeration(
    params: dict[str, Any], sides: tuple[sp.Rational, sp.Rational]
) -> None:
    """E R_2 of the distilled limit P w* and of the hard-label max-margin direction, both by
    enumerating all 9 ordered training sets in sympy; each max-margin direction from its exact KKT
    active set (no solver). The two sides differ."""
    evidence = run_check(
        "distill-beats-hard-expected",
        "discrete",
        {"family_params": params, "n": 2, "seed": 0, "temperature": 1.0, "w0": None},
    )
    law = Law.of(params)

    def hard(data: sp.Matrix, _: tuple[int, ...]) -> sp.Matrix:
        return max_margin([data[:, i] * sp.sign(law.w_star.dot(data[:, i])) for i in range(data.cols)])

    def both_sides(ties: bool) -> Sides:
        hard_risk = law.expected(2, lambda data, chosen: law.risk(hard(data, chosen), ties_correct=ties))
        return law.expected_risk(2, ties_correct=ties), hard_risk

    assert both_sides(False) == sides
    assert_exact_sides(evidence, sides, both_sides(True))


# ==============================================================================================
# Expected risks on continuous families: closed forms and a plain numpy Monte Carlo

MC_TRIALS = 200_000


def assert_chain_agrees(evidence: Evidence, draws: Draws, p_of_angle: np.ndarray, bound: float) -> None:
    """A statistical check of ``E R_n ≤ E p(∠) ≤ bound`` (risk-bound, rate-margin) against ours.

    With a bound below 1 the check's interval is for ``E p(∠(ŵ_X, w*))`` (the chain's second link;
    the first holds per training set): it must overlap our Hoeffding interval for the same mean.
    With a bound of 1 the check shows both means instead. Either way its mean risk over its
    ``trials`` training sets must lie within a Hoeffding half-width (at 1 − 1e-6) of our interval
    for ``E R_n``, and the per-set link ``R ≤ p(∠)`` must hold in its draws as in ours.
    """
    ours_p, ours_risk = hoeffding(p_of_angle), draws.risk_interval()
    trials = Budget().trials
    slack = hoeffding_half_width(trials)
    mean_risk = float(evidence.details["mean_risk"])
    assert ours_risk[0] - slack <= mean_risk <= ours_risk[1] + slack
    assert evidence.details["largest_risk_minus_p_angle"] <= evidence.tolerance
    if bound < 1:
        assert overlap(ours_p, check_interval(evidence))
        assert abs(float(evidence.details["mean"]) - float(np.mean(p_of_angle))) <= slack + ours_p[1] - ours_p[0]
    else:
        assert (evidence.lhs, evidence.rhs) == (mean_risk, float(evidence.details["mean"]))
        assert ours_p[0] - slack <= evidence.rhs <= ours_p[1] + slack
    assert evidence.holds is True and ours_risk[1] <= ours_p[1] and ours_p[1] <= bound


@covers("risk-bound")
def test_risk_bound_isotropic_closed_form_and_monte_carlo() -> None:
    """Isotropic d = 3, n = 2. The normal ν of span{x_1, x_2} is uniform on S², and sin∠(P w*, w*) =
    |ν_1| is uniform on [0, 1] (Archimedes), so E R_2 = E[arcsin U]/π = (π/2 − 1)/π = ½ − 1/π ≈ 0.1817
    and, with p(θ) = sin θ for d = 3, E p(∠) = E U = ½ (both also by mpmath.quad). The bound
    min_θ [sin θ + cos²θ] = 1, at θ = 0 or π/2 (the interior critical point sin θ = ½ is a maximum,
    5/4), so the check shows the chain's first link. Monte Carlo: R = ∠/π (Sheppard) and p(∠) =
    I_{sin²∠}(½, 1) on 200 000 Gaussian training sets, Hoeffding intervals at 1 − 1e-6."""
    evidence = run_check(
        "risk-bound",
        "isotropic",
        {"family_params": {"dim": 3, "radius": "gaussian"}, "n": 2, "seed": 7, "temperature": 1.0, "w0": None},
    )
    with mp.workdps(DIGITS):
        closed_risk = mp.quad(mp.asin, [0, 1]) / mp.pi
        assert abs(closed_risk - (mp.mpf(1) / 2 - 1 / mp.pi)) < mp.mpf("1e-40")
        closed_p = mp.quad(lambda u: mp.betainc(mp.mpf(1) / 2, 1, 0, u**2, regularized=True), [0, 1])
        assert abs(closed_p - mp.mpf(1) / 2) < mp.mpf("1e-40")
        bound = min(mp.sin(t) + mp.cos(t) ** 2 for t in mp.linspace(0, mp.pi / 2, 2001))
    draws = monte_carlo(isotropic_points, 3, 2, MC_TRIALS, 2019)
    sheppard = hoeffding(draws.angles / np.pi)
    assert sheppard[0] <= float(closed_risk) <= sheppard[1]
    lo, hi = draws.risk_interval()
    assert lo <= float(closed_risk) <= hi
    p_of_angle = np.sin(draws.angles)
    assert hoeffding(p_of_angle)[0] <= float(closed_p) <= hoeffding(p_of_angle)[1]
    assert float(bound) == pytest.approx(1.0, abs=1e-12)
    assert_chain_agrees(evidence, draws, p_of_angle, float(bound))


@covers("risk-bound")
def test_risk_bound_beta_polarised_is_informative() -> None:
    """Beta-polarised a = 1, b = 3, d = 4, n = 2: p(θ) = I_{2θ/π}(3, 1) = t³ (t = 2θ/π, checked by
    mpmath.betainc), so the bound is min_t [t³ + (1 − t)⁶] ≈ 0.11064 at t ≈ 0.39787 (root of
    3t² − 6(1 − t)⁵, at 50 digits): below 1 with n < d. E R_2 and E p(∠) = E (2∠/π)³ by Monte
    Carlo from our own sampler (one test point per training set, Clopper–Pearson; Hoeffding)."""
    evidence = run_check(
        "risk-bound",
        "beta-polarised",
        {"family_params": {"dim": 4, "a": 1.0, "b": 3.0}, "n": 2, "seed": 5, "temperature": 1.0, "w0": None},
    )
    with mp.workdps(DIGITS):
        assert abs(mp.betainc(3, 1, 0, mp.mpf("0.3"), regularized=True) - mp.mpf("0.3") ** 3) < mp.mpf("1e-40")
        t_star = mp.findroot(lambda t: 3 * t**2 - 6 * (1 - t) ** 5, mp.mpf("0.4"))
        bound = t_star**3 + (1 - t_star) ** 6
        assert all(bound <= t**3 + (1 - t) ** 6 for t in mp.linspace(0, 1, 501))
    draws = monte_carlo(lambda rng, shape: angular_points(rng, shape, 1.0, 3.0), 4, 2, MC_TRIALS, 3)
    # kdverify minimises on a zoomed grid: its value is at or just above the true minimum.
    assert float(bound) - 1e-12 <= evidence.rhs <= float(bound) + 1e-9
    assert_chain_agrees(evidence, draws, (2 * draws.angles / np.pi) ** 3, float(bound))


@covers("rate-margin")
def test_rate_margin_closed_form_and_monte_carlo() -> None:
    """Margin family θ_m = 0.6, a = b = 1 (α uniform on [0, π/2 − θ_m]), d = 3, n = 2:
    p(θ) = (θ − θ_m)/(π/2 − θ_m) on [θ_m, π/2], so p(θ_m) = 0 and the bound is
    ((π − 4θ_m)/(π − 2θ_m))² ≈ 0.14589 < 1 (checked against I_x(1, 1) in mpmath). E R_2 and
    E p(∠) by Monte Carlo from our own sampler (Clopper–Pearson; Hoeffding at 1 − 1e-6)."""
    margin = 0.6
    evidence = run_check(
        "rate-margin",
        "margin",
        {"family_params": {"dim": 3, "margin": margin}, "n": 2, "seed": 7, "temperature": 1.0, "w0": None},
    )
    with mp.workdps(DIGITS):
        m = mp.mpf(margin)
        base = mp.betainc(1, 1, 0, (mp.pi / 2 - 2 * m) / (mp.pi / 2 - m), regularized=True)
        bound = base**2
        assert abs(bound - ((mp.pi - 4 * m) / (mp.pi - 2 * m)) ** 2) < mp.mpf("1e-40")
    draws = monte_carlo(lambda rng, shape: angular_points(rng, shape, 1.0, 1.0, margin), 3, 2, MC_TRIALS, 4)
    p_of_angle = np.clip((draws.angles - margin) / (np.pi / 2 - margin), 0.0, 1.0)
    # p is a float incomplete beta: the check's own tolerance covers its rounding.
    assert abs(evidence.rhs - float(bound)) <= evidence.tolerance
    assert_chain_agrees(evidence, draws, p_of_angle, float(bound))


@covers("rate-polynomial")
def test_rate_polynomial_constants_by_hand_and_monte_carlo() -> None:
    """Beta-polarised a = b = 1 (α uniform), d = 4, n = 3: p(θ) = P[α ≤ θ] = 2θ/π, so κ = λ = 1 with
    c = c' = 2/π on [0, θ_0 = π/4]. θ_n = (π/2) log n / n ≤ π/4 for all n (log n / n ≤ 1/e), so
    n_0 = 3 (log n ≥ 1); C = c(κ/(λc'))^{κ/λ} + 1 = 2, and the bound at n = 3 is 2 log 3 / 3 ≈ 0.7324.
    Recomputed at 50 digits: the hypotheses (with mpmath.betainc), that the rhs dominates
    p(θ_n) + p(π/2 − θ_n)^n, and E R_3 by our Monte Carlo (Clopper–Pearson at 1 − 1e-6)."""
    evidence = run_check(
        "rate-polynomial",
        "beta-polarised",
        {"family_params": {"dim": 4, "a": 1.0, "b": 1.0}, "n": 3, "seed": 7, "temperature": 1.0, "w0": None},
    )
    n = 3
    with mp.workdps(DIGITS):
        c = c_prime = 2 / mp.pi
        theta0 = mp.pi / 4
        for theta in mp.linspace(0, theta0, 101):
            assert mp.betainc(1, 1, 0, 2 * theta / mp.pi, regularized=True) <= c * theta + mp.mpf("1e-45")
            assert mp.betainc(1, 1, 0, 2 * theta / mp.pi, regularized=True) >= c_prime * theta - mp.mpf("1e-45")
        constant = c * (1 / c_prime) + 1
        assert abs(constant - 2) < mp.mpf("1e-45")
        assert all(mp.log(k) / k <= c_prime * theta0 for k in range(3, 200))  # θ_k ≤ θ_0: n_0 = 3
        bound = constant * mp.log(n) / n
        theta_n = mp.log(n) / (c_prime * n)
        assert theta_n <= theta0
        assert 2 * theta_n / mp.pi + (1 - 2 * theta_n / mp.pi) ** n <= bound  # the bound it stands for
    draws = monte_carlo(lambda rng, shape: angular_points(rng, shape, 1.0, 1.0), 4, n, MC_TRIALS, 6)
    assert abs(evidence.rhs - float(bound)) <= 1e-12
    # The check decides the proof's chain E R_n ≤ E p(∠) ≤ C log n / n, with p(θ) = 2θ/π here.
    assert_chain_agrees(evidence, draws, 2 * draws.angles / np.pi, float(bound))


@covers("monotone-risk-expected")
def test_monotone_risk_expected_isotropic_closed_forms() -> None:
    """Isotropic d = 3: with one point ŵ ∥ ±x, ∠ = α(x) = arccos|u_1| with |u_1| uniform on [0, 1],
    so E R_1 = (∫_0^1 arccos u du)/π = 1/π ≈ 0.3183; E R_2 = ½ − 1/π ≈ 0.1817 (as in the risk-bound
    test). The two sides differ; the claim holds at n = 1. Closed forms by mpmath.quad; Monte Carlo
    R = ∠/π with Hoeffding intervals. The check decides isotropic data exactly: its closed forms
    (read by sympy) are ours, and its float sides are theirs to double precision."""
    evidence = run_check(
        "monotone-risk-expected",
        "isotropic",
        {"family_params": {"dim": 3, "radius": "gaussian"}, "n": 1, "seed": 7, "temperature": 1.0, "w0": None},
    )
    with mp.workdps(DIGITS):
        closed = {1: mp.quad(mp.acos, [0, 1]) / mp.pi, 2: mp.quad(mp.asin, [0, 1]) / mp.pi}
        assert abs(closed[1] - 1 / mp.pi) < mp.mpf("1e-40")
    rng = np.random.default_rng(1)
    ours = {}
    for n in (1, 2):
        students = distilled_students(isotropic_points(rng, (MC_TRIALS, 3, n)), np.eye(3)[0])
        cosines = np.clip(students[:, 0] / np.linalg.norm(students, axis=1), -1, 1)
        ours[n] = hoeffding(np.arccos(cosines) / np.pi)
        assert ours[n][0] <= float(closed[n]) <= ours[n][1]
    forms = {
        side: sp.sympify(text.replace("·", "*").replace("π", "pi").replace("^", "**"))
        for side, text in evidence.details["closed_forms"].items()
    }
    assert sp.simplify(forms["lhs"] - (sp.Rational(1, 2) - 1 / sp.pi)) == 0
    assert sp.simplify(forms["rhs"] - 1 / sp.pi) == 0
    # Double precision: one rounding of each side (at most EPS for values below 1), nothing else.
    assert evidence.exact
    assert abs(evidence.lhs - float(closed[2])) <= EPS and abs(evidence.rhs - float(closed[1])) <= EPS
    assert evidence.holds is True and ours[2][1] < ours[1][0]  # E R_2 < E R_1, decided by our intervals


# ==============================================================================================
# monotone-distance


@covers("monotone-distance")
@pytest.mark.parametrize(
    ("family", "w0", "distances"),
    [
        # ŵ_X = (1,0,0), ŵ_X' = (1,1,0) against w* = (1,1,1): ‖·‖ = √2 → 1, ∠ = arccos(1/√3) → arccos(2/√6).
        pytest.param("generic", None, (1, math.sqrt(2)), id="generic-from-0"),
        # Isotropic d = 3 as well: p = sin, so p(∠) = √(2/3) → 1/√3.
        pytest.param("isotropic", None, (1, math.sqrt(2)), id="isotropic-from-0"),
    ],
)
def test_monotone_distance_from_zero(family: str, w0: Any, distances: tuple[float, float]) -> None:
    """X = [e1], X' = X ∪ {e2} (a strict span extension), w* = (1,1,1), T = 1. Recomputed in sympy:
    both students, their distances to w*/T and their angles; on isotropic data p(∠) = sin ∠ (d = 3).
    Trained students: agreement within the check's certified tolerances."""
    values = {
        "points": [[1, 0, 0]],
        "extension": [[0, 1, 0]],
        "w_star": [1, 1, 1],
        "temperature": 1.0,
        "w0": w0,
        "step_fraction": 1.0,
    }
    if family != "generic":
        values.update(family_params={"dim": 3, "radius": "gaussian"}, n=1, seed=0)
    evidence = run_check("monotone-distance", family, values)
    teacher = vector(values["w_star"])
    small, large = columns(values["points"]), columns(values["points"] + values["extension"])
    students = [student(small, teacher), student(large, teacher)]
    ours = [sp.sqrt((s - teacher).dot(s - teacher)) for s in students]
    angles = [as_float(exact_angle(s, teacher)) for s in students]
    assert (as_float(ours[1]), as_float(ours[0])) == pytest.approx(distances, abs=1e-15)
    assert abs(evidence.lhs - as_float(ours[1])) <= evidence.tolerance
    assert abs(evidence.rhs - as_float(ours[0])) <= evidence.tolerance
    details = evidence.details
    assert abs(details["angle_small"] - angles[0]) <= details["angle_tolerance"]
    assert abs(details["angle_large"] - angles[1]) <= details["angle_tolerance"]
    if family == "isotropic":
        # p(β) = sin β for d = 3; the check's p is evaluated at its (trained) angles.
        assert details["p_small"] == pytest.approx(math.sqrt(2 / 3), abs=1e-12)
        assert details["p_large"] == pytest.approx(1 / math.sqrt(3), abs=1e-12)
    assert evidence.holds is True and angles[1] < angles[0]


@covers("monotone-distance")
def test_monotone_distance_with_initialisation() -> None:
    """X = [(1,1,0)], X' = X ∪ {(0,1,1)}, w* = (1,1,1), w0 = (1,0,1): ‖ŵ − w*‖ = ‖P⊥(w0 − w*)‖ with
    w0 − w* = (0,−1,0): P⊥_X gives (½, −½, 0), norm 1/√2; P⊥_X' = nnᵀ/3 with n = (1,−1,1) gives
    (1,−1,1)/3, norm 1/√3 < 1/√2. Exact in sympy; the trained students within the check's tolerance."""
    values = {
        "points": [[1, 1, 0]],
        "extension": [[0, 1, 1]],
        "w_star": [1, 1, 1],
        "temperature": 1.0,
        "w0": [1, 0, 1],
        "step_fraction": 1.0,
    }
    evidence = run_check("monotone-distance", "generic", values)
    teacher, start = vector(values["w_star"]), vector(values["w0"])
    small, large = columns(values["points"]), columns(values["points"] + values["extension"])
    ours = [
        sp.sqrt((s - teacher).dot(s - teacher))
        for s in (student(small, teacher, 1, start), student(large, teacher, 1, start))
    ]
    assert ours == [1 / sp.sqrt(2), 1 / sp.sqrt(3)]
    assert abs(evidence.lhs - as_float(ours[1])) <= evidence.tolerance
    assert abs(evidence.rhs - as_float(ours[0])) <= evidence.tolerance
    assert evidence.holds is True


def test_every_claim_is_recomputed() -> None:
    """Each claim of THEORY.md §3 and §8 has at least one independent recomputation above."""
    assert sorted(COVERED) == sorted(CLAIM_IDS)


# ----------------------------------------------------------------------------------------------
# THEORY.md §8.1: the softmax student.


def softmax_limit_exact(data: sp.Matrix, w_star: sp.Matrix, temperature: Any, w0: sp.Matrix) -> sp.Matrix:
    """``P W*C/T + P W₀11ᵀ/K + P⊥W₀`` with ``C = I − 11ᵀ/K``, exactly."""
    classes = w_star.cols
    p, mean = projector(data), sp.ones(classes, classes) / classes
    return p * w_star * (sp.eye(classes) - mean) / rational(temperature) + p * w0 * mean + (sp.eye(data.rows) - p) * w0


def plain_softmax_descent(data: np.ndarray, w_star: np.ndarray, temperature: float, w0: np.ndarray) -> np.ndarray:
    """Textbook gradient descent on the softmax cross-entropy, written here: step ``n/λ_max(XXᵀ)``."""
    logits = data.T @ w_star / temperature
    targets = np.exp(logits - logits.max(axis=1, keepdims=True))
    targets /= targets.sum(axis=1, keepdims=True)
    w, n = w0.copy(), data.shape[1]
    step = n / np.linalg.eigvalsh(data @ data.T).max()
    for _ in range(20_000):
        z = data.T @ w
        p = np.exp(z - z.max(axis=1, keepdims=True))
        w -= step * data @ (p / p.sum(axis=1, keepdims=True) - targets) / n
    return w


@covers("multiclass-optimization-bias")
@pytest.mark.parametrize("classes", [2, 3])
def test_multiclass_optimization_bias(classes: int) -> None:
    """X = [(1,0,0), (0,1,0)] in R^3, T = 2: a plain numpy GD written here ends within 1e-9 of the
    exact sympy limit P W*C/T + P W₀11ᵀ/K + P⊥W₀ (it converges linearly; 20 000 steps reach 1e-12 on
    this conditioning), and the claim's own check holds with its GD within its certificate of the
    formula. For K = 2, W_∞(e₁ − e₂) is exactly §3's P(w*₁ − w*₂)/T + P⊥(w0₁ − w0₂)."""
    w_star = [[1, 0, -1], [0, 2, 0], [1, 1, 1]]
    w0 = [["1/2", -1, 0], [0, "3/2", 1], [2, 0, "-1/2"]]
    w_star, w0 = [row[:classes] for row in w_star], [row[:classes] for row in w0]
    values = {"points": [[1, 0, 0], [0, 1, 0]], "w_star": w_star, "temperature": 2.0,
              "w0": [[float(rational(x)) for x in row] for row in w0], "step_fraction": 1.0}
    data = columns(values["points"])
    teacher, start = sp.Matrix(w_star), sp.Matrix([[rational(x) for x in row] for row in w0])
    exact = softmax_limit_exact(data, teacher, 2, start)
    ours = plain_softmax_descent(to_numpy(data), to_numpy(teacher), 2.0, to_numpy(start))
    assert np.abs(ours - to_numpy(exact)).max() < 1e-9
    evidence = run_check("multiclass-optimization-bias", "generic", values)
    assert evidence.holds is True
    assert evidence.details["limit"]["error"] <= evidence.details["limit"]["tolerance"]
    if classes == 2:
        p = projector(data)
        binary = p * (teacher[:, 0] - teacher[:, 1]) / 2 + (sp.eye(3) - p) * (start[:, 0] - start[:, 1])
        assert exact[:, 0] - exact[:, 1] == binary
        assert "binary-limit" in evidence.details


@covers("multiclass-monotone-risk-expected")
def test_multiclass_monotone_risk_expected_on_discrete_data() -> None:
    """Three equally likely points (1,0,1), (1,1,0), (1,1,1), W* with columns (1,0,0) and (−2,0,2):
    the teacher puts all three in class 1. One point alone gives a student P W*C that does too
    (E R₁ = 0); of the 9 ordered pairs, the two of (1,1,0) and (1,1,1) span a plane whose student
    puts (1,0,1) in class 2 (scores −¼, ¼): enumerated here in sympy, E R₂ = (2/9)(1/3) = 2/27 > 0,
    as the check finds."""
    values = {"points": [[1, 0, 1], [1, 1, 0], [1, 1, 1]], "weights": ["1/3", "1/3", "1/3"],
              "w_star": [[1, -2], [0, 0], [0, 2]], "temperature": 1, "n": 1}
    teacher = sp.Matrix(values["w_star"])
    support = [vector(p) for p in values["points"]]
    labels = [list(teacher.T * a).index(max(teacher.T * a)) for a in support]

    def expected(n: int) -> sp.Rational:
        total = sp.Rational(0)
        for chosen in itertools.product(range(3), repeat=n):
            w = projector(sp.Matrix.hstack(*(support[i] for i in chosen))) * teacher * (sp.eye(2) - sp.ones(2, 2) / 2)
            for a, label in zip(support, labels, strict=True):
                scores = list(w.T * a)
                if [k for k, s in enumerate(scores) if s == max(scores)] != [label]:
                    total += sp.Rational(1, 3) ** (n + 1)
        return total

    assert (expected(1), expected(2)) == (0, sp.Rational(2, 27))
    evidence = run_check("multiclass-monotone-risk-expected", "discrete", values)
    assert evidence.holds is False and (evidence.lhs, evidence.rhs) == (Fraction(2, 27), Fraction(0))


# ----------------------------------------------------------------------------------------------
# THEORY.md §8.2 (mixed targets) and §8.3 (kernel ridge self-distillation).


def mixed_logit(z: sp.Rational, label: int, rho: sp.Rational) -> mp.mpf:
    """``logit(ρσ(z) + (1 − ρ)y)`` at 50 digits."""
    mp.mp.dps = DIGITS
    t = mp.mpf(rho.p) / rho.q / (1 + mp.exp(-mp.mpf(z.p) / z.q)) + (1 - mp.mpf(rho.p) / rho.q) * label
    return mp.log(t / (1 - t))


def mixed_expected_risk(points: list, weights: list, w_star: list, labeller: list, rho: sp.Rational, n: int) -> Any:
    """``E R_n`` of the ρ-mixed student from 0 against the labeller, for support points that are
    linearly independent (so every training set's logits are consistent and the student is
    ``X_D(X_DᵀX_D)⁻¹u``): every n-tuple enumerated, each score ``Σ_i c_i u_i`` with rational
    ``c = a_jᵀX_D(X_DᵀX_D)⁻¹`` from sympy and ``u`` in mpmath."""
    truth, teacher = vector(labeller), vector(w_star)
    total = sp.Rational(0)
    for chosen in itertools.product(range(len(points)), repeat=n):
        distinct = sorted(set(chosen))
        data = columns([points[i] for i in distinct])
        pulled = data * (data.T * data).inv()
        u = [
            mixed_logit((teacher.T * vector(points[i]))[0], 1 if (truth.T * vector(points[i]))[0] > 0 else 0, rho)
            for i in distinct
        ]
        probability = sp.prod([rational(weights[i]) for i in chosen])
        for point, weight in zip(points, weights, strict=True):
            c = (vector(point).T * pulled).tolist()[0]
            score = mp.fsum(mp.mpf(sp.Rational(ci).p) / sp.Rational(ci).q * ui for ci, ui in zip(c, u, strict=True))
            assert abs(score) > mp.mpf(10) ** -40, "a tie: not expected on these instances"
            if mp.sign(score) != sp.sign((truth.T * vector(point))[0]):
                total += probability * rational(weight)
    return total


@covers("mixed-targets-limit")
def test_mixed_limit_against_an_mpmath_closed_form() -> None:
    """X = [e₁, 2e₂] in R³, w* = (1,1,1), labeller (1,−1,0) (labels 1, 0), ρ = 1/2, w₀ = e₃: the
    limit is (u₁, u₂/2, 1) with u = logit(t) at 50 digits. The check's literal gradient descent
    must end within its certificate of it — and not of the same point moved by 10⁻⁶."""
    values = {
        "points": [[1, 0, 0], [0, 2, 0]], "w_star": [1, 1, 1], "temperature": 1.0, "w0": [0, 0, 1],
        "step_fraction": 1.0, "rho": "1/2", "labeller": [1, -1, 0],
    }
    u = [mixed_logit(sp.Integer(1), 1, sp.Rational(1, 2)), mixed_logit(sp.Integer(2), 0, sp.Rational(1, 2))]
    limit = np.array([float(u[0]), float(u[1] / 2), 1.0])
    evidence = run_check("mixed-targets-limit", "generic", values, formula=lambda *args: limit)
    assert evidence.holds is True and evidence.details["consistent"] is True
    moved = run_check("mixed-targets-limit", "generic", values, formula=lambda *args: limit + 1e-6)
    assert moved.holds is False


@covers("soft-ratio-monotone")
def test_soft_ratio_counterexample_recomputed() -> None:
    """Three independent points with weights 1/3, teacher (−1, 2, −1), n = 2: E R₂ is 2/27 at
    ρ = 3/4 and 0 at ρ = 1/4 (risk against the teacher itself: a perfect teacher)."""
    params = {"points": [[0, 0, 2], [0, -1, 2], [2, 2, 3]], "weights": ["1/3"] * 3, "w_star": [-1, 2, -1]}
    values = {"family_params": params, "n": 2, "seed": 0, "temperature": 1.0, "w0": None, "rho": "1/4",
              "rho_other": "3/4"}
    evidence = run_check("soft-ratio-monotone", "discrete", values)
    ours = [mixed_expected_risk(params["points"], params["weights"], params["w_star"], params["w_star"], rho, 2)
            for rho in (sp.Rational(3, 4), sp.Rational(1, 4))]
    assert ours == [sp.Rational(2, 27), 0]
    assert (evidence.lhs, evidence.rhs, evidence.holds) == (Fraction(2, 27), Fraction(0), False)


@covers("imperfect-teacher-mixing-helps")
def test_mixing_witness_recomputed() -> None:
    """Points ±e₁, teacher (1, 1), labeller (−1, 0), one sample: the pure teacher (ρ = 1) is wrong on
    both points (E R₁ = 1), ρ = 1/2 follows the labeller (E R₁ = 0): a witness."""
    params = {"points": [[1, 0], [-1, 0]], "weights": ["1/2", "1/2"], "w_star": [1, 1]}
    values = {"family_params": params, "n": 1, "seed": 0, "temperature": 1.0, "w0": None, "labeller": [-1, 0]}
    evidence = run_check("imperfect-teacher-mixing-helps", "discrete", values)
    ours = {rho: mixed_expected_risk(params["points"], params["weights"], params["w_star"], [-1, 0], rho, 1)
            for rho in (sp.Integer(1), sp.Rational(1, 2))}
    assert ours == {1: 1, sp.Rational(1, 2): 0}
    assert (evidence.lhs, evidence.rhs, evidence.holds) == (1, 0, False)


KRR_VALUES = {"points": [[1, 0], [0, 1], [1, 1]], "lam": "1/2"}


def krr_filter(points: list, lam: str) -> sp.Matrix:
    """``A = G(G + λI)⁻¹`` for the linear kernel, by sympy's inverse."""
    g = columns(points).T * columns(points)
    return g * (g + rational(lam) * sp.eye(g.rows)).inv()


@covers("self-distillation-filter")
def test_self_distillation_filter_recomputed() -> None:
    """Three points in the plane (G of rank 2), λ = 1/2, y = (1, −2, 3), rounds 0–3: the check's
    exact predictions are A^{t+1}y from sympy's own inverse and powers."""
    values = {**KRR_VALUES, "labels": [1, -2, 3], "rounds": 3}
    evidence = run_check("self-distillation-filter", "linear-kernel", values)
    a, y = krr_filter(values["points"], values["lam"]), vector(values["labels"])
    ours = [list(a ** (t + 1) * y) for t in range(4)]
    assert [[rational(str(x)) for x in f] for f in evidence.details["predictions"]] == ours
    assert evidence.holds is True and evidence.lhs == 0


@covers("self-distillation-shrinks")
def test_self_distillation_norms_recomputed() -> None:
    """The same instance: ‖f_t‖² from sympy, decreasing, and below (tr G/(tr G + λ))^{2(t+1)}‖y‖²."""
    values = {**KRR_VALUES, "labels": [1, -2, 3], "rounds": 3}
    evidence = run_check("self-distillation-shrinks", "linear-kernel", values)
    a, y = krr_filter(values["points"], values["lam"]), vector(values["labels"])
    squares = [((a ** (t + 1) * y).T * (a ** (t + 1) * y))[0] for t in range(4)]
    assert [rational(str(x)) for x in evidence.details["squared_norms"]] == squares
    assert all(later < earlier for earlier, later in itertools.pairwise(squares))
    rate = sp.Rational(4, 4 + sp.Rational(1, 2))  # tr G = 1 + 1 + 2
    assert all(s <= rate ** (2 * (t + 1)) * (y.T * y)[0] for t, s in enumerate(squares))
    assert evidence.holds is True


def krr_test_errors(values: dict) -> tuple[Any, Any]:
    """Expected squared test errors of rounds 0 and 1 (bias² + σ² kᵀM²k, ``M_0 = (G + λI)⁻¹``,
    ``M_1 = M_0 G M_0``), linear kernel, from sympy."""
    x, tests = columns(values["points"]), columns(values["test_points"])
    g = x.T * x
    m0 = (g + rational(values["lam"]) * sp.eye(g.rows)).inv()
    beta = vector(values["beta_rows"][0])
    errors = []
    for m in (m0, m0 * g * m0):
        total = sp.Rational(0)
        for j in range(tests.cols):
            k = x.T * tests.col(j)
            bias = (k.T * m * x.T * beta)[0] - (beta.T * tests.col(j))[0]
            total += bias**2 + rational(values["noise"]) * (k.T * m * m * k)[0]
        errors.append(total / tests.cols)
    return errors[0], errors[1]


@covers("self-distillation-helps", "self-distillation-helps-exists")
def test_self_distillation_helps_both_readings_recomputed() -> None:
    """Noise variance 4 on three points: round 1 beats round 0 (a witness of the existence reading,
    the for-all reading holds here); without noise round 1 is worse (the for-all reading fails)."""
    noisy = {**KRR_VALUES, "test_points": [[2, 1], [0, -1]], "beta_rows": [[1, -1]], "noise": "4"}
    first, second = krr_test_errors(noisy)
    assert second < first
    assert run_check("self-distillation-helps", "linear-kernel", noisy).holds is True
    witness = run_check("self-distillation-helps-exists", "linear-kernel", noisy)
    assert (witness.lhs, witness.rhs, witness.holds) == (first, second, False)
    clean = {**noisy, "noise": "0"}
    first, second = krr_test_errors(clean)
    assert second > first
    evidence = run_check("self-distillation-helps", "linear-kernel", clean)
    assert (evidence.lhs, evidence.rhs, evidence.holds) == (second, first, False)
