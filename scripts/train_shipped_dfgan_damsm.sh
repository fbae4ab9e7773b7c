#!/usr/bin/env bash
# Candidate recipe for the shipped DF-GAN (docs/dfgan.md, "DAMSM loss on the generator"), resumable:
#   1. once: a DAMSM pair (BiLSTM + small CNN) on one-object synthetic scenes, deterministic (seed 0);
#   2. DF-GAN conditioned on that DAMSM's frozen BiLSTM sentence vectors (as the official DF-GAN is), with
#      AttnGAN's DAMSM sentence loss on G (lambda 5) and shape hard negatives for D.
# Run it again to continue from the newest checkpoint under runs/shipped-dfgan-damsm/.
# Export: .venv/bin/python scripts/export_shipped_dfgan.py --run runs/shipped-dfgan-damsm/00000-shipped
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
RESUME=()
if compgen -G "runs/shipped-dfgan-damsm/*/checkpoint-*" > /dev/null; then RESUME=(--resume latest); fi
.venv/bin/wordsight train dfgan --config dfgan_synthetic_damsm --data synthetic --out runs/shipped-dfgan-damsm \
  --desc shipped "${RESUME[@]}" --minutes "${MINUTES:-60}" data.num_scenes=3000 \
  data.text_encoder_path="$DAMSM" model.damsm_path="$DAMSM" model.damsm_sentence_weight=5.0 \
  'data.hard_negatives=[shape]' keep_last=40 "$@"
