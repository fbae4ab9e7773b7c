"""`wordsight saliency IMAGE [--text "..."] [--model PATH] --out overlay.png`: predict where people look.

Registered in cli/main.py as a group whose callback is this command (so `wordsight saliency IMAGE`
works); `app.command("saliency")(saliency.saliency)` registers it as a plain command instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from ..utils.checks import InputError

app = typer.Typer(
    help="Predict a saliency map and write it as a heat-map overlay.",
    invoke_without_command=True,
    context_settings={"allow_interspersed_args": True},  # options may follow IMAGE
)

RAW_SUFFIXES = (".png", ".npy")


def write_raw_map(saliency: np.ndarray, path: Path) -> None:
    """``.npy``: the float32 map as is; ``.png``: 16-bit greyscale, 0..65535 for 0..1."""
    from PIL import Image

    from ..utils.io import atomic_path

    if path.suffix.lower() not in RAW_SUFFIXES:
        raise InputError(f"--raw must end in .png (16-bit) or .npy, got {path.name}")
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".npy":
            with open(tmp, "wb") as fh:
                np.save(fh, saliency.astype(np.float32))
        else:
            grey = np.round(np.clip(saliency, 0, 1) * 65535).astype(np.uint16)
            Image.fromarray(grey).save(tmp, format="PNG")  # uint16 -> mode "I;16"


def saliency(
    image: Path = typer.Argument(..., help="The image to predict a saliency map for."),
    text: str = typer.Option(None, help="The text shown to the viewer (text-guided models); '' = no text."),
    model: str = typer.Option(None, help="A saliency pipeline folder (default: the shipped text-guided model)."),
    out: Path = typer.Option(Path("overlay.png"), help="Heat-map overlay image to write."),
    raw: Path = typer.Option(None, help="Also write the raw map: .png (16-bit) or .npy (float32)."),
    alpha: float = typer.Option(0.5, min=0.0, max=1.0, help="Heat-map opacity."),
) -> None:
    """Predict where people look in IMAGE (given TEXT for text-guided models) and write an overlay."""
    from ..pipelines.saliency import Saliency
    from ..utils.images import heatmap_overlay, load_image
    from ..utils.io import atomic_path

    pipe = Saliency.from_pretrained(model)
    pil = load_image(image)
    sal = pipe.compute_saliency(pil, text=text)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        heatmap_overlay(pil, sal, alpha=alpha).save(tmp, format=(out.suffix.lstrip(".") or "png").upper().replace("JPG", "JPEG"))
    typer.echo(f"wrote {out} ({pil.width}x{pil.height}, peak at x={int(np.argmax(sal) % sal.shape[1])}, y={int(np.argmax(sal) // sal.shape[1])})")
    if raw is not None:
        write_raw_map(sal, raw)
        typer.echo(f"wrote {raw}")


@app.callback()
def _saliency_group(
    ctx: typer.Context,
    image: Path = typer.Argument(None, help="The image to predict a saliency map for."),
    text: str = typer.Option(None, help="The text shown to the viewer (text-guided models); '' = no text."),
    model: str = typer.Option(None, help="A saliency pipeline folder (default: the shipped text-guided model)."),
    out: Path = typer.Option(Path("overlay.png"), help="Heat-map overlay image to write."),
    raw: Path = typer.Option(None, help="Also write the raw map: .png (16-bit) or .npy (float32)."),
    alpha: float = typer.Option(0.5, min=0.0, max=1.0, help="Heat-map opacity."),
) -> None:
    """Predict where people look in IMAGE (given TEXT for text-guided models) and write an overlay."""
    if image is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    saliency(image, text, model, out, raw, alpha)
