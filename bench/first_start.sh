#!/usr/bin/env bash
# The first start of `make run` on a fresh clone, as a new user sees it: seconds to the banner and to
# the base model being ready (GET /api/v1/status), printed as name=value lines with the load average.
#   bash bench/first_start.sh CLONE_DIR [smollm2|dev]
# CLONE_DIR: a fresh `git clone` with a working .venv (a symlink to an installed one is fine); its var/
# is removed first. Runs scripts/run_local.sh as `make run` does (without the pip step), then stops it.
set -euo pipefail
clone="$1"; base="${2:-smollm2}"
cd "$clone"
rm -rf var
export PORT="${PORT:-8799}" HF_HUB_OFFLINE=1 BASE_MODEL="$base"
t0=$(date +%s)
echo "load_avg_start=$(cut -d' ' -f1 /proc/loadavg)"
bash scripts/run_local.sh > first_start.log 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
until grep -q "PrefContent is up" first_start.log 2>/dev/null; do sleep 1; done
echo "first_start_banner_s=$(( $(date +%s) - t0 ))"
until curl -s "http://127.0.0.1:$PORT/api/v1/status" | grep -Eq '"state":"(ready|failed)"'; do sleep 5; done
echo "first_start_base_${base}_s=$(( $(date +%s) - t0 ))"
echo "base_model_state=$(curl -s "http://127.0.0.1:$PORT/api/v1/status" | grep -Eo '"state":"[a-z]+"')"
echo "load_avg_end=$(cut -d' ' -f1 /proc/loadavg)"
