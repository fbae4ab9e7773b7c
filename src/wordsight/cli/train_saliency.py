"""`wordsight train <saliency system>` for every system in ``training.saliency.SALIENCY_SYSTEMS`` (salicon,
salgan, text-salgan; registered on the `train` group by `register(app)`): a new registered system gets its
command with no edit here."""

from __future__ import annotations

from pathlib import Path

import typer

DATA_HELP = "synthetic | osie:PATH | folder:PATH (= saliency:PATH: images/ + maps/ by stem) | sjtu-tis:PATH | manifest:PATH"


def load_saliency_config(system: str, config: str | None, overrides: list[str], minutes: float | None,
                         random_init: bool, vgg: str | None = None):
    """The resolved SaliencyTrainConfig of a command line (shared with `wordsight ablate`)."""
    from ..config import ConfigError, load_config
    from ..training.saliency import SALIENCY_SYSTEMS, SaliencyTrainConfig, check_config

    extra = list(overrides or [])
    if minutes:
        extra.append(f"minutes={minutes}")
    if random_init:
        extra.append("random_init=true")
    if vgg:  # ImageNet features: the papers' setting (frozen early blocks), not the random-init CPU configs'
        extra += [f"vgg_weights={vgg}", "random_init=false"]
    cfg = load_config(SaliencyTrainConfig, config or SALIENCY_SYSTEMS.get(system).default_config, extra)
    if cfg.system != system:
        raise ConfigError(f"config {config!r} is for system {cfg.system!r}, not {system!r}")
    check_config(cfg)
    return cfg


def _train(system: str, overrides, data, config, out, resume, minutes, random_init, desc, dry_run, vgg=None) -> None:
    import yaml

    from ..config import config_to_dict

    cfg = load_saliency_config(system, config, overrides, minutes, random_init, vgg)
    if dry_run:
        typer.echo(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
        return
    from ..training.saliency import train_from_spec

    result, folder = train_from_spec(cfg, data, out, resume, desc)
    typer.echo(f"run folder: {result.run_dir} (step {result.step}, stopped by {result.stopped_by})")
    typer.echo(f"pipeline: {folder}  (wordsight saliency IMAGE --model {folder} --out overlay.png)")
    if result.stopped_by == "interrupt":
        raise typer.Exit(130)


def _command(system: str, default_data: str, default_config: str, doc: str):
    def command(
        overrides: list[str] = typer.Argument(None, help="Config overrides key=value (lr=1e-4, model.width=0.25, epochs=5)."),
        data: str = typer.Option(default_data, help=DATA_HELP),
        config: str = typer.Option(None, help=f"A shipped config name or YAML path (default {default_config})."),
        out: Path = typer.Option(Path("runs"), help="Folder of numbered run folders."),
        resume: str = typer.Option(None, help="'latest' or a checkpoint/run folder."),
        minutes: float = typer.Option(None, help="Time budget; a checkpoint is written when it runs out."),
        random_init: bool = typer.Option(False, "--random-init", help="Train from random VGG-16 weights when no weights file exists."),
        desc: str = typer.Option(None, help="Run folder suffix."),
        dry_run: bool = typer.Option(False, help="Print the resolved config and exit."),
        vgg: str = typer.Option(None, help="torchvision's VGG-16 file (vgg16-397923af.pth) to start the encoder from "
                                "ImageNet features, as the papers do; read locally, nothing is downloaded."),
    ) -> None:
        _train(system, overrides, data, config, out, resume, minutes, random_init, desc, dry_run, vgg)

    command.__doc__ = doc
    return command


def register(app: typer.Typer) -> None:
    """Add a `train` command for every registered saliency system."""
    from ..training.saliency import SALIENCY_SYSTEMS

    for name in SALIENCY_SYSTEMS.names():
        spec = SALIENCY_SYSTEMS.get(name)
        app.command(name)(_command(name, spec.default_data, spec.default_config, f"Train {spec.summary or name}."))
