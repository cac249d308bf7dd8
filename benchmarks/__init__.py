"""kdverify's benchmarks; run them with ``python -m benchmarks`` (see ``benchmarks/run.py``)."""
