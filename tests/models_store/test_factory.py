from pathlib import Path

import pytest

from models_store import LocalStore, StoreError, get_store


def test_file_url_gives_a_local_store(tmp_path: Path) -> None:
    store = get_store(f"file://{tmp_path}/my%20store")
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path / "my store"


def test_localhost_file_url_and_plain_path(tmp_path: Path) -> None:
    assert get_store(f"file://localhost{tmp_path}").root == tmp_path  # type: ignore[attr-defined]
    assert get_store(tmp_path / "s").root == tmp_path / "s"  # type: ignore[attr-defined]
    assert get_store(str(tmp_path)).root == tmp_path  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "location", ["", "s3://bucket/prefix", "file://otherhost/abs", "file:relative/path", "http://x/y"]
)
def test_unusable_locations_are_refused(location: str) -> None:
    with pytest.raises(StoreError):
        get_store(location)


def test_building_a_store_creates_nothing(tmp_path: Path) -> None:
    store = get_store(tmp_path / "lazy")
    assert store.list() == []
    assert not (tmp_path / "lazy").exists()
