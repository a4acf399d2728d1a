"""Open-loop paced HTTP load for the benchmarks: each request has a scheduled send time.

Latency is measured from that scheduled time, so a stalled server is not hidden by a stalled
client (no coordinated omission). Runs inside a load process (see ingest.run_load_process).
"""
from __future__ import annotations

import http.client
import threading
import time
from collections import defaultdict

CLIENTS = 16


def paced(port: int, key: str, requests: list[tuple[float, str, str, bytes | None]], out) -> None:
    """requests: (offset s, kind, path, body or None for GET), sent at start + offset by keep-alive clients.

    Puts ({kind: [latency ms]}, errors) on `out`; an error is any non-200 answer or a broken connection.
    """
    lock, cursor = threading.Lock(), [0]
    latencies: dict[str, list[float]] = defaultdict(list)
    errors = [0]
    start = time.perf_counter() + 0.3

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = cursor[0]
                cursor[0] += 1
            if i >= len(requests):
                return
            offset, kind, path, body = requests[i]
            due = start + offset
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            headers = {"X-API-Key": key}
            if body is not None:
                headers["Content-Type"] = "application/json"
            try:
                conn.request("POST" if body is not None else "GET", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            with lock:
                latencies[kind].append((time.perf_counter() - due) * 1000)
                errors[0] += not ok

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    out.put((dict(latencies), errors[0]))
