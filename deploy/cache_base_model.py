"""Copy the base model from the shared volume to a node-local cache once; print the path to load it from.

    python deploy/cache_base_model.py SOURCE CACHE_DIR

Run by deploy/entrypoint.sh when BASE_MODEL_CACHE_DIR is set (generate and GPU workers): a new pod,
or a new training run's fresh child process, then reads the weights from the node's disk instead of
the shared volume. The copy is keyed by the model's checksum (the models store's manifest.json beside
a published `content/` directory), else by a signature of its files (names, sizes, mtimes), so a
changed base model gets a copy of its own. It is written to a temporary folder and renamed into place
(pods starting together on one node do not see half a copy) and keeps the `<name>/content` +
`manifest.json` layout below the key, so the base's name and identity (prefcontent.core.base_model)
stay the same. Standard
library only: it runs before Django. Prints SOURCE unchanged when it is not a model directory.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

KEEP = 2  # cached bases kept per node: the one in use and the one before it (a rollback)


def cache_key(source: Path) -> str:
    manifest = source.parent / "manifest.json"
    if source.name == "content" and manifest.is_file():
        try:
            return str(json.loads(manifest.read_text(encoding="utf-8"))["sha256"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    rows = sorted((str(p.relative_to(source)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in source.rglob("*") if p.is_file())
    return "files-" + hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def cached_copy(source: Path, cache_dir: Path) -> Path:
    """The node-local copy of `source` under `cache_dir`, made now if missing."""
    published = source.name == "content" and (source.parent / "manifest.json").is_file()
    # The same names as on the shared volume below the key: the base keeps its name and identity.
    relative = Path(source.parent.name, "content") if published else Path(source.name)
    target = cache_dir / cache_key(source)
    if not (target / relative / "config.json").is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".copy-"))
        try:
            shutil.copytree(source, tmp / relative)
            if published:
                shutil.copy2(source.parent / "manifest.json", tmp / relative.parent / "manifest.json")
            try:
                os.rename(tmp, target)
            except OSError:  # another pod on this node finished first: use its copy
                if not (target / relative / "config.json").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    os.utime(target)  # most recently used
    others = sorted((p for p in cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and p != target),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in others[KEEP - 1:]:
        shutil.rmtree(stale, ignore_errors=True)
    return target / relative


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 2
    source, cache_dir = Path(argv[0]), Path(argv[1])
    if not argv[0] or not (source / "config.json").is_file():
        print(argv[0])
        return 0
    print(cached_copy(source.resolve(), cache_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
