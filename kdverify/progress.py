"""A dependency-free progress bar on standard error (silent when stderr is not a terminal,
unless forced), so long runs show progress without disturbing machine-readable stdout."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """``with ProgressBar(total, "hunt") as bar: bar.update(k, note)`` draws
    ``hunt [#####.....] 50/100 12.3/s note`` in place, at most ten times a second."""

    def __init__(self, total: int, label: str, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.total = max(1, total)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.perf_counter()
        self._last_draw = 0.0

    def update(self, done: int, note: str = "") -> None:
        """Redraw with ``done`` units finished."""
        now = time.perf_counter()
        if not self.enabled or (now - self._last_draw < 0.1 and done < self.total):
            return
        self._last_draw = now
        width = 30
        filled = min(width, width * done // self.total)
        rate = done / max(now - self.started, 1e-9)
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total} {rate:.1f}/s {note}"[:120].ljust(120))
        self.stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
