"""JSON files written atomically (temporary file, fsync, rename) and read with clear errors.

Every JSON object kdverify writes (``check --json``, ``hunt --json``, certificates, curves,
reports) carries ``format_version`` (:data:`FORMAT_VERSION`) and ``kdverify_version``; files
without them (written before they existed) are read as they are, and a file of a newer format is
refused with both versions named."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from kdverify import __version__
from kdverify.errors import CertificateError, InvalidArgument

__all__ = [
    "FORMAT_VERSION",
    "ensure_directory",
    "ensure_writable",
    "read_json",
    "stamped",
    "write_atomic",
    "write_json_atomic",
]

FORMAT_VERSION = 1
"""The version of kdverify's JSON formats (README, "File formats"); raised when a field changes meaning."""


def _cannot_write(target: Path, directory: Path, error: OSError) -> InvalidArgument:
    """The error for ``target`` when ``directory`` cannot take new files, naming a file that
    stands where a directory must."""
    blocker = next((path for path in (directory, *directory.parents) if path.exists() and not path.is_dir()), None)
    reason = f"{blocker} is a file, not a directory" if blocker else (error.strerror or str(error))
    return InvalidArgument(f"cannot write {target}: {reason}")


def ensure_writable(path: str | os.PathLike[str]) -> Path:
    """Create the directory of ``path`` and check that a file can be created in it, so that a long
    run fails at its start rather than after its work when its output cannot be written."""
    target = Path(path)
    _probe(target, target.parent)
    return target


def ensure_directory(path: str | os.PathLike[str]) -> Path:
    """Create the directory ``path`` (and parents) and check that files can be created in it."""
    directory = Path(path)
    _probe(directory, directory)
    return directory


def _probe(target: Path, directory: Path) -> None:
    """Create ``directory`` and a temporary file in it; the error names ``target``."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".probe")
        os.close(handle)
        Path(probe).unlink()
    except OSError as error:
        raise _cannot_write(target, directory, error) from None


def _new_file_mode() -> int:
    """The mode ``open()`` would give a new file: 0666 less the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(stream)`` on a temporary binary file next to ``path``, then rename it over
    ``path``, so that readers see the old file or the new one, never a truncated one."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                write(stream)
                stream.flush()
                os.fchmod(stream.fileno(), _new_file_mode())  # mkstemp's 0600 would hide results
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise _cannot_write(target, target.parent, error) from None
    return target


def stamped(payload: Any) -> Any:
    """A JSON object with ``format_version`` and ``kdverify_version`` added (other values as they are).

    >>> stamped({"claim": "risk-bound"})["format_version"]
    1
    """
    if not isinstance(payload, dict):
        return payload
    return {**payload, "format_version": FORMAT_VERSION, "kdverify_version": __version__}


def write_json_atomic(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write ``payload`` atomically as indented, key-sorted JSON, :func:`stamped` with the format and
    kdverify's version; byte-identical for equal payloads."""
    try:
        text = json.dumps(stamped(payload), indent=2, sort_keys=True, allow_nan=False) + "\n"
    except ValueError as error:
        raise InvalidArgument(f"cannot write {path}: the result is not valid JSON ({error})") from None
    return write_atomic(path, lambda stream: stream.write(text.encode("utf-8")))


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file; a missing, unreadable or malformed file, or one of a format newer than
    :data:`FORMAT_VERSION`, raises :class:`CertificateError`."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise CertificateError(f"cannot read {source}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CertificateError(f"{source} is not UTF-8 text") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise CertificateError(f"{source} is not valid JSON: {error.msg} at line {error.lineno}") from None
    version = payload.get("format_version", FORMAT_VERSION) if isinstance(payload, dict) else FORMAT_VERSION
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise CertificateError(
            f"{source} has format_version={version!r} (written by kdverify {payload.get('kdverify_version')}); "
            f"this kdverify {__version__} reads formats up to {FORMAT_VERSION}."
        )
    return payload
