from __future__ import annotations

import hashlib

import pytest

from ml.serving.checksum import (
    AdapterChecksumError,
    dir_checksum,
    verify_dir_checksum,
)


def _write(root, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_checksum_follows_the_documented_byte_layout(tmp_path):
    _write(tmp_path, {"b.json": b"{}", "a/x.bin": b"\x00\x01"})
    expected = hashlib.sha256(b"a/x.bin\x002\x00\x00\x01" + b"b.json\x002\x00{}").hexdigest()
    assert dir_checksum(tmp_path) == expected


def test_files_sort_as_path_strings_and_symlinks_are_skipped(tmp_path):
    _write(tmp_path, {"a/b": b"1", "a-c": b"2"})
    (tmp_path / "link").symlink_to(tmp_path / "a-c")
    expected = hashlib.sha256(b"a-c\x001\x002" + b"a/b\x001\x001").hexdigest()
    assert dir_checksum(tmp_path) == expected


def test_checksum_ignores_creation_order_but_not_names_or_bytes(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _write(one, {"a": b"1", "b": b"2"})
    _write(two, {"b": b"2", "a": b"1"})
    assert dir_checksum(one) == dir_checksum(two)

    (two / "b").write_bytes(b"3")
    assert dir_checksum(one) != dir_checksum(two)

    (two / "b").write_bytes(b"2")
    (two / "b").rename(two / "c")
    assert dir_checksum(one) != dir_checksum(two)


def test_content_cannot_impersonate_the_next_file(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _write(one, {"a": b"xb\x00y", "c": b""})
    _write(two, {"a": b"x", "b": b"y", "c": b""})
    assert dir_checksum(one) != dir_checksum(two)


def test_verify_raises_on_mismatch_and_accepts_upper_case(tmp_path):
    _write(tmp_path, {"adapter_config.json": b"{}"})
    digest = dir_checksum(tmp_path)
    verify_dir_checksum(tmp_path, digest.upper())
    with pytest.raises(AdapterChecksumError) as info:
        verify_dir_checksum(tmp_path, "0" * 64)
    assert info.value.actual == digest
    assert "no fallback" in str(info.value)


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(NotADirectoryError):
        dir_checksum(tmp_path / "absent")
