"""Certificates: a counterexample as a JSON file that replays without randomness.

A certificate holds the claim, the family, the instance, the evidence and the budget of its check
(:func:`make_certificate`); :func:`replay` re-runs the check on the instance. Certificates found
by kdverify's own hunts ship in ``kdverify/certificates/`` (:func:`certificate_directory`), and
``kdverify check`` replays an open claim's stored certificate
(:func:`kdverify.claims.suite.replayed`) instead of hunting it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from kdverify._util.jsonio import read_json
from kdverify.claims.base import Budget, Claim, Evidence, Instance
from kdverify.claims.registry import get_claim
from kdverify.errors import CertificateError

__all__ = [
    "CERTIFICATE_KEYS",
    "Replay",
    "certificate_directory",
    "certificate_name",
    "load_certificate",
    "make_certificate",
    "replay",
    "stored_certificate",
]

CERTIFICATE_KEYS = ("claim", "family", "exact", "instance", "evidence")


def make_certificate(
    claim: Claim, family: str, instance: Instance, evidence: Evidence, budget: Budget
) -> dict[str, Any]:
    """``{"claim", "family", "exact", "tie_free", "instance", "evidence", "budget"}``: everything a
    replay needs, and whether the violation survives counting ``sign(0)`` as correct
    (:attr:`Evidence.tie_free`; ``None`` where ties do not apply)."""
    instance_json = instance.to_json()
    instance_json.pop("family")
    return {
        "claim": claim.id,
        "family": family,
        "exact": evidence.exact,
        "tie_free": evidence.tie_free,
        "instance": instance_json,
        "evidence": evidence.to_json(),
        "budget": budget.to_json(),
    }


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
