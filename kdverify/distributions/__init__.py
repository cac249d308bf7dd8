"""Data-geometry families (THEORY.md §2): samplers, ``p(θ)``, ``P[α ≤ θ]`` and ``R(w)``.

Importing this package does not import scikit-learn; the real-data families import it when built.
"""

from kdverify.distributions.angular import AngleLaw, AngularFamily, BetaPolarised, Margin, ScaledBeta
from kdverify.distributions.base import Family
from kdverify.distributions.discrete import Discrete
from kdverify.distributions.gaussian import AnisotropicGaussian, GaussianMixture
from kdverify.distributions.isotropic import Isotropic
from kdverify.distributions.real import BreastCancer, Digits, Mnist, RealData
from kdverify.distributions.registry import (
    FAMILIES,
    FamilySpec,
    Param,
    family_from_params,
    from_params,
)

__all__ = [
    "FAMILIES",
    "AngleLaw",
    "AngularFamily",
    "AnisotropicGaussian",
    "BetaPolarised",
    "BreastCancer",
    "Digits",
    "Discrete",
    "Family",
    "FamilySpec",
    "GaussianMixture",
    "Isotropic",
    "Margin",
    "Mnist",
    "Param",
    "RealData",
    "ScaledBeta",
    "family_from_params",
    "from_params",
]
