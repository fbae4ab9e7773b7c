import torch

from wordsight.utils import hardware


def test_auto_precision_follows_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert not hardware.native_bf16("cpu")
    assert hardware.resolve_precision("auto", "cpu") == "no"
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512f", "amx_bf16"}))
    assert hardware.native_bf16("cpu")
    assert hardware.resolve_precision("auto", torch.device("cpu")) == "bf16"
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert hardware.resolve_precision("auto") == "bf16"


def test_explicit_precisions_pass_through():
    for value in ("no", "bf16", "fp16"):
        assert hardware.resolve_precision(value, "cpu") == value


def test_cpu_flags_reads_this_machine():
    flags = hardware.cpu_flags()
    assert isinstance(flags, frozenset)
