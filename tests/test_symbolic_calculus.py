"""The loss and limit derivations against the numerical core, in both directions.

Each result has two numeric twins: its lambdified numpy function and the numerical core
(``kdverify.training.losses``, ``kdverify._util.numerics``, ``kdverify.training.limits``); and a reference, the same
sympy expression evaluated in 30 digits at the exact binary inputs (``Derivation.reference``).
Twins are compared with each other and with the reference. Tolerances are a few ulps times the
condition of the expression at the instance, derived in the comment next to each.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kdverify._util.linalg import span_projector
from kdverify._util.numerics import binary_entropy, sigmoid, sigmoid_prime, softplus
from kdverify.theory import get_derivation
from kdverify.training.limits import deep_limit, linear_limit
from kdverify.training.losses import loss_gradient, loss_hessian, loss_value
from kdverify.training.teacher import Teacher

EPS = np.finfo(np.float64).eps
SETTINGS = settings(derandomize=True, max_examples=25, deadline=None)

logits = st.floats(-30, 30, allow_nan=False)
labels = st.floats(1e-6, 1 - 1e-6)


def floats_in(low: float, high: float, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, allow_subnormal=False))


def small_integers(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, shape, elements=st.integers(-4, 4).map(float))


LOSS = get_derivation("loss-calculus")
MINIMA = get_derivation("global-minimizers")
LIMIT = get_derivation("gd-limit")
DEEP = get_derivation("deep-invariance")


class TestLossCalculus:
    @SETTINGS
    @given(logits, labels)
    def test_loss(self, z: float, t: float) -> None:
        """softplus(z) − t z: each of log, exp, ·, − adds ≤ 1 ulp of its operands, so both twins and the
        reference agree to 8 eps·(1 + |softplus| + |t z|) (absolute; the difference may cancel)."""
        lambdified = LOSS.numpy_function("loss")(z, t)
        core = loss_value(np.array([z]), np.array([[1.0]]), np.array([t]))
        tolerance = 8 * EPS * (1 + softplus(z) + abs(t * z))
        assert abs(lambdified - core) <= tolerance
        assert abs(LOSS.reference("loss", z, t) - core) <= tolerance

    @SETTINGS
    @given(logits, labels)
    def test_loss_derivative(self, z: float, t: float) -> None:
        """σ(z) − t: σ is computed to a few ulps of σ ≤ 1, then t is subtracted: 8 eps·(1 + t)."""
        lambdified = LOSS.numpy_function("loss_derivative")(z, t)
        core = loss_gradient(np.array([z]), np.array([[1.0]]), np.array([t]))[0]
        tolerance = 8 * EPS * (1 + t)
        assert abs(lambdified - core) <= tolerance
        assert abs(LOSS.reference("loss_derivative", z, t) - core) <= tolerance

    @SETTINGS
    @given(st.floats(-600, 600, allow_nan=False))
    def test_curvature(self, z: float) -> None:
        """1/(4 cosh²(z/2)) and e^{−|z|}/(1+e^{−|z|})²: z is exact in both, exp and cosh are good to
        ~1 ulp, and four more roundings follow, so they agree to 16 eps relative, even where σ' ~ 1e-260."""
        lambdified = LOSS.numpy_function("loss_curvature")(z)
        core = sigmoid_prime(z)
        assert abs(lambdified - core) <= 16 * EPS * core
        assert abs(LOSS.reference("loss_curvature", z) - core) <= 16 * EPS * core
        assert 0 < lambdified <= 0.25

    @SETTINGS
    @given(floats_in(-3, 3, (3,)), floats_in(-3, 3, (3, 2)), floats_in(0.01, 0.99, (2,)))
    def test_gradient_and_hessian(self, w: np.ndarray, data: np.ndarray, targets: np.ndarray) -> None:
        """∇L and ∇²L for a 3×2 X. The logits z_i = x_iᵀw are summed in different orders, an error of
        3 eps·m_i with m_i = Σ_j |x_ji w_j|; σ and log σ' are 1-Lipschitz in z (|σ'| ≤ 1/4,
        |d log σ'/dz| = |tanh(z/2)| ≤ 1), so entry (a) of ∇L is good to 16 eps·Σ_i |x_ai|(1 + m_i)/n
        and entry (a, b) of ∇²L to 16 eps·Σ_i |x_ai x_bi| σ'_i (1 + m_i)/n."""
        n = data.shape[1]
        magnitude = np.abs(data).T @ np.abs(w)
        gradient_tol = 16 * EPS * (np.abs(data) @ (1 + magnitude)) / n
        curvature = sigmoid_prime(data.T @ w)
        hessian_tol = 16 * EPS * np.einsum("an,bn,n->ab", np.abs(data), np.abs(data), curvature * (1 + magnitude)) / n
        core_gradient = loss_gradient(w, data, targets)
        core_hessian = loss_hessian(w, data)
        lambdified_gradient = np.ravel(LOSS.numpy_function("gradient")(w, data, targets))
        assert np.all(np.abs(lambdified_gradient - core_gradient) <= gradient_tol)
        assert np.all(np.abs(np.ravel(LOSS.reference("gradient", w, data, targets)) - core_gradient) <= gradient_tol)
        assert np.all(np.abs(LOSS.numpy_function("hessian")(w, data) - core_hessian) <= hessian_tol)
        assert np.all(np.abs(LOSS.reference("hessian", w, data) - core_hessian) <= hessian_tol)


class TestGlobalMinimizers:
    @SETTINGS
    @given(labels)
    def test_minimiser_inverts_the_sigmoid(self, t: float) -> None:
        """σ(logit t) = t: log(t/(1−t)) is good to eps·(4 + |logit t|) absolute, and σ maps an error δ
        in z to ≤ t(1−t)·δ, plus σ's own rounding eps·t: 8 eps·(t(1−t)(1 + |logit t|) + t)."""
        z = MINIMA.numpy_function("minimizer")(t)
        assert abs(sigmoid(z) - t) <= 8 * EPS * (t * (1 - t) * (1 + abs(z)) + t)
        assert abs(MINIMA.reference("minimizer", t) - z) <= 8 * EPS * (1 + abs(z))

    @SETTINGS
    @given(labels)
    def test_minimum_value_is_the_entropy_and_the_loss_at_the_minimiser(self, t: float) -> None:
        """H(t): both twins evaluate the same rounded u = fl(1 − t) and then two non-negative terms to
        4 ulps, so 8 eps·H. The reference uses the exact 1 − t; |u − (1 − t)| ≤ eps/2 moves u log u by
        ≤ eps/2·|1 + log u|. The loss at the minimiser, softplus(z) − t z, cancels:
        8 eps·(1 + softplus + |tz|); the error of z enters only to second order (∂ℓ/∂z = 0 there)."""
        entropy = MINIMA.numpy_function("minimum_value")(t)
        core = binary_entropy(t)
        assert abs(entropy - core) <= 8 * EPS * core
        reference_tolerance = 8 * EPS * core + EPS * abs(1 + np.log1p(-t))
        assert abs(MINIMA.reference("minimum_value", t) - core) <= reference_tolerance
        z = MINIMA.numpy_function("minimizer")(t)
        at_minimum = loss_value(np.array([z]), np.array([[1.0]]), np.array([t]))
        assert abs(at_minimum - entropy) <= 8 * EPS * (1 + softplus(z) + abs(t * z)) + EPS * z**2


def _limit_tolerance(data: np.ndarray, target: np.ndarray, w0: np.ndarray) -> float:
    """The SVD projector is accurate to ~ eps·σ_max/σ_min⁺ (the gap between the kept and the dropped
    singular values); the lambdified one divides exact integer polynomials by an exact determinant.
    Both are applied to w*/T and w_0: 64 eps·d·(σ_max/σ_min⁺)·(‖w*/T‖ + ‖w_0‖)."""
    projector = span_projector(data)
    condition = np.sqrt(projector.largest_eigenvalue / projector.smallest_positive_eigenvalue)
    return 64 * EPS * data.shape[0] * condition * (np.linalg.norm(target) + np.linalg.norm(w0))


def _full_column_rank(basis: np.ndarray) -> bool:
    gram = np.rint(basis.T @ basis).astype(np.int64)  # integer entries: the Gram matrix is exact
    return gram[0, 0] * gram[1, 1] - gram[0, 1] ** 2 != 0


CASES = {
    "limit[n < d: 3×2]": (3, 2),
    "limit[n = d: 2×2]": (2, 2),
    "limit[rank 2: 3×3, x_3 = a x_1 + b x_2]": (3, 2),
}


class TestGradientDescentLimit:
    @SETTINGS
    @given(
        st.sampled_from(sorted(CASES)),
        small_integers((3, 2)),
        st.integers(-3, 3),
        st.integers(-3, 3),
        floats_in(-2, 2, (3,)),
        st.floats(0.25, 4),
        floats_in(-2, 2, (3,)),
    )
    def test_limit_matches_the_core(self, name, basis, a, b, w_star, temperature, w0) -> None:
        """ŵ = P w*/T + P⊥ w_0 from the symbolic projector, for integer data (so the rank is exact)."""
        d, _ = CASES[name]
        basis, w_star, w0 = basis[:d], w_star[:d], w0[:d]
        assume(_full_column_rank(basis) and np.any(w_star))
        data = basis if "rank 2" not in name else np.column_stack([basis, a * basis[:, 0] + b * basis[:, 1]])
        core = linear_limit(data, Teacher(w_star, temperature), w0, projector=span_projector(data, rtol=1e-10))
        tolerance = _limit_tolerance(data, w_star / temperature, w0)
        lambdified = np.ravel(LIMIT.numpy_function(name)(basis, w_star, temperature, w0))
        assert np.all(np.abs(lambdified - core) <= tolerance)
        assert np.all(np.abs(np.ravel(LIMIT.reference(name, basis, w_star, temperature, w0)) - core) <= tolerance)


def _product(layers: list[np.ndarray]) -> np.ndarray:
    """``W_k ⋯ W_j`` for ``layers = [W_j, …, W_k]``."""
    result = layers[0]
    for layer in layers[1:]:
        result = layer @ result
    return result


class TestDeepInvariance:
    @SETTINGS
    @given(
        st.sampled_from([(2,), (2, 2)]),
        floats_in(-1.5, 1.5, (3, 2, 3)),
        floats_in(-3, 3, (3, 2)),
        floats_in(0.01, 0.99, (2,)),
    )
    def test_first_layer_gradient_is_v_times_the_loss_gradient(self, widths, weights, data, targets) -> None:
        """∂L/∂W_1 (sympy's chain rule) = v ∇L(w)ᵀ with ∇L from kdverify.training.losses. Products of layers
        are summed in different orders: with |·| entrywise, the error of v is ≤ 8 eps·|W_N|⋯|W_2| and
        that of the logit z_i ≤ 8 eps·m_i, m_i = |W_N|⋯|W_1||x_i|; σ is 1/4-Lipschitz, so entry (r, c)
        is good to 32 eps·(|W_N|⋯|W_2|)_r·Σ_i |x_ci|(1 + m_i)/n."""
        layers = [weights[0]] + [weights[j + 1][: widths[j + 1] if j + 1 < len(widths) else 1, : widths[j]]
                                 for j in range(len(widths))]
        v = _product(layers[1:]).ravel()
        w = layers[0].T @ v
        n = data.shape[1]
        upper_magnitude = _product([np.abs(layer) for layer in layers[1:]]).ravel()
        magnitude = np.abs(data).T @ (np.abs(layers[0]).T @ upper_magnitude)
        tolerance = 32 * EPS * np.outer(upper_magnitude, np.abs(data) @ (1 + magnitude)) / n
        core = np.outer(v, loss_gradient(w, data, targets))
        name = f"first_layer_gradient[{len(layers)} layers]"
        assert np.all(np.abs(DEEP.numpy_function(name)(layers, data, targets) - core) <= tolerance)
        assert np.all(np.abs(DEEP.reference(name, layers, data, targets) - core) <= tolerance)

    @SETTINGS
    @given(small_integers((3, 2)), floats_in(-2, 2, (3,)), st.floats(0.25, 4), floats_in(-2, 2, (2, 3)),
           floats_in(-2, 2, (2,)))
    def test_deep_limit_matches_the_core(self, data, w_star, temperature, first_layer, top) -> None:
        """P w*/T + P⊥ W_1(0)ᵀ v against kdverify.training.limits.deep_limit (tolerance as for the linear limit,
        with w_0 = W_1(0)ᵀ v)."""
        assume(_full_column_rank(data) and np.any(w_star))
        core = deep_limit(data, Teacher(w_star, temperature), first_layer, top)
        tolerance = _limit_tolerance(data, w_star / temperature, first_layer.T @ top)
        lambdified = np.ravel(DEEP.numpy_function("limit")(data, w_star, temperature, first_layer, top))
        assert np.all(np.abs(lambdified - core) <= tolerance)
