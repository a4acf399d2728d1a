"""The simulation's Celery workers, laid out as deployed, unless workers are already running.

Two processes: one prefork worker for the default and gpu queues (decisions, pairs, training, the
gate), and one generate worker whose task threads feed its one engine, so a round's jobs decode in
shared batches (docs/operations.md, "Generate workers"). One prefork process on every queue ran
the jobs one at a time, and the engine never saw more than one job's rows.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
GENERATE_THREADS = 8  # jobs one engine takes at once (as scripts/run_local.sh)


def worker_commands(name: str) -> list[list[str]]:
    """The argv of each worker process (`name` keeps them apart from other workers on the broker)."""
    celery = [sys.executable, "-m", "celery", "-A", "prefcontent", "worker", "--loglevel", "INFO"]
    return [
        [*celery, "-Q", "default,gpu", "-c", "1", "-n", f"{name}-default@%h"],
        [*celery, "-Q", "generate", "--pool", "threads", "-c", str(GENERATE_THREADS), "-n", f"{name}-generate@%h"],
    ]


class WorkerProcess:
    def __init__(self, log_path: Path, env: dict | None = None):
        self.log_path = log_path
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "a")  # noqa: SIM115 - closed in __exit__
        for argv in worker_commands(f"simulate-{os.getpid()}"):
            self.procs.append(subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=self._log,
                                               stderr=subprocess.STDOUT, start_new_session=True))
        time.sleep(2)
        if any(proc.poll() is not None for proc in self.procs):
            self.__exit__()
            raise RuntimeError(f"a simulation worker exited at start; see {self.log_path}")
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._log.close()
