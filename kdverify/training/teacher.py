"""The linear teacher: logits, soft labels at a temperature, hard labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from kdverify._util.numerics import sigmoid
from kdverify._util.validation import (
    FloatArray,
    as_data,
    as_teacher_vector,
    check_no_boundary_points,
    positive_float,
    teacher_signs,
)
from kdverify.errors import InvalidArgument

__all__ = ["Teacher"]


@dataclass(frozen=True)
class Teacher:
    """A linear teacher ``w*`` (nonzero) with a temperature ``T > 0``.

    >>> t = Teacher([3.0, 4.0], temperature=2.0)
    >>> float(t.soft_labels([[1.0], [0.0]])[0]) == float(1 / (1 + np.exp(-1.5)))
    True
    """

    w_star: FloatArray = field(repr=False)
    temperature: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "w_star", as_teacher_vector("w_star", self.w_star))
        object.__setattr__(self, "temperature", positive_float("temperature", self.temperature))
        with np.errstate(over="ignore"):
            overflow = not np.all(np.isfinite(self.w_star / self.temperature))
        if overflow:
            raise InvalidArgument(
                f"temperature={self.temperature!r} is so small that w*/T overflows float64 "
                f"(max |w*_i| = {np.max(np.abs(self.w_star)):.3g}); use a larger temperature or rescale w*."
            )
        self.w_star.setflags(write=False)

    @property
    def dim(self) -> int:
        """Input dimension ``d``."""
        return int(self.w_star.shape[0])

    @property
    def target(self) -> FloatArray:
        """``w*/T``: the student that matches the teacher's soft labels everywhere."""
        return self.w_star / self.temperature

    def logits(self, data: ArrayLike) -> FloatArray:
        """Tempered teacher logits ``w*ᵀx_i / T`` of the columns of ``data`` (``(d, n)`` or
        ``(B, d, n)``); these are the student's target logits ``logit(s_i)``."""
        return self._products(self.target, data)

    def soft_labels(self, data: ArrayLike) -> FloatArray:
        """Soft labels ``s_i = σ(w*ᵀx_i / T)``."""
        return sigmoid(self.logits(data))

    def hard_labels(self, data: ArrayLike) -> FloatArray:
        """Hard labels ``y_i = 1[w*ᵀx_i > 0]``; points on the boundary are rejected."""
        data = as_data("data", data, dim=self.dim, batched=True)
        check_no_boundary_points("data", data, self.w_star)
        return (teacher_signs(data, self.w_star) > 0).astype(np.float64)

    def _products(self, vector: FloatArray, data: ArrayLike) -> FloatArray:
        """``vectorᵀx_i`` for every column, refusing sums that overflow float64."""
        data = as_data("data", data, dim=self.dim, batched=True)
        with np.errstate(over="ignore", invalid="ignore"):
            products = np.einsum("d,...dn->...n", vector, data)
        if not np.all(np.isfinite(products)):
            column = tuple(int(i) for i in np.argwhere(~np.isfinite(products))[0])
            raise InvalidArgument(
                f"the teacher logit w*ᵀx/T of data column {column} overflows float64; rescale the data or w*."
            )
        return products
