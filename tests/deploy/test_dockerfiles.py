"""deploy/Dockerfile*: the images install what requirements.txt pins and run the entrypoint's roles."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def requirement_pin(name: str) -> str:
    (line,) = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.startswith(f"{name}==")]
    return line


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_images_build_from_python_311_slim_with_the_pinned_requirements(name):
    steps = instructions(DEPLOY / name)
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(args for kw, args in steps if kw == "RUN")
    assert "pip install -r requirements.txt" in runs
    # torch is installed first, at exactly the pinned version, so requirements.txt keeps that build.
    assert runs.index(requirement_pin("torch")) < runs.index("pip install -r requirements.txt")
    for kw, args in steps:
        if kw == "COPY":
            source = args.split()[-2]
            assert source == "." or (ROOT / source).exists(), args
    (entrypoint,) = [json_args for kw, json_args in steps if kw == "ENTRYPOINT"]
    assert entrypoint == '["tini", "--", "/app/deploy/entrypoint.sh"]'
    assert os.access(DEPLOY / "entrypoint.sh", os.X_OK)
    assert ("USER", "app") in steps
    # The build context is the repository: keep the virtualenv, var/ and .git out of it.
    ignored = (DEPLOY / f"{name}.dockerignore").read_text().split()
    assert {".venv", "var", ".git"} <= set(ignored)


def test_the_cpu_image_takes_the_cpu_torch_build_and_the_gpu_image_the_cuda_one():
    cpu_runs = " ".join(a for kw, a in instructions(DEPLOY / "Dockerfile") if kw == "RUN")
    gpu_runs = " ".join(a for kw, a in instructions(DEPLOY / "Dockerfile.gpu") if kw == "RUN")
    assert "--index-url https://download.pytorch.org/whl/cpu" in cpu_runs
    assert "whl/cpu" not in gpu_runs and "torch.version.cuda" in gpu_runs
