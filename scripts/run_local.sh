#!/usr/bin/env bash
# `make run`: the whole system on one machine, in the foreground, kept up by scripts/supervise.py
# (a process that dies is restarted after a short back-off). Ctrl-C stops every process.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"  # HOST=0.0.0.0 serves other machines too (the demo password is well known)
VAR="${PREFCONTENT_VAR_DIR:-var}"
mkdir -p "$VAR"

$PY manage.py migrate --noinput
# The demo API key is kept across restarts while it works (var/demo.json holds it).
$PY manage.py seed_demo --json --keep-key "$VAR/demo.json" > "$VAR/demo.json.new"
mv "$VAR/demo.json.new" "$VAR/demo.json"

$PY - "$PY" "$HOST" "$PORT" "$VAR" > "$VAR/stack.json" <<'PYEOF'
import json, sys
py, host, port, var = sys.argv[1:]
demo = json.load(open(f"{var}/demo.json"))
celery = [py, "-m", "celery", "-A", "prefcontent"]
processes = [
    # The dev base model is built once (a few minutes on a CPU) while everything else starts;
    # generation and training wait for it. Its log: var/build_dev_model.log.
    {"name": "base-model", "restart": False,
     "argv": ["bash", "-c", f"exec {py} manage.py build_dev_model --if-missing > {var}/build_dev_model.log 2>&1"]},
    {"name": "web", "argv": [py, "manage.py", "runserver", f"{host}:{port}", "--noreload"]},
    {"name": "worker-default", "argv": [*celery, "worker", "-Q", "default,generate", "-c", "2",
                                        "-n", "local-default@%h", "--loglevel", "INFO"]},
    {"name": "worker-gpu", "argv": [*celery, "worker", "-Q", "gpu", "-c", "1", "-n", "local-gpu@%h",
                                    "--loglevel", "INFO"]},
    {"name": "scheduler", "argv": [*celery, "beat", "-S", "django_celery_beat.schedulers:DatabaseScheduler",
                                   "--loglevel", "INFO", "--pidfile="]},
]
banner = f"""
PrefContent is up on http://{host}:{port}
  Dashboard : http://127.0.0.1:{port}/dashboard/   (user {demo['username']!r}, password {demo['password']!r})
  API docs  : http://127.0.0.1:{port}/api/docs/
  Health    : http://127.0.0.1:{port}/healthz
  API key   : {demo['api_key']}   (brand {demo['brand_id']}; kept across restarts; also in {var}/demo.json)
  Dev model : building in the background if missing ({var}/build_dev_model.log)
  Try       : curl -H 'X-API-Key: {demo['api_key']}' http://127.0.0.1:{port}/api/v1/brands/
A process that dies is restarted (lines starting [supervise]). Press Ctrl-C to stop everything.
"""
print(json.dumps({"processes": processes, "banner": banner}))
PYEOF

exec $PY scripts/supervise.py --spec "$VAR/stack.json"
