#!/usr/bin/env bash
# Trains (or resumes) the free-viewing SalGAN shipped in src/wordsight/assets/salgan_osie/ on the real
# OSIE data (config salgan_osie_shipped; 560 training images, the README's 140 held out), one CPU thread.
# Each invocation trains MINUTES more (default 100) and resumes the previous run when there is one; with
# EXPORT=1 it then exports the pipeline into the package with its held-out scores.
#   scripts/train_shipped_osie_saliency.sh [OSIE_DIR] [MINUTES]
# OSIE_DIR defaults to ../shared/data/osie next to the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OSIE=${1:-${OSIE:-$(cd .. && pwd)/shared/data/osie}}
MINUTES=${2:-100}
OUT=${OUT:-runs/shipped-osie}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
[ -d "$OSIE/stimuli" ] || { echo "OSIE not found at $OSIE (expected stimuli/ and eye/)" >&2; exit 2; }
RUN=$(ls -d "$OUT"/*-salgan-osie 2>/dev/null | tail -1 || true)
RESUME=()
[ -n "$RUN" ] && RESUME=(--resume "$RUN")
$PY -m wordsight.cli.main train salgan --config salgan_osie_shipped --data "osie:$OSIE" --out "$OUT" \
  --desc salgan-osie --minutes "$MINUTES" "${RESUME[@]}" progress=false
RUN=$(ls -d "$OUT"/*-salgan-osie | tail -1)
if [ "${EXPORT:-0}" = 1 ]; then
  $PY scripts/export_shipped_saliency.py "$RUN/pipeline" --data "osie:$OSIE"
fi
