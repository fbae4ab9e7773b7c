"""Memory of many inputs in one call: peak RSS of `wordsight generate --captions-file --out-dir` and
`wordsight saliency FOLDER --out-dir` for N and N/10 inputs, each in a fresh process. Streaming means the
peak does not grow with N (goal: within 10%).

    python benchmarks/stream_memory.py [--n 1000] [--threads 1]

Prints a table: command, inputs, peak RSS (MB), wall seconds, growth from N/10 to N.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import resource, sys, torch
torch.set_num_threads(int(sys.argv[1]))
from wordsight.cli.main import main
code = main(sys.argv[2:])
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
sys.exit(code)
"""


def _run(argv: list[str], threads: int) -> tuple[float, float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(threads), *argv], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): wordsight {' '.join(argv)}\n{proc.stderr[-2000:]}")
    kb = next(int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("PEAK_RSS_KB"))
    return kb / 1024, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="inputs of the large run (the small one has n/10)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--size", type=int, default=96, help="side of the saliency test photos")
    args = parser.parse_args()

    import numpy as np
    from PIL import Image

    from wordsight.app.handlers import EXAMPLE_CAPTIONS

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        photos = tmp / "photos"
        photos.mkdir()
        for i in range(args.n):
            Image.fromarray(rng.integers(0, 255, (args.size, args.size * 4 // 3, 3), dtype=np.uint8)).save(photos / f"{i:05d}.png")
        small_photos = tmp / "photos_small"
        small_photos.mkdir()
        for p in sorted(photos.iterdir())[: max(1, args.n // 10)]:
            (small_photos / p.name).symlink_to(p)
        for count in (max(1, args.n // 10), args.n):
            captions = tmp / f"captions_{count}.txt"
            captions.write_text("\n".join(EXAMPLE_CAPTIONS[i % len(EXAMPLE_CAPTIONS)] for i in range(count)) + "\n")
            mb, wall = _run(["generate", "--captions-file", str(captions), "--out-dir", str(tmp / f"gen_{count}"), "-n", "1"], args.threads)
            rows.append(("generate --captions-file --out-dir (shipped DF-GAN, 1 image per caption)", count, mb, wall))
        for count, folder in ((max(1, args.n // 10), small_photos), (args.n, photos)):
            mb, wall = _run(["saliency", str(folder), "--out-dir", str(tmp / f"sal_{count}")], args.threads)
            rows.append((f"saliency FOLDER --out-dir (shipped osie model, {args.size}x{args.size * 4 // 3} photos)", count, mb, wall))
    print(f"{args.threads} torch thread(s); each run in a fresh process")
    print("| command | inputs | peak RSS MB | wall s | RSS growth |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for i, (name, count, mb, wall) in enumerate(rows):
        growth = f"{100 * (mb / rows[i - 1][2] - 1):+.1f}%" if i % 2 else ""
        print(f"| {name} | {count} | {mb:.0f} | {wall:.1f} | {growth} |")


if __name__ == "__main__":
    main()
