#!/usr/bin/env bash
# Issue 16's same-budget comparison of the text-guided manipulation methods on the synthetic world, one core
# per run (docs/manipulation.md, "Same budget"):
#   tagan, sisgan: MINUTES minutes each on one-object scenes;
#   style: GAN-INT-CLS for 3/4 of MINUTES, then its style encoder for 1/4 (seed 004 eq. 6), used as an editor;
#   tirg:  MINUTES minutes on the 1-3 object edit triplets (Recall@K);
#   inversion needs no training: the shipped DF-GAN is inverted (seed 004 Algorithm 1) at evaluation time.
# Then benchmarks/manipulation_synthetic.py scores every editor on the same 256 one-object test edits.
#   MINUTES=20 OUT=runs/compare_manipulation scripts/compare_manipulation.sh [tagan sisgan style tirg]
# A step whose pipeline exists is skipped when the script is run again.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-20}
OUT=${OUT:-runs/compare_manipulation}
W=${WORDSIGHT:-.venv/bin/wordsight}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
STEPS=("$@")
[ ${#STEPS[@]} -eq 0 ] && STEPS=(tagan sisgan style tirg)
done_() { compgen -G "$OUT/*-$1-synthetic/pipeline" > /dev/null; }
for step in "${STEPS[@]}"; do
  case "$step" in
    tagan|sisgan|tirg)
      done_ "$step" || $W train "$step" --out "$OUT" --minutes "$MINUTES" progress=false ;;
    style)
      done_ gan-int-cls || $W train gan-int-cls --out "$OUT" --minutes "$(python3 -c "print($MINUTES * 0.75)")" progress=false
      gen=$(compgen -G "$OUT/*-gan-int-cls-synthetic/pipeline" | tail -1)
      done_ gan-int-cls-style || $W train gan-int-cls-style --out "$OUT" --minutes "$(python3 -c "print($MINUTES * 0.25)")" \
        model.generator="$gen" steps=1000000 progress=false ;;
    *) echo "unknown step $step (tagan sisgan style tirg)" >&2; exit 2 ;;
  esac
done
