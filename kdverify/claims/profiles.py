"""Named budgets shared by ``kdverify check``, ``kdverify hunt`` and the property suite.

A profile fixes the hypothesis settings (examples per claim and family, derandomisation) and the
numerical budget of each check (Monte Carlo trials, solver iterations), and the run-wide
false-alarm rate δ of statistical checks, split over every statistical check the run may make
(Bonferroni), so the whole run falsely rejects a true theorem with probability at most δ.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import ExampleDatabase

from kdverify.errors import InvalidArgument

__all__ = [
    "HYPOTHESIS_PREFIX",
    "PROFILES",
    "Profile",
    "choose_profile",
    "current_profile",
    "get_profile",
    "hypothesis_profile_name",
]

DEFAULT_DELTA = 1e-3


@dataclass(frozen=True)
class Profile:
    """A named budget (the README's profile table lists every field of every profile).

    Examples are per (claim, family) pair and come in three kinds, because one example of each
    costs very differently: ``max_examples`` for deterministic claims (an identity or a limit
    checked exactly or to rounding), ``statistical_examples`` for statistical ones (each example a
    Monte Carlo estimate of up to ``trials`` training sets) and ``descent_examples`` for claims about
    gradient descent itself (each a literal run toward its certified limit, up to 10⁴ steps:
    ``kdverify.claims._cases.DESCENT_MAX_ITER``). ``given_examples`` is what the registered
    hypothesis profile gives each ``@given`` test (a user's own properties, kdverify's unit tests).
    ``max_iter`` bounds the solvers' iterations per check; ``delta`` is the run's false-alarm rate."""

    name: str
    max_examples: int
    statistical_examples: int
    descent_examples: int
    given_examples: int
    trials: int
    max_iter: int
    derandomize: bool
    delta: float = DEFAULT_DELTA
    description: str = ""

    def examples_for(self, *, statistical: bool, descent: bool = False) -> int:
        """The examples per pair of a claim of that kind (statistical wins over descent)."""
        if statistical:
            return self.statistical_examples
        return self.descent_examples if descent else self.max_examples

    def hypothesis_settings(
        self, *, statistical: bool, descent: bool = False, database: ExampleDatabase | None = None
    ) -> settings:
        """Hypothesis settings for one (claim, family) search under this profile."""
        return settings(
            max_examples=self.examples_for(statistical=statistical, descent=descent),
            derandomize=self.derandomize,
            database=database,
            deadline=None,
            print_blob=False,
            phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
        )


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            "ci",
            max_examples=100,
            statistical_examples=20,
            descent_examples=100,
            given_examples=12,
            trials=500,
            max_iter=100_000,
            derandomize=True,
            description="derandomised and bounded: CI and the default check",
        ),
        Profile(
            "dev",
            max_examples=100,
            statistical_examples=50,
            descent_examples=100,
            given_examples=25,
            trials=500,
            max_iter=200_000,
            derandomize=False,
            description="a quick local look with fresh randomness",
        ),
        Profile(
            "thorough",
            max_examples=500,
            statistical_examples=200,
            descent_examples=150,
            given_examples=150,
            trials=1000,
            max_iter=500_000,
            derandomize=False,
            description="minutes per claim",
        ),
        Profile(
            "hunt",
            max_examples=2000,
            statistical_examples=500,
            descent_examples=500,
            given_examples=2000,
            trials=2000,
            max_iter=1_000_000,
            derandomize=False,
            description="long counterexample searches",
        ),
    )
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; unknown names are rejected with the list of known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise InvalidArgument(f"profile={name!r} is unknown; choose one of {', '.join(PROFILES)}.") from None


HYPOTHESIS_PREFIX = "kdverify-"
"""kdverify's hypothesis profiles are registered as ``kdverify-<profile>`` (``kdverify-ci``, ...), so
they never replace a user's profile or hypothesis's own ``ci``."""

_chosen: list[Profile] = []


def hypothesis_profile_name(profile: Profile) -> str:
    """The name kdverify's pytest plugin registers ``profile``'s hypothesis settings under."""
    return HYPOTHESIS_PREFIX + profile.name


def choose_profile(name: str | None) -> None:
    """Make ``name`` the profile of :func:`current_profile` (``None`` forgets the choice); the pytest
    plugin calls it for ``--kdverify-profile``."""
    _chosen.clear()
    if name is not None:
        _chosen.append(get_profile(name))


def current_profile() -> Profile:
    """The profile chosen by :func:`choose_profile` (``--kdverify-profile``); else the one whose
    hypothesis profile is active (``--hypothesis-profile=kdverify-dev`` runs ``dev``); else ``ci``."""
    if _chosen:
        return _chosen[0]
    name = settings.get_current_profile_name()
    if name.startswith(HYPOTHESIS_PREFIX):
        return PROFILES.get(name.removeprefix(HYPOTHESIS_PREFIX), PROFILES["ci"])
    return PROFILES["ci"]
