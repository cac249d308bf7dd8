"""Whole runs: every requested (claim, family) pair under one profile, with the run's
false-alarm budget δ split evenly over all statistical checks (Bonferroni), stored
certificates of open claims replayed, and certificates checked on their own."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from kdverify._util.jsonio import read_json
from kdverify.claims.base import Budget, Claim, Evidence, Instance
from kdverify.claims.profiles import Profile
from kdverify.claims.registry import all_claims, get_claim
from kdverify.claims.runner import SearchResult, search
from kdverify.errors import CertificateError, InvalidArgument

__all__ = [
    "Replay",
    "load_certificate",
    "plan",
    "replay",
    "replayed",
    "run",
    "stored_certificate",
]

CERTIFICATE_KEYS = ("claim", "family", "exact", "instance", "evidence")


def plan(claim_ids: Sequence[str] = (), families: Sequence[str] = ()) -> list[tuple[Claim, str]]:
    """The (claim, family) pairs of a run: the named claims (all when empty) on the named
    families (each claim's own when empty). A family no selected claim applies to is an error."""
    claims = [get_claim(claim_id) for claim_id in claim_ids] if claim_ids else list(all_claims())
    pairs = [(claim, family) for claim in claims for family in claim.families if not families or family in families]
    if families:
        known = {family for claim in all_claims() for family in claim.families}
        unknown = [family for family in families if family not in known]
        if unknown:
            raise InvalidArgument(f"family {unknown[0]!r} is unknown; known families: {', '.join(sorted(known))}.")
    if not pairs:
        raise InvalidArgument("no selected claim applies to the selected families")
    return pairs


def budget_for(profile: Profile, pairs: Iterable[tuple[Claim, str]]) -> Budget:
    """Split δ over every statistical check the run can make (generation phase examples)."""
    checks = sum(profile.statistical_examples for claim, _ in pairs if claim.statistical)
    return Budget(alpha=profile.delta / max(1, checks), trials=profile.trials, max_iter=profile.max_iter)


def run(
    pairs: Sequence[tuple[Claim, str]],
    profile: Profile,
    *,
    seed: int | None = None,
    on_result: Callable[[SearchResult], None] | None = None,
) -> list[SearchResult]:
    """Check every pair. Open claims with a stored certificate replay it instead of hunting."""
    budget = budget_for(profile, pairs)
    results = []
    for claim, family in pairs:
        result = replayed(claim, family) or search(claim, family, profile, budget=budget, seed=seed)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def replayed(claim: Claim, family: str) -> SearchResult | None:
    """The result of an open claim's stored certificate for ``family``, replayed; ``None`` when
    the pair has none (it is then searched)."""
    stored = stored_certificate(claim.id, family) if claim.status == "open" else None
    return _from_certificate(claim, family, stored) if stored else None


def certificate_directory() -> Path:
    """Where the certificates found by kdverify's own hunts are stored (package data)."""
    return Path(str(resources.files("kdverify") / "certificates"))


def certificate_name(claim_id: str, family: str) -> str:
    """File name of the stored certificate of ``claim_id`` on ``family``."""
    return f"{claim_id}--{family}.json"


def stored_certificate(claim_id: str, family: str) -> dict[str, Any] | None:
    """The stored certificate for this pair, or ``None``."""
    path = certificate_directory() / certificate_name(claim_id, family)
    return load_certificate(path) if path.exists() else None


def load_certificate(path: str | Path) -> dict[str, Any]:
    """Read and validate the shape of a certificate file."""
    payload = read_json(path)
    if not isinstance(payload, dict):
        raise CertificateError(f"{path}: a certificate must be a JSON object")
    missing = [key for key in CERTIFICATE_KEYS if key not in payload]
    if missing:
        raise CertificateError(f"{path}: the certificate lacks {', '.join(missing)}")
    if not isinstance(payload["instance"], dict):
        raise CertificateError(f"{path}: 'instance' must be a JSON object")
    return payload


@dataclass(frozen=True)
class Replay:
    """The outcome of re-checking a certificate: ``valid`` when it still violates its claim
    and, for exact certificates, both sides match the stored exact values (and the stored
    ``tie_free``, when the certificate records it)."""

    valid: bool
    evidence: Evidence
    reason: str

    @property
    def tie_free(self) -> bool | None:
        """Whether the violation survives counting ``sign(0)`` as correct (:attr:`Evidence.tie_free`
        of the fresh check): ``False`` when it holds under that convention, ``None`` where ties do
        not apply."""
        return self.evidence.tie_free


def replay(certificate: dict[str, Any]) -> Replay:
    """Re-run the certificate's check on its instance, with no randomness beyond its seeds."""
    claim = get_claim(str(certificate["claim"]))
    instance = Instance.from_json({**certificate["instance"], "family": certificate["family"]})
    stored_budget = certificate.get("budget") or {}
    try:
        budget = Budget(**{key: stored_budget[key] for key in ("alpha", "trials", "max_iter") if key in stored_budget})
    except TypeError as error:
        raise CertificateError(f"malformed budget in certificate: {error}") from None
    try:
        evidence = claim.check(instance, budget)
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise CertificateError(f"the instance does not describe a valid {claim.id} case: {error}") from None
    if evidence.holds is not False:
        return Replay(False, evidence, "the instance does not violate the claim")
    stored = certificate.get("evidence") or {}
    if certificate.get("exact"):
        fresh = evidence.to_json()
        if not evidence.exact or (fresh["lhs"], fresh["rhs"]) != (stored.get("lhs"), stored.get("rhs")):
            return Replay(False, evidence, "exact values differ from the stored ones")
    if "tie_free" in certificate and certificate["tie_free"] != evidence.tie_free:
        return Replay(False, evidence, f"tie_free is {evidence.tie_free}, not the stored {certificate['tie_free']}")
    return Replay(True, evidence, "valid counterexample")


def _from_certificate(claim: Claim, family: str, certificate: dict[str, Any]) -> SearchResult:
    outcome = replay(certificate)
    result = SearchResult(claim, family, verdict="falsified" if outcome.valid else "error")
    result.counterexample = Instance.from_json({**certificate["instance"], "family": family})
    result.evidence = outcome.evidence
    result.examples = result.informative = 1
    if not outcome.valid:
        result.error = f"stored certificate no longer replays: {outcome.reason}"
    return result
