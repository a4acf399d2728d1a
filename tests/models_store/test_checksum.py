import hashlib
import os
from pathlib import Path

import pytest

from models_store.checksum import dir_checksum, dir_digest, regular_files


def _entry(rel: str, data: bytes) -> bytes:
    return rel.encode("utf-8") + b"\0" + str(len(data)).encode("ascii") + b"\0" + data


def test_checksum_matches_the_shared_definition_byte_for_byte(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").write_bytes(b"")
    (tmp_path / "a-c").write_bytes(b"abc")
    (tmp_path / "é.txt").write_bytes(b"\x00\xff")
    (tmp_path / "empty_dir").mkdir()
    # String order puts "a-c" before "a/b" ('-' < '/'); component order would not.
    expected = hashlib.sha256(
        _entry("a-c", b"abc") + _entry("a/b", b"") + _entry("é.txt", b"\x00\xff")
    ).hexdigest()

    digest = dir_digest(tmp_path)

    assert digest.sha256 == expected
    assert dir_checksum(tmp_path) == expected
    assert digest.files == ("a-c", "a/b", "é.txt")
    assert digest.size_bytes == 5


def test_symlinks_and_empty_dirs_do_not_count(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"123")
    before = dir_checksum(tmp_path)
    os.symlink(tmp_path / "x.bin", tmp_path / "link.bin")
    (tmp_path / "sub").mkdir()
    assert regular_files(tmp_path) == ["x.bin"]
    assert dir_checksum(tmp_path) == before


def test_checksum_changes_with_a_renamed_file_even_if_bytes_are_equal(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"same")
    before = dir_checksum(tmp_path)
    (tmp_path / "w.bin").rename(tmp_path / "v.bin")
    assert dir_checksum(tmp_path) != before


def test_length_prefix_separates_file_boundaries(tmp_path: Path) -> None:
    left, right = tmp_path / "l", tmp_path / "r"
    left.mkdir()
    right.mkdir()
    (left / "f").write_bytes(b"ab")
    (left / "g").write_bytes(b"c")
    (right / "f").write_bytes(b"a")
    (right / "g").write_bytes(b"bc")
    assert dir_checksum(left) != dir_checksum(right)


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        dir_checksum(tmp_path / "nope")


def test_serving_engine_computes_the_same_checksum(tmp_path):
    """ml must not import models_store (bare GPU boxes), so it keeps its own copy: the two agree."""
    from ml.serving.checksum import dir_checksum as engine_checksum
    from models_store.checksum import dir_checksum as store_checksum

    (tmp_path / "a-c").write_bytes(b"x")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").write_bytes(b"\x00" * 300)
    (tmp_path / "adapter_config.json").write_text('{"r": 8}')
    assert store_checksum(tmp_path) == engine_checksum(tmp_path)
