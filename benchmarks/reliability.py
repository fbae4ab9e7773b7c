"""The reliability figures (issue 20): faults injected and survived, bad-input cases tried and handled,
checkpoints verified. Runs the fault and bad-input tests with ``pytest -s`` and sums the
``RELIABILITY ...`` lines they print, then prints one table (the README's "Reliability" section).

    python benchmarks/reliability.py            # about 5 minutes on 2 cores

Not a test itself: the same tests run in CI (make test); this only collects their counts.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITES = [  # (what, pytest targets)
    ("crash and resume (SIGKILL) of the main trainer", ["tests/training/test_crash_harness.py"]),
    ("crash and resume of DAMSM, oracle, saliency trainers", ["tests/training/test_crash_resume_trainers.py"]),
    ("non-finite losses, gradients, batches", ["tests/training/test_non_finite_injection.py"]),
    ("bad inputs (hypothesis + enumerated) and untrusted files", ["tests/reliability"]),
]
LINE = re.compile(r"RELIABILITY (\S+)(?: (\S+))? (.*)")


def main() -> int:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    rows, failed = [], False
    totals: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for what, targets in SUITES:
        present = [t for t in targets if (ROOT / t).exists()]
        if not present:
            rows.append((what, "not present", "", 0.0))
            continue
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *present],
                              cwd=ROOT, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        summary = next((line for line in reversed(proc.stdout.splitlines()) if " passed" in line or " failed" in line), "no summary")
        failed |= proc.returncode != 0
        counts: collections.Counter = collections.Counter()
        for line in proc.stdout.splitlines():
            m = LINE.search(line)
            if m:
                kind = m.group(1)
                for key, value in re.findall(r"(\w+)=(\d+)", line):
                    counts[key] += int(value)
                    totals[kind.split("_")[0] if kind.startswith("crash") else kind][key] += int(value)
        shown = ", ".join(f"{k} {v}" for k, v in counts.items()) or "no counts printed"
        rows.append((what, shown, summary.strip("= "), wall))
    print("| suite | counts | pytest | wall s |")
    print("| --- | --- | --- | ---: |")
    for what, shown, summary, wall in rows:
        print(f"| {what} | {shown} | {summary} | {wall:.0f} |")
    faults = sum(totals[k].get("kills", 0) + totals[k].get("injected", 0) for k in totals)
    survived = sum(totals[k].get("survived", 0) for k in totals)
    tried = totals["bad_input"].get("tried", 0)
    handled = totals["bad_input"].get("handled", 0)
    verified = sum(totals[k].get("checkpoints_verified", 0) for k in totals)
    print(f"\nfaults injected {faults}, survived {survived}; bad-input cases tried {tried}, handled {handled}; "
          f"checkpoints verified {verified}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
