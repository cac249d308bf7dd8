"""Internal helpers shared by every stage: input validation, numerically stable functions,
projections, atomic JSON files, threads and the progress bar. Not public API."""

__all__: list[str] = []
