"""Memory flat in the data size (issue 21 goal 6): peak RSS of a DF-GAN training at 256 px on a caption
folder of N/10 and of N images, each run in a fresh process (`wordsight train dfgan --data folder:PATH`).
Images are read lazily, one batch at a time; only the caption vectors (a few hundred bytes per caption) are
kept, so the peak should not grow with N beyond them.

    python benchmarks/train_memory.py [--n 10000] [--steps 4] [--nf 8] [--threads 2]

Prints a table: images, captions, peak RSS (MB), wall seconds, growth from N/10 to N.
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
import resource, sys
from wordsight.cli.main import main
code = main(sys.argv[1:])
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
sys.exit(code)
"""


def write_folder(root: Path, n: int, size: int = 320) -> None:
    """``n`` JPEG photos-like images of ``size`` px (random blobs on noise) with two captions each."""
    import numpy as np
    from PIL import Image

    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    colours = ["red", "green", "blue", "yellow", "purple", "orange"]
    base = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    for i in range(n):
        pixels = np.roll(base, (i * 7) % size, axis=1)
        c = i % len(colours)
        pixels[40:120, 40 + i % 100:120 + i % 100] = [(c * 40) % 255, (c * 90) % 255, (c * 150) % 255]
        Image.fromarray(pixels).save(root / f"{i:06d}.jpg", quality=85)
        (root / f"{i:06d}.txt").write_text(f"a {colours[c]} square on a noisy background\na {colours[c]} block, image {i}\n")


def run(argv: list[str], threads: int) -> tuple[float, float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): wordsight {' '.join(argv)}\n{proc.stderr[-3000:]}")
    kb = next(int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("PEAK_RSS_KB"))
    return kb / 1024, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--nf", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in (max(1, args.n // 10), args.n):
            folder = tmp / f"folder_{n}"
            t0 = time.perf_counter()
            write_folder(folder, n)
            made = time.perf_counter() - t0
            mb, wall = run(["train", "dfgan", "--data", f"folder:{folder}", "--config", "dfgan_cub", "--out", str(tmp / f"runs_{n}"),
                            f"steps={args.steps}", f"batch_size={args.batch}", f"model.nf={args.nf}", "model.image_size=256",
                            "log_every=1", "sample_every=1000000", "checkpoint_every=1000000", "num_samples=2",
                            "tensorboard=false", "progress=false", "eval_every=0"], args.threads)
            rows.append((n, 2 * n, mb, wall, made))
    print(f"DF-GAN 256 px, nf {args.nf}, batch {args.batch}, {args.steps} steps, {args.threads} threads, config dfgan_cub; "
          "each run in a fresh process")
    print("| images | captions | peak RSS MB | wall s (training run) | RSS growth |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for i, (n, caps, mb, wall, _) in enumerate(rows):
        growth = f"{100 * (mb / rows[0][2] - 1):+.1f}%" if i else ""
        print(f"| {n} | {caps} | {mb:.0f} | {wall:.1f} | {growth} |")


if __name__ == "__main__":
    main()
