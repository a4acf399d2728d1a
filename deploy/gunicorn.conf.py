"""gunicorn settings for the web role (deploy/entrypoint.sh web); every knob from the environment."""
import os

from prometheus_client import multiprocess

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Threads: a synchronous generate call waits on its job (up to GENERATE_SYNC_TIMEOUT_S) holding a thread,
# not a whole process, and the hot pool (assign, events) serves many short requests per process.
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
# Recycle workers now and then so a slow leak cannot grow forever; jitter avoids all at once.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# The heartbeat file on tmpfs: a container's overlay filesystem can stall the workers' heartbeats.
worker_tmp_dir = "/dev/shm"
# TLS ends at the ingress / reverse proxy, which sets X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
# Application logs are JSON (settings.LOGGING); request counts and latency are Prometheus metrics.
accesslog = None


def child_exit(server, worker):
    """Forget a dead worker's live gauges (prometheus_client multiprocess mode); counters stay summed."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
