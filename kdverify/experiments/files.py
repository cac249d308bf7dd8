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

from kdverify._util.jsonio import write_atomic
from kdverify.errors import InvalidArgument

__all__ = ["csv_text", "ensure_directory", "write_atomic", "write_text_atomic"]


def ensure_directory(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and parents) and check it is writable; a clear error otherwise."""
    directory = Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidArgument(f"--out={str(path)!r} cannot be created: {error.strerror or error}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InvalidArgument(f"--out={str(path)!r} is not a writable directory.")
    return directory


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
