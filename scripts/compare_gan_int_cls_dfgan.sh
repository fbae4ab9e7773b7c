#!/usr/bin/env bash
# GAN-INT-CLS and DF-GAN side by side on the synthetic world with the same time budget, one core each
# (docs/gan-int-cls.md, "Same budget as DF-GAN"). Then the style encoder on the GAN-INT-CLS generator.
#   MINUTES=30 OUT=runs/compare scripts/compare_gan_int_cls_dfgan.sh
set -euo pipefail
MINUTES=${MINUTES:-30}
STYLE_STEPS=${STYLE_STEPS:-1500}
OUT=${OUT:-runs/compare}
W=${WORDSIGHT:-.venv/bin/wordsight}
EVALS=${EVALS:-6}
export OMP_NUM_THREADS=1
# In-loop oracle evaluation EVALS times (training time only, evaluation time not counted) and at the end:
# <run>/metric-oracle.jsonl and its plot are the oracle curve of docs/gan-int-cls.md.
EVAL=(eval_every_minutes="$(python3 -c "print($MINUTES / $EVALS)")" "metrics=[oracle,oracle_fid]" eval_captions=128 "eval_splits=[test,heldout]")
$W train gan-int-cls --out "$OUT" --minutes "$MINUTES" progress=false "${EVAL[@]}" &
$W train dfgan --out "$OUT" --minutes "$MINUTES" progress=false "${EVAL[@]}" &
wait
GEN=$(ls -d "$OUT"/*-gan-int-cls-synthetic | tail -1)/pipeline
OMP_NUM_THREADS=2 $W train gan-int-cls-style --out "$OUT" model.generator="$GEN" steps="$STYLE_STEPS" progress=false
