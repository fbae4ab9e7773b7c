"""DF-GAN training speed: the official step (benchmarks/official_dfgan_step.py) against wordsight's, side by side.

    python benchmarks/bench_dfgan_vs_official.py                 # both settings, 3 interleaved rounds
    python benchmarks/bench_dfgan_vs_official.py --sizes 64 --rounds 2 --compile

Everything is measured in one process, interleaved (round 1 of every row, then round 2, ...), best of the
rounds, so a loaded machine slows all rows alike; the ratios are the result, the absolute img/s move with the
load (printed before and after). Tables:

1. per mode (fp32 eager, fp32 + channels_last, bf16 autocast + channels_last): official img/s, wordsight img/s
   (``measure_train_speed``, the exact recipe), ratio, and each one's share of this machine's matmul peak for
   the mode's dtype (``matmul_peak``; FLOPs counted with ``FlopCounterMode``);
2. wordsight's speed options (``model.*`` keys of the DF-GAN config) in the mode ``mixed_precision: auto``
   picks here (``precision_choice()``) + channels_last, each against the official code's best mode and
   against wordsight's exact recipe;
3. the full training loop (``measure_trainer_speed``: data, NaN guard, EMA, logging) with the exact recipe
   and with the chosen default options.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from official_dfgan_step import MODES, OfficialDFGAN, random_batch  # noqa: E402

from wordsight.training import benchmark as B  # noqa: E402
from wordsight.training.objectives.dfgan import DFGANConfig, DFGANObjective  # noqa: E402
from wordsight.utils.hardware import precision_choice  # noqa: E402

NF, SENT = 32, 256  # the settings (--nf changes NF for a quick smoke run)


def _load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


@contextlib.contextmanager
def _options(**opts):
    """measure_train_speed builds the default objective; build it with the speed options instead."""
    if not opts:
        yield
        return
    original = B._objective
    B._objective = lambda size, nf, dim: DFGANObjective.from_config(DFGANConfig(nf=nf, image_size=size, sentence_dim=dim, **opts))
    try:
        yield
    finally:
        B._objective = original


def official(size: int, batch: int, mode: str, steps: int, warmup: int) -> tuple[float, float]:
    """(img/s, GFLOP/s) of the official step."""
    torch.manual_seed(0)
    model = OfficialDFGAN(size, NF, sent_dim=SENT, mode=mode)
    imgs, sent = random_batch(size, batch, SENT)
    for _ in range(warmup):
        model.step(imgs, sent)
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = B._GlobalOnly()  # autograd.grad (MA-GP) rejects the per-module hooks
    with counter:
        model.step(imgs, sent)
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step(imgs, sent)
    dt = (time.perf_counter() - t0) / steps
    return batch / dt, counter.get_total_flops() / dt / 1e9


def wordsight(size: int, batch: int, mode: str, steps: int, warmup: int, **opts) -> tuple[float, float]:
    every = opts.get("ma_gp_every", 1)
    steps = max(every, (steps + every - 1) // every * every)  # whole MA-GP periods in the timed window
    warmup = max(warmup, 6) if opts.get("compile") else warmup  # compile (and recompile) before timing
    with _options(**opts):
        r = B.measure_train_speed(size, batch, NF, SENT, amp=mode.startswith("bf16"), channels_last="channels_last" in mode,
                                  steps=steps, warmup=warmup)
    return r.img_per_s, r.gflop_per_s


def trainer(size: int, batch: int, precision: str, steps: int, extra: list[str]) -> float:
    """img/s of the full training loop; ``extra`` overrides (the speed options) join its config."""
    import wordsight.config as C

    original = C.load_config

    def load(cls, name, overrides=(), *a, **k):
        return original(cls, name, [*overrides, *extra], *a, **k)

    C.load_config = load
    try:
        return B.measure_trainer_speed(size, batch, NF, precision=precision, channels_last=True, steps=steps).img_per_s
    finally:
        C.load_config = original


def interleaved(rows: dict, rounds: int) -> dict:
    best: dict = {}
    for r in range(rounds):
        for name, fn in rows.items():
            value = fn()
            if name not in best or value[0] > best[name][0]:
                best[name] = value
            print(f"  round {r + 1} {name}: {value[0]:.2f} img/s ({_load()})", file=sys.stderr, flush=True)
    return best


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compile", action="store_true", help="also time model.compile at 64 px (minutes of compile time per row)")
    ap.add_argument("--no-trainer", action="store_true", help="skip the full-loop table")
    ap.add_argument("--lazy", type=int, nargs="+", default=[2, 4, 8], help="ma_gp_every values to time")
    ap.add_argument("--nf", type=int, default=32)
    ap.add_argument("--batch", type=int, default=None, help="override the batch (32 at 64 px, 8 at 256 px)")
    ap.add_argument("--default", default="ma_gp_every=4,fused_affine=true", help="a combination of options for the last row and the full-loop table")
    args = ap.parse_args(argv)
    global NF
    NF = args.nf
    choice = precision_choice()
    auto_mode = ("bf16" if choice.precision == "bf16" else "fp32") + "+channels_last"
    default_opts = {}
    for item in filter(None, args.default.split(",")):
        key, value = item.split("=")
        default_opts[key] = {"true": True, "false": False}.get(value, int(value) if value.isdigit() else value)
    peaks = {"fp32": B.matmul_peak(torch.float32), "bf16": B.matmul_peak(torch.bfloat16)}
    print(f"# {_load()}, torch {torch.__version__}, {torch.get_num_threads()} threads; matmul peak fp32 {peaks['fp32']:.0f}, "
          f"bf16 {peaks['bf16']:.0f} GFLOP/s; mixed_precision auto -> {choice.precision} ({choice.reason})")
    for size in args.sizes:
        batch = args.batch or (32 if size <= 64 else 8)
        steps, warmup = (4, 1) if size <= 64 else (2, 1)
        print(f"\n## {size} px, batch {batch}, nf {NF}, sentence {SENT}, best of {args.rounds} interleaved rounds")
        rows = {}
        for mode in MODES:
            rows[("official", mode)] = lambda m=mode: official(size, batch, m, steps, warmup)
            rows[("wordsight", mode)] = lambda m=mode: wordsight(size, batch, m, steps, warmup)
        options = {"fused_affine": {"fused_affine": True}}
        for every in args.lazy if size <= 64 else [e for e in args.lazy if e >= 4]:  # fewer rows at 256 px
            options[f"ma_gp_every={every}"] = {"ma_gp_every": every}
        if args.compile and size <= 64:  # minutes of compile time per row; 64 px only
            options["compile + ma_gp_every=4"] = {"compile": True, "ma_gp_every": 4}
        options["combined: " + args.default] = default_opts
        for name, opts in options.items():
            rows[("option", name)] = lambda o=opts: wordsight(size, batch, auto_mode, steps, warmup, **o)
        best = interleaved(rows, args.rounds)
        print("\n| mode | official img/s | wordsight img/s | ratio | official % of peak | wordsight % of peak |")
        print("|---|---|---|---|---|---|")
        for mode in MODES:
            (o, of), (w, wf) = best[("official", mode)], best[("wordsight", mode)]
            peak = peaks["bf16" if mode.startswith("bf16") else "fp32"]
            print(f"| {mode} | {o:.2f} | {w:.2f} | {w / o:.2f}x | {100 * of / peak:.0f}% | {100 * wf / peak:.0f}% |")
        off_mode = max(MODES, key=lambda m: best[("official", m)][0])
        off_best, exact = best[("official", off_mode)][0], best[("wordsight", auto_mode)][0]
        peak = peaks["bf16" if auto_mode.startswith("bf16") else "fp32"]
        print(f"\nspeed options in {auto_mode} (auto); official best mode: {off_mode}, {off_best:.2f} img/s\n")
        print("| wordsight option | img/s | vs official best | vs wordsight exact | % of peak |")
        print("|---|---|---|---|---|")
        print(f"| exact recipe (defaults before) | {exact:.2f} | {exact / off_best:.2f}x | 1.00x | {100 * best[('wordsight', auto_mode)][1] / peak:.0f}% |")
        for name in options:
            v, f = best[("option", name)]
            print(f"| {name} | {v:.2f} | {v / off_best:.2f}x | {v / exact:.2f}x | {100 * f / peak:.0f}% |")
        if not args.no_trainer:
            extra = [f"model.{k}={str(v).lower()}" for k, v in default_opts.items()]
            loop = interleaved({"exact": lambda: (trainer(size, batch, choice.precision, 4,
                                                          ["model.ma_gp_every=1", "model.fused_affine=false"]), 0.0),
                                "default": lambda: (trainer(size, batch, choice.precision, 4, extra), 0.0)},
                               max(1, args.rounds - 1))
            e, d = loop["exact"][0], loop["default"][0]
            print(f"\nfull training loop (Trainer, synthetic data, sentence 64, {choice.precision} + channels_last): "
                  f"exact recipe {e:.2f} img/s, {args.default} {d:.2f} img/s ({d / e:.2f}x; {d / off_best:.2f}x the official best step)")
    print(f"\n# done, {_load()}")


if __name__ == "__main__":
    main()
