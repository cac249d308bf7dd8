"""kdverify: property-based verification of the theory of knowledge distillation."""

__all__ = ["__version__"]

__version__ = "0.1.0"
