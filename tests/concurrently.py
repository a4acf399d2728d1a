"""Run one call per argument in threads released together, as concurrent clients would."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from django.db import connection


def run_together(call: Callable, args: Sequence) -> list:
    """call(arg) for each arg, all started at one barrier; the results in order. Each thread closes its
    own database connection; an exception in any thread fails the caller's test (AssertionError)."""
    barrier, results, errors = threading.Barrier(len(args)), [None] * len(args), []

    def client(i, arg):
        try:
            barrier.wait()
            results[i] = call(arg)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i, a)) for i, a in enumerate(args)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results
