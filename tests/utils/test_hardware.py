import json

import pytest
import torch

from wordsight.utils import hardware


@pytest.fixture
def timed(monkeypatch, tmp_path):
    """`auto` resolved by measurement (not the test suite's WORDSIGHT_BF16), with a fake probe whose
    (fp32 ms, bf16 ms) the test sets and whose calls are counted, and a cache in tmp_path."""
    monkeypatch.delenv(hardware.BF16_ENV, raising=False)
    monkeypatch.setenv(hardware.CACHE_ENV, str(tmp_path / "cache"))
    hardware._cpu_choice.cache_clear()
    probe = {"times": (10.0, 5.0), "calls": 0}

    def measure():
        probe["calls"] += 1
        return probe["times"]

    monkeypatch.setattr(hardware, "measure_bf16_speedup", measure)
    yield probe
    hardware._cpu_choice.cache_clear()


def test_no_bf16_instructions_means_fp32_without_measuring(timed, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert not hardware.native_bf16("cpu")
    assert hardware.resolve_precision("auto", "cpu") == "no"
    assert "no bf16 instructions" in hardware.precision_choice("cpu").reason
    assert timed["calls"] == 0


def test_bf16_instructions_alone_do_not_choose_bf16_the_measurement_does(timed, monkeypatch):
    # the Xeon of issue 21: AVX512-BF16 but bf16 26% slower than fp32
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    timed["times"] = (10.0, 13.5)
    assert hardware.native_bf16("cpu")
    choice = hardware.precision_choice("cpu")
    assert choice.precision == "no" and choice.speedup == pytest.approx(10 / 13.5)
    assert hardware.resolve_precision("auto", torch.device("cpu")) == "no"
    # an AMX machine: measured faster
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512f", "amx_bf16"}))
    timed["times"] = (10.0, 4.0)
    assert hardware.resolve_precision("auto") == "bf16"
    assert "2.50x" in hardware.precision_choice().reason


def test_a_gain_inside_the_margin_keeps_fp32(timed, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    timed["times"] = (10.0, 10.0 / (hardware.BF16_MARGIN - 0.01))
    assert hardware.resolve_precision("auto") == "no"


def test_the_measurement_is_cached_per_machine_on_disk(timed, monkeypatch, tmp_path):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    first = hardware.precision_choice("cpu")
    assert first.precision == "bf16" and not first.cached and timed["calls"] == 1
    hardware._cpu_choice.cache_clear()  # a new process: only the file remains
    timed["times"] = (1.0, 100.0)  # a different timing must not be taken: the file answers
    again = hardware.precision_choice("cpu")
    assert again.cached and again.precision == "bf16" and timed["calls"] == 1
    data = json.loads(hardware.precision_cache_path().read_text())
    (entry,) = data.values()
    assert entry["precision"] == "bf16" and entry["fp32_ms"] == 10.0
    # another CPU (other flags) is measured on its own
    hardware._cpu_choice.cache_clear()
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert hardware.precision_choice("cpu").precision == "no" and timed["calls"] == 2
    assert len(json.loads(hardware.precision_cache_path().read_text())) == 2


def test_a_corrupt_or_unwritable_cache_only_costs_a_measurement(timed, monkeypatch, tmp_path):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    path = hardware.precision_cache_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert hardware.precision_choice("cpu").precision == "bf16" and timed["calls"] == 1
    assert json.loads(path.read_text())  # rewritten
    hardware._cpu_choice.cache_clear()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(hardware.CACHE_ENV, str(blocker / "sub"))  # a folder that cannot be made
    assert hardware.precision_choice("cpu").precision == "bf16" and timed["calls"] == 2


def test_the_environment_variable_overrides(timed, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2"}))
    monkeypatch.setenv(hardware.BF16_ENV, "yes")
    assert hardware.resolve_precision("auto") == "bf16"
    monkeypatch.setenv(hardware.BF16_ENV, "no")
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    assert hardware.resolve_precision("auto") == "no" and timed["calls"] == 0


def test_explicit_precisions_pass_through():
    for value in ("no", "bf16", "fp16"):
        assert hardware.resolve_precision(value, "cpu") == value


def test_the_real_probe_times_both_precisions():
    fp32_ms, bf16_ms = hardware.measure_bf16_speedup(shapes=((1, 8, 8, 8),), repeats=1)
    assert 0 < fp32_ms < 5_000 and 0 < bf16_ms < 5_000


def test_cpu_flags_reads_this_machine():
    flags = hardware.cpu_flags()
    assert isinstance(flags, frozenset)
    assert isinstance(hardware.cpu_model(), str) and hardware.cpu_model()
