#!/usr/bin/env bash
# SalGAN (or SALICON) on OSIE, CPU-sized, evaluated on the held-out 20% (split_stems seed 0) against the
# centre-bias and mean-fixation-map baselines. Usage:
#   scripts/osie_saliency.sh [salgan|salicon] [MINUTES] [extra key=value overrides]
# Defaults: salgan, 5 minutes. Data: $OSIE (default /work/shared/data/osie).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SYSTEM=${1:-salgan}; MINUTES=${2:-5}; shift $(( $# > 2 ? 2 : $# ))
OSIE=${OSIE:-/work/shared/data/osie}
OUT=${OUT:-runs/osie}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
$PY -m wordsight.cli.main train "$SYSTEM" --data "osie:$OSIE" --out "$OUT" --desc "$SYSTEM-osie" --minutes "$MINUTES" \
  progress=false "$@"
RUN=$(ls -d "$OUT"/*-"$SYSTEM"-osie | tail -1)
$PY -m wordsight.cli.main evaluate saliency "$RUN/pipeline" --data "osie:$OSIE" --split test \
  --metrics auc_judd,shuffled_auc,nss,cc,kld,sim --out "$RUN/eval"
