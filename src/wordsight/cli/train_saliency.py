"""`wordsight train salicon | salgan | text-salgan` (registered on the `train` group by `register(app)`)."""

from __future__ import annotations

from pathlib import Path

import typer

DEFAULT_CONFIGS = {"salicon": "salicon_osie", "salgan": "salgan_osie", "text-salgan": "text_salgan_synthetic"}
DATA_HELP = "synthetic | osie:PATH | folder:PATH | sjtu-tis:PATH | manifest:PATH"


def load_saliency_config(system: str, config: str | None, overrides: list[str], minutes: float | None,
                         random_init: bool):
    """The resolved SaliencyTrainConfig of a command line (shared with `wordsight ablate`)."""
    from ..config import ConfigError, load_config
    from ..training.saliency import SaliencyTrainConfig, check_config

    extra = list(overrides or [])
    if minutes:
        extra.append(f"minutes={minutes}")
    if random_init:
        extra.append("random_init=true")
    cfg = load_config(SaliencyTrainConfig, config or DEFAULT_CONFIGS[system], extra)
    if cfg.system != system:
        raise ConfigError(f"config {config!r} is for system {cfg.system!r}, not {system!r}")
    check_config(cfg)
    return cfg


def _train(system: str, overrides, data, config, out, resume, minutes, random_init, desc, dry_run) -> None:
    import yaml

    from ..config import config_to_dict

    cfg = load_saliency_config(system, config, overrides, minutes, random_init)
    if dry_run:
        typer.echo(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
        return
    from ..training.saliency import train_from_spec

    result, folder = train_from_spec(cfg, data, out, resume, desc)
    typer.echo(f"run folder: {result.run_dir} (step {result.step}, stopped by {result.stopped_by})")
    typer.echo(f"pipeline: {folder}  (wordsight saliency IMAGE --model {folder} --out overlay.png)")
    if result.stopped_by == "interrupt":
        raise typer.Exit(130)


def _command(system: str, default_data: str, doc: str):
    def command(
        overrides: list[str] = typer.Argument(None, help="Config overrides key=value (lr=1e-4, model.width=0.25, epochs=5)."),
        data: str = typer.Option(default_data, help=DATA_HELP),
        config: str = typer.Option(None, help=f"A shipped config name or YAML path (default {DEFAULT_CONFIGS[system]})."),
        out: Path = typer.Option(Path("runs"), help="Folder of numbered run folders."),
        resume: str = typer.Option(None, help="'latest' or a checkpoint/run folder."),
        minutes: float = typer.Option(None, help="Time budget; a checkpoint is written when it runs out."),
        random_init: bool = typer.Option(False, "--random-init", help="Train from random VGG-16 weights when no weights file exists."),
        desc: str = typer.Option(None, help="Run folder suffix."),
        dry_run: bool = typer.Option(False, help="Print the resolved config and exit."),
    ) -> None:
        _train(system, overrides, data, config, out, resume, minutes, random_init, desc, dry_run)

    command.__doc__ = doc
    return command


def register(app: typer.Typer) -> None:
    """Add `salicon`, `salgan` and `text-salgan` to the `train` group."""
    app.command("salicon")(_command("salicon", "osie:data/osie", "Train SALICON (Huang et al. 2015, OpenSalicon)."))
    app.command("salgan")(_command("salgan", "osie:data/osie", "Train SalGAN (Pan et al. 2017)."))
    app.command("text-salgan")(_command("text-salgan", "synthetic", "Train the text-aligned SalGAN (seed 000)."))
