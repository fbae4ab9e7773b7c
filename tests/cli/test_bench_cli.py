"""`wordsight bench`: the tables print with the rows the hardware calls for, and bad options exit 2."""

from wordsight.cli.main import main
from wordsight.utils import hardware


def test_bench_train_and_generate_print_fp32_tables_without_native_bf16(capsys, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2"}))
    assert main(["bench", "train", "dfgan", "--size", "16", "--batch", "2", "--nf", "2", "--steps", "1", "--scenes", "16"]) == 0
    out = capsys.readouterr().out
    assert "native bf16: no; fp32 matmul peak" in out
    assert "| fp32+channels_last |" in out and "| fp32 |" in out and "bf16+" not in out
    # the real loop too, read back from its run's metrics.jsonl
    row = next(line for line in out.splitlines() if line.startswith("| Trainer, fp32+channels_last, synthetic data |"))
    assert float(row.split("|")[2]) > 0
    assert main(["bench", "generate", "--size", "16", "--nf", "2"]) == 0
    out = capsys.readouterr().out
    assert "| fp32+channels_last |" in out and "bf16" not in out


def test_bench_forced_bf16_adds_the_row(capsys, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2"}))
    assert main(["bench", "generate", "--size", "16", "--nf", "2", "--bf16", "yes"]) == 0
    assert "| bf16+channels_last |" in capsys.readouterr().out


def test_bench_rejects_a_bad_bf16_choice(capsys):
    assert main(["bench", "generate", "--size", "16", "--nf", "2", "--bf16", "maybe"]) == 2
    assert "--bf16 must be auto, yes or no" in capsys.readouterr().err


def test_bench_precision_shows_the_auto_choice_and_why(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv(hardware.BF16_ENV, raising=False)
    monkeypatch.setenv(hardware.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    monkeypatch.setattr(hardware, "measure_bf16_speedup", lambda: (10.0, 13.0))  # bf16 slower despite the flag
    hardware._cpu_choice.cache_clear()
    try:
        assert main(["bench", "precision"]) == 0
        out = capsys.readouterr().out
        assert "bf16 instructions: yes" in out and "| bf16 autocast + channels_last | 13.0 |" in out
        assert "mixed_precision auto -> fp32: measured on this CPU" in out and "cached" not in out
        hardware._cpu_choice.cache_clear()
        assert main(["bench", "precision"]) == 0
        assert f"(cached in {tmp_path}" in capsys.readouterr().out
        monkeypatch.setattr(hardware, "measure_bf16_speedup", lambda: (10.0, 2.0))
        assert main(["bench", "precision", "--remeasure"]) == 0
        assert "mixed_precision auto -> bf16" in capsys.readouterr().out
    finally:
        hardware._cpu_choice.cache_clear()
