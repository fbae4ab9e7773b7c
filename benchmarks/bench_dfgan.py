"""DF-GAN speed tables: python benchmarks/bench_dfgan.py (same as `wordsight bench train` + `bench generate`).

bf16 rows appear only on machines with native bf16 (AMX / AVX512-BF16 or a GPU); elsewhere fp32 is faster.
"""

from wordsight.cli.main import main

if __name__ == "__main__":
    main(["bench", "train", "dfgan", "--size", "64", "--batch", "32"])
    main(["bench", "train", "dfgan", "--size", "64", "--batch", "32", "--nf", "16"])  # the synthetic-world config
    main(["bench", "train", "dfgan", "--size", "256", "--batch", "8", "--steps", "1"])
    main(["bench", "generate", "--size", "256", "--compile"])
