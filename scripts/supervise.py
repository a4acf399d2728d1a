"""`make run`'s process supervisor (standard library only): start the local stack, keep it up.

Each long-lived process (web, workers, scheduler) is restarted when it dies, after a short back-off
that doubles up to 30 s and resets once the process has stayed up a minute, so one crashed worker
never takes the web server down with it. One-shot jobs (the base model preparation) run once; a
failed one is reported, not restarted in a loop. Ctrl-C or SIGTERM stops everything.

    python scripts/supervise.py --spec STACK.json

STACK.json: {"processes": [{"name": ..., "argv": [...], "restart": true}], "banner": "text printed once
every process has started"}. Restarts are logged as one line each on stderr:
`[supervise] <name> exited with <code> after <s> s; restart <n> in <delay> s`.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
STABLE_AFTER_S = 60.0  # a process up this long starts its back-off from the beginning again


def log(message: str) -> None:
    print(f"[supervise] {message}", file=sys.stderr, flush=True)


@dataclass
class Supervised:
    name: str
    argv: list[str]
    restart: bool = True
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay_s: float = FIRST_DELAY_S
    due_at: float | None = None  # when a dead process is started again
    done: bool = False
    env: dict = field(default_factory=dict)

    def start(self) -> None:
        # Its own process group, so stopping it stops its children too (Celery's pool processes).
        self.proc = subprocess.Popen(self.argv, start_new_session=True, env={**os.environ, **self.env})
        self.started_at = time.monotonic()
        self.due_at = None
        log(f"{self.name} started (pid {self.proc.pid})")

    def poll(self, now: float) -> None:
        if self.done:
            return
        if self.proc is not None and (code := self.proc.poll()) is not None:
            uptime = now - self.started_at
            self.proc = None
            if not self.restart:
                self.done = True
                log(f"{self.name} finished with {code} after {uptime:.1f} s")
                return
            if uptime >= STABLE_AFTER_S:
                self.delay_s = FIRST_DELAY_S
            self.restarts += 1
            self.due_at = now + self.delay_s
            log(f"{self.name} exited with {code} after {uptime:.1f} s; restart {self.restarts} in {self.delay_s:g} s")
            self.delay_s = min(self.delay_s * 2, MAX_DELAY_S)
        elif self.proc is None and self.due_at is not None and now >= self.due_at:
            self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def run(processes: list[Supervised], banner: str = "") -> int:
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    for process in processes:
        process.start()
    if banner:
        time.sleep(2)  # the first log lines of every process come before the banner, not after it
        print(banner, flush=True)
    while not stopping:
        now = time.monotonic()
        for process in processes:
            process.poll(now)
        time.sleep(0.2)
    log("stopping...")
    for process in processes:
        process.stop()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(p.proc is not None and p.proc.poll() is None for p in processes):
        time.sleep(0.2)
    for process in processes:
        process.kill()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="JSON file naming the processes")
    args = parser.parse_args()
    with open(args.spec) as fh:
        spec = json.load(fh)
    processes = [Supervised(name=p["name"], argv=p["argv"], restart=p.get("restart", True), env=p.get("env", {}))
                 for p in spec["processes"]]
    return run(processes, spec.get("banner", ""))


if __name__ == "__main__":
    raise SystemExit(main())
