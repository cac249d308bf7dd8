"""The certificates kdverify stores for its open claims: each replays, and each exact one on a
discrete distribution is recomputed here by brute force in sympy — every n-tuple of support
points, the student ``P w*/T + P⊥ w0`` by a pseudo-inverse, the max-margin student by trying
every active set, the risk by counting — independently of the library's inclusion–exclusion,
projector and solver code, under both tie conventions: a student scoring exactly 0 on a support
point is wrong (THEORY.md §1, ``sign(0) = 0``) or right. Every stored one is a violation under
both (tie-free)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import mpmath as mp
import pytest
import sympy as sp

from kdverify.claims.certificates import certificate_directory, replay

CERTIFICATES = sorted(certificate_directory().glob("*.json"))
EXACT_DISCRETE = [
    path.name
    for path in CERTIFICATES
    if path.name.endswith("--discrete.json") and json.loads(path.read_text(encoding="utf-8"))["exact"]
]
TIES = ("error", "correct")


def _rational(value: Any) -> sp.Rational:
    return sp.Rational(str(value))


def _matrix(values: list) -> sp.Matrix:
    return sp.Matrix([_rational(value) for value in values])


def _risk(params: dict, w: sp.Matrix, ties: str) -> sp.Rational:
    """The weight of the support points where ``w`` disagrees with the teacher; a zero score is
    an error when ``ties == "error"``."""
    w_star = _matrix(params["w_star"])
    total = sp.Rational(0)
    for point, weight in zip(params["points"], params["weights"], strict=True):
        agreement = sp.sign((w.T * _matrix(point))[0]) * sp.sign((w_star.T * _matrix(point))[0])
        if agreement < 0 or (agreement == 0 and ties == "error"):
            total += _rational(weight)
    return total


def _distilled(params: dict, data: list, temperature: sp.Rational, w0: list | None) -> sp.Matrix:
    """``P w*/T + P⊥ w0`` for the training points ``data``, with ``P`` from a pseudo-inverse."""
    matrix = sp.Matrix.hstack(*(_matrix(point) for point in data))
    projector = matrix * (matrix.T * matrix).pinv() * matrix.T
    w_star = _matrix(params["w_star"])
    start = sp.zeros(len(w_star), 1) if w0 is None else _matrix(w0)
    return projector * w_star / temperature + (sp.eye(len(w_star)) - projector) * start


def _expected(params: dict, n: int, student: Callable[[list], sp.Matrix], ties: str) -> sp.Rational:
    """``E R_n`` of ``student(training points)``, summed over all n-tuples of support points."""
    total = sp.Rational(0)
    for chosen in itertools.product(range(len(params["points"])), repeat=n):
        probability = sp.prod([_rational(params["weights"][i]) for i in chosen])
        total += probability * _risk(params, student([params["points"][i] for i in chosen]), ties)
    return total


def _sides(certificate: dict, ties: str) -> tuple[sp.Rational, sp.Rational]:
    """Both sides of the certificate's violated inequality, recomputed under ``ties``. The risk
    bound of ``risk-bound-with-init`` (``min_θ [p(θ) + p(π/2 − θ)^n]``, no ties in it) is the
    library's, checked elsewhere."""
    instance, claim = certificate["instance"], certificate["claim"]
    if claim == "multiclass-monotone-risk-expected":
        size = int(instance["n"])
        return _softmax_expected(instance, size + 1, ties), _softmax_expected(instance, size, ties)
    params, temperature, w0 = instance["family_params"], _rational(instance["temperature"]), instance.get("w0")

    def distilled(data: list) -> sp.Matrix:
        return _distilled(params, data, temperature, w0)

    if claim == "monotone-risk-pointwise":
        small = instance["points"]
        return _risk(params, distilled(small + instance["extension"]), ties), _risk(params, distilled(small), ties)
    n = int(instance["n"])
    if claim == "monotone-risk-expected":
        return _expected(params, n + 1, distilled, ties), _expected(params, n, distilled, ties)
    if claim == "risk-bound-with-init":
        return _expected(params, n, distilled, ties), _rational(certificate["evidence"]["rhs"])
    if claim == "distill-beats-hard-expected":
        return _expected(params, n, distilled, ties), _expected(params, n, lambda data: _max_margin(params, data), ties)
    if claim in ("soft-ratio-monotone", "imperfect-teacher-mixing-helps"):
        truth = instance.get("labeller") or params["w_star"]
        def mixed(rho: sp.Rational) -> Callable[[list], sp.Matrix]:
            return lambda data: _mixed(params, truth, data, rho, temperature)

        rhos = map(_rational, certificate["evidence"]["details"]["risks"])
        risks = {rho: _expected({**params, "w_star": truth}, n, mixed(rho), ties) for rho in rhos}
        if claim == "soft-ratio-monotone":
            low, high = sorted(map(_rational, (instance["rho"], instance["rho_other"])))
            return risks[high], risks[low]
        return risks[1], min(risk for rho, risk in risks.items() if rho < 1)
    raise AssertionError(f"no independent recomputation of {claim} certificates")


def _mixed(params: dict, labeller: list, data: list, rho: sp.Rational, temperature: sp.Rational) -> sp.Matrix:
    """The ρ-mixed student from 0 (THEORY.md §8.2) on the training points ``data``: the minimiser
    of ``Σ_i ℓ(x_iᵀw, t_i)`` over ``span X``, ``t = ρσ(w*ᵀx/T) + (1 − ρ)1[w_yᵀx > 0]``, by Newton's
    method in mpmath at 60 digits in the coordinates ``v`` of ``w = B v`` (``B`` a rational basis
    of the span from sympy), then rounded to 45-digit rationals. A support point orthogonal to
    the span scores exactly 0 on it (a tie), as it must."""
    mp.mp.dps = 60
    w_star, w_y = _matrix(params["w_star"]), _matrix(labeller)
    columns = [_matrix(point) for point in data]
    basis = sp.Matrix.hstack(*columns).columnspace()
    rows = [mp.matrix([[mp.mpf((column.T * b)[0]) for b in basis]]) for column in columns]
    weight = mp.mpf(rho.p) / rho.q
    targets = []
    for column in columns:
        logit = (w_star.T * column)[0] / temperature
        z = mp.mpf(logit.p) / logit.q
        targets.append(weight / (1 + mp.exp(-z)) + (1 - weight) * (1 if (w_y.T * column)[0] > 0 else 0))
    v = mp.matrix(len(basis), 1)
    for _ in range(200):
        gradient, hessian = mp.matrix(len(basis), 1), mp.matrix(len(basis), len(basis))
        for row, t in zip(rows, targets, strict=True):
            s = 1 / (1 + mp.exp(-(row * v)[0]))
            gradient += row.T * (s - t)
            hessian += row.T * row * (s * (1 - s))
        step = mp.lu_solve(hessian, gradient)
        v -= step
        if mp.norm(step) < mp.mpf(10) ** -50:
            break
    return sum((sp.Rational(mp.nstr(v[k], 45)) * b for k, b in enumerate(basis)), sp.zeros(len(w_star), 1))


def test_every_open_claim_certificate_replays() -> None:
    assert CERTIFICATES, "kdverify ships the counterexamples its hunts found"
    for path in CERTIFICATES:
        outcome = replay(json.loads(path.read_text(encoding="utf-8")))
        assert outcome.valid, f"{path.name}: {outcome.reason}"


@pytest.mark.parametrize("name", EXACT_DISCRETE)
def test_exact_discrete_certificates_are_tie_free_violations(name: str) -> None:
    """The stored sides are the brute-force ones under THEORY.md §1's convention, the stored
    ``ties_correct`` sides those with ties counted as correct, the stored ``tie_free`` says whether
    the two verdicts agree — and every stored certificate violates its claim under both."""
    certificate = json.loads((certificate_directory() / name).read_text(encoding="utf-8"))
    evidence = certificate["evidence"]
    assert certificate["exact"] and evidence["holds"] is False
    stored = {
        "error": (evidence["lhs"], evidence["rhs"]),
        "correct": (evidence["details"]["ties_correct"]["lhs"], evidence["details"]["ties_correct"]["rhs"]),
    }
    sides = {ties: _sides(certificate, ties) for ties in TIES}
    assert sides == {ties: tuple(map(_rational, stored[ties])) for ties in TIES}
    violated = {ties: lhs > rhs for ties, (lhs, rhs) in sides.items()}
    assert certificate["tie_free"] is evidence["tie_free"] is (violated["error"] == violated["correct"])
    assert violated == {"error": True, "correct": True}, f"{name} depends on ties: {sides}"
    assert replay(certificate).tie_free is True


def _max_margin(params: dict, data: list) -> sp.Matrix:
    """The hard-margin direction of the training points ``data`` with the teacher's labels, by
    trying every active set of the rows ``y_i x_i`` (smallest first) in sympy and keeping the one
    whose KKT conditions hold: no float solver involved."""
    w_star = _matrix(params["w_star"])
    rows = [sp.sign((w_star.T * _matrix(point))[0]) * _matrix(point) for point in data]
    distinct = list(dict.fromkeys(tuple(row) for row in rows))
    for size in range(1, len(distinct) + 1):
        for active in itertools.combinations(distinct, size):
            basis = sp.Matrix.hstack(*(sp.Matrix(row) for row in active))
            gram = basis.T * basis
            if gram.det() == 0:
                continue
            multipliers = gram.solve(sp.ones(size, 1))
            w = basis * multipliers
            if all(m >= 0 for m in multipliers) and all((sp.Matrix(row).T * w)[0] >= 1 for row in distinct):
                return w
    raise AssertionError("no active set satisfies the KKT conditions")


def _softmax_expected(instance: dict, n: int, ties: str) -> sp.Rational:
    """``E R_n`` of the softmax student ``P W*C/T`` (THEORY.md §8.1, ``W₀ = 0``) over all n-tuples of
    support points, ``P`` from a pseudo-inverse; a support point is an error where the student's top
    classes are not exactly the teacher's (``ties == "error"``) or do not include it."""
    w_star = sp.Matrix([[_rational(x) for x in row] for row in instance["w_star"]])
    classes = w_star.cols
    centred = w_star * (sp.eye(classes) - sp.ones(classes, classes) / classes) / _rational(instance["temperature"])
    points, weights = instance["points"], instance["weights"]
    total = sp.Rational(0)
    for chosen in itertools.product(range(len(points)), repeat=n):
        matrix = sp.Matrix.hstack(*(_matrix(points[i]) for i in chosen))
        student = matrix * (matrix.T * matrix).pinv() * matrix.T * centred
        risk = sp.Rational(0)
        for point, weight in zip(points, weights, strict=True):
            teacher, scores = list(w_star.T * _matrix(point)), list(student.T * _matrix(point))
            top = [k for k, score in enumerate(scores) if score == max(scores)]
            label = teacher.index(max(teacher))
            if (top != [label]) if ties == "error" else (label not in top):
                risk += _rational(weight)
        total += sp.prod([_rational(weights[i]) for i in chosen]) * risk
    return total
