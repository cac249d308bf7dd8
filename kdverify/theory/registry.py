"""Derivations by id, without importing sympy until one is asked for.

The table below says which module defines each derivation; :func:`get_derivation` imports that
module on first use (importing ``kdverify.theory`` itself does no sympy work), and checks that
the module defines exactly the ids the table promises, so the table cannot drift.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from kdverify.errors import InvalidArgument

if TYPE_CHECKING:
    from kdverify.theory.core import Derivation

__all__ = ["all_derivations", "derivation_ids", "get_derivation"]

_MODULE_OF = {
    "loss-calculus": "calculus",
    "global-minimizers": "calculus",
    "gd-limit": "optimization",
    "deep-invariance": "optimization",
    "geometry-isotropic": "geometry",
    "geometry-beta-polarised": "geometry",
    "geometry-margin": "geometry",
    "risk-bound": "rates",
    "rate-margin": "rates",
    "rate-polynomial": "rates",
    "exact-certificate": "certificate",
    "multiclass-limit": "multiclass",
    "mixed-targets": "extensions",
    "self-distillation": "extensions",
}


def derivation_ids() -> tuple[str, ...]:
    """Every derivation id, in THEORY.md order."""
    return tuple(_MODULE_OF)


def get_derivation(derivation_id: str) -> Derivation:
    """The derivation called ``derivation_id`` (unknown ids are rejected with the list of ids)."""
    if derivation_id not in _MODULE_OF:
        raise InvalidArgument(
            f"derivation id={derivation_id!r} is unknown; choose one of {', '.join(_MODULE_OF)}."
        )
    module_name = _MODULE_OF[derivation_id]
    module = importlib.import_module(f"kdverify.theory.{module_name}")
    promised = {key for key, value in _MODULE_OF.items() if value == module_name}
    if set(module.DERIVATIONS) != promised:
        raise RuntimeError(
            f"kdverify.theory.{module_name} defines {sorted(module.DERIVATIONS)}, "
            f"but the registry lists {sorted(promised)}."
        )
    return module.DERIVATIONS[derivation_id]


def all_derivations() -> tuple[Derivation, ...]:
    """Every derivation, in THEORY.md order."""
    return tuple(get_derivation(derivation_id) for derivation_id in _MODULE_OF)
