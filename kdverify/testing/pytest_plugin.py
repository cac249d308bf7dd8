"""kdverify's pytest plugin (entry point ``pytest11``): its hypothesis profiles and ``--kdverify-profile``.

Installing kdverify registers the hypothesis profiles ``kdverify-ci``, ``kdverify-dev``,
``kdverify-thorough`` and ``kdverify-hunt`` — under kdverify's own names, so a user's profiles and
hypothesis's built-in ``ci`` stay as they were — and adds one option:

``--kdverify-profile=NAME`` (or the ini setting ``kdverify_profile``) sets the budget of every
:func:`kdverify.testing.parametrize_with_claims` case (examples per case, Monte Carlo trials,
solver iterations) and, unless ``--hypothesis-profile`` is given, loads the hypothesis profile
``kdverify-NAME`` for the whole run. Without it nothing of the run's hypothesis settings changes.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, settings

from kdverify.claims.profiles import PROFILES, Profile, choose_profile, current_profile, hypothesis_profile_name

__all__ = ["VerdictSummary", "register_hypothesis_profiles"]


def _parent(profile: Profile) -> settings | None:
    """Hypothesis's built-in ``ci`` (no example database, derandomised) for the derandomised
    profile, where this hypothesis has one; the defaults for the others."""
    if not profile.derandomize:
        return None
    try:
        return settings.get_profile("ci")
    except Exception:  # hypothesis older than its built-in ci profile
        return None


def register_hypothesis_profiles() -> None:
    """Register ``kdverify-<name>`` for every kdverify profile: its examples per test, its
    derandomisation (and then no example database), no deadline, and the reproduction blob."""
    for profile in PROFILES.values():
        extra = {"database": None, "suppress_health_check": [HealthCheck.too_slow]} if profile.derandomize else {}
        settings.register_profile(
            hypothesis_profile_name(profile),
            parent=_parent(profile),
            max_examples=profile.given_examples,
            derandomize=profile.derandomize,
            deadline=None,
            print_blob=True,
            **extra,
        )


# At import, before any plugin's pytest_configure: ``--hypothesis-profile=kdverify-ci`` works too.
register_hypothesis_profiles()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kdverify", "kdverify: checking trainers against the theory of distillation")
    group.addoption(
        "--kdverify-profile",
        choices=tuple(PROFILES),
        default=None,
        help="budget of kdverify's claim cases; also loads the hypothesis profile kdverify-NAME "
        "unless --hypothesis-profile is given: " + "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values()),
    )
    parser.addini("kdverify_profile", "default for --kdverify-profile", default="")


_previous = pytest.StashKey[str]()
"""The hypothesis profile that was active before the plugin loaded one, restored at the end."""


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(VerdictSummary(), "kdverify-verdict-summary")
    name = config.getoption("kdverify_profile") or config.getini("kdverify_profile") or None
    if name is None:
        return
    choose_profile(str(name))
    if config.getoption("hypothesis_profile", None) is None:
        config.stash[_previous] = settings.get_current_profile_name()
        settings.load_profile(hypothesis_profile_name(current_profile()))


def pytest_unconfigure(config: pytest.Config) -> None:
    choose_profile(None)
    if _previous in config.stash:
        settings.load_profile(config.stash[_previous])


def pytest_report_header(config: pytest.Config) -> str:
    profile = current_profile()
    return (
        f"kdverify: profile {profile.name} ({profile.max_examples} examples per case, "
        f"{profile.trials} Monte Carlo trials); hypothesis profile {settings.get_current_profile_name()}"
    )



class VerdictSummary:
    """Counts the verdicts that :meth:`kdverify.testing.ClaimCase.check` records and says them at
    the end of the run, so a green run says how many claim cases ran and what they decided."""

    def __init__(self) -> None:
        self.verdicts: Counter[str] = Counter()
        self.examples = 0
        self.undecided = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        recorded = dict(report.user_properties)
        if report.when != "call" or "verdict" not in recorded:
            return
        self.verdicts[str(recorded["verdict"])] += 1
        self.examples += int(str(recorded.get("examples", 0)))
        self.undecided += int(str(recorded.get("undecided", 0)))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.verdicts:
            return
        verdicts = ", ".join(f"{count} {verdict}" for verdict, count in sorted(self.verdicts.items()))
        terminalreporter.write_line(
            f"kdverify: {sum(self.verdicts.values())} claim cases ({verdicts}); "
            f"{self.examples} examples decided, {self.undecided} undecided"
        )
