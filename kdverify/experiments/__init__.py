"""The paper's experiments (THEORY.md §5) as reproducible files: risk curves of trained students
with exact confidence bands, the five experiments, a section beyond the paper (§8) and the
Markdown report that gathers them."""

from kdverify.experiments.curves import COLUMNS, Curve, CurvePoint, risk_curve
from kdverify.experiments.students import STUDENTS, TrainedStudents, Training, train_students

__all__ = [
    "COLUMNS",
    "STUDENTS",
    "Curve",
    "CurvePoint",
    "TrainedStudents",
    "Training",
    "risk_curve",
    "train_students",
]
