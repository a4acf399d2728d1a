import errno
import multiprocessing
import os
import shutil
import time
from pathlib import Path

import pytest

from models_store import (
    ArtifactExists,
    ArtifactNotFound,
    ArtifactStore,
    ChecksumMismatch,
    LocalStore,
    StoreError,
    StoreWriteError,
    dir_checksum,
)
from models_store import local as local_module


def _make_src(path: Path, seed: bytes = b"w") -> Path:
    (path / "nested").mkdir(parents=True)
    (path / "adapter_config.json").write_text('{"r": 8}')
    (path / "adapter_model.safetensors").write_bytes(seed * 4096)
    (path / "nested" / "tokenizer.json").write_bytes(b"{}")
    return path


def _leftovers(store: LocalStore) -> list[Path]:
    found: list[Path] = []
    for name in (local_module.TMP_DIR, local_module.TRASH_DIR):
        if (store.root / name).exists():
            found.extend((store.root / name).iterdir())
    return found


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return _make_src(tmp_path / "src")


def test_local_store_satisfies_the_protocol(store: LocalStore) -> None:
    assert isinstance(store, ArtifactStore)


def test_put_then_get_roundtrip(store: LocalStore, src: Path) -> None:
    ref = store.put_dir(src, "brands/7/adapters/v1")

    assert ref.key == "brands/7/adapters/v1"
    assert ref.sha256 == dir_checksum(src)
    assert ref.files == ("adapter_config.json", "adapter_model.safetensors", "nested/tokenizer.json")
    assert ref.size_bytes == len('{"r": 8}') + 4096 + 2
    got = store.get_dir(ref.key, ref.sha256)
    assert (got / "adapter_model.safetensors").read_bytes() == b"w" * 4096
    assert (got / "nested" / "tokenizer.json").read_bytes() == b"{}"
    assert dir_checksum(got) == ref.sha256
    assert store.exists(ref.key)
    assert store.stat(ref.key) == ref
    assert store.verify(ref.key, ref.sha256.upper()) == ref
    assert store.list() == [ref]
    assert ref.to_dict()["files"] == list(ref.files)
    assert _leftovers(store) == []


def test_corrupted_byte_refuses_the_load(store: LocalStore, src: Path) -> None:
    ref = store.put_dir(src, "brands/7/adapters/v1")
    weights = store.root / "brands/7/adapters/v1" / local_module.CONTENT / "adapter_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[100] ^= 0x01
    weights.write_bytes(bytes(data))

    with pytest.raises(ChecksumMismatch) as info:
        store.get_dir(ref.key, ref.sha256)

    message = str(info.value)
    assert "brands/7/adapters/v1" in message
    assert ref.sha256 in message
    assert info.value.actual in message and info.value.actual != ref.sha256
    assert info.value.expected == ref.sha256


def test_wrong_expected_checksum_refuses_the_load(store: LocalStore, src: Path) -> None:
    ref = store.put_dir(src, "ns/name/1")
    with pytest.raises(ChecksumMismatch):
        store.get_dir(ref.key, "0" * 64)
    with pytest.raises(StoreError, match="64 hex"):
        store.get_dir(ref.key, "abc")


def test_versions_are_immutable(store: LocalStore, src: Path, tmp_path: Path) -> None:
    ref = store.put_dir(src, "ns/name/1")
    other = _make_src(tmp_path / "other", seed=b"x")

    with pytest.raises(ArtifactExists, match="immutable"):
        store.put_dir(other, "ns/name/1")

    assert store.verify("ns/name/1", ref.sha256) == ref
    assert _leftovers(store) == []


def test_rename_race_loser_gets_artifact_exists(
    store: LocalStore, src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = _make_src(tmp_path / "other", seed=b"x")
    real_rename = os.rename

    def rename_after_rival_publishes(a: str, b: str) -> None:
        monkeypatch.setattr(os, "rename", real_rename)
        store.put_dir(other, "ns/name/1")  # the rival wins between our check and our rename
        real_rename(a, b)

    monkeypatch.setattr(os, "rename", rename_after_rival_publishes)
    with pytest.raises(ArtifactExists):
        store.put_dir(src, "ns/name/1")

    assert store.stat("ns/name/1").sha256 == dir_checksum(other)
    assert _leftovers(store) == []


def test_failure_mid_copy_leaves_nothing_visible(
    store: LocalStore, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put_dir(src, "ns/keep/1")
    real_copy = shutil.copyfileobj
    copies = []

    def copy_then_fill_disk(reader, writer, length=0):  # type: ignore[no-untyped-def]
        copies.append(1)
        if len(copies) == 2:
            writer.write(reader.read(10))
            raise OSError(errno.ENOSPC, "No space left on device")
        real_copy(reader, writer, length)

    monkeypatch.setattr(shutil, "copyfileobj", copy_then_fill_disk)
    with pytest.raises(StoreWriteError, match="ENOSPC") as info:
        store.put_dir(src, "ns/name/1")

    assert "nothing was published" in str(info.value)
    assert not store.exists("ns/name/1")
    assert [ref.key for ref in store.list()] == ["ns/keep/1"]
    assert not (store.root / "ns" / "name" / "1").exists()
    assert _leftovers(store) == []


def test_rename_failure_leaves_nothing_visible(
    store: LocalStore, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(a: str, b: str) -> None:
        raise OSError(errno.EACCES, "Permission denied", b)

    monkeypatch.setattr(os, "rename", refuse)
    with pytest.raises(StoreWriteError, match="EACCES"):
        store.put_dir(src, "ns/name/1")
    monkeypatch.undo()

    assert store.list() == []
    assert _leftovers(store) == []


def test_failed_final_fsync_withdraws_the_artifact(
    store: LocalStore, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync_dir = local_module._fsync_dir
    target_parent = store.root / "ns" / "name"
    published = []

    def fsync_dir(path: Path) -> None:
        # Fail only the fsync that makes the final rename durable.
        if path == target_parent and (target_parent / "1").exists():
            published.append(path)
            raise OSError(errno.EIO, "Input/output error")
        real_fsync_dir(path)

    monkeypatch.setattr(local_module, "_fsync_dir", fsync_dir)
    with pytest.raises(StoreWriteError, match="EIO"):
        store.put_dir(src, "ns/name/1")

    assert published
    assert not store.exists("ns/name/1")
    assert store.list() == []


def test_store_root_that_cannot_exist_fails_cleanly(tmp_path: Path, src: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the store's parent should be")
    store = LocalStore(blocker / "store")

    with pytest.raises(StoreWriteError, match="ENOTDIR"):
        store.put_dir(src, "ns/name/1")
    assert store.list() == []


def test_namespace_blocked_by_a_file_fails_cleanly(store: LocalStore, src: Path) -> None:
    store.root.mkdir(parents=True)
    (store.root / "brands").write_text("not a directory")

    with pytest.raises(StoreWriteError):
        store.put_dir(src, "brands/7/adapters/v1")

    assert store.list() == []
    assert _leftovers(store) == []


def test_delete_removes_one_artifact(store: LocalStore, src: Path) -> None:
    store.put_dir(src, "ns/name/1")
    store.put_dir(src, "ns/name/2")

    store.delete("ns/name/1")

    assert not store.exists("ns/name/1")
    assert [ref.key for ref in store.list()] == ["ns/name/2"]
    assert _leftovers(store) == []
    with pytest.raises(ArtifactNotFound):
        store.delete("ns/name/1")
    with pytest.raises(ArtifactNotFound):
        store.get_dir("ns/name/1", "0" * 64)
    with pytest.raises(ArtifactNotFound):
        store.stat("ns/name/1")


def test_list_and_delete_prefix_respect_segments(store: LocalStore, src: Path) -> None:
    for key in (
        "brands/1/adapters/v1",
        "brands/1/adapters/v2",
        "brands/1/datasets/d1",
        "brands/10/adapters/v1",
    ):
        store.put_dir(src, key)

    assert [r.key for r in store.list("brands/1")] == [
        "brands/1/adapters/v1",
        "brands/1/adapters/v2",
        "brands/1/datasets/d1",
    ]
    assert [r.key for r in store.list("brands/1/adapters/v2")] == ["brands/1/adapters/v2"]
    assert store.list("brands/2") == []

    assert store.delete_prefix("brands/1") == 3

    assert [r.key for r in store.list()] == ["brands/10/adapters/v1"]
    assert not (store.root / "brands" / "1").exists()
    assert store.delete_prefix("brands/1") == 0
    assert _leftovers(store) == []


def test_content_file_named_like_the_manifest_is_not_a_key(store: LocalStore, tmp_path: Path) -> None:
    src = tmp_path / "dataset"
    (src / "inner").mkdir(parents=True)
    (src / "inner" / local_module.MANIFEST).write_text("{}")
    (src / local_module.MANIFEST).write_text("{}")
    ref = store.put_dir(src, "ds/1")

    assert store.list() == [ref]
    assert store.delete_prefix("ds") == 1


def test_artifacts_do_not_nest(store: LocalStore, src: Path) -> None:
    store.put_dir(src, "a")
    with pytest.raises(StoreError, match="do not nest"):
        store.put_dir(src, "a/b")
    store.put_dir(src, "x/y")
    with pytest.raises(StoreError, match="namespace"):
        store.put_dir(src, "x")
    assert [r.key for r in store.list()] == ["a", "x/y"]


@pytest.mark.parametrize("key", ["", "/a", "a/", "a//b", "../x", "a/../b", ".tmp/x", "a b", "a/.hidden"])
def test_malformed_keys_are_refused(store: LocalStore, src: Path, key: str) -> None:
    with pytest.raises(StoreError, match="invalid artifact key"):
        store.put_dir(src, key)


def test_symlinks_and_empty_sources_are_refused(store: LocalStore, src: Path, tmp_path: Path) -> None:
    os.symlink(src / "adapter_config.json", src / "alias.json")
    with pytest.raises(StoreError, match="symlinks"):
        store.put_dir(src, "ns/name/1")
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    with pytest.raises(StoreError, match="no regular files"):
        store.put_dir(empty, "ns/name/2")
    with pytest.raises(StoreError, match="not a directory"):
        store.put_dir(tmp_path / "missing", "ns/name/3")
    assert store.list() == []
    assert _leftovers(store) == []


def test_cleanup_stale_removes_only_old_staging_dirs(store: LocalStore, src: Path) -> None:
    store.put_dir(src, "ns/name/1")
    old = store.root / local_module.TMP_DIR / "crashed"
    fresh = store.root / local_module.TMP_DIR / "in-flight"
    for path in (old, fresh):
        (path / "content").mkdir(parents=True)
        (path / "content" / "part").write_bytes(b"x")
    long_ago = time.time() - 10 * 3600
    for path in (old / "content" / "part", old / "content", old):
        os.utime(path, (long_ago, long_ago))

    assert store.cleanup_stale(max_age_s=3600) == 1

    assert not old.exists()
    assert fresh.exists()
    assert store.exists("ns/name/1")


def _race_put(root: str, src: str, key: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    store = LocalStore(root)
    barrier.wait()
    try:
        ref = store.put_dir(src, key)
        results.put(("won", ref.sha256))
    except ArtifactExists:
        results.put(("lost", ""))


def test_two_processes_racing_for_one_key_exactly_one_wins(store: LocalStore, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    sources = [_make_src(tmp_path / f"src{i}", seed=bytes([65 + i])) for i in range(2)]
    for source in sources:
        (source / "big.bin").write_bytes(os.urandom(2 << 20))
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_race_put, args=(str(store.root), str(s), "brands/1/adapters/v1", barrier, results)
        )
        for s in sources
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0

    assert sorted(kind for kind, _ in outcomes) == ["lost", "won"]
    winner_sha = next(sha for kind, sha in outcomes if kind == "won")
    assert winner_sha in {dir_checksum(s) for s in sources}
    assert store.verify("brands/1/adapters/v1", winner_sha).sha256 == winner_sha
    assert _leftovers(store) == []
