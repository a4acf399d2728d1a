"""What state the base model is in: a small record that the preparation writes and the status page reads.

The preparation (`manage.py build_dev_model`, `manage.py install_base_model`) runs in its own
process, often in the background of `make run`; the web tier learns how it went from one JSON file
per model directory under `BASE_MODEL_STATUS_DIR` (default `var/base_model_status/`), written
atomically. States:
`preparing` (with progress in `detail`), `ready`, `failed` (with the reason), and `missing` when
nothing has prepared the configured model yet. One file per model path, so building the dev model
says nothing about SmolLM2's state; a `preparing` record whose process is gone reads as `failed`, so the page
never says "preparing" forever after a crash.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from prefcontent.core.knobs import base_model_path

PREPARING, READY, FAILED, MISSING = "preparing", "ready", "failed", "missing"
STATES = (PREPARING, READY, FAILED, MISSING)


@dataclass(frozen=True)
class BaseModelStatus:
    state: str  # one of STATES
    name: str  # the model's name, for people (e.g. "SmolLM2-135M-Instruct")
    detail: str  # progress while preparing, the reason when failed, what to run when missing
    updated_at: str | None  # ISO time of the record, None when derived from the directory

    def to_dict(self) -> dict:
        return asdict(self)


def status_file(path: str | Path) -> Path:
    """Where the record about the model directory `path` lives."""
    root = Path(settings.BASE_MODEL_STATUS_DIR)
    key = hashlib.sha256(str(Path(path).absolute()).encode()).hexdigest()[:16]
    return root / f"{key}.json"


def model_name(path: str | Path) -> str:
    """A model directory's name for people: its `name` in base_model.json (a converted model) if any, else the directory's name."""
    path = Path(path)
    try:
        return str(json.loads((path / "base_model.json").read_text(encoding="utf-8"))["name"])
    except (OSError, ValueError, KeyError, TypeError):
        return path.name if path.name != "content" else path.parent.name


def base_model_status_write(*, state: str, detail: str = "", path: str | Path | None = None,
                            name: str | None = None) -> None:
    """Record the state of the model at `path` (default: the configured base model), atomically."""
    assert state in STATES, state
    path = str(Path(path if path is not None else base_model_path()).absolute())
    record = {"state": state, "name": name or model_name(path), "detail": detail, "path": path,
              "updated_at": timezone.now().isoformat(), "pid": os.getpid(), "host": socket.gethostname()}
    target = status_file(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".base_model_status.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(record, f)
    os.replace(tmp, target)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _looks_complete(path: Path) -> bool:
    return (path / "config.json").is_file()


def base_model_status() -> BaseModelStatus:
    """The configured base model's state, from the record when it is about this model, else from its directory."""
    path = Path(base_model_path()).absolute()
    try:
        record = json.loads(status_file(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if isinstance(record, dict) and record.get("path") == str(path) and record.get("state") in STATES:
        state, detail = record["state"], str(record.get("detail", ""))
        if (state == PREPARING and record.get("host") == socket.gethostname()
                and isinstance(record.get("pid"), int) and not _process_alive(record["pid"])):
            state, detail = FAILED, (f"the preparation stopped without finishing (process {record['pid']} is gone; "
                                     f"last: {detail}); start it again")
        return BaseModelStatus(state=state, name=str(record.get("name") or model_name(path)), detail=detail,
                               updated_at=record.get("updated_at"))
    if _looks_complete(path):
        return BaseModelStatus(state=READY, name=model_name(path), detail="", updated_at=None)
    return BaseModelStatus(state=MISSING, name=model_name(path), updated_at=None,
                           detail="not prepared yet: `make run` prepares it, or `manage.py install_base_model smollm2` "
                                  "/ `manage.py build_dev_model`")


@dataclass(frozen=True)
class BaseIdentity:
    """Which base model exactly: adapters record it and are served and promoted only on the same one."""

    name: str  # for people
    sha256: str  # checksum of the model directory (models_store.dir_checksum)

    def short(self) -> str:
        return f"{self.name} (sha256 {self.sha256[:12]})"


def _signature(path: Path) -> str:
    """Cheap fingerprint of a directory's files (names, sizes, modification times), to reuse a checksum."""
    rows = sorted((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in path.rglob("*") if p.is_file())
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def base_model_identity(path: str | Path | None = None, *, compute: bool = True) -> BaseIdentity | None:
    """The identity of the model directory `path` (default: the configured base); None when it is not there.

    A directory the models store published carries its checksum in the manifest beside it. Any other
    is hashed once and the checksum kept beside the status record while its files stay the same;
    `compute=False` (the web tier) answers None rather than hash gigabytes inside a request.
    """
    path = Path(path if path is not None else base_model_path()).absolute()
    if not (path / "config.json").is_file():
        return None
    name = model_name(path)
    manifest = path.parent / "manifest.json"
    if path.name == "content" and manifest.is_file():
        try:
            return BaseIdentity(name=name, sha256=str(json.loads(manifest.read_text(encoding="utf-8"))["sha256"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    cache = status_file(path).with_suffix(".identity.json")
    signature = _signature(path)
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("signature") == signature:
            return BaseIdentity(name=name, sha256=str(cached["sha256"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    if not compute:
        return None
    from models_store import dir_checksum

    identity = BaseIdentity(name=name, sha256=dir_checksum(path))
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".identity.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"path": str(path), "signature": signature, "sha256": identity.sha256}, f)
    os.replace(tmp, cache)
    return identity
