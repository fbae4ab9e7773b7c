"""`wordsight train SYSTEM`: train a published system (or the synthetic world's oracle)."""

from __future__ import annotations

from pathlib import Path

import typer

from . import train_damsm, train_saliency

app = typer.Typer(help="Train a system: dfgan, damsm, salicon, salgan, text-salgan, oracle.", no_args_is_help=True)


@app.command("dfgan", context_settings={"allow_extra_args": False})
def train_dfgan_cmd(
    overrides: list[str] = typer.Argument(None, help="Config overrides key=value (model.nf=16, steps=500, data.num_scenes=500)."),
    data: str = typer.Option("synthetic", help="synthetic | cub:PATH | oxford:PATH | coco:PATH | folder:PATH"),
    config: str = typer.Option("dfgan_synthetic", help="A shipped config name (configs/) or a YAML path."),
    out: Path = typer.Option(Path("runs"), help="Folder of numbered run folders."),
    resume: str = typer.Option(None, help="'latest' or a checkpoint/run folder."),
    minutes: float = typer.Option(None, help="Time budget (stops at whichever of steps/minutes comes first)."),
    desc: str = typer.Option(None, help="Run folder suffix."),
    dry_run: bool = typer.Option(False, help="Print the resolved config and exit."),
) -> None:
    """Train DF-GAN (Tao et al., CVPR 2022). Multi-process: torchrun/accelerate launch -m wordsight.training.launch."""
    import yaml

    from ..config import config_to_dict, load_config
    from ..training.config import TrainConfig

    extra = list(overrides or []) + ([f"minutes={minutes}"] if minutes else [])
    cfg = load_config(TrainConfig, config, extra)
    from ..config import config_from_dict
    from ..training.objectives.dfgan import DFGANConfig

    config_from_dict(DFGANConfig, cfg.model)  # a misspelled model key fails here, listing the valid ones
    if dry_run:
        typer.echo(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
        return
    from ..training.loop import train
    from ..training.synthetic_data import build_training_data

    dataset = build_training_data(data, cfg, progress=cfg.progress)
    result = train(cfg, "dfgan", dataset, out, resume=resume, desc=desc or f"dfgan-{data.split(':')[0]}")
    typer.echo(f"run folder: {result.run_dir} (step {result.step}, stopped by {result.stopped_by})")
    if (result.run_dir / "generator_ema").exists():
        from ..pipelines.text_to_image import TextToImage
        from ..training.synthetic_data import training_text_encoder

        encoder, spec = training_text_encoder(dataset)
        pipe = TextToImage(result.ema.float().eval(), encoder, spec)
        pipe.save_pretrained(result.run_dir / "pipeline", extra={"trained_steps": result.step})
        typer.echo(f"pipeline: {result.run_dir / 'pipeline'} (wordsight generate {result.run_dir / 'pipeline'} \"CAPTION\")")
    if result.stopped_by in ("SIGINT", "SIGTERM"):
        raise typer.Exit(130 if result.stopped_by == "SIGINT" else 143)



@app.command("oracle")
def train_oracle_cmd(
    out: Path = typer.Option(Path("runs/oracle"), help="Folder for the oracle weights (safetensors + config.json)."),
    steps: int = typer.Option(4000, min=1, help="Training steps (batch 64, scenes rendered on the fly)."),
    seed: int = typer.Option(0),
    eval_scenes: int = typer.Option(2000, min=1, help="Fresh test/held-out scenes to measure accuracy on."),
) -> None:
    """Train the synthetic world's oracle CNN and report its per-attribute accuracy.

    The shipped weights were made with `scripts/train_oracle.sh`.
    """
    from ..training.oracle import OracleTrainConfig, train_oracle

    report = train_oracle(out, OracleTrainConfig(steps=steps, seed=seed, eval_scenes=eval_scenes))
    for split in ("test", "heldout"):
        accs = "  ".join(f"{k} {v:.4f}" for k, v in report[split].items())
        typer.echo(f"{split:8s} {accs}")
    typer.echo(f"saved to {out}")


train_damsm.register(app)
train_saliency.register(app)
