"""The symbolic layer: sympy derives the closed forms of THEORY.md §1–§3 and checks them.

Each derivation (see :func:`derivation_ids`) states its assumptions, the steps that matter, its
results, a LaTeX rendering, a :meth:`~kdverify.theory.core.Derivation.check` whose residuals
must reduce to zero, and numpy twins of its results (``lambdify``). Importing this package does
no sympy work and does not import sympy: the names below are loaded on first use.

>>> from kdverify.theory import get_derivation
>>> get_derivation("loss-calculus").check().confirmed
True
"""

from __future__ import annotations

import importlib
from typing import Any

from kdverify.theory.registry import all_derivations, derivation_ids, get_derivation

__all__ = [
    "CheckReport",
    "Derivation",
    "DiscreteCertificate",
    "IdentityCheck",
    "RateConstants",
    "SubsetCertificate",
    "all_derivations",
    "certify_discrete_instance",
    "derivation_ids",
    "get_derivation",
    "rate_polynomial_constants",
]

_LAZY = {
    "CheckReport": "core",
    "Derivation": "core",
    "IdentityCheck": "core",
    "DiscreteCertificate": "certificate",
    "SubsetCertificate": "certificate",
    "certify_discrete_instance": "certificate",
    "RateConstants": "rates",
    "rate_polynomial_constants": "rates",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"kdverify.theory.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'kdverify.theory' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
