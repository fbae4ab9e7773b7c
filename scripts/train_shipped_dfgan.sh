#!/usr/bin/env bash
# Trains (or resumes) the MiniLM-conditioned DF-GAN that was shipped until 2026-12-02 (docs/dfgan.md, "The previous
# shipped model"); the model shipped now comes from scripts/train_dfgan_damsm_warmup.sh.
# Resumable: run it again to continue from the latest checkpoint under runs/shipped-dfgan/.
# Then export: .venv/bin/python scripts/export_shipped_dfgan.py
# History of runs/shipped-dfgan/00000-shipped (docs/dfgan.md, "The shipped model"): steps 0-4123 without
# hard negatives, 4123-4648 with data.hard_negatives=true, from 4648 on with shape-only hard negatives.
set -euo pipefail
cd "$(dirname "$0")/.."
RESUME=()
if compgen -G "runs/shipped-dfgan/*/checkpoint-*" > /dev/null; then RESUME=(--resume latest); fi
.venv/bin/wordsight train dfgan --config dfgan_synthetic --data synthetic --out runs/shipped-dfgan \
  --desc shipped "${RESUME[@]}" --minutes "${MINUTES:-60}" data.synthetic.num_scenes=3000 \
  'data.hard_negatives=[shape]' "$@"
