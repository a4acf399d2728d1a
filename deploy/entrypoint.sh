#!/bin/sh
# One image, several roles: `entrypoint.sh <role> [extra args]` (tini runs this as PID 1's child).
#   web       gunicorn on :8000 (PORT); gthread workers (WEB_THREADS threads each) by default
#   worker    celery worker on $CELERY_QUEUES with $CELERY_CONCURRENCY processes (or threads, with
#             CELERY_POOL=threads: a generate worker's one engine batches its threads' jobs); serves
#             its metrics on :$METRICS_EXPORTER_PORT when that is set
#   beat      the one periodic-task scheduler (django-celery-beat's database scheduler)
#   migrate   apply database migrations, then exit
#   flower    Flower on :5555 (FLOWER_PORT), against the same broker
#   <other>   run that command as is (e.g. `python manage.py createsuperuser`)
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

# prometheus_client's multiprocess files belong to one container's lifetime: start empty.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  # Empty it but keep the folder: it may be a mounted volume.
  find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
fi

case "$role" in
  web)
    exec gunicorn --config deploy/gunicorn.conf.py prefcontent.wsgi:application "$@"
    ;;
  worker)
    CELERY_QUEUES="${CELERY_QUEUES:-default}"
    # Generate and GPU workers load the base model from a node-local copy (deploy/cache_base_model.py).
    if [ -n "${BASE_MODEL_CACHE_DIR:-}" ] && [ -n "${PREFCONTENT_BASE_MODEL:-}" ]; then
      PREFCONTENT_BASE_MODEL="$(python "$(dirname "$0")/cache_base_model.py" "$PREFCONTENT_BASE_MODEL" "$BASE_MODEL_CACHE_DIR")"
      export PREFCONTENT_BASE_MODEL
    fi
    if [ -n "${METRICS_EXPORTER_PORT:-}" ]; then
      python -m prefcontent.core.metrics_exporter --port "$METRICS_EXPORTER_PORT" &
    fi
    # exec: celery receives SIGTERM itself and does a warm shutdown (finishes running tasks).
    exec celery -A prefcontent worker \
      --queues "$CELERY_QUEUES" \
      --pool "${CELERY_POOL:-prefork}" \
      --concurrency "${CELERY_CONCURRENCY:-2}" \
      --hostname "${CELERY_QUEUES%%,*}@%h" \
      --task-events \
      "$@"
    ;;
  beat)
    exec celery -A prefcontent beat \
      --scheduler django_celery_beat.schedulers:DatabaseScheduler --pidfile= "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  flower)
    exec celery -A prefcontent flower --port="${FLOWER_PORT:-5555}" "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
