"""Keep BLAS single-threaded, register kdverify's hypothesis profiles and make ``ci`` (derandomised) the default, so a
plain ``pytest`` run is deterministic; ``--hypothesis-profile=NAME`` chooses another."""

from kdverify._threads import limit_blas_threads

limit_blas_threads()

from hypothesis import settings  # noqa: E402

from kdverify.profiles import register_hypothesis_profiles  # noqa: E402

register_hypothesis_profiles()
settings.load_profile("ci")
