#!/usr/bin/env bash
# LoRA DPO on a GPU: this trainer vs TRL's DPOTrainer, random ~0.5B Qwen2 in bf16 (no download).
# Prints tokens/s, model FLOP utilisation and peak memory of both. Bounded to 8 minutes.
# On a CPU-only machine: bench/gpu_dpo.sh --tiny
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if [ "${1:-}" != "--tiny" ] && command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
fi
exec timeout 470 "$PY" bench/gpu_dpo.py "$@"
