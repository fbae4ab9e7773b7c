"""Every benchmark table in turn (make bench)."""

import runpy
from pathlib import Path

for script in ("bench_synthetic.py", "bench_dfgan.py", "bench_sentence_whitening.py", "bench_saliency_metrics.py"):
    print(f"\n## {script}\n")
    runpy.run_path(str(Path(__file__).parent / script), run_name="__main__")
