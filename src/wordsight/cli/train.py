"""`wordsight train SYSTEM`: train a published system (or the synthetic world's oracle)."""

from __future__ import annotations

from pathlib import Path

import typer

from . import train_damsm, train_saliency

OTHER_SYSTEMS = {
    "damsm": "DAMSM text and image encoders (AttnGAN): R-precision and the DAMSM loss",
    "oracle": "the synthetic world's attribute oracle (for evaluation)",
}


def _list_systems(value: bool) -> None:
    if not value:
        return
    from ..training import SYSTEMS
    from ..training.saliency import SALIENCY_SYSTEMS

    rows = {name: getattr(SYSTEMS.get(name), "summary", "") for name in SYSTEMS.names()}
    rows.update({name: SALIENCY_SYSTEMS.get(name).summary for name in SALIENCY_SYSTEMS.names()})
    rows.update(OTHER_SYSTEMS)
    rows.update({alias: f"the same as {name}" for alias, name in SYSTEM_ALIASES.items()})
    width = max(map(len, rows))
    for name in sorted(rows):
        typer.echo(f"{name:{width}s}  {rows[name]}")
    raise typer.Exit(0)


app = typer.Typer(help="Train a system (wordsight train --list prints them).", no_args_is_help=True)


@app.callback(invoke_without_command=True)
def _train_group(list_: bool = typer.Option(False, "--list", callback=_list_systems, is_eager=True,
                                             help="List every trainable system with a line of description.")) -> None:
    """Train a registered system."""


def default_config_name(system: str, data: str | None) -> str:
    """``<system>_<source>`` when configs/ has one (dfgan_cub for --data cub:PATH), else ``<system>_synthetic``."""
    from ..config import CONFIG_DIR

    stem = system.replace("-", "_")
    source = (data or "synthetic").split(":", 1)[0]
    for name in (f"{stem}_{source}", f"{stem}_synthetic"):
        if (CONFIG_DIR / f"{name}.yaml").exists():
            return name
    raise typer.BadParameter(f"no shipped config for {system!r}; pass --config")


def export_pipeline(result, dataset, data: str, system: str) -> "Path | None":
    """Write ``<run>/pipeline``: the run's parts (``objective.pipeline_parts``) added to its base pipeline
    (when it extends one), or a new pipeline of the EMA generator and the training text encoder, with what
    the model knows about itself (system, data, vocabulary)."""
    from ..pipelines.text_to_image import TextToImage
    from ..text.tokenizer import tokenize
    from ..training.synthetic_data import training_text_encoder

    objective = result.objective
    parts = objective.pipeline_parts(result.ema.float().eval())
    if objective.base_pipeline is not None:
        pipe = TextToImage.from_pretrained(objective.base_pipeline)
        if "generator" in parts:  # a later stage replaces the base pipeline's generator (StackGAN stage 2)
            pipe = TextToImage(parts.pop("generator"), pipe.text_encoder, pipe.encoder_spec, pipe.truncation,
                               style_encoder=pipe.style_encoder, info={**pipe.info, "system": system})
    else:
        generator = parts.pop("generator", None)
        if generator is not None and (callable(getattr(generator, "edit", None)) or callable(getattr(generator, "compose", None))):
            return _export_editor(result, generator, dataset, data, system)  # an image editor (TAGAN) or retriever (TIRG)
        if generator is None or not hasattr(generator, "sample_noise"):
            return None
        encoder, spec = training_text_encoder(dataset)
        words = sorted({w for c in getattr(dataset, "captions", []) for w in tokenize(c)})
        info = {"system": system, "trained_on": _trained_on(dataset, data)}
        if words:
            info["vocabulary"] = words
        pipe = TextToImage(generator, encoder, spec, info=info)
    if "style_encoder" in parts:
        pipe.style_encoder = parts.pop("style_encoder")
    folder = pipe.save_pretrained(result.run_dir / "pipeline", extra={"trained_steps": result.step})
    return folder


def _trained_on(dataset, data: str) -> dict:
    source = data.split(":", 1)[0]
    description = ("the synthetic shape world (it knows only the world's shapes, colours, sizes and positions)"
                   if source == "synthetic" else getattr(dataset, "description", None) or f"{source} captions ({data})")
    return {"data": data, "description": description}


def _export_editor(result, editor, dataset, data: str, system: str) -> "Path":
    """``<run>/pipeline`` of a manipulation system: the EMA editor (``Manipulation``) or retrieval model
    (``Retrieval``) and what it knows."""
    from ..pipelines.manipulation import Manipulation
    from ..pipelines.retrieval import Retrieval
    from ..text.tokenizer import tokenize

    texts = getattr(dataset, "texts", None) or getattr(dataset, "captions", None) or []
    info = {"system": system, "trained_on": _trained_on(dataset, data), "vocabulary": sorted({w for t in texts for w in tokenize(t)})}
    pipe = Manipulation(editor, info, device="cpu") if callable(getattr(editor, "edit", None)) else Retrieval(editor, info)
    return pipe.save_pretrained(result.run_dir / "pipeline", extra={"trained_steps": result.step})


def _gan_command(system: str):
    def command(
        overrides: list[str] = typer.Argument(None, help="Config overrides key=value (model.nf=16, steps=500, data.synthetic.num_scenes=500)."),
        data: str = typer.Option(None, help="synthetic | cub:PATH | oxford:PATH | coco:PATH | folder:PATH "
                                 "(default: the config's data.source, which must be synthetic: a real data set needs its path)"),
        config: str = typer.Option(None, help="A shipped config name (configs/) or a YAML path (default <system>_<data source>)."),
        out: Path = typer.Option(Path("runs"), help="Folder of numbered run folders."),
        resume: str = typer.Option(None, help="'latest' or a checkpoint/run folder."),
        minutes: float = typer.Option(None, help="Time budget (stops at whichever of steps/minutes comes first)."),
        desc: str = typer.Option(None, help="Run folder suffix."),
        dry_run: bool = typer.Option(False, help="Print the resolved config and exit."),
    ) -> None:
        import yaml

        from ..config import ConfigError, config_from_dict, config_to_dict, load_config
        from ..training import SYSTEMS
        from ..training.config import TrainConfig

        extra = list(overrides or []) + ([f"minutes={minutes}"] if minutes else [])
        cfg = load_config(TrainConfig, config or default_config_name(system, data), extra)
        if cfg.system != system:
            raise ConfigError(f"config {config!r} is for system {cfg.system!r}, not {system!r}")
        config_from_dict(SYSTEMS.get(system).config_cls, cfg.model)  # a misspelled model key fails here, listing the valid ones
        if dry_run:
            typer.echo(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
            return
        from ..training.loop import train
        from ..training.sources import build_data, default_data_spec

        data = data or default_data_spec(cfg)  # a config for CUB without --data is an error, as in the launcher
        dataset = build_data(data, cfg, progress=cfg.progress)
        result = train(cfg, system, dataset, out, resume=resume, desc=desc or f"{system}-{data.split(':')[0]}")
        skipped = f", {result.skipped_samples} unreadable samples skipped" if result.skipped_samples else ""  # data_errors=skip
        typer.echo(f"run folder: {result.run_dir} (step {result.step}, stopped by {result.stopped_by}{skipped})")
        folder = export_pipeline(result, dataset, data, system)
        if folder is not None:
            use = (f"wordsight manipulate {folder} IMAGE \"TEXT\"" if (folder / "manipulation.json").exists()
                   else f"wordsight retrieve {folder} IMAGE \"TEXT\" --gallery DIR" if (folder / "retrieval.json").exists()
                   else f"wordsight generate --model {folder} \"CAPTION\"")
            typer.echo(f"pipeline: {folder} ({use})")
        if result.stopped_by in ("SIGINT", "SIGTERM"):
            raise typer.Exit(130 if result.stopped_by == "SIGINT" else 143)

    return command


def _register_gan_systems() -> None:
    """One `train SYSTEM` command for every registered GAN system (adding a system adds its command)."""
    from ..training import SYSTEMS

    for name in SYSTEMS.names():
        cls = SYSTEMS.get(name)
        command = _gan_command(name)
        command.__doc__ = (getattr(cls, "summary", "") or f"Train {name}.") + \
            " Multi-process: torchrun/accelerate launch -m wordsight.training.launch."
        app.command(name)(command)


_register_gan_systems()

# other names the issues and papers use for a system: `train ALIAS` is `train SYSTEM`
SYSTEM_ALIASES = {"inversion-encoder": "gan-int-cls-style"}


def _register_aliases() -> None:
    for alias, name in SYSTEM_ALIASES.items():
        command = _gan_command(name)
        command.__doc__ = (f"Same as `train {name}`: the encoder that inverts a trained GAN-INT-CLS generator (seed 004 eq. 6), "
                           "so `wordsight manipulate` can edit one's own image with it (needs model.generator=PIPELINE).")
        app.command(alias)(command)


_register_aliases()


@app.command("oracle")
def train_oracle_cmd(
    out: Path = typer.Option(Path("runs/oracle"), help="Folder for the oracle weights (safetensors + config.json)."),
    steps: int = typer.Option(4000, min=1, help="Training steps (batch 64, scenes rendered on the fly)."),
    seed: int = typer.Option(0),
    eval_scenes: int = typer.Option(2000, min=1, help="Fresh test/held-out scenes to measure accuracy on."),
    resume: str = typer.Option(None, help="latest, or a checkpoint folder: continue an interrupted run in --out exactly."),
) -> None:
    """Train the synthetic world's oracle CNN and report its per-attribute accuracy.

    The shipped weights were made with `scripts/train_oracle.sh`.
    """
    from ..training.oracle import OracleTrainConfig, train_oracle

    report = train_oracle(out, OracleTrainConfig(steps=steps, seed=seed, eval_scenes=eval_scenes), resume=resume)
    for split in ("test", "heldout"):
        accs = "  ".join(f"{k} {v:.4f}" for k, v in report[split].items())
        typer.echo(f"{split:8s} {accs}")
    typer.echo(f"saved to {out}")


train_damsm.register(app)
train_saliency.register(app)
