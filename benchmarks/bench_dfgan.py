"""DF-GAN speed tables: python benchmarks/bench_dfgan.py (same as `wordsight bench train` + `bench generate`)."""

from wordsight.cli.main import main

if __name__ == "__main__":
    main(["bench", "train", "dfgan", "--size", "64", "--batch", "32"])
    main(["bench", "train", "dfgan", "--size", "256", "--batch", "8", "--steps", "2"])
    main(["bench", "generate", "--size", "256"])
