"""Does IMAGAN train under mixed precision without NaNs? (issue 19; seed 003 hit NaNs with PyTorch AMP.)

    python benchmarks/imagan_bf16_stability.py --steps 1000                 # the table in docs/imagan.md
    python benchmarks/imagan_bf16_stability.py --steps 50 --precision no    # the same in fp32

Trains DF-GAN and the IMAGAN variants with the library's training loop (``training.loop.train``: autocast,
the NaN guard that skips an update whose losses or gradients are not finite, EMA) on the synthetic world, and
prints per variant: steps run, D/G steps whose loss was not finite, steps the loop skipped, and the final
losses. A variant fails (exit status 1) when any loss was non-finite or any step was skipped.

``--precision fp16`` (with the loop's gradient scaler) needs a GPU and is refused on a CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

from wordsight.training import TrainConfig, build_objective
from wordsight.training.loop import train
from wordsight.training.sources import build_data

VARIANTS = {  # name -> (system, model options beyond the sizes)
    "dfgan": ("dfgan", {}),
    "imagan G=rdb D=dfgan": ("imagan", {"generator": "rdb", "discriminator": "dfgan"}),
    "imagan G=dfgan D=unet+cutmix": ("imagan", {"generator": "dfgan", "discriminator": "unet", "cutmix": True}),
    "imagan G=rdb D=unet+cutmix": ("imagan", {"generator": "rdb", "discriminator": "unet", "cutmix": True}),
}


def _count_non_finite(objective, counts: dict[str, int], last: dict[str, float]) -> None:
    """Wrap the objective's d_step/g_step (instance attributes, which the loop looks up by name) so every
    call's loss terms are checked and the last ones kept."""
    for method in ("d_step", "g_step"):
        inner = getattr(objective, method)

        def wrapped(batch, inner=inner, phase=method[0]):
            out = inner(batch)
            values = {k: float(v.detach().float()) for k, v in out.items()}
            counts[phase] += not all(math.isfinite(v) for v in values.values())
            last.update({f"{phase}/{k}": v for k, v in values.items()})
            if "ma_gp" in values:
                last["max_ma_gp"] = max(last.get("max_ma_gp", 0.0), values["ma_gp"])
            return out

        setattr(objective, method, wrapped)


def run_variant(name: str, args: argparse.Namespace, root: Path) -> dict:
    system, options = VARIANTS[name]
    model = {"nf": args.nf, "z_dim": 32, "sentence_dim": args.sentence_dim, "image_size": args.size, **options}
    if system == "imagan" and options.get("generator") == "rdb":
        model["rdb_growth"] = args.growth
    cfg = TrainConfig(
        system=system, model=model, steps=args.steps, batch_size=args.batch, mixed_precision=args.precision,
        channels_last=True, seed=args.seed, log_every=max(1, args.steps // 10), sample_every=10**9,
        checkpoint_every=10**9, keep_last=1, num_samples=4, tensorboard=False, progress=False,
        max_bad_steps=10**9,  # count every bad step instead of stopping at the tenth in a row
        data={"source": "synthetic", "sentence_whitening": args.sentence_dim,
              "synthetic": {"min_objects": 1, "max_objects": 1, "num_scenes": args.scenes}},
    )
    data = build_data("synthetic", cfg, progress=False)
    torch.manual_seed(args.seed)
    objective = build_objective(system, cfg.model, data)
    counts, last = {"d": 0, "g": 0}, {}
    _count_non_finite(objective, counts, last)
    start = time.perf_counter()
    result = train(cfg, objective, data, root, desc=name.replace(" ", "_").replace("=", "-").replace("+", "-"))
    seconds = time.perf_counter() - start
    return {"variant": name, "steps": result.step, "non_finite_d": counts["d"], "non_finite_g": counts["g"],
            "skipped": sum(result.skipped_steps.values()), "d_loss": last.get("d/loss"), "g_loss": last.get("g/loss"),
            "ma_gp": last.get("d/ma_gp"), "max_ma_gp": last.get("max_ma_gp"), "d_pixel": (last.get("d/d_pixel_real", math.nan) + last.get("d/d_pixel_fake", math.nan))
            if "d/d_pixel_real" in last else None, "seconds": round(seconds, 1)}


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--precision", default="bf16", choices=("bf16", "fp16", "no"))
    p.add_argument("--size", type=int, default=32, help="image size (16 to 256)")
    p.add_argument("--nf", type=int, default=8)
    p.add_argument("--growth", type=int, default=8, help="RDB growth rate")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--sentence-dim", type=int, default=16)
    p.add_argument("--scenes", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), help=f"a subset of {list(VARIANTS)}")
    p.add_argument("--json", type=Path, help="also write the rows here")
    args = p.parse_args(argv)
    if args.precision == "fp16" and not torch.cuda.is_available():
        print("fp16 with a gradient scaler needs a GPU; none here (use --precision bf16)", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.variants:
            rows.append(run_variant(name, args, Path(tmp)))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"{args.precision} autocast, {args.size} px, nf {args.nf}, batch {args.batch}, synthetic world ({args.scenes} scenes), "
          f"torch {torch.__version__}\n")
    cols = ["variant", "steps", "non_finite_d", "non_finite_g", "skipped", "d_loss", "g_loss", "ma_gp", "max_ma_gp", "d_pixel", "seconds"]
    print("| " + " | ".join(cols) + " |\n|" + " --- |" * len(cols))
    for row in rows:
        print("| " + " | ".join(_fmt(row[c]) for c in cols) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    bad = [r["variant"] for r in rows if r["non_finite_d"] or r["non_finite_g"] or r["skipped"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
