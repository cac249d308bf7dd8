"""Run one claim on one family through hypothesis and turn the search into a verdict.

Each (claim, family) pair becomes a hypothesis test built on the fly: it draws instances from
the claim's strategy, checks them, and raises :class:`Violation` on a counterexample, so
hypothesis shrinks it to a minimal instance before the search returns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from hypothesis import Phase, given
from hypothesis import seed as hypothesis_seed
from hypothesis.database import ExampleDatabase

from kdverify.claims.base import Budget, Claim, Evidence, Instance
from kdverify.profiles import Profile

__all__ = [
    "VERDICT_HEADER",
    "SearchResult",
    "Violation",
    "database_key",
    "make_certificate",
    "search",
    "slack",
    "verdict_rows",
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
    """The outcome of searching one claim on one family."""

    claim: Claim
    family: str
    verdict: Verdict = "holds"
    examples: int = 0
    undecided: int = 0
    seconds: float = 0.0
    tightest: Evidence | None = None
    counterexample: Instance | None = None
    evidence: Evidence | None = None
    error: str | None = None
    budget: Budget = field(default_factory=Budget)

    def record(self, evidence: Evidence) -> None:
        """Count one checked instance and keep the one closest to violating the claim."""
        if evidence.holds is None:
            self.undecided += 1
            return
        self.examples += 1
        if self.tightest is None or slack(evidence) < slack(self.tightest):
            self.tightest = evidence

    def to_json(self, *, timings: bool = True) -> dict[str, Any]:
        """The entry of ``check --json``: ``{"id", "status", "family", "verdict", ...}``;
        ``timings=False`` writes ``"seconds": null``, so equal runs give byte-identical JSON."""
        shown = self.evidence or self.tightest
        return {
            "id": self.claim.id,
            "status": self.claim.status,
            "family": self.family,
            "verdict": self.verdict,
            "examples": self.examples,
            "undecided": self.undecided,
            "seconds": round(self.seconds, 3) if timings else None,
            "budget": self.budget.to_json(),
            "evidence": None if shown is None else shown.to_json(),
            "certificate": certificate_payload(self) if self.verdict == "falsified" else None,
            "error": self.error,
            "error_instance": self.counterexample.to_json()
            if self.verdict == "error" and self.counterexample
            else None,
        }


VERDICT_HEADER = ("claim", "status", "family", "verdict", "examples", "evidence")


def verdict_rows(entries: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows of the verdict table (columns :data:`VERDICT_HEADER`) from ``check --json`` entries
    (:meth:`SearchResult.to_json`). Open claims that survive read "no counterexample", not "holds"."""
    rows = []
    for entry in entries:
        verdict = entry["verdict"]
        if verdict == "holds" and entry["status"] == "open":
            verdict = "no counterexample"
        evidence = entry["evidence"]
        if evidence:
            sides = {side: _exact_side(evidence[side]) for side in ("lhs", "rhs")}
            shown = Evidence(**{**evidence, **sides}).summary()
        else:
            shown = entry["error"] or ""
        rows.append([entry["id"], entry["status"], entry["family"], verdict, entry["examples"], shown])
    return rows


def _exact_side(value: Any) -> Any:
    """A side of the evidence as read from JSON: rational strings ``"p/q"`` become Fractions again."""
    if isinstance(value, str) and "/" in value:
        try:
            return Fraction(value)
        except ValueError:
            return value
    return value


def database_key(claim_id: str, family: str) -> bytes:
    """The hypothesis example-database key of one (claim, family) search."""
    return f"kdverify:{claim_id}:{family}".encode()


def certificate_payload(result: SearchResult) -> dict[str, Any]:
    """The search's counterexample as a certificate (see :func:`make_certificate`)."""
    if result.counterexample is None or result.evidence is None:
        raise ValueError(f"{result.claim.id} on {result.family} has no counterexample to certify")
    return make_certificate(result.claim, result.family, result.counterexample, result.evidence, result.budget)


def make_certificate(
    claim: Claim, family: str, instance: Instance, evidence: Evidence, budget: Budget
) -> dict[str, Any]:
    """``{"claim", "family", "exact", "instance", "evidence", "budget"}``: everything a replay needs."""
    instance_json = instance.to_json()
    instance_json.pop("family")
    return {
        "claim": claim.id,
        "family": family,
        "exact": evidence.exact,
        "instance": instance_json,
        "evidence": evidence.to_json(),
        "budget": budget.to_json(),
    }


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


def search(
    claim: Claim,
    family: str,
    profile: Profile,
    *,
    budget: Budget,
    max_examples: int | None = None,
    seed: int | None = None,
    database: ExampleDatabase | None = None,
    on_example: Callable[[SearchResult], None] | None = None,
    on_violation: Callable[[SearchResult, Instance, Evidence], None] | None = None,
    shrink: bool = True,
) -> SearchResult:
    """Search ``claim`` on ``family`` within ``profile`` and return the verdict with its evidence.

    ``budget`` fixes what each check may spend (its ``alpha`` is this search's share of δ);
    ``seed`` fixes hypothesis's randomness when the profile is not derandomised; ``database``
    (a hypothesis example database) makes found counterexamples survive the process;
    ``on_violation`` sees every violating instance as it is found and while it shrinks;
    ``shrink=False`` stops at the first violation (the self-test only asks whether one exists).
    """
    result = SearchResult(claim, family, budget=budget)
    strategy = claim.instances(family)

    def probe(instance: Instance) -> None:
        try:
            evidence = claim.check(instance, budget)
        except Exception as error:  # a crash is a finding too: hypothesis shrinks it
            raise CheckFailed(instance, error) from error
        result.record(evidence)
        if on_example is not None:
            on_example(result)
        if evidence.holds is False:
            if on_violation is not None:
                on_violation(result, instance, evidence)
            raise Violation(instance, evidence)

    settings = profile.hypothesis_settings(statistical=claim.statistical, database=database)
    if max_examples is not None:
        settings = type(settings)(settings, max_examples=max_examples)
    if not shrink:
        settings = type(settings)(settings, phases=[phase for phase in settings.phases if phase is not Phase.shrink])
    # Seed the inner function: ``@seed`` on the outer test would also set ``database=None``,
    # and a seeded hunt would silently neither save nor replay its counterexamples.
    test = settings(given(strategy)(probe if seed is None else hypothesis_seed(seed)(probe)))
    # Key the example database by claim and family, not by this closure's source code.
    test._hypothesis_internal_database_key = database_key(claim.id, family)  # type: ignore[attr-defined]
    started = time.perf_counter()
    try:
        test()
    except Violation as violation:
        result.verdict = "falsified"
        result.counterexample, result.evidence = violation.instance, violation.evidence
    except CheckFailed as failure:
        result.verdict = "error"
        result.counterexample = failure.instance
        result.error = str(failure)
    result.seconds = time.perf_counter() - started
    return result
