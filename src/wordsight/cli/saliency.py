"""`wordsight saliency IMAGE [--text "..."] [--model NAME|PATH] --out overlay.png`: predict where people look.
`wordsight saliency FOLDER --out-dir MAPS [--raw-format png|npy] [--skip-bad]`: every image of a folder.

Without ``--model`` it runs the shipped free-viewing model ("osie", real photos), or with ``--text`` the
shipped text-guided one ("synthetic-text"), and says which; ``wordsight saliency --list`` lists them.

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
OVERLAY_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}


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


MODEL_HELP = ("A shipped model name (osie, synthetic-text; see --list) or a pipeline folder (default: osie, or "
              "synthetic-text with --text).")


def list_models() -> None:
    """Print the shipped saliency models with what each was trained on and its held-out scores."""
    from ..pipelines.saliency import shipped_models

    for row in shipped_models():
        flag = " (default)" if row["default"] else (" (default with --text)" if row.get("uses_text") else "")
        typer.echo(f"{row['name']}{flag}: {row['folder']}")
        if not row["present"]:
            typer.echo(f"  missing: rebuild with {row['script']}")
            continue
        typer.echo(f"  {'text-guided' if row['uses_text'] else 'free viewing (reads no text)'}; {row.get('description') or row['kind']}")
        typer.echo(f"  trained on: {row['trained_on']}")
        if row.get("scores"):
            shown = ", ".join(f"{k} {v:.3f}" for k, v in row["scores"].items())
            typer.echo(f"  held-out scores on {row['evaluated_on']}: {shown}")


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def saliency(
    image: Path = typer.Argument(..., help="The image to predict a saliency map for (a folder with --out-dir)."),
    text: str = typer.Option(None, help="The text shown to the viewer (text-guided models); '' = no text."),
    model: str = typer.Option(None, help=MODEL_HELP),
    out: Path = typer.Option(Path("overlay.png"), help="Heat-map overlay image to write."),
    raw: Path = typer.Option(None, help="Also write the raw map: .png (16-bit) or .npy (float32)."),
    alpha: float = typer.Option(0.5, min=0.0, max=1.0, help="Heat-map opacity."),
    out_dir: Path = typer.Option(None, "--out-dir", help="Write one overlay per image here (IMAGE may be a folder)."),
    raw_format: str = typer.Option("none", "--raw-format", help="With --out-dir: also write raw maps, png or npy."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="With --out-dir: go on past unreadable images (exit 1)."),
) -> None:
    """Predict where people look in IMAGE (given TEXT for text-guided models) and write an overlay.

    With ``out_dir``, IMAGE may be a folder: every image in it is predicted one at a time (memory stays flat
    however many there are) and written as ``out_dir/<stem>.png`` (+ ``<stem>.npy``/``<stem>_map.png`` with
    ``raw_format``); ``skip_bad`` reports unreadable images and goes on (exit 1 at the end) instead of
    stopping at the first."""
    from ..models.saliency import DEFAULT_SHIPPED, DEFAULT_SHIPPED_TEXT
    from ..pipelines.saliency import Saliency

    # the outputs are checked before any work, so a bad --raw never leaves an overlay behind
    if raw is not None and raw.suffix.lower() not in RAW_SUFFIXES:
        raise InputError(f"--raw must end in .png (16-bit) or .npy, got {raw.name}")
    if out.suffix.lower() not in OVERLAY_SUFFIXES:
        raise InputError(f"--out must be an image file ({', '.join(OVERLAY_SUFFIXES)}), got {out.name}")
    if raw_format not in ("none", "png", "npy"):
        raise InputError(f"--raw-format must be none, png or npy, got {raw_format!r}")
    images = None
    if out_dir is not None:
        images = _batch_inputs(image)
        if raw is not None:
            raise InputError("--raw names one file: with --out-dir use --raw-format png|npy")
    elif image.is_dir():
        raise InputError(f"{image} is a folder: give --out-dir DIR to predict every image in it")
    name = model if model is not None else (DEFAULT_SHIPPED_TEXT if text is not None else DEFAULT_SHIPPED)
    pipe = Saliency.from_pretrained(name)
    if pipe.uses_text and text is None:
        raise InputError(f"{name} is a text-guided model: give the text shown to the viewer with --text \"...\" "
                         "(--text \"\" for free viewing), or leave out --model for the free-viewing default")
    if not pipe.uses_text and text:
        raise InputError(f"{name} is a free-viewing model and reads no text: drop --text, or use "
                         f"--model {DEFAULT_SHIPPED_TEXT} (a text-guided model)")
    typer.echo(f"model: {name} ({'text-guided' if pipe.uses_text else 'free viewing'}; trained on {pipe.trained_on or 'unknown data'})")
    if images is None:
        _predict_one(pipe, image, text, alpha, out, raw, echo=True)
        return
    _predict_folder(pipe, images, text, alpha, out_dir, raw_format, skip_bad)


def _batch_inputs(image: Path) -> list[Path]:
    """The images of ``image`` (a folder: its image files, sorted; or one file), with distinct stems."""
    if not image.exists():
        raise InputError(f"not found: {image}")
    if image.is_dir():
        files = sorted(p for p in image.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{image} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    else:
        files = [image]
    seen: dict[str, Path] = {}
    for p in files:
        if p.stem in seen:
            raise InputError(f"{seen[p.stem].name} and {p.name} would both be written as {p.stem}.png: rename one")
        seen[p.stem] = p
    return files


def _predict_one(pipe, image: Path, text, alpha: float, out: Path, raw: Path | None, echo: bool) -> None:
    from ..utils.images import heatmap_overlay, load_image
    from ..utils.io import atomic_path

    pil = load_image(image)
    sal = pipe.compute_saliency(pil, text=text)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        heatmap_overlay(pil, sal, alpha=alpha).save(tmp, format=OVERLAY_SUFFIXES[out.suffix.lower()])
    if echo:
        typer.echo(f"wrote {out} ({pil.width}x{pil.height}, peak at x={int(np.argmax(sal) % sal.shape[1])}, y={int(np.argmax(sal) // sal.shape[1])})")
    if raw is not None:
        write_raw_map(sal, raw)
        if echo:
            typer.echo(f"wrote {raw}")


def _predict_folder(pipe, images: list[Path], text, alpha: float, out_dir: Path, raw_format: str, skip_bad: bool) -> None:
    from tqdm import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    bad: list[str] = []
    for path in tqdm(images, unit="image", desc="saliency", dynamic_ncols=True, disable=len(images) < 2):
        raw = None if raw_format == "none" else out_dir / (f"{path.stem}.npy" if raw_format == "npy" else f"{path.stem}_map.png")
        try:
            _predict_one(pipe, path, text, alpha, out_dir / f"{path.stem}.png", raw, echo=False)
        except InputError as exc:
            if not skip_bad:
                raise InputError(f"{exc} (stopped after {images.index(path)} of {len(images)} images; "
                                 "--skip-bad goes on past unreadable images)") from exc
            bad.append(str(exc))
            typer.echo(f"skipped: {exc}", err=True)
    typer.echo(f"wrote {len(images) - len(bad)} overlays to {out_dir}" + (f"; {len(bad)} image(s) skipped" if bad else ""))
    if bad:
        raise typer.Exit(1)


@app.callback()
def _saliency_group(
    ctx: typer.Context,
    image: Path = typer.Argument(None, help="The image to predict a saliency map for."),
    text: str = typer.Option(None, help="The text shown to the viewer (text-guided models); '' = no text."),
    model: str = typer.Option(None, help=MODEL_HELP),
    out: Path = typer.Option(Path("overlay.png"), help="Heat-map overlay image to write."),
    raw: Path = typer.Option(None, help="Also write the raw map: .png (16-bit) or .npy (float32)."),
    alpha: float = typer.Option(0.5, min=0.0, max=1.0, help="Heat-map opacity."),
    list_: bool = typer.Option(False, "--list", help="List the shipped models (training data, held-out scores)."),
    out_dir: Path = typer.Option(None, "--out-dir", help="Write one overlay per image here (IMAGE may then be a folder; "
                                 "images are read one at a time, so memory stays flat)."),
    raw_format: str = typer.Option("none", "--raw-format", help="With --out-dir: also write each raw map, png (16-bit) or npy."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="With --out-dir: report unreadable images and go on (exit 1 at the end)."),
) -> None:
    """Predict where people look in IMAGE (given TEXT for text-guided models) and write an overlay."""
    if list_:
        list_models()
        raise typer.Exit(0)
    if image is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    saliency(image, text, model, out, raw, alpha, out_dir, raw_format, skip_bad)
