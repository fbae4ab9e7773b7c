#!/usr/bin/env bash
# Seed 001's comparison on the synthetic world at 64 px (docs/attngan.md, "Same budget"), one core per run:
#   1. two DAMSMs on one-object scenes, on different worlds and seeds: runs/damsm (AttnGAN's and DualAttnGAN's
#      text features and DAMSM loss) and runs/damsm-eval (the R-precision judge, independent of the loss);
#   2. AttnGAN and DualAttnGAN side by side for MINUTES minutes each, with in-loop oracle evaluation;
#   3. R-precision (1,000 one-object test captions, 99 distractors) of both exported pipelines and of any
#      other pipeline folders given as arguments (e.g. the DF-GAN and StackGAN++ runs of the other docs).
#   MINUTES=30 OUT=runs/compare_attngan scripts/compare_attngan.sh [PIPELINE ...]
# Steps that are done (a DAMSM folder, a run's pipeline) are skipped when the script is run again.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-30}
OUT=${OUT:-runs/compare_attngan}
W=${WORDSIGHT:-.venv/bin/wordsight}
EVALS=${EVALS:-6}
DAMSM_STEPS=${DAMSM_STEPS:-2000}
export OMP_NUM_THREADS=1
damsm() {  # OUT SEED
  [ -f "$1/image_encoder/config.json" ] && return 0
  $W train damsm --data synthetic --max-objects 1 --steps "$DAMSM_STEPS" --batch-size 48 --lr 1e-3 --seed "$2" --out "$1" --no-progress
}
damsm runs/damsm 0 &
damsm runs/damsm-eval 1 &
wait
EVAL=(eval_every_minutes="$(python3 -c "print($MINUTES / $EVALS)")" "metrics=[oracle,oracle_fid]" eval_captions=128 "eval_splits=[test,heldout]")
for system in attngan dualattngan; do
  if ! compgen -G "$OUT/*-$system-synthetic/pipeline" > /dev/null; then
    $W train "$system" --out "$OUT" --minutes "$MINUTES" progress=false "${EVAL[@]}" &
  fi
done
wait
for pipe in "$OUT"/*-attngan-synthetic/pipeline "$OUT"/*-dualattngan-synthetic/pipeline "$@"; do
  [ -f "$pipe/../r_precision/metrics.json" ] && continue
  OMP_NUM_THREADS=2 $W evaluate generation "$pipe" --data synthetic --max-objects 1 --metrics r_precision \
    --damsm runs/damsm-eval -n 1000 --out "$pipe/../r_precision" --no-progress
done
