"""The certificates kdverify stores for its open claims: each replays, and each exact one on a
discrete distribution is recomputed here by brute force in sympy — every n-tuple of support
points, the student ``P w*/T + P⊥ w0`` by a pseudo-inverse, the risk by counting — independently
of the library's inclusion–exclusion and projector code."""

from __future__ import annotations

import itertools
import json

import pytest
import sympy as sp

from kdverify.claims.suite import certificate_directory, replay

CERTIFICATES = sorted(certificate_directory().glob("*.json"))


def _expected_risk(params: dict, n: int, temperature: sp.Rational, w0: list | None) -> sp.Rational:
    """``E R_n`` of the distilled limit, summed over all n-tuples of support points."""
    points = [sp.Matrix(point) for point in params["points"]]
    weights = [sp.Rational(weight) for weight in params["weights"]]
    w_star = sp.Matrix(params["w_star"])
    start = sp.zeros(len(w_star), 1) if w0 is None else sp.Matrix([sp.Rational(str(c)) for c in w0])

    def risk(w: sp.Matrix) -> sp.Rational:
        wrong = [q for a, q in zip(points, weights, strict=True) if sp.sign((w.T * a)[0]) != sp.sign((w_star.T * a)[0])]
        return sum(wrong, sp.Rational(0))

    total = sp.Rational(0)
    for tuple_ in itertools.product(range(len(points)), repeat=n):
        data = sp.Matrix.hstack(*(points[i] for i in tuple_))
        projector = data * (data.T * data).pinv() * data.T
        student = projector * w_star / temperature + (sp.eye(len(w_star)) - projector) * start
        total += sp.prod([weights[i] for i in tuple_]) * risk(student)
    return total


def test_every_open_claim_certificate_replays() -> None:
    assert CERTIFICATES, "kdverify ships the counterexamples its hunts found"
    for path in CERTIFICATES:
        outcome = replay(json.loads(path.read_text(encoding="utf-8")))
        assert outcome.valid, f"{path.name}: {outcome.reason}"


@pytest.mark.parametrize("name", ["monotone-risk-expected--discrete.json", "risk-bound-with-init--discrete.json"])
def test_exact_discrete_certificates_agree_with_brute_force(name: str) -> None:
    """Both sides of ``E R_{n+1} ≤ E R_n``; for the risk bound with ``w0``, its left side ``E R_n``
    (the bound itself, ``min_θ [p(θ) + p(π/2 − θ)^n]``, is the library's, checked elsewhere)."""
    certificate = json.loads((certificate_directory() / name).read_text(encoding="utf-8"))
    instance, evidence = certificate["instance"], certificate["evidence"]
    assert certificate["exact"] and not evidence["holds"]
    n, temperature = int(instance["n"]), sp.Rational(str(instance["temperature"]))
    params, w0 = instance["family_params"], instance["w0"]
    lhs, rhs = sp.Rational(str(evidence["lhs"])), sp.Rational(str(evidence["rhs"]))
    assert (
        _expected_risk(params, n + 1 if certificate["claim"] == "monotone-risk-expected" else n, temperature, w0) == lhs
    )
    if certificate["claim"] == "monotone-risk-expected":
        assert _expected_risk(params, n, temperature, w0) == rhs
    assert lhs > rhs


def _max_margin_by_active_sets(rows: list[sp.Matrix]) -> sp.Matrix:
    """The hard-margin direction of the rows ``y_i x_i`` by trying every active set (smallest
    first) in sympy and keeping the one whose KKT conditions hold: no float solver involved."""
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


def test_distill_beats_hard_certificate_agrees_with_brute_force() -> None:
    """``E R_n`` of the distilled and of the max-margin student, both recomputed here."""
    certificate = json.loads(
        (certificate_directory() / "distill-beats-hard-expected--discrete.json").read_text(encoding="utf-8")
    )
    instance, evidence = certificate["instance"], certificate["evidence"]
    params, n = instance["family_params"], int(instance["n"])
    points = [sp.Matrix(point) for point in params["points"]]
    weights = [sp.Rational(weight) for weight in params["weights"]]
    w_star = sp.Matrix(params["w_star"])
    labels = [sp.sign((w_star.T * a)[0]) for a in points]
    hard = sp.Rational(0)
    for chosen in itertools.product(range(len(points)), repeat=n):
        w = _max_margin_by_active_sets([labels[i] * points[i] for i in chosen])
        wrong = [q for a, q, y in zip(points, weights, labels, strict=True) if sp.sign((w.T * a)[0]) != y]
        hard += sp.prod([weights[i] for i in chosen]) * sum(wrong, sp.Rational(0))
    distilled = _expected_risk(params, n, sp.Rational(str(instance["temperature"])), instance["w0"])
    assert (distilled, hard) == (sp.Rational(evidence["lhs"]), sp.Rational(evidence["rhs"]))
    assert distilled > hard
