"""kdverify: property-based verification of the theory of knowledge distillation."""

__version__ = "0.1.0"
