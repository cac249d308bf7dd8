"""Gradient descent for the deep linear student ``w = (W_N⋯W_1)ᵀ`` (THEORY.md §1), and its inits.

All layers move simultaneously by ``W_j ← W_j − η ∂L/∂W_j`` with
``∂L/∂W_j = (W_N⋯W_{j+1})ᵀ ∇L(w)ᵀ (W_{j−1}⋯W_1)ᵀ``.

Step size. The deep loss is not globally smooth. One step moves the end-to-end vector by
``−η M ∇L(w)`` to first order, ``M = Σ_j ‖W_N⋯W_{j+1}‖² (W_{j−1}⋯W_1)ᵀ(W_{j−1}⋯W_1)``, whose norm
is at most ``S(W) = Σ_j ‖W_N⋯W_{j+1}‖² ‖W_{j−1}⋯W_1‖₂²``; so the run is treated as safe while
``η·L_max·S(W) < 2``, mirroring the linear rule. The default step is
``η = 1/(L_max · N · ρ^{2(N−1)})`` with ``ρ = max(max_j ‖W_j(0)‖₂, ‖P w*/T‖^{1/N})``: the value of
``S`` when every layer has norm ``ρ``, which covers the start and a balanced end point. The
condition is re-checked at every check; if it fails the run stops with ``converged=False`` and
the reason, so a bad step never yields a false result.

Certificate. ``span_bound`` is :func:`kdverify.training.limits.span_error_bound` at the end-to-end ``w``:
a proof that ``‖P(w − w*/T)‖ ≤ span_bound`` (for target logits ``Xᵀw*/T``). With
``first_layer_drift = max_t ‖(W_1(t) − W_1(0))P⊥‖_F`` (zero in exact arithmetic) and
``v = (W_N⋯W_2)ᵀ``, ``‖w − deep_limit(v)‖ ≤ span_bound + ‖v‖·first_layer_drift``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import ArrayLike

from kdverify._util.numerics import sigmoid
from kdverify._util.validation import FloatArray, as_float_array, as_generator, positive_float, positive_int
from kdverify.errors import InvalidArgument
from kdverify.training._common import (
    Objective,
    check_interpolable,
    limit_norm,
    prepare,
    resolve_tolerance,
    take,
)
from kdverify.training.descent import NEAR, check_interval
from kdverify.training.limits import span_error_bound
from kdverify.training.teacher import Teacher

__all__ = [
    "DeepResult",
    "balance_defect",
    "balanced_init",
    "small_init",
    "train_deep",
    "train_deep_distilled",
]

Layers = tuple[FloatArray, ...]


@dataclass(frozen=True)
class DeepResult:
    """End of a deep-student run. ``reason`` says why it stopped: ``"certified"``,
    ``"max_iter"`` or the failed safety condition. ``gradient_norm`` is the Frobenius norm of
    the gradient over all layers, ``end_to_end_gradient_norm`` that of ``∇L(w)``.

    ``balance_budget = η² Σ_k Σ_j ‖∂L/∂W_j(k)‖_F²``: one step changes ``W_{j+1}ᵀW_{j+1} − W_jW_jᵀ``
    by exactly ``η²(G_{j+1}ᵀG_{j+1} − G_jG_jᵀ)`` (the first-order terms cancel because
    ``W_{j+1}ᵀG_{j+1} = G_jW_jᵀ``), so ``balance_defect`` grows by at most this budget."""

    layers: Layers
    w: FloatArray
    iterations: int
    converged: bool
    gradient_norm: float
    end_to_end_gradient_norm: float
    step: float
    span_bound: float
    first_layer_drift: float
    balance_budget: float
    tol: float
    reason: str

    @property
    def upper_product(self) -> FloatArray:
        """``v = (W_N⋯W_2)ᵀ``, the vector that :func:`kdverify.training.limits.deep_limit` needs."""
        product = self.layers[-1]
        for layer in reversed(self.layers[1:-1]):
            product = product @ layer
        return product[0]


def train_deep(
    data: ArrayLike,
    target_logits: ArrayLike,
    layers: Sequence[ArrayLike],
    *,
    step: float | None = None,
    tol: float | None = None,
    rtol: float = 1e-9,
    max_iter: int = 200_000,
    check_every: int = 10,
) -> DeepResult:
    """Simultaneous gradient descent on all layers, from ``layers`` = ``(W_1(0), …, W_N(0))``,
    until certified ``‖P(w − ŵ)‖ ≤ tol`` (default ``rtol·max(1, ‖P w*/T‖)``) or ``max_iter``.

    One problem: ``data`` ``(d, n)``, ``target_logits`` ``(n,)``. See the module docstring for
    the step rule and the certificate.
    """
    problem = prepare(data, target_logits, None)
    if not problem.single:
        raise InvalidArgument(f"data has shape {problem.data.shape}; train_deep takes one (d, n) problem.")
    current = _as_layers(layers, problem.data.shape[1])
    check_interpolable(problem)
    points, logits = problem.data[0], problem.logits[0]
    projector, targets = take(problem.projector, 0), sigmoid(logits)
    smoothness = float(problem.smoothness[0])
    scale = float(limit_norm(problem)[0])
    tolerance = float(resolve_tolerance(tol, rtol, np.array(scale)))
    step = _resolve_deep_step(step, current, smoothness, scale)
    max_iter = positive_int("max_iter", max_iter, min_value=0)
    check_every = positive_int("check_every", check_every)
    current = tuple(layer.copy() for layer in current)  # stepped in place
    first_layer = current[0].copy()
    drift, budget, iteration = 0.0, np.float64(0.0), 0
    objective = _DeepObjective.build(points, targets)
    with np.errstate(over="ignore"):
        w, gradient, steps = objective.gradients(current, scale=step)
    while True:
        drift = max(drift, float(np.linalg.norm(projector.complement(current[0] - first_layer))))
        span_bound = float(span_error_bound(w, points, logits, projector=projector))
        safety = step * smoothness * _sensitivity(current)
        reason = _stop_reason(span_bound <= tolerance, safety, iteration, max_iter)
        if reason:
            break
        interval = check_every if span_bound <= NEAR * tolerance else check_interval(check_every, iteration)
        with np.errstate(over="ignore"):
            for _ in range(min(interval, max_iter - iteration)):
                for layer, change in zip(current, steps, strict=True):
                    layer -= change
                budget += sum(map(np.vdot, steps, steps))
                w, gradient, steps = objective.gradients(current, scale=step)
                iteration += 1
    return DeepResult(
        layers=current,
        w=w,
        iterations=iteration,
        converged=reason == "certified",
        gradient_norm=float(np.sqrt(sum(map(np.vdot, steps, steps)))) / step,
        end_to_end_gradient_norm=float(np.linalg.norm(gradient)),
        step=step,
        span_bound=span_bound,
        first_layer_drift=drift,
        balance_budget=float(budget),
        tol=tolerance,
        reason=reason,
    )


def train_deep_distilled(
    data: ArrayLike, teacher: Teacher, layers: Sequence[ArrayLike], **options: object
) -> DeepResult:
    """:func:`train_deep` on the teacher's target logits ``Xᵀw*/T``."""
    if not isinstance(teacher, Teacher):
        raise InvalidArgument(f"teacher={teacher!r} must be a kdverify.training.teacher.Teacher.")
    return train_deep(data, teacher.logits(data), layers, **options)  # type: ignore[arg-type]


def small_init(
    dim: int, widths: Sequence[int], *, scale: float, rng: np.random.Generator
) -> Layers:
    """Layers ``W_j = ε·G_j/√(columns)`` with ``G_j`` standard normal, so ``‖W_j‖₂ = O(ε)``.

    ``widths`` are the hidden widths ``(h_1, …, h_{N−1})``; the top layer has one row.
    """
    shapes = _shapes(dim, widths)
    scale, rng = positive_float("scale", scale), as_generator("rng", rng)
    return tuple(scale * rng.standard_normal(shape) / np.sqrt(shape[1]) for shape in shapes)


def balanced_init(
    dim: int, widths: Sequence[int], *, scale: float, rng: np.random.Generator
) -> Layers:
    """A balanced init ``W_{j+1}ᵀW_{j+1} = W_jW_jᵀ`` from a chain of random unit vectors.

    With ``u_0 ∈ S^{d−1}``, ``u_j ∈ S^{h_j−1}`` and ``u_N = 1``, ``W_j = ε u_j u_{j−1}ᵀ``: then both
    sides equal ``ε² u_j u_jᵀ``, every layer has norm ``ε`` and ``w(0) = ε^N u_0``.
    """
    shapes = _shapes(dim, widths)
    scale, rng = positive_float("scale", scale), as_generator("rng", rng)
    units = [_unit(rng, dim)] + [_unit(rng, rows) for rows, _ in shapes[:-1]] + [np.ones(1)]
    return tuple(scale * np.outer(units[j + 1], units[j]) for j in range(len(shapes)))


def balance_defect(layers: Sequence[ArrayLike]) -> float:
    """``max_j ‖W_{j+1}ᵀW_{j+1} − W_jW_jᵀ‖_F``: zero for a balanced init; gradient flow keeps
    it constant and gradient descent changes it by ``O(η²‖∇‖²)`` per step."""
    checked = _as_layers(layers, None)
    return max(
        float(np.linalg.norm(upper.T @ upper - lower @ lower.T))
        for lower, upper in pairwise(checked)
    )


@dataclass(frozen=True)
class _DeepObjective(Objective):
    """:class:`~kdverify.training._common.Objective` with the layers' gradients."""

    def gradients(self, layers: Layers, *, scale: float = 1.0) -> tuple[FloatArray, FloatArray, Layers]:
        """End-to-end ``w``, ``∇L(w)`` and ``scale·∂L/∂W_j`` with ``∂L/∂W_j = (W_N⋯W_{j+1})ᵀ ∇L(w)ᵀ
        (W_{j−1}⋯W_1)ᵀ`` (``scale = η`` gives the steps: ``η`` rides on the short vector
        ``W_N⋯W_{j+1}``, not on the matrix)."""
        prefixes = [layers[0]]  # W_j⋯W_1 for j < N
        for layer in layers[1:-1]:
            prefixes.append(layer @ prefixes[-1])
        w = (layers[-1] @ prefixes[-1])[0]
        gradient = self.gradient(w)
        grads = [scale * (prefixes[-1] @ gradient)[None, :]]
        suffix = scale * layers[-1][0]
        for j in range(len(layers) - 2, -1, -1):
            below = gradient if j == 0 else prefixes[j - 1] @ gradient
            grads.append(np.multiply.outer(suffix, below))
            if j:
                suffix = suffix @ layers[j]
        return w, gradient, tuple(reversed(grads))


def _stop_reason(certified: bool, safety: float, iteration: int, max_iter: int) -> str:
    """Why the run stops at this check (empty string: go on). Certification wins; a step that is
    no longer safe (or non-finite layers) ends the run before it can produce a false result."""
    if certified:
        return "certified"
    if not np.isfinite(safety) or safety >= 2:
        return f"unsafe step: η·L_max·S(W) = {safety:.3g} ≥ 2 at iteration {iteration}"
    return "max_iter" if iteration >= max_iter else ""


def _sensitivity(layers: Layers) -> float:
    """``S(W) = Σ_j ‖W_N⋯W_{j+1}‖² ‖W_{j−1}⋯W_1‖₂²`` (an empty product has norm 1)."""
    below = [1.0]
    product = layers[0]
    for layer in layers[1:]:
        below.append(float(np.linalg.norm(product, 2)) ** 2)
        product = layer @ product
    total, suffix = 0.0, np.ones(1)
    for j in reversed(range(len(layers))):
        total += float(suffix @ suffix) * below[j]
        suffix = suffix @ layers[j]
    return total


def _resolve_deep_step(step: float | None, layers: Layers, smoothness: float, scale: float) -> float:
    """Default ``1/(L_max·N·ρ^{2(N−1)})``; a given step must satisfy ``η·L_max·S(W(0)) < 2``."""
    depth = len(layers)
    if step is None:
        rho = max(max(float(np.linalg.norm(layer, 2)) for layer in layers), scale ** (1 / depth))
        return 1.0 / (smoothness * depth * rho ** (2 * (depth - 1)))
    step = positive_float("step", step)
    safety = step * smoothness * _sensitivity(layers)
    if safety >= 2:
        raise InvalidArgument(
            f"step={step!r} is unsafe at the initial layers: η·L_max·S(W(0)) = {safety:.6g} must be "
            "< 2 (S is the first-order sensitivity of w to the layers; see kdverify.training.deep)."
        )
    return step


def _shapes(dim: int, widths: Sequence[int]) -> list[tuple[int, int]]:
    """Layer shapes ``(h_1, d), (h_2, h_1), …, (1, h_{N−1})`` from the hidden widths."""
    dim = positive_int("dim", dim)
    if not isinstance(widths, (list, tuple)):
        raise InvalidArgument(f"widths={widths!r} must be a list or tuple of hidden widths, e.g. [4] or (4, 3).")
    widths = [positive_int(f"widths[{j}]", h) for j, h in enumerate(widths)]
    if not widths:
        raise InvalidArgument("widths=[] gives N = 1 layer; a deep student needs N ≥ 2 (one hidden width).")
    sizes = [dim, *widths, 1]
    return [(sizes[j + 1], sizes[j]) for j in range(len(widths) + 1)]


def _as_layers(layers: Sequence[ArrayLike], dim: int | None) -> Layers:
    """Validate ``(W_1, …, W_N)``: ``N ≥ 2``, finite matrices, chained widths, ``W_1`` with ``d``
    columns (any when ``dim`` is ``None``) and ``W_N`` with one row."""
    if not isinstance(layers, (list, tuple)) or len(layers) < 2:
        shown = f" of length {len(layers)}" if isinstance(layers, (list, tuple, np.ndarray)) else ""
        raise InvalidArgument(
            "layers must be a sequence (list or tuple) of N ≥ 2 matrices (W_1, …, W_N); "
            f"got {type(layers).__name__}{shown}."
        )
    checked = tuple(as_float_array(f"layers[{j}]", layer, ndim=2) for j, layer in enumerate(layers))
    expected_columns = checked[0].shape[1] if dim is None else dim
    for j, layer in enumerate(checked):
        if layer.shape[1] != expected_columns:
            raise InvalidArgument(
                f"layers[{j}] has shape {layer.shape}, but needs {expected_columns} columns "
                f"({'the data dimension d' if j == 0 else f'the rows of layers[{j - 1}]'})."
            )
        expected_columns = layer.shape[0]
    if checked[-1].shape[0] != 1:
        raise InvalidArgument(f"layers[-1] has shape {checked[-1].shape}; the top layer W_N must have 1 row.")
    return checked


def _unit(rng: np.random.Generator, size: int) -> FloatArray:
    """A uniformly random unit vector of length ``size``."""
    vector = rng.standard_normal(size)
    return vector / np.linalg.norm(vector)
