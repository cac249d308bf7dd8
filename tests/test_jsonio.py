"""kdverify._util.jsonio: atomic writes keep the old file on failure, new files get the usual mode,
JSON output is canonical, and unreadable input raises a CertificateError naming the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import pytest

from kdverify import __version__
from kdverify._util.jsonio import FORMAT_VERSION, ensure_writable, read_json, stamped, write_atomic, write_json_atomic
from kdverify.claims.certificates import certificate_directory, load_certificate
from kdverify.errors import CertificateError, InvalidArgument


def test_json_is_canonical_and_round_trips(tmp_path: Path) -> None:
    """Key order does not change the bytes; reading gives back the payload."""
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    write_json_atomic(first, {"b": [1, "2/3"], "a": None})
    write_json_atomic(second, {"a": None, "b": [1, "2/3"]})
    assert first.read_bytes() == second.read_bytes()
    assert read_json(first) == stamped({"a": None, "b": [1, "2/3"]})


def test_every_object_written_carries_the_format_and_kdverify_version(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "out.json", {"claims": []})
    payload = read_json(tmp_path / "out.json")
    assert payload["format_version"] == FORMAT_VERSION and payload["kdverify_version"] == __version__


def test_files_from_before_the_version_stamp_still_read(tmp_path: Path) -> None:
    """Unstamped files read as they are, among them the certificates kdverify ships."""
    (tmp_path / "old.json").write_text('{"claim": "x"}', encoding="utf-8")
    assert read_json(tmp_path / "old.json") == {"claim": "x"}
    shipped = sorted(certificate_directory().glob("*.json"))
    assert shipped and all(load_certificate(path)["claim"] for path in shipped)


def test_a_newer_format_is_refused_naming_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    path.write_text(f'{{"format_version": {FORMAT_VERSION + 1}, "kdverify_version": "9.0"}}', encoding="utf-8")
    with pytest.raises(CertificateError, match=rf"format_version={FORMAT_VERSION + 1} \(written by kdverify 9.0\)"):
        read_json(path)


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    """A writer that raises half-way leaves the previous content untouched."""
    target = tmp_path / "result.json"
    write_json_atomic(target, {"kept": True})

    def broken(stream: BinaryIO) -> None:
        stream.write(b'{"trunc')
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_atomic(target, broken)
    assert read_json(target) == stamped({"kept": True})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_new_files_follow_the_umask(tmp_path: Path) -> None:
    """Not mkstemp's private 0600: results are readable as any file the user creates."""
    previous = os.umask(0o022)
    try:
        path = write_json_atomic(tmp_path / "x.json", [1])
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644


def test_nan_is_refused_not_written(tmp_path: Path) -> None:
    """JSON has no NaN: the write fails with a message and creates nothing."""
    with pytest.raises(InvalidArgument, match="not valid JSON"):
        write_json_atomic(tmp_path / "x.json", {"value": float("nan")})
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(
    ("content", "fragment"), [(b'{"a": ', "not valid JSON"), (b"\xff\xfe", "not UTF-8"), (None, "cannot read")]
)
def test_unreadable_json_names_the_file(tmp_path: Path, content: bytes | None, fragment: str) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CertificateError, match=fragment) as caught:
        read_json(path)
    assert str(path) in str(caught.value)


def test_ensure_writable_refuses_a_path_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InvalidArgument, match="is a file, not a directory"):
        ensure_writable(blocker / "out.json")
    assert ensure_writable(tmp_path / "new" / "out.json").parent.is_dir()
