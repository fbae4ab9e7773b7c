"""Synthetic-world rendering speed: python benchmarks/bench_synthetic.py (same as `wordsight bench synthetic`)."""

from wordsight.cli.main import main

if __name__ == "__main__":
    main(["bench", "synthetic"])
