"""Multi-process entry point: the same training under ``torchrun`` or ``accelerate launch``.

    torchrun --nproc_per_node 2 -m wordsight.training.launch --config configs/dfgan_synthetic.yaml --out runs
    accelerate launch -m wordsight.training.launch --config dfgan_cub --data cub:/data/birds --out runs --resume latest
    python -m wordsight.training.launch --set steps=50 --set model.nf=8 --data random --out runs

``--data`` takes what ``wordsight train`` takes (``training.sources.build_data``): synthetic, cub:PATH,
oxford:PATH, coco:PATH, folder:PATH, or random[:N] (random tensors, for tests and speed checks). Without
it the config's ``data.source`` decides: ``synthetic`` trains on the synthetic world, a real data set
(``source: cub``) is refused, since its path is needed.

A config whose ``system`` is a saliency system (salicon, salgan, text-salgan) is a SaliencyTrainConfig and
is trained by the single-process saliency trainer (``training.saliency.train_from_spec``; --data
synthetic, osie:PATH, folder:PATH, sjtu-tis:PATH, manifest:PATH); under several processes it is refused.

Exit status: 0 when training ends, 2 on a config/input error, 130/143 after SIGINT/SIGTERM (a checkpoint
was saved first).
"""

from __future__ import annotations

import argparse
import os
import sys

from ..config import ConfigError, apply_overrides, load_config, read_yaml, resolve_config_path
from ..utils.checks import InputError
from ..utils.registry import RegistryError
from .config import TrainConfig
from .sources import RANDOM_SAMPLES, TRAINING_DATA_FORMS, build_data, default_data_spec, parse_data_spec

SALIENCY_DATA_FORMS = ("synthetic", "osie:PATH", "folder:PATH", "saliency:PATH", "sjtu-tis:PATH", "manifest:PATH")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m wordsight.training.launch", description=__doc__.split("\n")[0])
    p.add_argument("--config", default=None, help="training YAML or shipped config name (TrainConfig; SaliencyTrainConfig when its system is "
                   "a registered saliency system: salicon, salgan, text-salgan, ...); TrainConfig defaults otherwise")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a config field, e.g. model.nf=16")
    p.add_argument("--out", default="runs", help="folder of numbered run folders")
    p.add_argument("--resume", default=None, help="'latest' or a checkpoint/run folder")
    p.add_argument("--data", default=None, help=f"training data: {' | '.join(TRAINING_DATA_FORMS)}; saliency systems: "
                   f"{' | '.join(SALIENCY_DATA_FORMS)}; default: the config's data.source when that is synthetic")
    p.add_argument("--data-samples", type=int, default=None, help=f"dataset size for --data random (default {RANDOM_SAMPLES})")
    p.add_argument("--desc", default=None, help="run folder suffix")
    return p.parse_args(argv)


def config_system(path: str | None, overrides: list[str]) -> str:
    """The ``system`` a config (YAML + overrides) names, read before choosing its config class."""
    raw = read_yaml(resolve_config_path(path)) if path is not None else {}
    system = apply_overrides(raw, [o for o in overrides if o.split("=", 1)[0].strip() == "system"]).get("system", "dfgan")
    return str(system)


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def _train_gan(args: argparse.Namespace) -> int:
    from .loop import train  # imported here so --help is fast

    cfg = load_config(TrainConfig, args.config, args.overrides)
    spec = args.data if args.data is not None else default_data_spec(cfg)
    parsed = parse_data_spec(spec)
    if args.data_samples is not None:
        if parsed.kind != "random":
            raise InputError(f"--data-samples is for --data random, not --data {spec}")
        spec = f"random:{args.data_samples}"
    data = build_data(spec, cfg, progress=cfg.progress and _is_main_process())
    result = train(cfg, cfg.system, data, args.out, resume=args.resume, desc=args.desc)
    if _is_main_process():
        print(f"run folder: {result.run_dir} (step {result.step}, stopped by {result.stopped_by})")
    return {"SIGINT": 130, "SIGTERM": 143}.get(result.stopped_by, 0)


def _train_saliency(args: argparse.Namespace, system: str) -> int:
    from .saliency import SaliencyTrainConfig, check_config, train_from_spec

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        raise InputError(f"saliency training ({system}) is single-process; run it without torchrun/accelerate "
                         f"(python -m wordsight.training.launch --config ... or wordsight train {system}), not with {world} processes")
    cfg = load_config(SaliencyTrainConfig, args.config, args.overrides)
    check_config(cfg)
    if args.data is None:
        if system != "text-salgan":
            raise InputError(f"this config trains {system} on a saliency data set; pass --data osie:PATH "
                             "(or folder:PATH, sjtu-tis:PATH, manifest:PATH)")
        spec = "synthetic"
    else:
        spec = parse_data_spec(args.data, SALIENCY_DATA_FORMS, what="saliency data").text
    if args.data_samples is not None:
        raise InputError("--data-samples is for --data random (GAN systems), not for saliency training")
    result, folder = train_from_spec(cfg, spec, args.out, args.resume, args.desc)
    print(f"run folder: {result.run_dir} (step {result.step}, stopped by {result.stopped_by})")
    print(f"pipeline: {folder}")
    return 130 if result.stopped_by == "interrupt" else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        system = config_system(args.config, args.overrides)
        from .saliency import SALIENCY_SYSTEMS

        if system in SALIENCY_SYSTEMS:
            return _train_saliency(args, system)
        return _train_gan(args)
    except (ConfigError, InputError, RegistryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
