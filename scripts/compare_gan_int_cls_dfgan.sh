#!/usr/bin/env bash
# GAN-INT-CLS and DF-GAN side by side on the synthetic world with the same time budget, one core each
# (docs/gan-int-cls.md, "Same budget as DF-GAN"). Then the style encoder on the GAN-INT-CLS generator.
#   MINUTES=30 OUT=runs/compare scripts/compare_gan_int_cls_dfgan.sh
set -euo pipefail
MINUTES=${MINUTES:-30}
STYLE_STEPS=${STYLE_STEPS:-1500}
OUT=${OUT:-runs/compare}
W=${WORDSIGHT:-.venv/bin/wordsight}
export OMP_NUM_THREADS=1
$W train gan-int-cls --out "$OUT" --minutes "$MINUTES" progress=false &
$W train dfgan --out "$OUT" --minutes "$MINUTES" progress=false &
wait
GEN=$(ls -d "$OUT"/*-gan-int-cls-synthetic | tail -1)/pipeline
OMP_NUM_THREADS=2 $W train gan-int-cls-style --out "$OUT" model.generator="$GEN" steps="$STYLE_STEPS" progress=false
