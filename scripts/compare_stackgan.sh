#!/usr/bin/env bash
# StackGAN (stage 1 for half the budget, then stage 2 for the other half) and StackGAN++ (the whole budget)
# on the synthetic world, one core each, with in-loop oracle evaluation: the table of docs/stackgan.md,
# next to GAN-INT-CLS and DF-GAN from scripts/compare_gan_int_cls_dfgan.sh (same budget, same evaluation).
#   MINUTES=30 OUT=runs/compare_stackgan scripts/compare_stackgan.sh            # both systems
#   ONLY=stackgan MINUTES=30 OUT=runs/compare_stackgan scripts/compare_stackgan.sh
# Afterwards: python benchmarks/stackgan_stages.py <stage-2 run>/pipeline  (stages picture, Stage-I vs Stage-II oracle)
set -euo pipefail
MINUTES=${MINUTES:-30}
OUT=${OUT:-runs/compare_stackgan}
ONLY=${ONLY:-all}
W=${WORDSIGHT:-.venv/bin/wordsight}
EVALS=${EVALS:-6}
export OMP_NUM_THREADS=1
HALF=$(python3 -c "print($MINUTES / 2)")
# evaluation every MINUTES/EVALS minutes of training (evaluation time is not counted), and at the end
EVAL=("metrics=[oracle,oracle_fid]" eval_captions=128 "eval_splits=[test,heldout]")
EVERY=eval_every_minutes="$(python3 -c "print($MINUTES / $EVALS)")"
stackgan() {
  $W train stackgan --out "$OUT/stage1" --minutes "$HALF" progress=false "$EVERY" "${EVAL[@]}"
  local stage1
  stage1=$(ls -d "$OUT"/stage1/*-stackgan-synthetic | tail -1)
  $W train stackgan --out "$OUT/stage2" --minutes "$HALF" progress=false "$EVERY" "${EVAL[@]}" model.stage=2 model.init_from="$stage1"
}
if [ "$ONLY" = all ] || [ "$ONLY" = stackgan ]; then stackgan & fi
if [ "$ONLY" = all ] || [ "$ONLY" = stackgan-pp ]; then
  $W train stackgan-pp --out "$OUT/stackgan_pp" --minutes "$MINUTES" progress=false "$EVERY" "${EVAL[@]}" &
fi
wait
