"""The per-trial loops a researcher would write for one training set (BENCHMARKS.md §1, §1b).

- numpy: plain gradient descent, step ``1/L_max``, stopped at kdverify's certified accuracy
  (:class:`LoopCertificate`, checked every ``CHECK_EVERY`` steps) or at a step cap; hard labels
  run a fixed number of steps (their loss has no minimiser, so no accuracy to reach).
- PyTorch, written the usual way: ``nn.Linear(d, 1, bias=False)`` started at 0 (kdverify's
  ``w0 = 0``; PyTorch's default start is random, and the limit depends on the start through
  ``P⊥w0``), ``BCEWithLogitsLoss`` (mean over the n examples) on the teacher's soft targets
  ``σ(w*ᵀx)`` or on hard labels, ``torch.optim.SGD`` with the numpy loop's learning rate, on the
  CPU with one thread, in float64: the numpy loop's iterates up to rounding, stopped by the same
  certificate (read from the weight's memory, which ``SGD.step`` updates in place). torch comes
  through the ``bench`` extra (``pip install -e '.[bench]'``); without it the benchmarks skip this
  loop and say why (:data:`MISSING`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np
from scipy import special

from kdverify._util.linalg import span_projector
from kdverify.training.limits import _gamma

RTOL = 1e-9
CHECK_EVERY = 10


class LoopResult(NamedTuple):
    """One problem of the per-trial loop: the student, its certified distance to the limit,
    whether that is within tolerance, and the gradient steps taken."""

    w: np.ndarray
    bound: float
    certified: bool
    steps: int


class LoopCertificate:
    """kdverify's certificate for one problem of a per-trial loop: ``span_error_bound + ‖P⊥w‖ +
    ‖P − P̃‖·‖w‖``, with its constants (``−Xᵀ``, ``|X|ᵀ``, basis, ``σ̃_min⁺ − E``) computed once,
    as :class:`kdverify.training._common.Certificate` does for a batch; also the loop's step
    ``1/L_max`` and tolerance ``RTOL·max(1, ‖P w*‖)``."""

    def __init__(self, data: np.ndarray, logits: np.ndarray, target: np.ndarray) -> None:
        dim, n = data.shape
        projector = span_projector(data)
        self.step = float(4 * n / projector.largest_eigenvalue)
        self.tol = RTOL * max(1.0, float(np.linalg.norm(projector.project(target))))
        self._logits, self._negated = logits, np.ascontiguousarray(-data.T)
        self._magnitude, self._basis = np.abs(self._negated), projector.basis
        self._basis_t = np.ascontiguousarray(projector.basis.T)
        self._lower, self._subspace = float(projector.smallest_singular_lower_bound), float(projector.subspace_error)
        self._factor, self._rounding = 1 + _gamma(n + 2), _gamma(2 * dim + 2)

    def bound(self, w: np.ndarray) -> float:
        """The certified distance of ``w`` to the limit (``inf`` off a rank-zero span)."""
        span = np.inf
        if self._lower > 0:
            residual = np.linalg.norm(self._negated @ w + self._logits)
            size = np.linalg.norm(self._magnitude @ np.abs(w))
            span = float(self._factor * (residual + self._rounding * size) / self._lower)
        return float(span + np.linalg.norm(w - self._basis @ (self._basis_t @ w)) + self._subspace * np.linalg.norm(w))


def certified_loop(certificate: LoopCertificate, w: np.ndarray, steps: Callable[[], None], max_iter: int) -> LoopResult:
    """Run ``steps`` (``CHECK_EVERY`` gradient steps updating ``w`` in place) until the
    certificate holds at a check or ``max_iter`` steps are done."""
    for done in range(0, max_iter + 1, CHECK_EVERY):
        bound = certificate.bound(w)
        if bound <= certificate.tol or done + CHECK_EVERY > max_iter:
            return LoopResult(w.copy(), bound, bound <= certificate.tol, done)
        steps()
    raise AssertionError("unreachable: the loop returns at its last check")


def loop_distilled(data: np.ndarray, logits: np.ndarray, target: np.ndarray, max_iter: int) -> LoopResult:
    """kdverify's gradient descent for one problem, in plain numpy: step ``1/L_max``, the
    :class:`LoopCertificate` checked every ``CHECK_EVERY`` steps, at most ``max_iter`` steps."""
    certificate = LoopCertificate(data, logits, target)
    transposed = np.ascontiguousarray(data.T)
    scaled, soft = data * (certificate.step / data.shape[1]), special.expit(logits)
    w = np.zeros(data.shape[0])

    def steps() -> None:
        for _ in range(CHECK_EVERY):
            np.subtract(w, scaled @ (special.expit(transposed @ w) - soft), out=w)

    return certified_loop(certificate, w, steps, max_iter)


def loop_hard(data: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """Hard-label gradient descent for one problem, in plain numpy (no diagnostics)."""
    n = data.shape[1]
    step = 4 * n / float(np.linalg.norm(data, 2) ** 2)
    transposed, scaled, w = np.ascontiguousarray(data.T), data * (step / n), np.zeros(data.shape[0])
    for _ in range(iterations):
        w -= scaled @ (special.expit(transposed @ w) - labels)
    return w


MISSING = "torch is not installed: pip install -e '.[bench]' (CPU wheel) to measure the PyTorch loop"


def load_torch() -> ModuleType | None:
    """torch with one intra-op thread (the numpy loops run on one BLAS thread), or ``None``."""
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def _sgd_steps(torch: ModuleType, data: np.ndarray, targets: np.ndarray, lr: float) -> tuple[Any, Any]:
    """The model, and a function running ``CHECK_EVERY`` SGD steps on the mean BCE-with-logits loss."""
    dim = data.shape[0]
    inputs = torch.from_numpy(np.ascontiguousarray(data.T))
    labels = torch.from_numpy(np.ascontiguousarray(targets))
    model = torch.nn.Linear(dim, 1, bias=False, dtype=torch.float64)
    torch.nn.init.zeros_(model.weight)
    loss_function = torch.nn.BCEWithLogitsLoss()
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)

    def steps() -> None:
        for _ in range(CHECK_EVERY):
            optimiser.zero_grad()
            loss_function(model(inputs).squeeze(1), labels).backward()
            optimiser.step()

    return model, steps


def torch_distilled(
    torch: ModuleType, data: np.ndarray, logits: np.ndarray, target: np.ndarray, max_iter: int
) -> LoopResult:
    """The distilled student of one training set ``data`` (d × n), to the certified accuracy of
    the numpy loop or ``max_iter`` steps."""
    certificate = LoopCertificate(data, logits, target)
    model, steps = _sgd_steps(torch, data, special.expit(logits), certificate.step)
    with torch.no_grad():
        weight = model.weight.numpy()[0]  # a view: SGD updates the parameter in place
    return certified_loop(certificate, weight, steps, max_iter)


def torch_hard(torch: ModuleType, data: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """The hard-label student: ``iterations`` SGD steps (a multiple of ``CHECK_EVERY``) from 0."""
    step = 4 * data.shape[1] / float(np.linalg.norm(data, 2) ** 2)
    model, steps = _sgd_steps(torch, data, labels.astype(np.float64), step)
    for _ in range(iterations // CHECK_EVERY):
        steps()
    return model.weight.detach().numpy()[0].copy()
