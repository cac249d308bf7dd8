"""Run one claim on one family through hypothesis and turn the search into a verdict.

Each (claim, family) pair becomes a hypothesis test built on the fly: it draws instances from
the claim's strategy, checks them, and raises :class:`Violation` on a counterexample, so
hypothesis shrinks it to a minimal instance before the search returns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import Phase, given
from hypothesis import seed as hypothesis_seed
from hypothesis.database import ExampleDatabase
from hypothesis.errors import Unsatisfiable

from kdverify.claims.base import Budget, Claim, Evidence, Instance
from kdverify.claims.certificates import make_certificate
from kdverify.claims.profiles import Profile

__all__ = [
    "SearchResult",
    "Violation",
    "database_key",
    "search",
    "slack",
]

Verdict = str  # "holds" | "falsified" | "error"


class Violation(Exception):
    """Raised inside the hypothesis test when an instance violates the claim."""

    def __init__(self, instance: Instance, evidence: Evidence) -> None:
        super().__init__(f"{evidence.summary()} is violated")
        self.instance = instance
        self.evidence = evidence


class CheckFailed(Exception):
    """Raised inside the hypothesis test when a check itself crashed on an instance."""

    def __init__(self, instance: Instance, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.instance = instance
        self.error = error


@dataclass
class SearchResult:
    """The outcome of searching one claim on one family.

    ``examples`` counts decided instances, ``informative`` those that meet the claim's
    non-vacuity condition (:attr:`Claim.content`), ``undecided`` the others. ``shown`` is the
    most informative example: the informative one closest to violating the claim relative to
    its size (see :func:`relative_slack`), or the counterexample.
    """

    claim: Claim
    family: str
    verdict: Verdict = "holds"
    examples: int = 0
    informative: int = 0
    undecided: int = 0
    seconds: float = 0.0
    shown: Evidence | None = None
    counterexample: Instance | None = None
    evidence: Evidence | None = None
    error: str | None = None
    budget: Budget = field(default_factory=Budget)

    def record(self, instance: Instance, evidence: Evidence) -> None:
        """Count one checked instance; keep the most informative one."""
        if evidence.holds is None:
            self.undecided += 1
            return
        self.examples += 1
        if not self.claim.content(instance, evidence):
            return
        self.informative += 1
        if self.shown is None or relative_slack(evidence) < relative_slack(self.shown):
            self.shown = evidence

    def settle(self) -> None:
        """A search that found nothing holds only if some example was informative."""
        if self.verdict == "holds" and self.informative == 0:
            self.verdict = "vacuous"

    def certificate(self) -> dict[str, Any]:
        """The search's counterexample as a certificate (:func:`~kdverify.claims.certificates.make_certificate`)."""
        if self.counterexample is None or self.evidence is None:
            raise ValueError(f"{self.claim.id} on {self.family} has no counterexample to certify")
        return make_certificate(self.claim, self.family, self.counterexample, self.evidence, self.budget)

    def to_json(self, *, timings: bool = True) -> dict[str, Any]:
        """The entry of ``check --json``: ``{"id", "status", "family", "verdict", ...}``;
        ``timings=False`` writes ``"seconds": null``, so equal runs give byte-identical JSON."""
        shown = self.evidence or self.shown
        return {
            "id": self.claim.id,
            "status": self.claim.status,
            "quantifier": self.claim.quantifier,
            "family": self.family,
            "verdict": self.verdict,
            "examples": self.examples,
            "informative": self.informative,
            "content": self.claim.content.description,
            "undecided": self.undecided,
            "seconds": round(self.seconds, 3) if timings else None,
            "budget": self.budget.to_json(),
            "evidence": None if shown is None else shown.to_json(),
            "detectable_effect": None if shown is None else detectable_effect(shown),
            "certificate": self.certificate() if self.verdict == "falsified" else None,
            "error": self.error,
            "error_instance": self.counterexample.to_json()
            if self.verdict == "error" and self.counterexample
            else None,
        }


def database_key(claim_id: str, family: str) -> bytes:
    """The hypothesis example-database key of one (claim, family) search."""
    return f"kdverify:{claim_id}:{family}".encode()


def slack(evidence: Evidence) -> float:
    """How far an instance is from violating its statement (smaller is closer; < 0 violates)."""
    try:
        lhs, rhs = float(evidence.lhs), float(evidence.rhs)
    except (TypeError, ValueError):
        return math.inf
    tolerance = evidence.tolerance or 0.0
    if evidence.relation in ("<=", "<"):
        return rhs + tolerance - lhs
    if evidence.relation in (">=", ">"):
        return lhs + tolerance - rhs
    return tolerance - abs(lhs - rhs)


def relative_slack(evidence: Evidence) -> float:
    """:func:`slack` relative to the size of the compared quantities (and the tolerance), so that
    ``1e-10 ≤ 2e-10`` at rounding level does not look tighter than ``0.31 ≤ 0.32``."""
    try:
        scale = max(abs(float(evidence.lhs)), abs(float(evidence.rhs)), evidence.tolerance or 0.0)
    except (TypeError, ValueError):
        return math.inf
    return slack(evidence) / scale if scale > 0 else math.inf


def detectable_effect(evidence: Evidence) -> float | None:
    """The smallest violation a statistical check could have seen: the width of its interval
    (a truth beyond the compared side by more than that puts the interval past it, with the
    interval's confidence); a check that knows better records ``details["detectable_effect"]``.
    ``None`` for exact and deterministic evidence."""
    known = evidence.details.get("detectable_effect") if isinstance(evidence.details, Mapping) else None
    if known is not None:
        return float(known)
    if evidence.interval is None:
        return None
    return float(evidence.interval["upper"]) - float(evidence.interval["lower"])


class _TimeUp(BaseException):
    """Raised inside the hypothesis test when a timed search has spent its time (a BaseException,
    so hypothesis stops at once instead of treating it as a failing example)."""


def _first_finding(group: BaseExceptionGroup) -> BaseException:
    """The failure a search reports when hypothesis found several: a violation of the claim
    before a crash of its check (both shrunk; the crash is kept as the group's context)."""
    violations, rest = group.split(Violation)
    return (violations or rest or group).exceptions[0]


def anytime_alpha(alpha: float, k: int) -> float:
    """The share of a pair's false-alarm budget ``alpha`` spent on its ``k``-th check (``k ≥ 1``)
    when the number of checks is not known in advance: ``alpha/(k(k+1))``, which sums to ``alpha``."""
    return alpha / (k * (k + 1))


def search(
    claim: Claim,
    family: str,
    profile: Profile,
    *,
    budget: Budget,
    max_examples: int | None = None,
    max_seconds: float | None = None,
    seed: int | None = None,
    database: ExampleDatabase | None = None,
    on_example: Callable[[SearchResult], None] | None = None,
    on_violation: Callable[[SearchResult, Instance, Evidence], None] | None = None,
    shrink: bool = True,
) -> SearchResult:
    """Search ``claim`` on ``family`` within ``profile`` and return the verdict with its evidence.

    ``budget`` fixes what each check may spend (its ``alpha`` is this search's share of δ);
    ``max_seconds`` makes the search stop generating after that much time (with a large
    ``max_examples``, so cheap checks draw thousands of examples); its statistical checks then
    spend ``alpha`` by :func:`anytime_alpha`, since their number is not known in advance.
    ``seed`` fixes hypothesis's randomness when the profile is not derandomised; ``database``
    (a hypothesis example database) makes found counterexamples survive the process;
    ``on_violation`` sees every violating instance as it is found and while it shrinks;
    ``shrink=False`` stops at the first violation (the self-test only asks whether one exists).

    Open claims prefer tie-free counterexamples: a violation that depends on the tie convention
    (:attr:`Evidence.tie_free` false) is kept but the search goes on, so it ends on — and shrinks
    toward — a violation under both conventions when it finds one.
    """
    result = SearchResult(claim, family, budget=budget)
    strategy = claim.instances(family)
    started = time.perf_counter()
    calls = [0]
    tie_dependent: list[tuple[Instance, Evidence]] = []

    def probe(instance: Instance) -> None:
        if max_seconds is not None and result.evidence is None and time.perf_counter() - started > max_seconds:
            raise _TimeUp
        calls[0] += 1
        spent = budget
        if max_seconds is not None and claim.statistical:
            spent = Budget(anytime_alpha(budget.alpha, calls[0]), budget.trials, budget.max_iter)
        try:
            evidence = claim.check(instance, spent)
        except Exception as error:  # a crash is a finding too: hypothesis shrinks it
            raise CheckFailed(instance, error) from error
        result.record(instance, evidence)
        if on_example is not None:
            on_example(result)
        if evidence.holds is not False:
            return
        if claim.status == "open" and evidence.tie_free is False:
            if not tie_dependent and on_violation is not None:
                on_violation(result, instance, evidence)
            tie_dependent.append((instance, evidence))
            return
        result.evidence = evidence
        if on_violation is not None:
            on_violation(result, instance, evidence)
        raise Violation(instance, evidence)

    settings = profile.hypothesis_settings(
        statistical=claim.statistical, descent=claim.literal_descent, database=database
    )
    if max_examples is not None:
        settings = type(settings)(settings, max_examples=max_examples)
    if not shrink:
        settings = type(settings)(settings, phases=[phase for phase in settings.phases if phase is not Phase.shrink])
    # Seed the inner function: ``@seed`` on the outer test would also set ``database=None``,
    # and a seeded hunt would silently neither save nor replay its counterexamples.
    # Mix the pair into hypothesis's digest, so that derandomised runs draw a distinct stream of
    # examples per (claim, family) instead of the same sizes and seeds everywhere.
    probe._hypothesis_internal_add_digest = database_key(claim.id, family)  # type: ignore[attr-defined]
    test = settings(given(strategy)(probe if seed is None else hypothesis_seed(seed)(probe)))
    # Key the example database by claim and family, not by this closure's source code.
    test._hypothesis_internal_database_key = database_key(claim.id, family)  # type: ignore[attr-defined]
    try:
        try:
            test()
        except BaseExceptionGroup as group:  # hypothesis found several distinct failures
            raise _first_finding(group) from group
    except Violation as violation:
        result.verdict = "falsified"
        result.counterexample, result.evidence = violation.instance, violation.evidence
    except CheckFailed as failure:
        result.verdict = "error"
        result.counterexample = failure.instance
        result.error = str(failure)
    except (_TimeUp, Unsatisfiable):  # out of time, or no instance with content exists: vacuous
        pass
    if result.verdict == "holds" and tie_dependent:
        result.verdict = "falsified"
        result.counterexample, result.evidence = tie_dependent[0]
    result.settle()
    result.seconds = time.perf_counter() - started
    return result
