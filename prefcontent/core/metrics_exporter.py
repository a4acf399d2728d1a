"""Serve the metrics that Celery worker processes wrote to PROMETHEUS_MULTIPROC_DIR.

Runs beside a worker (a sidecar container sharing that folder, or a second process in the
same container): `python -m prefcontent.core.metrics_exporter --port 9808`. It imports no
Django and touches neither the database nor the broker: queue lengths and training runs are
served once, by the web process's /metrics.
"""
from __future__ import annotations

import argparse
import os
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.multiprocess import MultiProcessCollector


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        """Scrapes every 15 s would flood the logs."""


def exporter_app(path: str):
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return make_wsgi_app(registry)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("METRICS_EXPORTER_PORT", "9808")))
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--dir", default=os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""))
    args = parser.parse_args(argv)
    if not args.dir or not os.path.isdir(args.dir):
        parser.error("PROMETHEUS_MULTIPROC_DIR (or --dir) must name an existing folder")
    with make_server(args.bind, args.port, exporter_app(args.dir), handler_class=_QuietHandler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
