"""What the machine computes fast, and the precision ``mixed_precision: auto`` resolves to.

Why this exists: bf16 autocast is faster than fp32 on CPUs with AMX, several times *slower* on CPUs without
bf16 hardware, where PyTorch emulates it (an AVX2-only AMD EPYC, ``wordsight bench train dfgan --nf 16``:
bf16+channels_last 2.0 img/s vs fp32 19.0 img/s), and slower too on a Xeon that has AVX512-BF16 but no AMX
(DF-GAN 64 px: bf16 11.0 img/s vs fp32 14.9 img/s, issue 21). A CPU flag alone does not say which, so on a
CPU ``auto`` picks bf16 only where a micro-benchmark of convolution shapes like the models' measured it
faster (:func:`measure_bf16_speedup`); the result is cached per machine and torch version
(:func:`precision_cache_path`), so the benchmark (about a second) runs once per machine. Where the CPU has no
bf16 instructions at all, bf16 is emulated and nothing is measured.

``WORDSIGHT_BF16=yes|no`` overrides the choice (e.g. on a machine where timing is not possible).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

__all__ = ["cpu_flags", "cpu_model", "native_bf16", "bf16_faster", "precision_choice", "measure_bf16_speedup",
           "resolve_precision", "forget_measurement", "PrecisionChoice", "BF16_MARGIN"]

_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
BF16_ENV = "WORDSIGHT_BF16"
CACHE_ENV = "WORDSIGHT_CACHE"
BF16_MARGIN = 1.05
"""bf16 is chosen only when it is at least this much faster than fp32 (timing noise must not flip it)."""

# (batch, in channels, out channels, height = width): 3x3 convolutions of DF-GAN's 64 px generator and
# discriminator at nf 32 (the widths 256/128/64/32 and the resolutions they run at), batch 4
PROBE_SHAPES = ((4, 256, 256, 8), (4, 128, 128, 16), (4, 64, 64, 32), (4, 32, 32, 64))


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of /proc/cpuinfo (empty where that file does not exist)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what :mod:`platform` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"


def native_bf16(device: torch.device | str = "cpu") -> bool:
    """True where the hardware has bf16 instructions: a CUDA GPU that supports bf16, or a CPU with AMX-BF16
    or AVX512-BF16 (an Apple/ARM CPU through its ``bf16`` flag). Having them does not make bf16 faster
    (see the module docstring): :func:`bf16_faster` measures that."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    flags = cpu_flags()
    return any(f in flags for f in _BF16_CPU_FLAGS) or "bf16" in flags


@dataclass(frozen=True)
class PrecisionChoice:
    """What ``auto`` picks on a device and why (``wordsight bench`` prints it)."""

    precision: str  # "bf16" or "no"
    reason: str
    fp32_ms: float | None = None  # the probe's time per pass, when measured
    bf16_ms: float | None = None
    cached: bool = False

    @property
    def speedup(self) -> float | None:
        return self.fp32_ms / self.bf16_ms if self.fp32_ms and self.bf16_ms else None


def precision_cache_path() -> Path:
    """The JSON file the measurements are kept in: ``$WORDSIGHT_CACHE/precision.json``, else
    ``$XDG_CACHE_HOME/wordsight/precision.json`` (``~/.cache/wordsight``)."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "wordsight")
    return Path(root) / "precision.json"


def _machine_key() -> str:
    """One key per CPU model, feature set, torch build and thread count (what the timing depends on)."""
    flags = hashlib.sha1(" ".join(sorted(cpu_flags())).encode()).hexdigest()[:12]
    probe = hashlib.sha1(repr(PROBE_SHAPES).encode()).hexdigest()[:8]  # a changed probe measures again
    return f"{cpu_model()}|flags {flags}|torch {torch.__version__}|threads {torch.get_num_threads()}|probe {probe}"


def measure_bf16_speedup(shapes=PROBE_SHAPES, repeats: int = 5) -> tuple[float, float]:
    """Milliseconds of one forward + backward pass through 3x3 convolutions of ``shapes`` (channels_last, as
    training runs) in fp32 and under bf16 autocast: the best of ``repeats`` after a warm-up, the two
    precisions alternating so that a busy machine slows both alike."""
    gen = torch.Generator().manual_seed(0)
    convs = [torch.nn.Conv2d(cin, cout, 3, padding=1).to(memory_format=torch.channels_last) for _, cin, cout, _ in shapes]
    inputs = [torch.randn(b, cin, hw, hw, generator=gen).to(memory_format=torch.channels_last).requires_grad_()
              for b, cin, _, hw in shapes]

    def one_pass(bf16: bool) -> float:
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = sum(conv(x).float().square().mean() for conv, x in zip(convs, inputs))
        loss.backward()
        return time.perf_counter() - start

    one_pass(False), one_pass(True)  # warm-up: oneDNN picks and caches its kernels on first use
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeats):
        for bf16 in (False, True):
            times[bf16].append(one_pass(bf16))
    return min(times[False]) * 1000, min(times[True]) * 1000


def _read_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, data: dict) -> None:
    try:  # a cache that cannot be written (read-only home) only costs a re-measurement next time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        pass


@functools.lru_cache(maxsize=8)
def _cpu_choice(key: str) -> PrecisionChoice:
    path = precision_cache_path()
    cache = _read_cache(path)
    if isinstance(cache.get(key), dict):
        try:
            return PrecisionChoice(**{**cache[key], "cached": True})
        except TypeError:  # an older cache layout: measure again
            pass
    fp32_ms, bf16_ms = measure_bf16_speedup()
    faster = fp32_ms >= BF16_MARGIN * bf16_ms
    reason = (f"measured on this CPU ({cpu_model()}): bf16 {fp32_ms / bf16_ms:.2f}x the fp32 speed on DF-GAN-like "
              f"convolutions ({bf16_ms:.1f} vs {fp32_ms:.1f} ms); bf16 is chosen from {BF16_MARGIN:.2f}x")
    choice = PrecisionChoice("bf16" if faster else "no", reason, round(fp32_ms, 3), round(bf16_ms, 3))
    cache[key] = {k: v for k, v in asdict(choice).items() if k != "cached"}
    _write_cache(path, cache)
    return choice


def forget_measurement() -> None:
    """Drop this machine's cached timing (memory and file), so the next ``auto`` measures again."""
    _cpu_choice.cache_clear()
    path = precision_cache_path()
    cache = _read_cache(path)
    if cache.pop(_machine_key(), None) is not None:
        _write_cache(path, cache)


def precision_choice(device: torch.device | str = "cpu") -> PrecisionChoice:
    """What ``mixed_precision: auto`` resolves to on ``device``, and why."""
    device = torch.device(device)
    forced = os.environ.get(BF16_ENV, "").strip().lower()
    if forced in ("yes", "no"):
        return PrecisionChoice("bf16" if forced == "yes" else "no", f"{BF16_ENV}={forced}")
    if device.type == "cuda":
        ok = native_bf16(device)
        return PrecisionChoice("bf16" if ok else "no", "CUDA GPU " + ("with" if ok else "without") + " bf16 support")
    if device.type != "cpu":
        return PrecisionChoice("no", f"{device.type}: fp32")
    if not native_bf16(device):
        return PrecisionChoice("no", f"this CPU ({cpu_model()}) has no bf16 instructions (AMX-BF16, AVX512-BF16): "
                                     "PyTorch would emulate bf16, several times slower than fp32")
    return _cpu_choice(_machine_key())


def bf16_faster(device: torch.device | str = "cpu") -> bool:
    """True where bf16 autocast is measured (CPU) or known (CUDA) to be the faster precision."""
    return precision_choice(device).precision == "bf16"


def resolve_precision(mixed_precision: str, device: torch.device | str = "cpu") -> str:
    """``auto`` -> ``bf16`` where :func:`bf16_faster`, else ``no``; any other value is returned as is."""
    if mixed_precision != "auto":
        return mixed_precision
    return precision_choice(device).precision
