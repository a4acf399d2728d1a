#!/usr/bin/env bash
# `make run`: the whole system on one machine, in the foreground. Ctrl-C stops every process.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
VAR="${PREFCONTENT_VAR_DIR:-var}"
mkdir -p "$VAR"

$PY manage.py migrate --noinput
$PY manage.py seed_demo --json > "$VAR/demo.json"
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "Stopping..."
  kill "${pids[@]}" "$builder" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# The dev base model is built once (a few minutes on a CPU) while everything else starts;
# generation and training wait for it. Its log: $VAR/build_dev_model.log.
$PY manage.py build_dev_model --if-missing > "$VAR/build_dev_model.log" 2>&1 &
builder=$!

$PY manage.py runserver "0.0.0.0:$PORT" --noreload & pids+=($!)
$PY -m celery -A prefcontent worker -Q default,generate -c 2 -n "local-default@%h" --loglevel INFO & pids+=($!)
$PY -m celery -A prefcontent worker -Q gpu -c 1 -n "local-gpu@%h" --loglevel INFO & pids+=($!)
$PY -m celery -A prefcontent beat -S django_celery_beat.schedulers:DatabaseScheduler --loglevel INFO \
  --pidfile= & pids+=($!)

$PY - "$PORT" "$VAR" <<'PYEOF'
import json, sys
port, var = sys.argv[1], sys.argv[2]
demo = json.load(open(f"{var}/demo.json"))
print(f"""
PrefContent is up on http://127.0.0.1:{port}
  Dashboard : http://127.0.0.1:{port}/dashboard/   (user {demo['username']!r}, password {demo['password']!r})
  API docs  : http://127.0.0.1:{port}/api/docs/
  Health    : http://127.0.0.1:{port}/healthz
  API key   : {demo['api_key']}   (brand {demo['brand_id']}; shown once, re-run seed_demo for a new one)
  Dev model : building in the background if missing ({var}/build_dev_model.log)
  Try       : curl -H 'X-API-Key: {demo['api_key']}' http://127.0.0.1:{port}/api/v1/brands/
Press Ctrl-C to stop everything.
""", flush=True)
PYEOF
wait -n "${pids[@]}"
