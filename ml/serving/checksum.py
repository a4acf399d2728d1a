"""Content checksum of an adapter directory (standard library only).

The models store records the same digest when it publishes an adapter, so the serving
engine can refuse files that changed or were damaged after publication.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

_CHUNK = 1 << 20


class AdapterChecksumError(RuntimeError):
    """An adapter directory's content does not match the sha256 it was published with."""

    def __init__(self, path: str | Path, expected: str, actual: str) -> None:
        super().__init__(
            f"adapter files at {str(path)!r} fail their checksum: expected sha256 {expected}, "
            f"found {actual}; refusing to serve them (no fallback to the base model)"
        )
        self.path = str(path)
        self.expected = expected
        self.actual = actual


def dir_checksum(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of the directory `path`, the same definition as models_store.checksum.

    For each regular file, in the order of its POSIX relative path sorted as a string
    ("a-c" < "a/b"), the digest is fed: the path as UTF-8, a NUL byte, the file length as
    ASCII decimal, a NUL byte, then the file's bytes. The length field makes the stream
    unambiguous. Directories, symlinks and other special files contribute nothing.
    """
    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"adapter directory {str(root)!r} does not exist")
    files: list[str] = []
    for dirpath, _dirnames, filenames in os.walk(root, followlinks=False):
        for name in filenames:
            full = Path(dirpath, name)
            if stat.S_ISREG(full.lstat().st_mode):
                files.append(full.relative_to(root).as_posix())
    files.sort()
    digest = hashlib.sha256()
    for rel in files:
        with open(root / rel, "rb") as handle:
            # Length from the open handle, so the header matches the bytes read below.
            length = os.fstat(handle.fileno()).st_size
            digest.update(rel.encode("utf-8"))
            digest.update(b"\0")
            digest.update(str(length).encode("ascii"))
            digest.update(b"\0")
            read = 0
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                read += len(chunk)
        if read != length:
            raise OSError(f"{root / rel} changed size while being hashed")
    return digest.hexdigest()


def verify_dir_checksum(path: str | Path, expected: str) -> None:
    """Raise AdapterChecksumError unless `path` hashes to `expected` (hex, any case)."""
    actual = dir_checksum(path)
    if actual != expected.strip().lower():
        raise AdapterChecksumError(path, expected, actual)
