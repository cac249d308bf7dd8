"""The interface every data-geometry family implements (THEORY.md §2).

A family is a distribution ``P_x`` on ``R^d`` together with the teacher direction ``w*`` it is
described relative to (angular families are built around ``w*``; ``p(θ)`` is always measured
from the teacher's boundary). Data sets are ``(d, n)`` arrays with points as columns.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from kdverify._validation import FloatArray, as_vector, positive_int
from kdverify.numerics import angle
from kdverify.teacher import Teacher

__all__ = ["Family"]


class Family(abc.ABC):
    """A data distribution with its teacher direction, geometry function and transfer risk.

    Subclasses set ``name`` (the CLI's family id), ``p_is_exact`` (``False`` when ``p(θ)`` is
    a Monte Carlo estimate with a confidence interval) and implement the abstract methods.
    """

    name: ClassVar[str]
    p_is_exact: ClassVar[bool] = True
    risk_is_exact: ClassVar[bool] = True

    def __init__(self, w_star: FloatArray) -> None:
        self.w_star = as_vector("w_star", w_star)

    @property
    def dim(self) -> int:
        """Input dimension ``d``."""
        return int(self.w_star.shape[0])

    def teacher(self, temperature: float = 1.0) -> Teacher:
        """The linear teacher ``w*`` of this family at temperature ``T``."""
        return Teacher(self.w_star, temperature)

    @abc.abstractmethod
    def sample(self, n: int, rng: np.random.Generator, *, trials: int | None = None) -> FloatArray:
        """Draw ``n`` i.i.d. points as a ``(d, n)`` array (``(trials, d, n)`` for a batch)."""

    @abc.abstractmethod
    def p(self, theta: ArrayLike) -> FloatArray:
        """``p(θ) = P[γ(x) ≤ θ]``: mass within angle ``θ`` of the teacher's boundary."""

    @abc.abstractmethod
    def mass_near_teacher(self, theta: ArrayLike) -> FloatArray:
        """``P[α(x) ≤ θ]``: mass within angle ``θ`` of the line through ``w*``."""

    @abc.abstractmethod
    def risk(self, w: ArrayLike) -> FloatArray:
        """Transfer risk ``R(w) = P[sign(wᵀx) ≠ sign(w*ᵀx)]``; ``w`` may be ``(..., d)``."""

    def p_bounds(self, theta: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Lower and upper confidence limits of ``p(θ)`` (equal to ``p`` when it is exact)."""
        value = self.p(theta)
        return value, value

    def breakpoints(self) -> FloatArray | None:
        """Jump points of ``p`` when it is a step function (discrete data), else ``None``."""
        return None

    @abc.abstractmethod
    def params(self) -> dict[str, Any]:
        """The family's parameters as plain JSON values (enough to rebuild it)."""

    def describe(self) -> str:
        """One readable line: the family id and its parameters."""
        shown = ", ".join(f"{key}={value}" for key, value in self.params().items() if key != "w_star")
        return f"{self.name}(d={self.dim}{', ' if shown else ''}{shown})"

    def student_angle(self, w: ArrayLike) -> FloatArray:
        """``∠(w, w*)`` for ``w`` of shape ``(..., d)``."""
        return angle(as_vector("w", np.asarray(w).reshape(-1)).reshape(np.shape(w)), self.w_star)

    def _check_n(self, n: int) -> int:
        return positive_int("n", n)
