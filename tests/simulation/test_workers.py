"""The simulation's own workers: laid out as deployed (a threaded generate worker apart), started and stopped."""
from __future__ import annotations

import os
import time

import pytest

from simulation.workers import GENERATE_THREADS, WorkerProcess, worker_commands
from tests.worker import CeleryWorker


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_generation_has_its_own_threaded_worker_and_every_queue_is_served():
    default, generate = worker_commands("sim")
    assert _option(default, "-Q") == "default,gpu" and _option(default, "-c") == "1"
    assert _option(default, "--pool") in (None, "prefork")  # training and the gate: one process at a time
    assert _option(generate, "-Q") == "generate" and _option(generate, "--pool") == "threads"
    assert _option(generate, "-c") == str(GENERATE_THREADS) and GENERATE_THREADS > 1
    assert _option(default, "-n") != _option(generate, "-n")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_both_workers_start_and_stop_with_the_simulation(tmp_path):
    log = tmp_path / "simulate-worker.log"
    with WorkerProcess(log, env=CeleryWorker().env()) as workers:
        assert len(workers.procs) == 2
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and log.read_text().count(" ready.") < 2:
            assert all(p.poll() is None for p in workers.procs), log.read_text()
            time.sleep(0.5)
        text = log.read_text()
        assert f"simulate-{os.getpid()}-default@" in text and f"simulate-{os.getpid()}-generate@" in text
        assert text.count(" ready.") == 2, text
    assert all(p.poll() is not None for p in workers.procs)
