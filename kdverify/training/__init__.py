"""Solvers for the linear, deep linear and hard-label students, each returning a frozen result
with its diagnostics and, where the theory gives one, a certified bound on the distance to the
limit."""

from kdverify.training.deep import (
    DeepResult,
    balance_defect,
    balanced_init,
    small_init,
    train_deep,
    train_deep_distilled,
)
from kdverify.training.descent import DescentResult, gradient_descent, train_distilled
from kdverify.training.flow import FlowResult, flow_distilled, gradient_flow
from kdverify.training.hard_label import (
    MaxMarginResult,
    hard_label_descent,
    max_margin,
    train_hard_label,
)
from kdverify.training.mixed import fit_mixed
from kdverify.training.newton import newton_refine
from kdverify.training.softmax import SoftmaxTeacher, softmax_limit
from kdverify.training.train import (
    METHODS,
    TrainingResult,
    UserTrainer,
    certify_distilled,
    fit_deep,
    fit_distilled,
    fit_hard_label,
    fit_softmax,
    fit_user,
)

__all__ = [
    "METHODS",
    "DeepResult",
    "DescentResult",
    "FlowResult",
    "MaxMarginResult",
    "SoftmaxTeacher",
    "TrainingResult",
    "UserTrainer",
    "balance_defect",
    "balanced_init",
    "certify_distilled",
    "fit_deep",
    "fit_distilled",
    "fit_hard_label",
    "fit_mixed",
    "fit_softmax",
    "fit_user",
    "flow_distilled",
    "gradient_descent",
    "gradient_flow",
    "hard_label_descent",
    "max_margin",
    "newton_refine",
    "small_init",
    "softmax_limit",
    "train_deep",
    "train_deep_distilled",
    "train_distilled",
    "train_hard_label",
]
