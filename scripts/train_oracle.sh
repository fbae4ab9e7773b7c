#!/usr/bin/env bash
# Rebuilds the shipped oracle weights (src/wordsight/assets/oracle/). ~10-15 min on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/wordsight train oracle --out src/wordsight/assets/oracle --steps "${STEPS:-4000}"
