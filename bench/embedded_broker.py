"""The embedded broker candidates under a producer and a consumer racing: throughput, errors, losses.

    python bench/embedded_broker.py [--messages 3000]

Each candidate (kombu's filesystem transport, the project's atomic one, and kombu's SQLAlchemy
transport on a SQLite file when sqlalchemy is installed) gets a fresh folder; one process produces
`--messages` messages while a second drains the queue. A read that raises (kombu's filesystem
transport reading a file whose writer has not written yet: JSONDecodeError) is counted as an error;
messages neither consumed nor left in the queue are lost. Prints `name=value` lines per candidate.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUEUE = "bench"


def _options(kind: str, root: Path) -> dict:
    if kind == "sqlalchemy":
        return {"url": f"sqla+sqlite:///{root / 'broker.sqlite3'}", "transport_options": {}}
    folder = {"data_folder_in": str(root / "in"), "data_folder_out": str(root / "in"),
              "processed_folder": str(root / "processed"), "store_processed": False,
              "control_folder": str(root / "control")}
    for sub in ("in", "processed"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    transport = "prefcontent.core.broker:Transport" if kind == "atomic" else "filesystem"
    return {"url": "filesystem://", "transport": transport, "transport_options": folder}


def _connection(kind: str, root: Path):
    from kombu import Connection

    opts = _options(kind, root)
    return Connection(opts["url"], transport=opts.get("transport"), transport_options=opts["transport_options"])


def _consume(kind: str, root: str, expected: int, result) -> None:
    got = errors = 0
    with _connection(kind, Path(root)) as conn:
        queue = conn.SimpleQueue(QUEUE)
        idle_since = time.monotonic()
        while got + errors < expected and time.monotonic() - idle_since < 10:
            try:
                message = queue.get(timeout=0.5)
            except queue.Empty:
                continue
            except Exception:  # noqa: BLE001 - what a crash-prone transport raises is what we count
                errors += 1
                idle_since = time.monotonic()
                continue
            message.ack()
            got += 1
            idle_since = time.monotonic()
        left = queue.qsize()
        queue.close()
    result.put((got, errors, left, time.monotonic()))


def run(kind: str, messages: int) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix=f"broker-{kind}-"))
    result: mp.Queue = mp.Queue()
    consumer = mp.Process(target=_consume, args=(kind, str(root), messages, result))
    consumer.start()
    time.sleep(1.0)  # the consumer is polling before the first message is sent
    start = time.monotonic()
    with _connection(kind, root) as conn:
        queue = conn.SimpleQueue(QUEUE)
        for i in range(messages):
            queue.put({"i": i, "body": "x" * 200})
        produced_s = time.monotonic() - start
        queue.close()
    got, errors, left, finished = result.get(timeout=600)
    consumer.join(30)
    return {"produce_per_s": messages / produced_s, "consume_per_s": got / max(finished - start, 1e-9),
            "errors": errors, "lost": messages - got - left, "left": left}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    kinds = ["filesystem", "atomic"]
    try:
        import sqlalchemy  # noqa: F401
        kinds.append("sqlalchemy")
    except ImportError:
        print("sqlalchemy not installed: the SQLAlchemy candidate is skipped")
    figures = {kind: run(kind, args.messages) for kind in kinds}
    for kind, values in figures.items():
        for name, value in values.items():
            print(f"broker_{kind}_{name}={value:.1f}" if isinstance(value, float) else f"broker_{kind}_{name}={value}")
    base = figures["filesystem"]["consume_per_s"]
    for kind in kinds[1:]:
        print(f"broker_{kind}_vs_filesystem={figures[kind]['consume_per_s'] / base:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
