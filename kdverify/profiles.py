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

__all__ = ["PROFILES", "Profile", "get_profile"]

DEFAULT_DELTA = 1e-3


@dataclass(frozen=True)
class Profile:
    """A named budget. Examples are per (claim, family) pair: ``max_examples`` for deterministic
    claims, ``statistical_examples`` for statistical ones (each example a Monte Carlo estimate)
    and ``descent_examples`` for claims about gradient descent itself (each example a literal
    run to its certified limit, thousands of steps on ill-conditioned data)."""

    name: str
    max_examples: int
    statistical_examples: int
    descent_examples: int
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
            "ci", 100, 5, 12, 300, 100_000, True, description="derandomised and bounded: CI and the default check"
        ),
        Profile("dev", 100, 20, 25, 400, 200_000, False, description="a quick local look with fresh randomness"),
        Profile("thorough", 500, 60, 150, 1000, 500_000, False, description="minutes per claim"),
        Profile("hunt", 2000, 200, 500, 2000, 1_000_000, False, description="long counterexample searches"),
    )
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; unknown names are rejected with the list of known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise InvalidArgument(f"profile={name!r} is unknown; choose one of {', '.join(PROFILES)}.") from None


def register_hypothesis_profiles() -> None:
    """Register every profile with hypothesis under its own name, so ``pytest
    --hypothesis-profile=NAME`` selects it for the property suite and the unit tests."""
    for profile in PROFILES.values():
        settings.register_profile(
            profile.name,
            max_examples=profile.max_examples,
            derandomize=profile.derandomize,
            deadline=None,
            print_blob=True,
        )


def current_profile() -> Profile:
    """The kdverify profile named like hypothesis's active settings profile (``ci`` otherwise)."""
    name = settings.get_current_profile_name()
    return PROFILES.get(name, PROFILES["ci"])
