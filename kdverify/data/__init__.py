"""Data-geometry families (THEORY.md §2): samplers, ``p(θ)``, ``P[α ≤ θ]`` and ``R(w)``.

Importing this package does not import scikit-learn; the real-data families import it when built.
"""

from kdverify.data.angular import AngleLaw, AngularFamily, BetaPolarised, Margin, ScaledBeta
from kdverify.data.base import Family
from kdverify.data.discrete import Discrete
from kdverify.data.gaussian import AnisotropicGaussian, GaussianMixture
from kdverify.data.isotropic import Isotropic
from kdverify.data.real import BreastCancer, Digits, Mnist, RealData
from kdverify.data.registry import (
    FAMILIES,
    FamilySpec,
    Param,
    family_from_params,
    family_spec,
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
    "family_spec",
    "from_params",
]
