"""Filesystem backend: a directory tree, also usable on a volume shared across nodes.

Layout under `root`:
    <key>/manifest.json   the ArtifactRef recorded at publish time
    <key>/content/        the published files (what get_dir returns)
    .tmp/<uuid>/          a publish in progress (never visible as a key)
    .trash/<uuid>/        a deletion in progress

A publish stages the copy and its manifest in .tmp, fsyncs files and directories, then
renames the staging directory onto the key. rename(2) of a directory onto a non-empty
directory fails, so two writers racing for one key cannot both win, and readers see
either no artifact or a complete one. The caller records the checksum only after
put_dir returns.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from models_store.base import ArtifactRef, validate_key
from models_store.checksum import dir_digest
from models_store.errors import (
    ArtifactExists,
    ArtifactNotFound,
    ChecksumMismatch,
    StoreError,
    StoreWriteError,
)

MANIFEST = "manifest.json"
CONTENT = "content"
TMP_DIR = ".tmp"
TRASH_DIR = ".trash"
# A crashed publish older than this is garbage; live copies of large adapters finish well within it.
DEFAULT_STALE_AGE_S = 6 * 3600.0
_COPY_CHUNK = 1 << 20
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class LocalStore:
    """Artifact store on a local or shared filesystem rooted at `root`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        # Nothing is created until the first write, so building a store is free.
        self.root = Path(root).expanduser().absolute()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # -- publish -----------------------------------------------------------------------

    def put_dir(self, src_dir: str | os.PathLike[str], key: str) -> ArtifactRef:
        """Publish a copy of `src_dir` under `key`; see the module docstring for the steps."""
        validate_key(key)
        src = Path(src_dir)
        if not src.is_dir():
            raise StoreError(f"cannot publish {src}: not a directory")
        self._check_free(key)
        final = self._path(key)
        try:
            staging_root = self.root / TMP_DIR
            staging_root.mkdir(parents=True, exist_ok=True)
            staging = staging_root / uuid.uuid4().hex
            staging.mkdir()
        except OSError as exc:
            raise _write_error(key, exc) from exc
        try:
            ref = self._stage(src, staging, key)
            self._make_parents(final.parent)
            try:
                os.rename(staging, final)
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise ArtifactExists(_exists_message(key)) from exc
                raise
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError):
                raise _write_error(key, exc) from exc
            raise
        try:
            _fsync_dir(final.parent)
        except OSError as exc:
            # The rename may not survive a crash; withdraw it so nobody records this checksum.
            trash = self._withdraw(final)
            if trash is not None:
                shutil.rmtree(trash, ignore_errors=True)
            raise _write_error(key, exc) from exc
        return ref

    def _check_free(self, key: str) -> None:
        parts = key.split("/")
        for depth in range(1, len(parts)):
            ancestor = "/".join(parts[:depth])
            if self._is_artifact(self._path(ancestor)):
                raise StoreError(
                    f"cannot publish {key!r}: {ancestor!r} is an artifact and artifacts do not nest"
                )
        final = self._path(key)
        if self._is_artifact(final):
            raise ArtifactExists(_exists_message(key))
        if final.is_dir() and any(final.iterdir()):
            raise StoreError(f"cannot publish {key!r}: it is a namespace holding other artifacts")

    def _stage(self, src: Path, staging: Path, key: str) -> ArtifactRef:
        content = staging / CONTENT
        content.mkdir()
        made_dirs = [content]
        for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
            here = Path(dirpath)
            target = content / here.relative_to(src)
            for name in sorted(dirnames):
                _require_kind(here / name, stat.S_ISDIR, "a directory")
                (target / name).mkdir()
                made_dirs.append(target / name)
            for name in sorted(filenames):
                _require_kind(here / name, stat.S_ISREG, "a regular file")
                _copy_file(here / name, target / name)
        digest = dir_digest(content)
        if not digest.files:
            raise StoreError(f"cannot publish {key!r}: {src} holds no regular files")
        ref = ArtifactRef(key=key, sha256=digest.sha256, size_bytes=digest.size_bytes, files=digest.files)
        manifest = staging / MANIFEST
        with open(manifest, "x", encoding="utf-8") as handle:
            json.dump(ref.to_dict(), handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        # Deepest first, so each directory's entries are durable before its parent's.
        for directory in reversed(made_dirs):
            _fsync_dir(directory)
        _fsync_dir(staging)
        return ref

    def _make_parents(self, parent: Path) -> None:
        missing: list[Path] = []
        probe = parent
        while probe != self.root and not probe.is_dir():
            missing.append(probe)
            probe = probe.parent
        for directory in reversed(missing):
            directory.mkdir(exist_ok=True)
            _fsync_dir(directory.parent)

    # -- read --------------------------------------------------------------------------

    def get_dir(self, key: str, expected_sha256: str) -> Path:
        """The artifact's content directory, once its checksum equals `expected_sha256`."""
        self.verify(key, expected_sha256)
        return self._path(key) / CONTENT

    def verify(self, key: str, expected_sha256: str) -> ArtifactRef:
        """Re-hash the stored files; raise ChecksumMismatch unless they match."""
        expected = expected_sha256.lower() if isinstance(expected_sha256, str) else ""
        if not _SHA256_HEX.fullmatch(expected):
            raise StoreError(
                f"expected checksum for {key!r} must be 64 hex characters, got {expected_sha256!r}"
            )
        path = self._path(key)
        if not self._is_artifact(path):
            raise ArtifactNotFound(f"no artifact under key {key!r} in {self.root}")
        try:
            digest = dir_digest(path / CONTENT)
        except OSError as exc:
            raise StoreError(f"cannot read artifact {key!r}: {exc}") from exc
        if digest.sha256 != expected:
            raise ChecksumMismatch(key, expected, digest.sha256)
        return ArtifactRef(key=key, sha256=digest.sha256, size_bytes=digest.size_bytes, files=digest.files)

    def stat(self, key: str) -> ArtifactRef:
        """The reference recorded in the manifest at publish time (no re-hash)."""
        manifest = self._path(key) / MANIFEST
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            return ArtifactRef(
                key=key,
                sha256=str(data["sha256"]),
                size_bytes=int(data["size_bytes"]),
                files=tuple(data["files"]),
            )
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ArtifactNotFound(f"no artifact under key {key!r} in {self.root}") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"unreadable manifest for artifact {key!r}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self._is_artifact(self._path(key))

    def list(self, prefix: str = "") -> list[ArtifactRef]:
        """Artifacts whose key is `prefix` or lies under it segment-wise, sorted by key."""
        start = self._path(prefix) if prefix else self.root
        keys = sorted(path.relative_to(self.root).as_posix() for path in _artifact_dirs(start))
        refs: list[ArtifactRef] = []
        for key in keys:
            try:
                refs.append(self.stat(key))
            except ArtifactNotFound:
                continue  # deleted while we walked
        return refs

    # -- delete ------------------------------------------------------------------------

    def delete(self, key: str) -> None:
        """Remove one artifact; it disappears in one rename, then its files are freed."""
        path = self._path(key)
        trash = self._withdraw(path) if self._is_artifact(path) else None
        if trash is None:
            raise ArtifactNotFound(f"no artifact under key {key!r} in {self.root}")
        shutil.rmtree(trash, ignore_errors=True)

    def delete_prefix(self, prefix: str) -> int:
        """Remove every artifact at or under `prefix` (e.g. a brand's erasure); return how many."""
        path = self._path(prefix)
        trash = self._withdraw(path) if path.is_dir() else None
        if trash is None:
            return 0
        # Counted in the trash: exactly what the one rename took away, racing writers included.
        removed = len(_artifact_dirs(trash))
        shutil.rmtree(trash, ignore_errors=True)
        return removed

    def _withdraw(self, path: Path) -> Path | None:
        """Rename `path` into the trash in one step; its trash path, or None if already gone."""
        trash = self._new_trash()
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreWriteError(f"could not delete {path}: {exc}") from exc
        try:
            _fsync_dir(path.parent)
        except OSError as exc:
            raise StoreWriteError(f"deleted {path} but could not make it durable: {exc}") from exc
        return trash

    def _new_trash(self) -> Path:
        trash_root = self.root / TRASH_DIR
        try:
            trash_root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreWriteError(f"could not create {trash_root}: {exc}") from exc
        return trash_root / uuid.uuid4().hex

    def cleanup_stale(self, max_age_s: float = DEFAULT_STALE_AGE_S) -> int:
        """Free staging dirs untouched for `max_age_s` (crashed publishes) and any trash.

        On a shared volume another node may be publishing right now, so a staging dir
        counts as stale only when nothing in it changed for `max_age_s`.
        """
        removed = 0
        cutoff = time.time() - max_age_s
        for entry in _children(self.root / TMP_DIR):
            if _newest_mtime(entry) < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        for entry in _children(self.root / TRASH_DIR):
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
        return removed

    # -- helpers -----------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    @staticmethod
    def _is_artifact(path: Path) -> bool:
        return (path / MANIFEST).is_file()


def _exists_message(key: str) -> str:
    return f"artifact {key!r} already exists; versions are immutable, publish under a new key"


def _write_error(key: str, exc: OSError) -> StoreWriteError:
    code = errno.errorcode.get(exc.errno or 0, "error")
    where = f" at {exc.filename}" if exc.filename else ""
    return StoreWriteError(
        f"could not publish artifact {key!r}: {code} {exc.strerror or exc}{where}; nothing was published"
    )


def _require_kind(path: Path, check: Callable[[int], bool], what: str) -> None:
    if not check(os.lstat(path).st_mode):
        raise StoreError(f"cannot publish {path}: not {what} (symlinks and special files are refused)")


def _copy_file(src: Path, dst: Path) -> None:
    with open(src, "rb") as reader, open(dst, "xb") as writer:
        shutil.copyfileobj(reader, writer, _COPY_CHUNK)
        writer.flush()
        os.fsync(writer.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some filesystems (and some network mounts) cannot fsync a directory at all.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _children(path: Path) -> list[Path]:
    try:
        return sorted(path.iterdir())
    except FileNotFoundError:
        return []


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            try:
                newest = max(newest, os.lstat(os.path.join(dirpath, name)).st_mtime)
            except FileNotFoundError:
                continue
    return newest


def _artifact_dirs(start: Path) -> list[Path]:
    """Artifact directories at or under `start`, skipping the store's own dot-directories."""
    found: list[Path] = []
    for dirpath, dirnames, _filenames in os.walk(start):
        here = Path(dirpath)
        if (here / MANIFEST).is_file():
            found.append(here)
            dirnames[:] = []  # an artifact's content holds no further keys
        else:
            dirnames[:] = [name for name in dirnames if not name.startswith(".")]
    return found
