#!/usr/bin/env bash
# Rebuilds the text-guided saliency model shipped in src/wordsight/assets/text_salgan_synthetic/:
# the text-aligned SalGAN (small architecture, G1D2, width 0.5) on the synthetic world's simulated
# text-guided gaze, 64x64, frozen MiniLM sentences. About 10 minutes on one CPU thread.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/shipped-saliency}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
$PY -m wordsight.cli.main train text-salgan --data synthetic --out "$OUT" --desc shipped \
  epochs=8 text_cache=runs/text-cache progress=false "$@"
RUN=$(ls -d "$OUT"/*-shipped | tail -1)
rm -rf src/wordsight/assets/text_salgan_synthetic
cp -r "$RUN/pipeline" src/wordsight/assets/text_salgan_synthetic
$PY - <<'PYEOF'
import json
p = "src/wordsight/assets/text_salgan_synthetic/pipeline.json"
meta = json.load(open(p))
meta["trained_on"] = ("the synthetic caption world's simulated text-guided gaze (400 flat-shape scenes x 4 text "
                      "categories, 64x64); not real photos")
meta["description"] = "text-aligned SalGAN (seed 000), small architecture, G1D2, width 1/2, MiniLM sentences"
json.dump(meta, open(p, "w"), indent=2, sort_keys=True)
PYEOF
$PY -m wordsight.cli.main evaluate saliency src/wordsight/assets/text_salgan_synthetic --data synthetic \
  --out src/wordsight/assets/text_salgan_synthetic/eval
