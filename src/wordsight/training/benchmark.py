"""Speed benchmarks behind `wordsight bench`: training throughput and generation latency.

They print tables; they are not tests. Each training-speed figure is measured in the same run as a
plain fp32 eager baseline of the same model, so the ratio is meaningful on a loaded machine too.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from .objective import SYSTEMS


def matmul_peak(dtype: torch.dtype = torch.bfloat16, n: int = 2048, seconds: float = 1.0) -> float:
    """Measured matmul throughput of this machine in GFLOP/s for ``dtype`` (the 'peak' we compare against)."""
    a = torch.randn(n, n, dtype=dtype)
    b = torch.randn(n, n, dtype=dtype)
    for _ in range(2):
        a @ b
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - t0) / 1e9


class _GlobalOnly:
    """Stands in for FlopCounterMode's module tracker: every FLOP is attributed to 'Global'."""

    parents = {"Global"}
    is_bw = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@dataclass
class TrainSpeed:
    mode: str
    img_per_s: float
    gflop_per_image: float
    gflop_per_s: float


def _objective(size: int, nf: int, sentence_dim: int):
    cls = SYSTEMS.get("dfgan")
    return cls.from_config(cls.config_cls(nf=nf, image_size=size, sentence_dim=sentence_dim))


def _train_step(obj, opts, batch, amp: bool) -> None:
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if amp else contextlib.nullcontext()
    for phase in obj.phases:
        opts[phase.optimizer].zero_grad(set_to_none=True)
        with ctx:
            loss = getattr(obj, phase.method)(batch)["loss"]
        loss.backward()
        opts[phase.optimizer].step()
    obj.end_step()


def measure_train_speed(size: int = 64, batch: int = 32, nf: int = 32, sentence_dim: int = 256,
                        amp: bool = True, channels_last: bool = True, steps: int = 5, warmup: int = 2) -> TrainSpeed:
    """img/s of one DF-GAN training step (D step + G step) on random data, and its FLOPs."""
    torch.manual_seed(0)
    obj = _objective(size, nf, sentence_dim)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    obj = obj.to(memory_format=fmt)
    opts = {k: torch.optim.Adam(v, lr=1e-4, betas=(0.0, 0.9)) for k, v in obj.optimizer_params().items()}
    data = {"images": (torch.rand(batch, 3, size, size) * 2 - 1).contiguous(memory_format=fmt),
            "sentence": torch.randn(batch, sentence_dim)}
    for _ in range(warmup):
        _train_step(obj, opts, data, amp)
    counter = FlopCounterMode(display=False)
    # The per-module tracker installs backward hooks that autograd.grad (MA-GP) rejects; count globally.
    counter.mod_tracker = _GlobalOnly()
    with counter:
        _train_step(obj, opts, data, amp)
    flops = counter.get_total_flops()
    t0 = time.perf_counter()
    for _ in range(steps):
        _train_step(obj, opts, data, amp)
    dt = (time.perf_counter() - t0) / steps
    mode = ("bf16" if amp else "fp32") + ("+channels_last" if channels_last else "")
    return TrainSpeed(mode, batch / dt, flops / batch / 1e9, flops / dt / 1e9)


def measure_generation(size: int = 256, nf: int = 32, sentence_dim: int = 256, amp: bool = True,
                       repeats: int = 10, compile: bool = False) -> dict[str, float]:
    """Batch-1 latency (ms) and batch-32 throughput (img/s) of the DF-GAN generator (channels_last;
    ``compile``: through ``torch.compile``, whose one-off compile time is reported as ``compile_s``)."""
    from ..models.dfgan import DFGenerator

    g = DFGenerator(nf=nf, sentence_dim=sentence_dim, image_size=size).eval().to(memory_format=torch.channels_last)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if amp else contextlib.nullcontext()
    out = {}
    if compile:
        g = torch.compile(g, dynamic=False)
        with torch.inference_mode(), ctx:
            t0 = time.perf_counter()
            g(torch.randn(1, 100), torch.randn(1, sentence_dim))
            g(torch.randn(32, 100), torch.randn(32, sentence_dim))
            out["compile_s"] = time.perf_counter() - t0
    with torch.inference_mode(), ctx:
        for bs, key in ((1, "latency_ms_batch1"), (32, "img_per_s_batch32")):
            z, s = torch.randn(bs, 100), torch.randn(bs, sentence_dim)
            for _ in range(2):
                g(z, s)
            n = repeats if bs == 1 else max(2, repeats // 4)
            t0 = time.perf_counter()
            for _ in range(n):
                g(z, s)
            dt = (time.perf_counter() - t0) / n
            out[key] = dt * 1000 if bs == 1 else bs / dt
    return out


@dataclass
class TrainerSpeed:
    mode: str
    img_per_s: float  # of the timed log window, as the run's metrics.jsonl records it
    data: str


def measure_trainer_speed(size: int = 64, batch: int = 32, nf: int = 32, precision: str = "no",
                          channels_last: bool = True, steps: int = 5, data: str = "synthetic",
                          num_scenes: int = 256) -> TrainerSpeed:
    """img/s of the real training loop (:class:`~wordsight.training.loop.Trainer`: its data source, NaN
    guard, gradient-norm checks, EMA, learning-rate schedule and logging) for DF-GAN, as a user's run
    reports it: ``steps`` warm-up steps, then ``steps`` timed ones, read from the run's ``metrics.jsonl``
    (``img_per_s`` of the second log window). ``data``: ``synthetic`` (the world's captions through the
    MiniLM sentence encoder, encoded up front as in training) or ``random``."""
    import json
    import tempfile
    from pathlib import Path

    from ..config import load_config
    from .config import TrainConfig
    from .loop import train
    from .sources import build_data

    # the shipped synthetic-world recipe, with the sizes asked for and nothing saved during the timing
    overrides = [f"steps={2 * steps}", f"batch_size={batch}", f"log_every={steps}", "sample_every=1000000000",
                 "checkpoint_every=1000000000", f"num_samples={min(4, batch)}", f"mixed_precision={precision}",
                 f"channels_last={str(channels_last).lower()}", "tensorboard=false", "progress=false", "minutes=null",
                 "eval_every=0", "eval_every_minutes=null", f"model.nf={nf}", f"model.image_size={size}"]
    if data == "synthetic":
        overrides.append(f"data.synthetic.num_scenes={num_scenes}")
    cfg = load_config(TrainConfig, "dfgan_synthetic", overrides)
    dataset = build_data(data, cfg, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        result = train(cfg, "dfgan", dataset, tmp)
        records = [json.loads(line) for line in (Path(result.run_dir) / "metrics.jsonl").read_text().splitlines()]
    timed = [r for r in records if "img_per_s" in r and int(r["step"]) == 2 * steps]
    if not timed:
        raise RuntimeError(f"the benchmark run logged no window ending at step {2 * steps}")
    mode = ("bf16" if precision == "bf16" else "fp32") + ("+channels_last" if channels_last else "")
    return TrainerSpeed(mode, float(timed[-1]["img_per_s"]), data)
