#!/usr/bin/env bash
# SalGAN (or SALICON) on OSIE, CPU-sized, evaluated on the held-out 20% (split_stems seed 0) against the
# centre-bias and mean-fixation-map baselines. Usage:
#   scripts/osie_saliency.sh [salgan|salicon] [MINUTES] [OSIE_DIR] [extra key=value overrides]
# Defaults: salgan, 5 minutes, OSIE_DIR = $OSIE or ../shared/data/osie next to the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SYSTEM=${1:-salgan}; MINUTES=${2:-5}; shift $(( $# > 2 ? 2 : $# ))
OSIE=${OSIE:-$(cd .. && pwd)/shared/data/osie}
if [ $# -gt 0 ] && [[ "$1" != *=* ]]; then OSIE=$1; shift; fi  # a path, not a key=value override
[ -d "$OSIE/stimuli" ] || { echo "OSIE not found at $OSIE (expected stimuli/ and eye/); give its folder as the third argument" >&2; exit 2; }
OUT=${OUT:-runs/osie}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
$PY -m wordsight.cli.main train "$SYSTEM" --data "osie:$OSIE" --out "$OUT" --desc "$SYSTEM-osie" --minutes "$MINUTES" \
  progress=false "$@"
RUN=$(ls -d "$OUT"/*-"$SYSTEM"-osie | tail -1)
$PY -m wordsight.cli.main evaluate saliency "$RUN/pipeline" --data "osie:$OSIE" --split test \
  --metrics auc_judd,shuffled_auc,nss,cc,kld,sim --out "$RUN/eval"
