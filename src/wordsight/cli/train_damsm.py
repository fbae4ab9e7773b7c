"""`wordsight train damsm`: pre-train the DAMSM text/image encoders (AttnGAN) that R-precision uses."""

from __future__ import annotations

from pathlib import Path

import typer

from ..utils.checks import InputError


def train_damsm_cmd(
    data: str = typer.Option("synthetic", help="synthetic (the built-in world's train split)."),
    steps: int = typer.Option(600, min=1, help="Training steps."),
    batch_size: int = typer.Option(32, min=2, help="Pairs per step (AttnGAN birds: 48)."),
    image_size: int = typer.Option(64, help="Side the images are rendered at (a multiple of 16)."),
    minutes: float = typer.Option(None, help="Time budget; stops at whichever of steps/minutes comes first."),
    seed: int = typer.Option(0),
    eval_images: int = typer.Option(1000, min=0, help="Fresh test scenes for R-precision at the end (0: skip)."),
    out: Path = typer.Option(Path("runs/damsm"), help="Folder for text_encoder/, image_encoder/ and metrics.json."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Train DAMSM on the synthetic world and print its R-precision on fresh test scenes.

    Use the folder with `wordsight evaluate generation --metrics r_precision --damsm OUT`.
    """
    from ..training.damsm import DAMSMTrainConfig, train_damsm_synthetic

    if data != "synthetic":
        raise InputError(f"`wordsight train damsm` trains on --data synthetic only, got {data!r}; for a caption data "
                         "set call wordsight.training.damsm.train_damsm (see docs/damsm.md)")
    cfg = DAMSMTrainConfig(steps=steps, batch_size=batch_size, image_size=image_size, minutes=minutes, seed=seed,
                           eval_images=eval_images, progress=progress)
    result = train_damsm_synthetic(out, cfg, world_seed=seed)
    last = result.history[-1] if result.history else {}
    typer.echo(f"trained {result.steps} steps in {result.seconds:.1f} s; last loss {last.get('loss', float('nan')):.4f}")
    if result.r_precision is not None:
        rp = result.r_precision
        typer.echo(f"R-precision {rp['r_precision']:.4f} +- {rp['r_precision_fold_std']:.4f} on {rp['num_images']} "
                   f"fresh test scenes (chance {rp['chance']:.4f})")
    typer.echo(f"saved to {result.out_dir}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("damsm")(train_damsm_cmd)
