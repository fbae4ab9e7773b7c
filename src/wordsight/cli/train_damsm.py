"""`wordsight train damsm`: pre-train the DAMSM text/image encoders (AttnGAN) that R-precision uses."""

from __future__ import annotations

from pathlib import Path

import typer

from ..utils.checks import InputError


def train_damsm_cmd(
    data: str = typer.Option("synthetic", help="synthetic (the built-in world's train split) | cub:PATH | oxford:PATH | coco:PATH | folder:PATH (the forms of train SYSTEM --data)."),
    image_encoder: str = typer.Option("small", help="small (a CNN trained from scratch) or inception (AttnGAN's; needs the local torchvision Inception-v3 weights)."),
    inception_weights: Path = typer.Option(None, help="inception_v3_google-0cc3c7bd.pth (default: $WORDSIGHT_INCEPTION_V3 or the torch hub cache)."),
    steps: int = typer.Option(600, min=1, help="Training steps."),
    batch_size: int = typer.Option(32, min=2, help="Pairs per step (AttnGAN birds: 48)."),
    lr: float = typer.Option(2e-4, min=0.0, help="Adam learning rate of both encoders (AttnGAN bird.yml: 0.002, '0.0002 best' in its comment)."),
    init_from: Path = typer.Option(None, help="Synthetic world: start from the encoders of an earlier `train damsm` folder (a fresh optimizer) instead of new ones."),
    image_size: int = typer.Option(64, help="Side the images are rendered at (a multiple of 16)."),
    minutes: float = typer.Option(None, help="Time budget; stops at whichever of steps/minutes comes first."),
    seed: int = typer.Option(0),
    min_objects: int = typer.Option(1, min=1, max=3, help="Synthetic world only: fewest objects per scene."),
    max_objects: int = typer.Option(3, min=1, max=3, help="Synthetic world only: most objects per scene (1 matches configs/dfgan_synthetic*.yaml)."),
    eval_images: int = typer.Option(1000, min=0, help="Fresh test scenes for R-precision at the end (0: skip)."),
    out: Path = typer.Option(Path("runs/damsm"), help="Folder for text_encoder/, image_encoder/ and metrics.json."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    checkpoint_every: int = typer.Option(100, min=1, help="Steps between crash-safe checkpoints in --out (removed when the run finishes)."),
    resume: str = typer.Option(None, help="latest, or a checkpoint folder: continue an interrupted run in --out exactly."),
) -> None:
    """Train DAMSM on the synthetic world and print its R-precision on fresh test scenes.

    Use the folder with `wordsight evaluate generation --metrics r_precision --damsm OUT`.
    """
    from ..training.damsm import DAMSMTrainConfig, train_damsm, train_damsm_synthetic
    from ..training.sources import CAPTION_LAYOUTS, parse_data_spec

    spec = parse_data_spec(data, ("synthetic", *(f"{layout}:PATH" for layout in CAPTION_LAYOUTS)))  # the forms `train` takes
    if image_encoder not in ("small", "inception"):
        raise InputError(f"--image-encoder must be small or inception, got {image_encoder!r}")
    cfg = DAMSMTrainConfig(steps=steps, batch_size=batch_size, image_size=image_size, minutes=minutes, seed=seed,
                           eval_images=eval_images, progress=progress, lr=lr, checkpoint_every=checkpoint_every)
    if init_from is not None and not (spec.kind == "synthetic" and image_encoder == "small"):
        raise InputError("--init-from is for the synthetic world's small encoders only")
    if spec.kind == "synthetic" and image_encoder == "small":
        result = train_damsm_synthetic(out, cfg, world_seed=seed, min_objects=min_objects, max_objects=max_objects,
                                       init_from=init_from, resume=resume)
    else:
        result = train_damsm(*_layout_damsm(spec, image_encoder, inception_weights, image_size, seed), cfg, out, resume=resume)
    if result.stopped_by in ("SIGINT", "SIGTERM"):
        typer.echo(f"stopped by {result.stopped_by} at step {result.steps}; checkpoint saved in {out} "
                   f"(continue with --resume latest --out {out})", err=True)
        raise typer.Exit(130 if result.stopped_by == "SIGINT" else 143)
    last = result.history[-1] if result.history else {}
    typer.echo(f"trained {result.steps} steps in {result.seconds:.1f} s; last loss {last.get('loss', float('nan')):.4f}")
    if result.r_precision is not None:
        rp = result.r_precision
        typer.echo(f"R-precision {rp['r_precision']:.4f} +- {rp['r_precision_fold_std']:.4f} on {rp['num_images']} "
                   f"fresh test scenes (chance {rp['chance']:.4f})")
    typer.echo(f"saved to {result.out_dir}")


def _layout_damsm(spec, image_encoder: str, inception_weights: Path | None, image_size: int, seed: int):
    """(dataset, text encoder, image encoder) for a real caption layout or the synthetic world."""
    from ..data.layouts import open_layout
    from ..data.synthetic import SyntheticWorld, WorldConfig
    from ..models.damsm import InceptionDAMSMImageEncoder, SmallDAMSMImageEncoder
    from ..text.bilstm import DAMSMTextEncoder
    from ..training.damsm import vocabulary_from_data

    if spec.kind == "synthetic":
        dataset = SyntheticWorld(WorldConfig(seed=seed, image_size=image_size))
    else:
        dataset = open_layout(spec.path, layout=spec.kind)
    text = DAMSMTextEncoder.from_vocabulary(vocabulary_from_data(dataset, len(dataset)))
    if image_encoder == "inception":
        images = InceptionDAMSMImageEncoder(weights=str(inception_weights) if inception_weights else "default")
    else:
        images = SmallDAMSMImageEncoder(image_size=image_size)
    return dataset, text, images


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("damsm")(train_damsm_cmd)
