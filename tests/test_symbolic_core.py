"""The symbolic layer's machinery: registry, lazy import, checks that confirm and checks that fail."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest
import sympy as sp

from kdverify.cli import derive as derive_verb
from kdverify.errors import InvalidArgument
from kdverify.theory import all_derivations, derivation_ids, get_derivation
from kdverify.theory.core import Derivation, Derived, Identity, Step
from kdverify.theory.reduce import as_rational_function, quadrant_reducer, reduce_residual
from kdverify.theory.symbols import logistic_loss, matrix_symbols, mean_loss, sigmoid, span_projector

THEORY_IDS = (
    "loss-calculus",
    "global-minimizers",
    "gd-limit",
    "deep-invariance",
    "geometry-isotropic",
    "geometry-beta-polarised",
    "geometry-margin",
    "risk-bound",
    "rate-margin",
    "rate-polynomial",
    "exact-certificate",
    "multiclass-limit",
    "mixed-targets",
    "self-distillation",
)


class TestRegistry:
    def test_ids_are_the_ones_the_brief_names(self) -> None:
        """Every derivation id from THEORY.md §1–§3 and §8 is registered, in order, and resolves to itself."""
        assert derivation_ids() == THEORY_IDS
        assert [d.id for d in all_derivations()] == list(THEORY_IDS)

    def test_unknown_id_lists_the_known_ones(self) -> None:
        """An unknown id is rejected with a message naming it and every valid id."""
        with pytest.raises(InvalidArgument, match=r"id='nope'.*loss-calculus.*exact-certificate"):
            get_derivation("nope")

    def test_unknown_function_name_is_rejected(self) -> None:
        """numpy_function names the derivation and the available functions."""
        with pytest.raises(InvalidArgument, match=r"'nope'.*loss-calculus.*loss_curvature"):
            get_derivation("loss-calculus").numpy_function("nope")

    def test_import_does_no_sympy_work(self) -> None:
        """Importing kdverify, kdverify.theory and the derive verb does not even import sympy."""
        code = (
            "import sys, kdverify, kdverify.theory, kdverify.cli.derive;"
            "print('sympy' in sys.modules)"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert result.stdout.strip() == "False"


class TestChecks:
    @pytest.mark.parametrize("derivation_id", THEORY_IDS)
    def test_every_claimed_identity_reduces_to_zero(self, derivation_id: str) -> None:
        """Each derivation claims at least one identity and every residual reduces to exactly 0."""
        report = get_derivation(derivation_id).check()
        assert report.results, f"{derivation_id} claims no identity"
        for result in report.results:
            assert result.confirmed, f"{derivation_id}: {result.identity}: residual {result.residual}"
        assert report.confirmed

    def test_all_derivations_confirm_from_a_cold_start(self) -> None:
        """Every derivation builds and confirms in a fresh process (no state from other tests), and
        sympy does not blow up: the whole run stays under a minute of CPU time (about 15 s; CPU,
        not wall time, so a loaded machine does not fail it)."""
        code = (
            "import time, json; t = time.process_time();"
            "from kdverify.theory import all_derivations;"
            "ok = all(d.check().confirmed for d in all_derivations());"
            "print(json.dumps([ok, time.process_time() - t]))"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        confirmed, cpu_seconds = json.loads(result.stdout)
        assert confirmed
        assert cpu_seconds < 60, f"all derivations took {cpu_seconds:.1f} s of CPU"

    def test_latex_escapes_prose_and_renders_every_check(self) -> None:
        """LaTeX output escapes _ and ^ in prose and has one item per checked identity."""
        derivation = get_derivation("rate-polynomial")
        latex = derivation.latex()
        assert r"w\_0 = 0" in latex and r"\^{}" in latex
        assert latex.count(r"\item $\checkmark$") == len(derivation.check().results)


def _single_identity(identity: Identity) -> Derivation:
    return Derivation("planted", "a deliberately wrong formula", ("none",),
                      lambda: Derived({}, (Step("planted"),), (identity,)))


class TestWrongFormulasFail:
    """A planted wrong formula must leave a nonzero residual: a check that cannot fail is caught."""

    def test_gradient_without_the_one_over_n(self) -> None:
        data = matrix_symbols("x", 3, 2, real=True)
        w = matrix_symbols("w", 3, 1, real=True)
        s = matrix_symbols("s", 2, 1, positive=True)
        loss = mean_loss(data, w, s, logistic_loss)
        gradient = w.applyfunc(lambda v: sp.diff(loss, v))
        wrong = data * ((data.T * w).applyfunc(sigmoid) - s)
        report = _single_identity(Identity("∇L = X(σ − s)", gradient, wrong)).check()
        assert not report.confirmed
        assert not report.results[0].residual.is_zero_matrix

    def test_curvature_with_a_wrong_sign(self) -> None:
        z, t = sp.Symbol("z", real=True), sp.Symbol("t", positive=True)
        second = sp.diff(logistic_loss(z, t), z, 2)
        assert reduce_residual(second - sigmoid(z) * (1 + sigmoid(z))) != 0

    def test_projector_without_the_gram_inverse(self) -> None:
        basis = matrix_symbols("x", 3, 2, real=True)
        wrong = basis * basis.T
        assert not reduce_residual(wrong * wrong - wrong).is_zero_matrix
        right = span_projector(basis)
        assert reduce_residual(right * right - right).is_zero_matrix

    def test_isotropic_p_with_the_wrong_power(self) -> None:
        theta = sp.Symbol("theta", positive=True)
        closed = sp.betainc_regularized(sp.Rational(1, 2), 1, 0, sp.sin(theta) ** 2)
        reducer = quadrant_reducer(theta)
        assert reducer(sp.diff(sp.sin(theta), theta) - sp.diff(closed, theta)) == 0
        assert reducer(sp.diff(sp.sin(theta) ** 2, theta) - sp.diff(closed, theta)) != 0

    def test_rate_constant_without_the_plus_one(self) -> None:
        from kdverify.theory import rates

        kappa, lam, log_n = rates.KAPPA, rates.LAM, rates.LOG_N
        n = sp.exp(log_n)
        theta_n = (kappa * log_n / (lam * rates.C_PRIME * n)) ** (1 / lam)
        rate = (log_n / n) ** (kappa / lam)
        leading = rates.C * (kappa / (lam * rates.C_PRIME)) ** (kappa / lam)
        slack = n ** (-kappa / lam) * (log_n ** (kappa / lam) - 1)
        for constant, expected_zero in ((leading + 1, True), (leading, False)):
            residual = reduce_residual(constant * rate - rates.C * theta_n**kappa - n ** (-kappa / lam) - slack)
            assert (residual == 0) == expected_zero

    def test_cli_exits_1_when_a_check_fails(self, monkeypatch, capsys) -> None:
        """`kdverify derive ID` prints FAIL with the residual and returns 1."""
        z = sp.Symbol("z", real=True)
        planted = _single_identity(Identity("σ'(z) = σ(z)²", sp.diff(sigmoid(z), z), sigmoid(z) ** 2))
        monkeypatch.setattr(derive_verb, "get_derivation", lambda _id: planted)
        assert _run_derive(["planted"]) == 1
        out = capsys.readouterr().out
        assert "[FAIL] σ'(z) = σ(z)²" in out and "residual:" in out and "0 of 1 derivation(s)" in out


class TestReducers:
    def test_exponentials_of_one_linear_form_are_one_generator(self) -> None:
        """exp(2z), exp(−z) and exp(z/2) are powers of exp(z/2): their relations are exact."""
        z = sp.Symbol("z", real=True)
        assert as_rational_function(sp.exp(2 * z) * sp.exp(-z) - sp.exp(z / 2) ** 2) == 0
        assert as_rational_function(sp.exp(2 * z) - sp.exp(z)) != 0

    def test_non_rational_residuals_are_left_to_simplify(self) -> None:
        z = sp.Symbol("z", positive=True)
        assert as_rational_function(sp.log(z)) is None
        assert reduce_residual(sp.log(z**2) - 2 * sp.log(z)) == 0


def _run_derive(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    derive_verb.register(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(["derive", *argv])
    return args.func(args)


class TestDeriveVerb:
    def test_one_derivation_prints_its_parts_and_exits_0(self, capsys) -> None:
        assert _run_derive(["global-minimizers"]) == 0
        out = capsys.readouterr().out
        for part in ("== global-minimizers", "assumptions:", "steps:", "results:", "checks (5/5", "verdict: confirmed"):
            assert part in out
        assert "minimum_value = -t*log(t) - (1 - t)*log(1 - t)" in out

    def test_latex_flag(self, capsys) -> None:
        assert _run_derive(["risk-bound", "--latex"]) == 0
        assert r"\subsection*{\texttt{risk-bound}" in capsys.readouterr().out

    def test_unknown_id_is_a_usage_error(self) -> None:
        """The verb raises InvalidArgument, which the kdverify entry point turns into exit status 2."""
        with pytest.raises(InvalidArgument, match="choose one of loss-calculus"):
            _run_derive(["no-such-derivation"])

    def test_entry_point_exit_status_2(self, capsys) -> None:
        """Through ``kdverify.cli.main`` an unknown id exits 2 with the list of ids on stderr."""
        from kdverify.cli import main

        assert main(["derive", "no-such-derivation"]) == 2
        assert "loss-calculus" in capsys.readouterr().err
