"""The vocabulary of claims: instances, evidence, mutants and the claim record itself.

A *claim* (THEORY.md §3) pairs a statement with a hypothesis strategy that generates its
instances for a given data family and a check that turns one instance into :class:`Evidence`:
the quantities on both sides of the statement, the tolerance or confidence interval used, and
whether the statement holds for that instance. Instances and evidence are plain JSON data, so a
counterexample can be stored as a certificate and replayed without randomness.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Literal

import numpy as np
from hypothesis.strategies import SearchStrategy

from kdverify.data.exact import to_fraction
from kdverify.errors import CertificateError, InvalidArgument

__all__ = [
    "EVERY_INSTANCE",
    "Budget",
    "Claim",
    "Content",
    "Evidence",
    "Instance",
    "Mutant",
    "Quantifier",
    "Status",
    "TrainerCheck",
]

Status = Literal["theorem", "open"]
Quantifier = Literal["for all", "exists"]


def _jsonable(value: Any) -> Any:
    """Recursively turn Fractions, numpy scalars and arrays, tuples into plain JSON values."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return value


@dataclass(frozen=True)
class Instance:
    """One concrete case of a claim: the family it came from and its parameters.

    ``values`` holds JSON-able data (numbers may be Fractions, arrays are nested lists): for
    example ``points`` (list of points, each a coordinate list), ``weights``, ``w_star``,
    ``w0`` (``None`` for 0), ``temperature``, ``n`` and claim-specific entries.
    """

    family: str
    values: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise CertificateError(f"instance of family {self.family!r} has no entry {key!r}") from None

    def get(self, key: str, default: Any = None) -> Any:
        """The entry ``key``, or ``default`` when absent."""
        return self.values.get(key, default)

    def array(self, key: str) -> np.ndarray:
        """Entry ``key`` as a float64 array (rational strings are parsed exactly, then rounded)."""
        return np.array(_floats(self[key]), dtype=np.float64)

    def rationals(self, key: str) -> Any:
        """Entry ``key`` with every number as an exact Fraction (same nesting)."""
        return _map_numbers(self[key], lambda value: to_fraction(key, value))

    def data(self, key: str = "points") -> np.ndarray:
        """A list of points as the ``(d, n)`` data matrix (points become columns)."""
        return self.array(key).T

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form: ``{"family": ..., **values}``."""
        return {"family": self.family, **_jsonable(dict(self.values))}

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> Instance:
        """Inverse of :meth:`to_json`."""
        if not isinstance(payload, Mapping) or not isinstance(payload.get("family"), str):
            raise CertificateError("an instance must be a JSON object with a string 'family'")
        values = {key: value for key, value in payload.items() if key != "family"}
        return cls(payload["family"], values)


def _map_numbers(value: Any, convert: Callable[[Any], Any]) -> Any:
    if isinstance(value, (list, tuple)):
        return [_map_numbers(item, convert) for item in value]
    return convert(value)


def _floats(value: Any) -> Any:
    return _map_numbers(value, lambda item: float(to_fraction("value", item)) if isinstance(item, str) else float(item))


@dataclass(frozen=True)
class Evidence:
    """What one check of one instance found.

    ``holds`` is ``True``/``False``, or ``None`` when the instance cannot be decided at the
    precision or budget available (for example gradient descent did not converge); undecided
    instances never produce a verdict. ``lhs relation rhs`` is the statement's inequality
    with its two sides as numbers (exact Fractions for exact checks); ``tolerance`` the slack
    allowed and why; ``interval`` a confidence interval for statistical checks.

    ``tie_free`` says whether the verdict survives a change of tie convention on discrete data
    (THEORY.md §1 counts ``sign(0)`` as an error; the other convention counts it as correct):
    ``True`` when both conventions give the same verdict, ``False`` when it depends on a student
    scoring exactly 0 on a support point, ``None`` where ties cannot occur or were not examined.
    """

    holds: bool | None
    lhs: Any
    relation: str
    rhs: Any
    tolerance: float | None = None
    exact: bool = False
    interval: Mapping[str, Any] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    tie_free: bool | None = None

    def __post_init__(self) -> None:
        # Checks compute ``holds`` from numpy comparisons; a numpy bool is not ``False`` under
        # ``is``, so normalise it once here rather than trusting every caller.
        if self.holds is not None:
            object.__setattr__(self, "holds", bool(self.holds))
        if self.tie_free is not None:
            object.__setattr__(self, "tie_free", bool(self.tie_free))

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return _jsonable(
            {
                "holds": self.holds,
                "lhs": self.lhs,
                "relation": self.relation,
                "rhs": self.rhs,
                "tolerance": self.tolerance,
                "exact": self.exact,
                "interval": self.interval,
                "details": self.details,
                "tie_free": self.tie_free,
            }
        )

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> Evidence:
        """Inverse of :meth:`to_json` for what a result needs: the sides come back as Fractions
        where they were exact rationals (``"p/q"``), so slacks and summaries read as before."""
        sides = {side: _exact_side(payload[side]) for side in ("lhs", "rhs")}
        return cls(**{**payload, **sides})

    def summary(self) -> str:
        """A short human-readable line: ``lhs relation rhs (tol …)``."""
        text = f"{_short(self.lhs)} {self.relation} {_short(self.rhs)}"
        if self.tolerance is not None:
            text += f" (tol {self.tolerance:.1e})"
        if self.interval is not None:
            text += f" [{self.interval['lower']:.3g}, {self.interval['upper']:.3g}]"
        return text


def _exact_side(value: Any) -> Any:
    """A side of the evidence as read from JSON: rational strings ``"p/q"`` become Fractions again."""
    if isinstance(value, str) and "/" in value:
        try:
            return Fraction(value)
        except ValueError:
            return value
    return value


def _short(value: Any) -> str:
    if isinstance(value, Fraction):
        return str(value) if len(str(value)) <= 14 else f"{float(value):.6g}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass(frozen=True)
class Budget:
    """What one check may spend, set by the profile: the per-check false-alarm level ``alpha``
    of a statistical check (its share of the run's δ), the number of Monte Carlo ``trials``
    per estimate, and the iteration budget ``max_iter`` of every solver it runs."""

    alpha: float = 1e-4
    trials: int = 400
    max_iter: int = 200_000

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {"alpha": self.alpha, "trials": self.trials, "max_iter": self.max_iter}


InstanceStrategy = Callable[[str], SearchStrategy[Instance]]
Check = Callable[[Instance, Budget], Evidence]


@dataclass(frozen=True)
class Content:
    """A claim's non-vacuity condition: when one checked instance can tell the statement from a
    false one (``n < d`` where a risk must be non-trivial, ``2 ≤ rank X < d`` where an angle can be
    strict, ``P⊥w₀ ≠ 0`` where the initialisation matters, a bound below 1, ...).

    ``test(instance, evidence)`` decides it from the instance and what its check measured (the
    check records the quantities it needs in ``evidence.details``); ``description`` says it in
    words for the verdict table, ``kdverify list`` and a ``vacuous`` verdict.
    """

    description: str
    test: Callable[[Instance, Evidence], bool]

    def __call__(self, instance: Instance, evidence: Evidence) -> bool:
        return bool(self.test(instance, evidence))


EVERY_INSTANCE = Content("every instance (the statement is an identity checked at each one)", lambda i, e: True)


@dataclass(frozen=True)
class Mutant:
    """A deliberately wrong variant of a claim's check, used by the self-test: ``check`` is the
    claim's check with one ingredient replaced (a missing term, a wrong sign, ...). ``blind`` maps
    a family of the claim on which the mutant cannot be caught to the reason (the mutant is true
    there, or its instances never exercise the changed ingredient)."""

    name: str
    description: str
    check: Check
    blind: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainerCheck:
    """How a claim about the trained student checks a user's trainer
    (:class:`~kdverify.training.UserTrainer`, :meth:`Claim.for_trainer`): ``check(trainer)`` is the
    claim's check with the student trained by ``trainer``; ``instances`` and ``content`` replace the
    claim's where those assume ``w0 ≠ 0`` (a user's trainer starts from 0)."""

    check: Callable[[Any], Check]
    instances: InstanceStrategy | None = None
    content: Content | None = None


@dataclass(frozen=True)
class Claim:
    """One claim of THEORY.md §3, by its id.

    ``families`` are the family ids it is checked on; ``instances(family)`` is the hypothesis
    strategy generating its instances there; ``check`` decides one instance; ``content`` is its
    non-vacuity condition (a theorem "holds" only with at least one informative example); ``statistical``
    marks claims whose checks use confidence intervals and so take a share of the run's
    false-alarm budget δ (passed to ``check`` as ``Budget.alpha``); ``literal_descent`` marks
    claims about gradient descent itself, whose checks run literal descent to its certified limit
    (the profile's ``descent_examples`` per pair; every other claim's students come from the
    training layer's fastest certified route).

    ``quantifier`` is ``"for all"`` for a statement about every instance (a violation refutes it)
    or ``"exists"`` for an existence claim (THEORY.md §8: "an instance where …"). An existence
    claim is searched as its negation — its check's evidence states "this instance is no
    witness", so a violation *is* a witness, which proves the claim; the verdict table reads
    "witness found" or "no witness" for it.
    """

    id: str
    status: Status
    statement: str
    latex: str
    source: str
    families: tuple[str, ...]
    instances: InstanceStrategy
    check: Check
    content: Content = EVERY_INSTANCE
    statistical: bool = False
    literal_descent: bool = False
    mutants: tuple[Mutant, ...] = ()
    trainer_check: TrainerCheck | None = None
    quantifier: Quantifier = "for all"

    def __post_init__(self) -> None:
        if self.status not in ("theorem", "open"):
            raise ValueError(f"claim {self.id!r}: status={self.status!r} must be 'theorem' or 'open'")
        if self.quantifier not in ("for all", "exists") or (self.quantifier == "exists" and self.status != "open"):
            raise ValueError(
                f"claim {self.id!r}: quantifier={self.quantifier!r} must be 'for all', or 'exists' for an open claim"
            )

    def for_trainer(self, trainer: Any) -> Claim:
        """This claim checked on the students of a user's ``trainer`` (``trainer_check``); claims
        that say nothing about a trained student are refused."""
        if self.trainer_check is None:
            raise InvalidArgument(f"claim {self.id!r} is not about a trained student, so it cannot check a trainer.")
        variant = self.trainer_check
        return replace(
            self,
            check=variant.check(trainer),
            instances=variant.instances or self.instances,
            content=variant.content or self.content,
            mutants=(),
            trainer_check=None,
        )
