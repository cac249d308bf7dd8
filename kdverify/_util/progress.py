"""A dependency-free progress bar on standard error (silent when stderr is not a terminal,
unless forced), so long runs show progress without disturbing machine-readable stdout."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

__all__ = ["BAR_WIDTH", "ProgressBar"]


BAR_WIDTH = 30
"""Characters of the bar itself on a terminal wide enough; it narrows (to 10) before the note is cut."""


class ProgressBar:
    """``with ProgressBar(total, "hunt") as bar: bar.update(k, note)`` draws
    ``hunt [#####.....] 50/100 12.3/s note`` in place, at most ten times a second, within the
    terminal's width (:func:`shutil.get_terminal_size`, read at each redraw), so it never wraps.

    >>> bar = ProgressBar(4, "hunt", enabled=False)
    >>> line = bar.line(2, "a note much too long for a terminal of 40 columns", columns=40)
    >>> len(line) <= 39, line.startswith("hunt [#####.....] 2/4")
    (True, True)
    """

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
        columns = shutil.get_terminal_size().columns
        self.stream.write("\r" + self.line(done, note, columns=columns).ljust(columns - 1))
        self.stream.flush()

    def line(self, done: int, note: str = "", *, columns: int) -> str:
        """The bar's text for ``done`` units, at most ``columns − 1`` characters (the last column
        would wrap on some terminals): the bar narrows first, then the note is cut."""
        rate = done / max(time.perf_counter() - self.started, 1e-9) if done else 0.0
        counts = f"{done}/{self.total} {rate:.1f}/s"
        room = columns - 1 - len(self.label) - len(counts) - len(note) - 5
        width = max(10, min(BAR_WIDTH, room))
        filled = min(width, width * done // self.total)
        bar = "#" * filled + "." * (width - filled)
        return f"{self.label} [{bar}] {counts} {note}"[: max(columns - 1, 0)].rstrip()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
