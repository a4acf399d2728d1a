"""The supervisor's restart rule: back-off doubles to 30 s, resets after a stable minute; one-shots run once."""
from __future__ import annotations

import sys

import pytest

from scripts.supervise import MAX_DELAY_S, Supervised


class FakeProc:
    def __init__(self, code):
        self.code, self.pid = code, 1

    def poll(self):
        return self.code


@pytest.fixture
def started(monkeypatch):
    starts = []

    def start(self):
        starts.append(self.name)
        self.proc, self.started_at, self.due_at = FakeProc(None), self.clock, None

    monkeypatch.setattr(Supervised, "start", start)
    return starts


def crash(process: Supervised, at: float, code: int = 1) -> None:
    process.proc = FakeProc(code)
    process.poll(at)


def test_a_crashing_process_is_restarted_with_a_doubling_back_off(started):
    worker = Supervised(name="worker", argv=["x"])
    worker.clock = 0.0
    delays = []
    now = 0.0
    for _ in range(8):
        crash(worker, now)
        delays.append(worker.due_at - now)
        worker.clock = now = worker.due_at
        worker.poll(now)  # due: started again
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30] and MAX_DELAY_S == 30
    assert started == ["worker"] * 8 and worker.restarts == 8


def test_the_back_off_starts_over_after_a_stable_minute(started):
    worker = Supervised(name="worker", argv=["x"])
    worker.clock = 0.0
    for uptime, expected_delay in ((0.5, 1), (0.5, 2), (0.5, 4), (61, 1)):
        crash(worker, worker.clock + uptime)
        assert worker.due_at - (worker.clock + uptime) == expected_delay
        worker.clock = worker.due_at
        worker.poll(worker.clock)


def test_a_one_shot_job_runs_once(started):
    job = Supervised(name="job", argv=["x"], restart=False)
    job.clock = 0.0
    crash(job, 5.0, code=0)
    job.poll(100.0)
    assert job.done and job.due_at is None and started == []


def test_it_really_restarts_a_process(tmp_path):
    marker = tmp_path / "runs"
    script = f"import pathlib; p = pathlib.Path({str(marker)!r}); p.write_text(p.read_text() + 'x' if p.exists() else 'x')"
    process = Supervised(name="once", argv=[sys.executable, "-c", script])
    process.start()
    process.proc.wait(30)
    process.poll(process.started_at + 1)
    process.poll(process.due_at)
    process.proc.wait(30)
    assert marker.read_text() == "xx"
