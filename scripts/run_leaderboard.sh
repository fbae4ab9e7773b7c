#!/usr/bin/env bash
# Issue 19's leaderboard (docs/leaderboard.md): every registered text-to-image system trained on the synthetic
# world at 64 px for MINUTES minutes of training time each (default 60), one at a time on one thread, then
# evaluated the same way; the table is printed and written to OUT/leaderboard.md (OUT default runs/leaderboard).
#   scripts/run_leaderboard.sh [MINUTES] [OUT] [more options of benchmarks/t2i_leaderboard.py]
#   nohup scripts/run_leaderboard.sh 60 > runs/leaderboard.log 2>&1 &      # in the background, for days
# Resumable: run the same command again after a kill or a reboot. Finished systems are not retrained,
# evaluated ones are read from OUT/results.json, an interrupted one continues from its newest checkpoint
# with the rest of its budget. Stop it with `kill <pid>` (SIGTERM; the running trainer saves a checkpoint).
# Across sessions (OUT is not kept, the repository is): finished rows are merged into RESULTS (default
# benchmarks/results/leaderboard-<MINUTES>min.json, committed) at the end of every invocation and taken
# from it at the start of the next (--carry/--export), each with the machine it was trained on.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
MINUTES=${1:-60}
OUT=${2:-runs/leaderboard}
shift $(( $# > 2 ? 2 : $# ))
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
RESULTS=${RESULTS:-benchmarks/results/leaderboard-${MINUTES}min.json}
export WORDSIGHT_LEADERBOARD_COMMAND="scripts/run_leaderboard.sh $MINUTES $OUT${*:+ $*}"
exec "$PY" benchmarks/t2i_leaderboard.py --minutes "$MINUTES" --out "$OUT" --carry "$RESULTS" --export "$RESULTS" "$@"
