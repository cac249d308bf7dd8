"""Register kdverify's hypothesis profiles and make ``ci`` (derandomised) the default, so a
plain ``pytest`` run is deterministic; ``--hypothesis-profile=NAME`` chooses another."""

from hypothesis import settings

from kdverify.profiles import register_hypothesis_profiles

register_hypothesis_profiles()
settings.load_profile("ci")
