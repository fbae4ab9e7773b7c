#!/usr/bin/env bash
# Candidate recipe for the shipped DF-GAN (docs/dfgan.md, "DAMSM loss on the generator"), resumable:
#   1. once: a DAMSM pair (BiLSTM + small CNN) on one-object synthetic scenes, deterministic (seed 0);
#   2. DF-GAN conditioned on that DAMSM's frozen BiLSTM sentence vectors (as the official DF-GAN is), with
#      AttnGAN's DAMSM sentence loss on G (lambda 5) and shape hard negatives for D.
# Run it again to continue from the newest checkpoint under $OUT (default runs/shipped-dfgan-damsm/).
# Extra arguments are passed to `wordsight train dfgan` (overrides such as model.damsm_hard_negative_weight=5.0;
# OUT=runs/other keeps a variant's run apart; THREADS=1 runs it on one core).
# Export: .venv/bin/python scripts/export_shipped_dfgan.py --run $OUT/00000-shipped
set -euo pipefail
cd "$(dirname "$0")/.."
# The DAMSM in three stages, as it was made (docs/damsm.md, "One-object scenes"): 3,288 steps at lr 2e-4 and
# batch 32, then 1,616 and 1,282 steps at lr 1e-3 and batch 48 (the step counts the time budgets reached).
DAMSM=runs/damsm-1obj-c
damsm() {  # OUT STEPS BATCH LR [INIT]
  [ -f "$1/image_encoder/config.json" ] && return 0
  .venv/bin/wordsight train damsm --data synthetic --max-objects 1 --out "$1" --steps "$2" --batch-size "$3" --lr "$4" \
    ${5:+--init-from "$5"} --no-progress
}
damsm runs/damsm-1obj 3288 32 2e-4
damsm runs/damsm-1obj-b 1616 48 1e-3 runs/damsm-1obj
damsm runs/damsm-1obj-c 1282 48 1e-3 runs/damsm-1obj-b
OUT=${OUT:-runs/shipped-dfgan-damsm}
if [ -n "${THREADS:-}" ]; then export OMP_NUM_THREADS=$THREADS; fi
RESUME=()
if compgen -G "$OUT/*/checkpoint-*" > /dev/null; then RESUME=(--resume latest); fi
.venv/bin/wordsight train dfgan --config dfgan_synthetic_damsm --data synthetic --out "$OUT" \
  --desc shipped "${RESUME[@]}" --minutes "${MINUTES:-60}" data.synthetic.num_scenes=3000 \
  data.text_encoder_path="$DAMSM" model.damsm_path="$DAMSM" model.damsm_sentence_weight=5.0 \
  'data.hard_negatives=[shape]' keep_last=40 "$@"
