#!/usr/bin/env bash
# `make run`: the whole system on one machine, in the foreground. Ctrl-C stops every process.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"

$PY manage.py migrate --noinput
$PY manage.py seed_demo --json > var/demo.json
if $PY manage.py help build_dev_model >/dev/null 2>&1; then
  $PY manage.py build_dev_model --if-missing
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "Stopping..."
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

$PY manage.py runserver "0.0.0.0:$PORT" --noreload & pids+=($!)
$PY -m celery -A workers.celery worker -Q default,generate -c 2 -n "local-default@%h" --loglevel INFO & pids+=($!)
$PY -m celery -A workers.celery worker -Q gpu -c 1 -n "local-gpu@%h" --loglevel INFO & pids+=($!)
$PY -m celery -A workers.celery beat -S django_celery_beat.schedulers:DatabaseScheduler --loglevel INFO \
  --pidfile= & pids+=($!)

$PY - "$PORT" <<'PYEOF'
import json, sys
demo = json.load(open("var/demo.json"))
port = sys.argv[1]
print(f"""
PrefContent is up on http://127.0.0.1:{port}
  Dashboard : http://127.0.0.1:{port}/dashboard/   (user {demo['username']!r}, password {demo['password']!r})
  API docs  : http://127.0.0.1:{port}/api/docs/
  Health    : http://127.0.0.1:{port}/healthz
  API key   : {demo['api_key']}   (brand {demo['brand_id']}; shown once, re-run seed_demo for a new one)
  Try       : curl -H 'X-API-Key: {demo['api_key']}' http://127.0.0.1:{port}/api/v1/brands/
Press Ctrl-C to stop everything.
""", flush=True)
PYEOF
wait -n "${pids[@]}"
