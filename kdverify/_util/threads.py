"""Keep BLAS single-threaded in kdverify's own processes (the CLI and the test suite).

kdverify's hot loops are many small or batched matrix products; on this class of machine the
threaded OpenBLAS makes batched SVDs 10–100× slower (measured: a (500, 100, 50) SVD 23 s threaded,
0.24 s single-threaded). Environment variables only act before numpy is imported, so this
module is imported first by the entry points; threadpoolctl (shipped with scikit-learn) covers a
numpy that is already loaded.
"""

from __future__ import annotations

import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads() -> None:
    """Ask for one BLAS thread unless the user chose a number."""
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    if all(os.environ[variable] == "1" for variable in THREAD_VARIABLES):
        threadpool_limits(1, user_api="blas")
