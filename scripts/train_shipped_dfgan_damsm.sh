#!/usr/bin/env bash
# Candidate recipe for the shipped DF-GAN (docs/dfgan.md, "DAMSM loss on the generator"), resumable:
#   1. once: a DAMSM pair (BiLSTM + small CNN) on one-object synthetic scenes, deterministic (seed 0);
#   2. DF-GAN conditioned on that DAMSM's frozen BiLSTM sentence vectors (as the official DF-GAN is), with
#      AttnGAN's DAMSM sentence loss on G (lambda 5) and shape hard negatives for D.
# Run it again to continue from the newest checkpoint under runs/shipped-dfgan-damsm/.
# Export: .venv/bin/python scripts/export_shipped_dfgan.py --run runs/shipped-dfgan-damsm/00000-shipped
set -euo pipefail
cd "$(dirname "$0")/.."
DAMSM=runs/damsm-1obj
if [ ! -f "$DAMSM/image_encoder/config.json" ]; then
  .venv/bin/wordsight train damsm --data synthetic --max-objects 1 --steps "${DAMSM_STEPS:-3000}" --out "$DAMSM" --no-progress
fi
RESUME=()
if compgen -G "runs/shipped-dfgan-damsm/*/checkpoint-*" > /dev/null; then RESUME=(--resume latest); fi
.venv/bin/wordsight train dfgan --config dfgan_synthetic_damsm --data synthetic --out runs/shipped-dfgan-damsm \
  --desc shipped "${RESUME[@]}" --minutes "${MINUTES:-60}" data.num_scenes=3000 \
  data.text_encoder_path="$DAMSM" model.damsm_path="$DAMSM" model.damsm_sentence_weight=5.0 \
  'data.hard_negatives=[shape]' keep_last=40 "$@"
