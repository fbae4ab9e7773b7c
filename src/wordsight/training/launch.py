"""Multi-process entry point: the same training under ``torchrun`` or ``accelerate launch``.

    torchrun --nproc_per_node 2 -m wordsight.training.launch --config run.yaml --out runs
    accelerate launch -m wordsight.training.launch --config run.yaml --out runs --resume latest
    python -m wordsight.training.launch --set steps=50 --set model.nf=8 --data random --out runs

Exit status: 0 when training ends, 2 on a config/input error, 130/143 after SIGINT/SIGTERM (a checkpoint
was saved first).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

from ..config import ConfigError, load_config
from ..utils.checks import InputError
from ..utils.registry import Registry, RegistryError
from .config import TrainConfig
from .data import RandomCaptionData

DATA_SOURCES: Registry[Callable[[TrainConfig, argparse.Namespace], Any]] = Registry("training data source")


@DATA_SOURCES.register("random")
def _random_data(cfg: TrainConfig, args: argparse.Namespace) -> RandomCaptionData:
    """Random images and sentence vectors sized from the model config (for tests and speed checks)."""
    size = int(cfg.model.get("image_size", 64))
    dim = int(cfg.model.get("sentence_dim", 256))
    return RandomCaptionData(num_samples=args.data_samples, image_size=size, sentence_dim=dim, seed=cfg.seed)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m wordsight.training.launch", description=__doc__.split("\n")[0])
    p.add_argument("--config", default=None, help="training YAML (TrainConfig fields); defaults otherwise")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a config field, e.g. model.nf=16")
    p.add_argument("--out", default="runs", help="folder of numbered run folders")
    p.add_argument("--resume", default=None, help="'latest' or a checkpoint/run folder")
    p.add_argument("--data", default="random", help=f"data source: {', '.join(DATA_SOURCES.names())}")
    p.add_argument("--data-samples", type=int, default=256, help="dataset size for --data random")
    p.add_argument("--desc", default=None, help="run folder suffix")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from .loop import train  # imported here so --help is fast

    args = parse_args(argv)
    try:
        cfg = load_config(TrainConfig, args.config, args.overrides)
        data = DATA_SOURCES.get(args.data)(cfg, args)
        result = train(cfg, cfg.system, data, args.out, resume=args.resume, desc=args.desc)
    except (ConfigError, InputError, RegistryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if os.environ.get("RANK", "0") == "0":
        print(f"run folder: {result.run_dir} (step {result.step}, stopped by {result.stopped_by})")
    return {"SIGINT": 130, "SIGTERM": 143}.get(result.stopped_by, 0)


if __name__ == "__main__":
    sys.exit(main())
