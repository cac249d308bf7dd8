"""Atomic output files of the experiments: text (CSV, Markdown) and PNG figures.

Like :func:`kdverify._util.jsonio.write_json_atomic`, every file is written to a temporary file in its
directory, synced and renamed over the target, so a reader sees the old file or the new one.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kdverify._util.jsonio import ensure_directory, write_atomic

__all__ = ["csv_text", "ensure_directory", "write_atomic", "write_text_atomic"]


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` atomically."""
    return write_atomic(path, lambda stream: stream.write(text.encode("utf-8")))


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV with a header; floats as ``repr`` (shortest round-trip form), ``None`` as empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            ["" if row[c] is None else repr(row[c]) if isinstance(row[c], float) else row[c] for c in columns]
        )
    return buffer.getvalue()
