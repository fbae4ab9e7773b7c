#!/usr/bin/env bash
# Seed 000's Table II on the synthetic text-guided gaze: G1D1, G1D2, G2D1, G2D2 and the no-text control,
# each trained STEPS steps (default 800, the shipped model's budget) with the shipped config
# (text_salgan_synthetic: small architecture, width 0.5, 400 training scenes x 4 categories), then scored
# on 100 test scenes x 4 categories next to the centre bias and the mean fixation map. One CPU thread,
# about 15 minutes per variant. Resumable: run it again after an interruption and it continues.
#   scripts/ablate_text_salgan.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
STEPS=${1:-800}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
$PY -m wordsight.cli.main ablate text-salgan --steps "$STEPS" --scenes 400 --test-scenes 100 \
  --out "${OUT:-runs/ablate-text-salgan-$STEPS}" --text-cache runs/text-cache
