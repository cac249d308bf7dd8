"""The interface every data-geometry family implements (THEORY.md §2).

A family is a distribution ``P_x`` on ``R^d`` together with the teacher direction ``w*`` it is
described relative to (angular families are built around ``w*``; ``p(θ)`` is always measured
from the teacher's boundary). Data sets are ``(d, n)`` arrays with points as columns.
"""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from kdverify._validation import (
    FloatArray,
    as_float_array,
    as_real_array,
    as_teacher_vector,
    positive_int,
    unit_scaled,
)
from kdverify.errors import InvalidArgument
from kdverify.numerics import angle
from kdverify.teacher import Teacher

__all__ = ["HALF_PI", "Family", "as_angles", "default_teacher"]

HALF_PI = np.pi / 2
MAX_SAMPLE_FLOATS = 2**28
MAX_DIM = 100_000


def as_angles(name: str, value: ArrayLike) -> FloatArray:
    """Return ``value`` as a finite float array of angles in ``[0, π/2]`` (any shape)."""
    array = as_real_array(name, value)
    as_float_array(name, array.reshape(-1), ndim=1)
    if np.any(array < 0) or np.any(array > HALF_PI):
        bad = array[(array < 0) | (array > HALF_PI)].flat[0]
        raise InvalidArgument(f"{name}={float(bad)!r} must lie in [0, π/2]; angles are in radians.")
    return array


def default_teacher(dim: int, w_star: ArrayLike | None) -> FloatArray:
    """``w_star`` when given, else the first basis vector ``e_1`` of ``R^dim`` (``dim`` at most
    ``MAX_DIM``: every family works with dense ``d``-vectors, some with ``d × d`` matrices)."""
    if dim > MAX_DIM:
        raise InvalidArgument(f"dim={dim} must be at most {MAX_DIM}.")
    if w_star is not None:
        return as_teacher_vector("w_star", w_star, dim=dim)
    unit = np.zeros(dim)
    unit[0] = 1.0
    return unit


class Family(abc.ABC):
    """A data distribution with its teacher direction, geometry function and transfer risk.

    Subclasses set ``name`` (the CLI's family id), ``p_is_exact`` (``False`` when ``p(θ)`` is
    a Monte Carlo estimate with a confidence interval; a closed form, a quadrature with a reported
    error bound or an exact step function counts as exact) and implement the abstract methods.

    Conventions shared by all families: ``θ`` arguments are radians in ``[0, π/2]`` (anything else
    raises :class:`~kdverify.errors.InvalidArgument`); the zero student predicts 0 everywhere and
    so has risk 1; the standard normalisation (THEORY.md §6) scales the data so that the teacher
    logit ``w*ᵀx`` has unit variance, which continuous families expose as ``scale``.
    """

    name: ClassVar[str]
    p_is_exact: ClassVar[bool] = True
    risk_is_exact: ClassVar[bool] = True
    # Absolute accuracy of ``risk`` and ``p``: rounding of closed forms by default; families
    # computed by quadrature raise it to what their quadrature guarantees.
    accuracy: ClassVar[float] = 1e-12

    def __init__(self, w_star: ArrayLike) -> None:
        self.w_star = as_teacher_vector("w_star", w_star)

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
        """Lower and upper limits of ``p(θ)``: a confidence interval for a Monte Carlo ``p``, the
        quadrature error band for a numerically integrated one, ``p`` itself for a closed form."""
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
        shown = ", ".join(f"{key}={value}" for key, value in self.params().items() if key not in ("dim", "w_star"))
        return f"{self.name}(d={self.dim}{', ' if shown else ''}{shown})"

    def student_angle(self, w: ArrayLike) -> FloatArray:
        """``∠(w, w*)`` for ``w`` of shape ``(..., d)``; both are rescaled by powers of two first,
        so students and teachers of any size (1e-300 or 1e300) give the angle of their directions."""
        return angle(unit_scaled(self._as_students(w)), unit_scaled(self.w_star))

    def _sample_shape(self, n: int, trials: int | None) -> tuple[int, ...]:
        """Shape ``(d, n)`` or ``(trials, d, n)`` of :meth:`sample`, at most ``MAX_SAMPLE_FLOATS``
        coordinates (larger requests would exhaust memory; sample in batches instead)."""
        lead = () if trials is None else (positive_int("trials", trials),)
        shape = (*lead, self.dim, positive_int("n", n))
        if math.prod(shape) > MAX_SAMPLE_FLOATS:
            raise InvalidArgument(
                f"a sample of shape {shape} has {math.prod(shape):.3g} coordinates, more than "
                f"{MAX_SAMPLE_FLOATS:.3g} (2 GiB); draw it in smaller batches (trials) instead."
            )
        return shape

    def _as_students(self, w: ArrayLike) -> FloatArray:
        """``w`` as a finite float array of shape ``(..., d)``."""
        array = as_real_array("w", w)
        as_float_array("w", array.reshape(-1), ndim=1)
        if array.ndim == 0 or array.shape[-1] != self.dim:
            raise InvalidArgument(f"w has shape {array.shape}, but students are vectors (..., d) with d={self.dim}.")
        return array
