"""kdverify in pytest: every (claim, family) pair as a test case, for kdverify's own reference
students or for a user's trainer (scikit-learn's ``parametrize_with_checks`` is the pattern).

    from kdverify.testing import parametrize_with_claims

    @parametrize_with_claims(my_fit, expected_failed={"risk-bound": "why"})
    def test_my_trainer(claim_case, record_property):
        claim_case.check(record_property)

Theorems must hold, on at least one informative example (:attr:`Claim.content`). An open claim
with a stored certificate replays it (and the test documents that the claim is false); without
one it is hunted within the profile's budget, and a new counterexample fails the run with the
command that stores it. The budget is the ``--kdverify-profile``'s (:mod:`kdverify.testing.pytest_plugin`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pytest

from kdverify.claims.base import Budget, Claim
from kdverify.claims.certificates import certificate_name, replay, stored_certificate
from kdverify.claims.profiles import current_profile
from kdverify.claims.registry import all_claims, claims_in_group, get_claim
from kdverify.claims.runner import SearchResult, search
from kdverify.claims.suite import budget_for
from kdverify.errors import InvalidArgument, MissingDependency
from kdverify.training.train import Fit, UserTrainer

__all__ = ["ClaimCase", "claim_cases", "parametrize_with_claims", "trainer_claims"]

Record = Callable[[str, object], None]
"""pytest's ``record_property``: ``record(name, value)``."""


def claim_cases(group: str | None = None) -> list[tuple[Claim, str]]:
    """The (claim, family) pairs of one group of claims (all groups when ``None``)."""
    claims = claims_in_group(group) if group else all_claims()
    return [(claim, family) for claim in claims for family in claim.families]


def trainer_claims() -> tuple[Claim, ...]:
    """The claims about the trained student — its limit, its angle, its risk — which a user's
    trainer can be checked against (:meth:`Claim.for_trainer`)."""
    return tuple(claim for claim in all_claims() if claim.trainer_check is not None)


@dataclass(frozen=True)
class ClaimCase:
    """One (claim, family) pair to check: as the suite checks the theory (``trainer`` ``None``), or on
    the students of a user's ``trainer``. ``pairs`` are every pair of the run, over which the run's
    false-alarm rate δ is split (Bonferroni)."""

    claim: Claim
    family: str
    trainer: UserTrainer | None = None
    pairs: tuple[tuple[Claim, str], ...] = ()

    @property
    def id(self) -> str:
        """The pytest id, ``claim-family``, so ``-k risk-bound`` or ``-k discrete`` selects cases."""
        return f"{self.claim.id}-{self.family}"

    def check(self, record_property: Record | None = None) -> str:
        """Check the pair under the active profile; record ``claim``, ``family``, ``verdict``,
        ``examples``, ``informative``, ``undecided`` and ``evidence`` (JSON) with
        ``record_property`` (so ``--junitxml`` carries them), then raise ``AssertionError`` with the
        evidence when a theorem is falsified or vacuous, or a counterexample to an open claim is
        new or no longer replays. A family whose optional extra is not installed (the real data
        sets need scikit-learn) is skipped, saying which. Returns a one-line verdict."""
        record = record_property or (lambda name, value: None)
        record("claim", self.claim.id)
        record("family", self.family)
        if self.trainer is None and self.claim.status == "open":
            stored = stored_certificate(self.claim.id, self.family)
            if stored is not None:
                outcome = replay(stored)
                record("verdict", "falsified" if outcome.valid else "error")
                record("evidence", json.dumps(outcome.evidence.to_json() if outcome.evidence else None))
                assert outcome.valid, (
                    f"stored certificate of {self.claim.id} on {self.family} no longer replays: {outcome.reason}"
                )
                return f"falsified by its stored certificate: {outcome.evidence.summary()}"
        try:
            result = search(self.claim, self.family, current_profile(), budget=self._budget())
        except MissingDependency as missing:  # a family of an optional extra that is not installed
            record("verdict", "skipped")
            pytest.skip(f"{self.claim.id} on {self.family}: {missing}")
        for name in ("verdict", "examples", "informative", "undecided"):
            record(name, getattr(result, name))
        shown = result.evidence or result.shown
        record("evidence", json.dumps(shown.to_json() if shown else None, sort_keys=True))
        self._judge(result)
        return (
            f"{result.verdict}: {result.informative}/{result.examples} examples informative, "
            f"{result.undecided} undecided"
        )

    def _budget(self) -> Budget:
        return budget_for(current_profile(), self.pairs or claim_cases())

    def _judge(self, result: SearchResult) -> None:
        claim, family = self.claim, self.family
        subject = f"{claim.id} on {family}" + (f" with trainer {self.trainer.name}" if self.trainer else "")
        if result.verdict == "error":
            raise AssertionError(
                f"{subject}: the check crashed: {result.error}\n"
                + json.dumps(result.to_json().get("error_instance"), indent=1)
            )
        if result.verdict == "falsified":
            certificate = json.dumps(result.certificate(), indent=1, sort_keys=True)
            if self.trainer is not None:
                shown = result.evidence.summary() if result.evidence else ""
                raise AssertionError(f"TRAINER FAILS: {subject}: {shown}\n{certificate}")
            if claim.status == "theorem":
                raise AssertionError(f"THEOREM FALSIFIED: {subject}\n{certificate}")
            # A new counterexample to an open claim fails the run until it is stored: the verdict of
            # an open claim is a measured fact of the repository, so a change in it must be seen.
            outcome = replay(result.certificate())
            replays = "it replays on its own" if outcome.valid else f"but it does NOT replay: {outcome.reason}"
            raise AssertionError(
                f"NEW COUNTEREXAMPLE to the open claim {subject} ({replays}). Store it: save the "
                f"certificate below as kdverify/certificates/{certificate_name(claim.id, family)}, or hunt for "
                f"a shrunk one with `kdverify hunt {claim.id} --family {family} --out kdverify-out` and copy "
                f"it from there.\n{certificate}"
            )
        if result.verdict == "vacuous" and claim.status == "theorem":
            raise AssertionError(
                f"VACUOUS: {subject} drew no informative example in {result.examples} "
                f"({result.undecided} undecided); informative means: {claim.content.description}"
            )


def parametrize_with_claims(
    trainer: Fit | UserTrainer | None = None,
    *,
    claims: Iterable[str | Claim] | None = None,
    families: Iterable[str] | None = None,
    expected_failed: Mapping[str, str] | None = None,
    rtol: float = 1e-6,
) -> pytest.MarkDecorator:
    """``pytest.mark.parametrize("claim_case", ...)`` with one :class:`ClaimCase` per (claim, family).

    ``trainer`` is a user's distilled student, ``fit(X, targets) -> w`` (data ``(d, n)``, points as
    columns, soft targets ``σ(w*ᵀx/T)``, from ``w0 = 0``; see :class:`~kdverify.training.UserTrainer`),
    promising ``‖w − ŵ‖ ≤ rtol·max(1, ‖w‖)``; it is checked against :func:`trainer_claims` (or
    ``claims``, ids or claims). Without a trainer the claims (all by default) are checked as the suite
    checks the theory. ``families`` keeps those families only. ``expected_failed`` maps claim ids to
    the reason they fail: those cases are strict expected failures (an unexpected pass fails too).

    >>> mark = parametrize_with_claims(lambda X, targets: X @ (targets - 0.5), claims=["angle-lemma"])
    >>> [param.id for param in mark.args[1]][:2]
    ['angle-lemma-generic', 'angle-lemma-isotropic']
    """
    user = None if trainer is None else trainer if isinstance(trainer, UserTrainer) else UserTrainer(trainer, rtol)
    chosen = _claims(claims, trainer=user)
    pairs = [(claim, family) for claim in chosen for family in claim.families]
    if families is not None:
        wanted = set(families)
        unknown = wanted - {family for _, family in pairs}
        if unknown:
            raise InvalidArgument(f"families={sorted(unknown)} are not families of the chosen claims.")
        pairs = [(claim, family) for claim, family in pairs if family in wanted]
    reasons = dict(expected_failed or {})
    stray = set(reasons) - {claim.id for claim, _ in pairs}
    if stray:
        raise InvalidArgument(f"expected_failed names {sorted(stray)}, which are not among the claims checked.")
    checked = tuple((claim.for_trainer(user) if user else claim, family) for claim, family in pairs)
    params = [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, raises=AssertionError, reason=reasons[claim.id])]
            if claim.id in reasons
            else [],
        )
        for claim, family in checked
        for case in [ClaimCase(claim, family, user, checked if user else ())]
    ]
    return pytest.mark.parametrize("claim_case", params)


def _claims(claims: Iterable[str | Claim] | None, *, trainer: UserTrainer | None) -> Sequence[Claim]:
    """The claims to check: ids resolved, and for a trainer only those about a trained student."""
    if claims is None:
        return trainer_claims() if trainer else all_claims()
    chosen = [get_claim(claim) if isinstance(claim, str) else claim for claim in claims]
    if trainer is not None:
        refused = [claim.id for claim in chosen if claim.trainer_check is None]
        if refused:
            raise InvalidArgument(
                f"claims {refused} say nothing about a trained student; a trainer can be checked against "
                f"{', '.join(claim.id for claim in trainer_claims())}."
            )
    return chosen
