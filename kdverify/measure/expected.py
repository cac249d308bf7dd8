"""Expected transfer risk ``E_{X~P^n} R(ŵ_X)`` and the sharper ``E[p(∠(ŵ_X, w*))]`` (THEORY.md §2.4, §3).

Exact, for a :class:`~kdverify.data.Discrete` distribution with ``m`` support points.
The student ``ŵ_X = P w*/T + P⊥ w_0`` depends on ``X`` only through ``span X``, hence only
through the set ``S`` of distinct support points drawn, and

    E v_n = Σ_S π_n(S) v(S),   π_n(S) = Σ_{U⊆S} (−1)^{|S∖U|} q(U)^n
          = Σ_U q(U)^n ṽ(U),   ṽ(U) = Σ_{S⊇U} (−1)^{|S∖U|} v(S)

(exchange the sums). ``ṽ`` is a superset Möbius transform, ``O(m·2^m)``, and ``v(S)`` is computed
once per distinct span, found by extending spans one support point at a time. With weights
``q_j = c_j/D`` every ``v(S)`` is a sum of weights, so everything is integer arithmetic:
``E v_n = Σ_U C(U)^n Ṽ(U) / D^{n+1}`` with ``C(U) = Σ_{j∈U} c_j`` and ``Ṽ = D·ṽ``.

Exact, for an :class:`~kdverify.data.Isotropic` family (any radius law, scale and ``w*``; ``T > 0``,
``w_0 = 0``): ``span X`` of ``n < d`` points is a uniformly random ``n``-dimensional subspace, so
``cos²θ = ‖Pw*‖²/‖w*‖² ~ Beta(n/2, (d−n)/2)`` for ``θ = ∠(Pw*/T, w*)``, whose density on ``[0, π/2]``
is ``∝ cos^a θ sin^b θ`` (``a = n−1``, ``b = d−n−1``), and ``R = θ/π`` (Sheppard). With
``z = e^{iθ}``, ``cos^a θ sin^b θ ∝ Σ_m e_m z^m`` for the integer Laurent coefficients ``e_m`` of
``(z + 1/z)^a (z − 1/z)^b``: a cosine series (``b`` even) or a sine series (``b`` odd) with integer
coefficients. Each ``∫₀^{π/2} cos mθ``, ``∫₀^{π/2} sin mθ``, ``∫₀^{π/2} θ cos mθ``, ``∫₀^{π/2} θ sin mθ``
is a rational plus a rational multiple of ``π`` (``π/2`` and ``π²/8`` at ``m = 0``), so
``E R_n = E θ/π = (A₀ + A₁π + A₂π²)/(π(B₀ + B₁π))`` with rational ``A``, ``B``: a
:class:`~kdverify.measure.pi_rational.PiRational`, compared exactly. ``n ≥ d``: ``R = 0``.

Estimated, for any family: Monte Carlo over training sets with an exact confidence interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache, partial
from typing import Any

import numpy as np

from kdverify._util.numerics import ANGLE_ROUNDING, HALF_PI
from kdverify._util.validation import FloatArray, as_generator, as_vector, positive_float, positive_int
from kdverify.data.base import Family
from kdverify.data.discrete import Discrete, Ties
from kdverify.data.exact import (
    RationalSpan,
    RationalVector,
    dot,
    exact_student,
    is_float_free,
)
from kdverify.data.isotropic import Isotropic
from kdverify.errors import InvalidArgument
from kdverify.measure.pi_rational import PiRational
from kdverify.measure.stats import MeanEstimate, betting_mean
from kdverify.training.limits import linear_limit
from kdverify.training.teacher import Teacher

__all__ = [
    "EXACT_SUPPORT",
    "MAX_DRAWS",
    "MAX_SET_FLOATS",
    "MAX_SUPPORT",
    "estimate_expected_p_angle",
    "estimate_expected_risk",
    "exact_expected_p_angle",
    "exact_expected_risk",
    "exact_expected_risks",
    "exact_isotropic_expected_risks",
    "expected_risk",
    "p_of_student_angle",
    "span_expectation",
    "span_expectations",
    "student_risks_and_p_angles",
]

MAX_SUPPORT = 20
"""Largest support size for the exact sums: they visit all ``2^m`` subsets."""
EXACT_SUPPORT = 16
"""Largest support for which :func:`expected_risk` sums exactly (2^16 subsets: well under a second)."""
MAX_SET_FLOATS = 2**27
"""Largest training set of a Monte Carlo estimate, in coordinates ``n·d`` (1 GiB)."""
MAX_DRAWS = 2**33
"""Largest Monte Carlo estimate, in sampled coordinates ``trials·n·d`` (about an hour's work)."""

StudentFunction = Callable[[FloatArray, Teacher, Any], FloatArray]
SpanQuantity = Callable[[Discrete, RationalVector], list[bool]]
"""Which support points count towards ``v(S)`` for the student of span ``S``."""


def _risk_indicators(dist: Discrete, student: RationalVector, *, ties: Ties) -> list[bool]:
    """The support points the student gets wrong, a tie counted as ``ties`` says."""
    return dist.exact_errors(student, ties=ties)


def _p_angle_indicators(dist: Discrete, student: RationalVector) -> list[bool]:
    """``1[γ_j ≤ β]`` for ``β = ∠(ŵ, w*)``, so that ``Σ q_j 1[…] = p(β)``.

    A zero student or ``β ≥ π/2`` gives ``p = 1`` (every point), an upper bound on any risk.
    """
    alignment = dot(student, dist.exact_w_star)
    if alignment <= 0:
        return [True] * dist.support_size
    sin2_beta = 1 - alignment**2 / (dot(student, student) * dot(dist.exact_w_star, dist.exact_w_star))
    return [s <= sin2_beta for s in dist.boundary_sin2]


def _span_table(dim: int, support: Sequence[RationalVector]) -> tuple[np.ndarray, list[RationalSpan]]:
    """The index of ``span{a_j : j ∈ S}`` for every subset ``S`` (bit ``j`` ↔ point ``j``)."""
    spans = [RationalSpan(dim)]
    index = {spans[0]: 0}
    span_of = np.zeros(1 << len(support), dtype=np.int64)
    for j, point in enumerate(support):
        parents, inverse = np.unique(span_of[: 1 << j], return_inverse=True)
        children = []
        for parent in parents:
            child = spans[parent].extended(point)
            if child not in index:
                index[child] = len(spans)
                spans.append(child)
            children.append(index[child])
        span_of[1 << j : 2 << j] = np.asarray(children, dtype=np.int64)[inverse]
    return span_of, spans


def _integer_weights(weights: tuple[Fraction, ...]) -> tuple[list[int], int]:
    """``c_j`` and ``D`` with ``q_j = c_j / D``."""
    denominator = math.lcm(*(q.denominator for q in weights))
    return [int(q * denominator) for q in weights], denominator


def _subset_sums(values: list[int], dtype: Any) -> np.ndarray:
    """``Σ_{j∈U} values_j`` for every subset ``U`` (bit ``j`` ↔ entry ``j``)."""
    sums = np.zeros(1, dtype=dtype)
    for value in values:
        sums = np.concatenate([sums, sums + value])
    return sums


def _superset_moebius(table: np.ndarray, m: int) -> np.ndarray:
    """``ṽ(U) = Σ_{S⊇U} (−1)^{|S∖U|} v(S)`` in place, one bit at a time."""
    for j in range(m):
        view = table.reshape(-1, 2, 1 << j)
        view[:, 0, :] -= view[:, 1, :]
    return table


def _exact_expectation(
    dist: Discrete, sizes: Sequence[int], temperature: Any, w0: Any | None, quantity: SpanQuantity
) -> list[Fraction | float]:
    """``E v(ŵ_X)`` at each of ``sizes`` for ``v(ŵ) = Σ_j q_j quantity(ŵ)_j`` by the integer
    Möbius sums (module doc)."""
    if not isinstance(dist, Discrete):
        raise InvalidArgument(f"dist={dist!r} must be a Discrete distribution for exact sums.")
    values = span_expectations(
        dist.dim,
        dist.support,
        dist.exact_weights,
        sizes,
        lambda span: quantity(dist, exact_student(span, dist.exact_w_star, temperature=temperature, w0=w0)),
    )
    exact = dist.is_exact and is_float_free(temperature) and is_float_free(w0)
    return [value if exact else float(value) for value in values]


def span_expectation(
    dim: int,
    support: Sequence[RationalVector],
    weights: Sequence[Fraction],
    n: int,
    counted: Callable[[RationalSpan], Sequence[bool]],
) -> Fraction:
    """``E Σ_j q_j counted(span X)_j`` over ``n`` i.i.d. draws of the support points ``a_j`` with
    weights ``q_j``, exactly (module docstring): for any student that depends on the training set
    only through its span (``counted`` says which support points count for the student of a span)."""
    return span_expectations(dim, support, weights, [n], counted)[0]


def span_expectations(
    dim: int,
    support: Sequence[RationalVector],
    weights: Sequence[Fraction],
    sizes: Sequence[int],
    counted: Callable[[RationalSpan], Sequence[bool]],
) -> list[Fraction]:
    """:func:`span_expectation` at each of ``sizes``, sharing everything but the final powers."""
    sizes = [positive_int("n", n) for n in sizes]
    m = len(support)
    if m > MAX_SUPPORT:
        raise InvalidArgument(
            f"the support has m={m} points; exact expectations visit all 2^m subsets and are "
            f"limited to m <= {MAX_SUPPORT}. Use estimate_expected_risk instead."
        )
    span_of, spans = _span_table(dim, support)
    counts, denominator = _integer_weights(tuple(weights))
    per_span = [sum(c for c, hit in zip(counts, counted(span), strict=True) if hit) for span in spans]
    # |Ṽ(U)| ≤ 2^m·D and a group sums at most 2^m of them: int64 unless D is huge (float weights).
    dtype: Any = np.int64 if denominator * 4**m < 2**62 else object
    table = _superset_moebius(np.asarray(per_span, dtype=dtype)[span_of], m)
    masses = _subset_sums(counts, dtype)
    levels, inverse = np.unique(masses, return_inverse=True)
    grouped = np.zeros(len(levels), dtype=dtype)
    np.add.at(grouped, inverse, table)
    terms = [(int(c), int(g)) for c, g in zip(levels, grouped, strict=True) if g]
    return [Fraction(sum(c**n * g for c, g in terms), denominator ** (n + 1)) for n in sizes]


def exact_expected_risk(
    dist: Discrete, n: int, *, temperature: Any = 1, w0: Any | None = None, ties: Ties = "error"
) -> Fraction | float:
    """``E R(ŵ_X)`` over ``n`` i.i.d. draws, exactly (module docstring); ``ties`` is how a student
    scoring exactly 0 on a support point counts (:data:`~kdverify.data.discrete.Ties`:
    ``"error"``, THEORY.md §1's risk, or ``"correct"``).

    Returns a ``Fraction`` when the distribution, ``temperature`` and ``w0`` are float-free, else
    the float nearest to the exact value for the floats as given. ``m ≤`` :data:`MAX_SUPPORT`.

    >>> dist = Discrete([[1, 1], [1, -1]], ["1/2", "1/2"], w_star=[1, 0])
    >>> exact_expected_risk(dist, 2), exact_expected_risk(dist, 2, ties="correct")  # ŵ ⊥ a_j: ties
    (Fraction(1, 4), Fraction(0, 1))
    """
    return exact_expected_risks(dist, [n], temperature=temperature, w0=w0, ties=ties)[0]


def exact_expected_risks(
    dist: Discrete, sizes: Sequence[int], *, temperature: Any = 1, w0: Any | None = None, ties: Ties = "error"
) -> list[Fraction | float]:
    """:func:`exact_expected_risk` at each of ``sizes``: the sums over spans are shared, only the
    final powers ``C(U)^n`` differ, so a sweep of sizes costs about one."""
    return _exact_expectation(dist, sizes, temperature, w0, partial(_risk_indicators, ties=ties))


def exact_expected_p_angle(dist: Discrete, n: int, *, temperature: Any = 1, w0: Any | None = None) -> Fraction | float:
    """``E p(∠(ŵ_X, w*))`` exactly: the intermediate bound of ``risk-bound`` (``p := 1`` for a
    zero student or an angle ``≥ π/2``). Same conventions as :func:`exact_expected_risk`."""
    return _exact_expectation(dist, [n], temperature, w0, _p_angle_indicators)[0]


def exact_isotropic_expected_risks(
    family: Isotropic, sizes: Sequence[int], *, temperature: Any = 1, w0: Any | None = None
) -> list[PiRational]:
    """``E R(ŵ_X)`` over ``n`` i.i.d. draws of an isotropic family, exactly (module docstring), at
    each of ``sizes``: it depends on ``n`` and ``d`` only. The student is the distilled limit from
    ``w0 = 0`` (the only ``w0`` accepted) at any ``temperature > 0``.

    >>> [str(r) for r in exact_isotropic_expected_risks(Isotropic(3), [1, 2, 3])]
    ['1/π', '(-1 + 1/2·π)/π', '0']
    """
    if not isinstance(family, Isotropic):
        raise InvalidArgument(f"family={family!r} must be an Isotropic family.")
    if w0 is not None and np.any(as_vector("w0", w0, dim=family.dim)):
        raise InvalidArgument(f"w0={w0!r}: the isotropic expected risk is exact only from w0 = 0.")
    positive_float("temperature", temperature)  # the direction of P w*/T, hence θ, does not depend on T
    return [_isotropic_expected_risk(family.dim, positive_int("n", n)) for n in sizes]


_QUARTER_SIN, _QUARTER_COS = (0, 1, 0, -1), (1, 0, -1, 0)  # sin(mπ/2), cos(mπ/2) by m mod 4


@lru_cache(maxsize=4096)
def _isotropic_expected_risk(dim: int, n: int) -> PiRational:
    """``E θ/π`` for ``θ`` of density ``∝ cos^{n−1}θ sin^{d−n−1}θ`` on ``[0, π/2]`` (module docstring)."""
    if n >= dim:
        return PiRational([0])
    a, b = n - 1, dim - n - 1
    laurent = [0] * (a + b + 1)  # e_m at index (m + a + b)/2: only m ≡ a + b (mod 2) occur
    for j in range(a + 1):
        for k in range(b + 1):
            laurent[a + b - j - k] += math.comb(a, j) * math.comb(b, k) * (-1) ** k
    moment, mass = [Fraction(0)] * 3, [Fraction(0)] * 2  # ∫θ f = Σ moment_k π^k, ∫f = Σ mass_k π^k
    for index, e in enumerate(laurent):
        m = 2 * index - a - b
        if m < 0 or e == 0:
            continue
        s, c = _QUARTER_SIN[m % 4], _QUARTER_COS[m % 4]
        if m == 0:  # b even: the constant term of the cosine series
            mass[1] += Fraction(e, 2)
            moment[2] += Fraction(e, 8)
        elif b % 2 == 0:  # 2e_m cos mθ
            mass[0] += Fraction(2 * e * s, m)
            moment[0] += Fraction(2 * e * (c - 1), m * m)
            moment[1] += Fraction(e * s, m)
        else:  # 2e_m sin mθ (the constant factor common to all terms cancels in the ratio)
            mass[0] += Fraction(2 * e * (1 - c), m)
            moment[0] += Fraction(2 * e * s, m * m)
            moment[1] += Fraction(-e * c, m)
    return PiRational(moment, [0, *mass])


def _as_family(family: Family) -> Family:
    if not isinstance(family, Family):
        raise InvalidArgument(f"family={family!r} must be a kdverify.data.Family.")
    return family


def p_of_student_angle(family: Family, students: FloatArray, *, rtol: float = 0.0) -> FloatArray:
    """``p(∠(w, w*))`` per student (upper limit of ``p``), ``1`` for a zero student or an angle
    ``≥ π/2`` — the risk-angle lemma's bound on each student's risk. A student known only within
    ``‖w − ŵ‖ ≤ rtol·max(1, ‖w‖)`` of the limit it stands for has ``p`` taken at the largest angle
    that allows (``β + arcsin(ε/‖w‖)``, plus the angle's rounding), so a support point whose angle
    to the boundary equals the student's — a tie both in score and in angle, common on integer
    discrete data — is counted, as ``p``'s ``≤`` counts it for the exact student."""
    norms = np.linalg.norm(np.atleast_2d(students), axis=-1).reshape(np.shape(students)[:-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        slack = np.arcsin(np.minimum(1.0, rtol * np.maximum(1.0, norms) / norms)) + ANGLE_ROUNDING
    beta = family.student_angle(students) + np.where(np.isnan(slack), np.inf, slack)
    aligned = ~np.isnan(beta) & (beta < HALF_PI)
    values = np.ones(beta.shape)
    if np.any(aligned):
        values[aligned] = family.p_bounds(beta[aligned])[1]
    return values


def student_risks_and_p_angles(
    family: Family,
    n: int,
    *,
    trials: int,
    rng: np.random.Generator,
    temperature: float = 1.0,
    w0: Any | None = None,
    student: StudentFunction | None = None,
    rtol: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """``R(ŵ_X)`` and :func:`p_of_student_angle` of the same students, for ``trials`` training sets
    of size ``n`` (arguments as :func:`estimate_expected_risk`; ``rtol`` the students' certified
    relative distance to their limit): the two sides of the risk bound's sharper link, paired."""
    family = _as_family(family)
    pairs = _student_quantities(
        family,
        n,
        lambda students: np.column_stack([family.risk(students), p_of_student_angle(family, students, rtol=rtol)]),
        trials=trials,
        rng=rng,
        temperature=temperature,
        w0=w0,
        student=student,
        batch_size=None,
    )
    return pairs[:, 0], pairs[:, 1]


def _student_quantities(
    family: Family,
    n: int,
    quantity: Callable[[FloatArray], FloatArray],
    *,
    trials: int,
    rng: np.random.Generator,
    temperature: float,
    w0: Any | None,
    student: StudentFunction | None,
    batch_size: int | None,
) -> FloatArray:
    """``quantity(ŵ_X)`` for ``trials`` independent training sets of size ``n``."""
    trials, n = positive_int("trials", trials), positive_int("n", n)
    rng = as_generator("rng", rng)
    draws = trials * n * family.dim
    if n * family.dim > MAX_SET_FLOATS or draws > MAX_DRAWS:
        raise InvalidArgument(
            f"trials={trials} training sets of n={n} points in d={family.dim} are {draws:.3g} coordinates; "
            f"one set may hold at most {MAX_SET_FLOATS:.3g} and a whole estimate {MAX_DRAWS:.3g} "
            "(hours of work beyond that). Lower trials or n."
        )
    teacher = family.teacher(temperature)
    if w0 is not None:
        w0 = as_vector("w0", w0, dim=family.dim)
    # Default batches hold about 2^22 floats (32 MB) of training data.
    size = max(1, 2**22 // (family.dim * n)) if batch_size is None else positive_int("batch_size", batch_size)
    values = []
    for start in range(0, trials, size):
        data = family.sample(n, rng, trials=min(size, trials - start))
        students = (student or linear_limit)(data, teacher, w0)
        if np.shape(students) != (data.shape[0], family.dim):
            raise InvalidArgument(
                f"student returned shape {np.shape(students)}; expected ({data.shape[0]}, {family.dim})."
            )
        values.append(quantity(np.asarray(students, dtype=np.float64)))
    return np.concatenate(values)


def estimate_expected_risk(
    family: Family,
    n: int,
    *,
    trials: int,
    rng: np.random.Generator,
    temperature: float = 1.0,
    w0: Any | None = None,
    student: StudentFunction | None = None,
    confidence: float = 0.95,
    batch_size: int | None = None,
) -> MeanEstimate:
    """Monte Carlo ``E R(ŵ_X)`` with a betting confidence interval (:func:`~kdverify.measure.stats.betting_mean`).

    Training sets come in batches from ``family.sample(n, rng, trials=…)``; the student is the
    closed-form limit :func:`~kdverify.training.limits.linear_limit` unless ``student(X_batch, teacher, w0)
    -> (B, d)`` is given; each student's risk is the family's exact ``risk``.
    """
    family = _as_family(family)
    risks = _student_quantities(
        family, n, family.risk, trials=trials, rng=rng, temperature=temperature, w0=w0, student=student,
        batch_size=batch_size,
    )
    return betting_mean(risks, confidence=confidence)


def estimate_expected_p_angle(
    family: Family,
    n: int,
    *,
    trials: int,
    rng: np.random.Generator,
    temperature: float = 1.0,
    w0: Any | None = None,
    student: StudentFunction | None = None,
    confidence: float = 0.95,
    batch_size: int | None = None,
) -> MeanEstimate:
    """Monte Carlo ``E p(∠(ŵ_X, w*))`` (:func:`p_of_student_angle`), with the same arguments as
    :func:`estimate_expected_risk`."""
    family = _as_family(family)
    values = _student_quantities(
        family, n, partial(p_of_student_angle, family), trials=trials, rng=rng, temperature=temperature, w0=w0,
        student=student, batch_size=batch_size,
    )
    return betting_mean(values, confidence=confidence)


def expected_risk(
    family: Family,
    n: int,
    *,
    trials: int,
    rng: np.random.Generator,
    temperature: float = 1.0,
    confidence: float = 0.95,
) -> Fraction | MeanEstimate:
    """``E R_n`` of the distilled student from 0: exact (a Fraction) on a rational discrete family
    with at most :data:`EXACT_SUPPORT` points, otherwise a Monte Carlo estimate over ``trials``
    training sets with its confidence interval. The one place that chooses between the two."""
    if isinstance(family, Discrete) and family.is_exact and family.support_size <= EXACT_SUPPORT:
        return Fraction(exact_expected_risk(family, n, temperature=Fraction(temperature)))
    return estimate_expected_risk(family, n, trials=trials, rng=rng, temperature=temperature, confidence=confidence)
