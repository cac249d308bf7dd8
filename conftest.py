"""Keep BLAS single-threaded and load kdverify's pytest plugin from the source tree (an installed
kdverify registers it by its entry point under the same name, so it is loaded once); the
``--kdverify-profile=ci`` of pyproject's ``addopts`` makes a plain ``pytest`` run derandomised."""

from kdverify._util.threads import limit_blas_threads

limit_blas_threads()

pytest_plugins = ["kdverify.testing.pytest_plugin"]
