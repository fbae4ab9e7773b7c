#!/usr/bin/env bash
# Trains (or resumes) the small DF-GAN shipped in src/wordsight/assets/dfgan_synthetic/.
# Resumable: run it again to continue from the latest checkpoint under runs/shipped-dfgan/.
# Then export: .venv/bin/python scripts/export_shipped_dfgan.py
set -euo pipefail
cd "$(dirname "$0")/.."
RESUME=()
if compgen -G "runs/shipped-dfgan/*/checkpoint-*" > /dev/null; then RESUME=(--resume latest); fi
.venv/bin/wordsight train dfgan --config dfgan_synthetic --data synthetic --out runs/shipped-dfgan \
  --desc shipped "${RESUME[@]}" --minutes "${MINUTES:-60}" data.num_scenes=3000 "$@"
