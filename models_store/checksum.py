"""The directory checksum shared by the store and the ML workers.

Definition (ml/serving/checksum.py implements the same bytes): sha256 over, for
each regular file in the order of its POSIX relative path sorted as a string, the path
encoded UTF-8, b"\\0", the file length as decimal ASCII, b"\\0", the file bytes.
Directories, symlinks and other special files contribute nothing. Sorting is on the
string ("a-c" < "a/b"), not on path components.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


@dataclass(frozen=True)
class DirDigest:
    """What one walk over a directory yields."""

    sha256: str  # hex digest by the definition above
    size_bytes: int  # total bytes of the regular files hashed
    files: tuple[str, ...]  # POSIX relative paths of those files, sorted


def regular_files(root: str | os.PathLike[str]) -> list[str]:
    """POSIX relative paths of the regular files under `root`, sorted as strings."""
    base = Path(root)
    if not base.is_dir():
        raise NotADirectoryError(f"not a directory: {base}")
    found: list[str] = []
    for dirpath, _dirnames, filenames in os.walk(base, followlinks=False):
        for name in filenames:
            full = Path(dirpath, name)
            if stat.S_ISREG(full.lstat().st_mode):
                found.append(full.relative_to(base).as_posix())
    found.sort()
    return found


def dir_digest(root: str | os.PathLike[str]) -> DirDigest:
    """Checksum, total size and file list of the directory `root`."""
    base = Path(root)
    hasher = hashlib.sha256()
    total = 0
    files = regular_files(base)
    for rel in files:
        with open(base / rel, "rb") as handle:
            # Length from the open handle, so the header matches the bytes read below.
            length = os.fstat(handle.fileno()).st_size
            hasher.update(rel.encode("utf-8"))
            hasher.update(b"\0")
            hasher.update(str(length).encode("ascii"))
            hasher.update(b"\0")
            read = 0
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
                read += len(chunk)
        if read != length:
            raise OSError(f"{base / rel} changed size while being hashed")
        total += length
    return DirDigest(sha256=hasher.hexdigest(), size_bytes=total, files=tuple(files))


def dir_checksum(root: str | os.PathLike[str]) -> str:
    """Hex sha256 of the directory `root` by the shared definition."""
    return dir_digest(root).sha256
