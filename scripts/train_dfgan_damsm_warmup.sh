#!/usr/bin/env bash
# The recipe of the shipped DF-GAN (docs/dfgan.md, "The shipped model", run C), a variant of
# scripts/train_shipped_dfgan_damsm.sh:
# DF-GAN conditioned on the frozen one-object DAMSM BiLSTM, D's residual gammas starting at 1, shape hard
# negatives; the DAMSM terms on G (sentence lambda 5, hard negative mu 5) are switched on only after
# WARMUP steps (default 1500) of plain adversarial training, so that D first teaches G what an object is.
# Resumable: run it again; a run past the warm-up resumes with the DAMSM terms on. The shipped model:
#   THREADS=1 MINUTES=140 scripts/train_dfgan_damsm_warmup.sh   (stopped at step 10,016), then
#   .venv/bin/python scripts/export_shipped_dfgan.py --run runs/dfgan-damsm-warm-g1/00000-shipped \
#       --recipe scripts/train_dfgan_damsm_warmup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/dfgan-damsm-warm-g1}
WARMUP=${WARMUP:-1500}
COMMON=(model.d_gamma_init=1.0 progress=false)
newest_step() { ls -d "$OUT"/*/checkpoint-* 2>/dev/null | sed 's/.*checkpoint-//' | sort -n | tail -1 || true; }
step=$(newest_step); step=${step:-0}
if [ "$step" -lt "$WARMUP" ]; then
  OUT=$OUT MINUTES=${MINUTES:-60} scripts/train_shipped_dfgan_damsm.sh model.damsm_sentence_weight=0.0 steps="$WARMUP" "${COMMON[@]}" "$@"
fi
OUT=$OUT MINUTES=${MINUTES:-60} scripts/train_shipped_dfgan_damsm.sh model.damsm_hard_negative_weight=5.0 "${COMMON[@]}" "$@"
