"""The experiments layer: ``kdverify curve`` and ``kdverify report`` files, determinism, the
students' training, and clear errors (exit status 2) for bad arguments."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

from kdverify.cli import main
from kdverify.data import Isotropic
from kdverify.experiments import COLUMNS, STUDENTS, Training, risk_curve, train_students
from kdverify.experiments.paper import fitted_rate
from kdverify.experiments.students import student_name
from kdverify.training.limits import linear_limit

pytest.importorskip("matplotlib")

TINY_CURVE = ["curve", "--family", "isotropic", "--param", "dim=3", "--n", "1,2,4", "--trials", "40", "--seed", "3"]


def run_cli(arguments: list[str]) -> int:
    return main(arguments)


@pytest.fixture(scope="module")
def curve_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny curve run, shared by the tests that read its files."""
    out = tmp_path_factory.mktemp("curve")
    assert run_cli([*TINY_CURVE, "--student", "distilled,hard", "--out", str(out)]) == 0
    return out


def test_curve_writes_png_csv_and_json_with_the_columns(curve_dir: Path) -> None:
    """The three files exist; the CSV has the documented columns and one row per (n, student)."""
    assert (curve_dir / "isotropic-curve.png").read_bytes().startswith(b"\x89PNG")
    with open(curve_dir / "isotropic-curve.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0]) == COLUMNS
    assert [(r["n"], r["student"]) for r in rows] == [(str(n), s) for n in (1, 2, 4) for s in ("distilled", "hard")]
    payload = json.loads((curve_dir / "isotropic-curve.json").read_text())
    assert payload["columns"] == list(COLUMNS) and len(payload["rows"]) == 6
    assert str(curve_dir) not in json.dumps(payload)  # no absolute paths in the JSON


def test_curve_json_is_byte_identical_for_the_same_seed(curve_dir: Path, tmp_path: Path) -> None:
    """Same seed, same bytes (no timings or paths inside); another seed changes the numbers."""
    again, other = tmp_path / "again", tmp_path / "other"
    assert run_cli([*TINY_CURVE, "--student", "distilled,hard", "--out", str(again)]) == 0
    assert (again / "isotropic-curve.json").read_bytes() == (curve_dir / "isotropic-curve.json").read_bytes()
    assert (again / "isotropic-curve.csv").read_bytes() == (curve_dir / "isotropic-curve.csv").read_bytes()
    changed = [*TINY_CURVE[:-1], "4", "--student", "distilled,hard", "--out", str(other)]
    assert run_cli(changed) == 0
    assert (other / "isotropic-curve.json").read_bytes() != (curve_dir / "isotropic-curve.json").read_bytes()


def exact_first_risk(dim: int) -> float:
    """``E R_1`` on isotropic data: the student ``P w*`` points along ``±x``, so its angle to
    ``w*`` is ``α(x)`` and ``E R_1 = E[α]/π`` with ``cos α = |u_1|``, ``u`` uniform on the sphere,
    whose density on ``[0, 1]`` is ``2(1 − t²)^{(d−3)/2} / B(1/2, (d−1)/2)``."""
    from scipy.special import beta

    def integrand(t: float) -> float:
        return np.arccos(t) * 2 * (1 - t * t) ** ((dim - 3) / 2) / beta(0.5, (dim - 1) / 2)

    return integrate.quad(integrand, 0, 1)[0] / np.pi


def test_confidence_bands_contain_the_mean_where_it_is_known() -> None:
    """The 95% band of E R_1 contains the exact E[α]/π, and for n ≥ d (E R_n = 0 up to the
    solver's certified tolerance) the sample mean is ≤ 1e-8 and the band contains it and 0.

    Bands are randomised Clopper–Pearson intervals: exact for E R_n, but the sample mean of the
    risks need not lie inside, so the check is against the true value (seeded: deterministic)."""
    curve = risk_curve(Isotropic(3), [1, 3, 5], students=["distilled", "hard"], trials=200, seed=11)
    truth = exact_first_risk(3)
    for point in curve.points:
        assert 0 <= point.risk.lower <= point.risk.upper <= 1
        if point.n == 1:
            assert point.risk.lower <= truth <= point.risk.upper, (truth, point.risk)
        elif point.student == "distilled":
            assert point.risk.mean <= 1e-8 and point.risk.lower == 0.0
        # the risk-angle lemma per training set: R(ŵ) ≤ p(∠(ŵ, w*)), so the means are ordered
        assert point.risk.mean <= point.p_angle.mean + 1e-12


def test_distilled_students_reach_the_closed_form_limit(rng: np.random.Generator) -> None:
    """Batched GD (+ Newton) lands within its certified tolerance of P w*/T + P⊥w0; the bound is
    rtol·max(1, ‖ŵ‖) = 1e-9·max(1, ‖ŵ‖), with ‖w*‖ = 1 and T = 1/2 so ‖ŵ‖ ≤ 2."""
    family = Isotropic(6)
    teacher = family.teacher(0.5)
    data = family.sample(6, rng, trials=40)
    w0 = rng.standard_normal((40, 6))
    for method in ("gd", "auto"):
        trained = train_students("distilled", data, teacher, Training(max_iter=50, method=method), rng=rng, w0=w0)
        assert trained.certified + trained.finished == 40 and trained.uncertified == 0
        if method == "gd":
            assert trained.finished > 0  # the small budget forces the Newton finish
        error = np.linalg.norm(trained.w - linear_limit(data, teacher, w0), axis=-1)
        assert np.all(error <= 1e-9 * 2)


def test_chunked_students_equal_single_runs(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The experiments engine in chunks of 16 (GD, then one batched Newton call for the rest)
    returns, per training set, what GD and Newton on that set alone return, to the certified
    tolerance 1e-9·max(1, ‖ŵ‖) of each; hard-label GD in chunks equals single runs to rounding."""
    from kdverify.training import gradient_descent, hard_label_descent, newton_refine, train

    monkeypatch.setattr(train, "CACHE_FLOATS", 16 * 5 * 5)
    family = Isotropic(5)
    teacher = family.teacher()
    data = family.sample(5, rng, trials=40)
    budget = Training(max_iter=200, hard_iterations=300, method="gd")
    assert train.chunk_size(5, 5) == 16
    trained = train_students("distilled", data, teacher, budget, rng=rng)
    hard = train_students("hard-gd", data, teacher, budget, rng=rng)
    assert trained.finished > 0 and trained.uncertified == 0
    for b in range(len(data)):
        logits = teacher.logits(data[b])
        single = gradient_descent(data[b], logits, max_iter=budget.max_iter)
        if not single.converged:
            single = newton_refine(data[b], logits, single.w)
        assert single.converged and np.linalg.norm(trained.w[b] - single.w) <= 2 * single.tol
        alone = hard_label_descent(data[b], teacher.hard_labels(data[b]), iterations=budget.hard_iterations)
        np.testing.assert_allclose(hard.w[b], alone.w, rtol=0, atol=1e-12 * np.linalg.norm(alone.w))


def test_every_student_kind_trains(rng: np.random.Generator) -> None:
    """Each kind returns one unit-agnostic student per training set, aligned with the teacher
    on the training points (every student classifies them like its teacher; the softmax student
    with K = 3 like its 3-class teacher)."""
    family = Isotropic(4)
    teacher = family.teacher()
    data = family.sample(3, rng, trials=3)
    budget = Training(hard_iterations=200, deep_max_iter=5_000)
    for kind in STUDENTS:
        student = student_name(kind, {"softmax": 3, "mixed": 0.5}.get(kind))
        trained = train_students(student, data, teacher, budget, rng=rng)
        if kind == "softmax":
            assert trained.w.shape == (3, 4, 3) and trained.teacher is not None
            scores = np.einsum("bdk,bdn->bnk", trained.w, data)
            assert np.array_equal(np.argmax(scores, axis=-1), trained.teacher.labels(data))
            continue
        assert trained.w.shape == (3, 4), student
        signs = np.sign(np.einsum("bd,bdn->bn", trained.w, data))
        assert np.array_equal(signs, np.sign(teacher.logits(data))), student


def test_fitted_rate_recovers_an_exponential() -> None:
    """A curve with E R_n = 0.5·0.8^n exactly gives the rate 0.8 (zeros are skipped)."""
    from kdverify.experiments.curves import CurvePoint
    from kdverify.measure.stats import MeanEstimate

    def point(n: int, mean: float) -> CurvePoint:
        estimate = MeanEstimate(mean, 0.0, 1.0, 0.95, 10, "test")
        return CurvePoint(n, "distilled", estimate, estimate, 1.0, 0.0, {})

    points = [point(n, 0.5 * 0.8**n) for n in range(1, 8)] + [point(9, 0.0)]
    assert fitted_rate(points) == pytest.approx(0.8, rel=1e-12)
    assert fitted_rate([point(1, 0.0)]) is None


def test_report_has_the_verdicts_and_all_six_sections(tmp_path: Path) -> None:
    """A tiny report (one claim on one family, 6 trials per point, n ≤ 3) writes report.md with the
    verdict table, the five sections of the paper and the one beyond it, and every figure it links
    (section 6 has three, each followed by its caption)."""
    out = tmp_path / "report"
    status = run_cli(
        [
            "report",
            "--out",
            str(out),
            "--trials",
            "6",
            "--max-n",
            "3",
            "--claim",
            "loss-calculus",
            "--family",
            "generic",
        ]
    )
    assert status == 0
    text = (out / "report.md").read_text()
    assert "## Verdicts" in text and "`loss-calculus`" in text
    for title in (
        "1. Data geometry",
        "2. Optimisation bias",
        "3. Strong monotonicity",
        "4. Deep linear students",
        "5. Real data",
        "6. Beyond the paper: multi-class, mixed targets, self-distillation (THEORY.md §8)",
    ):
        assert f"## {title}" in text
    figures = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert len(figures) == 8
    for name in ("beyond-softmax.png", "beyond-mixed.png", "beyond-kernel.png"):
        assert f"({name})\n\n**Settings.**" in text
    for figure in figures:
        assert (out / figure).read_bytes().startswith(b"\x89PNG")
    assert json.loads((out / "check.json").read_text())["claims"][0]["id"] == "loss-calculus"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--student", "distilled,wizard"], "wizard", id="unknown-student"),
        pytest.param(["--trials", "0"], "argument --trials: '0' must be >= 1", id="zero-trials"),
        pytest.param(
            ["--out", "/proc/kdverify-cannot-write-here"],
            "cannot write /proc/kdverify-cannot-write-here",
            id="unwritable-out",
        ),
    ],
)
def test_bad_curve_arguments_exit_2(arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each bad argument is reported by name on stderr with exit status 2, before any work."""
    base = ["curve", "--family", "isotropic", "--n", "1", "--trials", "5"]
    assert run_cli([*base, *arguments]) == 2
    assert message in capsys.readouterr().err


def test_out_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An --out that exists as a regular file is refused by name with exit status 2."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert run_cli(["curve", "--family", "isotropic", "--n", "1", "--trials", "5", "--out", str(blocker)]) == 2
    assert f"cannot write {blocker}: {blocker} is a file, not a directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--trials", "0"], "argument --trials: '0' must be >= 1", id="zero-trials"),
        pytest.param(["--experiments", "geometry,astrology"], "astrology", id="unknown-experiment"),
        pytest.param(["--claim", "no-such-claim"], "no-such-claim", id="unknown-claim"),
        pytest.param(["--scale", "huge"], "argument --scale: invalid choice: 'huge'", id="unknown-scale"),
    ],
)
def test_bad_report_arguments_exit_2(
    arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad report arguments are refused with exit status 2 before the check starts."""
    assert run_cli(["report", "--out", str(tmp_path / "r"), *arguments]) == 2
    assert message in capsys.readouterr().err
