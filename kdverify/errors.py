"""Every exception a kdverify user can see."""

from __future__ import annotations

__all__ = [
    "CertificateError",
    "ClusterUnavailable",
    "InvalidArgument",
    "KDVerifyError",
    "MissingDependency",
    "NotConverged",
]


class KDVerifyError(Exception):
    """Base class of all kdverify errors."""


class InvalidArgument(KDVerifyError, ValueError):
    """An argument broke a documented rule; the message names it and its value."""


class NotConverged(KDVerifyError, RuntimeError):
    """A solver ran out of budget before reaching its certified tolerance."""


class CertificateError(KDVerifyError, ValueError):
    """A certificate or result file is malformed or does not describe a valid instance."""


class MissingDependency(KDVerifyError, ImportError):
    """An optional extra (scikit-learn, matplotlib) is needed but not installed."""


class ClusterUnavailable(KDVerifyError, ConnectionError):
    """A Dask scheduler or Redis server named on the command line does not answer."""
